"""Writes the importer fixtures (run from importer: /usr/bin/python3 testdata/gen/gen_fixtures.py).

numpy 1.24, torch 1.13 (Debian), PyTables 3.7 and deepdish 0.3.7 (pip install
--target DIR --no-deps deepdish; DIR on PYTHONPATH; np.object aliased for
numpy >= 1.24). Small random crema-like arrays (uniform [0, 1), seed 5).

datacos/   Da-TACOS layout: metadata JSON (work and performance keys in a
           non-sorted order, which the importer must keep) and
           crema/{W}_crema/{P}_crema.h5 written with deepdish (dataset 'crema',
           T x 12 at hop 512; deepdish compresses arrays over 300 values with
           zlib+shuffle, smaller ones are stored contiguous).
numpy/     songs.csv (song_id,work_id,hop[,file]) and .npy files (T x 12).
benchmark_crema_{zip,legacy}.pt   {'data': [1 x 23 x T tensors], 'labels': [...]}
expected.json  per source: song ids in order, work ids, frames, hop, sum of values.
"""
import json, os, shutil
import numpy as np
import torch

rng = np.random.default_rng(5)
out = "testdata/"
expected = {"generator": "testdata/gen/gen_fixtures.py", "numpy": np.__version__, "torch": torch.__version__,
            "seed": 5, "tolerance_sum": 1e-3}

# --- Da-TACOS ---
np.object = object
import deepdish as dd
root = out + "datacos/"
shutil.rmtree(root, ignore_errors=True)
works = [("W_300", ["P_9", "P_2"]), ("W_12", ["P_40", "P_5", "P_7"]), ("W_77", ["P_1"])]
meta = {}
rows = []
for w, perfs in works:
    meta[w] = {}
    for k, p in enumerate(perfs):
        T = int(rng.integers(20, 60))
        dtype = "<f4" if k % 2 == 0 else "<f8"
        x = rng.random((T, 12)).astype(dtype)
        d = root + "da-tacos_benchmark_subset_crema/%s_crema/" % w
        os.makedirs(d, exist_ok=True)
        dd.io.save(d + "%s_crema.h5" % p, {"crema": x})
        m = {"work_title": "Title of " + w, "work_artist": "Artist of " + w, "perf_title": "Perf %s" % p,
             "perf_artist": "Performer %s" % p, "release_year": str(1960 + 7 * k), "work_id": w, "perf_id": p,
             "instrumental": "No" if k else "Yes", "perf_artist_mbid": "mbid-%s" % p}
        if k == 0:
            m["mb_performances"] = {"abc-%s" % p: {"length": str(1000 * T)}}
        meta[w][p] = m
        rows.append({"song_id": p, "work_id": w, "frames": T, "hop": 512, "sum": float(x.astype("<f4").sum()),
                     "first": float(x[0, 0]), "title": m["perf_title"], "artist": m["perf_artist"],
                     "year": int(m["release_year"]), "instrumental": m["instrumental"]})
with open(root + "da-tacos_benchmark_subset_metadata.json", "w") as f:
    json.dump(meta, f, indent=1)
expected["datacos"] = rows

# --- NumPy folder ---
root = out + "numpy/"
shutil.rmtree(root, ignore_errors=True)
os.makedirs(root + "feats")
rows = []
lines = ["song_id,work_id,hop,file"]
for i, (sid, wid, dt) in enumerate([("s1", "w1", "<f4"), ("s2", "w1", "<f8"), ("s3", "w2", "<f2"), ("s4", "", "<f4")]):
    T = int(rng.integers(20, 60))
    x = rng.random((T, 12)).astype(dt)
    np.save(root + "feats/%s.npy" % sid, x)
    lines.append("%s,%s,%d,feats/%s.npy" % (sid, wid, 4096, sid))
    rows.append({"song_id": sid, "work_id": wid, "frames": T, "hop": 4096, "sum": float(x.astype("<f4").sum()),
                 "first": float(x[0, 0])})
with open(root + "songs.csv", "w") as f:
    f.write("\n".join(lines) + "\n")
# Minimal CSV: no hop, no file column: <song_id>.npy beside the CSV.
os.makedirs(root + "minimal")
x = rng.random((25, 12)).astype("<f4")
np.save(root + "minimal/a.npy", x)
with open(root + "minimal/songs.csv", "w") as f:
    f.write("song_id,work_id\na,w9\n")
# A transposed (12 x T) array: must be refused, naming the file.
os.makedirs(root + "transposed")
np.save(root + "transposed/t.npy", rng.random((12, 30)).astype("<f4"))
with open(root + "transposed/songs.csv", "w") as f:
    f.write("song_id,work_id\nt,w1\n")
expected["numpy"] = rows
expected["numpy_minimal"] = [{"song_id": "a", "work_id": "w9", "frames": 25, "hop": 4096, "sum": float(x.sum()),
                              "first": float(x[0, 0])}]

# --- benchmark_crema.pt ---
labels, data, rows = [], [], []
for i, lab in enumerate(["W_5", "W_5", "W_9", "W_1", "W_9"]):
    T = int(rng.integers(20, 60))
    x = rng.random((T, 12)).astype("<f4")
    t = torch.from_numpy(x.T.copy())
    data.append(torch.cat((t, t))[:23].unsqueeze(0))
    labels.append(lab)
    rows.append({"song_id": "%s-%d" % (lab, i), "work_id": lab, "frames": T, "hop": 4096, "sum": float(x.sum()),
                 "first": float(x[0, 0])})
torch.save({"data": data, "labels": labels}, out + "benchmark_crema_zip.pt")
torch.save({"data": data, "labels": labels}, out + "benchmark_crema_legacy.pt", _use_new_zipfile_serialization=False)
expected["benchmark_pt"] = rows

with open(out + "expected.json", "w") as f:
    json.dump(expected, f, indent=1)
