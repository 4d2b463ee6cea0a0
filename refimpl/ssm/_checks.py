"""Cross-checks of refimpl.ssm run by ``refimpl verify`` (second numerical routes)."""
from __future__ import annotations

import numpy as np
import scipy.linalg

from ..verify import register
from . import _kernels
from .hippo import legs, legs_matvec, legs_solve

_EPS = np.finfo(np.float64).eps


@register("ssm", "ssm.legs_matvec_vs_dense_N512", tol=1.0)
def _legs_matvec_vs_dense():
    """O(N) matvec vs dense ``A @ v``, error in units of the dot-product bound 2N eps |A||v|."""
    rng = np.random.default_rng(1)
    N = 512
    A, _ = legs(N)
    v = rng.standard_normal(N)
    bound = 2 * N * _EPS * (np.abs(A) @ np.abs(v))
    return max(float(np.max(np.abs(legs_matvec(v, backend=b) - A @ v) / bound)) for b in ("numba", "numpy"))


@register("ssm", "ssm.legs_solve_vs_scipy_triangular_N512", tol=1e-12)
def _legs_solve_vs_scipy():
    """O(N) solve vs ``scipy.linalg.solve_triangular``, relative to max|z|, for several lambda."""
    rng = np.random.default_rng(2)
    N = 512
    A, _ = legs(N)
    v = rng.standard_normal(N)
    worst = 0.0
    for lam in (1e-3, 0.05, 1.0, 30.0):
        ref = scipy.linalg.solve_triangular(np.eye(N) - lam * A, v, lower=True)
        for b in ("numba", "numpy"):
            worst = max(worst, float(np.max(np.abs(legs_solve(v, lam, backend=b) - ref)) / np.max(np.abs(ref))))
    return worst


@register("ssm", "ssm.legs_kernels_numba_vs_numpy_twin", tol=0.0)
def _legs_twins():
    """numba kernels and NumPy twins agree bitwise (same operations, same order)."""
    rng = np.random.default_rng(3)
    v = rng.standard_normal(1000)
    out = np.empty_like(v)
    _kernels.legs_matvec_nb(v, out)
    err = float(np.max(np.abs(out - _kernels.legs_matvec_np(v))))
    _kernels.legs_solve_nb(v, 0.25, out)
    return max(err, float(np.max(np.abs(out - _kernels.legs_solve_np(v, 0.25)))))
