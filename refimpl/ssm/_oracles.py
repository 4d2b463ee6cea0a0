"""Oracle cases of refimpl.ssm (see :mod:`refimpl.testing.oracle`).

Tolerances are norm-wise, ``max|actual - expected| <= atol + rtol max|expected|``,
and hold for any backward-stable implementation (dense matmul, LAPACK solve,
``torch.matrix_exp``), not only for refimpl's own summation order; each
generator's docstring gives the reasoning and the measured errors of such
peers.
"""
from __future__ import annotations

import numpy as np

from ..testing.oracle import register_oracle
from .discretization import discretize
from .hippo import legs, legs_matvec, legs_solve

_NORMALIZATIONS = ("paper", "su", "integer")


@register_oracle("ssm.legs_matvec", legs_matvec, backends=("numpy", "numba"),
                 tolerances={"float64": (1e-12, 0.0), "float32": (1e-4, 0.0)})
def _legs_matvec(src):
    """``A v`` with the LegS matrix, N in [1, 64], v standard normal.

    Row n is a length-n dot product: forward error <= 2 N u (|A||v|)_n, and
    for these v ``max(|A||v|) <= 8 max|A v|`` (measured; sqrt(N) growth), so
    the norm-wise bound is 2*64*8 u: 2.3e-13 (float64), 1.2e-4 (float32).
    Measured for a dense ``A @ v``: 4e-16 and 3e-7. rtol 1e-12 / 1e-4.
    """
    n = src.integer("N", 1, 64)
    return {"v": src.normal("v", (n,)), "normalization": src.choice("normalization", _NORMALIZATIONS)}


@register_oracle("ssm.legs_solve", legs_solve, backends=("numpy", "numba"),
                 tolerances={"float64": (1e-12, 0.0), "float32": (1e-4, 0.0)})
def _legs_solve(src):
    """Solve ``(I - lam A) z = v``, N in [1, 64], lam log-uniform in [1e-3, 30].

    For lam >= 0 the solve is well conditioned relative to max|z| (refimpl's
    docstring: about 10 N u, tested against a dense triangular solve), so the
    bound is 10*64 u = 1.4e-13 (float64) and 7.6e-5 (float32); rtol 1e-12 / 1e-4.
    Measured for ``scipy.linalg.solve_triangular``: 5e-16 and 5e-7.
    """
    n = src.integer("N", 1, 64)
    return {"v": src.normal("v", (n,)), "lam": src.real("lam", 1e-3, 30.0, log=True),
            "normalization": src.choice("normalization", _NORMALIZATIONS)}


_METHODS = ("zoh", "bilinear", "forward_euler", "backward_euler", "gbt")


@register_oracle("ssm.discretize", discretize, tolerances={"float64": (1e-12, 0.0), "float32": (2e-5, 0.0)})
def _discretize(src):
    """``(Ab, Bb)`` for N in [1, 16], A = LegS or a random stable matrix, B of shape (N,) or (N, 2).

    dt is log-uniform in [1e-3, 0.1], so ||dt A||_2 <= 1.7 and I - alpha dt A
    has condition number below 20: a backward-stable solve or a Pade/Taylor
    ``expm`` is accurate to a few kappa u relative to max|Ab|, i.e. ~1e-14
    (float64) and ~1e-6 (float32). Measured: scipy.signal.cont2discrete 2e-16,
    ``torch.linalg.solve``/``torch.matrix_exp`` in float32 3e-7.
    rtol 1e-12 / 2e-5. (torch 2.13's float64 ``matrix_exp`` fails this case by
    2e-10 on a 2x2 augmented ZOH matrix: its degree-8 Taylor branch has a
    wrong coefficient, pytorch/pytorch#196592.)
    """
    n = src.integer("N", 1, 16)
    if src.choice("A_kind", ("legs", "random")) == "legs":
        A = legs(n)[0]
    else:
        A = src.normal("A", (n, n), scale=1.0 / np.sqrt(n)) - 1.5 * np.eye(n)
    m = src.choice("inputs", (1, 2))
    B = src.normal("B", (n,) if m == 1 else (n, m))
    method = src.choice("method", _METHODS)
    out = {"A": A, "B": B, "dt": src.real("dt", 1e-3, 0.1, log=True), "method": method}
    if method == "gbt":
        out["alpha"] = src.real("alpha", 0.0, 1.0)
    return out
