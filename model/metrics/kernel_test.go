package metrics

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestDotTilePositionIndependent: a score does not depend on where its pair
// sits in a tile (block boundaries never change a score), and is close to
// the index-order float32 dot product.
func TestDotTilePositionIndependent(t *testing.T) {
	for _, wide := range []bool{true, false} {
		old := useAVX512
		useAVX512 = useAVX512 && wide // false: the AVX2 kernels on an AVX-512 CPU
		testDotTilePositionIndependent(t)
		useAVX512 = old
	}
}

func testDotTilePositionIndependent(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, d := range []int{8, 24, 256, 13} {
		for _, shape := range [][2]int{{1, 1}, {4, 2}, {5, 3}, {7, 11}, {9, 1}, {13, 400}} {
			nq, nx := shape[0], shape[1]
			q := make([]float32, nq*d)
			x := make([]float32, nx*d)
			for i := range q {
				q[i] = float32(rng.NormFloat64())
			}
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			tile := make([]float32, nq*nx)
			dotTile(tile, q, nq, x, nx, d)
			// A row stride wider than the tile (Evaluate's padded tiles)
			// changes where scores go, never their values, nor the padding.
			ld := nx + 7
			strided := make([]float32, nq*ld)
			for i := range strided {
				strided[i] = -1
			}
			dotTileLD(strided, ld, q, nq, x, nx, d)
			for i := range nq {
				if !slices.Equal(strided[i*ld:i*ld+nx], tile[i*nx:(i+1)*nx]) || slices.ContainsFunc(strided[i*ld+nx:(i+1)*ld], func(v float32) bool { return v != -1 }) {
					t.Fatalf("d=%d %dx%d: row %d with stride %d: %v, want %v", d, nq, nx, i, ld, strided[i*ld:(i+1)*ld], tile[i*nx:(i+1)*nx])
				}
			}
			var one [1]float32
			for i := 0; i < nq; i++ {
				for j := 0; j < nx; j++ {
					dotTile(one[:], q[i*d:(i+1)*d], 1, x[j*d:(j+1)*d], 1, d)
					if tile[i*nx+j] != one[0] {
						t.Fatalf("d=%d %dx%d [%d][%d]: %v in the tile, %v alone", d, nq, nx, i, j, tile[i*nx+j], one[0])
					}
					if want := dot(q[i*d:(i+1)*d], x[j*d:(j+1)*d]); math.Abs(float64(one[0]-want)) > 1e-4*math.Sqrt(float64(d)) {
						t.Fatalf("d=%d [%d][%d]: %v, scalar %v", d, i, j, one[0], want)
					}
				}
			}
		}
	}
}

// synthetic returns n clustered embeddings of dimension d: cliques of 2–16
// versions and 1/8 of noise songs, Da-TACOS-shaped.
func synthetic(n, d int, seed uint64) []Row {
	rng := rand.New(rand.NewPCG(seed, 7))
	embs := make([]Row, 0, n)
	centre := make([]float64, d)
	w := 0
	for len(embs) < n {
		k := 2 + rng.IntN(15)
		noise := rng.IntN(8) == 0
		for i := range centre {
			centre[i] = rng.NormFloat64()
		}
		for v := 0; v < k && len(embs) < n; v++ {
			e := make([]float32, d)
			for i := range e {
				e[i] = float32(centre[i] + 1.5*rng.NormFloat64())
			}
			id := ""
			if !noise {
				id = "w" + itoa(w)
			}
			embs = append(embs, Row{SongID: "s" + pad(len(embs)), WorkID: id, Embedding: e, Model: "move-sum4-fa3-d256-bench"})
			if noise {
				break
			}
		}
		w++
	}
	return embs
}

func itoa(i int) string { return pad(i) }
func pad(i int) string {
	const digits = "0123456789"
	b := []byte("0000000")
	for p := len(b) - 1; p >= 0 && i > 0; p-- {
		b[p] = digits[i%10]
		i /= 10
	}
	return string(b)
}

func BenchmarkDotTile(b *testing.B) {
	const nq, nx, d = 256, 4096, 256
	q := make([]float32, nq*d)
	x := make([]float32, nx*d)
	for i := range q {
		q[i] = float32(i%17) * 0.1
	}
	for i := range x {
		x[i] = float32(i%13) * 0.1
	}
	dst := make([]float32, nq*nx)
	b.ReportAllocs()
	cpu0 := cpuSeconds()
	for b.Loop() {
		dotTile(dst, q, nq, x, nx, d)
	}
	b.ReportMetric(float64(nq*nx*d)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
	if cpu0 >= 0 {
		// Per CPU second: robust to a loaded machine (one goroutine).
		b.ReportMetric(float64(nq*nx*d)*float64(b.N)/(cpuSeconds()-cpu0)/1e9, "GMAC/cpu-s")
	}
}

// BenchmarkEvaluate: a 4,000 × 256 synthetic catalog, whole evaluation.
func BenchmarkEvaluate(b *testing.B) {
	embs := synthetic(4000, 256, 1)
	b.ReportAllocs()
	cpu0 := cpuSeconds()
	for b.Loop() {
		if _, err := Evaluate(embs, Config{Distance: Cosine}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(embs))*float64(b.N)/b.Elapsed().Seconds(), "songs/s")
	if cpu0 >= 0 {
		b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/op")
	}
}

func BenchmarkDotTileGo(b *testing.B) {
	const nq, nx, d = 64, 1024, 256
	q := make([]float32, nq*d)
	x := make([]float32, nx*d)
	dst := make([]float32, nq*nx)
	b.ReportAllocs()
	for b.Loop() {
		dotTileGo(dst, nx, q, nq, x, nx, d)
	}
	b.ReportMetric(float64(nq*nx*d)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
}

func BenchmarkDotTileSmall(b *testing.B) {
	const nq, nx, d = 64, 1024, 256
	q := make([]float32, nq*d)
	x := make([]float32, nx*d)
	dst := make([]float32, nq*nx)
	b.ReportAllocs()
	for b.Loop() {
		dotTile(dst, q, nq, x, nx, d)
	}
	b.ReportMetric(float64(nq*nx*d)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
}
