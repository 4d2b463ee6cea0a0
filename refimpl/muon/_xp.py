"""Newton--Schulz written once against an array namespace ``xp`` (NumPy or CuPy).

The same iteration as :func:`refimpl.muon.reference.newton_schulz`, arranged
for speed: ``X X^T`` and ``A A^T`` (A symmetric) are Gram products (SYRK on
NumPy), ``a X + B X`` is one GEMM ``(B + a I) X``, and the update runs in
place. CuPy runs the whole batch through batched cuBLAS products. Tested
against the reference (tests/gpu/test_xp_muon.py with ``xp = numpy``,
tests/gpu/test_cupy_muon.py on a GPU).
"""
from __future__ import annotations

import numpy as np

from .reference import denominator, prescale, scale_nu

__all__ = ["newton_schulz_xp"]


def _iterate(X, sched, normalization, eps, eps_mode, xp):
    """The iteration in place on a fresh C-contiguous ``X`` (..., n, m) with n <= m (or not transposed)."""
    mT = lambda Z: xp.swapaxes(Z, -1, -2)  # noqa: E731
    n = X.shape[-2]
    diag = (..., xp.arange(n), xp.arange(n))
    sumsq = xp.einsum("...ij,...ij->...", X, X)[..., None, None]
    X /= denominator(xp.sqrt(sumsq), sumsq, eps, eps_mode, xp)
    for t, (a, b, c) in enumerate(sched):
        a, b, c = (X.dtype.type(v) for v in (a, b, c))
        A = X @ mT(X)
        B = A @ mT(A)
        if t == 0 and normalization == "su_improved":
            nu = scale_nu(xp.einsum("...ij,...ij->...", B, B)[..., None, None], eps, eps_mode, X.dtype, xp)
            nu2 = nu * nu
            X /= nu
            A /= nu2
            B /= nu2 * nu2
        B *= c
        B += b * A
        B[diag] += a
        X = B @ X
    return X


def newton_schulz_xp(xp, M, sched, eps, normalization, eps_mode, transpose_tall, use_prescale, dtype):
    """Newton--Schulz of the validated ``M`` (..., n, m) in ``dtype`` (float64/float32), namespace ``xp``."""
    if use_prescale:
        M = prescale(M, xp)
    tall = transpose_tall and M.shape[-2] > M.shape[-1]
    X = xp.swapaxes(M, -1, -2) if tall else M
    X = xp.array(X, dtype=xp.float64 if np.dtype(dtype) == np.float64 else xp.float32, order="C")
    X = _iterate(X, sched, normalization, eps, eps_mode, xp)
    X = xp.swapaxes(X, -1, -2) if tall else X
    return xp.ascontiguousarray(X)
