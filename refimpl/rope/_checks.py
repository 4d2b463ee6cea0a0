"""Cross-checks of refimpl.rope run by ``refimpl verify`` (second routes and the transformers peer)."""
from __future__ import annotations

import numpy as np

from ..verify import CheckSkipped, register
from . import _kernels, _peer
from .analysis import abel_bound, decay_curve
from .apply import apply, layout_permutation, rotation_matrix
from .frequencies import inv_freq, scaled_inv_freq
from .rerope import rerope_decode_scores, rerope_scores

_EPS = np.finfo(np.float64).eps


def _transformers():
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as exc:
        raise CheckSkipped(f"transformers/torch not installed ({exc.name})") from None


@register("rope", "rope.scaled_inv_freq_vs_transformers_float32", tol=1.0)
def _vs_transformers_float32():
    """Every transformers method over the grid; error in units of the derived float32 tolerance."""
    _transformers()
    err_inv, err_att = _peer.compare_grid("hf")
    if err_att > 1e-15:
        raise AssertionError(f"attention_factor differs from transformers by {err_att:.3e}")
    return err_inv


@register("rope", "rope.scaled_inv_freq_vs_hf_formulas_float64", tol=1e-12)
def _vs_formulas_float64():
    """refimpl float64 vs transformers' formulas transcribed as scalar float64 loops (no peer needed)."""
    err_inv, err_att = _peer.compare_grid("formula")
    return max(err_inv, err_att)


@register("rope", "rope.apply_vs_transformers_half_and_gptj", tol=1e-12)
def _apply_vs_transformers():
    """apply vs transformers' Llama apply_rotary_pos_emb (half) and GPT-J's rotation (interleaved), float64."""
    _transformers()
    import torch
    from transformers.models.gptj.modeling_gptj import apply_rotary_pos_emb as gptj_apply
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb as llama_apply

    rng = np.random.default_rng(5)
    B, H, S, D = 2, 3, 17, 64
    th, af = scaled_inv_freq(D, "yarn", factor=8.0, original_max_position=64, ramp="hf")
    q, k = rng.standard_normal((2, B, H, S, D))
    pos = np.arange(S) * 3 + 5
    emb = np.concatenate([pos[:, None] * th] * 2, axis=-1)
    cos = torch.from_numpy(np.cos(emb) * af)[None].expand(B, S, D)
    sin = torch.from_numpy(np.sin(emb) * af)[None].expand(B, S, D)
    qt, kt = llama_apply(torch.from_numpy(q), torch.from_numpy(k), cos, sin)
    err = max(np.max(np.abs(apply(q, pos, th, "half", af) - qt.numpy())),
              np.max(np.abs(apply(k, pos, th, "half", af) - kt.numpy())))
    # GPT-J: x (B, S, H, D), sin/cos (B, S, D/2), interleaved pairs
    xg = rng.standard_normal((B, S, H, D))
    ang = pos[:, None] * th
    sin_g = torch.from_numpy(np.sin(ang))[None].expand(B, S, D // 2)
    cos_g = torch.from_numpy(np.cos(ang))[None].expand(B, S, D // 2)
    ref = gptj_apply(torch.from_numpy(xg), sin_g, cos_g).numpy()
    ours = np.swapaxes(apply(np.swapaxes(xg, 1, 2), pos, th, "interleaved"), 1, 2)
    return float(max(err, np.max(np.abs(ours - ref))))


@register("rope", "rope.apply_numba_vs_numpy_twin", tol=4.0)
def _apply_twins():
    """Fused numba kernel vs NumPy twin, both layouts, float64 and float32; error in units of eps*(|x_a|+|x_b|)."""
    rng = np.random.default_rng(6)
    th = inv_freq(32)
    worst = 0.0
    saved = _kernels.PARALLEL_MIN_SIZE
    try:
        for threshold in (0, 1 << 60):  # the parallel and the serial row loop
            _kernels.PARALLEL_MIN_SIZE = threshold
            worst = max(worst, _twin_errors(rng, th))
    finally:
        _kernels.PARALLEL_MIN_SIZE = saved
    return worst


def _twin_errors(rng, th):
    worst = 0.0
    for dtype in (np.float64, np.float32):
        x = rng.standard_normal((3, 4, 33, 40)).astype(dtype)
        pos = rng.uniform(0, 5000, 33)
        for half in (True, False):
            x2 = x.reshape(-1, 40)
            o1, o2 = np.empty_like(x2), np.empty_like(x2)
            _kernels.apply_rope_nb(x2, pos, th, 1.25, half, o1)
            _kernels.apply_rope_np(x2, pos, th, 1.25, half, o2)
            unit = np.finfo(dtype).eps * 2.5 * np.max(np.abs(x2))
            worst = max(worst, float(np.max(np.abs(o1.astype(float) - o2))) / unit)
    return worst


@register("rope", "rope.apply_vs_dense_rotation_matrix", tol=1e-13)
def _apply_vs_matrix():
    """apply vs the dense R_m @ x, both layouts, large positions; relative to |x|."""
    rng = np.random.default_rng(7)
    th = scaled_inv_freq(64, "ntk_mixed", factor=12.0)[0]
    x = rng.standard_normal((50, 64))
    pos = rng.uniform(-1e4, 1e4, 50)
    worst = 0.0
    for layout in ("half", "interleaved"):
        ours = apply(x, pos, th, layout)
        ref = np.stack([rotation_matrix(p, th, layout) @ xi for p, xi in zip(pos, x)])
        worst = max(worst, float(np.max(np.abs(ours - ref)) / np.max(np.abs(x))))
    P = layout_permutation(64)
    worst = max(worst, float(np.max(np.abs(apply(x[:, P], pos, th, "half") - apply(x, pos, th, "interleaved")[:, P]))))
    return worst


@register("rope", "rope.rerope_two_pass_vs_direct_and_decode", tol=1e-12)
def _rerope_routes():
    """Two-pass merge vs direct relative-matrix scores, and decode vs the last prefill row (ReRoPE and Leaky)."""
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


@register("rope", "rope.decay_curve_and_abel_vs_mpmath", tol=1e-12)
def _decay_vs_mpmath():
    """decay_curve and the Abel bound's exact value against 30-digit mpmath sums; bound >= exact."""
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
            raise AssertionError("Abel bound below the exact value")
    return worst
