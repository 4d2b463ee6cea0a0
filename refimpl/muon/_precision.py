"""bfloat16 rounding in NumPy (round to nearest, ties to even), for bf16 emulation.

NumPy has no bfloat16 type. A bfloat16 number is a float32 whose 16 low
bits are zero (1 sign bit, 8 exponent bits, 7 stored significand bits, unit
roundoff 2**-8). :func:`round_bf16` returns float32 arrays holding exactly
the bfloat16 value nearest to each input, which is what ``x.bfloat16()``
gives in torch for a float32 ``x``.
"""
from __future__ import annotations

import numpy as np

__all__ = ["round_bf16", "BF16_EPS"]

#: Spacing of bfloat16 numbers in [1, 2): 2**-7 (the unit roundoff is half of it).
BF16_EPS = 2.0**-7

_TWO_128 = 2.0**128
_TWO_M126 = 2.0**-126


def _round_f32(x):
    u = x.view(np.uint32)
    lsb = (u >> np.uint32(16)) & np.uint32(1)
    # add 0x7FFF + lsb, then drop the 16 low bits: round to nearest, ties to even.
    r = ((u + np.uint32(0x7FFF) + lsb) & np.uint32(0xFFFF0000)).view(np.float32)
    nan = np.isnan(x)
    if np.any(nan):  # a NaN payload could carry into the sign bit: keep NaN as NaN
        r = np.where(nan, np.float32(np.nan), r)
    return r


def _round_f64(x):
    """Single rounding float64 -> bfloat16 (no double rounding through float32)."""
    u = x.view(np.uint64)
    lsb = (u >> np.uint64(45)) & np.uint64(1)
    r = ((u + np.uint64((1 << 44) - 1) + lsb) & ~np.uint64((1 << 45) - 1)).view(np.float64)
    ax = np.abs(x)
    # bfloat16 subnormals below 2**-126 have the fixed spacing 2**-133; np.round is ties-to-even.
    sub = ax < _TWO_M126
    if np.any(sub):
        r = np.where(sub, np.round(x * 2.0**133) * 2.0**-133, r)
    over = np.abs(r) >= _TWO_128
    if np.any(over):
        r = np.where(over, np.copysign(np.inf, x), r)
    nan = np.isnan(x)
    if np.any(nan):
        r = np.where(nan, np.nan, r)
    return r.astype(np.float32)  # exact: every bfloat16 value is a float32


def round_bf16(x):
    """Round ``x`` to the nearest bfloat16 (ties to even); return float32.

    float32 input is rounded as torch's ``Tensor.bfloat16()`` does (bitwise
    equal); float64 input is rounded once, directly (no double rounding
    through float32). Infinities and NaNs are kept, overflow gives +-inf.
    """
    x = np.asarray(x)
    if x.dtype == np.float64:
        return _round_f64(np.ascontiguousarray(x))
    return _round_f32(np.ascontiguousarray(x, dtype=np.float32))
