package transforms

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/vindex/vindex/model/reduce"
	"github.com/vindex/vindex/schema"
)

// testEmbeddings returns n embeddings of dimension d, far from the origin and
// anisotropic, of model "move-test".
func testEmbeddings(n, d int, seed uint64) []schema.Embedding {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([]schema.Embedding, n)
	for i := range out {
		v := make([]float32, d)
		for j := range v {
			v[j] = float32(100 + rng.NormFloat64()*float64(d-j) + rng.ExpFloat64())
		}
		out[i] = schema.Embedding{SongID: fmt.Sprintf("song%04d", i), WorkID: fmt.Sprintf("w%d", i/3), Embedding: v,
			Model: "move-test", ContentHash: fmt.Sprintf("h%d", i), Title: "t"}
	}
	return out
}

func inMemoryPCA(t *testing.T, embs []schema.Embedding, k int) *reduce.Reducer {
	t.Helper()
	var m reduce.Moments
	for _, e := range embs {
		if err := m.Add(e.Embedding); err != nil {
			t.Fatal(err)
		}
	}
	r, err := reduce.FitPCA(&m, reduce.PCAConfig{K: k, Model: "move-test"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func closeTo(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	m := 0.0
	for i := range got {
		m = max(m, math.Abs(got[i]-want[i]))
	}
	if !(m <= tol) {
		t.Errorf("%s: max |Δ| = %g, want ≤ %g", what, m, tol)
	}
}

// TestPCAFnSplits drives the CombineFn by hand: whatever the split into
// accumulators (bundles, shards), the order of rows and the merge order, the
// fitted reducer file is the single-accumulator one byte for byte, so its id
// is too (issue 12.6).
func TestPCAFnSplits(t *testing.T) {
	embs := testEmbeddings(500, 24, 1)
	fn := &pcaFitFn{K: 6}
	fit := func(parts [][]schema.Embedding, order []int) FittedReducer {
		accs := make([]momentsAccum, len(parts))
		for i, p := range parts {
			accs[i] = fn.CreateAccumulator()
			for _, e := range p {
				var err error
				if accs[i], err = fn.AddInput(accs[i], e); err != nil {
					t.Fatal(err)
				}
			}
		}
		acc := fn.CreateAccumulator()
		for _, i := range order {
			var err error
			if acc, err = fn.MergeAccumulators(acc, accs[i]); err != nil {
				t.Fatal(err)
			}
		}
		out, err := fn.ExtractOutput(acc)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	refOut := fit([][]schema.Embedding{embs}, []int{0})
	ref, err := refOut.Reducer()
	if err != nil {
		t.Fatal(err)
	}
	closeTo(t, "single accumulator vs reduce.FitPCA", ref.Matrix(), inMemoryPCA(t, embs, 6).Matrix(), 1e-12)
	rng := rand.New(rand.NewPCG(2, 3))
	for trial := range 4 {
		shuffled := slices.Clone(embs)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		var parts [][]schema.Embedding
		for lo := 0; lo < len(shuffled); {
			hi := min(len(shuffled), lo+1+rng.IntN(150))
			parts = append(parts, shuffled[lo:hi])
			lo = hi
		}
		order := rng.Perm(len(parts))
		if out := fit(parts, order); !bytes.Equal(out.File, refOut.File) {
			t.Errorf("trial %d: %d accumulators give other reducer bytes than one", trial, len(parts))
		}
	}
}

func TestFitFnMixedModels(t *testing.T) {
	embs := testEmbeddings(3, 4, 1)
	embs[2].Model = "other"
	fn := &pcaFitFn{K: 2}
	acc := fn.CreateAccumulator()
	var err error
	for _, e := range embs {
		if acc, err = fn.AddInput(acc, e); err != nil {
			break
		}
	}
	if err == nil {
		t.Fatal("FitPCA over two models: want an error")
	}
	short := testEmbeddings(1, 3, 1)[0]
	ga := (&grpFitFn{K: 2}).CreateAccumulator()
	ga, _ = (&grpFitFn{K: 2}).AddInput(ga, embs[0])
	if _, err := (&grpFitFn{K: 2}).AddInput(ga, short); err == nil {
		t.Fatal("FitGRP over two dimensions: want an error")
	}
}

func runPipeline(t *testing.T, p *beam.Pipeline) {
	t.Helper()
	if err := ptest.Run(p); err != nil {
		t.Fatal(err)
	}
}

// TestFitPCABeam fits PCA on prism and compares the written reducer with the
// in-memory fit.
func TestFitPCABeam(t *testing.T) {
	embs := testEmbeddings(400, 32, 4)
	path := filepath.Join(t.TempDir(), "sub", "pca.vxr")
	p, s := beam.NewPipelineWithRoot()
	col := beam.CreateList(s, embs)
	WriteReducer(s, path, Fit(s, col, FitConfig{Method: reduce.PCA, K: 5}))
	runPipeline(t, p)
	got, err := reduce.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := inMemoryPCA(t, embs, 5)
	closeTo(t, "components", got.Matrix(), want.Matrix(), 1e-9)
	closeTo(t, "mean", got.Mean(), want.Mean(), 1e-9)
	if gi := got.Info(); gi.FitCount != 400 || gi.Model != "move-test" || gi.Method != reduce.PCA {
		t.Errorf("info %+v", gi)
	}
	// On prism, from the rows in another order and through a Reshuffle (other
	// bundles): the same file, byte for byte (issue 12.6).
	rev := slices.Clone(embs)
	slices.Reverse(rev)
	path2 := filepath.Join(t.TempDir(), "pca.vxr")
	p2, s2 := beam.NewPipelineWithRoot()
	WriteReducer(s2, path2, Fit(s2, beam.Reshuffle(s2, beam.CreateList(s2, rev)), FitConfig{Method: reduce.PCA, K: 5}))
	runPipeline(t, p2)
	b1, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := os.ReadFile(path2)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1, b2) {
		t.Error("the reducer file differs with the input order and bundling")
	}
	if wb, _ := want.MarshalBinary(); !bytes.Equal(b1, wb) {
		t.Error("the pipeline's reducer file differs from reduce.FitPCA's on the same rows")
	}
}

// TestFitICAGRPBeam fits ICA (on a sample covering every embedding) and GRP
// on prism and compares with the in-memory fits.
func TestFitICAGRPBeam(t *testing.T) {
	embs := testEmbeddings(300, 6, 5)
	dir := t.TempDir()
	p, s := beam.NewPipelineWithRoot()
	col := beam.CreateList(s, embs)
	WriteReducer(s, filepath.Join(dir, "ica.vxr"), Fit(s, col, FitConfig{Method: reduce.ICA, K: 3, Sample: 300, Seed: 7}))
	WriteReducer(s, filepath.Join(dir, "grp.vxr"), Fit(s, col, FitConfig{Method: reduce.GRP, K: 4, Seed: 7}))
	runPipeline(t, p)

	// The sample is every embedding, in order of its seeded key.
	sorted := slices.Clone(embs)
	sort.Slice(sorted, func(i, j int) bool { return sampleKey(7, sorted[i].SongID) < sampleKey(7, sorted[j].SongID) })
	x := make([]float64, 0, 300*6)
	for _, e := range sorted {
		for _, v := range e.Embedding {
			x = append(x, float64(v))
		}
	}
	wantICA, err := reduce.FitICA(x, 300, 6, reduce.ICAConfig{K: 3, Seed: 7, Model: "move-test"})
	if err != nil {
		t.Fatal(err)
	}
	gotICA, err := reduce.ReadFile(filepath.Join(dir, "ica.vxr"))
	if err != nil {
		t.Fatal(err)
	}
	if gotICA.ID() != wantICA.ID() {
		t.Errorf("ICA: Beam fit %s, in-memory fit %s", gotICA.ID(), wantICA.ID())
	}
	wantGRP, err := reduce.NewGRP(reduce.GRPConfig{InDim: 6, OutDim: 4, Seed: 7, Model: "move-test", FitCount: 300})
	if err != nil {
		t.Fatal(err)
	}
	gotGRP, err := reduce.ReadFile(filepath.Join(dir, "grp.vxr"))
	if err != nil {
		t.Fatal(err)
	}
	if gotGRP.ID() != wantGRP.ID() {
		t.Errorf("GRP: Beam fit %s, in-memory %s", gotGRP.ID(), wantGRP.ID())
	}
}

func TestICASampleIndependentOfOrder(t *testing.T) {
	embs := testEmbeddings(50, 3, 6)
	fn := &icaFitFn{K: 2, Sample: 10, Seed: 1}
	add := func(list []schema.Embedding) sampleAccum {
		a := fn.CreateAccumulator()
		for _, e := range list {
			a, _ = fn.AddInput(a, e)
		}
		return a
	}
	a := fn.prune(add(embs))
	rev := slices.Clone(embs)
	slices.Reverse(rev)
	b1, b2 := add(rev[:17]), add(rev[17:])
	b, err := fn.MergeAccumulators(b2, b1)
	if err != nil {
		t.Fatal(err)
	}
	b = fn.prune(b)
	if !slices.Equal(a.Keys, b.Keys) || !slices.Equal(a.Rows, b.Rows) || a.Count != 50 || b.Count != 50 {
		t.Error("the ICA sample depends on input order or split")
	}
}

func TestFitConfigValidate(t *testing.T) {
	for _, c := range []FitConfig{
		{Method: "lda", K: 2},
		{Method: reduce.PCA, K: 0},
		{Method: reduce.ICA, K: 2, Whiten: true},
		{Method: reduce.PCA, K: 2, Sample: 10},
		{Method: reduce.ICA, K: 20, Sample: 10},
		{Method: reduce.ICA, K: 2, Tol: -1},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v: want an error", c)
		}
	}
	if err := (FitConfig{Method: reduce.ICA, K: 2, Sample: 100, Seed: 3}).Validate(); err != nil {
		t.Error(err)
	}
}
