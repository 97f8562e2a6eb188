package transforms

import (
	"context"
	"fmt"

	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/storage"
)

// verifyListed checks a file its folder's manifest lists against the
// manifest's record before any row of it is read: it must exist, have the
// recorded size and, where the manifest records one, the recorded SHA-256
// (schema.VerifyFile). A mismatch is an error that fails the pipeline, not a
// reject: a dataset missing a file, or holding a swapped or truncated one,
// is not the dataset its manifest describes, and a run on part of it would
// report results on songs it never saw. Files no manifest lists pass.
//
// The hash is always checked: it costs one sequential read of the file,
// hashed at 480 MB/s on this project's 2-core test machine (schema's
// BenchmarkVerifyFile, 64 MiB in the page cache: 140 ms with the hash, 4 ms
// for the read alone), i.e. ~0.2 ms for a song's ~100 KB of features against
// ~200 ms to embed it, and ~0.2 s per 100,000 embeddings.
func verifyListed(ctx context.Context, o *storage.Opener, df datasetFile) error {
	if !schema.DatasetFile(df).Listed() {
		return nil
	}
	f, err := schema.OpenVerified(ctx, o, schema.DatasetFile(df), true)
	if err != nil {
		return fmt.Errorf("transforms: %w", err)
	}
	return f.Close()
}
