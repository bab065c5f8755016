#!/usr/bin/env python3
"""Writes the reference values for the style-statistics losses (mean-std and Gaussian Wasserstein-2).
Run by a developer, not by CI:

    /tmp/refenv/bin/pip install torch numpy scipy
    /tmp/refenv/bin/python Tests/Reference/make_style_statistics_fixtures.py

Features F are C×M (row-major), with optional per-position weights w (p = w / Σw; uniform if absent);
the target T is C×Mt with uniform weights. With EPS = 1e-4:
  μ = Σ_m p_m f_m,  Σ = Σ_m p_m (f_m − μ)(f_m − μ)ᵀ + EPS·I,  σ_c = sqrt(Σ_m p_m (F[c,m] − μ_c)² + EPS)
  L_ms = ‖μ − μt‖² + ‖σ − σt‖²
  L_w2 = ‖μ − μt‖²/C + [tr Σ − tr Σt − 2 tr(A Σ A + δI)^½ + 2 tr(A Σt A + δI)^½]/C,
with A = (Σt + SHIFT·‖Σt‖_F·I)^½ and δ = SHIFT·‖Σt‖_F²: the Wasserstein-2 distance of Gaussians, its square root shifted so that float32
Newton–Schulz stays stable (A Σ A squares the covariance's condition number), and the shift's effect
at Σ = Σt taken out by the constant last term (L = 0 there, as without the shift).
Loss values come from numpy/scipy (scipy.linalg.sqrtm) in float64; gradients dL/dF from torch float64
autograd, with the square root by eigendecomposition. The script checks that the two agree and that the
gradients match central finite differences of the scipy losses, and fails if they do not.
Output: Tests/LabTests/Fixtures/style_statistics.json (flat row-major lists, float64 repr).
"""
import json
import os

import numpy as np
import scipy
import scipy.linalg
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "LabTests", "Fixtures", "style_statistics.json")
EPS = 1e-4
SHIFT = 1e-4


def stats_np(f, w=None):
    p = np.full(f.shape[1], 1.0 / f.shape[1]) if w is None else w / w.sum()
    mu = f @ p
    d = f - mu[:, None]
    cov = (d * p) @ d.T
    return mu, cov + EPS * np.eye(len(mu)), np.sqrt(np.diag(cov) + EPS)


def losses_np(f, t, w=None):
    (mu, cov, sd), (mt, ct, st) = stats_np(f, w), stats_np(t)
    ms = np.sum((mu - mt) ** 2) + np.sum((sd - st) ** 2)
    c = len(mu)
    rt = np.real(scipy.linalg.sqrtm(ct + SHIFT * np.sqrt(np.sum(ct ** 2)) * np.eye(c)))  # ~0 imaginary parts dropped
    shift = SHIFT * np.sum(ct ** 2) * np.eye(c)
    cross = np.real(scipy.linalg.sqrtm(rt @ cov @ rt + shift))
    same = np.real(scipy.linalg.sqrtm(rt @ ct @ rt + shift))
    w2 = np.sum((mu - mt) ** 2) / c + np.trace(cov - ct - 2 * cross + 2 * same) / c
    return ms, w2


def sqrtm_t(a):
    lam, v = torch.linalg.eigh(a)
    return v @ torch.diag(torch.sqrt(torch.clamp(lam, min=0))) @ v.T


def losses_torch(f, t, w=None):
    def stats(x, p):
        mu = x @ p
        d = x - mu[:, None]
        cov = (d * p) @ d.T
        return mu, cov + EPS * torch.eye(len(mu), dtype=x.dtype), torch.sqrt(torch.diagonal(cov) + EPS)
    uni = lambda n: torch.full((n,), 1.0 / n, dtype=torch.float64)
    (mu, cov, sd), (mt, ct, st) = stats(f, uni(f.shape[1]) if w is None else w / w.sum()), stats(t, uni(t.shape[1]))
    ms = ((mu - mt) ** 2).sum() + ((sd - st) ** 2).sum()
    c = len(mu)
    rt = sqrtm_t(ct + SHIFT * torch.sqrt((ct ** 2).sum()) * torch.eye(c, dtype=f.dtype))
    shift = SHIFT * (ct ** 2).sum() * torch.eye(c, dtype=f.dtype)
    w2 = ((mu - mt) ** 2).sum() / c + torch.trace(cov - ct - 2 * sqrtm_t(rt @ cov @ rt + shift) + 2 * sqrtm_t(rt @ ct @ rt + shift)) / c
    return ms, w2


def features(rng, c, m, scale=3.0):
    """Post-ReLU-looking features: about 60% positive entries."""
    return np.maximum(rng.normal(size=(c, m)) * 2 + 0.5, 0) * scale


def make_case(name, f, t, w, rng, checks):
    ms, w2 = losses_np(f, t, w)
    ft = torch.tensor(f, requires_grad=True)
    wt = None if w is None else torch.tensor(w)
    ms_t, w2_t = losses_torch(ft, torch.tensor(t), wt)
    g_ms, g_w2 = (torch.autograd.grad(l, ft, retain_graph=True)[0] for l in (ms_t, w2_t))
    rel = lambda a, b: abs(a - b) / max(abs(b), 1e-300)
    checks.append(f"{name}: torch vs scipy ms {ms_t.item():.17g} / {ms:.17g} (rel {rel(ms_t.item(), ms):.1e}),"
                  f" w2 {w2_t.item():.17g} / {w2:.17g} (rel {rel(w2_t.item(), w2):.1e})")
    assert rel(ms_t.item(), ms) < 1e-10 and (rel(w2_t.item(), w2) < 1e-9 or abs(w2_t.item() - w2) < 1e-12)
    # Central differences of the scipy losses at a few entries, h small relative to entries of size ~3.
    h, worst, worst_abs = 1e-5, 0.0, 0.0
    for idx in [tuple(i) for i in rng.integers(0, f.shape, size=(3, 2))] + [np.unravel_index(np.argmax(f), f.shape)]:
        fp, fm = f.copy(), f.copy()
        fp[idx] += h
        fm[idx] -= h
        for k, g in ((0, g_ms), (1, g_w2)):
            fd = (losses_np(fp, t, w)[k] - losses_np(fm, t, w)[k]) / (2 * h)
            worst_abs = max(worst_abs, abs(fd - g[idx].item()))
            worst = max(worst, abs(fd - g[idx].item()) / max(abs(g[idx].item()), 1e-3))
    checks.append(f"{name}: finite differences vs autograd at 4 entries x 2 losses: worst abs err {worst_abs:.1e},"
                  f" rel err {worst:.1e} (|grad| floored at 1e-3), max |grad| ms {g_ms.abs().max():.2e} w2 {g_w2.abs().max():.2e}")
    assert worst < 1e-5
    (mu, cov, _), (_, ct, _) = stats_np(f, w), stats_np(t)
    checks.append(f"{name}: cond(cov) {np.linalg.cond(cov):.1e}, cond(target_cov) {np.linalg.cond(ct):.1e}")
    flat = lambda a: [float(x) for x in np.asarray(a).ravel()]
    return {"name": name, "C": f.shape[0], "M": f.shape[1], "Mt": t.shape[1], "F": flat(f), "T": flat(t),
            "weights": None if w is None else flat(w), "ms_loss": float(ms), "w2_loss": float(w2),
            "ms_grad": flat(g_ms), "w2_grad": flat(g_w2), "mean": flat(mu), "cov": flat(cov), "target_cov": flat(ct)}


def main():
    checks, cases = [], []
    for i, (c, m, mt, weighted) in enumerate([(3, 7, 9, False), (5, 20, 16, False), (8, 40, 30, False), (5, 20, 16, True)]):
        rng = np.random.default_rng(1000 + i)
        f, t = features(rng, c, m), features(rng, c, mt)
        w = rng.uniform(0.1, 1.0, m) if weighted else None
        cases.append(make_case(f"C{c}_M{m}_Mt{mt}" + ("_weighted" if weighted else ""), f, t, w, rng, checks))
    rng = np.random.default_rng(2000)
    same = features(rng, 4, 12)  # F = T: both losses 0 up to rounding (w2 keeps a ~1e-14 residue)
    cases.append(make_case("identical", same, same.copy(), None, rng, checks))
    out = {"generated_by": "Tests/Reference/make_style_statistics_fixtures.py",
           "numpy": np.__version__, "scipy": scipy.__version__, "torch": torch.__version__,
           "eps": EPS, "shift": SHIFT, "cases": cases}
    with open(OUT, "w") as fh:
        json.dump(out, fh, indent=1)
    print("\n".join(checks))
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
