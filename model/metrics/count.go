package metrics

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// The counting engine of Evaluate and PartialCounts. A tile of scores is counted against the
// sorted scores of each query's relevant items (its thresholds) by kernels
// that only compare: for each threshold t they count the catalog songs x
// with s(q,x) > t and those with s(q,x) = t, over all songs, relevant or
// not. finish then subtracts the songs whose scores are known (q itself and
// its relevant items) and turns the rest into the counts of PartialCounts.
// The tie rule (a song tied with a relevant item ranks above it when it
// comes first in catalog order) needs the catalog index of a tied song, which
// the kernels do not keep: a query with a tie between a relevant item and a
// song outside its known set is recounted by the scalar path (countExact),
// as are queries with more than vecMaxVersions versions, for which comparing
// every score with every threshold would cost more than its binary search.
//
// Because q·x = x·q bit for bit (each product is exact inside an FMA, and a
// pair's arithmetic does not depend on its position), one tile of scores
// counts both directions in Evaluate: row i against its thresholds (query i, songs of
// the columns) and column j against its own (query j, songs of the rows).

// Count kernel paths (countPath).
const (
	pathGo = iota
	pathAVX2
	pathAVX512
)

// laneGroup is the number of consecutive songs whose thresholds are
// interleaved (threshold k of song 16g+l at thr[off[g]+16k+l]), so that the
// column kernel loads 16 songs' k-th thresholds at once.
const laneGroup = 16

// vecMaxVersions is the largest number of versions a query may have to be
// counted by the kernels; queries with more are counted exactly.
const vecMaxVersions = 64

// defaultSymBlock is the side of Evaluate's square tiles: 256 songs of d =
// 256 are 256 KB, so a row block, a column block and the tile stay in L2.
const defaultSymBlock = 256

// rankTable holds, for the songs [lo, hi) of a catalog, the sorted scores of
// their relevant items as thresholds for the count kernels. Songs are
// indexed from lo (l = q − lo) and grouped by 16 from lo.
type rankTable struct {
	lo, hi int
	// off[g] is where group g's thresholds start in thr; (off[g+1]−off[g])/16
	// is the largest number of thresholds of its 16 songs. Missing
	// thresholds are +Inf (never exceeded, never equalled).
	off []int
	thr []float32
	// m is each song's number of thresholds: its number of versions, or 0
	// when it has none or is counted exactly.
	m []int32
	// rel holds each kernel-counted song's relevant scores and indices,
	// sorted (relOff[l]..relOff[l+1]); self its score against itself.
	relOff []int
	relS   []float32
	relIdx []int32
	self   []float32
	// exact lists the songs with more than vecMaxVersions versions.
	exact []int32
}

// base is where song q's first threshold and counters are.
func (t *rankTable) base(q int) int {
	l := q - t.lo
	return t.off[l/laneGroup] + l%laneGroup
}

// newRankTable scores the relevant items of the queries [lo, hi), work by
// work (one small tile of the work's members against themselves, with the
// arithmetic of every other score), and sorts them.
func (c *Catalog) newRankTable(lo, hi int) *rankTable {
	n := hi - lo
	t := &rankTable{lo: lo, hi: hi, m: make([]int32, n), self: make([]float32, n), relOff: make([]int, n+1)}
	for l := range n {
		if v := c.NumVersions(lo + l); v <= vecMaxVersions {
			t.m[l] = int32(v)
		} else {
			t.exact = append(t.exact, int32(lo+l))
		}
		t.relOff[l+1] = t.relOff[l] + int(t.m[l])
	}
	t.relS = make([]float32, t.relOff[n])
	t.relIdx = make([]int32, t.relOff[n])
	var vecs, gram []float32
	for q := lo; q < hi; q++ {
		w := c.Work[q]
		if t.m[q-lo] == 0 || c.firstMember(w, lo) != q {
			continue // no versions, counted exactly, or its work is done
		}
		vecs, gram = c.scoreWork(w, lo, hi, t, vecs, gram)
	}
	ng := (n + laneGroup - 1) / laneGroup
	t.off = make([]int, ng+1)
	for g := range ng {
		var kmax int32
		for l := g * laneGroup; l < min(n, (g+1)*laneGroup); l++ {
			kmax = max(kmax, t.m[l])
		}
		t.off[g+1] = t.off[g] + int(kmax)*laneGroup
	}
	t.thr = make([]float32, t.off[ng])
	for i := range t.thr {
		t.thr[i] = float32(math.Inf(1))
	}
	for l := range n {
		base := t.base(lo + l)
		for k, s := range t.relS[t.relOff[l]:t.relOff[l+1]] {
			t.thr[base+laneGroup*k] = s
		}
	}
	return t
}

// firstMember is work w's first member at or after lo.
func (c *Catalog) firstMember(w int32, lo int) int {
	for _, x := range c.Members[c.WorkStart[w]:c.WorkStart[w+1]] {
		if int(x) >= lo {
			return int(x)
		}
	}
	return -1
}

// scoreWork fills t's relevant items and self scores of work w's members in
// [lo, hi) from one tile of the work's members against themselves. vecs
// and gram are scratch, returned for reuse.
func (c *Catalog) scoreWork(w int32, lo, hi int, t *rankTable, vecs, gram []float32) ([]float32, []float32) {
	d := c.Dim
	mem := c.Members[c.WorkStart[w]:c.WorkStart[w+1]]
	k := len(mem)
	vecs = vecs[:0]
	for _, x := range mem {
		vecs = append(vecs, c.Vecs[int(x)*d:int(x+1)*d]...)
	}
	gram = append(gram[:0], make([]float32, k*k)...)
	dotTile(gram, vecs, k, vecs, k, d)
	for a, q32 := range mem {
		q := int(q32)
		if q < lo || q >= hi {
			continue
		}
		l := q - lo
		s, idx := t.relS[t.relOff[l]:t.relOff[l]], t.relIdx[t.relOff[l]:t.relOff[l]]
		for b, x := range mem {
			if b == a {
				t.self[l] = gram[a*k+b] + c.Bias[q]
				continue
			}
			s = append(s, gram[a*k+b]+c.Bias[x])
			idx = append(idx, x)
		}
		sortRelevant(s, idx)
	}
	return vecs, gram
}

// sortRelevant sorts s descending, ties by ascending idx (insertion sort:
// a query has few versions).
func sortRelevant(s []float32, idx []int32) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && (s[j] > s[j-1] || (s[j] == s[j-1] && idx[j] < idx[j-1])); j-- {
			s[j], s[j-1] = s[j-1], s[j]
			idx[j], idx[j-1] = idx[j-1], idx[j]
		}
	}
}

// countRow adds, for k < m, to gt[16k] the number of j < len(s) with
// s[j]+bias[j] > thr[16k] and to eq[16k] those with s[j]+bias[j] = thr[16k].
// len(s) is a positive multiple of 16.
func countRow(s, bias, thr []float32, m int, gt, eq []uint32) {
	last := laneGroup * (m - 1)
	_, _, _, _ = bias[len(s)-1], thr[last], gt[last], eq[last]
	if countRowAsm(s, bias, thr, m, gt, eq) {
		return
	}
	for k := range m {
		t := thr[laneGroup*k]
		var g, e uint32
		for j, v := range s {
			v += bias[j]
			if v > t {
				g++
			} else if v == t {
				e++
			}
		}
		gt[laneGroup*k] += g
		eq[laneGroup*k] += e
	}
}

// countCol adds, for k < kmax and lane l < 16, to gt[16k+l] the number of
// rows i < nr with s[i·ld+l]+bias[i] > thr[16k+l], and to eq[16k+l] those
// equal to it.
func countCol(s []float32, ld, nr int, bias, thr []float32, kmax int, gt, eq []uint32) {
	last := laneGroup*kmax - 1
	_, _, _, _, _ = s[(nr-1)*ld+laneGroup-1], bias[nr-1], thr[last], gt[last], eq[last]
	if countColAsm(s, ld, nr, bias, thr, kmax, gt, eq) {
		return
	}
	for k := range kmax {
		for l := range laneGroup {
			t := thr[laneGroup*k+l]
			var g, e uint32
			for i := range nr {
				v := s[i*ld+l] + bias[i]
				if v > t {
					g++
				} else if v == t {
					e++
				}
			}
			gt[laneGroup*k+l] += g
			eq[laneGroup*k+l] += e
		}
	}
}

// finish turns query q's kernel counts over the catalog songs [cLo, cHi)
// (gt and eq at its lane, stride 16) into PartialCounts' counts, added to
// dst. It returns false, leaving dst alone, when a song of the range outside
// q's known set (q and its relevant items) ties with one of its relevant
// items: only the tie rule can place it then.
func (t *rankTable) finish(q, cLo, cHi int, gt, eq []uint32, dst []int64) bool {
	l := q - t.lo
	relS, relIdx := t.relS[t.relOff[l]:t.relOff[l+1]], t.relIdx[t.relOff[l]:t.relOff[l+1]]
	base := t.base(q)
	selfIn := cLo <= q && q < cHi
	for k, tk := range relS {
		var ke uint32
		for j, s := range relS {
			if s == tk && cLo <= int(relIdx[j]) && int(relIdx[j]) < cHi {
				ke++
			}
		}
		if selfIn && t.self[l] == tk {
			ke++
		}
		if eq[base+laneGroup*k] != ke {
			return false
		}
	}
	var prev int64
	for k, tk := range relS {
		var kg int64
		for j, s := range relS[:k] {
			if s > tk && cLo <= int(relIdx[j]) && int(relIdx[j]) < cHi {
				kg++
			}
		}
		if selfIn && t.self[l] > tk {
			kg++
		}
		above := int64(gt[base+laneGroup*k]) - kg
		dst[k] += above - prev
		prev = above
	}
	return true
}

// countSymmetric adds the counts of every query over the whole catalog to
// counts (as PartialCounts(0, n, 0, n) would), scoring each pair of songs
// once: square tiles of cfg's symmetric block above and on the diagonal,
// shared by cfg.Workers goroutines. It returns the number of queries counted
// by the scalar path.
func (c *Catalog) countSymmetric(cfg Config, counts [][]int64) int {
	n := c.Len()
	t := c.newRankTable(0, n)
	bs := cfg.symBlock()
	nb := (n + bs - 1) / bs
	pairs := make([][2]int32, 0, nb*(nb+1)/2)
	for i := range nb {
		for j := i; j < nb; j++ {
			pairs = append(pairs, [2]int32{int32(i), int32(j)})
		}
	}
	bias := make([]float32, (n+laneGroup-1)/laneGroup*laneGroup)
	copy(bias, c.Bias)
	workers := cfg.workers(len(pairs))
	gt := make([][]uint32, workers)
	eq := make([][]uint32, workers)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		gt[w], eq[w] = make([]uint32, len(t.thr)), make([]uint32, len(t.thr))
		wg.Add(1)
		go func() {
			defer wg.Done()
			var tile []float32
			for p := int(next.Add(1) - 1); p < len(pairs); p = int(next.Add(1) - 1) {
				tile = c.countPair(t, int(pairs[p][0])*bs, int(pairs[p][1])*bs, bs, bias, tile, gt[w], eq[w])
			}
		}()
	}
	wg.Wait()
	for w := 1; w < workers; w++ {
		for i, v := range gt[w] {
			gt[0][i] += v
			eq[0][i] += eq[w][i]
		}
	}
	exact := t.exact
	for q := range n {
		if t.m[q] > 0 && !t.finish(q, 0, n, gt[0], eq[0], counts[q]) {
			exact = append(exact, int32(q))
		}
	}
	rows := make([][]int64, len(exact))
	for i, q := range exact {
		rows[i] = counts[q]
	}
	c.countExact(exact, rows, 0, n, cfg)
	return len(exact)
}

// scoreTile scores rows [i0, i1) against columns [j0, j1) into tile (grown
// as needed), rows ld apart, columns padded with −Inf to w, a multiple of
// 16; it returns the tile, w and ld.
func (c *Catalog) scoreTile(tile []float32, i0, i1, j0, j1 int) ([]float32, int, int) {
	d := c.Dim
	ni, nj := i1-i0, j1-j0
	w := (nj + laneGroup - 1) / laneGroup * laneGroup
	ld := w + laneGroup // not a multiple of 4 KB: a column strip stays in L1
	if cap(tile) < ni*ld {
		tile = make([]float32, ni*ld)
	}
	tile = tile[:ni*ld]
	dotTileLD(tile, ld, c.Vecs[i0*d:i1*d], ni, c.Vecs[j0*d:j1*d], nj, d)
	negInf := float32(math.Inf(-1))
	for i := range ni {
		for j := nj; j < w; j++ {
			tile[i*ld+j] = negInf
		}
	}
	return tile, w, ld
}

// countPair counts the tile of rows [i0, i0+bs) × columns [j0, j0+bs)
// (clipped to the catalog): rows against their thresholds and, off the
// diagonal, columns against theirs. It returns the tile buffer for reuse.
func (c *Catalog) countPair(t *rankTable, i0, j0, bs int, bias, tile []float32, gt, eq []uint32) []float32 {
	n := c.Len()
	i1, j1 := min(n, i0+bs), min(n, j0+bs)
	tile, w, ld := c.scoreTile(tile, i0, i1, j0, j1)
	for i := i0; i < i1; i++ {
		if m := int(t.m[i-t.lo]); m > 0 {
			base := t.base(i)
			countRow(tile[(i-i0)*ld:(i-i0)*ld+w], bias[j0:j0+w], t.thr[base:], m, gt[base:], eq[base:])
		}
	}
	if i0 == j0 {
		return tile
	}
	for g := j0 / laneGroup; g*laneGroup < j1; g++ {
		off := t.off[g]
		if kmax := (t.off[g+1] - off) / laneGroup; kmax > 0 {
			countCol(tile[g*laneGroup-j0:], ld, i1-i0, bias[i0:i1], t.thr[off:], kmax, gt[off:], eq[off:])
		}
	}
	return tile
}

// countRows adds the kernel counts of t's queries against the catalog songs
// [cLo, cHi) to gt and eq: tiles of BlockQueries queries × BlockCatalog
// songs, query blocks shared by cfg.Workers goroutines (each query's
// counters are its own, so the goroutines never write the same ones).
func (c *Catalog) countRows(t *rankTable, cLo, cHi int, cfg Config, gt, eq []uint32) {
	d := c.Dim
	var qs []int32
	for l, m := range t.m {
		if m > 0 {
			qs = append(qs, int32(t.lo+l))
		}
	}
	bq, bc := cfg.blocks()
	nb := (len(qs) + bq - 1) / bq
	if nb == 0 {
		return
	}
	bias := make([]float32, cHi-cLo+laneGroup)
	copy(bias, c.Bias[cLo:cHi])
	negInf := float32(math.Inf(-1))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range cfg.workers(nb) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var tile, qvecs []float32
			for b := int(next.Add(1) - 1); b < nb; b = int(next.Add(1) - 1) {
				block := qs[b*bq : min(len(qs), (b+1)*bq)]
				qvecs = qvecs[:0]
				for _, q := range block {
					qvecs = append(qvecs, c.Vecs[int(q)*d:int(q+1)*d]...)
				}
				for clo := cLo; clo < cHi; clo += bc {
					nc := min(bc, cHi-clo)
					w := (nc + laneGroup - 1) / laneGroup * laneGroup
					ld := w + laneGroup
					if cap(tile) < len(block)*ld {
						tile = make([]float32, len(block)*ld)
					}
					tile = tile[:len(block)*ld]
					dotTileLD(tile, ld, qvecs, len(block), c.Vecs[clo*d:(clo+nc)*d], nc, d)
					for i, q := range block {
						row := tile[i*ld : i*ld+w]
						for j := nc; j < w; j++ {
							row[j] = negInf
						}
						base := t.base(int(q))
						countRow(row, bias[clo-cLo:clo-cLo+w], t.thr[base:], int(t.m[int(q)-t.lo]), gt[base:], eq[base:])
					}
				}
			}
		}()
	}
	wg.Wait()
}

// symBlock is the side of Evaluate's square tiles: BlockQueries rounded up
// to a multiple of 16, or defaultSymBlock.
func (c Config) symBlock() int {
	if c.BlockQueries == 0 {
		return defaultSymBlock
	}
	return (c.BlockQueries + laneGroup - 1) / laneGroup * laneGroup
}

// workers is the number of goroutines for jobs units of work.
func (c Config) workers(jobs int) int {
	w := c.Workers
	if w == 0 {
		w = runtime.GOMAXPROCS(0)
	}
	return max(1, min(w, jobs))
}
