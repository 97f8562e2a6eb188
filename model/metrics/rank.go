package metrics

import (
	"sort"
	"sync"
	"sync/atomic"
)

// relevant writes the similarities of query q's relevant items and their
// catalog indices into s and idx, sorted by descending similarity, then
// ascending index (catalog order), and returns them.
func (c *Catalog) relevant(q int, s []float32, idx []int32) ([]float32, []int32) {
	s, idx = s[:0], idx[:0]
	w := c.Work[q]
	if w < 0 {
		return s, idx
	}
	d := c.Dim
	vq := c.Vecs[q*d : (q+1)*d]
	for _, x := range c.Members[c.WorkStart[w]:c.WorkStart[w+1]] {
		if int(x) == q {
			continue
		}
		// The same kernel as the counts (DotRow ≡ dotTile per pair): a
		// version's score must equal the one it is compared against, or
		// exact ties would be ranked inconsistently.
		var one [1]float32
		DotRow(one[:], vq, c.Vecs[int(x)*d:(int(x)+1)*d], 1, d)
		s = append(s, one[0]+c.Bias[x])
		idx = append(idx, x)
	}
	sort.Sort(relOrder{s, idx})
	return s, idx
}

type relOrder struct {
	s   []float32
	idx []int32
}

func (r relOrder) Len() int { return len(r.s) }
func (r relOrder) Less(i, j int) bool {
	return r.s[i] > r.s[j] || (r.s[i] == r.s[j] && r.idx[i] < r.idx[j])
}
func (r relOrder) Swap(i, j int) {
	r.s[i], r.s[j] = r.s[j], r.s[i]
	r.idx[i], r.idx[j] = r.idx[j], r.idx[i]
}

// PartialCounts adds, for every query q in [qLo, qHi) that has versions, the
// counts of catalog songs x in [cLo, cHi), x ≠ q and x not relevant to q,
// that rank above q's relevant items: dst[q-qLo][k] counts the songs that
// rank above the relevant items at sorted positions k, k+1, … but not k-1.
// dst[q-qLo] must have NumVersions(q) elements (nil for queries without
// versions). Counts are additive over catalog ranges; RanksFromCounts turns
// their sum into ranks. The query range is split over cfg.Workers goroutines.
//
// The tiles are counted by Evaluate's compare-only kernels (count.go); a
// query with a tie between one of its relevant items and another song of
// the range, or with more than 64 versions, is counted by the scalar path.
func (c *Catalog) PartialCounts(qLo, qHi, cLo, cHi int, cfg Config, dst [][]int64) {
	if qLo < 0 || qHi > c.Len() || cLo < 0 || cHi > c.Len() || qLo > qHi || cLo > cHi || len(dst) != qHi-qLo {
		panic("metrics: PartialCounts: bad ranges")
	}
	if qLo == qHi || cLo == cHi {
		return
	}
	t := c.newRankTable(qLo, qHi)
	gt, eq := make([]uint32, len(t.thr)), make([]uint32, len(t.thr))
	c.countRows(t, cLo, cHi, cfg, gt, eq)
	exact := t.exact
	rows := make([][]int64, 0, len(exact))
	for _, q := range exact {
		rows = append(rows, dst[int(q)-qLo])
	}
	for q := qLo; q < qHi; q++ {
		if t.m[q-qLo] > 0 && !t.finish(q, cLo, cHi, gt, eq, dst[q-qLo]) {
			exact = append(exact, int32(q))
			rows = append(rows, dst[q-qLo])
		}
	}
	c.countExact(exact, rows, cLo, cHi, cfg)
}

// countExact adds the counts of the queries qs over the catalog songs [cLo,
// cHi) to rows (one per query) with the scalar path: scores of a block of
// queries against a block of the catalog, each score above the lowest
// relevant item placed among the relevant items by binary search.
func (c *Catalog) countExact(qs []int32, rows [][]int64, cLo, cHi int, cfg Config) {
	bq, bc := cfg.blocks()
	nb := (len(qs) + bq - 1) / bq
	if nb == 0 || cLo == cHi {
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range cfg.workers(nb) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var t tileScratch
			for b := int(next.Add(1) - 1); b < nb; b = int(next.Add(1) - 1) {
				lo, hi := b*bq, min(len(qs), (b+1)*bq)
				t.qs, t.rows = append(t.qs[:0], qs[lo:hi]...), append(t.rows[:0], rows[lo:hi]...)
				c.prepareQueries(&t)
				for clo := cLo; clo < cHi; clo += bc {
					c.countTile(clo, min(clo+bc, cHi), &t)
				}
			}
		}()
	}
	wg.Wait()
}

type tileScratch struct {
	scores []float32
	qs     []int32   // queries of the block that have versions
	rows   [][]int64 // their counts
	qvecs  []float32
	// relS and relIdx hold the sorted relevant items of every query in qs,
	// query i's at relOff[i]..relOff[i+1].
	relS   []float32
	relIdx []int32
	relOff []int
	oneS   []float32
	oneIdx []int32
}

// prepareQueries gathers the vectors and sorted relevant items of t.qs.
func (c *Catalog) prepareQueries(t *tileScratch) {
	d := c.Dim
	t.qvecs = t.qvecs[:0]
	t.relS, t.relIdx, t.relOff = t.relS[:0], t.relIdx[:0], append(t.relOff[:0], 0)
	for _, q32 := range t.qs {
		q := int(q32)
		t.qvecs = append(t.qvecs, c.Vecs[q*d:(q+1)*d]...)
		t.oneS, t.oneIdx = c.relevant(q, t.oneS, t.oneIdx)
		t.relS = append(t.relS, t.oneS...)
		t.relIdx = append(t.relIdx, t.oneIdx...)
		t.relOff = append(t.relOff, len(t.relS))
	}
}

// countTile counts the queries of t (prepareQueries) against the catalog
// block [cLo, cHi), adding to t.rows.
func (c *Catalog) countTile(cLo, cHi int, t *tileScratch) {
	d := c.Dim
	nq, nc := len(t.qs), cHi-cLo
	if nq == 0 || nc == 0 {
		return
	}
	if cap(t.scores) < nq*nc {
		t.scores = make([]float32, nq*nc)
	}
	scores := t.scores[:nq*nc]
	dotTile(scores, t.qvecs, nq, c.Vecs[cLo*d:cHi*d], nc, d)
	bias := c.Bias[cLo:cHi]
	work := c.Work[cLo:cHi]
	for i, q32 := range t.qs {
		q := int(q32)
		relS, relIdx := t.relS[t.relOff[i]:t.relOff[i+1]], t.relIdx[t.relOff[i]:t.relOff[i+1]]
		m := len(relS)
		minS, minIdx := relS[m-1], int(relIdx[m-1])
		wq := c.Work[q]
		h := t.rows[i]
		row := scores[i*nc : (i+1)*nc]
		for j, s := range row {
			s += bias[j]
			if s < minS {
				continue
			}
			x := cLo + j
			if (s == minS && x > minIdx) || work[j] == wq {
				continue // below every relevant item, or relevant (or q itself)
			}
			// First sorted position that x ranks above (binary search; the
			// predicate is false, then true, along the sorted list).
			lo, hi := 0, m-1 // position m-1 is known to be true
			for lo < hi {
				mid := int(uint(lo+hi) >> 1)
				if s > relS[mid] || (s == relS[mid] && x < int(relIdx[mid])) {
					hi = mid
				} else {
					lo = mid + 1
				}
			}
			h[lo]++
		}
	}
}

// Ranks writes the ranks of query q's relevant items, ascending, computed
// from the total counts (the sum of PartialCounts over the whole catalog),
// into dst (len NumVersions(q)).
func Ranks(dst []int, counts []int64) {
	var cum int64
	for j, h := range counts {
		cum += h
		dst[j] = 1 + j + int(cum)
	}
}

func dot(a, b []float32) float32 {
	var s float32
	for i, v := range a {
		s += v * b[i]
	}
	return s
}
