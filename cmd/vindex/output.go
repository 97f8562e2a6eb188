package main

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/vindex/vindex/pipelines/index"
	"github.com/vindex/vindex/pipelines/reindex"
	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/storage"
	"github.com/vindex/vindex/transforms"
)

// outputMarkers are what makes a folder a vindex output that only
// --overwrite may replace: a dataset, a folder of datasets or reports, an
// index or a reindexed folder.
var outputMarkers = []string{
	schema.ManifestName,
	"*/" + schema.ManifestName,
	"*/" + transforms.ReportFile,
	index.InfoFile,
	reindex.CurrentFile,
	"v[0-9][0-9][0-9][0-9]/" + index.InfoFile,
}

// addOverwriteFlag adds --overwrite to a command that writes an output folder.
func addOverwriteFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("overwrite", false, "replace an output folder that already holds a dataset or an index (the new output is written beside it and switched in atomically when complete)")
}

// startOutput checks the output folder final of command cmd and returns the
// staging folder to write instead (storage.StartOutput). With dryRun nothing
// is written: final itself is returned, unchecked, and Commit does nothing.
func startOutput(ctx context.Context, cmd, final string, overwrite, dryRun bool, inputs ...string) (*storage.Output, error) {
	if dryRun {
		return &storage.Output{Final: final, Dir: final}, nil
	}
	out, err := storage.StartOutput(ctx, final, storage.OutputOptions{Overwrite: overwrite, Markers: outputMarkers, Inputs: inputs})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	return out, nil
}

// verifyEnclosingIndex verifies the index a dataset pattern reads from, if
// it lies inside one (an index folder or a reindexed version holds
// index.json one level above its datasets): evaluating the compact
// embeddings of a folder that mixes two runs is refused like a query of it.
func verifyEnclosingIndex(cmd, pattern string) error {
	if !storage.IsLocal(pattern) {
		return nil
	}
	p := pattern
	if i := strings.IndexAny(p, "*?["); i >= 0 {
		p = filepath.Dir(p[:i] + "x")
	}
	p = strings.TrimSuffix(p, "/")
	if strings.HasSuffix(p, ".parquet") {
		p = filepath.Dir(p)
	}
	for range 2 {
		if ok, _ := storage.Exists(context.Background(), filepath.Join(p, index.InfoFile)); ok {
			if err := index.Verify(p); err != nil {
				return fmt.Errorf("%s: input %s: %w", cmd, pattern, err)
			}
			return nil
		}
		p = filepath.Dir(p)
	}
	return nil
}
