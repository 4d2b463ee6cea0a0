"""numba kernels of the S4 part of refimpl.ssm and their NumPy twins.

``cauchy_nb`` / ``cauchy_np``: the Cauchy matrix-vector product
``out[h, l] = sum_n v[h, n] / (z[l] - w[h, n])`` (optionally with the
conjugate half added, as the state-spaces/s4 ``cauchy_naive`` does).
``scan_nb`` / ``scan_np``: the dense linear recurrence.

Each twin performs the same arithmetic in the same order as its kernel
(fastmath off). The Cauchy kernel forms ``1/(z - w)`` with numba's complex
division, the twin with NumPy's; both are correctly rounded to within a few
ulp but not necessarily bitwise equal, so tests compare them to a few ulp of
the sum of magnitudes.
"""
from __future__ import annotations

import numpy as np

from .._numba import njit, prange


@njit(cache=True, nogil=True, fastmath=False, error_model="numpy")
def _cauchy_entry(v, zl, w, conj, h):
    """sum_n v[h, n] / (zl - w[h, n]) (+ conj(v[h, n]) / (zl - conj(w[h, n])) if conj), in real arithmetic."""
    zr = zl.real
    zi = zl.imag
    acc_r = 0.0
    acc_i = 0.0
    for n in range(v.shape[1]):
        vr = v[h, n].real
        vi = v[h, n].imag
        dr = zr - w[h, n].real
        di = zi - w[h, n].imag
        inv = 1.0 / (dr * dr + di * di)
        # v / d = v * conj(d) / |d|^2
        acc_r += (vr * dr + vi * di) * inv
        acc_i += (vi * dr - vr * di) * inv
        if conj:
            # conj(v) / (z - conj(w)):  d' = (dr, zi + w.imag)
            di2 = zi + w[h, n].imag
            inv2 = 1.0 / (dr * dr + di2 * di2)
            acc_r += (vr * dr - vi * di2) * inv2
            acc_i += (-vi * dr - vr * di2) * inv2
    return complex(acc_r, acc_i)


@njit(cache=True, parallel=True, nogil=True, fastmath=False, error_model="numpy")
def cauchy_nb(v, z, w, conj, out):
    """out[h, l] = sum_n v[h, n] / (z[l] - w[h, n])  (+ conj(v)/(z - conj(w)) if conj).

    v, w: (H, N) complex128; z: (L,) complex128; out: (H, L) complex128.
    Parallel over the flattened (channel, node) index.
    """
    H = v.shape[0]
    L = z.shape[0]
    for idx in prange(H * L):
        h = idx // L
        l = idx - h * L
        out[h, l] = _cauchy_entry(v, z[l], w, conj, h)


@njit(cache=True, nogil=True, fastmath=False, error_model="numpy")
def cauchy_serial_nb(v, z, w, conj, out):
    """out[h, l] = sum_n v[h, n] / (z[l] - w[h, n])  (+ conj(v)/(z - conj(w)) if conj).

    v, w: (H, N) complex128; z: (L,) complex128; out: (H, L) complex128.
    Serial twin-in-code of :func:`cauchy_nb` (identical arithmetic) for small problems, where
    starting the thread pool costs more than the work.
    """
    H = v.shape[0]
    L = z.shape[0]
    for idx in range(H * L):
        h = idx // L
        l = idx - h * L
        out[h, l] = _cauchy_entry(v, z[l], w, conj, h)



def cauchy_np(v, z, w, conj):
    """NumPy twin of :func:`cauchy_nb` by broadcasting: same formula, same per-term arithmetic.

    Sums over n with ``np.sum`` (pairwise summation), so it agrees with the
    kernel's running sum to a few ulp of ``sum_n |v_n / (z - w_n)|``, not bitwise.
    """
    dr = z.real[None, :, None] - w.real[:, None, :]
    di = z.imag[None, :, None] - w.imag[:, None, :]
    vr = v.real[:, None, :]
    vi = v.imag[:, None, :]
    inv = 1.0 / (dr * dr + di * di)
    re = (vr * dr + vi * di) * inv
    im = (vi * dr - vr * di) * inv
    if conj:
        di2 = z.imag[None, :, None] + w.imag[:, None, :]
        inv2 = 1.0 / (dr * dr + di2 * di2)
        re = re + (vr * dr - vi * di2) * inv2
        im = im + (-vi * dr - vr * di2) * inv2
    return np.sum(re, axis=-1) + 1j * np.sum(im, axis=-1)


@njit(cache=True, nogil=True, fastmath=False, error_model="numpy")
def scan_nb(Ab, Bb, C, u, y):
    """x_k = Ab x_{k-1} + Bb u_k (x_{-1} = 0), y_k = sum_n C_n x_k[n]. In place into y."""
    N = Ab.shape[0]
    x = np.zeros(N, dtype=y.dtype)
    xn = np.zeros(N, dtype=y.dtype)
    for k in range(u.shape[0]):
        for i in range(N):
            acc = Bb[i] * u[k]
            for j in range(N):
                acc += Ab[i, j] * x[j]
            xn[i] = acc
        acc_y = C[0] * xn[0]
        for i in range(1, N):
            acc_y += C[i] * xn[i]
        y[k] = acc_y
        for i in range(N):
            x[i] = xn[i]


def scan_np(Ab, Bb, C, u, dtype):
    """NumPy twin of :func:`scan_nb`: the same recurrence, one state update per step."""
    N = Ab.shape[0]
    x = np.zeros(N, dtype=dtype)
    y = np.empty(u.shape[0], dtype=dtype)
    for k in range(u.shape[0]):
        x = Ab @ x + Bb * u[k]
        y[k] = C @ x
    return y
