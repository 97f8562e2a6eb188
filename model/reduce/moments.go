package reduce

import (
	"fmt"
	"math"
	"slices"
	"sync"

	"gonum.org/v1/gonum/mat"
)

// BlockRows is the number of rows Moments buffers before folding them in.
const BlockRows = 1024

// quantBits is the number of significant bits a row keeps when it is
// quantised: one more than float32 gives its largest entry, so every entry
// within a factor 2 of the largest is kept exactly.
const quantBits = 25

// A chunk of quantised rows keeps Σq² of every column ≤ the kernel set's
// bound (syrkKernels.bound: 2^53, or 2^51 for AVX2, whose conversion to
// int64 is one addition), so that by Cauchy–Schwarz every partial sum of
// Σ q_i·q_j in the chunk is an integer float64 computes exactly, in any
// order. The chunks differ between kernel sets; the sums do not.

// Moments accumulates the count, sum and sum of outer products of float32
// vectors: the sufficient statistics of PCA. Its fields are exported flat
// slices so that it can travel as a Beam accumulator; treat them as read-only
// and use the methods.
//
// The accumulation is exact, hence independent of the order rows are added
// and accumulators merged (bit for bit): each row x is quantised to integers
// q = round(x·2^(quantBits−e)), where 2^(e−1) ≤ max|x| < 2^e, which keeps
// every bit of the entries at least half as large as the row's largest and
// rounds smaller ones to a multiple of 2^(e−25) (an error of at most 2^-25 of
// the row's largest magnitude, below float32's own rounding of it); rows are binned
// by e and each bin holds the integer sums Σq and Σqqᵀ. The co-moment matrix
// is computed from these in double-double arithmetic at the end, so a mean
// large compared with the spread costs no accuracy.
//
// The zero value is an empty accumulator whose dimension is set by the first
// Add.
type Moments struct {
	// Dim is the vector dimension (0 until the first Add or Merge).
	Dim int
	// Pending holds rows added but not yet folded into the bins (at most
	// BlockRows rows, row-major).
	Pending []float32
	// Exp holds each bin's exponent e, increasing.
	Exp []int64
	// Count holds each bin's number of rows.
	Count []int64
	// Sum holds each bin's Σq (Dim values per bin).
	Sum []int64
	// Lo and Hi hold each bin's Σqqᵀ, upper triangle packed row by row
	// (Dim·(Dim+1)/2 values per bin), as Hi·2^32 + Lo. Hi is empty until a
	// carry is needed.
	Lo, Hi []int64
	// Adds holds, per bin, the number of chunks added to Lo since it was
	// last normalised to [0, 2^32): |Lo| ≤ 2^32 + Adds·2^51 < 2^63.
	Adds []int64

	scratch *flushScratch // Flush's buffers, kept between flushes
}

// packRows is the number of rows Flush quantises before packing them.
const packRows = 16

// flushScratch holds Flush's buffers.
type flushScratch struct {
	part [2]quantPart
	cuts []int
	tile syrkScratch
}

// quantPart holds one goroutine's buffers for quantising a share of a bin's
// rows: rows in packRows blocks, column sums of squares, chunk cuts and the
// share's Σq.
type quantPart struct {
	chunk, colSq []float64
	cuts         []int
	sum          []int64
}

// N returns the number of rows folded into the bins.
func (m *Moments) N() int64 {
	var n int64
	for _, c := range m.Count {
		n += c
	}
	return n
}

// Rows returns the number of rows added, folded or pending.
func (m *Moments) Rows() int64 {
	if m.Dim == 0 {
		return 0
	}
	return m.N() + int64(len(m.Pending)/m.Dim)
}

func packedLen(d int) int { return d * (d + 1) / 2 }

// Add adds one row. It returns an error wrapping ErrDim if the row's length
// differs from earlier rows, or ErrNotFinite if it holds NaN or ±Inf.
func (m *Moments) Add(x []float32) error {
	if len(x) == 0 {
		return fmt.Errorf("%w: empty vector", ErrDim)
	}
	if m.Dim == 0 {
		if packedLen(len(x)) > MaxElements {
			return fmt.Errorf("%w: dimension %d too large for a co-moment matrix", ErrDim, len(x))
		}
		m.Dim = len(x)
	}
	if len(x) != m.Dim {
		return fmt.Errorf("%w: vector has %d values, earlier ones %d", ErrDim, len(x), m.Dim)
	}
	for _, v := range x {
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("%w: in a vector", ErrNotFinite)
		}
	}
	if m.Pending == nil {
		m.Pending = make([]float32, 0, BlockRows*m.Dim)
	}
	m.Pending = append(m.Pending, x...)
	if len(m.Pending) >= BlockRows*m.Dim {
		m.fold(BlockRows / 4)
	}
	return nil
}

// rowExp returns e with 2^(e−1) ≤ max|x| < 2^e (0 for a zero row).
func rowExp(x []float32) int {
	var mx float32
	for _, v := range x {
		mx = max(mx, float32(math.Abs(float64(v))))
	}
	_, e := math.Frexp(float64(mx))
	return e
}

// bin returns the index of the bin of exponent e, creating it if needed.
func (m *Moments) bin(e int) int {
	i, found := slices.BinarySearch(m.Exp, int64(e))
	if found {
		return i
	}
	d, p := m.Dim, packedLen(m.Dim)
	m.Exp = slices.Insert(m.Exp, i, int64(e))
	m.Count = slices.Insert(m.Count, i, 0)
	m.Sum = slices.Insert(m.Sum, i*d, make([]int64, d)...)
	m.Lo = slices.Insert(m.Lo, i*p, make([]int64, p)...)
	if len(m.Hi) > 0 {
		m.Hi = slices.Insert(m.Hi, i*p, make([]int64, p)...)
	}
	m.Adds = slices.Insert(m.Adds, i, 0)
	return i
}

// Flush folds the pending rows into the bins.
func (m *Moments) Flush() { m.fold(0) }

// fold folds the pending rows into the bins. With minRows > 0 (Add's
// flushes), rows whose exponent fewer than minRows pending rows share stay
// pending, as long as they are fewer than BlockRows/2 in all: folding a few
// rows into a bin costs a pass over its whole triangle (16 MB at d = 2048),
// so a rare exponent waits until it has company. The sums are exact, so
// when a row is folded does not change them.
func (m *Moments) fold(minRows int) {
	if m.Dim == 0 || len(m.Pending) == 0 {
		return
	}
	d := m.Dim
	rows := len(m.Pending) / d
	exps := m.rowExps(rows)
	order := make([]int, rows)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return exps[a] - exps[b] })
	// Groups of rows of one exponent: order[ends[g-1]:ends[g]].
	var ends []int
	kept := 0
	for lo := 0; lo < rows; {
		hi := lo
		for hi < rows && exps[order[hi]] == exps[order[lo]] {
			hi++
		}
		ends = append(ends, hi)
		if hi-lo < minRows {
			kept += hi - lo
		}
		lo = hi
	}
	if kept >= BlockRows/2 {
		minRows = 0
	}
	if m.scratch == nil {
		m.scratch = &flushScratch{}
	}
	tile := &m.scratch.tile
	// Room for every pending row, so the panels are not reallocated when
	// the bins' shares vary between flushes.
	tile.pa = grow(tile.pa, (d+syrkMR-1)/syrkMR*syrkMR*rows)
	tile.pb = grow(tile.pb, (d+syrkK.nr-1)/syrkK.nr*syrkK.nr*rows)
	var keep []int
	lo := 0
	for _, hi := range ends {
		if hi-lo < minRows {
			keep = append(keep, order[lo:hi]...)
		} else {
			m.foldBin(exps[order[lo]], order[lo:hi])
		}
		lo = hi
	}
	// Move the rows kept to the front, in their order of arrival.
	slices.Sort(keep)
	for i, r := range keep {
		copy(m.Pending[i*d:(i+1)*d], m.Pending[r*d:(r+1)*d])
	}
	m.Pending = m.Pending[:len(keep)*d]
}

// rowExps returns the exponent of each of the first rows pending rows
// (rowExp), computed on two goroutines.
func (m *Moments) rowExps(rows int) []int {
	d := m.Dim
	exps := make([]int, rows)
	expsOf := func(r0, r1 int) {
		for r := r0; r < r1; r++ {
			exps[r] = rowExp(m.Pending[r*d : (r+1)*d])
		}
	}
	if rows*d < 1<<16 {
		expsOf(0, rows)
		return exps
	}
	half := rows / 2
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		expsOf(half, rows)
	}()
	expsOf(0, half)
	wg.Wait()
	return exps
}

// foldBin folds the pending rows rs, all of exponent e, into e's bin.
func (m *Moments) foldBin(e int, rs []int) {
	d := m.Dim
	sc := m.scratch
	tile := &sc.tile
	nr := syrkK.nr
	b := m.bin(e)
	n := len(rs)
	tile.pa = grow(tile.pa, (d+syrkMR-1)/syrkMR*syrkMR*n)
	tile.pb = grow(tile.pb, (d+nr-1)/nr*nr*n)
	// Two goroutines quantise and pack half the rows each, with their own
	// chunks (a cut between the halves costs one conversion; the integer
	// sums are the same for any cuts).
	mid := n / 2
	if n*d < 1<<16 {
		mid = n
	}
	var wg sync.WaitGroup
	if mid < n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.quantiseRows(&sc.part[1], rs[mid:], e, tile, n, mid)
		}()
	}
	m.quantiseRows(&sc.part[0], rs[:mid], e, tile, n, 0)
	wg.Wait()
	cuts := append(sc.cuts[:0], sc.part[0].cuts...)
	sum := m.Sum[b*d : (b+1)*d]
	addInts(sum, sc.part[0].sum)
	if mid < n {
		cuts = append(cuts, sc.part[1].cuts...)
		addInts(sum, sc.part[1].sum)
	}
	sc.cuts = cuts
	m.reserve(b, int64(len(cuts)))
	syrkExact(m.Lo[b*packedLen(d):(b+1)*packedLen(d)], cuts, d, tile)
	m.Count[b] += int64(n)
}

// quantiseRows quantises the pending rows rs (of exponent e) into rows
// r0.. of the n-row panels in tile, packRows rows at a time through p.chunk
// (in L2). It sets p.sum to their Σq and p.cuts to the ends of chunks whose
// column sums of squares stay ≤ syrkK.bound, as row indices of the panels
// (the last is r0+len(rs)).
func (m *Moments) quantiseRows(p *quantPart, rs []int, e int, tile *syrkScratch, n, r0 int) {
	d := m.Dim
	p.chunk = grow(p.chunk, packRows*d)
	p.colSq = grow(p.colSq, d)
	clear(p.colSq)
	if cap(p.sum) < d {
		p.sum = make([]int64, d)
	}
	p.sum = p.sum[:d]
	clear(p.sum)
	p.cuts = p.cuts[:0]
	bound, nr := syrkK.bound, syrkK.nr
	colSq, sum := p.colSq, p.sum
	for b0 := 0; b0 < len(rs); b0 += packRows {
		b1 := min(len(rs), b0+packRows)
		for i, r := range rs[b0:b1] {
			row := quantise(m.Pending[r*d:(r+1)*d], e, p.chunk[i*d:(i+1)*d])
			over := false
			for j, q := range row {
				if colSq[j]+q*q > bound {
					over = true
				}
			}
			if over {
				p.cuts = append(p.cuts, r0+b0+i)
				clear(colSq)
			}
			for j, q := range row {
				colSq[j] += q * q
				sum[j] += int64(q)
			}
		}
		blk := p.chunk[:(b1-b0)*d]
		packPanelsInto(tile.pa, blk, n, r0+b0, b1-b0, d, syrkMR)
		packPanelsInto(tile.pb, blk, n, r0+b0, b1-b0, d, nr)
	}
	p.cuts = append(p.cuts, r0+len(rs))
}

// quantise writes round(x·2^(quantBits−e)) to dst and returns it.
func quantise(x []float32, e int, dst []float64) []float64 {
	s := math.Ldexp(1, quantBits-e)
	for j, v := range x {
		dst[j] = math.RoundToEven(float64(v) * s)
	}
	return dst
}

// maxAdds bounds Adds: 2^11·2^51 + 2^32 < 2^63. Only tests change it (to
// force carries).
var maxAdds int64 = 1 << 11

// reserve makes room in bin b's Lo for adds more chunks, carrying into Hi
// first if needed.
func (m *Moments) reserve(b int, adds int64) {
	if m.Adds[b]+adds > maxAdds {
		m.carry(b)
	}
	m.Adds[b] += adds
}

// carry normalises bin b's packed sums to Hi·2^32 + Lo with 0 ≤ Lo < 2^32.
func (m *Moments) carry(b int) {
	p := packedLen(m.Dim)
	if len(m.Hi) == 0 {
		m.Hi = make([]int64, len(m.Lo))
	}
	lo, hi := m.Lo[b*p:(b+1)*p], m.Hi[b*p:(b+1)*p]
	for k, v := range lo {
		hi[k] += v >> 32
		lo[k] = v & (1<<32 - 1)
	}
	m.Adds[b] = 0
}

// Merge adds the rows of o to m. o is flushed (its pending rows folded in)
// but otherwise unchanged. It returns an error wrapping ErrDim if the two
// dimensions differ. The result does not depend on the order of merges.
func (m *Moments) Merge(o *Moments) error {
	if o.Dim == 0 {
		return nil
	}
	if m.Dim == 0 {
		m.Dim = o.Dim
	}
	if o.Dim != m.Dim {
		return fmt.Errorf("%w: merging moments of dimension %d into %d", ErrDim, o.Dim, m.Dim)
	}
	o.Flush()
	d, p := m.Dim, packedLen(m.Dim)
	for ob, e := range o.Exp {
		b := m.bin(int(e))
		m.Count[b] += o.Count[ob]
		addInts(m.Sum[b*d:(b+1)*d], o.Sum[ob*d:(ob+1)*d])
		if m.Adds[b]+o.Adds[ob] > maxAdds {
			m.carry(b)
			if m.Adds[b]+o.Adds[ob] > maxAdds {
				o.carry(ob) // exact: o's value is unchanged
			}
		}
		m.Adds[b] += o.Adds[ob]
		addInts(m.Lo[b*p:(b+1)*p], o.Lo[ob*p:(ob+1)*p])
		if len(o.Hi) > 0 {
			if len(m.Hi) == 0 {
				m.Hi = make([]int64, len(m.Lo))
			}
			addInts(m.Hi[b*p:(b+1)*p], o.Hi[ob*p:(ob+1)*p])
		}
	}
	if len(m.Pending)+len(o.Pending) > BlockRows*d {
		m.Flush()
	}
	m.Pending = append(m.Pending, o.Pending...)
	return nil
}

func addInts(dst, src []int64) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] += src[i]
	}
}

// Stats flushes m and returns the mean and the covariance matrix (ddof=1,
// full d×d, row-major) of the rows added. It needs at least 2 rows. The
// result is a deterministic function of the multiset of rows added.
func (m *Moments) Stats() (mean, cov []float64, err error) {
	m.Flush()
	n := m.N()
	if n < 2 {
		return nil, nil, fmt.Errorf("%w: covariance of %d rows", ErrTooFew, n)
	}
	d := m.Dim
	fn := float64(n)
	// Σx per column, in double-double, bins in increasing exponent.
	s1 := make([]dd, d)
	for b, e := range m.Exp {
		sc := math.Ldexp(1, int(e)-quantBits)
		for j, v := range m.Sum[b*d : (b+1)*d] {
			s1[j] = s1[j].add(ddInt(v).scale(sc))
		}
	}
	mean = make([]float64, d)
	for j := range mean {
		mean[j] = s1[j].div(fn).float()
	}
	cov = make([]float64, d*d)
	// Rows of the triangle split in two halves of equal work: row i has
	// d−i entries, so the first d·(1−1/√2) rows hold half.
	split := int(float64(d) * (1 - math.Sqrt2/2))
	if d < 256 {
		split = d
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		m.covRows(cov, s1, split, d)
	}()
	m.covRows(cov, s1, 0, split)
	wg.Wait()
	return mean, cov, nil
}

// covRows sets rows i0..i1 of the covariance (and their mirror) from the
// bins' sums, given the column sums s1.
func (m *Moments) covRows(cov []float64, s1 []dd, i0, i1 int) {
	d, p := m.Dim, packedLen(m.Dim)
	fn := float64(m.N())
	for i := i0; i < i1; i++ {
		k := i*d - i*(i-1)/2 // packed index of (i, i)
		for j := i; j < d; j++ {
			var s2 dd
			for b, e := range m.Exp {
				sc := math.Ldexp(1, 2*(int(e)-quantBits))
				v := ddInt(m.Lo[b*p+k])
				if len(m.Hi) > 0 {
					v = v.add(dd{float64(m.Hi[b*p+k]) * (1 << 32), 0})
				}
				v = v.scale(sc)
				s2 = s2.add(v)
			}
			c := s2.sub(s1[i].mul(s1[j]).div(fn)).div(fn - 1).float()
			cov[i*d+j], cov[j*d+i] = c, c
			k++
		}
	}
}

// dd is a double-double number hi + lo, |lo| ≤ ulp(hi)/2.
type dd struct{ hi, lo float64 }

func twoSum(a, b float64) (s, e float64) {
	s = a + b
	bb := s - a
	return s, (a - (s - bb)) + (b - bb)
}

func fastTwoSum(a, b float64) dd {
	s := a + b
	return dd{s, b - (s - a)}
}

// ddInt returns v exactly (|v| < 2^63).
func ddInt(v int64) dd {
	h := float64(v)
	return fastTwoSum(h, float64(v-int64(h)))
}

func (a dd) scale(s float64) dd { return dd{a.hi * s, a.lo * s} }

func (a dd) add(b dd) dd {
	s, e := twoSum(a.hi, b.hi)
	return fastTwoSum(s, e+a.lo+b.lo)
}

func (a dd) sub(b dd) dd { return a.add(dd{-b.hi, -b.lo}) }

func (a dd) mul(b dd) dd {
	p := a.hi * b.hi
	e := math.FMA(a.hi, b.hi, -p)
	return fastTwoSum(p, e+a.hi*b.lo+a.lo*b.hi)
}

func (a dd) div(b float64) dd {
	q := a.hi / b
	p := q * b
	e := math.FMA(q, b, -p)
	r := (a.hi - p - e + a.lo) / b
	return fastTwoSum(q, r)
}

func (a dd) float() float64 { return a.hi + a.lo }

// Covariance returns the covariance matrix (ddof=1) of the rows added (see
// Stats).
func (m *Moments) Covariance() (*mat.SymDense, error) {
	_, cov, err := m.Stats()
	if err != nil {
		return nil, err
	}
	return mat.NewSymDense(m.Dim, cov), nil
}
