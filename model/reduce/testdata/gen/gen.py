#!/usr/bin/python3
"""Generate model/reduce goldens with scikit-learn (verified with 1.2.1, numpy 1.24).

Run from the repository root:  /usr/bin/python3 model/reduce/testdata/gen/gen.py

Each golden is <name>.bin (float64 little-endian arrays, concatenated) and a
JSON sidecar <name>.json naming each array's shape and offset (in values), the
tolerances the Go tests use, the generator, the seed and library versions.
Sign convention: vindex signs each PCA component so that its largest-magnitude
entry is positive; sklearn 1.2's PCA signs by U (svd_flip with
u_based_decision=True). The script re-signs sklearn's output with sklearn's
own svd_flip(transform, components_, u_based_decision=False) (the rule
sklearn ≥ 1.5 uses), so the goldens check vindex against scikit-learn, not
against a reimplementation, and also stores sklearn 1.2's components_
("components_sklearn", signs by U) for reduce.SignVotes, which reproduces
them.
"""
import json
import os
import sys

import numpy as np
import sklearn
from sklearn.decomposition import PCA, FastICA
from sklearn.random_projection import johnson_lindenstrauss_min_dim
from sklearn.utils.extmath import svd_flip

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def write(name, arrays, meta):
    offset = 0
    entries = []
    with open(os.path.join(OUT, name + ".bin"), "wb") as f:
        for key, a in arrays:
            a = np.ascontiguousarray(a, dtype="<f8")
            f.write(a.tobytes())
            entries.append({"name": key, "shape": list(a.shape), "offset": offset})
            offset += a.size
    meta = dict(meta)
    meta.update({
        "generator": "model/reduce/testdata/gen/gen.py",
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "arrays": entries,
    })
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
        f.write("\n")


def flipped(p, x):
    """p's transform of x and components_, re-signed by sklearn's svd_flip on the components."""
    return svd_flip(p.transform(x), p.components_.copy(), u_based_decision=False)


def pca_golden():
    seed = 20240501
    rng = np.random.default_rng(seed)
    n, d, k = 300, 24, 8
    # Anisotropic data far from the origin: tests centring with a large mean.
    scales = np.linspace(5.0, 0.2, d)
    basis, _ = np.linalg.qr(rng.normal(size=(d, d)))
    x = (rng.normal(size=(n, d)) * scales) @ basis.T + 1000.0 + rng.normal(size=d) * 50
    x = x.astype(np.float32).astype(np.float64)  # embeddings are float32
    p = PCA(n_components=k, svd_solver="full").fit(x)
    t, comp = flipped(p, x)
    pw = PCA(n_components=k, svd_solver="full", whiten=True).fit(x)
    tw, _ = flipped(pw, x)
    write("pca", [("x", x), ("mean", p.mean_), ("components", comp), ("components_sklearn", p.components_),
                  ("explained_variance", p.explained_variance_),
                  ("explained_variance_ratio", p.explained_variance_ratio_),
                  ("transform", t), ("transform_whiten", tw)],
          {"seed": seed, "k": k, "svd_solver": "full",
           "tolerance": {"components": 1e-5, "transform": 1e-4, "explained_variance": 1e-6}})


def pca_subspace_golden():
    """A catalog large enough for vindex's subspace solver (d = 128, k = 12:
    2k + 16 = 40 vectors), a low-rank signal with decaying scales plus noise,
    like bench/pca's."""
    seed = 20261201
    rng = np.random.default_rng(seed)
    n, d, k, rank = 300, 128, 12, 48
    z = rng.normal(size=(n, rank)) * np.linspace(4.0, 0.3, rank)
    x = z @ rng.normal(size=(rank, d)) / np.sqrt(rank) + 0.05 * rng.normal(size=(n, d)) + 0.5
    x = x.astype(np.float32).astype(np.float64)
    p = PCA(n_components=k, svd_solver="full").fit(x)
    t, comp = flipped(p, x)
    write("pca_subspace", [("x", x), ("mean", p.mean_), ("components", comp),
                           ("explained_variance", p.explained_variance_),
                           ("explained_variance_ratio", p.explained_variance_ratio_), ("transform", t)],
          {"seed": seed, "k": k, "svd_solver": "full",
           "tolerance": {"components": 1e-5, "transform": 1e-4, "explained_variance": 1e-6}})


def ica_golden():
    seed = 7
    rng = np.random.default_rng(seed)
    n, d, k = 2000, 6, 3
    t = np.linspace(0, 8, n)
    sources = np.c_[np.sin(2 * t), np.sign(np.sin(3 * t)), rng.laplace(size=n)]
    mixing = rng.normal(size=(d, 3))
    x = sources @ mixing.T + 0.01 * rng.normal(size=(n, d)) + 3.0
    w_init = rng.normal(size=(k, k))
    ica = FastICA(n_components=k, algorithm="parallel", whiten="unit-variance", fun="logcosh",
                  max_iter=200, tol=1e-4, w_init=w_init, whiten_solver="svd")
    s = ica.fit_transform(x)
    write("ica", [("x", x), ("w_init", w_init), ("mean", ica.mean_), ("components", ica.components_),
                  ("transform", s), ("n_iter", np.array([ica.n_iter_], dtype=float))],
          {"seed": seed, "k": k, "algorithm": "parallel", "fun": "logcosh", "whiten": "unit-variance",
           "whiten_solver": "svd", "max_iter": 200, "tol": 1e-4,
           "tolerance": {"components": 1e-3, "transform": 1e-3}})


def jl_golden():
    ns = np.array([10, 100, 1000, 15000, 100000, 1000000], dtype=float)
    eps = np.array([0.05, 0.1, 0.2, 0.3, 0.5, 0.9])
    grid = np.array([[johnson_lindenstrauss_min_dim(int(n), eps=e) for e in eps] for n in ns], dtype=float)
    write("jl", [("n_samples", ns), ("eps", eps), ("min_dim", grid)], {"seed": 0, "tolerance": {"min_dim": 0}})


if __name__ == "__main__":
    pca_golden()
    pca_subspace_golden()
    ica_golden()
    jl_golden()
