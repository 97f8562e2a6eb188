// Package transforms holds vindex's Beam DoFns, CombineFns and composite
// transforms: the only package that joins Beam with schema and model.
//
// # I/O (read*.go, write*.go)
//
// ReadSongs and ReadEmbeddings are parallel Parquet sources: a pattern (file,
// folder, glob; local or any scheme of Beam's filesystem layer, gs://
// included) is listed (manifest-aware, schema.ListDatasetFS), footers are read
// in parallel and every row group is cut into row ranges of a bounded number
// of rows (64 songs, fewer when the footer says the songs are long; 4096
// embeddings; ReadOptions), each one element, spread over workers by a
// GroupByKey on a hash of the range (a Reshuffle left them on one Flink slot). The unit of
// work is thus a bounded number of songs whatever the writer's row-group size
// (DuckDB writes 122,880 rows per group, pyarrow 1,048,576): a one-row-group
// file spreads over every worker and a worker holds one range of rows at a
// time. A range is read by seeking to its first row (schema.File.SongRange).
// Rows that cannot be decoded, or fail schema.ValidateSong/ValidateEmbedding,
// become schema.Reject rows. Lost songs are counted honestly: a range that
// cannot be read is one reject naming the file and its rows, and adds every
// song it held to songs_rejected; a file that cannot be opened counts the
// songs its manifest lists, or its reject says that the number is unknown.
// Only a pattern naming no file fails the pipeline.
//
// Invariant: the songs come out of a plain ParDo, so a per-song ParDo applied
// to them (Embed) fuses with the reader; there is no GroupByKey, Reshuffle or
// side input between reading and embedding, and features (~100 KB a song)
// never cross a stage boundary. Only the small range descriptors are
// shuffled. Embed runs the network on a process-wide pool of one network per
// core, fed by every bundle (netpool.go), so one bundle alone uses every core.
//
// WriteUniqueEmbeddings, placed after Embed, fuses with it too: each bundle
// writes its own part files, and only each row's origin (~90 bytes, in
// batches per part and song_id bucket) is shuffled to find duplicate
// song_ids; a finalizer drops them from the parts and writes the manifest.
// Embeddings therefore never cross a stage boundary either, and the memory
// of `vindex embed` does not grow with the catalog.
//
// WriteEmbeddings, WriteRejects and the generic WriteParquet write sharded
// Parquet: rows are keyed round-robin to WriteOptions.Shards shards and
// grouped, each shard is written by one worker under a temporary name and
// renamed when complete, and a finalizer that sees every shard (as a side
// input) writes _manifest.json last, atomically, then removes temporary and
// unlisted part files. Readers trust only manifest-listed files, so an
// interrupted run never leaves a folder that looks complete.
//
// Files are opened and published through package storage: parquet-go needs
// an io.ReaderAt, which storage.Opener gives by URI (os.File locally, ranged
// reads of one object generation on gs://).
//
// # Distillation (pooled.go, distill.go)
//
// Pool is Embed's twin for distillation: a plain ParDo that fuses with
// ReadSongs and emits, per labelled song, the pooled features of its
// teacher's extractor (model.Net.Pooled) for the whole song and for K
// seeded random patches (schema.Pooled rows, written by WritePooled).
// Distill is not Beam: it loads a pooled dataset into one process
// (LoadPooled), trains a head with model/train and publishes the student
// checkpoint (WriteStudent, through storage).
//
// # Coders (coders.go)
//
// Every vindex type that crosses a shuffle, a side input or a combine has a
// custom coder (beam.RegisterCoder): runners see opaque length-prefixed
// bytes, never a Beam schema Row that a Java runner would decode itself.
// A new element type that crosses a stage boundary needs a line there; the
// pipelines' TestNoRowCoders / TestIndexPipelineHasNoRowCoders fail if one
// is missing.
//
// # Counters
//
// Counters live in namespace CounterNamespace ("vindex"): the progress
// counters songs_read, songs_rejected (counters.go) and the readers'
// read.ranges, read.bundles (bundles that read at least one range) and
// read.embeddings_read.
//
// # Registration
//
// DoFns and CombineFns are registered with beam.RegisterType (reflection),
// not with the generic register.DoFnNxM / register.CombinerN helpers the
// Beam notes suggest: with Go 1.26 each generic registration costs the
// compiler about 7–10 CPU-seconds and hundreds of MB, and this package's 28
// of them made it take 3½ CPU-minutes and 5–6 GB to compile (measured);
// with reflective registration it compiles in 2.4 CPU-seconds and 0.2 GB.
// Reflective registration works in stripped worker binaries too (types are
// registered by name at init); per-element invocation is slower by a
// fraction of a microsecond, nothing beside a song's milliseconds of work.
// Emitters and iterators keep their cheap generic registrations.
package transforms
