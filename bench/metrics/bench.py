#!/usr/bin/python3
"""Da-TACOS-shaped evaluation, 15,000 × 256 (1,000 cliques of 13 + 2,000 noise
songs), timed with the dense torch re-implementation of the original metric
code (model/metrics/testdata/gen/gen.py: N×N distances, topk, cumsum) and
with vindex (bench/metrics/gobench: blockwise metrics.Evaluate) on the same
embeddings and machine. Each side runs in its own process so that its peak
RSS is its own. Prints both and the ratios.

    /usr/bin/python3 bench/metrics/bench.py [--n 15000] [--dim 256] [--threads 2]
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "model", "metrics", "testdata", "gen"))


def make(n, dim, seed=7):
    rng = np.random.default_rng(seed)
    noise = 2000 * n // 15000
    E, labels = [], []
    w = 0
    while len(E) < n - noise:
        c = rng.normal(size=dim)
        for _ in range(13):
            if len(E) < n - noise:
                E.append(c + 2.5 * rng.normal(size=dim))
                labels.append("w%d" % w)
        w += 1
    for _ in range(noise):
        E.append(rng.normal(size=dim) * 2.5)
        labels.append("")
    perm = rng.permutation(n)
    return np.asarray(E, dtype=np.float32)[perm], [labels[i] for i in perm]


def torch_side(npy, labels_path, threads):
    import torch
    import gen
    torch.set_num_threads(threads)
    E = np.load(npy)
    labels = json.load(open(labels_path))
    t, c = time.perf_counter(), time.process_time()
    g = gen.evaluate(E, labels, "cosine")
    secs, cpu = time.perf_counter() - t, time.process_time() - c
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": secs, "cpu_seconds": cpu, "peak_rss_mb": peak, "map": g["map"], "mrr": g["mrr"], "mr": g["mr"],
                      "mr1": g["mr1"], "top1": g["top1"], "top10": g["top10"]}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=15000)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--torch-side", nargs=2)
    a = ap.parse_args()
    if a.torch_side:
        return torch_side(a.torch_side[0], a.torch_side[1], a.threads)
    tmp = tempfile.mkdtemp(prefix="vindex-bench-metrics-")
    E, labels = make(a.n, a.dim)
    npy, lab = os.path.join(tmp, "emb.npy"), os.path.join(tmp, "labels.json")
    np.save(npy, E)
    json.dump(labels, open(lab, "w"))
    subprocess.run(["go", "build", "-o", os.path.join(tmp, "gobench"), "./bench/metrics/gobench"], cwd=ROOT, check=True)
    ref = json.loads(subprocess.run([sys.executable, __file__, "--threads", str(a.threads), "--torch-side", npy, lab],
                                    check=True, capture_output=True, text=True).stdout)
    env = dict(os.environ, GOMAXPROCS=str(a.threads))
    go = json.loads(subprocess.run([os.path.join(tmp, "gobench"), "-bench_npy", npy, "-bench_labels", lab], env=env,
                                   check=True, capture_output=True, text=True).stdout.splitlines()[-1])
    print("N=%d d=%d threads=%d (cosine)" % (a.n, a.dim, a.threads))
    for name, r in (("torch dense (reference)", ref), ("vindex metrics.Evaluate", go)):
        print("%-24s %8.2f s  peak RSS %7.0f MB  mAP %.6f MRR %.6f MR %.4f MR1 %.4f Top1 %d Top10 %d" % (
            name, r["seconds"], r["peak_rss_mb"], r["map"], r["mrr"], r["mr"], r["mr1"], r["top1"], r["top10"]))
    print("time ratio torch/vindex: %.2f   peak-memory ratio torch/vindex: %.2f" % (
        ref["seconds"] / go["seconds"], ref["peak_rss_mb"] / go["peak_rss_mb"]))
    print("CPU seconds (all threads; robust to a loaded machine): torch %.2f, vindex %.2f, ratio torch/vindex: %.2f" % (
        ref["cpu_seconds"], go["cpu_seconds"], ref["cpu_seconds"] / go["cpu_seconds"]))
    print("|ΔMAP| %.2e  |ΔMRR| %.2e  counts equal: %s" % (abs(ref["map"] - go["map"]), abs(ref["mrr"] - go["mrr"]),
                                                       ref["top1"] == go["top1"] and ref["top10"] == go["top10"]))


if __name__ == "__main__":
    sys.exit(main())
