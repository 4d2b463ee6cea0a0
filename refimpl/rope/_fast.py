"""The fast path of refimpl.rope.apply: a fused numba kernel (tested against ``reference.apply``).

``apply`` runs in two passes: one builds the cos/sin table of the distinct
position rows, the second rotates every row of ``x`` in place of the
``x * cos + rotate_half(x) * sin`` expression (no ``rotate_half`` copy, no
``cat(freqs, freqs)`` table), reading ``x`` once and writing ``out`` once,
and counting non-finite rows in the same pass. Angles, cos/sin and the
rotation are computed in float64 whatever the dtype of ``x``; the result is
rounded once to ``out``'s dtype. numba's (LLVM/libm) ``cos``/``sin`` may
differ from NumPy's in the last ulp, so it agrees with the reference to a few
ulp, not bitwise. Tuned: ``PARALLEL_MIN_SIZE``.
"""
from __future__ import annotations

import numpy as np

from .._numba import njit, prange
from ._xp import position_rows


@njit(cache=True, nogil=True, fastmath=False)
def _cos_sin_table(pos, inv_freq, scale, cos_t, sin_t):
    """cos_t[t, j] = cos(pos[t] inv_freq[j]) * scale, and sin likewise (float64)."""
    for t in range(pos.shape[0]):
        for j in range(inv_freq.shape[0]):
            a = pos[t] * inv_freq[j]
            cos_t[t, j] = np.cos(a) * scale
            sin_t[t, j] = np.sin(a) * scale


@njit(cache=True, nogil=True, fastmath=False)
def _rotate_row(xr, orow, c, s, half_layout):
    """One row: pair j is (j, j+h) or (2j, 2j+1); float64 arithmetic, one rounding into orow.

    Returns 1 if the row holds a NaN or Inf (``v - v != 0`` exactly then), else 0;
    the flag is an integer OR, so it does not stop the loop from vectorising.
    """
    h = c.shape[0]
    bad = False
    if half_layout:
        for j in range(h):
            x1 = np.float64(xr[j])
            x2 = np.float64(xr[j + h])
            bad |= ((x1 - x1) != 0.0) | ((x2 - x2) != 0.0)
            orow[j] = x1 * c[j] - x2 * s[j]
            orow[j + h] = x2 * c[j] + x1 * s[j]
    else:
        for j in range(h):
            x1 = np.float64(xr[2 * j])
            x2 = np.float64(xr[2 * j + 1])
            bad |= ((x1 - x1) != 0.0) | ((x2 - x2) != 0.0)
            orow[2 * j] = x1 * c[j] - x2 * s[j]
            orow[2 * j + 1] = x2 * c[j] + x1 * s[j]
    for j in range(2 * h, xr.shape[0]):
        v = xr[j]
        bad |= (v - v) != 0.0
        orow[j] = v
    return 1 if bad else 0


@njit(cache=True, nogil=True, fastmath=False, parallel=True)
def _apply_rope_parallel(x, cos_t, sin_t, half_layout, out, rowmap):
    T = cos_t.shape[0]
    periodic = rowmap.shape[0] == 0
    n_bad = 0
    for r in prange(x.shape[0]):
        t = r % T if periodic else rowmap[r]
        n_bad += _rotate_row(x[r], out[r], cos_t[t], sin_t[t], half_layout)
    return n_bad


@njit(cache=True, nogil=True, fastmath=False)
def _apply_rope_serial(x, cos_t, sin_t, half_layout, out, rowmap):
    T = cos_t.shape[0]
    periodic = rowmap.shape[0] == 0
    n_bad = 0
    for r in range(x.shape[0]):
        t = r % T if periodic else rowmap[r]
        n_bad += _rotate_row(x[r], out[r], cos_t[t], sin_t[t], half_layout)
    return n_bad


#: arrays with at least this many elements use the parallel loop (threads cost ~10 us to wake)
PARALLEL_MIN_SIZE = 1 << 18

_NO_MAP = np.empty(0, dtype=np.int64)


def apply_rope_nb(x, pos, inv_freq, scale, half_layout, out, rowmap=None):
    """Rotate rows of ``x`` (R, d) into ``out`` (R, d) (fused numba kernel).

    Row ``r`` uses position ``pos[rowmap[r]]``, or ``pos[r % T]`` (T =
    pos.shape[0]) when ``rowmap`` is None; pair ``j`` of the first ``2 h``
    coordinates (h = inv_freq.shape[0]) is ``(x[j], x[j+h])`` (half layout)
    or ``(x[2j], x[2j+1])`` (interleaved) and turns by ``pos * inv_freq[j]``;
    cos/sin are multiplied by ``scale``. Coordinates ``2h..d-1`` are copied
    unchanged (partial rotary). The cos/sin table of the T positions is built
    once; large arrays run the row loop in parallel (numba ``prange``), small
    ones serially. Returns the number of rows of ``x`` holding a NaN or Inf
    (checked in the same pass, so validation costs no extra read of ``x``).
    """
    T, h = pos.shape[0], inv_freq.shape[0]
    cos_t = np.empty((T, h))
    sin_t = np.empty((T, h))
    _cos_sin_table(pos, inv_freq, float(scale), cos_t, sin_t)
    rm = _NO_MAP if rowmap is None else rowmap
    if x.size >= PARALLEL_MIN_SIZE:
        return int(_apply_rope_parallel(x, cos_t, sin_t, bool(half_layout), out, rm))
    return int(_apply_rope_serial(x, cos_t, sin_t, bool(half_layout), out, rm))


def apply(x, positions, inv_freq, layout, attention_factor, out):
    """Rotate ``x`` (..., d) into ``out`` (C-contiguous, x's shape); ValueError if x holds NaN or Inf.

    ``positions`` broadcasts against ``x.shape[:-1]`` (as validated by ``apply.apply``).
    """
    d = x.shape[-1]
    table, rowmap = position_rows(positions, x.shape[:-1])
    x2 = x.reshape(-1, d)
    if x2.shape[0]:
        n_bad = apply_rope_nb(x2, table, inv_freq, attention_factor, layout == "half", out.reshape(-1, d), rowmap)
        if n_bad:
            raise ValueError(f"parameter 'x' must be finite; {n_bad} row(s) contain NaN or Inf")
    return out
