#!/usr/bin/python3
"""Gradient goldens for vindex/model/train (distillation heads and losses).

Writes, for small seeded batches, each loss's value and its gradients with
respect to the head (lin1.weight, through BatchNorm1d(affine=False) in
training mode) and to the proxies, computed by PyTorch autograd in float64
from the formulas of /work/shared/reference/remove-spec.md §4.4-4.5
(written from the spec, not from the AGPL source). Inputs are rounded to
float32 first, so Go (float32) and PyTorch see the same numbers.

Run from the repository root:  /usr/bin/python3 model/train/testdata/gen/gen.py
Output: model/train/testdata/grads.json (committed; CI runs no Python) and
its sidecar grads.meta.json. Never edit the outputs by hand.
"""
import json
import os

import numpy as np
import sklearn
import torch

SEED = 20201014
TOL_REL = 1e-5
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def sqe(a, b):
    """SqE(A,B)_ij = |a_i|^2 + |b_j|^2 - 2 a_i.b_j + 1e-12 (spec §4.4)."""
    return (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T + 1e-12


def head(x, w):
    """lin1 (no bias) then BatchNorm1d(affine=False) in training mode."""
    y = x @ w.T
    bn = torch.nn.BatchNorm1d(w.shape[0], affine=False, eps=1e-5).double()
    bn.train()
    return bn(y)


def triplet(z, labels, margin, emb_size):
    """Triplet loss with hard mining (mining 2, spec §4.4)."""
    d = sqe(z, z) / emb_size
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool)
    pos = (same & ~eye).double()
    neg = (~same).double()
    p = torch.argmax(d * pos, dim=1)
    n = torch.argmin(d + torch.where(neg > 0, torch.ones_like(d), torch.full_like(d, float("inf"))), dim=1)
    idx = torch.arange(len(labels))
    return torch.relu(d[idx, p] + margin - d[idx, n]).mean()


def kd_distance(s, t):
    """L1 between normalised pairwise squared distances, off-diagonal mean (spec §4.5)."""
    b = s.shape[0]
    ds = sqe(s, s) / s.shape[1]
    dt = sqe(t, t) / t.shape[1]
    off = ~torch.eye(b, dtype=torch.bool)
    return (ds - dt).abs()[off].mean()


def norm_softmax(z, p, labels, temperature):
    """NormalizedSoftmax: cross-entropy of cosine logits / temperature (spec §4.4)."""
    c = (z @ p.T) / p.norm(dim=1)[None, :] / z.norm(dim=1)[:, None]
    return torch.nn.functional.cross_entropy(c / temperature, labels)


def f32(a):
    return np.asarray(a, dtype=np.float32)


def tensor(a, grad=False):
    return torch.tensor(f32(a).astype(np.float64), requires_grad=grad)


def lst(t):
    return [float(v) for v in t.detach().numpy().astype(np.float64).ravel()]


def clique_labels(works, per):
    return np.repeat(np.arange(works), per).astype(np.int64)


def main():
    rng = np.random.default_rng(SEED)
    cases = []

    def base(b, d_in, d):
        x = f32(rng.random((b, d_in)) * 2)  # pooled features are mostly positive
        w = f32(rng.uniform(-1, 1, (d, d_in)) / np.sqrt(d_in))
        return x, w

    # Triplet (hard mining), emb_size = D and emb_size = a wider tensor (pruning).
    for name, (b, d_in, d, emb) in {"triplet": (16, 256, 8, 8), "triplet_prune": (16, 256, 12, 48)}.items():
        x, w = base(b, d_in, d)
        labels = clique_labels(b // 4, 4)
        wt = tensor(w, True)
        loss = triplet(head(tensor(x), wt), torch.tensor(labels), 1.0, float(emb))
        loss.backward()
        cases.append(dict(name=name, loss="triplet", b=b, d_in=d_in, d=d, emb_size=emb, margin=1.0,
                          x=lst(torch.tensor(x)), w=lst(torch.tensor(w)), labels=labels.tolist(),
                          value=float(loss), grad_w=lst(wt.grad)))

    # KD distance loss against a wider teacher.
    b, d_in, d, dt = 16, 256, 8, 32
    x, w = base(b, d_in, d)
    t = f32(rng.normal(size=(b, dt)))
    wt = tensor(w, True)
    loss = kd_distance(head(tensor(x), wt), tensor(t))
    loss.backward()
    cases.append(dict(name="kd_distance", loss="kd_distance", b=b, d_in=d_in, d=d, dt=dt,
                      x=lst(torch.tensor(x)), w=lst(torch.tensor(w)), t=lst(torch.tensor(t)),
                      labels=clique_labels(b // 4, 4).tolist(), value=float(loss), grad_w=lst(wt.grad)))

    # NormalizedSoftmax with proxies (instance batches: random labels).
    b, d_in, d, c = 16, 256, 8, 6
    x, w = base(b, d_in, d)
    p = f32(rng.normal(size=(c, d)))
    labels = rng.integers(0, c, size=b).astype(np.int64)
    wt, pt = tensor(w, True), tensor(p, True)
    loss = norm_softmax(head(tensor(x), wt), pt, torch.tensor(labels), 0.05)
    loss.backward()
    cases.append(dict(name="norm_softmax", loss="norm_softmax", b=b, d_in=d_in, d=d, classes=c,
                      temperature=0.05, x=lst(torch.tensor(x)), w=lst(torch.tensor(w)), p=lst(torch.tensor(p)),
                      labels=labels.tolist(), value=float(loss), grad_w=lst(wt.grad), grad_p=lst(pt.grad)))

    with open(os.path.join(OUT, "grads.json"), "w") as f:
        json.dump(dict(cases=cases), f)
    meta = dict(generator="model/train/testdata/gen/gen.py", torch=torch.__version__, numpy=np.__version__,
                sklearn=sklearn.__version__, seed=SEED, dtype="float64 autograd on float32 inputs",
                tolerance_rel=TOL_REL, tolerance_definition="|go - torch| <= tol * max|torch| per tensor; same for the loss value",
                reference="remove-spec.md §4.4-4.5: SqE, hard-mining triplet, KD distance, NormalizedSoftmax; "
                          "head = lin1 (no bias) + BatchNorm1d(affine=False) in training mode",
                cases=[dict(name=c["name"], b=c["b"], d=c["d"]) for c in cases])
    with open(os.path.join(OUT, "grads.meta.json"), "w") as f:
        json.dump(meta, f, indent=1)


if __name__ == "__main__":
    main()
