package reduce

import (
	"math"
	"testing"
)

// TestSubspaceMatchesFull checks SolverSubspace against SolverFull on
// bench/pca's kind of data (a decaying spectrum with close eigenvalues at
// the cut): explained-variance ratios within 1e-6 and components within 1e-4,
// the tolerances, with the same signs.
func TestSubspaceMatchesFull(t *testing.T) {
	const n, d, k = 3000, 320, 48
	var m Moments
	for _, r := range lowRankData(n, d) {
		if err := m.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	full, err := FitPCA(&m, PCAConfig{K: k, Solver: SolverFull})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := FitPCA(&m, PCAConfig{K: k, Solver: SolverSubspace})
	if err != nil {
		t.Fatal(err)
	}
	if diff := maxAbsDiff(sub.Info().ExplainedVarianceRatio, full.Info().ExplainedVarianceRatio); !(diff <= 1e-6) {
		t.Errorf("explained variance ratio: max |Δ| = %g, want ≤ 1e-6", diff)
	}
	if diff := maxAbsDiff(sub.Matrix(), full.Matrix()); !(diff <= 1e-4) {
		t.Errorf("components: max |Δ| = %g, want ≤ 1e-4", diff)
	}
	if _, err := FitPCA(&m, PCAConfig{K: k, Solver: "lanczos"}); err == nil {
		t.Error("unknown solver: want an error")
	}
}

// TestSubspaceRankDeficient fits fewer rows than dimensions, so most
// eigenvalues are zero: the solver must still return the top pairs (or fall
// back to the full solver), matching it.
func TestSubspaceRankDeficient(t *testing.T) {
	for _, n := range []int{60, 30} { // 30 rows: rank 29 < l = 56
		testSubspaceRankDeficient(t, n)
	}
}

func testSubspaceRankDeficient(t *testing.T, n int) {
	const d, k = 200, 20
	rows := lowRankData(n, d)
	var m Moments
	for _, r := range rows {
		if err := m.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	full, err := FitPCA(&m, PCAConfig{K: k, Solver: SolverFull})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := FitPCA(&m, PCAConfig{K: k, Solver: SolverSubspace})
	if err != nil {
		t.Fatal(err)
	}
	if diff := maxAbsDiff(sub.Matrix(), full.Matrix()); !(diff <= 1e-4) || math.IsNaN(diff) {
		t.Errorf("components: max |Δ| = %g, want ≤ 1e-4", diff)
	}
}
