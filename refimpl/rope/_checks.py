"""Checks of refimpl.rope that are not about one function (``refimpl verify``).

Per-function comparisons (fast paths, transformers, Su's formulas) are rows
of ``refimpl/rope/cases.py``; what stays here compares two routes or two
functions: the rotation against its dense matrix, Su's two-pass ReRoPE
against the definition by relative positions and the decode formula, the
decay curve against 30-digit sums, and transformers over its whole grid of
configurations.
"""
from __future__ import annotations

import numpy as np

from ..verify import CheckSkipped, register
from . import _peer
from .analysis import abel_bound, decay_curve
from .apply import apply, layout_permutation, rotation_matrix
from .frequencies import inv_freq, scaled_inv_freq
from .rerope import rerope_decode_scores, rerope_scores


def _transformers():
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as exc:
        raise CheckSkipped(f"transformers/torch not installed ({exc.name})") from None


@register("rope", "rope.scaled_inv_freq_vs_transformers_grid", tol=1.0, kind="peer",
          unit="units of the derived float32 tolerance",
          compared="scaled_inv_freq (float64) vs transformers ROPE_INIT_FUNCTIONS (float32) over head dims "
                   "64/96/128, partial rotary 1 and 0.5, factors 2-32, lengths 2048-8192, bases 1e4 and 5e5")
def _vs_transformers_grid():
    _transformers()
    err_inv, err_att = _peer.compare_grid("hf")
    if err_att > 1e-15:
        raise ValueError(f"attention_factor differs from transformers by {err_att:.3e}")
    return err_inv


@register("rope", "rope.scaled_inv_freq_vs_hf_formulas_grid", tol=1e-12, kind="peer", unit="relative error",
          compared="scaled_inv_freq vs transformers' formulas transcribed as scalar float64 loops, same grid")
def _vs_formulas_grid():
    err_inv, err_att = _peer.compare_grid("formula")
    return max(err_inv, err_att)


@register("rope", "rope.apply_vs_dense_rotation_matrix", tol=1e-13, kind="route", unit="relative to max|x|",
          compared="apply (reference and numba) vs the dense R_m @ x of rotation_matrix, both layouts, positions "
                   "up to 1e4; and the layout permutation identity")
def _apply_vs_matrix():
    rng = np.random.default_rng(7)
    th = scaled_inv_freq(64, "ntk_mixed", factor=12.0)[0]
    x = rng.standard_normal((50, 64))
    pos = rng.uniform(-1e4, 1e4, 50)
    worst = 0.0
    for layout in ("half", "interleaved"):
        ref = np.stack([rotation_matrix(p, th, layout) @ xi for p, xi in zip(pos, x)])
        for backend in ("reference", "numba"):
            ours = apply(x, pos, th, layout, backend=backend)
            worst = max(worst, float(np.max(np.abs(ours - ref)) / np.max(np.abs(x))))
    P = layout_permutation(64)
    worst = max(worst, float(np.max(np.abs(apply(x[:, P], pos, th, "half") - apply(x, pos, th, "interleaved")[:, P]))))
    return worst


@register("rope", "rope.rerope_two_pass_vs_definition_and_decode", tol=1e-12, kind="route",
          unit="relative to mean |q||k|",
          compared="Su's two-pass merge vs the definition by clipped relative positions (method='direct'), and "
                   "the decode formula vs the last prefill row, ReRoPE and Leaky ReRoPE, both layouts")
def _rerope_routes():
    rng = np.random.default_rng(8)
    th = inv_freq(32)
    q, k = rng.standard_normal((2, 2, 40, 32))
    scale = np.sum(np.abs(q)) * np.sum(np.abs(k)) / q.size
    worst = 0.0
    for factor in (None, 1.0, 4.0, 1e6):
        for layout in ("half", "interleaved"):
            a = rerope_scores(q, k, th, 7, factor, layout=layout)
            b = rerope_scores(q, k, th, 7, factor, method="direct", layout=layout)
            dec = rerope_decode_scores(q[:, -1], k, th, 7, factor, layout=layout)
            worst = max(worst, float(np.max(np.abs(a - b))) / scale, float(np.max(np.abs(dec - a[:, -1]))) / scale)
    return worst


@register("rope", "rope.decay_curve_and_abel_vs_mpmath", tol=1e-12, kind="route", unit="relative error",
          compared="decay_curve and the Abel bound's exact value vs 30-digit mpmath sums; the bound never below "
                   "the exact value (20 random q, k)")
def _decay_vs_mpmath():
    import mpmath

    mpmath.mp.dps = 30
    d = 32
    th = [mpmath.mpf(10000) ** (-mpmath.mpf(2 * i) / d) for i in range(d // 2)]
    worst = 0.0
    for m in (0, 1, 7.5, 100, 256):
        S, tot = mpmath.mpc(0), mpmath.mpf(0)
        for t in th:
            S += mpmath.expj(m * t)
            tot += abs(S)
        ref = float(tot / (d // 2))
        worst = max(worst, abs(float(decay_curve(d, [m])[0]) - ref) / ref)
    rng = np.random.default_rng(9)
    for _ in range(20):
        q, k = rng.standard_normal((2, d))
        dist = rng.uniform(0, 1000, 8)
        exact, bound = abel_bound(q, k, dist, inv_freq(d))
        if np.any(bound < exact * (1 - 1e-12)):
            raise ValueError("the Abel bound is below the exact value")
    return worst
