package reduce

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// ICAConfig configures FitICA. Zero MaxIter and Tol take sklearn's defaults.
type ICAConfig struct {
	// K is the number of components, 1..min(n, d).
	K int
	// MaxIter bounds the fixed-point iterations (default 200).
	MaxIter int
	// Tol is the convergence tolerance on max |1 − |⟨w_new, w_old⟩|| (default 1e-4).
	Tol float64
	// Seed seeds the initial matrix when WInit is nil.
	Seed uint64
	// WInit is the K×K initial unmixing matrix, row-major (sklearn's w_init);
	// nil draws it from N(0, 1) with Seed.
	WInit []float64
	// Model is the model id of the embeddings, recorded in the reducer.
	Model string
}

// FitICA fits FastICA (parallel, logcosh, unit-variance whitening) to the n×d
// row-major sample x. Not converging within MaxIter is not an error: the
// reducer's Info reports Iterations and Converged, as sklearn warns.
func FitICA(x []float64, n, d int, cfg ICAConfig) (*Reducer, error) {
	k, maxIter, tol, winit, err := icaSettings(x, n, d, cfg)
	if err != nil {
		return nil, err
	}
	mean, xcM, kw, x1, err := icaWhiten(x, n, d, k)
	if err != nil {
		return nil, err
	}
	w, iters, converged := icaParallel(x1, winit, k, n, maxIter, tol)
	comp, err := icaComponents(w, kw, xcM, k, n)
	if err != nil {
		return nil, err
	}
	return New(Info{
		Method: ICA, InDim: d, OutDim: k, Model: cfg.Model, Seed: cfg.Seed, FitCount: int64(n),
		Whiten: true, Iterations: iters, Converged: converged,
	}, mean, comp.RawMatrix().Data)
}

// icaSettings checks FitICA's arguments and resolves its defaults: the
// number of components, max_iter, tol and the initial unmixing matrix.
func icaSettings(x []float64, n, d int, cfg ICAConfig) (k, maxIter int, tol float64, winit []float64, err error) {
	if d < 1 || len(x) != n*d {
		return 0, 0, 0, nil, fmt.Errorf("%w: sample has %d values, want %d×%d", ErrDim, len(x), n, d)
	}
	if n < 2 {
		return 0, 0, 0, nil, fmt.Errorf("%w: ICA of %d rows", ErrTooFew, n)
	}
	k = cfg.K
	if k < 1 || k > min(n, d) {
		return 0, 0, 0, nil, fmt.Errorf("%w: ICA to %d components of %d rows of dimension %d", ErrDim, k, n, d)
	}
	if !allFinite(x) {
		return 0, 0, 0, nil, fmt.Errorf("%w: in the ICA sample", ErrNotFinite)
	}
	maxIter, tol = cfg.MaxIter, cfg.Tol
	if maxIter == 0 {
		maxIter = 200
	}
	if tol == 0 {
		tol = 1e-4
	}
	if maxIter < 1 || !(tol > 0) {
		return 0, 0, 0, nil, fmt.Errorf("reduce: ICA max_iter %d and tol %g must be positive", maxIter, tol)
	}
	winit = cfg.WInit
	if winit == nil {
		rng := rand.New(rand.NewPCG(cfg.Seed, seedStream))
		winit = make([]float64, k*k)
		for i := range winit {
			winit[i] = rng.NormFloat64()
		}
	} else if len(winit) != k*k {
		return 0, 0, 0, nil, fmt.Errorf("%w: w_init has %d values, want %d×%d", ErrDim, len(winit), k, k)
	}
	return k, maxIter, tol, winit, nil
}

// icaWhiten centres x and whitens it with the top k eigenvectors of XcᵀXc
// (the left singular vectors of sklearn's XT), signed so their first entry is
// positive. It returns the mean, the centred rows, the whitening matrix K
// (k×d) and X1 = K·Xcᵀ·√n (k×n).
func icaWhiten(x []float64, n, d, k int) (mean []float64, xcM, kw, x1 *mat.Dense, err error) {
	xc := make([]float64, n*d)
	mean = make([]float64, d)
	for r := range n {
		for j := range d {
			mean[j] += x[r*d+j]
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	for r := range n {
		for j := range d {
			xc[r*d+j] = x[r*d+j] - mean[j]
		}
	}
	xcM = mat.NewDense(n, d, xc)
	var gram mat.SymDense
	gram.SymOuterK(1, xcM.T())
	vals, vecs, err := eigenDesc(&gram)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	// K = (u/sv).T[:k]; sv = sqrt(eigenvalue of XcᵀXc).
	kw = mat.NewDense(k, d, nil)
	for c := range k {
		if !(vals[c] > 0) {
			return nil, nil, nil, nil, fmt.Errorf("%w: ICA whitening: component %d has zero variance", ErrDegenerate, c)
		}
		sv := math.Sqrt(vals[c])
		sign := 1.0
		if vecs.At(0, c) < 0 {
			sign = -1
		} else if vecs.At(0, c) == 0 {
			sign = 0 // np.sign(0) == 0, as sklearn
		}
		for j := range d {
			kw.Set(c, j, sign*vecs.At(j, c)/sv)
		}
	}
	x1 = mat.NewDense(k, n, nil)
	x1.Mul(kw, xcM.T())
	x1.Scale(math.Sqrt(float64(n)), x1)
	return mean, xcM, kw, x1, nil
}

// icaParallel runs sklearn's parallel FastICA (logcosh, alpha 1) on the
// whitened X1 (k×n) from winit, returning W, the iterations run and whether
// the change fell below tol.
func icaParallel(x1 *mat.Dense, winit []float64, k, n, maxIter int, tol float64) (w *mat.Dense, iters int, converged bool) {
	w = symDecorrelation(mat.NewDense(k, k, append([]float64(nil), winit...)))
	wx := mat.NewDense(k, n, nil)
	gx := make([]float64, k)
	a := mat.NewDense(k, k, nil)
	for iters < maxIter {
		iters++
		wx.Mul(w, x1)
		raw := wx.RawMatrix()
		for i := range k {
			row := raw.Data[i*raw.Stride : i*raw.Stride+n]
			s := 0.0
			for t, v := range row {
				th := math.Tanh(v)
				row[t] = th
				s += 1 - th*th
			}
			gx[i] = s / float64(n)
		}
		a.Mul(wx, x1.T())
		for i := range k {
			for j := range k {
				a.Set(i, j, a.At(i, j)/float64(n)-gx[i]*w.At(i, j))
			}
		}
		w1 := symDecorrelation(a)
		lim := 0.0
		for i := range k {
			dot := 0.0
			for j := range k {
				dot += w1.At(i, j) * w.At(i, j)
			}
			lim = max(lim, math.Abs(math.Abs(dot)-1))
		}
		w = w1
		if lim < tol {
			return w, iters, true
		}
	}
	return w, iters, false
}

// icaComponents returns W·K scaled so that each source has unit (ddof=0)
// variance over the centred rows.
func icaComponents(w, kw, xcM *mat.Dense, k, n int) (*mat.Dense, error) {
	_, d := kw.Dims()
	comp := mat.NewDense(k, d, nil)
	comp.Mul(w, kw)
	src := mat.NewDense(k, n, nil)
	src.Mul(comp, xcM.T())
	for i := range k {
		row := src.RawRowView(i)
		mu := 0.0
		for _, v := range row {
			mu += v
		}
		mu /= float64(n)
		ss := 0.0
		for _, v := range row {
			ss += (v - mu) * (v - mu)
		}
		std := math.Sqrt(ss / float64(n))
		if !(std > 0) {
			return nil, fmt.Errorf("%w: ICA source %d has zero variance", ErrDegenerate, i)
		}
		cr := comp.RawRowView(i)
		for j := range cr {
			cr[j] /= std
		}
	}
	return comp, nil
}

// seedStream is the second PCG word for vindex's seeded generators.
const seedStream = 0x76696e646578 // "vindex"

// symDecorrelation returns (W·Wᵀ)^(-1/2)·W, as sklearn's _sym_decorrelation.
func symDecorrelation(w *mat.Dense) *mat.Dense {
	k, _ := w.Dims()
	var wwt mat.SymDense
	wwt.SymOuterK(1, w)
	var eig mat.EigenSym
	if !eig.Factorize(&wwt, true) {
		// W·Wᵀ is symmetric positive semi-definite; gonum's QL iteration
		// converges for such matrices, so this is a programming error.
		panic("reduce: eigendecomposition of W·Wᵀ failed")
	}
	s := eig.Values(nil)
	var u mat.Dense
	eig.VectorsTo(&u)
	us := mat.NewDense(k, k, nil)
	for c := range k {
		f := 1 / math.Sqrt(max(s[c], tinyFloat64))
		for r := range k {
			us.Set(r, c, u.At(r, c)*f)
		}
	}
	var t, out mat.Dense
	t.Mul(us, u.T())
	out.Mul(&t, w)
	return &out
}

// tinyFloat64 is numpy's finfo(float64).tiny: the smallest normal float64.
const tinyFloat64 = 2.2250738585072014e-308
