#!/usr/bin/python3
"""Go model.Net vs PyTorch CPU on the same checkpoint and inputs, on one core and on two.

Run from the repository root:  /usr/bin/python3 bench/embed/bench.py [-n REPS]

PyTorch: MOVEModel from model/testdata/gen/gen.py loaded with
model/testdata/parity/ckpt_sum4-fa3-d256-zip.pt, eval, no_grad, input
1x1x23xT built as the reference does; timed with torch.set_num_threads(1),
then with torch.set_num_threads(2) (one song at a time on two threads).
Go: BenchmarkEmbed with GOMAXPROCS=1 (one song at a time on one core), then
BenchmarkEmbedParallel with GOMAXPROCS=2 (two songs at once, one Net each,
as a two-core worker embeds a catalog).
Everything runs in this one invocation. The tables print speed-ups,
PyTorch time / Go time (> 1: Go is faster; issue 13 asks for >= 3), on wall
time per song (with two cores: the inverse of the throughput) and on process
CPU time per song. The machine is shared: run it when it is quiet, and read
the numbers as this run's, not as constants.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

import numpy as np
import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "model", "testdata", "gen"))
from gen import MOVEModel, to_input  # noqa: E402

PAR = os.path.join(ROOT, "model", "testdata", "parity")
SIZES = (400, 2350)


def torch_times(reps, threads):
    torch.set_num_threads(threads)
    m = MOVEModel(emb_size=256, sum_method=4, final_activation=3)
    m.load_state_dict(torch.load(os.path.join(PAR, "ckpt_sum4-fa3-d256-zip.pt"), map_location="cpu"))
    m.eval()
    out = {}
    for T in SIZES:
        x = np.fromfile(os.path.join(PAR, "in_t%d.f32" % T), "<f4").reshape(T, 12)
        inp = to_input(x)
        with torch.no_grad():
            m(inp)  # warm-up
            best = float("inf")
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(reps):
                t = time.perf_counter()
                m(inp)
                best = min(best, time.perf_counter() - t)
            mean = (time.perf_counter() - t0) / reps
            cpu = (time.process_time() - c0) / reps
        out[T] = (mean, best, cpu)
    return out


def torch_times_isolated(reps, threads):
    """torch_times in a fresh interpreter, so each thread count starts its own thread pool."""
    cmd = [sys.executable, os.path.abspath(__file__), "-n", str(reps), "--torch-only", str(threads)]
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    return {int(k): tuple(v) for k, v in json.loads(res.stdout).items()}


def go_times(reps, bench, procs):
    env = dict(os.environ, GOMAXPROCS=str(procs))
    cmd = ["go", "test", "./model/", "-run", "^$", "-bench", "^%s$" % bench, "-benchtime", "%dx" % (reps * procs)]
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    out = {}
    for line in res.stdout.splitlines():
        mm = re.match(r"%s/frames=(\d+)\S*\s+\d+\s+\d+ ns/op.*?([\d.]+) cpu-s/song\s+([\d.]+) s/song" % bench, line)
        if mm:
            out[int(mm.group(1))] = (float(mm.group(3)), float(mm.group(2)))
    return out, res.stdout


def table(title, pt, gt):
    print(title)
    print("%-7s %11s %11s %11s %10s %9s %10s %9s" % ("frames", "torch wall", "torch best", "torch cpu",
                                                   "Go wall", "Go cpu", "wall T/G", "cpu T/G"))
    for T in SIZES:
        tw, tb, tc = pt[T]
        gw, gc = gt[T]
        print("%-7d %11.4f %11.4f %11.4f %10.4f %9.4f %9.2fx %8.2fx" % (T, tw, tb, tc, gw, gc, tw / gw, tc / gc))
    print()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=5, help="repetitions per size (songs per core for Go)")
    ap.add_argument("--torch-only", type=int, metavar="THREADS", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.torch_only:
        json.dump(torch_times(a.n, a.torch_only), sys.stdout)
        return
    pt1 = torch_times_isolated(a.n, 1)
    pt2 = torch_times_isolated(a.n, 2)
    gt1, raw1 = go_times(a.n, "BenchmarkEmbed", 1)
    gt2, raw2 = go_times(a.n, "BenchmarkEmbedParallel", 2)
    print(raw1.strip())
    print(raw2.strip())
    print()
    print("torch %s; Go GOMAXPROCS=1 (one core), GOMAXPROCS=2 (two songs at once)" % torch.__version__)
    print("seconds per song: wall = elapsed (two cores: elapsed / songs), cpu = process CPU time;")
    print("T/G = PyTorch / Go, the speed-up of Go (issue 13 target: >= 3)")
    print()
    table("one core: torch 1 thread vs Go 1 song at a time", pt1, gt1)
    table("two cores: torch 2 threads vs Go 2 songs in parallel", pt2, gt2)


if __name__ == "__main__":
    main()
