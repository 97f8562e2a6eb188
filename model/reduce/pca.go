package reduce

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// PCAConfig configures FitPCA.
type PCAConfig struct {
	// K is the number of components, 1..Dim.
	K int
	// Whiten scales each output to unit variance (sklearn's whiten=True).
	Whiten bool
	// Model is the model id of the embeddings, recorded in the reducer.
	Model string
}

// FitPCA fits a PCA reducer to the rows accumulated in m (which it flushes).
// It needs at least 2 rows and, with Whiten, K components of non-zero
// variance.
func FitPCA(m *Moments, cfg PCAConfig) (*Reducer, error) {
	if m.Dim == 0 {
		return nil, fmt.Errorf("%w: PCA of no rows", ErrTooFew)
	}
	if cfg.K < 1 || cfg.K > m.Dim {
		return nil, fmt.Errorf("%w: PCA to %d components of %d-dimensional data", ErrDim, cfg.K, m.Dim)
	}
	cov, err := m.Covariance()
	if err != nil {
		return nil, err
	}
	vals, vecs, err := eigenDesc(cov)
	if err != nil {
		return nil, err
	}
	d, k := m.Dim, cfg.K
	total := 0.0
	for i := range d {
		total += cov.At(i, i)
	}
	ev := make([]float64, k)
	evr := make([]float64, k)
	matrix := make([]float64, k*d)
	for c := range k {
		ev[c] = max(vals[c], 0)
		if total > 0 {
			evr[c] = ev[c] / total
		}
		row := matrix[c*d : (c+1)*d]
		for j := range d {
			row[j] = vecs.At(j, c)
		}
		flipLargest(row)
		if cfg.Whiten {
			if ev[c] <= 0 {
				return nil, fmt.Errorf("%w: cannot whiten component %d of zero variance", ErrDegenerate, c)
			}
			s := 1 / math.Sqrt(ev[c])
			for j := range row {
				row[j] *= s
			}
		}
	}
	mean := append([]float64(nil), m.Mean...)
	return New(Info{
		Method: PCA, InDim: d, OutDim: k, Model: cfg.Model, FitCount: m.N, Whiten: cfg.Whiten,
		ExplainedVariance: ev, ExplainedVarianceRatio: evr,
	}, mean, matrix)
}

// eigenDesc returns the eigenvalues of a in decreasing order and the
// eigenvectors as the columns of vecs, in the same order.
func eigenDesc(a mat.Symmetric) (vals []float64, vecs *mat.Dense, err error) {
	var eig mat.EigenSym
	if !eig.Factorize(a, true) {
		return nil, nil, ErrConverge
	}
	asc := eig.Values(nil)
	var q mat.Dense
	eig.VectorsTo(&q)
	n := len(asc)
	vals = make([]float64, n)
	vecs = mat.NewDense(n, n, nil)
	for c := range n {
		vals[c] = asc[n-1-c]
		for r := range n {
			vecs.Set(r, c, q.At(r, n-1-c))
		}
	}
	return vals, vecs, nil
}

// flipLargest negates v unless its largest-magnitude entry (the first of
// equal ones) is positive.
func flipLargest(v []float64) {
	best, at := -1.0, 0
	for i, x := range v {
		if a := math.Abs(x); a > best {
			best, at = a, i
		}
	}
	if v[at] < 0 {
		for i := range v {
			v[i] = -v[i]
		}
	}
}
