package reduce

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// PCASolver selects how FitPCA computes the top K eigenpairs of the
// covariance matrix.
type PCASolver string

const (
	// SolverAuto uses SolverFull for small problems (Dim ≤ 128 or K > Dim/2)
	// and SolverSubspace otherwise.
	SolverAuto PCASolver = ""
	// SolverFull decomposes the whole covariance matrix (gonum's EigenSym):
	// O(Dim³), every eigenpair.
	SolverFull PCASolver = "full"
	// SolverSubspace runs subspace iteration with Rayleigh–Ritz on the
	// covariance matrix until every one of the K Ritz pairs has a residual
	// small enough for its eigenvalue and its eigenvector (see the package
	// doc; never above 1e-8·θ₁, never required below SubspaceTol·θ₁), falling
	// back to SolverFull if it does not converge in subspaceMaxIter
	// iterations.
	SolverSubspace PCASolver = "subspace"
)

// SubspaceTol is SolverSubspace's tightest residual tolerance relative to the
// largest eigenvalue, for eigenvectors whose eigenvalue has a close
// neighbour. An eigenvector's error is at most its residual divided by the
// gap to the nearest other eigenvalue.
const SubspaceTol = 1e-10

// PCAConfig configures FitPCA.
type PCAConfig struct {
	// K is the number of components, 1..Dim.
	K int
	// Whiten scales each output to unit variance (sklearn's whiten=True).
	Whiten bool
	// Model is the model id of the embeddings, recorded in the reducer.
	Model string
	// Solver selects the eigensolver (SolverAuto if empty).
	Solver PCASolver
}

// FitPCA fits a PCA reducer to the rows accumulated in m (which it flushes).
// It needs at least 2 rows and, with Whiten, K components of non-zero
// variance. The result is a deterministic function of the rows added, whatever
// their order or the accumulators they went through.
func FitPCA(m *Moments, cfg PCAConfig) (*Reducer, error) {
	if m.Dim == 0 {
		return nil, fmt.Errorf("%w: PCA of no rows", ErrTooFew)
	}
	if cfg.K < 1 || cfg.K > m.Dim {
		return nil, fmt.Errorf("%w: PCA to %d components of %d-dimensional data", ErrDim, cfg.K, m.Dim)
	}
	mean, cov, err := m.Stats()
	if err != nil {
		return nil, err
	}
	d, k := m.Dim, cfg.K
	solver := cfg.Solver
	if solver == SolverAuto {
		solver = SolverSubspace
		if d <= 128 || 2*k > d {
			solver = SolverFull
		}
	}
	var vals, vecs []float64 // k eigenvalues, decreasing; k×d eigenvectors, row-major
	switch solver {
	case SolverFull:
		vals, vecs, err = eigenFull(cov, d, k)
	case SolverSubspace:
		vals, vecs, err = eigenSubspace(cov, d, k)
	default:
		return nil, fmt.Errorf("reduce: unknown PCA solver %q", cfg.Solver)
	}
	if err != nil {
		return nil, err
	}
	total := 0.0
	for i := range d {
		total += cov[i*d+i]
	}
	ev := make([]float64, k)
	evr := make([]float64, k)
	for c := range k {
		ev[c] = max(vals[c], 0)
		if total > 0 {
			evr[c] = ev[c] / total
		}
		row := vecs[c*d : (c+1)*d]
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
	return New(Info{
		Method: PCA, InDim: d, OutDim: k, Model: cfg.Model, FitCount: m.N(), Whiten: cfg.Whiten,
		ExplainedVariance: ev, ExplainedVarianceRatio: evr,
	}, mean, vecs[:k*d])
}

// eigenFull returns the k largest eigenvalues of the d×d symmetric a in
// decreasing order and their eigenvectors as the rows of a k×d matrix.
func eigenFull(a []float64, d, k int) (vals, vecs []float64, err error) {
	var eig mat.EigenSym
	if !eig.Factorize(mat.NewSymDense(d, append([]float64(nil), a...)), true) {
		return nil, nil, ErrConverge
	}
	asc := eig.Values(nil)
	var q mat.Dense
	eig.VectorsTo(&q)
	vals = make([]float64, k)
	vecs = make([]float64, k*d)
	for c := range k {
		vals[c] = asc[d-1-c]
		for r := range d {
			vecs[c*d+r] = q.At(r, d-1-c)
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
