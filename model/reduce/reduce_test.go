package reduce

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func momentsOf(t testing.TB, x []float64, n, d int) *Moments {
	t.Helper()
	var m Moments
	for i := range n {
		if err := m.Add(toFloat32(x[i*d : (i+1)*d])); err != nil {
			t.Fatal(err)
		}
	}
	return &m
}

// TestPCAGolden compares with sklearn 1.2.1 PCA(svd_solver="full"), after the
// sign convention (testdata/gen/gen.py).
func TestPCAGolden(t *testing.T) {
	g := loadGolden(t, "pca")
	x, shape := g.array(t, "x")
	n, d := shape[0], shape[1]
	r, err := FitPCA(momentsOf(t, x, n, d), PCAConfig{K: g.K, Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, got []float64, tol float64) {
		t.Helper()
		want, _ := g.array(t, name)
		if diff := maxAbsDiff(got, want); !(diff <= tol) {
			t.Errorf("%s: max |Δ| = %g, want ≤ %g", name, diff, tol)
		}
	}
	check("mean", r.Mean(), 1e-9)
	check("components", r.Matrix(), g.Tolerance["components"])
	info := r.Info()
	check("explained_variance", info.ExplainedVariance, g.Tolerance["explained_variance"]*info.ExplainedVariance[0])
	check("explained_variance_ratio", info.ExplainedVarianceRatio, g.Tolerance["explained_variance"])
	check("transform", transformAll(r, x, n, d), g.Tolerance["transform"])
	if info.FitCount != int64(n) || r.InDim() != d || r.OutDim() != g.K || r.Method() != PCA || r.Model() != "m" {
		t.Errorf("info = %+v", info)
	}

	rw, err := FitPCA(momentsOf(t, x, n, d), PCAConfig{K: g.K, Whiten: true})
	if err != nil {
		t.Fatal(err)
	}
	check("transform_whiten", transformAll(rw, x, n, d), g.Tolerance["transform"])
}

// TestPCAMergeOrder checks that the fit does not depend on how rows are split
// into accumulators or the order they are merged in.
func TestPCAMergeOrder(t *testing.T) {
	g := loadGolden(t, "pca")
	x, shape := g.array(t, "x")
	n, d := shape[0], shape[1]
	ref, err := FitPCA(momentsOf(t, x, n, d), PCAConfig{K: g.K})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 5 {
		// Random split points, then merge the parts in a random order.
		var parts []*Moments
		for lo := 0; lo < n; {
			hi := min(n, lo+1+rng.IntN(100))
			parts = append(parts, momentsOf(t, x[lo*d:hi*d], hi-lo, d))
			lo = hi
		}
		parts = append(parts, &Moments{}) // an empty accumulator merges as a no-op
		rng.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
		for len(parts) > 1 { // pairwise tree merge
			i := rng.IntN(len(parts) - 1)
			if err := parts[i].Merge(parts[i+1]); err != nil {
				t.Fatal(err)
			}
			parts = slices.Delete(parts, i+1, i+2)
		}
		r, err := FitPCA(parts[0], PCAConfig{K: g.K})
		if err != nil {
			t.Fatal(err)
		}
		if diff := maxAbsDiff(r.Matrix(), ref.Matrix()); diff > 1e-9 {
			t.Errorf("trial %d: components differ by %g", trial, diff)
		}
		if diff := maxAbsDiff(r.Mean(), ref.Mean()); diff > 1e-9 {
			t.Errorf("trial %d: means differ by %g", trial, diff)
		}
	}
}

// TestMomentsLargeMean checks the co-moment against a two-pass computation
// for data whose mean is 1e6 times its spread.
func TestMomentsLargeMean(t *testing.T) {
	const n, d = 1000, 3
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([]float64, n*d)
	for i := range x {
		x[i] = float64(float32(1e6 + rng.NormFloat64()))
	}
	m := momentsOf(t, x, n, d)
	cov, err := m.Covariance()
	if err != nil {
		t.Fatal(err)
	}
	for a := range d {
		for b := range d {
			ma, mb := 0.0, 0.0
			for i := range n {
				ma += x[i*d+a]
				mb += x[i*d+b]
			}
			ma /= n
			mb /= n
			s := 0.0
			for i := range n {
				s += (x[i*d+a] - ma) * (x[i*d+b] - mb)
			}
			want := s / (n - 1)
			if got := cov.At(a, b); math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
				t.Errorf("cov[%d][%d] = %v, want %v", a, b, got, want)
			}
		}
	}
}

func TestMomentsErrors(t *testing.T) {
	var m Moments
	if err := m.Add([]float32{1, 2}); err != nil {
		t.Fatal(err)
	}
	if err := m.Add([]float32{1, 2, 3}); !errors.Is(err, ErrDim) {
		t.Errorf("Add of another dimension: err = %v, want ErrDim", err)
	}
	if err := m.Add([]float32{1, float32(math.NaN())}); !errors.Is(err, ErrNotFinite) {
		t.Errorf("Add of NaN: err = %v, want ErrNotFinite", err)
	}
	if _, err := FitPCA(&m, PCAConfig{K: 1}); !errors.Is(err, ErrTooFew) {
		t.Errorf("FitPCA of 1 row: err = %v, want ErrTooFew", err)
	}
	var o Moments
	o.Add([]float32{1, 2, 3})
	if err := m.Merge(&o); !errors.Is(err, ErrDim) {
		t.Errorf("Merge of another dimension: err = %v, want ErrDim", err)
	}
	m.Add([]float32{3, 5})
	if _, err := FitPCA(&m, PCAConfig{K: 3}); !errors.Is(err, ErrDim) {
		t.Errorf("FitPCA K > dim: err = %v, want ErrDim", err)
	}
	if _, err := FitPCA(&m, PCAConfig{K: 2, Whiten: true}); !errors.Is(err, ErrDegenerate) {
		t.Errorf("FitPCA whitening a rank-1 covariance: err = %v, want ErrDegenerate", err)
	}
}

// TestICAGolden compares with sklearn 1.2.1 FastICA given the same w_init.
func TestICAGolden(t *testing.T) {
	g := loadGolden(t, "ica")
	x, shape := g.array(t, "x")
	n, d := shape[0], shape[1]
	winit, _ := g.array(t, "w_init")
	r, err := FitICA(x, n, d, ICAConfig{K: g.K, WInit: winit, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	tol := g.Tolerance["components"]
	want, _ := g.array(t, "components")
	if diff := maxAbsDiff(r.Matrix(), want); !(diff <= tol) {
		t.Errorf("components: max |Δ| = %g, want ≤ %g\n got %v\nwant %v", diff, tol, r.Matrix(), want)
	}
	wantMean, _ := g.array(t, "mean")
	if diff := maxAbsDiff(r.Mean(), wantMean); diff > 1e-9 {
		t.Errorf("mean: max |Δ| = %g", diff)
	}
	wantS, _ := g.array(t, "transform")
	if diff := maxAbsDiff(transformAll(r, x, n, d), wantS); !(diff <= g.Tolerance["transform"]) {
		t.Errorf("transform: max |Δ| = %g, want ≤ %g", diff, g.Tolerance["transform"])
	}
	nIter, _ := g.array(t, "n_iter")
	info := r.Info()
	if !info.Converged || info.Iterations != int(nIter[0]) {
		t.Errorf("iterations %d converged %v, sklearn ran %v", info.Iterations, info.Converged, nIter[0])
	}
}

func TestICASeeded(t *testing.T) {
	g := loadGolden(t, "ica")
	x, shape := g.array(t, "x")
	n, d := shape[0], shape[1]
	a, err := FitICA(x, n, d, ICAConfig{K: 2, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	b, err := FitICA(x, n, d, ICAConfig{K: 2, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	if a.ID() != b.ID() || !slices.Equal(a.Matrix(), b.Matrix()) {
		t.Error("two fits with the same seed differ")
	}
	if _, err := FitICA(x[:d], 1, d, ICAConfig{K: 1}); !errors.Is(err, ErrTooFew) {
		t.Errorf("FitICA of 1 row: err = %v, want ErrTooFew", err)
	}
}

func TestJLMinDimGolden(t *testing.T) {
	g := loadGolden(t, "jl")
	ns, _ := g.array(t, "n_samples")
	eps, _ := g.array(t, "eps")
	want, _ := g.array(t, "min_dim")
	for i, n := range ns {
		for j, e := range eps {
			got, err := JLMinDim(int64(n), e)
			if err != nil {
				t.Fatal(err)
			}
			if float64(got) != want[i*len(eps)+j] {
				t.Errorf("JLMinDim(%v, %v) = %d, sklearn %v", n, e, got, want[i*len(eps)+j])
			}
		}
	}
	if _, err := JLMinDim(10, 1); err == nil {
		t.Error("JLMinDim(eps=1): want an error")
	}
}

// TestGRPDistances checks that a GRP to the JL dimension keeps pairwise
// squared distances within (1 ± eps) for nearly all pairs, and that it is
// reproducible bit for bit from its seed.
func TestGRPDistances(t *testing.T) {
	const n, d, eps = 40, 2000, 0.3
	k64, err := JLMinDim(n, eps)
	if err != nil {
		t.Fatal(err)
	}
	k := int(k64) // 328
	r, err := NewGRP(GRPConfig{InDim: d, OutDim: k, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := NewGRP(GRPConfig{InDim: d, OutDim: k, Seed: 11})
	if !slices.Equal(r.Matrix(), r2.Matrix()) || r.ID() != r2.ID() {
		t.Fatal("NewGRP is not reproducible from its seed")
	}
	r3, _ := NewGRP(GRPConfig{InDim: d, OutDim: k, Seed: 12})
	if slices.Equal(r.Matrix(), r3.Matrix()) {
		t.Fatal("NewGRP ignores its seed")
	}
	// Entries are N(0, 1/k): check the sample variance.
	var s2 float64
	for _, v := range r.Matrix() {
		s2 += v * v
	}
	if v := s2 / float64(len(r.Matrix())); math.Abs(v*float64(k)-1) > 0.01 {
		t.Errorf("entry variance·k = %v, want 1 ± 0.01", v*float64(k))
	}
	rng := rand.New(rand.NewPCG(5, 6))
	xs := make([][]float32, n)
	ys := make([][]float32, n)
	for i := range xs {
		xs[i] = make([]float32, d)
		for j := range xs[i] {
			xs[i][j] = float32(rng.NormFloat64())
		}
		ys[i] = make([]float32, k)
		r.Apply(ys[i], xs[i])
	}
	dist := func(a, b []float32) float64 {
		s := 0.0
		for i := range a {
			s += (float64(a[i]) - float64(b[i])) * (float64(a[i]) - float64(b[i]))
		}
		return s
	}
	pairs, bad := 0, 0
	for i := range n {
		for j := i + 1; j < n; j++ {
			ratio := dist(ys[i], ys[j]) / dist(xs[i], xs[j])
			pairs++
			if ratio < 1-eps || ratio > 1+eps {
				bad++
			}
		}
	}
	// The JL bound holds with high probability for all pairs; at eps=0.3 and
	// k=328 the chance of any one pair failing is ≈ 2·exp(−k·eps²/8·…) ≪ 1%.
	if bad > pairs/100 {
		t.Errorf("%d of %d pairs outside (1 ± %v)", bad, pairs, eps)
	}
}

func TestApplyAllocs(t *testing.T) {
	r, err := NewGRP(GRPConfig{InDim: 64, OutDim: 8, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	src, dst := make([]float32, 64), make([]float32, 8)
	if a := testing.AllocsPerRun(10, func() { r.Apply(dst, src) }); a != 0 {
		t.Errorf("Apply allocates %v times", a)
	}
}

func TestParseMethod(t *testing.T) {
	for _, s := range []string{"pca", "ica", "grp"} {
		if m, err := ParseMethod(s); err != nil || string(m) != s {
			t.Errorf("ParseMethod(%q) = %q, %v", s, m, err)
		}
	}
	if _, err := ParseMethod("lda"); err == nil {
		t.Error("ParseMethod(lda): want an error")
	}
}
