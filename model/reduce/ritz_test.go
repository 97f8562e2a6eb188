package reduce

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestTopEigenSym checks topEigenSym against the full solver (gonum's
// Dsyev) on symmetric matrices with a spread spectrum, with pairs of close
// eigenvalues, and with a repeated eigenvalue below the k-th.
func TestTopEigenSym(t *testing.T) {
	const l, k = 120, 50
	rng := rand.New(rand.NewPCG(4, 5))
	spectra := map[string]func(i int) float64{
		"spread": func(i int) float64 { return math.Pow(0.97, float64(i)) },
		"close":  func(i int) float64 { return math.Pow(0.97, float64(i/2)) * (1 + 1e-5*float64(i%2)) },
		"repeated tail": func(i int) float64 {
			if i >= k+5 {
				return 1e-3
			}
			return 2 - float64(i)/float64(l)
		},
	}
	for name, lam := range spectra {
		q := randomOrthogonal(rng, l)
		a := make([]float64, l*l)
		for i := range l {
			for j := range l {
				s := 0.0
				for c := range l {
					s += q[i*l+c] * lam(c) * q[j*l+c]
				}
				a[i*l+j] = s
			}
		}
		for i := range l {
			for j := range i {
				a[i*l+j] = a[j*l+i]
			}
		}
		wantVals, wantVecs, err := eigenFull(a, l, k) // k×l rows
		if err != nil {
			t.Fatal(err)
		}
		var sc syrkScratch
		vals, w, ok := topEigenSym(append([]float64(nil), a...), l, k, &sc)
		if !ok {
			t.Errorf("%s: not ok", name)
			continue
		}
		checkTopEigen(t, name, vals, w, wantVals, wantVecs, l, k)
		// The fallback returns the same in the same layout.
		vals, w, ok = eigenSymDsyev(append([]float64(nil), a...), l, k)
		if !ok {
			t.Errorf("%s: Dsyev: not ok", name)
			continue
		}
		checkTopEigen(t, name+" (Dsyev)", vals, w, wantVals, wantVecs, l, k)
	}
}

// checkTopEigen compares topEigenSym's output (values, l×k vectors as
// columns) with eigenFull's (values, k×l vectors as rows).
func checkTopEigen(t *testing.T, name string, vals, w, wantVals, wantVecs []float64, l, k int) {
	t.Helper()
	for c := range k {
		if d := math.Abs(vals[c] - wantVals[c]); d > 1e-13 {
			t.Errorf("%s: value %d: |Δ| = %g", name, c, d)
		}
		// Up to sign: for eigenvalues 1e-5 apart a vector is determined
		// to about ε/1e-5 ≈ 1e-11.
		sign := 1.0
		if w[c] < 0 != (wantVecs[c*l] < 0) {
			sign = -1
		}
		worst := 0.0
		for r := range l {
			worst = max(worst, math.Abs(sign*w[r*k+c]-wantVecs[c*l+r]))
		}
		if worst > 1e-9 {
			t.Errorf("%s: vector %d: max |Δ| = %g", name, c, worst)
		}
	}
}

func randomOrthogonal(rng *rand.Rand, n int) []float64 {
	q := make([]float64, n*n)
	for i := range q {
		q[i] = rng.NormFloat64()
	}
	orthHouseholder(q, n, n)
	return q
}
