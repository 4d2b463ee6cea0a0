"""numba kernels of refimpl.ssm and their plain NumPy twins.

Each ``*_nb`` kernel has a ``*_np`` twin that performs the same operations in
the same order (fastmath off), so the two agree bitwise; tests compare them.
"""
from __future__ import annotations

import numpy as np

from .._numba import njit


@njit(cache=True, nogil=True, fastmath=False, error_model="numpy")
def legs_matvec_nb(v, out):
    """out[j] = -r_j sum_{k<j} r_k v_k - (j+1) v_j with r_j = sqrt(2j+1). O(N), in place."""
    acc = 0.0  # exclusive prefix sum  sum_{k<j} r_k v_k
    for j in range(v.shape[0]):
        r_j = np.sqrt(2.0 * j + 1.0)
        out[j] = -r_j * acc - (j + 1.0) * v[j]
        acc += r_j * v[j]


def legs_matvec_np(v):
    """NumPy twin of :func:`legs_matvec_nb`: same formula, same summation order."""
    n = v.shape[0]
    j = np.arange(n, dtype=np.float64)
    r = np.sqrt(2.0 * j + 1.0)
    prefix = np.zeros(n)
    if n > 1:
        prefix[1:] = np.cumsum(r * v)[:-1]
    return -r * prefix - (j + 1.0) * v


@njit(cache=True, nogil=True, fastmath=False, error_model="numpy")
def legs_solve_nb(v, lam, out):
    """Solve (I - lam A) z = v for the LegS A ("paper" scaling) in O(N), in place.

    S_n = sum_{k<=n} r_k z_k obeys S_n = ((1 - lam n) S_{n-1} + r_n v_n) / (1 + lam (n + 1)),
    and z_n = (S_n - S_{n-1}) / r_n.
    """
    s_prev = 0.0
    for n in range(v.shape[0]):
        r_n = np.sqrt(2.0 * n + 1.0)
        s_n = ((1.0 - lam * n) * s_prev + r_n * v[n]) / (1.0 + lam * (n + 1.0))
        out[n] = (s_n - s_prev) / r_n
        s_prev = s_n


def legs_solve_np(v, lam):
    """NumPy twin of :func:`legs_solve_nb`.

    The coefficients are computed vectorised; the first-order recurrence in S
    is inherently serial and runs as a Python loop with the same operations
    in the same order.
    """
    n_idx = np.arange(v.shape[0], dtype=np.float64)
    r = np.sqrt(2.0 * n_idx + 1.0)
    a = 1.0 - lam * n_idx
    rv = r * v
    den = 1.0 + lam * (n_idx + 1.0)
    s = np.empty(v.shape[0])
    s_prev = 0.0
    for n in range(v.shape[0]):
        s_prev = (a[n] * s_prev + rv[n]) / den[n]
        s[n] = s_prev
    out = np.empty_like(s)
    if v.shape[0]:
        out[0] = s[0] / r[0]
        out[1:] = (s[1:] - s[:-1]) / r[1:]
    return out
