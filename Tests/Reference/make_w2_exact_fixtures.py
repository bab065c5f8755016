#!/usr/bin/env python3
"""Writes the exact float64 squared Wasserstein-2 distance between Gaussians fitted to features, the
value `loss` prints for `--style-loss wasserstein`. Run by a developer, not by CI (NumPy and SciPy):

    python3 Tests/Reference/make_w2_exact_fixtures.py

Features F are C×M (row-major), the target T is C×Mt, all positions weighted equally. With EPS = 1e-4:
  μ = mean over positions,  Σ = (F − μ)(F − μ)ᵀ / M + EPS·I
  W2²/C = ‖μ − μt‖²/C + [tr Σ + tr Σt − 2 tr (Σt^½ Σ Σt^½)^½]/C
with the square roots by scipy.linalg.sqrtm — no shift (the float32 path shifts its roots to stay
stable; its value is ~2 % low at block2_conv1, which is why the printed value is computed exactly).
The cases mimic VGG19 features after a ReLU: low rank, many zeros, channel scales over four orders of
magnitude, so the covariances are as ill-conditioned as a deep layer's.
Output: Tests/LabTests/Fixtures/w2_exact.json.
"""
import json
import os

import numpy as np
import scipy.linalg

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "LabTests", "Fixtures", "w2_exact.json")
EPS = 1e-4
rng = np.random.default_rng(20261206)


def features(c, m, rank, scale_decades):
    basis = rng.standard_normal((c, rank))
    codes = rng.standard_normal((rank, m))
    f = np.maximum(basis @ codes + 0.3 * rng.standard_normal((c, m)), 0)
    scales = 10.0 ** rng.uniform(0, scale_decades, c)
    # float32 values, as the network's features are (the statistics are then taken in float64).
    return (f * scales[:, None]).astype(np.float32).astype(np.float64)


def stats(f):
    mu = f.mean(1)
    d = f - mu[:, None]
    return mu, d @ d.T / f.shape[1] + EPS * np.eye(f.shape[0])


def w2(f, t):
    mu, s = stats(f)
    mut, st = stats(t)
    r = scipy.linalg.sqrtm(st).real
    cross = scipy.linalg.sqrtm(r @ s @ r).real
    c = f.shape[0]
    return float(np.sum((mu - mut) ** 2) / c + (np.trace(s) + np.trace(st) - 2 * np.trace(cross)) / c)


cases = []
for name, c, m, mt, rank, decades in [
    ("small", 8, 200, 150, 6, 1.0),
    ("lowrank", 32, 300, 400, 8, 2.0),
    ("deep", 64, 160, 160, 20, 3.0),
]:
    f = features(c, m, rank, decades)
    t = features(c, mt, rank, decades)
    cases.append(dict(name=name, C=c, M=m, Mt=mt, F=[float("%.9g" % v) for v in f.reshape(-1)],
                      T=[float("%.9g" % v) for v in t.reshape(-1)], w2=w2(f, t), w2_self=w2(t, t)))
    print(name, cases[-1]["w2"], cases[-1]["w2_self"])

with open(OUT, "w") as fp:
    json.dump({"cases": cases}, fp, separators=(",", ":"))
    fp.write("\n")
print(f"wrote {len(cases)} cases to {OUT}")
