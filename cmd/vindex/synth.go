package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/vindex/vindex/importer/synth"
)

func init() {
	register(command{name: "synth", summary: "generate a synthetic Da-TACOS-shaped features catalog", run: runSynth})
}

const synthHelp = `
Writes a synthetic catalog of cremaPCP features (a features dataset folder: Parquet part files of songs and a
manifest). The default shape is Da-TACOS's benchmark: 1,000 works x 13 versions + 2,000 noise songs, durations
218 s +- 69 s (none under 30 s), at the model's hop (4096). Versions differ from their work's original by
transposition, tempo (0.7-1.4x), dropped or repeated sections, timbre, smoothing and noise. The output depends
only on the flags (the seed included). --small starts from a quick demo shape (30 x 4 + 20, ~40-60 s); flags
given explicitly override it.`

func runSynth(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("synth", "--out DIR [--works N --versions K --noise M --seed S] [flags]", synthHelp, stderr)
	def := synth.Default()
	small := fs.Bool("small", false, "start from the small demo shape (30 works x 4 versions + 20 noise, ~40-60 s)")
	works := fs.Int("works", def.Works, "works with several versions")
	versions := fs.Int("versions", def.Versions, "versions per work")
	noise := fs.Int("noise", def.Noise, "noise songs (works with one version)")
	seed := fs.Uint64("seed", def.Seed, "seed: the whole catalog follows from it")
	out := fs.String("out", "", "output folder (local; must not hold a dataset)")
	hop := fs.Int("hop", def.Hop, "frame hop: 4096 (model rate) or 512 (Da-TACOS storage rate, frames repeated x8)")
	mean := fs.Float64("mean-duration", def.MeanDurationS, "mean duration, seconds")
	sd := fs.Float64("sd-duration", def.SDDurationS, "standard deviation of durations, seconds")
	minD := fs.Float64("min-duration", def.MinDurationS, "minimum duration, seconds (>= 30)")
	maxD := fs.Float64("max-duration", def.MaxDurationS, "maximum duration, seconds")
	level := fs.Float64("noise-level", def.NoiseLevel, "scale of the per-version additive noise (0: none)")
	perFile := fs.Int("songs-per-file", 0, "songs per Parquet file (0: 1000)")
	rowGroup := fs.Int64("row-group-rows", 0, "songs per row group (0: the schema default, 256)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		fs.Usage()
		return usageErr(fmt.Errorf("synth: --out is required"))
	}
	cfg := def
	if *small {
		cfg = synth.Small()
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	apply := func(name string, f func()) {
		if set[name] || !*small {
			f()
		}
	}
	apply("works", func() { cfg.Works = *works })
	apply("versions", func() { cfg.Versions = *versions })
	apply("noise", func() { cfg.Noise = *noise })
	apply("hop", func() { cfg.Hop = *hop })
	apply("mean-duration", func() { cfg.MeanDurationS = *mean })
	apply("sd-duration", func() { cfg.SDDurationS = *sd })
	apply("min-duration", func() { cfg.MinDurationS = *minD })
	apply("max-duration", func() { cfg.MaxDurationS = *maxD })
	apply("noise-level", func() { cfg.NoiseLevel = *level })
	apply("songs-per-file", func() { cfg.SongsPerFile = *perFile })
	apply("row-group-rows", func() { cfg.RowGroupRows = *rowGroup })
	cfg.Seed = *seed
	if err := cfg.Validate(); err != nil {
		return err
	}
	sum, err := synth.Generate(cfg, *out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "synth: wrote %d songs (%d works) in %d files to %s; durations %.1f s +- %.1f s (min %.1f, max %.1f); %d frames at hop %d\n",
		sum.Songs, sum.Works, sum.Files, *out, sum.MeanDurationS, sum.SDDurationS, sum.MinDurationS, sum.MaxDurationS, sum.Frames, cfg.Hop)
	return nil
}
