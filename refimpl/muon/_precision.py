"""bfloat16 rounding in NumPy (round to nearest, ties to even) and the bf16 Newton--Schulz emulations.

NumPy has no bfloat16 type. A bfloat16 number is a float32 whose 16 low
bits are zero (1 sign bit, 8 exponent bits, 7 stored significand bits, unit
roundoff 2**-8). :func:`round_bf16` returns float32 arrays holding exactly
the bfloat16 value nearest to each input, which is what ``x.bfloat16()``
gives in torch for a float32 ``x``.
"""
from __future__ import annotations

import numpy as np

from .reference import denominator, prescale, scale_nu

__all__ = ["BF16_EPS", "BF16_STRUCTURES", "newton_schulz_bf16", "round_bf16"]

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


#: The bf16 program structures :func:`newton_schulz_bf16` emulates.
BF16_STRUCTURES = ("addmm", "keller")


def newton_schulz_bf16(M, sched, eps, normalization, eps_mode, transpose_tall, use_prescale, structure):
    """Newton--Schulz as a bf16 program computes it: bf16 operands, float32 accumulation, bf16 results.

    ``r`` rounds to bf16 (:func:`round_bf16`). Every matrix product accumulates
    in float32 and is rounded once; every elementwise operation on bf16
    tensors is computed in float32 and rounded (torch's CPU/GPU rule).

    - ``"addmm"``: torch.optim.Muon, fused ``addmm``:
      ``A = r(X X^T)``, ``B = r(b A + c A A)``, ``X = r(a X + B X)``.
    - ``"keller"``: KellerJordan's ``muon.py`` under ``.bfloat16()``, one
      rounding per tensor operation: ``A = r(X X^T)``,
      ``B = r(r(b A) + r(r(c A) A))`` (``c * A @ A`` is ``(c * A) @ A`` in
      Python), ``X = r(r(a X) + r(B X))``.

    The norm is accumulated in float32 and rounded; ``X_0 = r(X / r(norm + eps))``.
    Returns float32 arrays holding bf16 values.
    """
    if use_prescale:
        M = prescale(M)
    tall = transpose_tall and M.shape[-2] > M.shape[-1]
    X = np.swapaxes(M, -1, -2) if tall else M
    X = np.ascontiguousarray(round_bf16(X))
    r = round_bf16
    mT = lambda Z: np.swapaxes(Z, -1, -2)  # noqa: E731
    sumsq = np.sum(X * X, axis=(-2, -1), keepdims=True)
    X = r(X / denominator(r(np.sqrt(sumsq)), r(sumsq), eps, eps_mode, rnd=r))
    for t, (a, b, c) in enumerate(sched):
        a, b, c = (np.float32(v) for v in (a, b, c))
        A = r(X @ mT(X))
        A2 = A @ mT(A)  # A symmetric; addmm fuses it into B below and rounds once
        if t == 0 and normalization == "su_improved":
            A2 = r(A2)  # Su's reference code forms y4 = y2 @ y2 as a bf16 product
            nu = scale_nu(np.sum(A2 * A2, axis=(-2, -1), keepdims=True), eps, eps_mode, X.dtype, rnd=r)
            nu2 = r(nu * nu)
            X, A, A2 = r(X / nu), r(A / nu2), r(A2 / r(nu2 * nu2))
        if structure == "addmm":
            B = r(b * A + c * A2)
            X = r(a * X + B @ X)
        else:  # B = b * A + c * A @ A evaluates as (c * A) @ A: Python's * and @ bind alike, left to right
            B = r(r(b * A) + r(r(c * A) @ A))
            X = r(r(a * X) + r(B @ X))
    X = mT(X) if tall else X
    return np.ascontiguousarray(X)
