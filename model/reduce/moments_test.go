package reduce

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// splitFit folds rows into accumulators split at random points, merges them
// in a random tree order and fits PCA to k components; it returns the
// reducer file's bytes.
func splitFit(t *testing.T, rows [][]float32, k int, rng *rand.Rand) []byte {
	t.Helper()
	var parts []*Moments
	for lo := 0; lo < len(rows); {
		hi := min(len(rows), lo+1+rng.IntN(len(rows)/3+1))
		var m Moments
		for _, r := range rows[lo:hi] {
			if err := m.Add(r); err != nil {
				t.Fatal(err)
			}
		}
		parts = append(parts, &m)
		lo = hi
	}
	parts = append(parts, &Moments{})
	rng.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
	for len(parts) > 1 {
		i := rng.IntN(len(parts) - 1)
		if err := parts[i].Merge(parts[i+1]); err != nil {
			t.Fatal(err)
		}
		parts = slices.Delete(parts, i+1, i+2)
	}
	r, err := FitPCA(parts[0], PCAConfig{K: k, Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFitBitReproducible is issue 12.6: whatever the split into accumulators,
// the order of rows and the merge order, the fitted reducer file is the same
// byte for byte (so is its id). The data spans several row exponents (bins),
// and d > 128 takes the parallel kernel and the subspace solver.
func TestFitBitReproducible(t *testing.T) {
	for _, tc := range []struct{ n, d, k int }{{700, 24, 5}, {900, 160, 12}} {
		rows := lowRankData(tc.n, tc.d)
		for i, r := range rows { // rows of very different norms
			s := float32(math.Ldexp(1, i%7-3))
			for j := range r {
				r[j] *= s
			}
		}
		rng := rand.New(rand.NewPCG(uint64(tc.d), 9))
		ref := splitFit(t, rows, tc.k, rng)
		for trial := range 4 {
			shuffled := slices.Clone(rows)
			rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			if got := splitFit(t, shuffled, tc.k, rng); !bytes.Equal(got, ref) {
				t.Errorf("d=%d trial %d: reducer bytes differ with another split and order", tc.d, trial)
			}
		}
	}
}

// TestMomentsGoKernels runs every micro-kernel set this CPU has, the pure-Go
// one included (as on a CPU without AVX2+FMA): the accumulated state is
// identical (all are exact) and so is the fitted reducer, whose subspace
// solver uses the same kernels.
func TestMomentsGoKernels(t *testing.T) {
	rows := lowRankData(600, 150)
	fold := func() (*Moments, []byte) {
		var m Moments
		for _, r := range rows {
			if err := m.Add(r); err != nil {
				t.Fatal(err)
			}
		}
		m.Flush()
		r, err := FitPCA(&m, PCAConfig{K: 10, Solver: SolverSubspace})
		if err != nil {
			t.Fatal(err)
		}
		b, err := r.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		return &m, b
	}
	ref, refFile := fold()
	old := syrkK
	defer func() { syrkK = old }()
	for _, k := range syrkAvailable() {
		syrkK = k
		m, file := fold()
		// Chunks (hence Adds and the split between Lo and Hi) depend on the
		// kernel set's bound; the sums do not.
		if !slices.Equal(m.Sum, ref.Sum) || !slices.Equal(m.Exp, ref.Exp) || !slices.Equal(m.Count, ref.Count) ||
			!slices.Equal(packedSums(m), packedSums(ref)) {
			t.Errorf("%s kernels accumulate other sums than %s", k.name, old.name)
		}
		if !bytes.Equal(file, refFile) {
			t.Errorf("%s kernels fit other reducer bytes than %s", k.name, old.name)
		}
	}
}

// packedSums returns each bin's Σqqᵀ entries, Hi·2^32 + Lo, normalised to
// (high word, low word in [0, 2^32)) pairs: one representation per value.
func packedSums(m *Moments) [][2]int64 {
	out := make([][2]int64, len(m.Lo))
	for k, lo := range m.Lo {
		var hi int64
		if len(m.Hi) > 0 {
			hi = m.Hi[k]
		}
		out[k] = [2]int64{hi + lo>>32, lo & (1<<32 - 1)}
	}
	return out
}

// TestMomentsTwoPass checks the covariance against a two-pass float64
// computation on quantisation-exact data (integers times a power of 2, so
// the only error is the final rounding) for a catalog with a large mean.
func TestMomentsTwoPass(t *testing.T) {
	const n, d = 500, 140
	rng := rand.New(rand.NewPCG(5, 5))
	x := make([]float64, n*d)
	for i := range x {
		x[i] = float64(float32(300 + math.Round(rng.NormFloat64()*1000)/64))
	}
	m := momentsOf(t, x, n, d)
	mean, cov, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	mu := make([]float64, d)
	for i := range n {
		for j := range d {
			mu[j] += x[i*d+j] / n
		}
	}
	if diff := maxAbsDiff(mean, mu); diff > 1e-12 {
		t.Errorf("mean: max |Δ| = %g", diff)
	}
	for a := range d {
		for b := range d {
			s := 0.0
			for i := range n {
				s += (x[i*d+a] - mu[a]) * (x[i*d+b] - mu[b])
			}
			want := s / (n - 1)
			if got := cov[a*d+b]; math.Abs(got-want) > 1e-10*math.Max(1, math.Abs(want)) {
				t.Fatalf("cov[%d][%d] = %v, want %v", a, b, got, want)
			}
		}
	}
}

// TestMomentsCarry forces a carry into Hi after every few chunks: the
// statistics must not change by one bit.
func TestMomentsCarry(t *testing.T) {
	rows := lowRankData(800, 40)
	stats := func() ([]float64, []float64) {
		var m Moments
		for _, r := range rows {
			if err := m.Add(r); err != nil {
				t.Fatal(err)
			}
		}
		mean, cov, err := m.Stats()
		if err != nil {
			t.Fatal(err)
		}
		return mean, cov
	}
	mean, cov := stats()
	old := maxAdds
	maxAdds = 2
	defer func() { maxAdds = old }()
	mean2, cov2 := stats()
	if !slices.Equal(mean, mean2) || !slices.Equal(cov, cov2) {
		t.Error("carrying into Hi changes the statistics")
	}
}

// TestMomentsRareExponent checks that rows of a rare exponent, which Add
// leaves pending until they have company, end up in the same sums as when
// every row is folded at once.
func TestMomentsRareExponent(t *testing.T) {
	const n, d = 3 * BlockRows, 40
	rng := rand.New(rand.NewPCG(8, 9))
	var lazy, eager Moments
	for i := range n {
		row := make([]float32, d)
		for j := range row {
			row[j] = float32(rng.NormFloat64())
		}
		if i%50 == 0 {
			row[0] = 1000 // another exponent, 1 row in 50
		}
		if err := lazy.Add(row); err != nil {
			t.Fatal(err)
		}
		if err := eager.Add(row); err != nil {
			t.Fatal(err)
		}
		eager.Flush()
	}
	if len(lazy.Pending) == 0 {
		t.Error("no row left pending: the test does not exercise the deferral")
	}
	m1, c1, err := lazy.Stats()
	if err != nil {
		t.Fatal(err)
	}
	m2, c2, err := eager.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m1, m2) || !slices.Equal(c1, c2) {
		t.Error("moments differ with the rare exponent's rows folded late")
	}
}
