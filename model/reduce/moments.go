package reduce

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// BlockRows is the number of rows Moments buffers before folding them in.
const BlockRows = 64

// Moments accumulates the count, mean and co-moment matrix of vectors: the
// sufficient statistics of PCA. Its fields are exported flat slices so that it
// can travel as a Beam accumulator; treat them as read-only and use the
// methods.
//
// The zero value is an empty accumulator whose dimension is set by the first
// Add.
type Moments struct {
	// Dim is the vector dimension (0 until the first Add or Merge).
	Dim int
	// N is the number of rows folded into Mean and CoMoment.
	N int64
	// Mean is the mean of the N folded rows (Dim values).
	Mean []float64
	// CoMoment is Σ(x−Mean)(x−Mean)ᵀ over the folded rows, upper triangle
	// packed row by row: row i holds columns i..Dim-1 (Dim·(Dim+1)/2 values).
	CoMoment []float64
	// Pending holds rows added but not yet folded in (at most BlockRows rows,
	// row-major).
	Pending []float64
}

// Count returns the number of rows added, folded or pending.
func (m *Moments) Count() int64 {
	if m.Dim == 0 {
		return 0
	}
	return m.N + int64(len(m.Pending)/m.Dim)
}

func (m *Moments) init(dim int) {
	m.Dim = dim
	m.Mean = make([]float64, dim)
	m.CoMoment = make([]float64, dim*(dim+1)/2)
	m.Pending = make([]float64, 0, BlockRows*dim)
}

// Add adds one row. It returns an error wrapping ErrDim if the row's length
// differs from earlier rows, or ErrNotFinite if it holds NaN or ±Inf.
func (m *Moments) Add(x []float32) error {
	if len(x) == 0 {
		return fmt.Errorf("%w: empty vector", ErrDim)
	}
	if m.Dim == 0 {
		if len(x)*(len(x)+1)/2 > MaxElements {
			return fmt.Errorf("%w: dimension %d too large for a co-moment matrix", ErrDim, len(x))
		}
		m.init(len(x))
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
		m.Pending = make([]float64, 0, BlockRows*m.Dim)
	}
	for _, v := range x {
		m.Pending = append(m.Pending, float64(v))
	}
	if len(m.Pending) >= BlockRows*m.Dim {
		m.Flush()
	}
	return nil
}

// Flush folds the pending rows into N, Mean and CoMoment.
func (m *Moments) Flush() {
	if m.Dim == 0 || len(m.Pending) == 0 {
		return
	}
	d := m.Dim
	nb := len(m.Pending) / d
	block := m.Pending[:nb*d]
	// Block mean, then centre the block on it.
	mb := make([]float64, d)
	for r := range nb {
		floats.Add(mb, block[r*d:(r+1)*d])
	}
	floats.Scale(1/float64(nb), mb)
	for r := range nb {
		floats.Sub(block[r*d:(r+1)*d], mb)
	}
	m.Pending = m.Pending[:0]
	// Chan et al. with the block's co-moment added in place:
	// M += Xcᵀ·Xc + δδᵀ·na·nb/n, δ = mb − mean.
	na, n := m.N, m.N+int64(nb)
	delta := make([]float64, d)
	floats.SubTo(delta, mb, m.Mean)
	syrkPacked(m.CoMoment, block, nb, d)
	if na > 0 {
		f := float64(na) * float64(nb) / float64(n)
		k := 0
		for i := range d {
			floats.AddScaled(m.CoMoment[k:k+d-i], f*delta[i], delta[i:])
			k += d - i
		}
	}
	floats.AddScaled(m.Mean, float64(nb)/float64(n), delta)
	m.N = n
}

// mergeParts merges (nb, mb, cb) into m with Chan et al.'s update:
// M = Ma + Mb + δδᵀ·na·nb/n with δ = mb − ma.
func (m *Moments) mergeParts(nb int64, mb, cb []float64) {
	if nb == 0 {
		return
	}
	na := m.N
	if na == 0 {
		copy(m.Mean, mb)
		copy(m.CoMoment, cb)
		m.N = nb
		return
	}
	n := na + nb
	d := m.Dim
	delta := make([]float64, d)
	floats.SubTo(delta, mb, m.Mean)
	f := float64(na) * float64(nb) / float64(n)
	k := 0
	for i := range d {
		row := m.CoMoment[k : k+d-i]
		floats.Add(row, cb[k:k+d-i])
		floats.AddScaled(row, f*delta[i], delta[i:])
		k += d - i
	}
	floats.AddScaled(m.Mean, float64(nb)/float64(n), delta)
	m.N = n
}

// Merge adds the rows of o to m. o is flushed (its pending rows folded in)
// but otherwise unchanged. It returns an error wrapping ErrDim if the two
// dimensions differ.
func (m *Moments) Merge(o *Moments) error {
	if o.Dim == 0 {
		return nil
	}
	if m.Dim == 0 {
		m.init(o.Dim)
	}
	if o.Dim != m.Dim {
		return fmt.Errorf("%w: merging moments of dimension %d into %d", ErrDim, o.Dim, m.Dim)
	}
	m.Flush()
	o.Flush()
	m.mergeParts(o.N, o.Mean, o.CoMoment)
	return nil
}

// Covariance returns the covariance matrix (ddof=1) of the rows added. It
// flushes m and needs at least 2 rows.
func (m *Moments) Covariance() (*mat.SymDense, error) {
	m.Flush()
	if m.N < 2 {
		return nil, fmt.Errorf("%w: covariance of %d rows", ErrTooFew, m.N)
	}
	d := m.Dim
	full := make([]float64, d*d)
	s := 1 / float64(m.N-1)
	k := 0
	for i := range d {
		for j := i; j < d; j++ {
			full[i*d+j] = m.CoMoment[k] * s
			k++
		}
	}
	return mat.NewSymDense(d, full), nil
}

// syrkPacked adds xᵀx to the packed upper triangle c for the n×d row-major x.
// Rows of c are split between goroutines, balanced by work.
func syrkPacked(c, x []float64, n, d int) {
	workers := min(runtime.GOMAXPROCS(0), 4)
	if d < 128 || workers < 2 {
		syrkRows(c, x, n, d, 0, d)
		return
	}
	// Row i costs d−i; cut rows so each worker gets about the same area.
	total := float64(d) * float64(d+1) / 2
	var wg sync.WaitGroup
	lo := 0
	for w := 1; w <= workers; w++ {
		hi := d
		if w < workers {
			// Rows [0,hi) cover total·w/workers: d·hi − hi²/2 ≈ target.
			target := total * float64(w) / float64(workers)
			hi = int(float64(d) - math.Sqrt(float64(d)*float64(d)-2*target))
			hi = max(lo, min(d, hi))
		}
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			syrkRows(c, x, n, d, lo, hi)
		}(lo, hi)
		lo = hi
	}
	wg.Wait()
}

// syrkRows adds rows lo..hi-1 of the packed upper triangle of xᵀx to c.
func syrkRows(c, x []float64, n, d, lo, hi int) {
	k := lo*d - lo*(lo-1)/2
	for i := lo; i < hi; i++ {
		row := c[k : k+d-i]
		for r := range n {
			xr := x[r*d : (r+1)*d]
			if a := xr[i]; a != 0 {
				floats.AddScaled(row, a, xr[i:])
			}
		}
		k += d - i
	}
}
