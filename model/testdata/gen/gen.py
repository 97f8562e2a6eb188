#!/usr/bin/python3
"""Parity goldens for vindex/model (the MOVE network in Go).

Builds MOVEModel in PyTorch from /work/shared/reference/remove-spec.md §1
(written from the spec, not from the AGPL source), saves seeded checkpoints
with non-trivial parameters in both torch serialisation formats, and writes
golden inputs and embeddings.

Run from the repository root:  /usr/bin/python3 model/testdata/gen/gen.py
Outputs go to model/testdata/parity/ and are committed; Go tests read them
(CI has no Python). Never edit the outputs by hand.

Files:
  ckpt_<name>.pt          state_dict, torch zip (default torch.save) or legacy
                          (_use_new_zipfile_serialization=False) format
  in_<name>.f32           crema input, little-endian float32, frame-major T x 12
  out_<case>.f32          expected embedding, little-endian float32, d values
  manifest.json           every checkpoint / input / case with shapes,
                          tolerance, generator, seed, torch version

Reruns reproduce every file byte for byte except the legacy-format .pt files,
whose storage keys are CPython object addresses: their tensors (and so the
state_dict hash and model id) are identical, their bytes are not. Restore
them from git after a rerun unless the model itself changed.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SEED = 20201014
TOL = 1e-4
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "parity")


class MOVEModel(nn.Module):
    """MOVEModel per remove-spec.md §1.1-1.2."""

    def __init__(self, emb_size=16000, sum_method=4, final_activation=3):
        super().__init__()
        self.sum_method = sum_method
        self.final_activation = final_activation
        # autopool_p is the module's own parameter: registered first so it
        # is the first key of the state_dict (spec §1.4).
        self.autopool_p = nn.Parameter(torch.tensor(0.0))
        self.prelu1 = nn.PReLU(init=0.01)
        self.prelu2 = nn.PReLU(init=0.01)
        self.prelu3 = nn.PReLU(init=0.01)
        self.prelu4 = nn.PReLU(init=0.01)
        self.prelu5 = nn.PReLU(init=0.01)
        self.conv1 = nn.Conv2d(1, 256, kernel_size=(12, 180), bias=True)
        self.key_pool = nn.MaxPool2d(kernel_size=(12, 1))
        self.conv2 = nn.Conv2d(256, 256, kernel_size=(1, 5), bias=True)
        self.conv3 = nn.Conv2d(256, 256, kernel_size=(1, 5), dilation=(1, 20), bias=True)
        self.conv4 = nn.Conv2d(256, 256, kernel_size=(1, 5), bias=True)
        c5 = 256 if sum_method in (0, 1, 2) else 512
        self.conv5 = nn.Conv2d(256, c5, kernel_size=(1, 5), dilation=(1, 13), bias=True)
        for c in (self.conv1, self.conv2, self.conv3, self.conv4, self.conv5):
            nn.init.kaiming_normal_(c.weight, a=0.01, mode="fan_in", nonlinearity="leaky_relu")
        if final_activation == 3:
            self.lin_bn = nn.BatchNorm1d(emb_size, affine=False)
        self.lin1 = nn.Linear(256, emb_size, bias=(final_activation != 3))

    def autopool_weights(self, a):
        z = a * self.autopool_p
        z = z - z.max(dim=3, keepdim=True)[0]
        e = torch.exp(z)
        return e / e.sum(dim=3, keepdim=True)

    def forward(self, x):
        x = self.prelu1(self.conv1(x))
        x = self.key_pool(x)
        x = self.prelu2(self.conv2(x))
        x = self.prelu3(self.conv3(x))
        x = self.prelu4(self.conv4(x))
        x = self.prelu5(self.conv5(x))
        sm = self.sum_method
        if sm == 0:
            x = x.max(dim=3)[0]
        elif sm == 1:
            x = x.mean(dim=3)
        elif sm == 2:
            x = (x * self.autopool_weights(x)).sum(dim=3)
        elif sm == 3:
            x = (x[:, :256] * F.softmax(x[:, 256:], dim=3)).sum(dim=3)
        else:
            w = self.autopool_weights(x[:, :256])
            x = (x[:, 256:] * w).sum(dim=3)
        x = x.view(-1, 256)
        x = self.lin1(x)
        fa = self.final_activation
        if fa == 1:
            x = torch.sigmoid(x)
        elif fa == 2:
            x = torch.tanh(x)
        elif fa == 3:
            x = self.lin_bn(x)
        return x


def to_input(crema_tx12):
    """T x 12 crema -> 1 x 1 x 23 x T (spec §2.3)."""
    t = torch.from_numpy(crema_tx12.T.copy())
    return torch.cat((t, t))[:23].unsqueeze(0).unsqueeze(0).float()


def make_crema(rng, T):
    """Crema-like activations in [0, 1]: a smoothed random walk through a
    sigmoid, so frames are correlated in time as real chroma is."""
    z = rng.standard_normal((T, 12)).astype(np.float64)
    for t in range(1, T):
        z[t] = 0.85 * z[t - 1] + 0.5 * z[t]
    return (1.0 / (1.0 + np.exp(-1.5 * z))).astype(np.float32)


def build(d, sm, fa, gen_seed, base=None, probe=None):
    """A model with non-trivial parameters. Conv weights are shared with
    `base` (same seed) so variants differ only where their shapes differ."""
    torch.manual_seed(gen_seed)
    m = MOVEModel(emb_size=d, sum_method=sm, final_activation=fa)
    g = torch.Generator().manual_seed(gen_seed + 1)
    with torch.no_grad():
        if base is not None:
            for name in ("conv1", "conv2", "conv3", "conv4"):
                getattr(m, name).weight.copy_(getattr(base, name).weight)
                getattr(m, name).bias.copy_(getattr(base, name).bias)
            if m.conv5.weight.shape == base.conv5.weight.shape:
                m.conv5.weight.copy_(base.conv5.weight)
                m.conv5.bias.copy_(base.conv5.bias)
        # Non-default PReLU slopes, two of them negative (PReLU then is not
        # monotone, so PReLU-before-max order matters).
        for i, a in enumerate([0.23, -0.11, 0.07, -0.19, 0.31]):
            getattr(m, "prelu%d" % (i + 1)).weight.fill_(a)
        # Biases larger than the default so they matter.
        for name in ("conv1", "conv2", "conv3", "conv4", "conv5"):
            b = getattr(m, name).bias
            b.copy_(0.1 * torch.randn(b.shape, generator=g))
        m.autopool_p.fill_(0.73 if sm != 2 else -0.41)
        if fa == 3:
            # Running stats roughly at the scale of lin1's output so the
            # normalised embedding is O(1), but clearly not 0/1.
            m.eval()
            m.final_activation = 0
            with torch.no_grad():
                y = torch.cat([m(p) for p in probe])
            m.final_activation = 3
            s = float(y.std()) + 1e-3
            m.lin_bn.running_mean.copy_(y.mean(0) + 0.3 * s * torch.randn(d, generator=g))
            m.lin_bn.running_var.copy_((s * s) * (0.5 + torch.rand(d, generator=g)))
            m.lin_bn.num_batches_tracked.fill_(1234)
    m.eval()
    return m


def save(m, path, fmt, half):
    sd = m.state_dict()
    if half:
        sd = type(sd)((k, v.half() if v.is_floating_point() else v) for k, v in sd.items())
    if fmt == "zip":
        torch.save(sd, path)
    else:
        torch.save(sd, path, _use_new_zipfile_serialization=False)
    # What the checkpoint holds, as float32: the model PyTorch evaluates.
    loaded = torch.load(path, map_location="cpu")
    m2 = MOVEModel(emb_size=m.lin1.out_features, sum_method=m.sum_method,
                   final_activation=m.final_activation)
    m2.load_state_dict({k: (v.float() if v.is_floating_point() else v) for k, v in loaded.items()})
    m2.eval()
    return m2


def write_f32(path, a):
    np.ascontiguousarray(a, dtype="<f4").tofile(path)


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(SEED)

    inputs = {}  # name -> (crema T x 12 at its hop, hop)
    for T in (320, 400, 2350):
        inputs["t%d" % T] = (make_crema(rng, T), 4096)
    # Hop 512: a hop-4096 song of 401 frames upsampled by nearest neighbour
    # x8 (as acoss does), plus 5 trailing frames and perturbations on the
    # frames decimation drops, so [::8] is the only right reduction.
    base = make_crema(rng, 401)
    up = np.repeat(base, 8, axis=0)[: 400 * 8 + 5].copy()
    mask = (np.arange(up.shape[0]) % 8) != 0
    up[mask] = np.clip(up[mask] + 0.3 * rng.standard_normal((mask.sum(), 12)).astype(np.float32), 0, 1)
    inputs["h512"] = (up, 512)
    probe = [to_input(inputs["t400"][0]), to_input(inputs["t320"][0])]

    man = {
        "generator": "model/testdata/gen/gen.py",
        "seed": SEED,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "tolerance_abs": TOL,
        "layout": "float32 little-endian; inputs frame-major T x 12 at their hop; outputs d values",
        "inputs": {}, "checkpoints": {}, "cases": [],
    }
    for name, (x, hop) in inputs.items():
        write_f32(os.path.join(OUT, "in_%s.f32" % name), x)
        man["inputs"][name] = {"file": "in_%s.f32" % name, "frames": int(x.shape[0]), "hop": hop,
                               "shape": [int(x.shape[0]), 12]}

    main_model = build(256, 4, 3, SEED, probe=probe)
    # (name, d, sum_method, final_activation, format, half, inputs)
    ckpts = [
        ("sum4-fa3-d256-zip", 256, 4, 3, "zip", False, ["t320", "t400", "t2350", "h512"]),
        ("sum4-fa3-d256-legacy", 256, 4, 3, "legacy", False, ["t320", "t400", "t2350", "h512"]),
        ("sum0-fa0-d128-f16zip", 128, 0, 0, "zip", True, ["t400", "t320"]),
        ("sum1-fa1-d256-f16legacy", 256, 1, 1, "legacy", True, ["t400"]),
        ("sum2-fa2-d128-f16zip", 128, 2, 2, "zip", True, ["t400", "t320"]),
        ("sum3-fa3-d256-f16legacy", 256, 3, 3, "legacy", True, ["t400"]),
        ("sum4-fa0-d2048-f16zip", 2048, 4, 0, "zip", True, ["t400"]),
        ("sum4-fa3-d2048-f16legacy", 2048, 4, 3, "legacy", True, ["t400", "h512"]),
        ("sum4-fa1-d128-f16zip", 128, 4, 1, "zip", True, ["t400"]),
    ]
    base0 = None
    for name, d, sm, fa, fmt, half, ins in ckpts:
        if name.startswith("sum4-fa3-d256"):
            m = main_model
        else:
            m = build(d, sm, fa, SEED, base=main_model, probe=probe)
        path = os.path.join(OUT, "ckpt_%s.pt" % name)
        m2 = save(m, path, fmt, half)
        man["checkpoints"][name] = {
            "file": "ckpt_%s.pt" % name, "format": fmt, "dtype": "float16" if half else "float32",
            "sum_method": sm, "final_activation": fa, "dim": d,
            "keys": list(m2.state_dict().keys()),
            "params": sum(p.numel() for p in m2.parameters()),
        }
        for inp in ins:
            x, hop = inputs[inp]
            if hop != 4096:
                x = x[np.arange(0, x.shape[0], 4096 // hop)]
            with torch.no_grad():
                y = m2(to_input(x)).numpy()[0]
            case = "%s__%s" % (name, inp)
            write_f32(os.path.join(OUT, "out_%s.f32" % case), y)
            man["cases"].append({"name": case, "checkpoint": name, "input": inp, "file": "out_%s.f32" % case,
                                 "shape": [int(y.shape[0])], "model_frames": int(x.shape[0]),
                                 "tolerance_abs": TOL, "max_abs": float(np.abs(y).max())})
            print(case, y.shape, float(np.abs(y).max()), file=sys.stderr)

    # Pitch-roll check on the reference itself (spec §1.3): exact invariance.
    x = inputs["t400"][0]
    with torch.no_grad():
        a = main_model(to_input(x)).numpy()
        b = main_model(to_input(np.roll(x, 5, axis=1))).numpy()
    man["reference_roll5_max_abs_diff"] = float(np.abs(a - b).max())

    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(man, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
