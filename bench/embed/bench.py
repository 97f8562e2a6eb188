#!/usr/bin/python3
"""Go model.Net vs PyTorch CPU on the same checkpoint and inputs, 1 thread each.

Run from the repository root:  /usr/bin/python3 bench/embed/bench.py [-n REPS]

PyTorch: MOVEModel from model/testdata/gen/gen.py loaded with
model/testdata/parity/ckpt_sum4-fa3-d256-zip.pt, torch.set_num_threads(1),
eval, no_grad, input 1x1x23xT built as the reference does.
Go: BenchmarkEmbed (GOMAXPROCS=1) on the same checkpoint and inputs.
Both run in this one invocation; the ratios are Go time / PyTorch time
(< 1: Go is faster), on wall time and on process CPU time. The machine is shared: run it when it is quiet, and
read the numbers as this run's, not as constants.
"""
import argparse
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


def torch_times(reps):
    torch.set_num_threads(1)
    m = MOVEModel(emb_size=256, sum_method=4, final_activation=3)
    m.load_state_dict(torch.load(os.path.join(PAR, "ckpt_sum4-fa3-d256-zip.pt"), map_location="cpu"))
    m.eval()
    out = {}
    for T in (400, 2350):
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


def go_times(reps):
    env = dict(os.environ, GOMAXPROCS="1")
    cmd = ["go", "test", "./model/", "-run", "^$", "-bench", "^BenchmarkEmbed$", "-benchtime", "%dx" % reps]
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    out = {}
    for line in res.stdout.splitlines():
        mm = re.match(r"BenchmarkEmbed/frames=(\d+)\S*\s+\d+\s+(\d+) ns/op.*?([\d.]+) cpu-s/song", line)
        if mm:
            out[int(mm.group(1))] = (int(mm.group(2)) / 1e9, float(mm.group(3)))
    return out, res.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=5, help="repetitions per size")
    a = ap.parse_args()
    pt = torch_times(a.n)
    gt, raw = go_times(a.n)
    print(raw.strip())
    print()
    print("torch %s, %s threads; Go GOMAXPROCS=1" % (torch.__version__, torch.get_num_threads()))
    print("wall = elapsed time per song; cpu = process CPU time per song (robust to a loaded machine)")
    print("%-7s %11s %11s %11s %10s %9s %9s %9s" % ("frames", "torch wall", "torch best", "torch cpu",
                                                   "Go wall", "Go cpu", "wall G/T", "cpu G/T"))
    for T in (400, 2350):
        tw, tb, tc = pt[T]
        gw, gc = gt[T]
        print("%-7d %11.4f %11.4f %11.4f %10.4f %9.4f %9.2f %9.2f" % (T, tw, tb, tc, gw, gc, gw / tw, gc / tc))


if __name__ == "__main__":
    main()
