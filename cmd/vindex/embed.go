package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/vindex/vindex/model"
	"github.com/vindex/vindex/pipelines/embed"
	"github.com/vindex/vindex/runners"
)

func init() {
	register(command{name: "embed", summary: "embed a Parquet catalog with a MOVE / Re-MOVE checkpoint", run: runEmbed})
}

const embedHelp = `
Reads the feature rows (schema.Song: song_id, crema, hop, ...) of the Parquet files GLOB names, applies the
MOVE / Re-MOVE network of the checkpoint FILE (a PyTorch .pt state_dict, zip or legacy format, or
.safetensors) and writes embedding rows to DIR/embeddings and refused songs, with reasons, to DIR/rejects.
Each folder gets a _manifest.json written last; readers trust only what it lists.`

func runEmbed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("embed", "--weights FILE --in GLOB --out DIR [flags]", embedHelp, stderr)
	var cfg embed.Config
	fs.StringVar(&cfg.Weights, "weights", "", "checkpoint: PyTorch .pt (state_dict) or .safetensors; local path or gs:// URI")
	fs.StringVar(&cfg.In, "in", "", "glob of feature Parquet files")
	fs.StringVar(&cfg.Out, "out", "", "output folder")
	fs.IntVar(&cfg.Shards, "shards", 0, "number of rejects files (0: automatic; embeddings are written one file per bundle of work)")
	mf := addModelFlags(fs, &cfg.Model)
	overwrite := addOverwriteFlag(fs)
	rf := addRunnerFlags(fs)
	tf := addThresholdFlags(fs, false)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	mf.apply()
	cfg.Command = commandLine()
	if err := cfg.Validate(ctx); err != nil {
		return usageIfMissing(err, fs, "weights", "in", "out")
	}
	out, err := startOutput(ctx, "embed", cfg.Out, *overwrite, rf.dryRun, cfg.In, cfg.Weights)
	if err != nil {
		return err
	}
	defer out.Abort()
	cfg.Out = out.Dir
	p, s := beam.NewPipelineWithRoot()
	embed.Build(s, cfg)
	_, err = runners.Run(ctx, p, rf.options(stderr, expectedRows(cfg.In)))
	if err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	if rf.dryRun {
		return nil
	}
	if err := out.Commit(); err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	fmt.Fprintf(stdout, "embeddings: %s\nrejects:    %s\n", embed.EmbeddingsDir(out.Final), embed.RejectsDir(out.Final))
	return checkDatasetRejects(embed.EmbeddingsDir(out.Final), embed.RejectsDir(out.Final), tf.maxRejectRate)
}

// modelFlags are the flags that choose what a checkpoint's shapes leave open.
type modelFlags struct {
	cfg                 *model.Config
	sumMethod, finalAct int
}

func addModelFlags(fs *flag.FlagSet, cfg *model.Config) *modelFlags {
	m := &modelFlags{cfg: cfg}
	fs.IntVar(&m.sumMethod, "sum-method", -1, "summarisation 0..4 where the checkpoint's shapes do not decide it (-1: infer; 512-channel conv5 → 4)")
	fs.IntVar(&m.finalAct, "final-activation", -1, "final activation 0..3 where the checkpoint's keys do not decide it (-1: infer)")
	fs.BoolVar(&cfg.PadShort, "pad-short", false, "zero-pad songs shorter than 320 frames (≈29.7 s) instead of rejecting them (a deviation from the reference)")
	return m
}

func (m *modelFlags) apply() {
	if m.sumMethod >= 0 {
		m.cfg.SumMethod = model.Int(m.sumMethod)
	}
	if m.finalAct >= 0 {
		m.cfg.FinalActivation = model.Int(m.finalAct)
	}
}
