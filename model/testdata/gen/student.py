#!/usr/bin/python3
"""Goldens for a distilled student: PyTorch reproduces vindex's embeddings.

Loads pipelines/distill/testdata/student_d32.safetensors (written by Go:
`go test ./pipelines/distill -run StudentFixture -update-student`, an LSR student of
d = 32 distilled from the parity teacher) into MOVEModel(32, 4, 3) from
gen.py (the project's PyTorch reference, written from remove-spec.md §1) with
load_state_dict(strict=True), in eval mode, and writes its embeddings of the
parity inputs (model/testdata/parity/in_*.f32) to
pipelines/distill/testdata/student_<input>.f32, with the sidecar
student.json (keys, tolerance, generator, versions). The safetensors file
is parsed here with numpy (header JSON + little-endian raw data), so no
safetensors package is needed.

Run from the repository root:  /usr/bin/python3 model/testdata/gen/student.py
Never edit the outputs by hand.
"""
import json
import os
import struct
import sys
from collections import OrderedDict

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from gen import MOVEModel, to_input  # noqa: E402

ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
STUDENT = os.path.join(ROOT, "pipelines", "distill", "testdata", "student_d32.safetensors")
PARITY = os.path.join(ROOT, "model", "testdata", "parity")
OUT = os.path.join(ROOT, "pipelines", "distill", "testdata")
TOL = 1e-4
DTYPES = {"F32": np.float32, "I64": np.int64}


def read_safetensors(path):
    with open(path, "rb") as f:
        b = f.read()
    (n,) = struct.unpack("<Q", b[:8])
    header = json.loads(b[8 : 8 + n], object_pairs_hook=OrderedDict)
    data = b[8 + n :]
    sd = OrderedDict()
    for k, v in header.items():
        if k == "__metadata__":
            continue
        lo, hi = v["data_offsets"]
        a = np.frombuffer(data[lo:hi], dtype=DTYPES[v["dtype"]]).reshape(v["shape"])
        sd[k] = torch.from_numpy(a.copy())
    return sd


def main():
    torch.set_num_threads(1)
    sd = read_safetensors(STUDENT)
    d = sd["lin1.weight"].shape[0]
    m = MOVEModel(d, 4, 3)
    m.load_state_dict(sd, strict=True)
    m.eval()
    cases = []
    for name, hop in (("in_t320.f32", 4096), ("in_t400.f32", 4096), ("in_t2350.f32", 4096), ("in_h512.f32", 512)):
        x = np.fromfile(os.path.join(PARITY, name), dtype="<f4").reshape(-1, 12)
        if hop == 512:
            x = x[::8]  # decimation [::8] (remove-spec.md §2.2)
        with torch.no_grad():
            y = m(to_input(x)).numpy().reshape(-1)
        out = "student_" + name
        np.ascontiguousarray(y, dtype="<f4").tofile(os.path.join(OUT, out))
        cases.append({"input": name, "hop": hop, "file": out, "shape": [d]})
    meta = {
        "generator": "model/testdata/gen/student.py",
        "torch": torch.__version__,
        "numpy": np.__version__,
        "student": "pipelines/distill/testdata/student_d32.safetensors",
        "model": "MOVEModel(%d, 4, 3), load_state_dict(strict=True), eval()" % d,
        "keys": list(m.state_dict().keys()),
        "tolerance_abs": TOL,
        "cases": cases,
    }
    with open(os.path.join(OUT, "student.json"), "w") as f:
        json.dump(meta, f, indent=1)


if __name__ == "__main__":
    main()
