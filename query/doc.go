// Package query answers k-nearest-neighbour questions over a published
// index: it loads one version of an index folder and searches it. Both
// 'vindex query' (one process per question) and package serve (an HTTP
// service that swaps versions under load) use it, so their answers are the
// same.
//
// # Loading
//
// Load resolves an index folder to its current version (the folder CURRENT
// names, or the folder itself when it holds index.json and no CURRENT),
// reads index.json, then the vectors: the version's search file
// (model/search's "search.vxs") when present, else the Parquet dataset
// index.json names ("compact" or "embeddings"; only the files its manifest
// lists). Every file is read through Beam's filesystem layer, so an index
// may live at a local path or at any registered URI scheme (gs:// is
// registered here). Verify is the one place a loaded version is checked
// before use; with Options.Embedder the index's own weights and reducer are
// loaded too, so feature rows can be embedded into the index's space.
//
// # Answers
//
// Version.Neighbors is exact: model/search scores every song with the
// project's vector kernels, spreading catalog blocks over all cores (a
// single large request uses every core), and orders ties by song_id, as the
// evaluation does. A query song of the index is never its own neighbour;
// a feature row whose song_id is in the index excludes that song too.
//
// # Concurrency
//
// A Version is immutable after Load and safe for concurrent use; its
// Embedder keeps a pool of networks, one per concurrent caller. A Version
// holds its vectors in memory (n·d float32 plus ids and metadata).
//
// # Security considerations
//
// index.json, manifests and reports are read whole up to 64 MiB, data files
// up to 16 GiB; model/search checks a search file's declared sizes against
// its length before allocating, and Parquet rows are validated
// (schema.ValidateEmbedding). Feature rows of a request are validated with
// schema.ValidateSong before the network runs.
package query
