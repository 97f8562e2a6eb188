#!/usr/bin/python3
"""Writes the model/torch and model/safetensors test fixtures.

Run from the repository root with Debian's torch 1.13 (/usr/bin/python3):

    /usr/bin/python3 model/torch/testdata/gen/gen.py

Outputs (all small, < 100 KB together):
  model/torch/testdata/*.pt            state dicts in the zip (torch >= 1.6) and
                                       legacy (_use_new_zipfile_serialization=False)
                                       formats, a benchmark_crema-style dict,
                                       non-state-dict pickles and malicious pickles
  model/torch/testdata/expected.json   sidecar: generator, seed, tolerance and, per
                                       fixture, the expected keys/shapes/dtypes/values
  model/safetensors/testdata/small.safetensors
                                       the "small" state dict written by a plain
                                       Python implementation of the safetensors
                                       format (F32 for floats, I64 for integers)
The goldens are never edited by hand: change this script and rerun it.
"""
import collections
import io
import json
import os
import pickle
import struct
import zipfile

import torch
import torch.nn as nn

SEED = 1234
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # model/torch/testdata
ST_DIR = os.path.join(os.path.dirname(os.path.dirname(ROOT)), "safetensors", "testdata")

torch.manual_seed(SEED)
expected = {}


def save_both(obj, stem, **kw):
    torch.save(obj, os.path.join(ROOT, stem + "_zip.pt"), **kw)
    torch.save(obj, os.path.join(ROOT, stem + "_legacy.pt"), _use_new_zipfile_serialization=False)


def describe_tensor(t):
    t = t.detach()
    dt = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
          torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
          torch.uint8: "U8", torch.bool: "BOOL"}[t.dtype]
    d = {"shape": list(t.shape), "dtype": dt}
    flat = t.contiguous().reshape(-1)
    if t.is_floating_point():
        # the loader converts to float32; float32 of these values is exact for f16/bf16
        d["values"] = [float(v) for v in flat.to(torch.float32).tolist()]
    else:
        d["ints"] = [int(v) for v in flat.to(torch.int64).tolist()]
    return d


def describe_dict(sd):
    return {"keys": list(sd.keys()), "tensors": {k: describe_tensor(v) for k, v in sd.items()}}


# 1. "small": every dtype, a 0-dim scalar, a non-contiguous view, two tensors sharing one
# storage at different offsets, an empty tensor, a Parameter (_rebuild_parameter), and the
# _metadata attribute a real state_dict carries (pickled with BUILD).
base = torch.randn(4, 5)
small = collections.OrderedDict()
small["scalar"] = torch.tensor(0.25)
small["w"] = base
small["w_row2"] = base[2]                 # same storage, offset 10
small["w_t"] = base.t()                   # strides (1, 5)
small["w_cols"] = base[:, 1:4:2]          # offset 1, strides (5, 2)
small["h"] = torch.randn(6).to(torch.float16)
small["bf"] = torch.randn(3, 2).to(torch.bfloat16)
small["d"] = torch.randn(2, 3, dtype=torch.float64)
small["n"] = torch.tensor(7, dtype=torch.int64)
small["i32"] = torch.tensor([1, -2, 3], dtype=torch.int32)
small["flags"] = torch.tensor([True, False])
small["empty"] = torch.zeros(0, 3)
small["param"] = nn.Parameter(torch.tensor([1.5, -2.5]))
small._metadata = collections.OrderedDict([("", {"version": 1})])
save_both(small, "small")
torch.save(small, os.path.join(ROOT, "small_proto4_zip.pt"), pickle_protocol=4)
expected["small"] = describe_dict(small)


# 2. "mini_move": a module with MOVE's state_dict keys and order (remove-spec.md §1.4), tiny shapes.
class MiniMOVE(nn.Module):
    def __init__(self, d=4):
        super().__init__()
        self.prelu1 = nn.PReLU(init=0.01)
        self.prelu2 = nn.PReLU(init=0.01)
        self.prelu3 = nn.PReLU(init=0.01)
        self.prelu4 = nn.PReLU(init=0.01)
        self.prelu5 = nn.PReLU(init=0.01)
        self.conv1 = nn.Conv2d(1, 2, kernel_size=(12, 3))
        self.conv2 = nn.Conv2d(2, 2, kernel_size=(1, 2))
        self.conv3 = nn.Conv2d(2, 2, kernel_size=(1, 2), dilation=(1, 2))
        self.conv4 = nn.Conv2d(2, 2, kernel_size=(1, 2))
        self.conv5 = nn.Conv2d(2, 4, kernel_size=(1, 2), dilation=(1, 2))
        self.autopool_p = nn.Parameter(torch.tensor(0.))
        self.lin_bn = nn.BatchNorm1d(d, affine=False)
        self.lin1 = nn.Linear(2, d, bias=False)


mm = MiniMOVE()
with torch.no_grad():
    mm.lin_bn.running_mean.copy_(torch.randn(4))
    mm.lin_bn.running_var.copy_(torch.rand(4) + 0.5)
    mm.lin_bn.num_batches_tracked.fill_(42)
mm_sd = mm.state_dict()
save_both(mm_sd, "mini_move")
expected["mini_move"] = describe_dict(mm_sd)

# 3. a Da-TACOS benchmark_crema.pt-style plain dict (loaded with LoadObject, refused by Load).
crema = {"data": [torch.rand(1, 23, t) for t in (5, 3, 4)], "labels": ["W_1", "W_22", "W_1"]}
save_both(crema, "crema")
expected["crema"] = {"labels": crema["labels"], "data": [describe_tensor(t) for t in crema["data"]]}

# 4. pickles that are valid torch files but not state dicts.
save_both([1, 2, 3], "list")
save_both({"a": "text", "b": torch.ones(2)}, "mixed")
expected["list"] = [1, 2, 3]


# 5. malicious / unsupported globals.
class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


save_both({"x": Evil()}, "evil_posix")          # pickles posix.system on Linux
save_both(nn.Linear(2, 2), "full_module")       # a whole module, not a state_dict


def handcrafted_os_system():
    # protocol 2: GLOBAL 'os system', the argument tuple, REDUCE, STOP
    return b"\x80\x02cos\nsystem\nq\x00X\n\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03."


def replace_data_pkl(src, dst, data):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            body = zin.read(info.filename)
            if info.filename.endswith("/data.pkl"):
                body = data
            zout.writestr(info, body)


replace_data_pkl(os.path.join(ROOT, "list_zip.pt"), os.path.join(ROOT, "evil_os_zip.pt"), handcrafted_os_system())
with open(os.path.join(ROOT, "evil_os_legacy.pt"), "wb") as f:
    pickle.dump(0x1950a86a20f9469cfc6c, f, protocol=2)
    pickle.dump(1001, f, protocol=2)
    pickle.dump({"protocol_version": 1001, "little_endian": True,
                 "type_sizes": {"short": 2, "int": 4, "long": 4}}, f, protocol=2)
    f.write(handcrafted_os_system())
    pickle.dump([], f, protocol=2)
expected["refusals"] = {
    "evil_posix_zip.pt": "posix.system", "evil_posix_legacy.pt": "posix.system",
    "evil_os_zip.pt": "os.system", "evil_os_legacy.pt": "os.system",
    "full_module_zip.pt": "torch.nn.modules.linear.Linear",
    "full_module_legacy.pt": "torch.nn.modules.linear.Linear",
}


# 6. safetensors written by a plain Python implementation of the format.
def write_safetensors(path, sd, meta):
    header, blobs, off = {}, [], 0
    for k, t in sd.items():
        t = t.detach().contiguous()
        if t.is_floating_point():
            t, dt = t.to(torch.float32), "F32"
            b = struct.pack("<%df" % t.numel(), *t.reshape(-1).tolist())
        else:
            t, dt = t.to(torch.int64), "I64"
            b = struct.pack("<%dq" % t.numel(), *t.reshape(-1).tolist())
        header[k] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = meta
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


os.makedirs(ST_DIR, exist_ok=True)
st_meta = {"format": "pt", "source": "gen.py"}
write_safetensors(os.path.join(ST_DIR, "small.safetensors"), small, st_meta)
write_safetensors(os.path.join(ST_DIR, "mini_move.safetensors"), mm_sd, st_meta)
with open(os.path.join(ST_DIR, "small.json"), "w") as f:
    json.dump({"generator": "model/torch/testdata/gen/gen.py", "torch": torch.__version__, "seed": SEED,
               "tolerance": 0, "metadata": st_meta,
               "note": "same tensors as model/torch/testdata small_*.pt and mini_move_*.pt, as float32/int64",
               "small": describe_dict(small), "mini_move": describe_dict(mm_sd)}, f, indent=1)

with open(os.path.join(ROOT, "expected.json"), "w") as f:
    json.dump({"generator": "model/torch/testdata/gen/gen.py", "torch": torch.__version__, "seed": SEED,
               "tolerance": 0, "note": "float values are the stored values converted to float32 (exact)",
               "fixtures": expected}, f, indent=1)
