package metrics

import (
	"runtime"
	"sort"
	"sync"
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
func (c *Catalog) PartialCounts(qLo, qHi, cLo, cHi int, cfg Config, dst [][]int64) {
	if qLo < 0 || qHi > c.Len() || cLo < 0 || cHi > c.Len() || qLo > qHi || cLo > cHi || len(dst) != qHi-qLo {
		panic("metrics: PartialCounts: bad ranges")
	}
	bq, bc := cfg.blocks()
	workers := cfg.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	nb := (qHi - qLo + bq - 1) / bq
	if workers > nb {
		workers = nb
	}
	next := make(chan int, nb)
	for b := 0; b < nb; b++ {
		next <- b
	}
	close(next)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var t tileScratch
			for b := range next {
				lo := qLo + b*bq
				hi := min(lo+bq, qHi)
				c.prepareBlock(lo, hi, dst[lo-qLo:hi-qLo], &t)
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

// prepareBlock gathers the queries of [qLo, qHi) that have versions, their
// vectors, their sorted relevant items and their rows of dst (indexed from
// qLo), once for all catalog blocks.
func (c *Catalog) prepareBlock(qLo, qHi int, dst [][]int64, t *tileScratch) {
	t.qs, t.rows = t.qs[:0], t.rows[:0]
	for q := qLo; q < qHi; q++ {
		if c.NumVersions(q) > 0 {
			t.qs = append(t.qs, int32(q))
			t.rows = append(t.rows, dst[q-qLo])
		}
	}
	c.prepareQueries(t)
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
