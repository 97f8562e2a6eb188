package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/vindex/vindex/model/metrics"
	"github.com/vindex/vindex/model/reduce"
	"github.com/vindex/vindex/pipelines/index"
	"github.com/vindex/vindex/runners"
)

func init() {
	register(command{name: "index", summary: "embed → fit → reduce → evaluate a catalog in one pipeline", run: runIndex})
}

const indexHelp = `
Indexes a catalog in one Beam pipeline: reads the feature rows GLOB names, embeds them with the checkpoint FILE,
fits a reducer (PCA by default; --method none to keep full embeddings) or applies --reducer, reduces, and — when
the catalog carries work_ids — evaluates both the full and the reduced embeddings. DIR receives embeddings/,
reducer.vxr, compact/, rejects/, evaluation/ and, written last, index.json.`

// indexFlags are the flags index and reindex share.
type indexFlags struct {
	method, distance  string
	groupBy           listFlag
	dim               int
	whiten, normalize bool
	evaluate          bool
	shards            int
	seed              uint64
	sample            int
}

// addIndexFlags adds the flags index and reindex share; --evaluate only
// where the command lets the user choose (reindex evaluates whenever the
// catalog carries work_ids).
func addIndexFlags(fs *flag.FlagSet, evaluateFlag bool) *indexFlags {
	f := &indexFlags{}
	fs.StringVar(&f.method, "method", "pca", "reducer to fit: pca, ica, grp or none")
	fs.IntVar(&f.dim, "dim", 256, "dimension of the reduced embeddings")
	fs.BoolVar(&f.whiten, "whiten", false, "PCA: scale components to unit variance")
	fs.BoolVar(&f.normalize, "normalize", false, "scale reduced embeddings to unit length")
	fs.IntVar(&f.sample, "sample", 0, "ICA: fit on this many songs (a seeded sample; 0: 10000)")
	fs.Uint64Var(&f.seed, "seed", 0, "seed of the ICA sample and GRP matrix")
	f.evaluate = true
	if evaluateFlag {
		fs.BoolVar(&f.evaluate, "evaluate", true, "score the embeddings (the catalog must carry work_ids)")
	}
	fs.StringVar(&f.distance, "distance", "", "cosine, sqeuclidean or pearson (default: the model's, cosine for Re-MOVE)")
	fs.Var(&f.groupBy, "group-by", "column to group MAP/MR1 by, besides clique size (repeat or comma-separate for several)")
	fs.IntVar(&f.shards, "shards", 0, "output files per dataset (0: automatic; embeddings are written one file per bundle of work)")
	return f
}

func (f *indexFlags) apply(cfg *index.Config) error {
	if f.method != "none" {
		m, err := reduce.ParseMethod(f.method)
		if err != nil {
			return err
		}
		cfg.Fit.Method, cfg.Fit.K, cfg.Fit.Whiten, cfg.Fit.Seed, cfg.Fit.Sample = m, f.dim, f.whiten, f.seed, f.sample
	}
	cfg.Normalize, cfg.Evaluate, cfg.Shards = f.normalize, f.evaluate, f.shards
	cfg.Distance = metrics.Distance(f.distance)
	cfg.GroupBy = f.groupBy
	return nil
}

func runIndex(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("index", "--weights FILE --in GLOB --out DIR [flags]", indexHelp, stderr)
	var cfg index.Config
	fs.StringVar(&cfg.Weights, "weights", "", "checkpoint: PyTorch .pt (state_dict) or .safetensors")
	fs.StringVar(&cfg.In, "in", "", "glob of feature Parquet files")
	fs.StringVar(&cfg.Out, "out", "", "index folder to write")
	fs.StringVar(&cfg.Reducer, "reducer", "", "apply this reducer file instead of fitting one")
	mf := addModelFlags(fs, &cfg.Model)
	xf := addIndexFlags(fs, true)
	overwrite := addOverwriteFlag(fs)
	rf := addRunnerFlags(fs)
	tf := addThresholdFlags(fs, false)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	mf.apply()
	if err := xf.apply(&cfg); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	cfg.Command = commandLine()
	info, err := runIndexPipeline(ctx, cfg, rf.options(stderr, expectedRows(cfg.In)), *overwrite)
	if err != nil || info == nil { // nil: a dry run
		return usageIfMissing(err, fs, "weights", "in", "out")
	}
	if err := printIndex(stdout, cfg.Out, info); err != nil {
		return err
	}
	return runners.CheckRejectRate(info.Songs, info.Rejected, tf.maxRejectRate)
}

// runIndexPipeline validates cfg, runs the index pipeline into a staging
// folder beside cfg.Out, writes index.json and switches the folder into
// place (output.go); an existing output is replaced only with overwrite.
func runIndexPipeline(ctx context.Context, cfg index.Config, opt runners.Options, overwrite bool) (*index.Info, error) {
	if err := cfg.Validate(ctx); err != nil {
		return nil, err
	}
	out, err := startOutput(ctx, "index", cfg.Out, overwrite, opt.DryRun, cfg.In, cfg.Weights, cfg.Reducer)
	if err != nil {
		return nil, err
	}
	defer out.Abort()
	cfg.Out = out.Dir
	p, s := beam.NewPipelineWithRoot()
	index.Build(s, cfg)
	res, err := runners.Run(ctx, p, opt)
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	if opt.DryRun {
		return nil, nil
	}
	info, err := index.Finish(cfg, res.Counters())
	if err != nil {
		return nil, err
	}
	if err := out.Commit(); err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	return info, nil
}

func printIndex(w io.Writer, dir string, info *index.Info) error {
	fmt.Fprintf(w, "index %s: %d songs embedded (model %s, d=%d), %d rejected", dir, info.Songs, info.Model, info.Dim, info.Rejected)
	if info.Reducer != "" {
		fmt.Fprintf(w, ", reduced to %d by %s", info.OutDim, info.Reducer)
	}
	fmt.Fprintln(w)
	reports, err := info.ReadReports(dir)
	if err != nil {
		return err
	}
	if len(reports) > 0 {
		fmt.Fprintf(w, "\nEvaluation (%s similarity; MAP / MR1, the paper's table shape):\n\n%s", info.Distance, metrics.ComparisonTable(reports))
	}
	return nil
}
