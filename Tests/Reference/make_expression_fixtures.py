#!/usr/bin/env python3
"""Writes the reference values for the shell's expression language: each expression in the shell's
syntax beside the same computation in NumPy (float64), on small seeded arrays. Run by a developer,
not by CI (NumPy only):

    python3 Tests/Reference/make_expression_fixtures.py

The Swift test (ExpressionTests) evaluates every expression on the same inputs and compares shape
and values. Output: Tests/LabTests/Fixtures/expressions.json (flat row-major lists, float64 repr).
"""
import json
import os

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "LabTests", "Fixtures", "expressions.json")

rng = np.random.default_rng(20261206)
inputs = {
    "A": rng.standard_normal((3, 4)),
    "B": rng.standard_normal(4),
    "C": rng.standard_normal((2, 3, 4)),
    "F": rng.standard_normal((5, 12)),
    "X": rng.standard_normal((3, 5, 6)) * 20,
    "P": rng.uniform(0.5, 2.0, (3, 4)),
}
A, B, C, F, X, P = (inputs[k] for k in "ABCFXP")


def tv(x):  # Keras's total variation
    a = (x[:, :-1, :-1] - x[:, 1:, :-1]) ** 2
    b = (x[:, :-1, :-1] - x[:, :-1, 1:]) ** 2
    return np.sum((a + b) ** 1.25)


cases = [
    # arithmetic and broadcasting
    ("A + B", A + B),
    ("A * 2 - B / 4", A * 2 - B / 4),
    ("C + A", C + A),
    ("C * B", C * B),
    ("A ^ 2", A**2),
    ("-A^2", -(A**2)),
    ("2^-1", np.array(0.5)),
    ("P ** B", P**B),
    ("1 - 2 - 3", np.array(1 - 2 - 3)),
    ("2 ^ 3 ^ 2", np.array(2.0 ** (3**2))),
    ("(A + 1) / (P + 1)", (A + 1) / (P + 1)),
    # products
    ("A @ B", A @ B),
    ("A @ A.T", A @ A.T),
    ("B @ A.T", B @ A.T),
    ("B @ B", np.array(B @ B)),
    ("gram(F)", F @ F.T),
    ("gram(C)", C.reshape(2, -1) @ C.reshape(2, -1).T),
    # shapes
    ("A.T", A.T),
    ("C.T", C.T),
    ("transpose(C, 2, 0, 1)", np.transpose(C, (2, 0, 1))),
    ("reshape(C, 6, -1)", C.reshape(6, -1)),
    ("reshape(F, -1)", F.reshape(-1)),
    # slicing
    ("C[0:2, :, 1]", C[0:2, :, 1]),
    ("C[-1]", C[-1]),
    ("C[:, 1:3, ::2]", C[:, 1:3, ::2]),
    ("A[1, 2]", np.array(A[1, 2])),
    ("A[:, -2:]", A[:, -2:]),
    ("X[0:3, 1:5:2, 4]", X[0:3, 1:5:2, 4]),
    # reductions
    ("sum(C)", np.array(C.sum())),
    ("sum(C, 1)", C.sum(1)),
    ("mean(C, axis=-1)", C.mean(axis=-1)),
    ("max(A, 0)", A.max(0)),
    ("min(A, 1)", A.min(1)),
    ("max(C)", np.array(C.max())),
    ("std(A)", np.array(A.std())),
    ("var(C, 2)", C.var(2)),
    ("std(F, 1)", F.std(1)),
    ("mean(F, 0)", F.mean(0)),
    # element-wise functions
    ("sqrt(abs(A))", np.sqrt(np.abs(A))),
    ("exp(A / 10)", np.exp(A / 10)),
    ("log(abs(A) + 1)", np.log(np.abs(A) + 1)),
    ("relu(A)", np.maximum(A, 0)),
    ("norm(A)", np.array(np.linalg.norm(A))),
    ("numel(C)", np.array(C.size, dtype=float)),
    ("shape(C)", np.array(C.shape, dtype=float)),
    # comparisons: masks
    ("A > 0", (A > 0).astype(float)),
    ("(A >= B) * A", (A >= B) * A),
    ("A == A", (A == A).astype(float)),
    ("A != 0", (A != 0).astype(float)),
    ("A * (B > 0)", A * (B > 0)),
    # compositions a learner writes
    ("sum((A - mean(A, 0))^2, 0) / 3", ((A - A.mean(0)) ** 2).sum(0) / 3),
    ("sum((gram(F) - gram(F * 2))^2) / (4 * 5^2 * 12^2)", np.array(((F @ F.T - (2 * F) @ (2 * F).T) ** 2).sum() / (4 * 25 * 144))),
    ("tv(X)", np.array(tv(X))),
    ("sum((mean(F, 1) - mean(F^2, 1))^2) + sum((std(F, 1) - std(F^2, 1))^2)",
     np.array(((F.mean(1) - (F**2).mean(1)) ** 2).sum() + ((F.std(1) - (F**2).std(1)) ** 2).sum())),
]


def flat(a):
    a = np.asarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "data": [float(v) for v in a.reshape(-1)]}


doc = {
    "inputs": {k: flat(v) for k, v in inputs.items()},
    "cases": [dict(expression=e, **flat(v)) for e, v in cases],
}
with open(OUT, "w") as f:
    json.dump(doc, f, indent=None, separators=(",", ":"))
    f.write("\n")
print(f"wrote {len(cases)} cases to {OUT}")
