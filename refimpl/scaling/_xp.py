"""The noisy-quadratic Monte-Carlo written once for an array namespace ``xp`` (NumPy or CuPy).

The same sums as :func:`refimpl.scaling.reference.nqm_samples` (the
definition), vectorised over blocks of samples: the CuPy path runs it with
``xp = cupy`` on normals drawn on the device; the CPU tests run it with
``xp = numpy`` on the reference's own normals.
"""
from __future__ import annotations

import math

import numpy as np

from ._common import is_diagonal
from .reference import noise_factor

N_STATS = 6       # count, sum da, sum db, sum da^2, sum db^2, sum da db
BLOCK = 1 << 24   # normals per device block (128 MiB)


def nqm_ab(xp, Z, g, L, H, update):
    """Per-sample ``a = u.g``, ``b = u^T H u`` for the rows ``z`` of ``Z``, ``x = g + L z``.

    ``L`` is a 1-D vector of standard deviations (diagonal noise) or an (n, n)
    factor; ``H`` a 1-D diagonal or an (n, n) matrix. ``Z`` is overwritten
    when the noise is diagonal.
    """
    if L.ndim == 2:
        X = Z @ L.T
        X += g
    else:
        X = Z
        X *= L
        X += g
    if update == "sign":
        xp.sign(X, out=X)
    a = X @ g
    if H.ndim == 2:
        b = xp.einsum("ij,ij->i", X @ H, X)
    else:
        X *= X
        b = X @ H
    return a, b


def shifted_sums(xp, a, b, a0, b0):
    """``[count, sum da, sum db, sum da^2, sum db^2, sum da db]`` with ``da = a - a0``, ``db = b - b0`` (an ``xp`` array)."""
    da = a - a0
    db = b - b0
    return xp.stack([xp.asarray(float(a.shape[0])), da.sum(), db.sum(), da @ da, db @ db, da @ db])


def operands(xp, g, H, Sigma, B):
    """``(g, L, H)`` on the device: diagonal noise and Hessian as vectors, dense ones as matrices."""
    L = np.sqrt(np.diag(Sigma) / B) if is_diagonal(Sigma) else noise_factor(Sigma) / math.sqrt(B)
    Hx = np.diag(H).copy() if is_diagonal(H) else H
    return tuple(xp.asarray(np.ascontiguousarray(v)) for v in (g, L, Hx))


def nqm_sums(xp, g, H, Sigma, B, update, a0, b0, n_samples, rng):
    """The N_STATS sums of one batch size: blocks of normals from ``xp.random.RandomState`` seeded from ``rng``."""
    n = g.shape[0]
    rs = xp.random.RandomState(int(rng.integers(0, 2 ** 32)))
    dg, dL, dH = operands(xp, g, H, Sigma, B)
    rows = max(1, min(n_samples, BLOCK // n))
    acc = xp.zeros(N_STATS)
    done = 0
    while done < n_samples:
        m = min(rows, n_samples - done)
        a, b = nqm_ab(xp, rs.standard_normal((m, n)), dg, dL, dH, update)
        acc += shifted_sums(xp, a, b, a0, b0)
        done += m
    return np.asarray(acc.get() if hasattr(acc, "get") else acc)
