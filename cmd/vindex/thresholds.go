package main

import (
	"flag"

	"github.com/vindex/vindex/runners"
	"github.com/vindex/vindex/schema"
)

// thresholdFlags turn a successful run into exit code 3 (runners.ExitThreshold)
// when it crossed a limit the scheduler cares about.
type thresholdFlags struct {
	maxRejectRate, maxMAPDrop float64
}

func addThresholdFlags(fs *flag.FlagSet, mapDrop bool) *thresholdFlags {
	t := &thresholdFlags{}
	fs.Float64Var(&t.maxRejectRate, "max-reject-rate", 0, "exit 3 (after publishing) if more than this fraction of songs was rejected (0: off)")
	if mapDrop {
		fs.Float64Var(&t.maxMAPDrop, "max-map-drop", 0, "exit 3 (after publishing) if MAP fell by more than this from the previous version (0: off)")
	}
	return t
}

// usageIfMissing marks err (a command's validation error) as a usage error,
// exit code 2, when one of the flags the command requires was not given.
func usageIfMissing(err error, fs *flag.FlagSet, required ...string) error {
	if err == nil {
		return nil
	}
	for _, name := range required {
		if f := fs.Lookup(name); f != nil && f.Value.String() == "" {
			return &runners.UsageError{Err: err}
		}
	}
	return err
}

// usageErr marks err as a usage error (exit code 2).
func usageErr(err error) error { return &runners.UsageError{Err: err} }

// checkDatasetRejects applies --max-reject-rate to a published pair of
// datasets, from their manifests (exact on every runner).
func checkDatasetRejects(rowsDir, rejectsDir string, limit float64) error {
	if limit <= 0 {
		return nil
	}
	rows, err := schema.ReadManifest(rowsDir)
	if err != nil {
		return err
	}
	rej, err := schema.ReadManifest(rejectsDir)
	if err != nil {
		return err
	}
	return runners.CheckRejectRate(rows.Rows, rej.Rows, limit)
}
