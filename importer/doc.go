// Package importer turns features stored elsewhere into a vindex features
// dataset: a folder of Parquet part files of schema.Song rows (several files,
// several row groups each) and its manifest, written by DatasetWriter.
//
// Sources:
//   - Da-TACOS as distributed (ImportDaTacos): per-song HDF5 files
//     {work}_crema/{perf}_crema.h5 holding dataset "crema" (T×12 at hop 512),
//     read by the pure-Go importer/hdf5, and the metadata JSON
//     {work_id: {perf_id: {...}}} whose key order is kept (it is the order of
//     the reference's benchmark_crema.pt and ground truth);
//   - a folder of NumPy .npy files (T×12) listed by a CSV song_id,work_id[,hop]
//     (ImportNumpy);
//   - the reference code's benchmark_crema.pt (ImportBenchmarkPT):
//     {'data': [1×23×T tensors], 'labels': [work ids]}, read through
//     model/torch's restricted unpickler.
//
// Invariants: songs are written in the source's order (JSON key order, CSV
// row order, list order); every song is checked with schema.ValidateSong and a
// bad song fails the import with an error naming its file (an import is a
// one-off conversion: a silent partial catalog would skew every metric).
// A folder that already holds a dataset is refused (ErrExists).
//
// Deviations: Da-TACOS metadata fields other than title, artist, year and
// instrumental go into Song.Extra ("perf_id", "work_title", "work_artist",
// "perf_artist_mbid", …, and "length_ms" from mb_performances when present).
// Song ids of benchmark_crema.pt, which stores none, are
// "<label>-<index>" with the index of the song in the file (0-based), so
// they are unique and keep the reference's order.
package importer
