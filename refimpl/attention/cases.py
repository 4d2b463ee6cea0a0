r"""The case table of refimpl.attention (and refimpl.attention.nope): one row per public function.

See :mod:`refimpl.testing.cases`. The attention row is what a kernel writer
checks a kernel with::

    from refimpl.testing import check_against
    check_against("attention.attention", my_sdpa, dtype="bfloat16", convert="torch")

Unit roundoffs used in the ``why`` texts: float64 u = 2**-53 = 1.1e-16,
float32 u = 2**-24 = 6.0e-8, float16 u = 2**-11 = 4.9e-4, bfloat16
u = 2**-8 = 3.9e-3.
"""
from __future__ import annotations

import math

import numpy as np

from ..testing.cases import Article, Case, Peer
from . import nope
from .core import (attention, entropy, entropy_decomposition, entropy_invariant_attention, entropy_lower_bound,
                   entropy_vs_length, llama4_attention_scales, logn_factor, qwen_logn_factors, softmax,
                   softmax_plus)

A8823 = "https://kexue.fm/archives/8823"


# ----------------------------------------------------------------------------- attention
def _qkv_and_masks(src, *, gqa_ok=True):
    """q, k, v in one of three layouts, n_q < n_k reachable, causal/random/window masks."""
    layout = src.choice("layout", ("bhnd", "nd", "broadcast"))
    gqa = src.boolean("enable_gqa") if (gqa_ok and layout == "bhnd") else False
    B = src.integer("B", 1, 2)
    H_kv = src.integer("H_kv", 1, 2)
    H = H_kv * src.integer("group", 1, 3) if gqa else H_kv
    nq = src.integer("n_q", 1, 16)
    nk = src.integer("n_k", 1, 48)
    d = src.integer("d", 1, 32)
    dv = src.integer("d_v", 1, 16)
    if layout == "nd":
        qs, ks, vs = (nq, d), (nk, d), (nk, dv)
    elif layout == "bhnd":
        qs, ks, vs = (B, H, nq, d), (B, H_kv, nk, d), (B, H_kv, nk, dv)
    else:  # q per batch, k and v per head: leading axes broadcast to (B, H)
        qs, ks, vs = (B, 1, nq, d), (1, H, nk, d), (1, H, nk, dv)
    out = {"q": src.normal("q", qs), "k": src.normal("k", ks), "v": src.normal("v", vs)}
    if gqa:
        out["enable_gqa"] = True
    # causal needs a visible key in every row: n_q <= n_k (bottom-right alignment)
    causal = src.boolean("causal") if nq <= nk else False
    if causal:
        out["causal"] = True
    kind = src.choice("mask_kind", ("none", "random", "window"), follows="mask")
    if kind != "none":
        diag = np.clip(np.arange(nq) + nk - nq, 0, nk - 1)  # the key aligned with each query
        if kind == "random":
            m = src.rng("mask").random(qs[:-2] + (nq, nk)) < 0.7
        else:  # sliding window: the w keys ending at the aligned one (local attention)
            w = src.integer("window", 1, 8)
            j = np.arange(nk)[None, :]
            m = np.array(np.broadcast_to((j <= diag[:, None]) & (j > diag[:, None] - w), qs[:-2] + (nq, nk)))
        m[..., np.arange(nq), diag] = True
        out["mask"] = m
    return out, qs


def _attention_inputs(src):
    """q (B, H, n_q, d) / (n_q, d) / broadcast (B, 1) x (1, H); grouped kv heads; causal, masks, scales."""
    out, qs = _qkv_and_masks(src)
    d = qs[-1]
    kind = src.choice("scale_kind", ("default", "scalar", "per_query"), follows="scale")
    if kind == "scalar":
        out["scale"] = src.real("scale", 0.1, 2.0) / math.sqrt(d)
    elif kind == "per_query":
        out["scale"] = src.uniform("scale", qs[:-1], 0.1, 2.0) / math.sqrt(d)
    if src.boolean("return_weights"):
        out["return_weights"] = True
    return out


def _torch_sdpa(q, k, v, *, scale=None, causal=False, mask=None, return_weights=False, enable_gqa=False):
    """torch.nn.functional.scaled_dot_product_attention with refimpl's conventions made explicit.

    Bottom-right causal alignment as a boolean mask (torch's is_causal aligns
    top-left when n_q != n_k); a per-query scale folded into q (torch takes
    one scale).
    """
    import torch
    import torch.nn.functional as F

    if return_weights:
        raise ValueError("torch scaled_dot_product_attention returns no weights")
    nq, nk = q.shape[-2], k.shape[-2]
    attn_mask = None
    if causal:
        attn_mask = torch.ones(nq, nk, dtype=torch.bool).tril(nk - nq)
    if mask is not None:
        attn_mask = mask if attn_mask is None else attn_mask & mask
    if scale is not None and not isinstance(scale, float):
        q = q * scale.to(q.dtype)[..., None]
        scale = 1.0
    kw = {"enable_gqa": True} if enable_gqa else {}
    return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, scale=scale, **kw)


def _repeat_kv_attention(q, k, v, *, scale=None, causal=False, mask=None, return_weights=False, enable_gqa=False):
    """Grouped-query attention as the repetition it is: np.repeat the kv heads, then plain attention."""
    if enable_gqa:
        r = q.shape[-3] // k.shape[-3]
        k, v = np.repeat(k, r, axis=-3), np.repeat(v, r, axis=-3)
    return attention(q, k, v, scale=scale, causal=causal, mask=mask, return_weights=return_weights,
                     backend="reference")


def _mpmath_attention(q, k, v, *, scale=None, causal=False, mask=None, return_weights=False):
    """softmax(scale q k^T + M) v at 40 digits (mpmath), 2-D inputs, row by row."""
    import mpmath

    nq, nk, d = q.shape[0], k.shape[0], q.shape[1]
    sc = np.broadcast_to(1 / math.sqrt(d) if scale is None else np.asarray(scale, float), (nq,))
    out = np.empty((nq, v.shape[1]))
    with mpmath.workdps(40):
        for i in range(nq):
            vis = [j for j in range(nk) if (not causal or j <= i + nk - nq) and (mask is None or mask[i, j])]
            s = [mpmath.mpf(sc[i]) * mpmath.fsum(mpmath.mpf(q[i, t]) * mpmath.mpf(k[j, t]) for t in range(d))
                 for j in vis]
            top = max(s)
            w = [mpmath.exp(x - top) for x in s]
            z = mpmath.fsum(w)
            for c in range(v.shape[1]):
                out[i, c] = float(mpmath.fsum(wj * mpmath.mpf(v[j, c]) for wj, j in zip(w, vis)) / z)
    return out


ATTENTION_WHY = """\
Error model (refimpl's docstring): o_i = sum_j a_ij v_j with scores s_ij = scale_i q_i.k_j, a product of
length d, the softmax of n_k terms, and the weighted sum, a product of length n_k. A relative error e_j in
the unnormalised weight exp(s_ij - m_i) moves o_i by at most 2 max_j|e_j| max|v|; a score error ds gives
e = ds. So |o - o_ref| <~ [2 (gamma_d |s|max + 2u) + gamma_nk] max|v| + u |o|, gamma_n = n u.
Generator: q, k, v standard normal, d <= 32, n_k <= 48, scale in [0.1, 2]/sqrt(d), so |s| <= ~12 and
max|v| <= ~4.5; max|out| >= ~0.3 max|v| except in rare draws, hence an atol of the size of rtol.
float64: the bound is ~1e-13 max|v| in the worst case; numba and CuPy paths measure 1e-15: (1e-12, 1e-12).
float32 (inputs rounded to float32 first, so only the kernel's arithmetic counts): worst-case bound
(2 (32 u 12 + 2u) + 48 u) 4.5 = 2.2e-4 with u = 6e-8; errors are random-walk, torch SDPA in float32 measures
<= 2e-6: (2e-5, 2e-5).
bfloat16 (u = 3.9e-3), float16 (u = 4.9e-4): a correct kernel takes bf16/fp16 inputs, accumulates both
products and the row sum in float32 (gamma_d, gamma_nk of float32: negligible) and rounds to the low precision
at most the scores or the weights once and the output once. The output rounding gives u |o| <= u max|o|; a
rounding of each weight (or of each score, e_j = u |s_j|) is independent across the n_k keys, so it moves o_i
by about u sqrt(sum_j a_ij^2 (1 + s_ij^2)) max|v| <= u (1 + |s|rms) max|v| / sqrt(n_eff): about u to 2u here.
Total 2u to 3u of max|out|: rtol = 3u (bf16 1.2e-2, fp16 1.5e-3), atol = u/2 for the rare draws with a small
max|out|. Measured on 300 generated examples: torch SDPA (math and default backends) 1.3u (bf16 5.2e-3,
fp16 6.8e-4). A kernel that also accumulates the n_k-term row sum and the PV product in bfloat16 adds
sqrt(n_k) u to n_k u (n_k <= 48) and measures 5.6u = 2.2e-2: it fails, as does one that drops the scale."""


# ----------------------------------------------------------------------------- entropy-invariant attention
def _eia_inputs(src):
    """As attention (n_q < n_k, windows, single query, GQA), plus base, length mode and min_len."""
    out, _ = _qkv_and_masks(src)
    out["base"] = src.choice("base", (512.0, 8.0, 64.0, 1000.5))
    out["length"] = src.choice("length", ("global", "per_query"))
    if src.choice("min_len_kind", ("none", "floor"), follows="min_len") == "floor":
        out["min_len"] = src.integer("min_len", 1, 20)
    return out


def _visible_counts(q, k, causal, mask):
    nq, nk = q.shape[-2], k.shape[-2]
    vis = np.ones((nq, nk), bool)
    if causal:
        vis &= np.arange(nk)[None, :] <= np.arange(nq)[:, None] + nk - nq
    if mask is not None:
        vis = vis & mask
    return vis.sum(-1)


def _torch_logn(q, k, v, *, base=512, causal=False, length="global", min_len=None, mask=None, enable_gqa=False):
    """Su's formula through torch SDPA: q_i multiplied by log n_i / log base (natural logs), scale 1/sqrt(d)."""
    import torch

    nk = k.shape[-2]
    qn = q.numpy()
    n = np.full(qn.shape[-2], float(nk)) if length == "global" else _visible_counts(qn, k.numpy(), causal,
                                                                                  None if mask is None else
                                                                                  mask.numpy()).astype(float)
    if min_len is not None:
        n = np.maximum(n, min_len)
    fac = torch.from_numpy(np.log(n) / math.log(base))
    return _torch_sdpa(q * fac[..., None], k, v, scale=1 / math.sqrt(q.shape[-1]), causal=causal, mask=mask,
                       enable_gqa=enable_gqa)


# ----------------------------------------------------------------------------- softmax, entropy, variants
def _softmax_inputs(src):
    """x with 1-3 axes of length 1-16, entries N(0, s^2), s in [0.1, 100] (log-uniform); any axis."""
    ndim = src.integer("ndim", 1, 3)
    shape = tuple(src.integer(f"n{i}", 1, 16) for i in range(ndim))
    x = src.normal("x", shape, scale=src.real("spread", 0.1, 100.0, log=True))
    return {"x": x, "axis": src.choice("axis", tuple(range(-1, -ndim - 1, -1)) + tuple(range(ndim)))}


def _entropy_inputs(src):
    """p: softmax of N(0, s^2) logits (some weights underflow to 0), 1-2 axes, any axis."""
    ndim = src.integer("ndim", 1, 2)
    shape = tuple(src.integer(f"n{i}", 1, 24) for i in range(ndim))
    x = src.normal("x", shape, scale=src.real("spread", 0.1, 50.0, log=True))
    axis = src.choice("axis", (-1, 0))
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return {"p": e / e.sum(axis=axis, keepdims=True), "axis": axis}


def _scores_lam_inputs(src):
    """s (rows, n) N(0, 1) scores times a spread, lam scalar or one per row in [0, 5]."""
    rows = src.integer("rows", 1, 4)
    n = src.integer("n", 1, 40)
    s = src.normal("s", (rows, n), scale=src.real("spread", 0.1, 20.0, log=True))
    if src.boolean("lam_per_row"):
        lam = src.uniform("lam", (rows,), 0.0, 5.0)
    else:
        lam = src.real("lam", 0.0, 5.0)
    return {"s": s, "lam": lam}


def _scipy_softmax(x, axis=-1):
    from scipy.special import softmax as sp_softmax

    return sp_softmax(x, axis=axis)


def _scipy_entr(p, axis=-1):
    from scipy.special import entr

    return np.sum(entr(p), axis=axis)


def _scipy_decomposition(s, lam):
    """H = logsumexp(lam s) - lam E_p[s] split as log n + (logsumexp - log n) - lam E_p[s] (scipy)."""
    from scipy.special import logsumexp
    from scipy.special import softmax as sp_softmax

    lam = np.broadcast_to(lam, s.shape[:-1])
    x = lam[..., None] * s
    n = s.shape[-1]
    return (np.full(s.shape[:-1], math.log(n)), logsumexp(x, axis=-1) - math.log(n),
            lam * np.sum(sp_softmax(x, axis=-1) * s, axis=-1))


def _lengths_inputs(src):
    """n >= 1: a vector of lengths up to 1e6 (log-uniform) and the base."""
    k = src.integer("count", 1, 8)
    n = np.exp(src.uniform("log_n", (k,), 0.0, math.log(1e6)))
    return {"n": np.round(n) if src.boolean("integral") else n, "base": src.choice("base", (512.0, 2.0, 8192.0, 10.5))}


def _natural_log_ratio(n, base=512):
    return np.log(n) / math.log(base)


def _qwen_inputs(src):
    """1-based positions up to 4 L (both sides of the training length), L in [2, 8192]."""
    L = src.choice("train_len", (8192, 2048, 2, 100))
    k = src.integer("count", 1, 12)
    return {"positions": src.rng("positions").integers(1, 4 * L + 1, k), "train_len": L}


def _qwen_transcribed(positions, train_len):
    """Qwen-7B modeling_qwen.py: logn_list = [math.log(i, seq_length) if i > seq_length else 1 ...]."""
    return np.array([math.log(int(i), train_len) if i > train_len else 1.0 for i in positions])


def _llama4_inputs(src):
    """0-based cache positions around multiples of floor_scale, F in {8192, 16, 1}, a in [0, 0.5]."""
    F = src.choice("floor_scale", (8192, 16, 1))
    k = src.integer("count", 1, 12)
    return {"positions": src.rng("positions").integers(0, 5 * F + 2, k), "floor_scale": F,
            "attn_scale": src.real("attn_scale", 0.0, 0.5)}


def _llama4_torch(positions, floor_scale=8192, attn_scale=0.1):
    """transformers Llama4TextAttention: log(floor((cache_position.float() + 1) / floor_scale) + 1) * a + 1."""
    import torch

    pos = torch.from_numpy(np.asarray(positions)).float()
    return (torch.log(torch.floor((pos + 1.0) / floor_scale) + 1.0) * attn_scale + 1.0).double().numpy()


def _softmax_plus_inputs(src):
    """scores (rows, n), n <= 40, valid lengths 1..n per row (below and above the floor of 16)."""
    rows = src.integer("rows", 1, 4)
    n = src.integer("n", 1, 40)
    s = src.normal("scores", (rows, n), scale=src.real("spread", 0.1, 5.0, log=True))
    return {"scores": s, "valid_len": src.rng("valid_len").integers(1, n + 1, rows),
            "min_len": src.choice("min_len", (16, 1, 4)), "base": src.choice("base", (512.0, 64.0))}


def _bert4keras_softmax_plus(scores, valid_len, min_len=16, base=512):
    """bert4keras backend.attention_normalize(method='softmax_plus'), transcribed to NumPy.

    l = sum(mask) clipped below at 16; a = a * log(l) / log(512); masked keys
    get a - 1e12 (bert4keras' infinity) before the softmax.
    """
    n = scores.shape[-1]
    mask = (np.arange(n) < np.asarray(valid_len)[..., None]).astype(float)
    l = np.maximum(np.sum(mask, axis=-1, keepdims=True), min_len)
    a = scores * np.log(l) / np.log(base)
    a = a - (1 - mask) * 1e12
    a = a - a.max(axis=-1, keepdims=True)
    e = np.exp(a)
    return e / e.sum(axis=-1, keepdims=True)


def _entropy_vs_length_inputs(src):
    """A small experiment: c in [0.5, 8], d in [2, 16], lengths 2..256, a few queries."""
    k = src.integer("count", 1, 4)
    lengths = np.unique(src.rng("lengths").integers(2, 257, k))
    return {"c": src.real("c", 0.5, 8.0), "d": src.integer("d", 2, 16), "lengths": lengths,
            "n_queries": src.integer("n_queries", 1, 8), "trials": src.integer("trials", 1, 2),
            "base": src.choice("base", (512.0, 64.0)), "seed": src.integer("seed", 0, 1000)}


def _entropy_vs_length_arrays(c, *, d=64, lengths=(64, 128), n_queries=64, trials=2, base=512, seed=0):
    r = entropy_vs_length(c, d=d, lengths=lengths, n_queries=n_queries, trials=trials, base=base, seed=seed)
    return r.plain, r.logn


def _entropy_vs_length_direct(c, *, d=64, lengths=(64, 128), n_queries=64, trials=2, base=512, seed=0):
    """The same draws, entropies by entropy(softmax(...)) of the materialised weights (a second route)."""
    rng = np.random.default_rng(seed)
    lens = np.asarray(lengths)
    plain, logn = np.zeros(lens.size), np.zeros(lens.size)
    for _ in range(trials):
        q = rng.standard_normal((n_queries, d))
        kall = rng.standard_normal((int(lens.max()), d))
        for i, n in enumerate(lens):
            s = q @ kall[:n].T / math.sqrt(d)
            plain[i] += np.mean(entropy(softmax(c * s))) / trials
            logn[i] += np.mean(entropy(softmax(c * math.log(n) / math.log(base) * s))) / trials
    return plain, logn


# ----------------------------------------------------------------------------- NoPE
def _nope_v_inputs(src):
    lead = tuple(src.integer(f"lead{i}", 1, 3) for i in range(src.integer("n_lead", 0, 2)))
    return {"v": src.normal("v", lead + (src.integer("L", 1, 40), src.integer("d", 1, 8)))}


def _dense_causal_mean(v):
    """A @ v with the uniform causal matrix A_nm = 1/n for m <= n ([10347])."""
    L = v.shape[-2]
    A = np.tril(np.ones((L, L))) / np.arange(1, L + 1)[:, None]
    return A @ v


def _mean_square_inputs(src):
    shape = tuple(src.integer(f"n{i}", 1, 12) for i in range(src.integer("ndim", 1, 3)))
    return {"y": src.normal("y", shape, scale=src.real("spread", 0.1, 10.0, log=True)),
            "axis": src.choice("axis", tuple(range(-1, -len(shape) - 1, -1)))}


def _expected_ms_inputs(src):
    return {"n": src.rng("n").integers(1, 10_000, src.integer("count", 1, 8)),
            "sigma2": src.real("sigma2", 0.0, 10.0)}


def _nope_x_inputs(src):
    """x (..., L, D), projections wq, wk (D, d), wv (D, d_v); scale default or a float."""
    lead = (src.integer("B", 1, 2),) if src.boolean("batched") else ()
    L, D, d, dv = src.integer("L", 1, 24), src.integer("D", 1, 8), src.integer("d", 1, 8), src.integer("d_v", 1, 4)
    out = {"x": src.normal("x", lead + (L, D)), "wq": src.normal("wq", (D, d)), "wk": src.normal("wk", (D, d)),
           "wv": src.normal("wv", (D, dv))}
    if src.choice("scale_kind", ("default", "scalar"), follows="scale") == "scalar":
        out["scale"] = src.real("scale", 0.05, 1.0)
    return out


def _nope_via_torch(causal):
    def peer(x, wq, wk, wv, *, scale=None):
        import torch.nn.functional as F

        q, k, v = x @ wq, x @ wk, x @ wv
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=scale)

    peer.__name__ = f"torch_sdpa_{'causal' if causal else 'bidirectional'}"
    return peer


def _readback_inputs(src):
    return {"L": src.integer("L", 2, 64), "d": src.integer("d", 1, 16), "sigma2": src.real("sigma2", 0.1, 4.0),
            "trials": src.integer("trials", 1, 4), "seed": src.integer("seed", 0, 1000)}


def _readback_arrays(L=1024, d=256, *, sigma2=1.0, trials=64, seed=0):
    r = nope.position_readback(L, d, sigma2=sigma2, trials=trials, seed=seed)
    return r.ms, np.array([r.slope, r.intercept]), r.recovered


def _readback_direct(L=1024, d=256, *, sigma2=1.0, trials=64, seed=0):
    """The same draws: MS of the dense causal mean, np.polyfit slope, sigma2 / MS."""
    rng = np.random.default_rng(seed)
    v = rng.standard_normal((trials, L, d)) * math.sqrt(sigma2)
    ms_all = np.mean(_dense_causal_mean(v) ** 2, axis=-1)
    ms = ms_all.mean(axis=0)
    fit = np.polyfit(np.log(np.arange(1, L + 1)), np.log(ms), 1)
    return ms, fit, sigma2 / ms_all[0]


EXACT = {"float64": (4e-16, 0.0)}

CASES = [
    Case("attention.attention", attention, inputs=_attention_inputs,
         tol={"float64": (1e-12, 1e-12), "float32": (2e-5, 2e-5), "bfloat16": (1.2e-2, 2e-3),
              "float16": (1.5e-3, 2.5e-4)},
         why=ATTENTION_WHY,
         fast=("numba", "cupy"),
         peers=(
             Peer("torch scaled_dot_product_attention (float64)", _torch_sdpa, requires=("torch",), convert="torch",
                  fixed={"return_weights": False},
                  why="torch's own kernel; bottom-right causal passed as a mask, per-query scale folded into q"),
             Peer("np.repeat of the kv heads, then plain attention", _repeat_kv_attention,
                  why="grouped-query attention is defined as repeating each kv head for its group of query heads"),
             Peer("mpmath, 40 digits", _mpmath_attention, requires=("mpmath",),
                  fixed={"layout": "nd", "return_weights": False}, examples=4,
                  why="the definition evaluated with 40 significant digits: only refimpl's rounding counts"),
         ),
         corners=({"n_q": 1, "n_k": 40, "causal": True},  # single query, KV-cache decoding
                  {"n_q": 5, "n_k": 37, "causal": True, "mask_kind": "window", "window": 3},
                  {"layout": "bhnd", "enable_gqa": True, "group": 3, "H_kv": 2, "n_q": 7, "n_k": 30},
                  {"n_q": 12, "n_k": 12, "causal": True, "scale_kind": "per_query", "return_weights": True})),
    Case("attention.entropy_invariant_attention", entropy_invariant_attention, inputs=_eia_inputs,
         tol={"float64": (1e-12, 1e-12), "float32": (2e-5, 2e-5)},
         why="attention with scale log(n_i)/log(base)/sqrt(d): the scale adds 1.5 ulp to each score, nothing "
             "that changes the attention error model (see attention.attention); float64 measures 1e-15.",
         fast=("numba", "cupy"),
         peers=(Peer("Su's formula through torch SDPA, natural logs", _torch_logn, requires=("torch",),
                     convert="torch",
                     why="q_i scaled by log n_i / log base with math.log, n_i counted from the mask: an independent "
                         "route to the length (where an offset bug for n_q < n_k would show)"),),
         corners=({"n_q": 1, "n_k": 45, "causal": True, "length": "per_query"},
                  {"n_q": 4, "n_k": 40, "causal": True, "length": "per_query", "min_len_kind": "none"},
                  {"n_q": 6, "n_k": 30, "mask_kind": "window", "window": 2, "length": "per_query"},
                  {"layout": "bhnd", "enable_gqa": True, "group": 2, "length": "global", "base": 8.0}),
         documented={"min_len": {"huge": "a floor of 2**64 keys is a finite scale log(2**64)/log(base) (a floor "
                                         "beyond every length; nothing is allocated from it)"}}),
    Case("attention.softmax", softmax, inputs=_softmax_inputs,
         tol={"float64": (1e-13, 0.0), "float32": (2e-5, 0.0), "bfloat16": (2e-2, 0.0), "float16": (3e-3, 0.0)},
         why="each weight has relative error below (n + 4) u (one exp after the max-subtraction, a sum of n terms "
             "and one division), n <= 16: float64 2.2e-15, rtol 1e-13; float32 1.2e-6, rtol 2e-5; bfloat16 with a "
             "float32 sum: 3 u = 1.2e-2, rtol 2e-2; float16 3 u = 1.5e-3, rtol 3e-3 (a kernel that skips the "
             "max-subtraction overflows at |x| > 88 in float32 and > 11 in float16).",
         peers=(Peer("scipy.special.softmax", _scipy_softmax, requires=("scipy",)),)),
    Case("attention.entropy", entropy, inputs=_entropy_inputs,
         tol={"float64": (1e-13, 1e-15), "float32": (2e-5, 1e-6)},
         why="a sum of n <= 24 terms -p log p, each within 2 ulp: (n + 2) u relative to the sum of |terms|, "
             "which is the result (all terms >= 0); an atol for sums of underflowed weights.",
         peers=(Peer("scipy.special.entr summed", _scipy_entr, requires=("scipy",)),)),
    Case("attention.entropy_decomposition", entropy_decomposition, inputs=_scores_lam_inputs,
         tol={"float64": (1e-12, 1e-12)},
         why="log-mean-exp max-shifted and lam E_p[s], each a sum of n <= 40 terms: n u (1 + lam max|s|) <= "
             "40 u 100 = 4.4e-13 of the largest part.",
         peers=(Peer("scipy.special.logsumexp and softmax", _scipy_decomposition, requires=("scipy",)),)),
    Case("attention.entropy_lower_bound", entropy_lower_bound, inputs=_scores_lam_inputs,
         tol={"float64": (1e-13, 1e-13)},
         why="log n - lam (max s - mean s): a mean of n <= 40 terms, n u lam max|s| <= 5e-14 absolute."),
    Case("attention.logn_factor", logn_factor, inputs=_lengths_inputs,
         tol={"float64": (1e-15, 0.0)},
         why="two correctly rounded logs and a division: 1.5 ulp.",
         peers=(Peer("natural logs, log n / log base", _natural_log_ratio),),
         article=(Article(A8823, "log_512 n = 1 at the calibration length n = 512", lambda: logn_factor(512), 1.0),)),
    Case("attention.qwen_logn_factors", qwen_logn_factors, inputs=_qwen_inputs,
         tol={"float64": (1e-15, 0.0)},
         why="log2 ratio vs Python's math.log(i, L): both within 1.5 ulp.",
         peers=(Peer("Qwen-7B logn_list formula, transcribed", _qwen_transcribed),),
         documented={"train_len": {"huge": "a training length of 2**64 covers every position: every factor is "
                                           "exactly 1 (documented in the docstring)"}}),
    Case("attention.llama4_attention_scales", llama4_attention_scales, inputs=_llama4_inputs,
         tol={"float64": (1e-15, 0.0)},
         why="one log1p and one floor: 1 ulp in float64.",
         peers=(Peer("transformers Llama4TextAttention formula in torch float32", _llama4_torch, requires=("torch",),
                     tol=(1e-6, 0.0), why="transformers evaluates in float32: a few float32 ulp (6e-8)"),),
         documented={"floor_scale": {"huge": "F = 2**64 exceeds every position: floor((i + 1)/F) = 0 and every "
                                             "scale is exactly 1 (documented in the docstring)"}}),
    Case("attention.softmax_plus", softmax_plus, inputs=_softmax_plus_inputs,
         tol={"float64": (1e-13, 0.0)},
         why="as softmax: (n + 4) u relative, n <= 40, plus the factor's 1.5 ulp times |s| <= 20.",
         peers=(Peer("bert4keras attention_normalize softmax_plus, transcribed", _bert4keras_softmax_plus,
                     why="Su's own code: masked keys get -1e12 before the softmax, weight exactly 0"),),
         documented={"min_len": {"huge": "a floor of 2**64 keys is a finite factor log(2**64)/log(base) "
                                         "(documented in the docstring)"}}),
    Case("attention.entropy_vs_length", entropy_vs_length, inputs=_entropy_vs_length_inputs,
         reference=_entropy_vs_length_arrays,
         tol={"float64": (1e-11, 1e-12)},
         why="Monte-Carlo means of entropies: each entropy n u (1 + c max|s|) with n <= 256, c <= 8, |s| <= 8.",
         peers=(Peer("entropy(softmax(...)) of the same draws", _entropy_vs_length_direct),)),
    Case("attention.nope.causal_mean", nope.causal_mean, inputs=_nope_v_inputs,
         tol={"float64": (1e-13, 0.0), "float32": (1e-5, 0.0)},
         why="a running sum of n <= 40 terms divided by n: n u sum|v| / n <= 40 u max|v|.",
         peers=(Peer("dense uniform causal matrix A @ v", _dense_causal_mean),)),
    Case("attention.nope.mean_square", nope.mean_square, inputs=_mean_square_inputs,
         tol={"float64": (1e-14, 0.0)}, why="a mean of d <= 12 squares: d u relative.",
         peers=(Peer("np.mean(y**2)", lambda y, axis=-1: np.mean(y**2, axis=axis)),)),
    Case("attention.nope.expected_mean_square", nope.expected_mean_square, inputs=_expected_ms_inputs,
         tol=EXACT, why="one division: 0.5 ulp."),
    Case("attention.nope.causal_attention", nope.causal_attention, inputs=_nope_x_inputs,
         tol={"float64": (1e-12, 1e-12)}, why="as attention.attention (float64).", fast=("numba",),
         peers=(Peer("projections, then torch SDPA is_causal=True", _nope_via_torch(True), requires=("torch",),
                     convert="torch"),)),
    Case("attention.nope.bidirectional_attention", nope.bidirectional_attention, inputs=_nope_x_inputs,
         tol={"float64": (1e-12, 1e-12)}, why="as attention.attention (float64).", fast=("numba",),
         peers=(Peer("projections, then torch SDPA", _nope_via_torch(False), requires=("torch",),
                     convert="torch"),)),
    Case("attention.nope.position_readback", nope.position_readback, inputs=_readback_inputs,
         reference=_readback_arrays,
         tol={"float64": (1e-12, 1e-12)},
         why="the same draws: MS by a running sum vs the dense matrix (n u), the fit by np.polyfit both times.",
         peers=(Peer("dense causal mean and np.polyfit on the same draws", _readback_direct),)),
]
