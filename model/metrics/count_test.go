package metrics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// forEachCountPath runs f with each count kernel path this CPU has (Go,
// AVX2, AVX-512), forced.
func forEachCountPath(t *testing.T, f func(t *testing.T)) {
	old := countPath
	defer func() { countPath = old }()
	for _, p := range countPaths() {
		countPath = p
		t.Run([]string{"go", "avx2", "avx512"}[p], f)
	}
}

// TestCountKernels: every path counts a tile's rows and 16-column strips
// exactly as the definition says, ties, padding (−Inf scores, +Inf
// thresholds) and biases included.
func TestCountKernels(t *testing.T) {
	forEachCountPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		level := func() float32 { return float32(rng.IntN(9)-4) / 4 } // coarse: many ties
		for _, shape := range [][2]int{{1, 16}, {3, 32}, {17, 48}, {40, 16}, {5, 80}, {3, 256}} {
			nr, w := shape[0], shape[1]
			ld := w + 16
			s := make([]float32, nr*ld)
			for i := range s {
				s[i] = level()
			}
			for i := range nr {
				s[i*ld+w-1-rng.IntN(3)] = float32(math.Inf(-1))
			}
			rowBias := make([]float32, w)
			colBias := make([]float32, nr)
			for i := range rowBias {
				rowBias[i] = level() / 2
			}
			for i := range colBias {
				colBias[i] = level() / 2
			}
			const kmax = 5
			thr := make([]float32, kmax*laneGroup)
			for i := range thr {
				thr[i] = level()
			}
			thr[3] = float32(math.Inf(1))
			// Rows: threshold k of lane 0..15 in thr[16k+l], the row kernel
			// reads lane l = i%16.
			gt, eq := make([]uint32, len(thr)), make([]uint32, len(thr))
			for i := range nr {
				l := i % laneGroup
				countRow(s[i*ld:i*ld+w], rowBias, thr[l:], kmax, gt[l:], eq[l:])
			}
			wantGT, wantEQ := make([]uint32, len(thr)), make([]uint32, len(thr))
			for i := range nr {
				l := i % laneGroup
				for k := range kmax {
					for j := range w {
						v := s[i*ld+j] + rowBias[j]
						wantGT[16*k+l] += b2u(v > thr[16*k+l])
						wantEQ[16*k+l] += b2u(v == thr[16*k+l])
					}
				}
			}
			if !slices.Equal(gt, wantGT) || !slices.Equal(eq, wantEQ) {
				t.Fatalf("rows %dx%d: gt %v eq %v, want %v %v", nr, w, gt, eq, wantGT, wantEQ)
			}
			// Columns: every 16-column strip, counts added to the same buffers.
			clear(gt)
			clear(eq)
			clear(wantGT)
			clear(wantEQ)
			for j0 := 0; j0 < w; j0 += laneGroup {
				countCol(s[j0:], ld, nr, colBias, thr, kmax, gt, eq)
				for k := range kmax {
					for l := range laneGroup {
						for i := range nr {
							v := s[i*ld+j0+l] + colBias[i]
							wantGT[16*k+l] += b2u(v > thr[16*k+l])
							wantEQ[16*k+l] += b2u(v == thr[16*k+l])
						}
					}
				}
			}
			if !slices.Equal(gt, wantGT) || !slices.Equal(eq, wantEQ) {
				t.Fatalf("columns %dx%d: gt %v eq %v, want %v %v", nr, w, gt, eq, wantGT, wantEQ)
			}
		}
	})
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// tiedCatalog is a catalog with many exact ties: embeddings with entries in
// {−1, 0, 1} over d = 8 (duplicates included), cliques of 1–6 songs, one
// work of 70 songs (more than vecMaxVersions versions), noise songs, and a
// size that is not a multiple of 16.
func tiedCatalog(n int) []Row {
	rng := rand.New(rand.NewPCG(5, 6))
	rows := make([]Row, 0, n)
	for w := 0; len(rows) < n; w++ {
		k := 1 + rng.IntN(6)
		if w == 3 {
			k = 70
		}
		for range k {
			e := make([]float32, 8)
			for i := range e {
				e[i] = float32(rng.IntN(3) - 1)
			}
			e[rng.IntN(8)] = 1 // never all zero
			id := fmt.Sprintf("w%d", w)
			if k == 1 && rng.IntN(2) == 0 {
				id = ""
			}
			rows = append(rows, Row{SongID: fmt.Sprintf("s%05d", rng.IntN(1<<20)*1000+len(rows)), WorkID: id, Embedding: e})
		}
	}
	return rows[:n]
}

// TestSymmetricCounts: Evaluate's engine (symmetric tiles, compare-only
// kernels, exact recount of tied queries) gives the counts of the scalar
// path (binary search among the relevant items, ties placed by catalog
// order), query by query, on every kernel path, for each distance, block
// size and worker count; the tied catalog does exercise the recount.
func TestSymmetricCounts(t *testing.T) {
	forEachCountPath(t, func(t *testing.T) {
		for _, tc := range []struct {
			name string
			rows []Row
			tied bool
		}{{"clustered", synthetic(600, 32, 9), false}, {"tied", tiedCatalog(509), true}} {
			for _, dist := range []Distance{Cosine, SqEuclidean, Pearson} {
				cat, _, err := NewCatalog(tc.rows, dist, nil)
				if err != nil {
					t.Fatal(err)
				}
				n := cat.Len()
				want := scalarCounts(cat, 0, n, 0, n)
				for _, cfg := range []Config{{}, {BlockQueries: 7, Workers: 3}, {BlockQueries: 48, Workers: 1}} {
					got := newCounts(cat)
					recounted := cat.countSymmetric(cfg, got)
					for q := range got {
						if !slices.Equal(got[q], want[q]) {
							t.Fatalf("%s %s %+v: query %d: counts %v, scalar path %v", tc.name, dist, cfg, q, got[q], want[q])
						}
					}
					if tc.tied && recounted <= 70 {
						t.Errorf("%s %s: %d queries recounted, want the 70 of the large work and tied ones", tc.name, dist, recounted)
					}
				}
			}
		}
	})
}

func newCounts(c *Catalog) [][]int64 {
	counts := make([][]int64, c.Len())
	for q := range counts {
		if m := c.NumVersions(q); m > 0 {
			counts[q] = make([]int64, m)
		}
	}
	return counts
}

// TestPartialCounts: PartialCounts (compare-only kernels, one direction)
// gives the scalar path's counts on query and catalog ranges that cut
// groups, blocks and cliques anywhere, on every kernel path.
func TestPartialCounts(t *testing.T) {
	forEachCountPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(11, 12))
		for _, rows := range [][]Row{synthetic(300, 48, 4), tiedCatalog(301)} {
			for _, dist := range []Distance{Cosine, SqEuclidean} {
				cat, _, err := NewCatalog(rows, dist, nil)
				if err != nil {
					t.Fatal(err)
				}
				n := cat.Len()
				for range 12 {
					qLo, cLo := rng.IntN(n), rng.IntN(n)
					qHi, cHi := qLo+rng.IntN(n-qLo+1), cLo+rng.IntN(n-cLo+1)
					want := scalarCounts(cat, qLo, qHi, cLo, cHi)
					for _, cfg := range []Config{{}, {BlockQueries: 5, BlockCatalog: 23, Workers: 2}} {
						got := newCounts(cat)[qLo:qHi]
						cat.PartialCounts(qLo, qHi, cLo, cHi, cfg, got)
						for i := range got {
							if !slices.Equal(got[i], want[i]) {
								t.Fatalf("%s %+v [%d,%d)x[%d,%d): query %d: %v, scalar path %v", dist, cfg, qLo, qHi, cLo, cHi, qLo+i, got[i], want[i])
							}
						}
					}
				}
			}
		}
	})
}

// scalarCounts is PartialCounts(qLo, qHi, cLo, cHi) by the scalar path alone.
func scalarCounts(c *Catalog, qLo, qHi, cLo, cHi int) [][]int64 {
	counts := newCounts(c)[qLo:qHi]
	var qs []int32
	var rows [][]int64
	for q := qLo; q < qHi; q++ {
		if counts[q-qLo] != nil {
			qs = append(qs, int32(q))
			rows = append(rows, counts[q-qLo])
		}
	}
	c.countExact(qs, rows, cLo, cHi, Config{})
	return counts
}

// BenchmarkCountTile: the count kernels on one 256 × 256 tile, 12 thresholds
// per query, both directions (Evaluate's inner work besides the dot
// products); scores/s counts (score, direction) pairs.
func BenchmarkCountTile(b *testing.B) {
	const n, m = 256, 12
	ld := n + laneGroup
	rng := rand.New(rand.NewPCG(1, 1))
	s := make([]float32, n*ld)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	bias := make([]float32, n)
	thr := make([]float32, n*m)
	for i := range thr {
		thr[i] = float32(rng.NormFloat64())
	}
	gt, eq := make([]uint32, len(thr)), make([]uint32, len(thr))
	b.ReportAllocs()
	for b.Loop() {
		for i := range n {
			base := (i/laneGroup)*m*laneGroup + i%laneGroup
			countRow(s[i*ld:i*ld+n], bias, thr[base:], m, gt[base:], eq[base:])
		}
		for g := range n / laneGroup {
			off := g * m * laneGroup
			countCol(s[g*laneGroup:], ld, n, bias, thr[off:], m, gt[off:], eq[off:])
		}
	}
	b.ReportMetric(float64(2*n*n)*float64(b.N)/b.Elapsed().Seconds(), "scores/s")
}
