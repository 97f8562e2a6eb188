package embed

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/vindex/vindex/importer/synth"
	"github.com/vindex/vindex/model"
	"github.com/vindex/vindex/runners"
	"github.com/vindex/vindex/runners/flinktest"
	"github.com/vindex/vindex/transforms"
)

// oneGroupCatalog writes 96 short songs as one file of one row group (the
// layout DuckDB and pyarrow write) and seeded weights; it returns the config.
func oneGroupCatalog(t *testing.T) Config {
	t.Helper()
	dir := t.TempDir()
	sc := synth.Small()
	sc.Works, sc.Versions, sc.Noise = 8, 10, 16
	sc.MeanDurationS, sc.SDDurationS, sc.MinDurationS, sc.MaxDurationS = 35, 3, 30, 40
	sc.SongsPerFile, sc.RowGroupRows = 1000, 1000
	if _, err := synth.Generate(sc, filepath.Join(dir, "features")); err != nil {
		t.Fatal(err)
	}
	weights := filepath.Join(dir, "seeded.safetensors")
	if err := model.SeededCheckpointFile(weights, 64, 1); err != nil {
		t.Fatal(err)
	}
	// Ranges of 16 (the default is 64) make 6 of the 96 songs, enough for
	// Flink's two slots to share.
	return Config{Weights: weights, In: filepath.Join(dir, "features"), Out: filepath.Join(dir, "out"), Command: "test",
		Read: transforms.ReadOptions{MaxRows: 16}}
}

// runOneGroup embeds the catalog and checks that its single row group was
// read as 6 ranges of at most 16 songs; it returns the bundles that read.
func runOneGroup(t *testing.T, cfg Config, opt runners.Options) int64 {
	t.Helper()
	ctx := context.Background()
	if err := cfg.Validate(ctx); err != nil {
		t.Fatal(err)
	}
	p, s := beam.NewPipelineWithRoot()
	Build(s, cfg)
	res, err := runners.Run(ctx, p, opt)
	if err != nil {
		t.Fatal(err)
	}
	if n := res.Counter("vindex.songs_embedded"); n != 96 {
		t.Errorf("songs embedded = %d, want 96", n)
	}
	if n := res.Counter("vindex.read.ranges"); n != 6 {
		t.Errorf("ranges read = %d, want 6 (96 songs of one row group in ranges of 16)", n)
	}
	t.Logf("counters: %v", res.Counters())
	return res.Counter("vindex.read.bundles")
}

// TestEmbedOneRowGroup: a one-row-group file is cut into ranges on prism.
func TestEmbedOneRowGroup(t *testing.T) {
	if n := runOneGroup(t, oneGroupCatalog(t), runners.Options{}); n < 1 {
		t.Errorf("bundles that read = %d, want at least 1", n)
	}
}

// TestFlinkEmbedOneRowGroup (issue 11.3): on Flink, the songs of a
// one-row-group file are read (and embedded: reading and embedding are one
// fused stage) in more than one bundle, as the read.bundles counter shows.
func TestFlinkEmbedOneRowGroup(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a JVM: skipped with -short")
	}
	cfg := oneGroupCatalog(t)
	js := flinktest.Start(t)
	n := runOneGroup(t, cfg, runners.Options{Runner: runners.Flink, Endpoint: js.Endpoint, JobName: "vindex-onegroup-test"})
	t.Logf("flink %s: the one row group was read in %d bundles", js.Version, n)
	if n < 2 {
		t.Errorf("flink read the one-row-group file in %d bundle(s), want more than one", n)
	}
}
