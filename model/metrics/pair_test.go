package metrics

import (
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"testing"
)

// TestPairCounts: the sum of PairCounts over every pair {A, B} (A ≤ B) of a
// partition of the catalog into ranges (cut anywhere: through lane groups,
// tiles, cliques and the 70-song work) equals Evaluate's counts (the scalar
// path's over the whole catalog), query by query, on every kernel path, on
// a clustered and a tie-heavy catalog; one pair of disjoint ranges adds
// exactly what PartialCounts adds in both directions.
func TestPairCounts(t *testing.T) {
	forEachCountPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(21, 22))
		for _, tc := range []struct {
			name string
			rows []Row
		}{{"clustered", synthetic(600, 32, 9)}, {"tied", tiedCatalog(509)}} {
			for _, dist := range []Distance{Cosine, SqEuclidean} {
				cat, _, err := NewCatalog(tc.rows, dist, nil)
				if err != nil {
					t.Fatal(err)
				}
				n := cat.Len()
				want := scalarCounts(cat, 0, n, 0, n)
				for _, cfg := range []Config{{}, {BlockQueries: 7, Workers: 3}, {BlockQueries: 48, Workers: 1}} {
					cuts := []int{0, n}
					for range 1 + rng.IntN(5) {
						cuts = append(cuts, rng.IntN(n))
					}
					sort.Ints(cuts)
					got := newCounts(cat)
					for i := 0; i+1 < len(cuts); i++ {
						for j := i; j+1 < len(cuts); j++ {
							cat.PairCounts(cuts[i], cuts[i+1], cuts[j], cuts[j+1], cfg, got)
						}
					}
					for q := range got {
						if !slices.Equal(got[q], want[q]) {
							t.Fatalf("%s %s %+v cuts %v: query %d: counts %v, Evaluate's %v", tc.name, dist, cfg, cuts, q, got[q], want[q])
						}
					}
				}
				aLo := rng.IntN(n / 2)
				aHi := aLo + rng.IntN(n/2-aLo+1)
				bLo := n/2 + rng.IntN(n/2)
				bHi := bLo + rng.IntN(n-bLo+1)
				got, ref := newCounts(cat), newCounts(cat)
				cat.PairCounts(bLo, bHi, aLo, aHi, Config{Workers: 2}, got)
				cat.PartialCounts(aLo, aHi, bLo, bHi, Config{}, ref[aLo:aHi])
				cat.PartialCounts(bLo, bHi, aLo, aHi, Config{}, ref[bLo:bHi])
				for q := range got {
					if !slices.Equal(got[q], ref[q]) {
						t.Fatalf("%s %s [%d,%d)x[%d,%d): query %d: %v, PartialCounts %v", tc.name, dist, aLo, aHi, bLo, bHi, q, got[q], ref[q])
					}
				}
			}
		}
	})
}

// TestPairCounter: a PairCounter's blocks, each pair counted once (from two
// goroutines, in an order that reuses prepared blocks), add up to
// Evaluate's counts on the tie-heavy catalog.
func TestPairCounter(t *testing.T) {
	forEachCountPath(t, func(t *testing.T) {
		cat, _, err := NewCatalog(tiedCatalog(509), Cosine, nil)
		if err != nil {
			t.Fatal(err)
		}
		n := cat.Len()
		want := scalarCounts(cat, 0, n, 0, n)
		for _, size := range []int{40, 64, 600} {
			p := cat.NewPairCounter(size)
			if lo, hi := p.Range(p.NumBlocks() - 1); hi != n || lo >= hi {
				t.Fatalf("size %d: last block [%d, %d) of %d songs", size, lo, hi, n)
			}
			got := [2][][]int64{newCounts(cat), newCounts(cat)}
			var wg sync.WaitGroup
			for g := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for a := g; a < p.NumBlocks(); a += 2 {
						for b := a; b < p.NumBlocks(); b++ {
							p.Count(b, a, Config{BlockQueries: 16, Workers: 2}, got[g])
						}
					}
				}()
			}
			wg.Wait()
			for q := range want {
				for k := range want[q] {
					if got[0][q][k]+got[1][q][k] != want[q][k] {
						t.Fatalf("size %d: query %d: counts %v + %v, Evaluate's %v", size, q, got[0][q], got[1][q], want[q])
					}
				}
			}
		}
	})
}
