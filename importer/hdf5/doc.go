// Package hdf5 is a minimal, pure-Go reader of numeric datasets in HDF5 files:
// enough for the per-song cremaPCP files of Da-TACOS (written by deepdish on
// PyTables) and for what h5py writes for a 2-D float array. It exists so that
// vindex imports HDF5 without cgo: the vindex binary cross-compiles and Beam
// workers never link libhdf5.
//
// What it reads:
//   - superblock versions 0, 1, 2 and 3 (at offset 0 or after a user block);
//   - object headers version 1 and 2, with continuation blocks;
//   - groups stored as symbol tables (v1 B-tree + local heap, what h5py and
//     PyTables write by default) or as compact link messages (libver='latest');
//   - data layouts: compact, contiguous, and chunked indexed by a version 1
//     B-tree (layout message v1–v3), or, in layout message v4, by a single
//     chunk, an implicit index or an unpaged fixed array;
//   - filters: deflate (gzip/zlib), shuffle, and fletcher32 (checksum
//     stripped, not verified);
//   - element types: IEEE float32/float64 and signed/unsigned integers of 1, 2,
//     4 or 8 bytes, little- or big-endian; values are converted to float32.
//
// Anything else fails with an error wrapping ErrUnsupported that names the
// file and the feature (for example "blosc filter (id 32001)", "dense link
// storage (fractal heap)", "extensible array chunk index", "datatype class
// 3 (string)"). Attributes are skipped, not read.
//
// Deviations from libhdf5: checksums of version 2 structures are not
// verified; fill values are ignored (chunks that were never written read as
// zeros, which is libhdf5's default fill value).
//
// # Security considerations
//
// Every address and length read from the file is checked against the file's
// size before anything is read or allocated; the number of elements of a
// dataset (and of one chunk) is bounded by Options.MaxElements and by 64 per
// byte of the file plus 2^20, so a small file cannot declare a huge dataset
// of never-written chunks; decompression stops at the size a chunk may have;
// each chunk of the grid is read at most once (a chunk index listing one
// twice is ErrCorrupt), and implicit and fixed-array chunk indexes must fit
// in the file before their chunk lists are built; a File reads at most 8
// times its size plus 16 MiB over its life (ErrTooLarge after), so
// continuation blocks or chunk entries naming the same bytes again and again
// are cut off; ReadFloat32File opens
// regular files only (a FIFO would block, a device never end); B-tree depth, the number of object header continuation
// blocks and the number of messages are bounded, so cyclic or hostile
// structures end in an ErrCorrupt error, never a hang or a panic.
package hdf5
