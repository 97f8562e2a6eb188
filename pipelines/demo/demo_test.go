package demo

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/vindex/vindex/model/reduce"
	"github.com/vindex/vindex/pipelines/index"
	"github.com/vindex/vindex/runners"
	"github.com/vindex/vindex/runners/flinktest"
	"github.com/vindex/vindex/schema"
)

func TestMain(m *testing.M) { ptest.MainWithDefault(m, "prism") }

// testConfig is the demo with a smaller catalog (8 works × 3 versions + 4
// noise songs), so that the Flink run stays short.
func testConfig(dir string) Config {
	c := DefaultConfig(dir)
	c.Catalog.Works, c.Catalog.Versions, c.Catalog.Noise = 8, 3, 4
	c.Catalog.SongsPerFile, c.Catalog.RowGroupRows = 10, 5
	c.Dim, c.PCA = 128, 16
	return c
}

func runIndex(t *testing.T, cfg index.Config, opt runners.Options) *index.Info {
	t.Helper()
	ctx := context.Background()
	if err := cfg.Validate(ctx); err != nil {
		t.Fatal(err)
	}
	p, s := beam.NewPipelineWithRoot()
	index.Build(s, cfg)
	res, err := runners.Run(ctx, p, opt)
	if err != nil {
		t.Fatal(err)
	}
	info, err := index.Finish(cfg, res.Counters())
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// TestDemoPrismAndFlink runs the demo's index pipeline on prism and on a
// real Flink (an embedded mini cluster behind the Beam Flink job server,
// LOOPBACK), and checks that both produce the same index.
func TestDemoPrismAndFlink(t *testing.T) {
	dir := t.TempDir()
	prep, err := Prepare(testConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	if !prep.Untrained || prep.Songs != 28 {
		t.Fatalf("Prepare: untrained %v, %d songs; want seeded weights and 28 songs", prep.Untrained, prep.Songs)
	}
	prismCfg := prep.Index
	prismCfg.Out = filepath.Join(dir, "prism")
	want := runIndex(t, prismCfg, runners.Options{})
	if want.Songs != 28 || want.Rejected != 0 || want.Dim != 128 || want.OutDim != 16 || len(want.Reports) != 2 {
		t.Fatalf("prism index: %+v", want)
	}
	reports, err := want.ReadReports(prismCfg.Out)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reports {
		if r.CatalogSize != 28 || r.Overall.Queries != 24 || r.Overall.MAP <= 0 || r.Overall.MAP > 1 {
			t.Errorf("report %s d=%d: catalog %d, %d queries, MAP %g", r.Method(), r.Dim, r.CatalogSize, r.Overall.Queries, r.Overall.MAP)
		}
	}

	if testing.Short() {
		t.Skip("the Flink half starts a JVM: skipped with -short")
	}
	js := flinktest.Start(t)
	t.Logf("flink job server %s at %s", js.Version, js.Endpoint)
	flinkCfg := prep.Index
	flinkCfg.Out = filepath.Join(dir, "flink")
	got := runIndex(t, flinkCfg, runners.Options{Runner: runners.Flink, Endpoint: js.Endpoint, JobName: "vindex-demo-test"})
	if got.Songs != want.Songs || got.Embedded != want.Embedded || got.Model != want.Model {
		t.Fatalf("flink index %+v differs from prism's %+v", got, want)
	}
	for _, set := range []string{index.EmbeddingsDir, index.CompactDir} {
		p := readSet(t, filepath.Join(prismCfg.Out, set))
		f := readSet(t, filepath.Join(flinkCfg.Out, set))
		if len(p) != len(f) {
			t.Fatalf("%s: flink %d rows, prism %d", set, len(f), len(p))
		}
		for id, e := range p {
			g, ok := f[id]
			if !ok {
				t.Fatalf("%s: song %s missing from the flink run", set, id)
			}
			// Same network code: bit-identical embeddings; the PCA is
			// merged in a runner-dependent order (≤ 1e-9 in float64).
			tol := 0.0
			if set == index.CompactDir {
				tol = 1e-5
			}
			for i := range e.Embedding {
				if d := math.Abs(float64(e.Embedding[i] - g.Embedding[i])); d > tol {
					t.Fatalf("%s: song %s [%d]: flink %g, prism %g", set, id, i, g.Embedding[i], e.Embedding[i])
				}
			}
		}
	}
	rp, err := reduce.ReadFile(filepath.Join(prismCfg.Out, index.ReducerFile))
	if err != nil {
		t.Fatal(err)
	}
	rf, err := reduce.ReadFile(filepath.Join(flinkCfg.Out, index.ReducerFile))
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range rp.Matrix() {
		if math.Abs(v-rf.Matrix()[i]) > 1e-9 {
			t.Fatalf("reducer matrix [%d]: flink %g, prism %g", i, rf.Matrix()[i], v)
		}
	}
	gotReports, err := got.ReadReports(flinkCfg.Out)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range reports {
		if math.Abs(r.Overall.MAP-gotReports[i].Overall.MAP) > 1e-6 || r.Overall.Top1 != gotReports[i].Overall.Top1 {
			t.Errorf("report %d: flink MAP %g top1 %d, prism MAP %g top1 %d", i,
				gotReports[i].Overall.MAP, gotReports[i].Overall.Top1, r.Overall.MAP, r.Overall.Top1)
		}
	}
}

func readSet(t *testing.T, dir string) map[string]schema.Embedding {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "_manifest.json")); err != nil {
		t.Fatalf("%s: no manifest: %v", dir, err)
	}
	embs, err := schema.ReadEmbeddingsFiles(filepath.Join(dir, "*.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]schema.Embedding{}
	for _, e := range embs {
		m[e.SongID] = e
	}
	return m
}
