package main

import (
	"context"
	"fmt"
	"io"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/vindex/vindex/pipelines/index"
	"github.com/vindex/vindex/pipelines/reindex"
	"github.com/vindex/vindex/runners"
)

func init() {
	register(command{name: "reindex", summary: "bring an index up to date with a catalog, embedding only what changed", run: runReindex})
}

const reindexHelp = `
The nightly job. Embeds only the catalog's songs whose content hash (features, preprocessing, model id) the
current version of the index DIR does not hold, carries the others over, drops removed songs, reuses the
current reducer (or fits a new one with --refit, or when the model changed), evaluates when the catalog carries
work_ids, and publishes DIR/vNNNN, switching DIR/CURRENT atomically only once the version is complete. Prints
added / changed / removed / carried counts and the change in MAP. The first run (no CURRENT) builds v0001 and
needs --weights.

DIR may be a URI (gs://bucket/index). One run at a time: DIR/LOCK (owner, host, pid, start time) keeps a second
run from starting (it fails naming the holder, or waits with --wait); the run refreshes it while it works, and a
lock not refreshed for --lock-stale (a killed run's) is broken.
CURRENT is replaced only if it still names the version the run started from (a generation precondition on GCS),
so a run that lost a race exits 1 naming the version that won. A failed or killed run's incomplete version is
removed by the next run; after a successful switch, versions beyond the newest --keep are removed (never the
current one). 'vindex versions' lists versions, 'vindex rollback' switches back.`

func runReindex(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("reindex", "--catalog GLOB --index DIR [--weights FILE] [--refit] [flags]", reindexHelp, stderr)
	var cfg reindex.Config
	fs.StringVar(&cfg.Catalog, "catalog", "", "glob of the catalog's feature Parquet files")
	fs.StringVar(&cfg.Index, "index", "", "index folder (versions v0001, v0002, … and CURRENT)")
	fs.StringVar(&cfg.Weights, "weights", "", "checkpoint (default: the current version's)")
	fs.BoolVar(&cfg.Refit, "refit", false, "fit a new reducer instead of reusing the current one")
	mf := addModelFlags(fs, &cfg.Model)
	xf := addIndexFlags(fs, false)
	rf := addRunnerFlags(fs)
	tf := addReindexFlags(fs, &cfg)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	mf.apply()
	var ic index.Config
	if err := xf.apply(&ic); err != nil {
		return fmt.Errorf("reindex: %w", err)
	}
	cfg.Fit, cfg.Normalize, cfg.Distance, cfg.GroupBy, cfg.Shards = ic.Fit, ic.Normalize, ic.Distance, ic.GroupBy, ic.Shards
	cfg.Command = commandLine()
	plan, err := reindex.Prepare(ctx, cfg)
	if err != nil {
		return usageIfMissing(err, fs, "catalog", "index")
	}
	defer plan.Close()
	p, s := beam.NewPipelineWithRoot()
	reindex.Build(s, plan)
	res, err := runners.Run(ctx, p, rf.options(stderr, expectedRows(cfg.Catalog)))
	if err != nil {
		return fmt.Errorf("reindex: %w (the current version is unchanged)", err)
	}
	if rf.dryRun {
		return plan.Discard(ctx)
	}
	sum, err := reindex.Publish(plan, res.Counters())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: version %s is current (previous: %s)\n", cfg.Index, sum.Version, orNone(sum.Previous))
	fmt.Fprintf(stdout, "  added %d, changed %d, removed %d, carried %d; embedded %d, rejected %d\n",
		sum.Added, sum.Changed, sum.Removed, sum.Carried, sum.Embedded, sum.Rejected)
	if sum.Refit {
		fmt.Fprintf(stdout, "  reducer refitted: %s\n", sum.Reducer)
	} else if sum.Reducer != "" {
		fmt.Fprintf(stdout, "  reducer reused: %s\n", sum.Reducer)
	}
	switch {
	case sum.DeltaMAP != nil:
		fmt.Fprintf(stdout, "  MAP %.4f (previous %.4f, change %+.4f)\n", *sum.MAP, *sum.PrevMAP, *sum.DeltaMAP)
	case sum.MAP != nil:
		fmt.Fprintf(stdout, "  MAP %.4f\n", *sum.MAP)
	}
	return reindexOutcome(stdout, sum, tf)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
