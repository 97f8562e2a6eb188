package main

import (
	"context"
	"fmt"
	"io"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/vindex/vindex/model/reduce"
	"github.com/vindex/vindex/pipelines/fit"
	"github.com/vindex/vindex/runners"
	"github.com/vindex/vindex/storage"
	"github.com/vindex/vindex/transforms"
)

func init() {
	register(command{name: "fit", summary: "fit a PCA, FastICA or Gaussian random projection reducer to embeddings", run: runFit})
}

const fitHelp = `
Reads the embedding rows (schema.Embedding) of the Parquet files GLOB names and fits a reducer to K dimensions:
  pca  principal components of every embedding (mergeable moments, exact); --whiten for unit-variance outputs
  ica  FastICA (logcosh, parallel) on a seeded sample of --sample embeddings (ICA is not mergeable)
  grp  Gaussian random projection with N(0, 1/K) entries drawn from --seed
The reducer FILE is self-describing (method, dims, mean, matrix, seed, fit count, explained variance, source
model id); 'vindex reduce' applies it. The embeddings must all come from one model and have one dimension.`

func runFit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fit", "--method pca|ica|grp --dim K --in GLOB --out FILE [flags]", fitHelp, stderr)
	var cfg fit.Config
	method := fs.String("method", "pca", "reduction method: pca, ica or grp")
	fs.IntVar(&cfg.Fit.K, "dim", 0, "output dimension K")
	fs.StringVar(&cfg.In, "in", "", "glob of embedding Parquet files")
	fs.StringVar(&cfg.Out, "out", "", "reducer file to write")
	fs.StringVar(&cfg.Rejects, "rejects", "", "folder for embedding rows that could not be read (default: not written)")
	fs.BoolVar(&cfg.Fit.Whiten, "whiten", false, "pca: scale outputs to unit variance")
	fs.IntVar(&cfg.Fit.Sample, "sample", 0, fmt.Sprintf("ica: number of embeddings to fit on (0: %d)", transforms.DefaultICASample))
	fs.Uint64Var(&cfg.Fit.Seed, "seed", 0, "ica/grp: random seed (ICA sample and initial matrix, GRP matrix)")
	fs.IntVar(&cfg.Fit.MaxIter, "max-iter", 0, "ica: maximum iterations (0: 200)")
	fs.Float64Var(&cfg.Fit.Tol, "tol", 0, "ica: convergence tolerance (0: 1e-4)")
	rf := addRunnerFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	m, err := reduce.ParseMethod(*method)
	if err != nil {
		return fmt.Errorf("fit: --method: %w", err)
	}
	cfg.Fit.Method = m
	if cfg.Fit.Method == reduce.ICA && cfg.Fit.Sample == 0 {
		cfg.Fit.Sample = transforms.DefaultICASample
	}
	cfg.Command = commandLine()
	if err := cfg.Validate(); err != nil {
		return usageIfMissing(err, fs, "in", "out")
	}
	opts := rf.options(stderr, expectedRows(cfg.In))
	if err := opts.Validate(); err != nil {
		return fmt.Errorf("fit: %w", err)
	}
	if ok, _ := storage.Exists(ctx, cfg.Out); ok && !opts.DryRun {
		fmt.Fprintf(stderr, "vindex fit: %s exists and will be replaced\n", cfg.Out)
	}
	p, s := beam.NewPipelineWithRoot()
	fit.Build(s, cfg)
	_, err = runners.Run(ctx, p, opts)
	if err != nil {
		return fmt.Errorf("fit: %w", err)
	}
	if opts.DryRun {
		return nil
	}
	{
		r, _, err := transforms.ReadReducer(ctx, cfg.Out)
		if err != nil {
			return fmt.Errorf("fit: no reducer written (did %s hold any embedding?): %w", cfg.In, err)
		}
		info := r.Info()
		fmt.Fprintf(stdout, "reducer: %s (%s)\nmethod %s, %d → %d, model %q, fitted on %d embeddings\n",
			cfg.Out, r.ID(), info.Method, info.InDim, info.OutDim, info.Model, info.FitCount)
		if info.ExplainedVarianceRatio != nil {
			sum := 0.0
			for _, v := range info.ExplainedVarianceRatio {
				sum += v
			}
			fmt.Fprintf(stdout, "explained variance: %.4f of the total\n", sum)
		}
		if info.Method == reduce.ICA {
			fmt.Fprintf(stdout, "FastICA: %d iterations, converged %v (sample of at most %d embeddings)\n",
				info.Iterations, info.Converged, cfg.Fit.Sample)
		}
	}
	return nil
}
