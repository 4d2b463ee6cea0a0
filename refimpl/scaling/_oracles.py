"""Oracle cases of refimpl.scaling (see :mod:`refimpl.testing.oracle`)."""
from __future__ import annotations

import numpy as np

from ..testing.oracle import register_oracle
from .batch import b_noise, optimal_lr_sgd


def _problem(src):
    """g (n,), H symmetric positive definite with eigenvalues in [0.1, 10], Sigma PSD or a diagonal."""
    n = src.integer("n", 1, 16)
    g = src.normal("g", (n,))
    rng = src.rng("H")
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    H = (q * rng.uniform(0.1, 10.0, n)) @ q.T
    H = (H + H.T) / 2  # exactly symmetric, also after rounding to float32
    if src.choice("Sigma_kind", ("matrix", "diagonal")) == "matrix":
        F = src.normal("Sigma", (n, n))
        S = F @ F.T / n
        S = (S + S.T) / 2
    else:
        S = src.uniform("Sigma", (n,), 0.0, 2.0)
    return {"g": g, "H": H, "Sigma": S}


@register_oracle("scaling.b_noise", b_noise, rule="elementwise",
                 tolerances={"float64": (1e-11, 0.0), "float32": (5e-4, 0.0)})
def _b_noise(src):
    """B_noise = Tr(Sigma H) / g^T H g for n in [1, 16], cond(H) <= 100.

    g^T H g has no cancellation in H's eigenbasis but may in the standard one:
    its relative error is at most about n kappa(H) u (Tr(Sigma H) sums
    non-negative eigen-terms the same way): float64 16 * 100 u = 3.6e-13:
    rtol 1e-11; float32 1e-4 (measured 2e-7 for a NumPy float32 port): rtol 5e-4.
    """
    return _problem(src)


@register_oracle("scaling.optimal_lr_sgd", optimal_lr_sgd, rule="elementwise",
                 tolerances={"float64": (1e-11, 0.0), "float32": (5e-4, 0.0)})
def _optimal_lr_sgd(src):
    """eta* = g^T g / (g^T H g + Tr(Sigma H) / B) for the problems of scaling.b_noise and
    batch sizes B, an array of 1-8 values log-uniform in [1, 1e6].

    Same error analysis as scaling.b_noise (a positive sum in the denominator
    adds nothing; measured 4e-16 and 2e-7): rtol 1e-11 (float64) and 5e-4 (float32).
    """
    p = _problem(src)
    k = src.integer("n_batches", 1, 8)
    p["B"] = np.exp(src.uniform("B", (k,), 0.0, np.log(1e6)))
    return p
