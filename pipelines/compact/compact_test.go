package compact

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/vindex/vindex/model/reduce"
	"github.com/vindex/vindex/pipelines/fit"
	"github.com/vindex/vindex/runners"
	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/transforms"
)

// TestFitThenReduceFiles runs the fit pipeline and then the reduce pipeline
// on Parquet files, on prism: the reducer equals the in-memory fit, every
// good row comes out reduced with its other columns kept, and a row of
// another model is a reject naming the song.
func TestFitThenReduceFiles(t *testing.T) {
	dir := t.TempDir()
	const n, d, k = 120, 16, 4
	rng := rand.New(rand.NewPCG(1, 2))
	embs := make([]schema.Embedding, n)
	var m reduce.Moments
	for i := range embs {
		v := make([]float32, d)
		for j := range v {
			v[j] = float32(rng.NormFloat64() * float64(d-j))
		}
		embs[i] = schema.Embedding{SongID: fmt.Sprintf("s%03d", i), WorkID: "w", Embedding: v, Model: "move-x", ContentHash: "h", Year: 1999}
		if err := m.Add(v); err != nil {
			t.Fatal(err)
		}
	}
	in := filepath.Join(dir, "in", "embs.parquet")
	if err := schema.WriteEmbeddingsFile(in, embs, schema.WriterOptions{}); err != nil {
		t.Fatal(err)
	}
	other := embs[0]
	other.SongID, other.Model = "foreign", "another-model"
	if err := schema.WriteEmbeddingsFile(filepath.Join(dir, "in2", "embs.parquet"), []schema.Embedding{other}, schema.WriterOptions{}); err != nil {
		t.Fatal(err)
	}

	fcfg := fit.Config{In: in, Out: filepath.Join(dir, "pca.vxr"), Fit: transforms.FitConfig{Method: reduce.PCA, K: k}}
	if err := fcfg.Validate(); err != nil {
		t.Fatal(err)
	}
	p, s := beam.NewPipelineWithRoot()
	fit.Build(s, fcfg)
	if _, err := runners.Run(context.Background(), p, runners.Options{}); err != nil {
		t.Fatal(err)
	}
	got, err := reduce.ReadFile(fcfg.Out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := reduce.FitPCA(&m, reduce.PCAConfig{K: k, Model: "move-x"})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range want.Matrix() {
		if math.Abs(got.Matrix()[i]-v) > 1e-9 {
			t.Fatalf("component value %d: Beam %v, in memory %v", i, got.Matrix()[i], v)
		}
	}

	rcfg := Config{Reducer: fcfg.Out, In: filepath.Join(dir, "in*", "*.parquet"), Out: filepath.Join(dir, "out"), Normalize: true}
	if err := rcfg.Validate(); err != nil {
		t.Fatal(err)
	}
	p, s = beam.NewPipelineWithRoot()
	Build(s, rcfg)
	if _, err := runners.Run(context.Background(), p, runners.Options{}); err != nil {
		t.Fatal(err)
	}
	outs, err := schema.ReadEmbeddingsFiles(filepath.Join(EmbeddingsDir(rcfg.Out), "*.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != n {
		t.Fatalf("%d reduced rows, want %d", len(outs), n)
	}
	for _, e := range outs {
		norm := 0.0
		for _, v := range e.Embedding {
			norm += float64(v) * float64(v)
		}
		if len(e.Embedding) != k || e.Reducer != got.ID() || e.Model != "move-x" || e.Year != 1999 || math.Abs(norm-1) > 1e-5 {
			t.Fatalf("reduced row %+v", e)
		}
	}
	rejects, err := schema.ReadRejectsFiles(RejectsDir(rcfg.Out))
	if err != nil {
		t.Fatal(err)
	}
	if len(rejects) != 1 || rejects[0].SongID != "foreign" || rejects[0].Stage != schema.StageReduce {
		t.Fatalf("rejects %+v, want one for song foreign", rejects)
	}
}

func TestMain(m *testing.M) {
	beam.Init()
	os.Exit(m.Run())
}
