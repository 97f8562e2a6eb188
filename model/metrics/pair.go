package metrics

import (
	"sync"
	"sync/atomic"
)

// PairCounts adds the counts of the queries of two ranges of the catalog,
// each against the other, scoring every pair of songs once: for every query
// q in [aLo, aHi) that has versions, its counts over the catalog songs
// [bLo, bHi), and for every query in [bLo, bHi) its counts over [aLo, aHi),
// exactly as PartialCounts(aLo, aHi, bLo, bHi) and PartialCounts(bLo, bHi,
// aLo, aHi) would add them. When the two ranges are the same, each pair
// inside it is scored once and every query is counted over the range once
// (as PartialCounts(aLo, aHi, aLo, aHi)). Otherwise the ranges must not
// overlap. dst is indexed by catalog position (len(dst) == Len()); dst[q]
// holds NumVersions(q) counts for a query with versions and is not read
// otherwise.
//
// The sum of PairCounts over every pair {A, B} (A ≤ B) of a partition of
// the catalog into ranges is Evaluate's counts: each pair of songs is scored
// once, as Evaluate scores it. Queries with a tie between a relevant item and
// another song, and queries with many versions, are recounted exactly over
// the other range.
func (c *Catalog) PairCounts(aLo, aHi, bLo, bHi int, cfg Config, dst [][]int64) {
	n := c.Len()
	same := aLo == bLo && aHi == bHi
	if aLo < 0 || bLo < 0 || aHi > n || bHi > n || aLo > aHi || bLo > bHi || len(dst) != n ||
		(!same && aLo < bHi && bLo < aHi && aLo < aHi && bLo < bHi) {
		panic("metrics: PairCounts: bad ranges")
	}
	if aLo == aHi || bLo == bHi {
		return
	}
	ta := c.newRankTable(aLo, aHi)
	tb := ta
	if !same {
		tb = c.newRankTable(bLo, bHi)
	}
	c.pairCounts(ta, tb, same, c.paddedBias(cfg.symBlock()), cfg, dst)
}

// paddedBias is the catalog's biases followed by zeros, long enough for any
// tile of bs columns padded to a multiple of 16.
func (c *Catalog) paddedBias(bs int) []float32 {
	bias := make([]float32, c.Len()+bs+laneGroup)
	copy(bias, c.Bias)
	return bias
}

// pairCounts is PairCounts over the queries of ta and tb.
func (c *Catalog) pairCounts(ta, tb *rankTable, same bool, bias []float32, cfg Config, dst [][]int64) {
	gtA, eqA, gtB, eqB := c.countPairs(ta, tb, same, bias, cfg)
	c.finishRange(ta, tb.lo, tb.hi, gtA, eqA, cfg, dst)
	if !same {
		c.finishRange(tb, ta.lo, ta.hi, gtB, eqB, cfg, dst)
	}
}

// PairCounter runs PairCounts over the blocks of a catalog: block i is the
// queries [i·size, min((i+1)·size, Len())). It prepares the sorted relevant
// scores of a block (their dot products, one small tile per work) the
// first time the block is counted and keeps them, so that scoring a block
// against many others prepares it once: at most the size of the catalog's
// relevant items (a few float32 and int32 per relevant item) for all the
// blocks. Count may be called from several goroutines.
type PairCounter struct {
	c      *Catalog
	size   int
	mu     sync.Mutex
	tables []*rankTable
	bias   []float32 // the catalog's, padded (paddedBias)
}

// NewPairCounter returns a PairCounter over blocks of size queries (> 0).
func (c *Catalog) NewPairCounter(size int) *PairCounter {
	if size <= 0 {
		panic("metrics: NewPairCounter: block size must be positive")
	}
	return &PairCounter{c: c, size: size, tables: make([]*rankTable, (c.Len()+size-1)/size)}
}

// NumBlocks is the number of blocks.
func (p *PairCounter) NumBlocks() int { return len(p.tables) }

// Range is the queries [lo, hi) of block i.
func (p *PairCounter) Range(i int) (lo, hi int) {
	return i * p.size, min(p.c.Len(), (i+1)*p.size)
}

// Count adds PairCounts of blocks a and b (a == b: the block against
// itself) to dst, indexed by catalog position.
func (p *PairCounter) Count(a, b int, cfg Config, dst [][]int64) {
	if a < 0 || b < 0 || a >= len(p.tables) || b >= len(p.tables) || len(dst) != p.c.Len() {
		panic("metrics: PairCounter.Count: bad blocks")
	}
	p.mu.Lock()
	if len(p.bias) < p.c.Len()+cfg.symBlock()+laneGroup {
		p.bias = p.c.paddedBias(cfg.symBlock())
	}
	bias := p.bias
	p.mu.Unlock()
	p.c.pairCounts(p.table(a), p.table(b), a == b, bias, cfg, dst)
}

func (p *PairCounter) table(i int) *rankTable {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tables[i] == nil {
		p.tables[i] = p.c.newRankTable(p.Range(i))
	}
	return p.tables[i]
}

// countPairs counts the tiles of ta's songs × tb's songs (only those on and
// above the diagonal when same) with cfg.Workers goroutines, and returns the
// kernel counters of ta's and tb's queries.
func (c *Catalog) countPairs(ta, tb *rankTable, same bool, bias []float32, cfg Config) (gtA, eqA, gtB, eqB []uint32) {
	bs := cfg.symBlock()
	na, nb := (ta.hi-ta.lo+bs-1)/bs, (tb.hi-tb.lo+bs-1)/bs
	var pairs [][2]int32
	for i := range na {
		j0 := 0
		if same {
			j0 = i
		}
		for j := j0; j < nb; j++ {
			pairs = append(pairs, [2]int32{int32(i), int32(j)})
		}
	}
	if len(bias) < c.Len()+bs+laneGroup {
		bias = c.paddedBias(bs)
	}
	workers := cfg.workers(len(pairs))
	type counters struct{ gtA, eqA, gtB, eqB []uint32 }
	cs := make([]counters, workers)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		cs[w] = counters{make([]uint32, len(ta.thr)), make([]uint32, len(ta.thr)), nil, nil}
		if !same {
			cs[w].gtB, cs[w].eqB = make([]uint32, len(tb.thr)), make([]uint32, len(tb.thr))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var tile []float32
			k := &cs[w]
			for p := int(next.Add(1) - 1); p < len(pairs); p = int(next.Add(1) - 1) {
				i0, j0 := ta.lo+int(pairs[p][0])*bs, tb.lo+int(pairs[p][1])*bs
				i1, j1 := min(ta.hi, i0+bs), min(tb.hi, j0+bs)
				gtB, eqB := k.gtB, k.eqB
				if same {
					gtB, eqB = k.gtA, k.eqA
				}
				tile = c.countTilePair(ta, tb, i0, i1, j0, j1, same && i0 == j0, bias, tile, k.gtA, k.eqA, gtB, eqB)
			}
		}()
	}
	wg.Wait()
	for w := 1; w < workers; w++ {
		addCounters(cs[0].gtA, cs[w].gtA)
		addCounters(cs[0].eqA, cs[w].eqA)
		addCounters(cs[0].gtB, cs[w].gtB)
		addCounters(cs[0].eqB, cs[w].eqB)
	}
	return cs[0].gtA, cs[0].eqA, cs[0].gtB, cs[0].eqB
}

func addCounters(dst, src []uint32) {
	for i, v := range src {
		dst[i] += v
	}
}

// countTilePair counts the tile of rows [i0, i1) (ta's songs) × columns
// [j0, j1) (tb's songs): rows against ta's thresholds and, unless diag,
// columns against tb's. j0 − tb.lo is a multiple of 16; bias is the
// catalog's, padded with zeros past j1 to a multiple of 16. It returns the
// tile buffer for reuse.
func (c *Catalog) countTilePair(ta, tb *rankTable, i0, i1, j0, j1 int, diag bool, bias, tile []float32, gtA, eqA, gtB, eqB []uint32) []float32 {
	tile, w, ld := c.scoreTile(tile, i0, i1, j0, j1)
	for i := i0; i < i1; i++ {
		if m := int(ta.m[i-ta.lo]); m > 0 {
			base := ta.base(i)
			countRow(tile[(i-i0)*ld:(i-i0)*ld+w], bias[j0:j0+w], ta.thr[base:], m, gtA[base:], eqA[base:])
		}
	}
	if diag {
		return tile
	}
	for g := (j0 - tb.lo) / laneGroup; tb.lo+g*laneGroup < j1; g++ {
		off := tb.off[g]
		if kmax := (tb.off[g+1] - off) / laneGroup; kmax > 0 {
			countCol(tile[tb.lo+g*laneGroup-j0:], ld, i1-i0, bias[i0:i1], tb.thr[off:], kmax, gtB[off:], eqB[off:])
		}
	}
	return tile
}

// finishRange turns the kernel counts of t's queries over the catalog songs
// [cLo, cHi) into counts added to dst (by catalog position), recounting
// exactly the queries the kernels cannot place.
func (c *Catalog) finishRange(t *rankTable, cLo, cHi int, gt, eq []uint32, cfg Config, dst [][]int64) {
	exact := append([]int32(nil), t.exact...)
	for q := t.lo; q < t.hi; q++ {
		if t.m[q-t.lo] > 0 && !t.finish(q, cLo, cHi, gt, eq, dst[q]) {
			exact = append(exact, int32(q))
		}
	}
	rows := make([][]int64, len(exact))
	for i, q := range exact {
		rows[i] = dst[q]
	}
	c.countExact(exact, rows, cLo, cHi, cfg)
}
