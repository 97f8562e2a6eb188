package reduce

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/lapack/gonum"
)

// topEigenSym returns the eigenvalues of the l×l symmetric t (row-major,
// both triangles; overwritten) in decreasing order, and the eigenvectors of
// the k largest as the columns of the l×k row-major w. It computes what the
// Rayleigh–Ritz step needs and no more: Householder tridiagonalisation
// (Dsytrd), every eigenvalue of the tridiagonal by Pal–Walker–Kahan QR
// (Dsterf, no vectors), the k vectors by inverse iteration on the
// tridiagonal, made orthonormal by a Cholesky QR, and transformed back by
// the Householder reflectors (Dorgtr, then one product). Dsyev instead
// accumulates every rotation of its QR sweeps into all l vectors, which on
// bench/pca (l = 528) cost three times as much. ok is false if a step fails
// or a vector's residual ‖Tw − λw‖ exceeds 1e-9·‖T‖ (then the caller uses
// Dsyev).
func topEigenSym(t []float64, l, k int, sc *syrkScratch) (vals, w []float64, ok bool) {
	var impl gonum.Implementation
	orig := append([]float64(nil), t...)
	diag := make([]float64, l)
	off := make([]float64, l)
	tau := make([]float64, l)
	work := []float64{0}
	impl.Dsytrd(blas.Upper, l, t, l, diag, off, tau, work, -1)
	work = make([]float64, int(work[0]))
	impl.Dsytrd(blas.Upper, l, t, l, diag, off, tau, work, len(work))
	vals = append([]float64(nil), diag...)
	e := append([]float64(nil), off[:l-1]...)
	if !impl.Dsterf(l, vals, e) {
		return nil, nil, false
	}
	for i, j := 0, l-1; i < j; i, j = i+1, j-1 {
		vals[i], vals[j] = vals[j], vals[i]
	}
	norm := 0.0
	for i := range l {
		norm = max(norm, math.Abs(vals[i]))
	}
	// Vectors of the tridiagonal, one per row of x (k×l).
	x := make([]float64, k*l)
	var f tridiagLU
	for c := range k {
		xc := x[c*l : (c+1)*l]
		for i := range xc {
			// A fixed start with every component non-zero.
			xc[i] = 1 + float64((i*7919+c*104729)%1000)/1000
		}
		f.factor(diag, off[:l-1], vals[c], norm)
		for range 3 {
			f.solve(xc)
			if !normalise(xc) {
				return nil, nil, false
			}
		}
	}
	// Cholesky QR of xᵀ (the rows of x orthonormal).
	g := make([]float64, k*k)
	gemm(g, plain(x, k, l), transpose(nil, x, k, l), k, gemmSym, sc)
	if !cholInvUpper(g, k) {
		return nil, nil, false
	}
	xt := make([]float64, l*k)
	gemm(xt, transposed(x, k, l), g, k, gemmUpperB, sc) // xᵀ·R⁻¹
	work = work[:1]
	impl.Dorgtr(blas.Upper, l, t, l, tau, work, -1)
	if n := int(work[0]); n > cap(work) {
		work = make([]float64, n)
	}
	work = work[:cap(work)]
	impl.Dorgtr(blas.Upper, l, t, l, tau, work, len(work))
	w = make([]float64, l*k)
	gemm(w, plain(t, l, l), xt, k, gemmGeneral, sc)
	return vals, w, residualsOK(orig, w, vals, l, k, 1e-9*norm, sc)
}

// residualsOK reports whether every column c of the l×k w has
// ‖t·w_c − vals[c]·w_c‖ ≤ tol.
func residualsOK(t, w, vals []float64, l, k int, tol float64, sc *syrkScratch) bool {
	tw := make([]float64, l*k)
	gemm(tw, plain(t, l, l), w, k, gemmGeneral, sc)
	res := make([]float64, k)
	for r := range l {
		for c := range k {
			e := tw[r*k+c] - vals[c]*w[r*k+c]
			res[c] += e * e
		}
	}
	for _, r2 := range res {
		if !(math.Sqrt(r2) <= tol) {
			return false
		}
	}
	return true
}

// normalise scales v to unit length, reporting false if it is zero or not
// finite.
func normalise(v []float64) bool {
	s := 0.0
	for _, x := range v {
		s += x * x
	}
	if !(s > 0) || math.IsInf(s, 0) {
		return false
	}
	s = 1 / math.Sqrt(s)
	for i := range v {
		v[i] *= s
	}
	return true
}

// cholInvUpper replaces the k×k symmetric positive definite g (both
// triangles) by R⁻¹, R the upper Cholesky factor of g (zero below the
// diagonal), reporting false if g is not positive definite.
func cholInvUpper(g []float64, k int) bool {
	var impl gonum.Implementation
	if !impl.Dpotrf(blas.Upper, k, g, k) {
		return false
	}
	if !impl.Dtrtri(blas.Upper, blas.NonUnit, k, g, k) {
		return false
	}
	for i := range k {
		clear(g[i*k : i*k+i])
	}
	return true
}

// tridiagLU is the LU factorisation with partial pivoting of T − λI for a
// symmetric tridiagonal T (LAPACK's dlagtf): U has three diagonals u0, u1,
// u2; row i+1 was swapped with row i where piv[i], then had mult[i] times
// row i subtracted.
type tridiagLU struct {
	u0, u1, u2, mult []float64
	piv              []bool
}

// factor factors T − λI for T with diagonal diag and off-diagonal off.
// Pivots smaller than ε·norm are replaced by ε·norm, as inverse iteration
// wants (the shift is an eigenvalue: the matrix is singular to rounding).
func (f *tridiagLU) factor(diag, off []float64, lambda, norm float64) {
	n := len(diag)
	if cap(f.u0) < n {
		f.u0, f.u1, f.u2 = make([]float64, n), make([]float64, n), make([]float64, n)
		f.mult, f.piv = make([]float64, n), make([]bool, n)
	}
	u0, u1, u2, mult, piv := f.u0[:n], f.u1[:n], f.u2[:n], f.mult[:n], f.piv[:n]
	tiny := 0x1p-52 * max(norm, math.SmallestNonzeroFloat64)
	a := diag[0] - lambda // current row's diagonal
	b := 0.0              // current row's first super-diagonal
	if n > 1 {
		b = off[0]
	}
	for i := 0; i < n-1; i++ {
		c := off[i]              // next row's sub-diagonal
		an := diag[i+1] - lambda // next row's diagonal
		bn := 0.0                // next row's super-diagonal
		if i+1 < n-1 {
			bn = off[i+1]
		}
		if math.Abs(a) >= math.Abs(c) {
			if math.Abs(a) < tiny {
				a = math.Copysign(tiny, a)
			}
			m := c / a
			u0[i], u1[i], u2[i], mult[i], piv[i] = a, b, 0, m, false
			a, b = an-m*b, bn
		} else {
			m := a / c
			u0[i], u1[i], u2[i], mult[i], piv[i] = c, an, bn, m, true
			a, b = b-m*an, -m*bn
		}
	}
	if math.Abs(a) < tiny {
		a = math.Copysign(tiny, a)
	}
	u0[n-1], u1[n-1], u2[n-1] = a, 0, 0
}

// solve overwrites x with (T − λI)⁻¹x.
func (f *tridiagLU) solve(x []float64) {
	n := len(x)
	u0, u1, u2, mult, piv := f.u0[:n], f.u1[:n], f.u2[:n], f.mult[:n], f.piv[:n]
	for i := 0; i < n-1; i++ {
		if piv[i] {
			x[i], x[i+1] = x[i+1], x[i]
		}
		x[i+1] -= mult[i] * x[i]
	}
	for i := n - 1; i >= 0; i-- {
		s := x[i]
		if i+1 < n {
			s -= u1[i] * x[i+1]
		}
		if i+2 < n {
			s -= u2[i] * x[i+2]
		}
		x[i] = s / u0[i]
	}
}
