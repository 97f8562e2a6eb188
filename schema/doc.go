// Package schema defines the Parquet row types that cross vindex's boundaries:
// the feature rows of a catalog (Song), the embedding rows vindex writes
// (Embedding), and the rows that record refused songs (Reject); their
// validation (ValidateSong, ValidateEmbedding), the content hash that keys
// reindexing (ContentHash), Parquet reading and writing of single files
// (File, SongWriter, RowWriter), and the manifests of output folders
// (Manifest, ListDataset).
//
// Beam stays out of this package: it depends only on the standard library and
// parquet-go, so the data contracts are testable without a runner. Package
// transforms wraps these functions in parallel Beam sources and sinks.
//
// # Columns
//
// Songs: song_id (string, required, unique in a catalog), crema (required:
// 12·T numbers, frame-major), work_id, hop (samples per frame at 44.1 kHz;
// absent or 0 means ModelHop = 4096; 512 is Da-TACOS's storage rate), title,
// artist, year, instrumental, duration_s, extra (map<string,string>).
// Embeddings: song_id, work_id, embedding (d numbers), model, reducer,
// content_hash and the same metadata.
//
// Readers are lenient about physical layout, strict about content: crema and
// embedding may be a list of float, double or integers of any width (signed
// or unsigned), or a list of lists of exactly 12 numbers (what pandas,
// pyarrow and DuckDB write from a T×12 array); ids may be strings or
// integers (written as decimal text); hop and year any integer type in
// int32 range. Unknown scalar columns are carried in Extra, keyed by column
// name (dotted path inside structs), as text (numbers in Go's shortest
// round-trip form, booleans as true/false); an explicit extra map column is
// merged in (a real column of the same name wins). Unknown list and map
// columns other than extra are dropped. Every read error names the file, the
// row and the column.
//
// # Output folders and manifests
//
// vindex writes a dataset as a folder of part files (PartPrefix) plus a
// _manifest.json written last, atomically, listing the files, their row
// counts, the schema version and the command. Files are written under a
// temporary name (TempPrefix) and renamed when complete. ListDataset trusts
// only manifest-listed files where a folder has a manifest, and refuses a
// folder holding vindex's own part files (OwnPart) without one and without
// a _SUCCESS marker (ErrIncomplete): an interrupted run never looks like a
// complete catalog. Folders written by other tools (Spark, Hive, BigQuery
// exports, with or without _SUCCESS) are read whole, and a file named
// explicitly is always read. An empty dataset is one zero-row file with
// the schema. Schema versions are also recorded in each file's key-value
// metadata (SchemaKey).
//
// # Security considerations
//
// Parquet files and manifests are outside bytes. A row is bounded to
// MaxFrames frames before its values are accepted, ids to MaxIDLength bytes,
// manifests to 64 MiB and to plain base names (no path traversal). Decoding
// errors of one row are returned as *RowError and do not stop the file.
package schema
