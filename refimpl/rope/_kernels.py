"""numba kernels of refimpl.rope and their NumPy twins.

``apply_rope_nb`` is fused: one pass builds the cos/sin table of the distinct
position rows, a second pass rotates every row of ``x`` in place of the
``x * cos + rotate_half(x) * sin`` expression (no ``rotate_half`` copy, no
``cat(freqs, freqs)`` table), reading ``x`` once and writing ``out`` once.
Angles, cos/sin and the rotation are computed in float64 whatever the
dtype of ``x``; the result is rounded once to ``out``'s dtype.

The twin ``apply_rope_np`` runs the same operations in the same order, but
NumPy's and numba's (LLVM/libm) ``cos``/``sin`` may differ in the last ulp,
so the two agree to a few ulp, not bitwise.
"""
from __future__ import annotations

import numpy as np

from .._numba import njit, prange


@njit(cache=True, nogil=True, fastmath=False, parallel=True)
def apply_rope_nb(x, pos, inv_freq, scale, half_layout, out):
    """Rotate rows of ``x`` (R, d) in place into ``out`` (R, d).

    Row ``r`` uses position ``pos[r % T]`` (T = pos.shape[0]); pair ``j`` of
    the first ``2 h`` coordinates (h = inv_freq.shape[0]) is
    ``(x[j], x[j+h])`` (half layout) or ``(x[2j], x[2j+1])`` (interleaved) and
    turns by ``pos * inv_freq[j]``; cos/sin are multiplied by ``scale``.
    Coordinates ``2h..d-1`` are copied unchanged (partial rotary).
    """
    R, d = x.shape
    T = pos.shape[0]
    h = inv_freq.shape[0]
    cos_t = np.empty((T, h))
    sin_t = np.empty((T, h))
    for t in prange(T):
        p = pos[t]
        for j in range(h):
            a = p * inv_freq[j]
            cos_t[t, j] = np.cos(a) * scale
            sin_t[t, j] = np.sin(a) * scale
    for r in prange(R):
        t = r % T
        if half_layout:
            for j in range(h):
                x1 = np.float64(x[r, j])
                x2 = np.float64(x[r, j + h])
                c = cos_t[t, j]
                s = sin_t[t, j]
                out[r, j] = x1 * c - x2 * s
                out[r, j + h] = x2 * c + x1 * s
        else:
            for j in range(h):
                x1 = np.float64(x[r, 2 * j])
                x2 = np.float64(x[r, 2 * j + 1])
                c = cos_t[t, j]
                s = sin_t[t, j]
                out[r, 2 * j] = x1 * c - x2 * s
                out[r, 2 * j + 1] = x2 * c + x1 * s
        for j in range(2 * h, d):
            out[r, j] = x[r, j]


def apply_rope_np(x, pos, inv_freq, scale, half_layout, out):
    """NumPy twin of :func:`apply_rope_nb` (same formula, same operation order)."""
    R, d = x.shape
    T = pos.shape[0]
    h = inv_freq.shape[0]
    ang = pos[:, None] * inv_freq[None, :]
    cos_t = np.cos(ang) * scale
    sin_t = np.sin(ang) * scale
    xv = x.reshape(R // T, T, d)
    ov = out.reshape(R // T, T, d)
    if half_layout:
        x1 = xv[..., :h].astype(np.float64)
        x2 = xv[..., h:2 * h].astype(np.float64)
        ov[..., :h] = x1 * cos_t - x2 * sin_t
        ov[..., h:2 * h] = x2 * cos_t + x1 * sin_t
    else:
        x1 = xv[..., 0:2 * h:2].astype(np.float64)
        x2 = xv[..., 1:2 * h:2].astype(np.float64)
        ov[..., 0:2 * h:2] = x1 * cos_t - x2 * sin_t
        ov[..., 1:2 * h:2] = x2 * cos_t + x1 * sin_t
    if 2 * h < d:
        ov[..., 2 * h:] = xv[..., 2 * h:]
