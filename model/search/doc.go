// Package search answers exact k-nearest-neighbour queries over a catalog of
// embeddings, with the similarities of model/metrics, and owns the search
// file, a flat binary copy of an index's vectors that loads without Parquet.
//
// # Exactness
//
// Search scores every catalog row: blocks of the catalog (Options.Block
// rows) are spread over goroutines, each keeping a bounded heap per query,
// and the heaps are merged. Results are ordered by descending score, ties by
// ascending row, and rows are in ascending song_id order, so ties go to the
// smaller song_id. Vectors are prepared as model/metrics prepares its
// catalog (unit vectors for cosine, centred unit vectors for pearson, raw
// vectors with bias −‖x‖²/2 for sqeuclidean) and each dot product uses the
// same arithmetic as metrics' tile kernel (metrics.DotRow), so
// a query's ranking is the ranking metrics evaluates. Index.Similarity turns
// a score into the value remove-spec.md §3.1 defines: the cosine, the
// Pearson correlation, or the sqeuclidean distance (‖q‖²+‖x‖²−2q·x+1e-12)/d.
//
// # Deviations
//
//   - The sqeuclidean distance is recovered from the ranking score in
//     float64 ((‖q‖² − 2·score + 1e-12)/d); the reference computes it in
//     float32, so printed distances may differ in the last float32 digits.
//     The order is that of metrics.
//   - Rows metrics rejects (NaN/Inf, zero under cosine, constant under
//     pearson) are left out and listed in Index.Skipped.
//
// # Search file (FileName, "search.vxs")
//
// "VXSRCH01", n and dim as uint64, n·dim raw float32 vectors, then four
// string columns (song_id, work_id, title, artist), each n uint32 lengths
// and the bytes; little-endian. Readers check every declared size against
// the file's size before allocating (Security considerations: a hostile
// file can make ReadFile allocate at most about its own size).
//
// # Concurrency
//
// An Index is immutable after New and safe for concurrent use; Search uses
// up to GOMAXPROCS goroutines.
package search
