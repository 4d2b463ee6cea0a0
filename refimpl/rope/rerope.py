r"""ReRoPE and Leaky ReRoPE (https://kexue.fm/archives/9708) and the logn scale.

Scores here are the raw logits :math:`a_{ij}` before scaling and softmax,
with queries and keys at positions ``0..L-1``. With
:math:`(\mathcal R_i q)^\top(\mathcal R_j k) = q^\top \mathcal R_{j-i} k`, a
score "at relative position :math:`\rho`" is :math:`q_i^\top \mathcal R_{-\rho} k_j`;
plain RoPE has :math:`\rho = i - j`.
"""
from __future__ import annotations

import numpy as np

from .._validation import check_choice, check_int, check_real, check_size
from . import reference
from ._xp import real_array
from .apply import LAYOUTS, apply

__all__ = ["logn_scale", "relative_positions", "rerope_decode_scores", "rerope_scores"]

REL_METHODS = ("rope", "rerope", "leaky_rerope")


def _check_window(window):
    if window is None:
        raise ValueError("parameter 'window' is required for ReRoPE (a real number >= 1)")
    return check_real(window, "window", low=1.0)


def _method_args(method, window, factor):
    method = check_choice(method, "method", REL_METHODS)
    if method == "rope":
        if window is not None or factor is not None:
            raise ValueError("parameters 'window' and 'factor' are not used by method 'rope'")
        return method, None, None
    window = _check_window(window)
    if method == "rerope":
        if factor is not None:
            raise ValueError("parameter 'factor' is not used by method 'rerope' (use method='leaky_rerope')")
        return method, window, None
    if factor is None:
        raise ValueError("parameter 'factor' is required by method 'leaky_rerope' (a real number >= 1)")
    return method, window, check_real(factor, "factor", low=1.0)


def relative_positions(L, method="rope", window=None, factor=None):
    r"""The relative-position matrix :math:`\rho_{ij}` of RoPE, ReRoPE or Leaky ReRoPE.

    With :math:`\Delta = i - j`, window :math:`w` and factor :math:`k`:

    .. math::

        \rho^{\rm rope} = \Delta,\qquad
        \rho^{\rm rerope} = \min(\Delta, w),\qquad
        \rho^{\rm leaky} = \begin{cases}\Delta & \Delta < w\\ w + (\Delta - w)/k & \Delta \ge w\end{cases}.

    For :math:`i \ge j` (the causal part) this is [1]_'s matrix; above the
    diagonal (:math:`\Delta < 0 < w`) every method equals plain RoPE, which is
    what the two-pass merge of :func:`rerope_scores` computes there (a causal
    mask removes it anyway). ReRoPE never exceeds :math:`w`; Leaky ReRoPE's
    maximum is :math:`w + (L-1-w)/k`.

    Parameters
    ----------
    L : int
        Sequence length (>= 1).
    method : {"rope", "rerope", "leaky_rerope"}
    window : float
        :math:`w \ge 1` (ReRoPE methods only).
    factor : float
        :math:`k \ge 1` (``leaky_rerope`` only); ``k=1`` is RoPE, :math:`k\to\infty` ReRoPE.

    Returns
    -------
    ndarray, shape (L, L), float64. Exact for integer ``window``; else one rounding.

    Raises
    ------
    ValueError
        ``window < 1``, ``factor < 1``, a parameter the method does not use.

    References
    ----------
    .. [1] Su Jianlin, https://kexue.fm/archives/9708

    Examples
    --------
    >>> relative_positions(4, "rerope", window=2)
    array([[ 0., -1., -2., -3.],
           [ 1.,  0., -1., -2.],
           [ 2.,  1.,  0., -1.],
           [ 2.,  2.,  1.,  0.]])
    >>> relative_positions(4, "leaky_rerope", window=2, factor=2)[3]
    array([2.5, 2. , 1. , 0. ])
    """
    L = check_int(L, "L", min_value=1)
    method, window, factor = _method_args(method, window, factor)
    check_size((L, L), "L")
    idx = np.arange(L)
    return reference.relative_positions(idx[:, None] - idx[None, :], window, factor)


def _check_scores(out):
    if not np.all(np.isfinite(out)):
        raise ValueError("parameters 'q' and 'k': a score q^T R k exceeds the float64 range (|q| |k| too large)")
    return out


def _finite_scores(fn, *args):
    with np.errstate(over="ignore", invalid="ignore"):
        out = fn(*args)
    return _check_scores(out)


def _qk(q, k, layout):
    layout = check_choice(layout, "layout", LAYOUTS)
    qa = real_array(q, "q", min_ndim=2)
    ka = real_array(k, "k", min_ndim=2)
    if qa.shape != ka.shape:
        raise ValueError(f"parameters 'q' and 'k' must have the same shape (..., L, d), got {qa.shape} and {ka.shape}")
    return qa, ka, layout


def rerope_scores(q, k, inv_freq, window, factor=None, *, method="two_pass", layout="half"):
    r"""ReRoPE (``factor=None``) or Leaky ReRoPE logits :math:`a_{ij} = q_i^\top\mathcal R_{-\rho_{ij}}k_j`.

    ``method="direct"`` is the definition (``reference.rerope_scores``):
    every query rotated by :math:`\rho_{ij}` from :func:`relative_positions`
    against the un-rotated keys, O(L^2 d) time and memory (a check route, not
    for long sequences). ``method="two_pass"`` (default) is Su's computation [1]_: pass 1 is plain RoPE,
    :math:`a^{(1)}_{ij} = (\mathcal R_i q_i)^\top(\mathcal R_j k_j)`; pass 2 is
    :math:`a^{(2)}_{ij} = (\mathcal R_w q_i)^\top k_j` (ReRoPE) or
    :math:`(\mathcal R_{(i-w)/k+w} q_i)^\top(\mathcal R_{j/k}k_j)` (Leaky);
    then :math:`a_{ij} = a^{(1)}_{ij}` where :math:`i - j < w`, else
    :math:`a^{(2)}_{ij}`. The two agree to rounding (tested to ``1e-12`` relative to :math:`\sum|q||k|`).

    Parameters
    ----------
    q, k : array_like, shape (..., L, d)
        Pre-RoPE queries and keys at positions 0..L-1.
    inv_freq : array_like, shape (d/2,)
    window : float
        :math:`w \ge 1`.
    factor : float, optional
        Leaky ReRoPE's :math:`k \ge 1`; None means ReRoPE.
    method : {"two_pass", "direct"}
    layout : {"half", "interleaved"}

    Returns
    -------
    ndarray, shape (..., L, L), float64 (no :math:`1/\sqrt d`, no mask).

    Raises
    ------
    ValueError
        ``window < 1``, ``factor < 1``, shape mismatch, ``len(inv_freq) != d/2``.

    Notes
    -----
    Erratum: [1]_ writes pass 2 as :math:`q_i^\top\mathcal R_w k_j`; since
    :math:`(\mathcal R_w q)^\top k = q^\top \mathcal R_w^\top k = q^\top\mathcal R_{-w}k`,
    the correct form is :math:`q_i^\top\mathcal R_{-w}k_j` (ERRATA.md; Su's
    code and decode formula use :math:`-w`).

    References
    ----------
    .. [1] Su Jianlin, https://kexue.fm/archives/9708 ; code: https://github.com/bojone/rerope

    Examples
    --------
    >>> q = np.ones((3, 2)); k = np.ones((3, 2))
    >>> rerope_scores(q, k, [0.5], window=1).round(6)  # 2 cos(0.5 rho), rho = min(i - j, 1)
    array([[2.      , 1.755165, 1.080605],
           [1.755165, 2.      , 1.755165],
           [1.755165, 1.755165, 2.      ]])
    """
    qa, ka, layout = _qk(q, k, layout)
    method = check_choice(method, "method", ("two_pass", "direct"))
    th = real_array(inv_freq, "inv_freq", ndim=1, min_size=1)
    L, d = qa.shape[-2], qa.shape[-1]
    if 2 * th.shape[0] != d:
        raise ValueError(f"parameter 'inv_freq' must have d/2 = {d / 2:g} entries, got {th.shape[0]}")
    rel_method = "rerope" if factor is None else "leaky_rerope"
    _, w, kf = _method_args(rel_method, window, factor)
    if method == "direct":
        check_size(qa.shape[:-1] + (L, d), "q", itemsize=16)
        return _finite_scores(reference.rerope_scores, qa, ka, th, w, kf, layout)
    check_size(qa.shape[:-1] + (L,), "q")
    pos = np.arange(L, dtype=np.float64)
    # Su's two passes: plain RoPE, then the query at w (ReRoPE) or (i - w)/k + w against keys at j/k (Leaky)
    with np.errstate(over="ignore", invalid="ignore"):
        out = _two_pass(qa, ka, th, w, kf, layout, pos, L)
    return _check_scores(out)


def _two_pass(qa, ka, th, w, kf, layout, pos, L):
    a1 = apply(qa, pos, th, layout) @ np.swapaxes(apply(ka, pos, th, layout), -1, -2)
    if kf is None:
        a2 = apply(qa, np.full(L, w), th, layout) @ np.swapaxes(ka, -1, -2)
    else:
        a2 = apply(qa, (pos - w) / kf + w, th, layout) @ np.swapaxes(apply(ka, pos / kf, th, layout), -1, -2)
    return np.where(pos[:, None] - pos[None, :] < w, a1, a2)


def rerope_decode_scores(q_last, k_cache_pre_rope, inv_freq, window, factor=None, *, layout="half"):
    r"""Logits of the last query against a pre-RoPE key cache (ReRoPE / Leaky ReRoPE decode).

    The query sits at position :math:`i = L-1` (``L`` cached keys, the last
    being its own); keys are cached **before** RoPE and rotated at decode time:

    .. math::

        a_j = q^\top\big(\mathcal R_{\max(j-i,\,-w)}k_j\big)\ \text{(ReRoPE)},\qquad
        a_j = q^\top\big(\mathcal R_{\max(j-i,\,(j-i+w)/k-w)}k_j\big)\ \text{(Leaky)},

    which equals the last row of :func:`rerope_scores` (tested to 1e-12) [1]_.

    Parameters
    ----------
    q_last : array_like, shape (..., d)
    k_cache_pre_rope : array_like, shape (..., L, d)
    inv_freq : array_like, shape (d/2,)
    window, factor : see :func:`rerope_scores`
    layout : {"half", "interleaved"}

    Returns
    -------
    ndarray, shape (..., L), float64.

    Raises
    ------
    ValueError
        Shape mismatch between ``q_last`` and the cache, ``window < 1``, ``factor < 1``.

    References
    ----------
    .. [1] Su Jianlin, https://kexue.fm/archives/9708

    Examples
    --------
    >>> q = np.ones(2); K = np.ones((3, 2))
    >>> rerope_decode_scores(q, K, [0.5], window=1).round(6)
    array([1.755165, 1.755165, 2.      ])
    """
    layout = check_choice(layout, "layout", LAYOUTS)
    qa = real_array(q_last, "q_last", min_ndim=1)
    ka = real_array(k_cache_pre_rope, "k_cache_pre_rope", min_ndim=2)
    if ka.shape[:-2] != qa.shape[:-1] or ka.shape[-1] != qa.shape[-1]:
        raise ValueError(f"parameter 'k_cache_pre_rope' must have shape (..., L, d) = {qa.shape[:-1]} + (L, "
                         f"{qa.shape[-1]}) to match q_last, got {ka.shape}")
    th = real_array(inv_freq, "inv_freq", ndim=1, min_size=1)
    d = qa.shape[-1]
    if 2 * th.shape[0] != d:
        raise ValueError(f"parameter 'inv_freq' must have d/2 = {d / 2:g} entries, got {th.shape[0]}")
    rel_method = "rerope" if factor is None else "leaky_rerope"
    _, w, kf = _method_args(rel_method, window, factor)
    return _finite_scores(reference.rerope_decode_scores, qa, ka, th, w, kf, layout)


def logn_scale(n, train_len):
    r"""Su's post-hoc logn query scale :math:`\max(1, \log n / \log L_{train})`.

    Multiplying queries by it keeps the attention entropy roughly constant
    beyond the training length (https://kexue.fm/archives/8823,
    https://kexue.fm/archives/9706, "logn†"). Su's code uses ``n = pos + 1``.

    Parameters
    ----------
    n : array_like
        Lengths / 1-based positions (>= 1).
    train_len : float
        :math:`L_{train} > 1`.

    Returns
    -------
    ndarray (shape of ``n``), float64; within 2 ulp of the exact ratio.

    Raises
    ------
    ValueError
        ``n < 1``, NaN, ``train_len <= 1``.

    Examples
    --------
    >>> logn_scale([1, 512, 4096, 512**2], 512)
    array([1.  , 1.  , 1.33..., 2.  ])
    """
    na = real_array(n, "n").reshape(np.shape(n))
    if np.any(na < 1):
        raise ValueError("parameter 'n' must be >= 1 (a length or 1-based position)")
    L = check_real(train_len, "train_len", low=1.0, low_open=True)
    return np.maximum(1.0, np.log(na) / np.log(L))
