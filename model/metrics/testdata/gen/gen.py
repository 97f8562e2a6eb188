#!/usr/bin/python3
"""Reference re-implementation of the Re-MOVE evaluation metrics (written from
remove-spec.md §3, not copied from the AGPL code), in torch 1.13, dense N×N
as the original does, on seeded clustered embeddings with noise songs.

Writes model/metrics/testdata/clustered.json (inputs) and
clustered.golden.json (per distance: MAP, MRR, MR, Top1, Top10, MR1 over
queries with versions, per-query AP and first rank) plus a sidecar.

Run from the repository root: /usr/bin/python3 model/metrics/testdata/gen/gen.py
"""
import json
import os
import sys

import numpy as np
import torch

SEED = 20240605
N_CLIQUES = 40
N_NOISE = 60
DIM = 24


def make_embeddings(seed=SEED, n_cliques=N_CLIQUES, n_noise=N_NOISE, dim=DIM):
    """Clustered embeddings: one centre per clique, versions = centre + noise;
    noise songs are standalone. Returns (E float32 N×d, labels list[str])."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 13, size=n_cliques)
    rows, labels = [], []
    for c, k in enumerate(sizes):
        centre = rng.normal(size=dim)
        for _ in range(k):
            rows.append(centre + rng.normal(scale=1.1, size=dim))
            labels.append("w%03d" % c)
    for _ in range(n_noise):
        rows.append(rng.normal(size=dim) * 1.3)
        labels.append("")
    perm = rng.permutation(len(rows))
    E = np.asarray(rows, dtype=np.float32)[perm]
    labels = [labels[i] for i in perm]
    return E, labels


def distance(E, kind):
    """The reference's D (smaller = closer), float32 (remove-spec §3.1)."""
    d = E.shape[1]
    if kind == "cosine":
        D = -torch.matmul(E, E.T)
        n = torch.norm(E, dim=1)
        D = D / n.unsqueeze(0)  # column norms first
        D = D / n.unsqueeze(1)  # then row norms
        return D
    if kind == "sqeuclidean":
        sq = (E * E).sum(1)
        return (sq.unsqueeze(1) + sq.unsqueeze(0) - 2 * torch.matmul(E, E.T) + 1e-12) / d
    if kind == "pearson":
        Ec = E - E.mean(1, keepdim=True)
        cov = torch.matmul(Ec, Ec.T) / (d - 1)
        var = (Ec * Ec).sum(1) / (d - 1)
        r = cov / torch.sqrt(var.unsqueeze(1) * var.unsqueeze(0))
        return -r
    raise ValueError(kind)


def ground_truth(labels):
    n = len(labels)
    ids = {}
    lab = []
    for i, l in enumerate(labels):
        lab.append(ids.setdefault(l, len(ids)) if l else -1 - i)  # noise: unique label
    lab = torch.tensor(lab)
    Y = (lab.unsqueeze(0) == lab.unsqueeze(1)).float()
    Y.fill_diagonal_(0)
    return Y


def metrics(ypred, ytrue):
    """remove-spec §3.3, step by step, float32, k = N."""
    n = ypred.shape[0]
    k = n
    _, order = torch.topk(ypred, k, dim=1)
    found = torch.gather(ytrue, 1, order)
    temp = torch.arange(k, dtype=torch.float32) * 1e-6
    _, sel = torch.topk(found - temp, 1, dim=1)
    rank = sel.float() + 1
    mrr = torch.mean(1 / rank)
    mr = torch.mean(rank)
    top1 = found[:, 0].sum()
    top10 = found[:, :10].sum()
    ranks = torch.arange(1, k + 1, dtype=torch.float32).unsqueeze(0)
    prec = torch.cumsum(found, 1) / ranks
    nrel = ytrue.sum(1)
    ap = (prec * found).sum(1) / (nrel + 1e-10)
    has = nrel > 0
    return {
        "map": ap[has].mean().item(),
        "mrr": mrr.item(),
        "mr": mr.item(),
        "top1": int(round(top1.item())),
        "top10": int(round(top10.item())),
        "mr1": rank[has].mean().item(),
        "mrr1": (1 / rank[has]).mean().item(),
        "ap": [float(a) for a in ap.tolist()],
        "first_rank": [int(r) for r in rank.squeeze(1).tolist()],
        "versions": [int(v) for v in nrel.tolist()],
    }


def evaluate(E, labels, kind):
    Et = torch.from_numpy(E)
    D = distance(Et, kind)
    ypred = -D + torch.diag(torch.full((E.shape[0],), -float("inf")))
    return metrics(ypred, ground_truth(labels))


def main():
    torch.manual_seed(SEED)
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    E, labels = make_embeddings()
    n = len(labels)
    ids = ["s%04d" % i for i in range(n)]  # zero-padded: song_id order = dataset order
    inputs = {"song_ids": ids, "work_ids": labels, "dim": DIM,
              "embeddings": [[float(v) for v in row] for row in E]}
    gold = {k: evaluate(E, labels, k) for k in ("cosine", "sqeuclidean", "pearson")}
    with open(os.path.join(out, "clustered.json"), "w") as f:
        json.dump(inputs, f)
    with open(os.path.join(out, "clustered.golden.json"), "w") as f:
        json.dump(gold, f, indent=1)
    with open(os.path.join(out, "clustered.golden.meta.json"), "w") as f:
        json.dump({"shape": [n, DIM], "cliques": N_CLIQUES, "noise": N_NOISE,
                   "tolerance": {"map": 1e-6, "mrr": 1e-6, "mr1": 1e-6, "counts": 0},
                   "generator": "model/metrics/testdata/gen/gen.py (torch %s, numpy %s)" % (torch.__version__, np.__version__),
                   "seed": SEED}, f, indent=1)
    for k, g in gold.items():
        print(k, "mAP %.3f MRR %.3f MR %.3f Top1 %d Top10 %d MR1 %.3f" % (g["map"], g["mrr"], g["mr"], g["top1"], g["top10"], g["mr1"]))


if __name__ == "__main__":
    sys.exit(main())
