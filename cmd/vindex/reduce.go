package main

import (
	"context"
	"fmt"
	"io"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/vindex/vindex/pipelines/compact"
	"github.com/vindex/vindex/runners"
)

func init() {
	register(command{name: "reduce", summary: "apply a fitted reducer to embeddings", run: runReduce})
}

const reduceHelp = `
Applies the reducer FILE written by 'vindex fit' to the embedding rows of the Parquet files GLOB names and
writes the reduced rows to DIR/embeddings (every column kept; embedding is the reduced vector, reducer the
reducer's id) and refused rows, with reasons, to DIR/rejects: rows of another model or dimension than the
reducer was fitted on, already reduced rows and rows with non-finite values.`

func runReduce(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("reduce", "--reducer FILE --in GLOB --out DIR [--normalize] [flags]", reduceHelp, stderr)
	var cfg compact.Config
	fs.StringVar(&cfg.Reducer, "reducer", "", "reducer file written by 'vindex fit'")
	fs.StringVar(&cfg.In, "in", "", "glob of embedding Parquet files")
	fs.StringVar(&cfg.Out, "out", "", "output folder")
	fs.BoolVar(&cfg.Normalize, "normalize", false, "scale reduced embeddings to unit length")
	fs.IntVar(&cfg.Shards, "shards", 0, "number of output files (0: automatic)")
	overwrite := addOverwriteFlag(fs)
	rf := addRunnerFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg.Command = commandLine()
	if err := cfg.Validate(); err != nil {
		return usageIfMissing(err, fs, "reducer", "in", "out")
	}
	opts := rf.options(stderr, expectedRows(cfg.In))
	if err := opts.Validate(); err != nil {
		return fmt.Errorf("reduce: %w", err)
	}
	if err := verifyEnclosingIndex("reduce", cfg.In); err != nil {
		return err
	}
	out, err := startOutput(ctx, "reduce", cfg.Out, *overwrite, rf.dryRun, cfg.In, cfg.Reducer)
	if err != nil {
		return err
	}
	defer out.Abort()
	cfg.Out = out.Dir
	p, s := beam.NewPipelineWithRoot()
	compact.Build(s, cfg)
	_, err = runners.Run(ctx, p, opts)
	if err != nil {
		return fmt.Errorf("reduce: %w", err)
	}
	if opts.DryRun {
		return nil
	}
	if err := out.Commit(); err != nil {
		return fmt.Errorf("reduce: %w", err)
	}
	fmt.Fprintf(stdout, "embeddings: %s\nrejects:    %s\n", compact.EmbeddingsDir(out.Final), compact.RejectsDir(out.Final))
	return nil
}
