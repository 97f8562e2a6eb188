package metrics

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// The counting engine of Evaluate. A tile of scores is counted against the
// sorted scores of each query's relevant items (its thresholds) by kernels
// that only compare: for each threshold t they count the catalog songs x
// with s(q,x) > t and those with s(q,x) = t, over all songs, relevant or
// not. finish then subtracts the songs whose scores are known (q itself and
// its relevant items) and turns the rest into the counts of PartialCounts.
// The tie rule (a song tied with a relevant item ranks above it when it
// comes first in catalog order) needs the catalog index of a tied song, which
// the kernels do not keep: a query with a tie between a relevant item and a
// song outside its known set is recounted exactly (countQueryExact), as are
// queries with more than vecMaxVersions versions, for which comparing every
// score with every threshold would cost more than PartialCounts' binary
// search.
//
// Because q·x = x·q bit for bit (each product is exact inside an FMA, and a
// pair's arithmetic does not depend on its position), one tile of scores
// counts both directions: row i against its thresholds (query i, songs of
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

// rankTable holds, for every song of a catalog, the sorted scores of its
// relevant items as thresholds for the count kernels.
type rankTable struct {
	// off[g] is where group g's thresholds start in thr; (off[g+1]−off[g])/16
	// is the largest number of thresholds of its 16 songs. Missing
	// thresholds are +Inf (never exceeded, never equalled).
	off []int
	thr []float32
	// m is each song's number of thresholds: its number of versions, or 0
	// when it has none or is counted exactly.
	m []int32
	// rel holds each kernel-counted song's relevant scores and indices,
	// sorted (relOff[q]..relOff[q+1]); self its score against itself.
	relOff []int
	relS   []float32
	relIdx []int32
	self   []float32
	// exact lists the songs with more than vecMaxVersions versions.
	exact []int32
}

// newRankTable scores every query's relevant items, work by work (one small
// tile of the work's members against themselves, with the arithmetic of
// every other score), and sorts them.
func (c *Catalog) newRankTable() *rankTable {
	n, d := c.Len(), c.Dim
	t := &rankTable{m: make([]int32, n), self: make([]float32, n), relOff: make([]int, n+1)}
	for q := range n {
		if v := c.NumVersions(q); v <= vecMaxVersions {
			t.m[q] = int32(v)
		} else {
			t.exact = append(t.exact, int32(q))
		}
		t.relOff[q+1] = t.relOff[q] + int(t.m[q])
	}
	t.relS = make([]float32, t.relOff[n])
	t.relIdx = make([]int32, t.relOff[n])
	var vecs, gram []float32
	for w := 0; w+1 < len(c.WorkStart); w++ {
		mem := c.Members[c.WorkStart[w]:c.WorkStart[w+1]]
		k := len(mem)
		if k < 2 || k-1 > vecMaxVersions {
			continue
		}
		vecs = vecs[:0]
		for _, x := range mem {
			vecs = append(vecs, c.Vecs[int(x)*d:int(x+1)*d]...)
		}
		gram = append(gram[:0], make([]float32, k*k)...)
		dotTile(gram, vecs, k, vecs, k, d)
		for a, q := range mem {
			s, idx := t.relS[t.relOff[q]:t.relOff[q+1]], t.relIdx[t.relOff[q]:t.relOff[q+1]]
			s, idx = s[:0], idx[:0]
			for b, x := range mem {
				if b == a {
					t.self[q] = gram[a*k+b] + c.Bias[q]
					continue
				}
				s = append(s, gram[a*k+b]+c.Bias[x])
				idx = append(idx, x)
			}
			sortRelevant(s, idx)
		}
	}
	ng := (n + laneGroup - 1) / laneGroup
	t.off = make([]int, ng+1)
	for g := range ng {
		var kmax int32
		for q := g * laneGroup; q < min(n, (g+1)*laneGroup); q++ {
			kmax = max(kmax, t.m[q])
		}
		t.off[g+1] = t.off[g] + int(kmax)*laneGroup
	}
	t.thr = make([]float32, t.off[ng])
	for i := range t.thr {
		t.thr[i] = float32(math.Inf(1))
	}
	for q := range n {
		base := t.off[q/laneGroup] + q%laneGroup
		for k, s := range t.relS[t.relOff[q]:t.relOff[q+1]] {
			t.thr[base+laneGroup*k] = s
		}
	}
	return t
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

// finish turns query q's kernel counts over the whole catalog (gt and eq at
// its lane, stride 16) into PartialCounts' counts, added to dst. It returns
// false, leaving dst alone, when a song outside q's known set ties with one
// of its relevant items: only the tie rule can place it then.
func (t *rankTable) finish(q int, gt, eq []uint32, dst []int64) bool {
	relS := t.relS[t.relOff[q]:t.relOff[q+1]]
	base := t.off[q/laneGroup] + q%laneGroup
	for k, tk := range relS {
		var ke uint32
		for _, s := range relS {
			if s == tk {
				ke++
			}
		}
		if t.self[q] == tk {
			ke++
		}
		if eq[base+laneGroup*k] != ke {
			return false
		}
	}
	var prev int64
	for k, tk := range relS {
		var kg int64
		for _, s := range relS[:k] {
			if s > tk {
				kg++
			}
		}
		if t.self[q] > tk {
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
	t := c.newRankTable()
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
		if t.m[q] > 0 && !t.finish(q, gt[0], eq[0], counts[q]) {
			exact = append(exact, int32(q))
		}
	}
	c.countExact(exact, cfg, counts)
	return len(exact)
}

// countPair counts the tile of rows [i0, i0+bs) × columns [j0, j0+bs)
// (clipped to the catalog): rows against their thresholds and, off the
// diagonal, columns against theirs. It returns the tile buffer for reuse.
func (c *Catalog) countPair(t *rankTable, i0, j0, bs int, bias, tile []float32, gt, eq []uint32) []float32 {
	n, d := c.Len(), c.Dim
	i1, j1 := min(n, i0+bs), min(n, j0+bs)
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
	for i := i0; i < i1; i++ {
		if m := int(t.m[i]); m > 0 {
			base := t.off[i/laneGroup] + i%laneGroup
			countRow(tile[(i-i0)*ld:(i-i0)*ld+w], bias[j0:j0+w], t.thr[base:], m, gt[base:], eq[base:])
		}
	}
	if i0 == j0 {
		return tile
	}
	for g := j0 / laneGroup; g*laneGroup < j1; g++ {
		off := t.off[g]
		if kmax := (t.off[g+1] - off) / laneGroup; kmax > 0 {
			countCol(tile[g*laneGroup-j0:], ld, ni, bias[i0:i1], t.thr[off:], kmax, gt[off:], eq[off:])
		}
	}
	return tile
}

// countExact adds the counts of the queries qs over the whole catalog to
// counts with the scalar path of PartialCounts, in blocks of BlockQueries.
func (c *Catalog) countExact(qs []int32, cfg Config, counts [][]int64) {
	bq, bc := cfg.blocks()
	nb := (len(qs) + bq - 1) / bq
	if nb == 0 {
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
				t.qs, t.rows = append(t.qs[:0], qs[b*bq:min(len(qs), (b+1)*bq)]...), t.rows[:0]
				for _, q := range t.qs {
					t.rows = append(t.rows, counts[q])
				}
				c.prepareQueries(&t)
				for clo := 0; clo < c.Len(); clo += bc {
					c.countTile(clo, min(clo+bc, c.Len()), &t)
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
