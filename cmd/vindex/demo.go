package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/vindex/vindex/pipelines/demo"
	"github.com/vindex/vindex/storage"
)

func init() {
	register(command{name: "demo", summary: "synthesise a small catalog and index it end to end (no downloads)", run: runDemo})
}

const demoHelp = `
Runs vindex end to end on this machine with nothing to download: synthesises a small Da-TACOS-shaped catalog
(30 works × 4 versions + 20 noise songs), creates seeded MOVE weights — UNTRAINED, so the figures show the
pipeline working, not MOVE's accuracy; bring the released Re-MOVE weights with --weights — and runs 'vindex
index' (embed → PCA → reduce → evaluate) on the embedded prism runner. Prints where the outputs are and the
evaluation table.`

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", "[--out DIR] [--weights FILE]", demoHelp, stderr)
	dir := fs.String("out", "vindex-demo", "working folder (features/, weights, index/)")
	weights := fs.String("weights", "", "a real MOVE / Re-MOVE checkpoint instead of seeded untrained weights")
	rf := addRunnerFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if !storage.IsLocal(*dir) { // the demo synthesises and writes with the os package
		return fmt.Errorf("demo: --out %s: the demo's working folder must be a local path", *dir)
	}
	start := time.Now()
	cfg := demo.DefaultConfig(*dir)
	cfg.Weights = *weights
	fmt.Fprintf(stdout, "vindex demo: synthesising %d works × %d versions + %d noise songs into %s\n",
		cfg.Catalog.Works, cfg.Catalog.Versions, cfg.Catalog.Noise, filepath.Join(*dir, "features"))
	prep, err := demo.Prepare(cfg)
	if err != nil {
		return err
	}
	if prep.Untrained {
		fmt.Fprintf(stdout, "weights: %s — UNTRAINED (seeded initialisation): the figures below show the pipeline, not MOVE's accuracy\n", prep.Index.Weights)
	} else {
		fmt.Fprintf(stdout, "weights: %s\n", prep.Index.Weights)
	}
	info, err := runIndexPipeline(ctx, prep.Index, rf.options(stderr, int64(prep.Songs)), false)
	if err != nil || info == nil { // nil: a dry run
		return err
	}
	if err := printIndex(stdout, prep.Index.Out, info); err != nil {
		return err
	}
	out := prep.Index.Out
	fmt.Fprintf(stdout, "\nOutputs:\n  embeddings  %s\n  reducer     %s\n  compact     %s\n  rejects     %s\n  evaluation  %s (report.md, report.json, PNG plots)\n  index.json  %s\n",
		filepath.Join(out, "embeddings"), filepath.Join(out, "reducer.vxr"), filepath.Join(out, "compact"),
		filepath.Join(out, "rejects"), filepath.Join(out, "evaluation"), filepath.Join(out, "index.json"))
	fmt.Fprintf(stdout, "done in %s\n", time.Since(start).Round(100*time.Millisecond))
	return nil
}
