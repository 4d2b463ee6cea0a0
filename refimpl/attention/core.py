r"""Softmax attention, its entropy, and entropy-invariant (log n) scaling.

Sources (Su Jianlin, kexue.fm):

- [A] "从熵不变性看Attention的Scale操作", https://kexue.fm/archives/8823
- [B] "熵不变性Softmax的一个快速推导", https://kexue.fm/archives/9034
- [C] "从JL引理看熵不变性Attention", https://kexue.fm/archives/9588

Published variants reimplemented from their formulas (no code copied):
bert4keras ``softmax_plus`` (Su's own code), Qwen-7B ``use_logn_attn``, and
Llama 4 attention temperature tuning (transformers ``modeling_llama4.py``).
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from .._backend import pick
from .._gpu import device_module
from .._validation import check_bool, check_choice, check_int, check_real, check_rng, check_size, is_scalar
from . import _fast, _xp, reference
from ._xp import numeric as _numbers

__all__ = [
    "EntropyVsLength",
    "attention",
    "entropy",
    "entropy_decomposition",
    "entropy_invariant_attention",
    "entropy_lower_bound",
    "entropy_vs_length",
    "llama4_attention_scales",
    "logn_factor",
    "qwen_logn_factors",
    "softmax",
    "softmax_plus",
]

LENGTH_MODES = ("global", "per_query")


# ----------------------------------------------------------------------------- helpers
def _as_logits(x, name):
    """Real array whose entries are finite or -inf (masked); NaN and +inf are rejected."""
    arr = _numbers(x, name, finite=False, min_ndim=1, min_size=1)
    if np.any(np.isnan(arr)):
        raise ValueError(f"parameter '{name}' must not contain NaN")
    if np.any(arr == np.inf):
        raise ValueError(f"parameter '{name}' must not contain +inf (use -inf to mask an entry)")
    return arr


def _check_axis(axis, ndim):
    axis = check_int(axis, "axis")
    if not -ndim <= axis < ndim:
        raise ValueError(f"parameter 'axis' must be in [{-ndim}, {ndim - 1}] for a {ndim}-d input, got {axis}")
    return axis


# ----------------------------------------------------------------------------- softmax / entropy
def softmax(x, axis=-1):
    r"""Numerically stable softmax :math:`p_i = e^{x_i - \max x}/\sum_j e^{x_j - \max x}`.

    Parameters
    ----------
    x : array_like
        Real logits; ``-inf`` marks a masked entry (weight exactly 0).
    axis : int, optional
        Axis along which the weights sum to 1.

    Returns
    -------
    ndarray, float64, same shape as ``x``.

    Raises
    ------
    ValueError
        If ``x`` is empty or contains NaN or ``+inf``, or if a slice along
        ``axis`` is entirely ``-inf`` (a fully masked row has no softmax;
        refimpl raises rather than returning NaN or uniform weights).

    Notes
    -----
    Accuracy: each weight has relative error below about :math:`(n+4)\varepsilon`
    (one exp with argument error :math:`\le 2\varepsilon|x|`... bounded by the max
    subtraction, a sum of n terms and one division); tests use rtol 1e-13 for
    n <= 512 against mpmath.

    Examples
    --------
    >>> softmax([0.0, np.log(3.0)])
    array([0.25, 0.75])
    >>> softmax([1.0, -np.inf])
    array([1., 0.])
    """
    x = _as_logits(x, "x")
    axis = _check_axis(axis, x.ndim)
    m = np.max(x, axis=axis, keepdims=True)
    if np.any(m == -np.inf):
        raise ValueError("parameter 'x' has a slice that is entirely -inf (fully masked); softmax is undefined there")
    e = np.exp(x - m)
    return e / np.sum(e, axis=axis, keepdims=True)


def entropy(p, axis=-1):
    r"""Shannon entropy :math:`H = -\sum_i p_i \log p_i` in nats, with :math:`0\log 0 = 0`.

    Parameters
    ----------
    p : array_like
        Non-negative weights (normally a probability vector along ``axis``;
        they are used as given, not renormalised).
    axis : int, optional

    Returns
    -------
    ndarray or float
        ``p`` with ``axis`` removed.

    Raises
    ------
    ValueError
        If ``p`` is empty, not finite, or has a negative entry.

    Notes
    -----
    Accuracy: a sum of n terms, relative error about :math:`n\varepsilon`.
    For a softmax, :func:`entropy_decomposition` avoids forming ``p log p``.

    Examples
    --------
    >>> float(entropy([0.5, 0.5])) == math.log(2)
    True
    >>> float(entropy([1.0, 0.0]))
    0.0
    """
    p = _numbers(p, "p", min_ndim=1, min_size=1)
    axis = _check_axis(axis, p.ndim)
    if np.any(p < 0):
        raise ValueError("parameter 'p' must be non-negative")
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    return np.sum(terms, axis=axis)


# ----------------------------------------------------------------------------- attention
def attention(q, k, v, *, scale=None, causal=False, mask=None, return_weights=False, enable_gqa=False,
              backend="auto"):
    r"""Exact softmax attention :math:`O = \mathrm{softmax}(\lambda\, q k^\top + M)\, v`.

    .. math::

        o_i = \sum_j a_{ij} v_j,\qquad a_{ij} = \mathrm{softmax}_j(\lambda_i\, q_i\cdot k_j + M_{ij}),

    :math:`M_{ij} = -\infty` for keys that query i cannot see (``mask``,
    ``causal``), else 0. The definition, written out with the scores
    materialised, is :func:`refimpl.attention.reference.attention`
    (``backend="reference"``).

    Parameters
    ----------
    q : array_like, shape (..., n_q, d)
        E.g. ``(B, H, n_q, d)`` (batch, heads) or ``(n_q, d)``.
    k : array_like, shape (..., n_k, d)
    v : array_like, shape (..., n_k, d_v)
        Leading (batch, head) axes broadcast against each other; with
        ``enable_gqa=True`` the head axis (-3) of ``k`` and ``v`` may be
        smaller, see below.
    scale : float or array_like, optional
        :math:`\lambda`. Default :math:`1/\sqrt d`. An array is broadcast to
        ``(..., n_q)``: one scale per query row (e.g. per-query log n).
    causal : bool, optional
        Query i sees keys :math:`j \le i + (n_k - n_q)`: the last query is
        aligned with the last key (the KV-cache convention of flash-attn >= 2.1
        and transformers). When ``n_q == n_k`` this is the usual lower
        triangle, identical to torch ``is_causal=True`` (which aligns top-left
        when ``n_q != n_k``).
    mask : array_like of bool, optional
        Broadcast to ``(..., n_q, n_k)``; True = attend. Combined with
        ``causal`` by logical and.
    return_weights : bool, optional
        Also return the weights ``a`` (..., n_q, n_k): O(n_q n_k) memory on
        every backend.
    enable_gqa : bool, optional
        Grouped-query attention (as torch ``scaled_dot_product_attention(...,
        enable_gqa=True)``): ``k`` and ``v`` have ``H_kv`` heads on axis -3,
        ``q`` has ``H``, and ``H_kv`` divides ``H``; kv head g serves query
        heads ``g r, ..., g r + r - 1`` with ``r = H / H_kv``. Identical to
        ``np.repeat(k, r, axis=-3)`` (and the same for ``v``).
    backend : {"auto", "reference", "numba", "cupy"}, optional
        ``"reference"`` (also ``"numpy"``): the definition, scores
        materialised (O(n_q n_k) memory). ``"numba"`` (the ``"auto"`` choice
        for NumPy inputs when numba is installed): streams over key tiles with
        an online softmax (running max and normaliser, rescaled when the max
        grows), O((n_q + n_k) d) memory; a 65,536-token causal attention runs
        in a few hundred MB. ``"cupy"`` (chosen by ``"auto"`` when an input
        is a CuPy array): the same streaming algorithm in CuPy array
        operations, blocks of up to 8192 queries x 2048 keys; the result is a
        CuPy array (also for NumPy inputs with ``backend="cupy"``). See
        docs/gpu.md.

    Returns
    -------
    out : ndarray, shape (..., n_q, d_v), float64
        A CuPy array on the ``"cupy"`` backend.
    weights : ndarray, shape (..., n_q, n_k)
        Only with ``return_weights=True``.

    Raises
    ------
    ValueError
        Mismatched head dims or key counts, empty axes, NaN/Inf inputs, shapes
        that do not broadcast (or kv heads that do not divide the query heads
        under ``enable_gqa``), **fully masked rows** (a query row with no
        visible key raises, naming ``mask`` or ``causal``, instead of
        returning NaN (0/0) or a silent zero vector as some kernels do), and
        **overflowing scores**: finite inputs whose score
        :math:`\lambda_i q_i\cdot k_j` exceeds the float64 range (e.g.
        ``q * 1e160``) raise, since the softmax would be NaN.
    TypeError
        Non-bool ``mask``, ``causal``, ``return_weights`` or ``enable_gqa``;
        a bool ``scale``.

    Notes
    -----
    Accuracy: each output entry has error at most about
    :math:`(d + 8)\varepsilon\max_j|\lambda q_i\cdot k_j|\,\max|v| + n_k\varepsilon\max|v|`
    (score rounding amplified by the softmax, plus the weighted sum); the
    fast paths are tested against the reference at that bound and the
    reference against an mpmath evaluation (``refimpl verify``). The
    streaming kernel's exp is within 1 ulp of ``numpy.exp``.
    Low precision: the case table ``attention.attention`` states bfloat16 and
    float16 tolerances for kernels checked with
    :func:`refimpl.testing.check_against` (docs/attention.md).

    Examples
    --------
    >>> q = np.array([[1.0, 0.0]]); k = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> v = np.array([[1.0], [0.0]])
    >>> out = attention(q, k, v, scale=1.0)        # weights e/(e+1), 1/(e+1)
    >>> bool(np.isclose(out[0, 0], np.e / (np.e + 1)))
    True
    """
    return_weights = check_bool(return_weights, "return_weights")
    name, impl = pick(backend, q, k, v, scale, mask, reference=reference.attention, numba=_fast.attention,
                      cupy=_xp.attention_xp)
    if name == "cupy":
        return _xp.attention_xp(device_module(), q, k, v, scale=scale, causal=causal, mask=mask,
                                return_weights=return_weights, enable_gqa=enable_gqa)
    p = _xp.prepare_xp(np, q, k, v, scale, causal, mask, enable_gqa)
    if name == "reference" or return_weights:  # the scores are materialised (the numba path streams)
        check_size(p.q.shape[:2] + (p.k.shape[1],), "q' and 'k", itemsize=8 * 3)
    out, w = impl(p.q, p.k, p.v, p.scale, p.mask, p.causal, return_weights)
    out = out.reshape(p.batch + out.shape[1:])
    if return_weights:
        return out, w.reshape(p.batch + w.shape[1:])
    return out


# ----------------------------------------------------------------------------- log n scaling
def logn_factor(n, base=512.0):
    r"""The entropy-invariance factor :math:`\log_{\text{base}} n = \log n / \log \text{base}` ([A], [C]).

    Multiplying the usual :math:`1/\sqrt d` by it gives Su's Attention-E,
    :math:`\mathrm{softmax}(\tfrac{\log_{512} n}{\sqrt d} QK^\top)V`, calibrated to
    equal ordinary attention at ``n == base``.

    Parameters
    ----------
    n : int, float or array_like
        Length(s), >= 1.
    base : float, optional
        Calibration length, > 1 (Su: 512; Qwen uses the training length).

    Returns
    -------
    float or ndarray

    Raises
    ------
    ValueError
        ``n < 1`` or not finite; ``base <= 1``.

    Notes
    -----
    Accuracy: two correctly rounded logs and one division, <= 1.5 ulp.
    ``log_512 2**k = k/9``; refimpl evaluates ``log2(n)/log2(base)`` so that
    this holds exactly for powers of two (tested).

    Examples
    --------
    >>> logn_factor(4096)
    1.3333333333333333
    >>> logn_factor([64, 512, 1024])
    array([0.66666667, 1.        , 1.11111111])
    """
    base = check_real(base, "base")
    if base <= 1:
        raise ValueError(f"parameter 'base' must be > 1, got {base}")
    scalar = is_scalar(n, "n")
    arr = _numbers(n, "n")
    if np.any(arr < 1):
        raise ValueError(f"parameter 'n' must be >= 1, got min {float(np.min(arr))}")
    out = np.log2(arr) / np.log2(base)
    return float(out.item()) if scalar else out


def entropy_invariant_attention(q, k, v, *, base=512.0, causal=False, length="global", min_len=None,
                                mask=None, enable_gqa=False, backend="auto"):
    r"""Su's entropy-invariant attention :math:`\mathrm{softmax}\big(\frac{\log_{\text{base}} n}{\sqrt d} q\cdot k\big)v` ([A], [C]).

    Parameters
    ----------
    q, k, v : array_like
        As in :func:`attention`.
    base : float, optional
        Calibration length (> 1); at ``n == base`` this is plain attention.
    causal : bool, optional
        As in :func:`attention`.
    length : {"global", "per_query"}, optional
        ``"global"``: n = n_k for every query (post [A]). ``"per_query"``: n_i
        = the number of keys query i can see (causal: i + 1 + n_k - n_q; with
        ``mask``: its count), the bert4keras convention.
    min_len : int, optional
        Floor on n (bert4keras uses 16, so the factor is >= 4/9 at base 512).
        Any integer >= 1 is accepted; a floor beyond every length (even
        2**64) gives the finite factor log(min_len)/log(base).
    mask : array_like of bool, optional
        As in :func:`attention` (needed for per-query lengths with padding).
    enable_gqa : bool, optional
        Grouped-query heads, as in :func:`attention`.
    backend : {"auto", "reference", "numba", "cupy"}, optional
        ``"reference"``: the definition,
        :func:`refimpl.attention.reference.entropy_invariant_attention`; the
        others compute the scale here and run :func:`attention` with that
        backend (``"cupy"`` returns a CuPy array).

    Returns
    -------
    ndarray, shape (..., n_q, d_v)

    Raises
    ------
    ValueError
        As :func:`attention`; ``base <= 1``; unknown ``length``; ``min_len < 1``.

    Notes
    -----
    Accuracy: as :func:`attention` (the scale is computed to 1.5 ulp).
    Convention: the factor multiplies the logits (equivalently q). Qwen clips
    it below at 1 and uses the training length as base; Llama 4 uses a
    different, floored slope: see :func:`qwen_logn_factors`,
    :func:`llama4_attention_scales`, :func:`softmax_plus`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> q, k, v = (rng.standard_normal((512, 8)) for _ in range(3))
    >>> bool(np.array_equal(entropy_invariant_attention(q, k, v), attention(q, k, v)))
    True
    """
    check_choice(length, "length", LENGTH_MODES)
    base = check_real(base, "base")
    if base <= 1:
        raise ValueError(f"parameter 'base' must be > 1, got {base}")
    if min_len is not None:
        min_len = check_int(min_len, "min_len", min_value=1)
    name, _ = pick(backend, q, k, v, mask, reference=reference.entropy_invariant_attention, numba=_fast.attention,
                   cupy=_xp.attention_xp)
    xp = device_module() if name == "cupy" else np
    p = _xp.prepare_xp(xp, q, k, v, None, causal, mask, enable_gqa)
    nq, nk, d = p.q.shape[1], p.k.shape[1], p.q.shape[2]
    n = p.counts.astype(np.float64) if length == "per_query" else np.full(p.counts.shape, float(nk))
    if min_len is not None:
        n = np.maximum(n, float(min_len))
    scale = logn_factor(n, base) / math.sqrt(d)  # (B, n_q)
    if name == "reference":
        _xp.check_scores_finite(np, p.q, p.k, scale, p.mask, p.causal)
        check_size(p.q.shape[:2] + (nk,), "q' and 'k", itemsize=8 * 3)
        out = reference.entropy_invariant_attention(p.q, p.k, p.v, p.mask, p.causal, base, length, min_len)
        return out.reshape(p.batch + out.shape[1:])
    return attention(q, k, v, scale=scale.reshape(p.batch + (nq,)), causal=causal, mask=mask,
                     enable_gqa=enable_gqa, backend=name)


# ----------------------------------------------------------------------------- published variants
def qwen_logn_factors(positions, train_len):
    r"""Qwen(-7B) ``use_logn_attn`` query factors: :math:`\log_{L} i` for :math:`i > L`, else 1.

    Parameters
    ----------
    positions : int or array_like of int
        1-based absolute positions i (the number of keys visible to the query
        under causal attention).
    train_len : int
        The training length L (``config.seq_length``, 8192 for Qwen-7B), >= 2.
        Any integer is accepted: an L beyond every position (even 2**64)
        makes every factor exactly 1.

    Returns
    -------
    float or ndarray

    Notes
    -----
    Convention (from the published ``modeling_qwen.py`` formula
    ``math.log(i, seq_length) if i > seq_length else 1``): base is the
    training length, not 512, and the factor is clipped to >= 1, so nothing
    changes inside the training window; applied at inference only, multiplying
    the query of absolute position i. Qwen's table stops at 32767; refimpl
    does not cap. Accuracy: <= 1.5 ulp.

    Examples
    --------
    >>> qwen_logn_factors([1, 8192, 16384], 8192)
    array([1.        , 1.        , 1.07692308])
    """
    L = check_int(train_len, "train_len", min_value=2)
    scalar = is_scalar(positions, "positions")
    arr = _numbers(positions, "positions")
    if np.any(arr < 1) or np.any(arr != np.round(arr)):
        raise ValueError("parameter 'positions' must hold integers >= 1 (1-based positions)")
    out = np.where(arr > L, np.log2(np.maximum(arr, 1.0)) / math.log2(L), 1.0)
    return float(out.item()) if scalar else out


def llama4_attention_scales(positions, floor_scale=8192, attn_scale=0.1):
    r"""Llama 4 attention temperature tuning: :math:`1 + a\log(\lfloor (i+1)/F\rfloor + 1)`.

    Parameters
    ----------
    positions : int or array_like of int
        0-based ``cache_position`` i.
    floor_scale : int, optional
        F (config ``floor_scale``, 8192), >= 1. Any integer is accepted: an F
        beyond every position (even 2**64) makes every scale exactly 1.
    attn_scale : float, optional
        a (config ``attn_scale``, 0.1), >= 0.

    Returns
    -------
    float or ndarray

    Notes
    -----
    Convention (transformers ``Llama4TextAttention``): multiplies the query on
    NoPE layers only, always on; piecewise constant, equal to 1 for
    i + 1 < F, and growing like 0.1 log(i/F) far out (much slower than
    log_512). transformers evaluates it in float32; refimpl in float64
    (<= 2 ulp), so compare a float32 port with rtol ~1e-6.

    Examples
    --------
    >>> llama4_attention_scales([0, 8190, 8191])
    array([1.        , 1.        , 1.06931472])
    """
    F = check_int(floor_scale, "floor_scale", min_value=1)
    a = check_real(attn_scale, "attn_scale", low=0.0)
    scalar = is_scalar(positions, "positions")
    arr = _numbers(positions, "positions")
    if np.any(arr < 0) or np.any(arr != np.round(arr)):
        raise ValueError("parameter 'positions' must hold integers >= 0 (0-based positions)")
    out = 1.0 + a * np.log1p(np.floor((arr + 1.0) / F))
    return float(out.item()) if scalar else out


def softmax_plus(scores, valid_len, min_len=16, base=512.0):
    r"""bert4keras ``softmax_plus``: :math:`\mathrm{softmax}\big(s\cdot\log\max(l, l_{\min})/\log\text{base}\big)` over valid keys.

    Parameters
    ----------
    scores : array_like, shape (..., n)
        Logits, already divided by :math:`\sqrt d` (bert4keras' MultiHeadAttention
        does this before ``attention_normalize``).
    valid_len : int or array_like of int
        Number of unmasked keys l per row (broadcast to ``scores.shape[:-1]``),
        1 <= l <= n; they are the first l positions (right padding); the rest
        get weight 0.
    min_len : int, optional
        Floor on l (bert4keras: 16, "scale hurts for very short sequences"),
        so the factor is >= log 16 / log 512 = 4/9. Any integer >= 1 is
        accepted; a floor beyond every length (even 2**64) gives the finite
        factor log(min_len)/log(base).
    base : float, optional
        > 1.

    Returns
    -------
    ndarray, shape (..., n)

    Notes
    -----
    Su's own code (https://github.com/bojone/bert4keras, ``backend.py``,
    ``attention_normalize(..., method='softmax_plus')``), citing [A]. PyTorch
    ports usually drop the floor at 16. Accuracy: as :func:`softmax`.

    Examples
    --------
    >>> w = softmax_plus([[1.0, 0.0, 0.0]], 2)      # l = 2 < 16: factor 4/9
    >>> bool(np.allclose(w, [[1/(1+np.exp(-4/9)), 1/(1+np.exp(4/9)), 0.0]]))
    True
    """
    s = _numbers(scores, "scores", min_ndim=1, min_size=1)
    n = s.shape[-1]
    mn = check_int(min_len, "min_len", min_value=1)
    base = check_real(base, "base")
    if base <= 1:
        raise ValueError(f"parameter 'base' must be > 1, got {base}")
    lv = _numbers(valid_len, "valid_len").reshape(np.shape(valid_len))
    if np.any(lv != np.round(lv)) or np.any(lv < 1) or np.any(lv > n):
        raise ValueError(f"parameter 'valid_len' must hold integers in [1, {n}]")
    try:
        lv = np.broadcast_to(lv, s.shape[:-1])
    except ValueError:
        raise ValueError(f"parameter 'valid_len' must broadcast to {s.shape[:-1]}, got shape {lv.shape}") from None
    fac = np.log2(np.maximum(lv, mn)) / np.log2(base)
    logits = s * fac[..., None]
    logits = np.where(np.arange(n) < lv[..., None], logits, -np.inf)
    return softmax(logits, axis=-1)


# ----------------------------------------------------------------------------- entropy analysis
def _scores_lam(s, lam):
    s = _numbers(s, "s", min_ndim=1, min_size=1)
    lam_arr = _numbers(lam, "lam").reshape(np.shape(lam))
    try:
        lam_b = np.broadcast_to(lam_arr, s.shape[:-1])
    except ValueError:
        raise ValueError(f"parameter 'lam' must be a scalar or broadcast to {s.shape[:-1]}, got {lam_arr.shape}") from None
    return s, lam_b


def entropy_decomposition(s, lam):
    r"""Exact split of the softmax entropy ([B]): :math:`H = \log n + \log\overline{e^{\lambda s}} - \lambda\,\mathbb E_p[s]`.

    With :math:`p = \mathrm{softmax}(\lambda s)` over the last axis,
    :math:`H = \log\sum_i e^{\lambda s_i} - \lambda\sum_i p_i s_i`; writing
    :math:`\log\sum = \log n + \log\frac1n\sum` gives the three parts.

    Parameters
    ----------
    s : array_like, shape (..., n)
        Finite scores.
    lam : float or array_like
        :math:`\lambda`, broadcast to ``s.shape[:-1]``.

    Returns
    -------
    log_n, log_mean_exp, lam_E_p_s : ndarray
        Each of shape ``s.shape[:-1]``; ``H = log_n + log_mean_exp - lam_E_p_s``.

    Notes
    -----
    Accuracy: log-mean-exp is computed max-shifted, so each part has error
    about :math:`n\varepsilon(1 + |\lambda|\max|s|)`; the identity with
    :func:`entropy` of :func:`softmax` is tested to rtol 1e-10.
    Derivation: ``derivations/attention_entropy.py``.

    Examples
    --------
    >>> a, b, c = entropy_decomposition([0.0, 0.0, 0.0, 0.0], 2.0)
    >>> float(a + b - c) == math.log(4)
    True
    """
    s, lam = _scores_lam(s, lam)
    n = s.shape[-1]
    x = lam[..., None] * s
    m = np.max(x, axis=-1, keepdims=True)
    e = np.exp(x - m)
    z = np.sum(e, axis=-1)
    log_mean_exp = m[..., 0] + np.log(z) - math.log(n)
    lam_E = lam * np.sum(e * s, axis=-1) / z
    return np.full(s.shape[:-1], math.log(n)), log_mean_exp, lam_E


def entropy_lower_bound(s, lam):
    r"""Su's mean-field estimate :math:`\log n - \lambda(s_{\max} - \bar s)` ([B]), an exact lower bound.

    [B] derives it by two approximations; both err the same way (Jensen:
    :math:`\log\overline{e^{\lambda s}} \ge \lambda\bar s`; and
    :math:`\mathbb E_p[s] \le s_{\max}`), so for :math:`\lambda \ge 0`
    :math:`\log n - \lambda(s_{\max}-\bar s) \le H \le \log n` holds exactly.
    It can be negative (loose).

    Parameters
    ----------
    s : array_like, shape (..., n)
    lam : float or array_like, >= 0

    Returns
    -------
    ndarray, shape ``s.shape[:-1]``

    Raises
    ------
    ValueError
        ``lam < 0`` (the inequality reverses direction there), non-finite input.

    Notes
    -----
    Accuracy: about :math:`n\varepsilon\lambda\max|s|` absolute.
    Derivation: ``derivations/attention_entropy.py``.

    Examples
    --------
    >>> float(entropy_lower_bound([1.0, 0.0], 1.0)) == math.log(2) - 0.5
    True
    """
    s, lam = _scores_lam(s, lam)
    if np.any(lam < 0):
        raise ValueError("parameter 'lam' must be >= 0 (the bound holds for lam >= 0)")
    return math.log(s.shape[-1]) - lam * (np.max(s, axis=-1) - np.mean(s, axis=-1))


@dataclasses.dataclass(frozen=True)
class EntropyVsLength:
    """Result of :func:`entropy_vs_length` (entropies in nats, averaged over queries and trials)."""

    lengths: np.ndarray
    plain: np.ndarray
    logn: np.ndarray
    spread_plain: float
    spread_logn: float
    c: float
    d: int


#: The most multiply-adds one call of :func:`entropy_vs_length` runs (tens of minutes of one core).
_MAX_WORK = 10**13


def entropy_vs_length(c=4.0, *, d=64, lengths=(64, 128, 256, 512, 1024, 2048, 4096, 8192),
                      n_queries=64, trials=2, base=512.0, seed=0):
    r"""Measure attention entropy against sequence length, with and without log-n scaling.

    q and k are i.i.d. :math:`\mathcal N(0, I_d)`; the plain logits are
    :math:`\frac{c}{\sqrt d}q\cdot k` and the log-n logits
    :math:`\frac{c\log_{\text{base}}n}{\sqrt d}q\cdot k` (equal at n = base).
    For each n the mean entropy over ``n_queries`` queries x ``trials`` key
    sets is returned; the spread is max - min over ``lengths``.

    What it shows (an experiment of this library, not a result of Su's posts):

    - Concentrated regime (c >~ 4 at n = 512): plain entropy rises steadily
      with n while log-n scaling keeps it much flatter (spread several times
      smaller), but never constant.
    - Diffuse regime (c ~ 1): neither is flat. Gaussian logits of variance
      :math:`\sigma^2` give :math:`H \approx \log n - \sigma^2/2`, so plain
      entropy grows like log n and log-n scaling (whose :math:`\sigma` grows
      like log n) changes it by a comparable amount; the spreads are similar.

    Parameters
    ----------
    c : float
        Logit scale at n = base, > 0.
    d : int
    lengths : sequence of int, each >= 2
    n_queries, trials : int
        ``trials * n_queries * sum(lengths) * d`` may be at most 1e13
        (larger experiments raise ``ValueError`` before drawing anything).
    base : float, > 1
    seed : int >= 0 or numpy.random.Generator
        Through ``check_rng``, as every seed in refimpl.

    Returns
    -------
    EntropyVsLength

    Notes
    -----
    Accuracy: Monte-Carlo; the standard error of each mean is about
    std(H)/sqrt(n_queries * trials) (< 0.05 nats at the defaults).
    """
    c = check_real(c, "c", low=0.0, low_open=True)
    d = check_int(d, "d", min_value=1)
    n_queries = check_int(n_queries, "n_queries", min_value=1)
    trials = check_int(trials, "trials", min_value=1)
    base = check_real(base, "base")
    if base <= 1:
        raise ValueError(f"parameter 'base' must be > 1, got {base}")
    rng = check_rng(seed, "seed")
    if isinstance(lengths, (str, bytes)) or np.ndim(lengths) != 1:
        raise ValueError(f"parameter 'lengths' must be a sequence of integers >= 2, got {lengths!r}")
    lens = np.array([check_int(n, "lengths", min_value=2) for n in lengths], dtype=np.int64)
    if lens.size == 0:
        raise ValueError("parameter 'lengths' must not be empty")
    check_size((n_queries, int(lens.max())), "n_queries' and 'lengths", itemsize=8 * 4)  # scores, exponentials
    check_size((int(lens.max()), d), "lengths' and 'd")
    work = trials * n_queries * int(lens.sum()) * d           # multiply-adds of the score matrices
    if work > _MAX_WORK:
        raise ValueError(f"parameter 'trials' (with n_queries, lengths and d) asks for {work:.3g} multiply-adds, "
                         f"more than the {_MAX_WORK:.0e} one call of this experiment runs")
    plain = np.zeros(lens.size)
    logn = np.zeros(lens.size)
    for t in range(trials):
        q = rng.standard_normal((n_queries, d))
        kall = rng.standard_normal((int(lens.max()), d))
        for idx, n in enumerate(lens):
            s = q @ kall[:n].T / math.sqrt(d)
            for out, lam in ((plain, c), (logn, c * math.log2(n) / math.log2(base))):
                a, b, e = entropy_decomposition(s, lam)
                out[idx] += np.mean(a + b - e) / trials
    return EntropyVsLength(lens, plain, logn, float(np.ptp(plain)), float(np.ptp(logn)), c, d)
