"""Writes the HDF5 fixtures of importer/hdf5 (run from importer/hdf5: /usr/bin/python3 testdata/gen/gen_hdf5.py).

h5py 3.7 (HDF5 1.10.8), PyTables 3.7 (Debian python3-tables) and deepdish 0.3.7
(pip install --target DIR --no-deps deepdish; put DIR on PYTHONPATH; deepdish
0.3.7 uses np.object, removed in numpy 1.24, so the script aliases it).
Every file holds dataset "crema" = M[:T] cast to its dtype, with M the same
float64 matrix (seed 11); expected.json records T, dtype and what the Go reader
must do (read, or fail naming a feature).
"""
import json
import numpy as np
import h5py

rng = np.random.default_rng(11)
M = rng.random((100, 12))
out = "testdata/"
files = {}

def note(name, T, dtype, layout, want="ok", feature=None, dataset="crema"):
    files[name] = {"T": T, "dtype": dtype, "layout": layout, "want": want, "dataset": dataset}
    if feature:
        files[name]["feature"] = feature

# 1. h5py defaults (superblock v0, object header v1): contiguous float32.
with h5py.File(out + "h5py_contiguous_f4.h5", "w") as f:
    f.create_dataset("crema", data=M[:40].astype("<f4"))
note("h5py_contiguous_f4.h5", 40, "f4", "contiguous")

# 2. chunked + shuffle + gzip, float64, chunks not dividing the shape, enough
#    chunks (25 x 4 = 100) for a two-level v1 B-tree.
with h5py.File(out + "h5py_chunked_gzip_shuffle_f8.h5", "w") as f:
    f.create_dataset("crema", data=M.astype("<f8"), chunks=(4, 3), compression="gzip",
                     compression_opts=6, shuffle=True)
    f.create_dataset("other", data=np.arange(5))
note("h5py_chunked_gzip_shuffle_f8.h5", 100, "f8", "chunked+shuffle+deflate")

# 3. chunked, no filters, edge chunks, float32, dataset inside a group.
with h5py.File(out + "h5py_chunked_group_f4.h5", "w") as f:
    g = f.create_group("features")
    g.create_dataset("crema", data=M[:30].astype("<f4"), chunks=(7, 5))
note("h5py_chunked_group_f4.h5", 30, "f4", "chunked, in group /features", dataset="/features/crema")

# 4. compact layout (small raw data inside the object header).
with h5py.File(out + "h5py_compact_f4.h5", "w") as f:
    data = M[:8].astype("<f4")
    space = h5py.h5s.create_simple(data.shape)
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_layout(h5py.h5d.COMPACT)
    dsid = h5py.h5d.create(f.id, b"crema", h5py.h5t.IEEE_F32LE, space, dcpl=dcpl)
    dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, data)
note("h5py_compact_f4.h5", 8, "f4", "compact")

# 5. libver latest: superblock v3, object header v2, layout message v4.
with h5py.File(out + "h5py_latest_contiguous_f8.h5", "w", libver="latest") as f:
    f.create_dataset("crema", data=M[:20].astype("<f8"))
note("h5py_latest_contiguous_f8.h5", 20, "f8", "contiguous, superblock v3, OHDR v2")

with h5py.File(out + "h5py_latest_chunked_f4.h5", "w", libver="latest") as f:
    f.create_dataset("crema", data=M[:50].astype("<f4"), chunks=(10, 12), compression="gzip")
note("h5py_latest_chunked_f4.h5", 50, "f4", "chunked, layout v4, fixed array index")

with h5py.File(out + "h5py_latest_extensible_f4.h5", "w", libver="latest") as f:
    f.create_dataset("crema", data=M[:50].astype("<f4"), chunks=(10, 12), maxshape=(None, 12))
note("h5py_latest_extensible_f4.h5", 50, "f4", "chunked, layout v4, extensible array index",
     want="error", feature="extensible array")

# 5b. libver latest with a single chunk covering the dataset.
with h5py.File(out + "h5py_latest_single_chunk_f4.h5", "w", libver="latest") as f:
    f.create_dataset("crema", data=M[:10].astype("<f4"), chunks=(10, 12), maxshape=(10, 12),
                     compression="gzip", shuffle=True)
note("h5py_latest_single_chunk_f4.h5", 10, "f4", "chunked, layout v4, single chunk index")

# 6. big-endian float32.
with h5py.File(out + "h5py_be_f4.h5", "w") as f:
    f.create_dataset("crema", data=M[:6].astype(">f4"))
note("h5py_be_f4.h5", 6, ">f4", "contiguous, big-endian")

# 7. PyTables / deepdish layouts.
import tables
with tables.open_file(out + "pytables_carray_zlib_f4.h5", "w") as f:
    f.create_carray("/", "crema", obj=M[:60].astype("<f4"),
                    filters=tables.Filters(complevel=9, complib="zlib", shuffle=True))
note("pytables_carray_zlib_f4.h5", 60, "f4", "PyTables CArray zlib+shuffle")

blosc_ok = tables.which_lib_version("blosc") is not None
if blosc_ok:
    with tables.open_file(out + "pytables_carray_blosc_f4.h5", "w") as f:
        f.create_carray("/", "crema", obj=M[:60].astype("<f4"),
                        filters=tables.Filters(complevel=5, complib="blosc", shuffle=True))
    note("pytables_carray_blosc_f4.h5", 60, "f4", "PyTables CArray blosc", want="error", feature="blosc")

try:
    np.object = object  # deepdish 0.3.7 on numpy >= 1.24
    import deepdish as dd
    dd.io.save(out + "deepdish_zlib_f4.h5", {"crema": M[:50].astype("<f4")})  # 600 values > 300: CArray zlib 9
    note("deepdish_zlib_f4.h5", 50, "f4", "deepdish default (zlib 9 + shuffle)")
    dd.io.save(out + "deepdish_small_f8.h5", {"crema": M[:20].astype("<f8")})  # 240 values: plain Array
    note("deepdish_small_f8.h5", 20, "f8", "deepdish small array (contiguous)")
except ImportError:
    print("deepdish not importable: deepdish fixtures not written")

expected = {"generator": "testdata/gen/gen_hdf5.py", "h5py": h5py.__version__, "hdf5": h5py.version.hdf5_version,
            "pytables": tables.__version__, "seed": 11, "dataset": "crema", "tolerance": 0,
            "matrix_f64": M.ravel().tolist(), "files": files}
with open(out + "expected.json", "w") as f:
    json.dump(expected, f, indent=1)
