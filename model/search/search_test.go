package search

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/vindex/vindex/model/metrics"
)

var distances = []metrics.Distance{metrics.Cosine, metrics.SqEuclidean, metrics.Pearson}

// randomMatrix returns n rows of dim d with ids in shuffled order; with
// coarse values (small integers), so that exact score ties are common.
func randomMatrix(rng *rand.Rand, n, d int, coarse bool) *Matrix {
	m := &Matrix{Dim: d}
	for i := range n {
		m.IDs = append(m.IDs, fmt.Sprintf("s%05d", (i*7919)%n))
		m.WorkIDs = append(m.WorkIDs, fmt.Sprintf("w%d", rng.IntN(max(1, n/3))))
		for range d {
			v := float32(rng.NormFloat64())
			if coarse {
				v = float32(rng.IntN(3) - 1)
			}
			m.Vecs = append(m.Vecs, v)
		}
		if coarse { // no zero or constant rows: they are skipped
			m.Vecs[i*d] = 2
		}
	}
	return m
}

// naive scores every row in one unblocked pass and sorts them all.
func naive(ix *Index, q Query, k int) []Neighbor {
	s := make([]float32, ix.Len())
	dotRow(s, q.Vec, ix.vecs, ix.Len(), ix.Dim)
	var all []Neighbor
	for r, v := range s {
		if r != q.Exclude {
			all = append(all, Neighbor{r, v + ix.bias[r]})
		}
	}
	sort.Slice(all, func(a, b int) bool {
		if all[a].Score != all[b].Score {
			return all[a].Score > all[b].Score
		}
		return all[a].Row < all[b].Row
	})
	return all[:min(k, len(all))]
}

func TestSearchMatchesNaiveSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 60 {
		n := 1 + rng.IntN(300)
		d := []int{3, 8, 16, 13}[trial%4]
		coarse := trial%2 == 0
		dist := distances[trial%3]
		ix, err := New(randomMatrix(rng, n, d, coarse), dist)
		if err != nil {
			t.Fatal(err)
		}
		k := 1 + rng.IntN(20)
		opt := Options{Block: 1 + rng.IntN(64), Workers: 1 + rng.IntN(4)}
		var qs []Query
		for range 5 {
			qs = append(qs, ix.QueryOf(rng.IntN(ix.Len())))
		}
		got := ix.Search(qs, k, opt)
		for i, q := range qs {
			want := naive(ix, q, k)
			if fmt.Sprint(got[i]) != fmt.Sprint(want) {
				t.Fatalf("trial %d (n=%d d=%d %s k=%d %+v) query %d:\n got %v\nwant %v", trial, n, d, dist, k, opt, q.Exclude, got[i], want)
			}
		}
	}
}

// TestMatchesMetrics checks that the full ranking of every query gives the
// ranks model/metrics computes (first rank and AP bit for bit), and that
// the prepared vectors are the catalog's.
func TestMatchesMetrics(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, coarse := range []bool{true, false} {
		for _, dist := range distances {
			for _, d := range []int{16, 5} { // 16: the AVX2 kernel where present; 5: the portable one
				m := randomMatrix(rng, 150, d, coarse)
				var rows []metrics.Row
				for i := range m.Len() {
					rows = append(rows, metrics.Row{SongID: m.IDs[i], WorkID: m.WorkIDs[i], Model: "m",
						Embedding: m.Vecs[i*d : (i+1)*d]})
				}
				rep, err := metrics.Evaluate(rows, metrics.Config{Distance: dist})
				if err != nil {
					t.Fatal(err)
				}
				ix, err := New(m, dist)
				if err != nil {
					t.Fatal(err)
				}
				qs := make([]Query, ix.Len())
				for r := range qs {
					qs[r] = ix.QueryOf(r)
				}
				res := ix.Search(qs, ix.Len(), Options{Block: 32})
				for r, q := range rep.Queries {
					if q.SongID != ix.IDs[r] {
						t.Fatalf("order: metrics query %d is %s, index row %s", r, q.SongID, ix.IDs[r])
					}
					if q.Versions == 0 {
						continue
					}
					var first int32
					var sum float64
					j := 0
					for pos, nb := range res[r] {
						if ix.WorkIDs[nb.Row] == q.WorkID {
							j++
							if j == 1 {
								first = int32(pos + 1)
							}
							sum += float64(j) / float64(pos+1)
						}
					}
					ap := sum / (float64(q.Versions) + 1e-10)
					if first != q.FirstRank || ap != q.AP {
						t.Errorf("%s d=%d coarse=%v query %s: first rank %d AP %v, metrics %d %v", dist, d, coarse, q.SongID, first, ap, q.FirstRank, q.AP)
					}
				}
			}
		}
	}
}

func TestSimilarityValues(t *testing.T) {
	m := &Matrix{Dim: 2, IDs: []string{"a", "b", "c"}, Vecs: []float32{1, 0, 0, 2, 3, 4}}
	cases := []struct {
		d    metrics.Distance
		want []float64 // from a: b, c
	}{
		{metrics.Cosine, []float64{0.6, 0}},       // a·c/|c| = 3/5; a ⟂ b
		{metrics.SqEuclidean, []float64{2.5, 10}}, // (1+4)/2, (4+16)/2
		{metrics.Pearson, []float64{-1, -1}},      // two values: ±1; a tie, b first
	}
	for _, c := range cases {
		ix, err := New(m, c.d)
		if err != nil {
			t.Fatal(err)
		}
		got := ix.Search([]Query{ix.QueryOf(0)}, 2, Options{})[0]
		for i, nb := range got {
			v, isDist := ix.Similarity(ix.QueryOf(0), nb)
			if isDist != (c.d == metrics.SqEuclidean) {
				t.Errorf("%s: isDistance %v", c.d, isDist)
			}
			if math.Abs(v-c.want[i]) > 1e-6 {
				t.Errorf("%s: neighbour %d (%s) = %v, want %v", c.d, i, ix.IDs[nb.Row], v, c.want[i])
			}
		}
	}
}

func TestSkipsAndErrors(t *testing.T) {
	m := &Matrix{Dim: 2, IDs: []string{"z", "a", "n"}, Vecs: []float32{0, 0, 1, 1, float32(math.NaN()), 1}}
	ix, err := New(m, metrics.Cosine)
	if err != nil {
		t.Fatal(err)
	}
	if ix.Len() != 1 || len(ix.Skipped) != 2 || ix.Find("a") != 0 || ix.Find("z") != -1 {
		t.Fatalf("index %v skipped %v", ix.IDs, ix.Skipped)
	}
	if _, err := ix.PrepareQuery([]float32{0, 0}); !errors.Is(err, ErrUnscorable) {
		t.Errorf("zero query: %v", err)
	}
	if _, err := ix.PrepareQuery([]float32{1}); !errors.Is(err, ErrShape) {
		t.Errorf("short query: %v", err)
	}
	if _, err := New(&Matrix{Dim: 1, IDs: []string{"a", "a"}, Vecs: []float32{1, 2}}, metrics.Cosine); !errors.Is(err, ErrDuplicateSong) {
		t.Errorf("duplicates: %v", err)
	}
	if _, err := New(&Matrix{Dim: 2, IDs: []string{"a"}, Vecs: []float32{1}}, metrics.Cosine); !errors.Is(err, ErrShape) {
		t.Errorf("shape: %v", err)
	}
}

func TestFileRoundTrip(t *testing.T) {
	m := randomMatrix(rand.New(rand.NewPCG(5, 6)), 20, 8, false)
	m.Titles = make([]string, 20)
	m.Titles[3] = "Ständchen"
	path := filepath.Join(t.TempDir(), FileName)
	if err := writeFile(path, m); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got.IDs, got.WorkIDs, got.Titles, got.Vecs) != fmt.Sprint(m.IDs, m.WorkIDs, m.Titles, m.Vecs) || got.Artists != nil || got.Dim != 8 {
		t.Fatalf("round trip differs")
	}
	b, _ := os.ReadFile(path)
	for _, cut := range []int{0, 7, 24, 100, len(b) - 1} {
		if _, err := Unmarshal(b[:cut]); !errors.Is(err, ErrBadFile) {
			t.Errorf("truncated at %d: %v", cut, err)
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.vxs")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	small, _ := Marshal(&Matrix{Dim: 2, IDs: []string{"a", "b"}, WorkIDs: []string{"w", ""}, Vecs: []float32{1, 2, 3, 4}})
	f.Add(small)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Unmarshal(b)
		if err != nil {
			return
		}
		again, err := Marshal(m)
		if err != nil {
			t.Fatalf("re-marshal: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("round trip changed the bytes")
		}
	})
}

func BenchmarkSearch(b *testing.B) {
	const n, d = 100_000, 256
	rng := rand.New(rand.NewPCG(7, 8))
	m := randomMatrix(rng, n, d, false)
	ix, err := New(m, metrics.Cosine)
	if err != nil {
		b.Fatal(err)
	}
	q := []Query{ix.QueryOf(12345)}
	b.ReportAllocs()
	for b.Loop() {
		ix.Search(q, 10, Options{})
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
}

func BenchmarkLoad(b *testing.B) {
	const n, d = 100_000, 256
	m := randomMatrix(rand.New(rand.NewPCG(9, 10)), n, d, false)
	path := filepath.Join(b.TempDir(), FileName)
	if err := writeFile(path, m); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		m, err := ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := NewInPlace(m, metrics.Cosine); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "songs/s")
}

func TestNewInPlaceMatchesNew(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, dist := range distances {
		m := randomMatrix(rng, 50, 8, true)
		m.Vecs[3*8], m.Vecs[3*8+1] = float32(math.NaN()), 0 // a skipped row
		want, err := New(m, dist)
		if err != nil {
			t.Fatal(err)
		}
		order := make([]int, m.Len())
		for i := range order {
			order[i] = i
		}
		sort.Slice(order, func(a, b int) bool { return m.IDs[order[a]] < m.IDs[order[b]] })
		sorted := &Matrix{Dim: 8}
		for _, i := range order {
			sorted.IDs = append(sorted.IDs, m.IDs[i])
			sorted.WorkIDs = append(sorted.WorkIDs, m.WorkIDs[i])
			sorted.Vecs = append(sorted.Vecs, m.Vecs[i*8:(i+1)*8]...)
		}
		got, err := NewInPlace(sorted, dist)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got.IDs, got.WorkIDs, got.vecs, got.bias, got.sq, got.Skipped) != fmt.Sprint(want.IDs, want.WorkIDs, want.vecs, want.bias, want.sq, want.Skipped) {
			t.Fatalf("%s: NewInPlace differs from New", dist)
		}
	}
}

// BenchmarkQueryEndToEnd is vindex query's work with a search file: read
// 100,000 × 256, prepare, answer one query.
func BenchmarkQueryEndToEnd(b *testing.B) {
	const n, d = 100_000, 256
	m := randomMatrix(rand.New(rand.NewPCG(9, 10)), n, d, false)
	path := filepath.Join(b.TempDir(), FileName)
	if err := writeFile(path, m); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		m, err := ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		ix, err := NewInPlace(m, metrics.Cosine)
		if err != nil {
			b.Fatal(err)
		}
		ix.Search([]Query{ix.QueryOf(0)}, 10, Options{})
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
}

// writeFile writes m as a search file (publishing it is the caller's; tests write plainly).
func writeFile(path string, m *Matrix) error {
	b, err := Marshal(m)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
