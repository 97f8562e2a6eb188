package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/vindex/vindex/pipelines/reindex"
	"github.com/vindex/vindex/runners"
)

func init() {
	register(command{name: "versions", summary: "list the versions of an index (date, songs, model, reducer, MAP)", run: runVersions})
	register(command{name: "rollback", summary: "make an earlier version of an index current again", run: runRollback})
}

// addLockFlags adds the flags of the commands that write an index's CURRENT.
func addLockFlags(fs *flag.FlagSet, wait, stale *time.Duration) {
	fs.DurationVar(wait, "wait", 0, "wait up to this long for another run's lock on the index (0: fail at once, naming the holder)")
	if stale != nil {
		fs.DurationVar(stale, "lock-stale", reindex.DefaultLockStale, "break a lock not refreshed for this long (a live run refreshes it every quarter of it; a killed run does not)")
	}
}

// addReindexFlags adds reindex's retention, lock and threshold flags.
func addReindexFlags(fs *flag.FlagSet, cfg *reindex.Config) *thresholdFlags {
	fs.IntVar(&cfg.Keep, "keep", reindex.DefaultKeep, "complete versions to keep after a successful switch, the current one always (0: keep all)")
	addLockFlags(fs, &cfg.Wait, &cfg.LockStale)
	return addThresholdFlags(fs, true)
}

// reindexOutcome prints what retention did and checks the thresholds.
func reindexOutcome(stdout io.Writer, sum *reindex.Summary, t *thresholdFlags) error {
	if sum.LockBroken {
		fmt.Fprintln(stdout, "  warning: this run's lock was broken as stale by another run while it worked (raise --lock-stale)")
	}
	if len(sum.Pruned) > 0 {
		fmt.Fprintf(stdout, "  removed old versions: %v\n", sum.Pruned)
	}
	if err := runners.CheckRejectRate(int64(sum.Added+sum.Changed+sum.Carried), sum.Rejected, t.maxRejectRate); err != nil {
		return err
	}
	return runners.CheckMAPDrop(sum.DeltaMAP, t.maxMAPDrop)
}

const versionsHelp = `
Lists the versions of the index DIR (a local folder or a URI such as gs://bucket/index), oldest first: name,
creation time, songs, model, reducer and headline MAP; '*' marks the current one, and a version without
index.json (a failed or killed run, removed by the next reindex) is marked incomplete.`

func runVersions(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("versions", "--index DIR", versionsHelp, stderr)
	dir := fs.String("index", "", "index folder (versions v0001, v0002, … and CURRENT)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		fs.Usage()
		return &runners.UsageError{Err: errors.New("versions: --index DIR is required")}
	}
	vs, err := reindex.Versions(ctx, *dir)
	if err != nil {
		return err
	}
	if len(vs) == 0 {
		fmt.Fprintf(stdout, "%s: no versions\n", *dir)
		return nil
	}
	fmt.Fprintf(stdout, "  %-7s %-20s %8s  %-28s %-28s %s\n", "version", "created", "songs", "model", "reducer", "MAP")
	for _, v := range vs {
		mark := " "
		if v.Current {
			mark = "*"
		}
		if !v.Complete {
			fmt.Fprintf(stdout, "%s %-7s incomplete (no index.json)\n", mark, v.Name)
			continue
		}
		m := "-"
		if v.MAP != nil {
			m = fmt.Sprintf("%.4f", *v.MAP)
		}
		red := v.Info.Reducer
		if red == "" {
			red = "-"
		}
		fmt.Fprintf(stdout, "%s %-7s %-20s %8d  %-28s %-28s %s\n", mark, v.Name, v.Info.Created.Format(time.DateTime),
			v.Info.Songs, v.Info.Model, red, m)
	}
	return nil
}

const rollbackHelp = `
Makes version NAME (a complete version of the index DIR) current again. CURRENT is switched with the same lock
and conditional write as a reindex, so a rollback and a nightly run never interleave; the versions after NAME
are kept (the next reindex numbers after the newest).`

func runRollback(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("rollback", "--index DIR --to vNNNN", rollbackHelp, stderr)
	dir := fs.String("index", "", "index folder")
	to := fs.String("to", "", "version to make current, e.g. v0003")
	var wait time.Duration
	addLockFlags(fs, &wait, nil)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dir == "" || *to == "" {
		fs.Usage()
		return &runners.UsageError{Err: errors.New("rollback: --index DIR and --to vNNNN are required")}
	}
	prev, err := reindex.Rollback(ctx, *dir, *to, wait, commandLine())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: version %s is current (was %s)\n", *dir, *to, orNone(prev))
	return nil
}
