"""Writes the .npy fixtures of importer/npy (run from importer/npy: /usr/bin/python3 testdata/gen/gen_npy.py).

numpy 1.24. Every file holds the same 5x12 float64 matrix M (seed 7) cast to
its dtype, so a Go test can compare each against expected.json's values.
"""
import json
import numpy as np

rng = np.random.default_rng(7)
M = rng.random((5, 12))
out = "testdata/"
files = {}

def save(name, arr, version=None):
    path = out + name
    with open(path, "wb") as f:
        np.lib.format.write_array(f, arr, version=version)
    files[name] = {"descr": np.lib.format.dtype_to_descr(arr.dtype), "shape": list(arr.shape),
                   "fortran_order": bool(arr.flags.f_contiguous and not arr.flags.c_contiguous),
                   "version": list(version) if version else None}

save("f4_v1.npy", M.astype("<f4"), (1, 0))
save("f8_v1.npy", M.astype("<f8"), (1, 0))
save("f2_v1.npy", M.astype("<f2"), (1, 0))
save("f4_v2.npy", M.astype("<f4"), (2, 0))
save("f4_v3.npy", M.astype("<f4"), (3, 0))
save("f8_be.npy", M.astype(">f8"), (1, 0))
save("f4_fortran.npy", np.asfortranarray(M.astype("<f4")), (1, 0))
save("i2_v1.npy", (M * 100).astype("<i2"), (1, 0))
save("u1_v1.npy", (M * 100).astype("|u1"), (1, 0))
save("i8_v1.npy", (M * 100).astype("<i8"), (1, 0))
save("c8_v1.npy", M.astype("<c8"), (1, 0))  # unsupported: complex

expected = {
    "generator": "testdata/gen/gen_npy.py", "numpy": np.__version__, "seed": 7, "shape": [5, 12],
    "tolerance": {"f4": 0, "f8": 0, "f2": 0, "int": 0},
    "matrix_f64": M.ravel().tolist(),
    "matrix_f2_as_f32": M.astype("<f2").astype("<f4").ravel().tolist(),
    "matrix_i_times_100": (M * 100).astype("<i8").ravel().tolist(),
    "files": files,
}
with open(out + "expected.json", "w") as f:
    json.dump(expected, f, indent=1)
