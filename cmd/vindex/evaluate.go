package main

import (
	"context"
	"fmt"
	"io"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/vindex/vindex/model/metrics"
	"github.com/vindex/vindex/pipelines/evaluate"
	"github.com/vindex/vindex/runners"
	"github.com/vindex/vindex/storage"
	"github.com/vindex/vindex/transforms"
)

func init() {
	register(command{name: "evaluate", summary: "version-retrieval metrics (MAP, MR1, MRR, Top-k) of embedding sets", run: runEvaluate})
}

const evaluateHelp = `
Computes the version-retrieval metrics of each embedding set (Parquet, schema.Embedding) exactly as the original
Re-MOVE evaluation defines them: MAP, MR1 (mean rank of the first version over queries with versions), the
reference's MR/MRR (a query without versions counting as rank 1), Top1/Top10 counts and rates; grouped by clique
size and by each --group-by column. Writes, per set, DIR/<i>-<name>/report.json, report.md, PNG plots and
queries.parquet (song_id, work_id, versions, first_rank, ap, top10), and prints one comparison table (rows:
model/reducer, columns: dimension).

The distance defaults to the one recorded for the set's model id: cosine (the released Re-MOVE model's) unless
the id names a triplet-trained model (-triplet, -loss0, -loss1, MOVE's -d16000/-d4000: sqeuclidean) or a
Group-loss one (-group, -loss3: pearson).`

func runEvaluate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("evaluate", "--in GLOB [--in GLOB...] --out DIR [--distance cosine|sqeuclidean|pearson] [--group-by COL]", evaluateHelp, stderr)
	var cfg evaluate.Config
	var in, groupBy listFlag
	var distance string
	fs.Var(&in, "in", "embedding set: glob, file or dataset folder (repeat, or comma-separate, for several sets)")
	fs.StringVar(&cfg.Out, "out", "", "output folder (local)")
	fs.StringVar(&distance, "distance", "", "cosine, sqeuclidean or pearson (default: the model's, see above)")
	fs.Var(&groupBy, "group-by", "column to group MAP/MR1 by: year, instrumental, artist, title, duration_s or an extra column (repeat or comma-separate for several)")
	fs.IntVar(&cfg.PairQueries, "pair-queries", 0, "queries per block; an element scores a block against itself and half the others (0: 1024)")
	fs.IntVar(&cfg.Workers, "workers", 0, "goroutines per work element (0: GOMAXPROCS)")
	overwrite := addOverwriteFlag(fs)
	rf := addRunnerFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg.In, cfg.GroupBy = in, groupBy
	if distance != "" {
		d, err := metrics.ParseDistance(distance)
		if err != nil {
			return fmt.Errorf("evaluate: %w", err)
		}
		cfg.Distance = d
	}
	if err := cfg.Validate(); err != nil {
		return usageIfMissing(err, fs, "in", "out")
	}
	for _, set := range cfg.In {
		if err := verifyEnclosingIndex("evaluate", set); err != nil {
			return err
		}
	}
	out, err := startOutput(ctx, "evaluate", cfg.Out, *overwrite, rf.dryRun, cfg.In...)
	if err != nil {
		return err
	}
	defer out.Abort()
	cfg.Out = out.Dir
	p, s := beam.NewPipelineWithRoot()
	evaluate.Build(s, cfg)
	_, err = runners.Run(ctx, p, rf.options(stderr, expectedRows(cfg.In...)))
	if err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	if rf.dryRun {
		return nil
	}
	if err := out.Commit(); err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	var reports []*metrics.Report
	for i, set := range cfg.In {
		dir := evaluate.SetDir(out.Final, i, set)
		r, err := transforms.ReadReport(context.Background(), storage.Join(dir, transforms.ReportFile))
		if err != nil {
			return fmt.Errorf("evaluate: %w", err)
		}
		reports = append(reports, r)
		f := r.Overall
		fmt.Fprintf(stdout, "%s: %s d=%d %s: %d songs (%d queries with versions, %d rejected): MAP %.3f MR1 %.2f Top1 %d Top10 %d (ref MR %.3f MRR %.3f)\n",
			dir, r.Method(), r.Dim, r.Distance, r.CatalogSize, r.QueriesWithVersions, r.Rejected, f.MAP, f.MR1, f.Top1, f.Top10, f.RefMR, f.RefMRR)
	}
	fmt.Fprintf(stdout, "\n%s", metrics.ComparisonTable(reports))
	return nil
}
