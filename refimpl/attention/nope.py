r"""NoPE: how causal attention without positional encoding still encodes position.

Source: Su Jianlin, "Decoder-only的LLM为什么需要位置编码？",
https://kexue.fm/archives/10347. With the uniform causal attention matrix
:math:`A_{nm} = 1/n` (:math:`m \le n`), :math:`y_n = \frac1n\sum_{m\le n} v_m`;
for i.i.d. zero-mean components of variance :math:`\sigma^2` the mean square
(RMSNorm's "MS") of :math:`y_n` is :math:`\sigma^2/n`, so the position n can be
read back from the output's scale. Bidirectional attention is invariant to
permutations of the keys/values; causal attention is not (only to
permutations inside the visible prefix).
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from .._validation import check_int, check_real, check_rng, check_size, is_scalar
from ._xp import numeric as _numbers
from .core import attention

__all__ = ["PositionReadback", "bidirectional_attention", "causal_attention", "causal_mean",
           "expected_mean_square", "mean_square", "position_readback"]


def causal_mean(v):
    r"""Uniform causal attention :math:`y_n = \frac1n\sum_{m=1}^{n} v_m` (cumulative mean over axis -2).

    Parameters
    ----------
    v : array_like, shape (..., L, d)

    Returns
    -------
    ndarray, shape (..., L, d)

    Notes
    -----
    Accuracy: a running sum, error <= n eps sum|v_m| / n; tested against the
    explicit matrix ``A @ v``.
    The machine translation of [10347] prints :math:`v_{n,i}` inside
    :math:`\sum_{m=1}^n`; the average is over :math:`v_{m,i}` (ERRATA.md).

    Examples
    --------
    >>> causal_mean([[1.0], [3.0], [5.0]])
    array([[1.],
           [2.],
           [3.]])
    """
    v = _numbers(v, "v", min_ndim=2)
    if v.shape[-2] == 0 or v.shape[-1] == 0:
        raise ValueError(f"parameter 'v' must have non-empty sequence and feature axes, got shape {v.shape}")
    n = np.arange(1, v.shape[-2] + 1, dtype=np.float64)[:, None]
    return np.cumsum(v, axis=-2) / n


def mean_square(y, axis=-1):
    r"""RMSNorm's mean square :math:`\mathrm{MS}(y) = \frac1d\sum_i y_i^2` along ``axis``.

    Examples
    --------
    >>> float(mean_square([3.0, 4.0]))
    12.5
    """
    y = _numbers(y, "y", min_ndim=1, min_size=1)
    ax = check_int(axis, "axis")
    if not -y.ndim <= ax < y.ndim:
        raise ValueError(f"parameter 'axis' must be in [{-y.ndim}, {y.ndim - 1}], got {ax}")
    return np.mean(y * y, axis=ax)


def expected_mean_square(n, sigma2=1.0):
    r"""Expected MS of the causal mean at position n: :math:`\sigma^2/n` ([10347]).

    Parameters
    ----------
    n : int or array_like, >= 1 (1-based position)
    sigma2 : float, >= 0 (component variance of v)

    Examples
    --------
    >>> expected_mean_square([1, 2, 4], 2.0)
    array([2. , 1. , 0.5])
    """
    s2 = check_real(sigma2, "sigma2", low=0.0)
    scalar = is_scalar(n, "n")
    arr = _numbers(n, "n")
    if np.any(arr < 1):
        raise ValueError("parameter 'n' must be >= 1 (1-based positions)")
    out = s2 / arr
    return float(out.item()) if scalar else out


def _project(x, wq, wk, wv):
    x = _numbers(x, "x", min_ndim=2)
    if x.shape[-2] == 0 or x.shape[-1] == 0:
        raise ValueError(f"parameter 'x' must have non-empty sequence and feature axes, got shape {x.shape}")
    D = x.shape[-1]
    mats = []
    for name, w in (("wq", wq), ("wk", wk), ("wv", wv)):
        w = _numbers(w, name, ndim=2)
        if w.shape[0] != D:
            raise ValueError(f"parameter '{name}' must have shape ({D}, *) to multiply x of width {D}, got {w.shape}")
        mats.append(w)
    if mats[0].shape[1] != mats[1].shape[1]:
        raise ValueError(f"parameters 'wq' and 'wk' must give the same head dimension, got {mats[0].shape} and "
                         f"{mats[1].shape}")
    return x @ mats[0], x @ mats[1], x @ mats[2]


def causal_attention(x, wq, wk, wv, *, scale=None, backend="auto"):
    r"""Causal NoPE attention :math:`y_n = \sum_{m\le n} \mathrm{softmax}_m(\lambda q_n\cdot k_m)\, v_m`.

    ``q = x wq``, ``k = x wk``, ``v = x wv``; no positional encoding.

    Parameters
    ----------
    x : array_like, shape (..., L, D)
    wq, wk : array_like, shape (D, d)
    wv : array_like, shape (D, d_v)
    scale : float, optional (default 1/sqrt(d)); ``True`` is not a scale
    backend : {"auto", "reference", "numba", "cupy"}
        As :func:`refimpl.attention.attention` (the definition is
        ``refimpl/attention/reference.py``).

    Returns
    -------
    ndarray, shape (..., L, d_v)

    Raises
    ------
    ValueError
        Shapes that do not multiply, non-finite input, and scores
        :math:`\lambda q_n\cdot k_m` beyond the float64 range (finite inputs
        such as ``x * 1e160``: the softmax would be NaN, refimpl raises).

    Notes
    -----
    Accuracy: as :func:`refimpl.attention.attention`. y_n depends on
    x_1..x_n only, and is invariant to permutations of x_1..x_{n-1} if x_n
    stays last; it is not invariant to general permutations (tested).
    """
    q, k, v = _project(x, wq, wk, wv)
    return attention(q, k, v, scale=scale, causal=True, backend=backend)


def bidirectional_attention(x, wq, wk, wv, *, scale=None, backend="auto"):
    r"""Bidirectional NoPE attention :math:`y_n = \sum_{m=1}^L \mathrm{softmax}_m(\lambda q_n\cdot k_m)\, v_m`.

    Equivariant: permuting the rows of ``x`` permutes the rows of the output
    the same way, i.e. each :math:`y_n` is invariant to permutations of the
    keys/values ([10347]). Parameters as :func:`causal_attention`.
    """
    q, k, v = _project(x, wq, wk, wv)
    return attention(q, k, v, scale=scale, causal=False, backend=backend)


@dataclasses.dataclass(frozen=True)
class PositionReadback:
    """Result of :func:`position_readback`."""

    positions: np.ndarray  # 1-based n
    ms: np.ndarray  # mean over trials of MS(y_n)
    slope: float  # least-squares slope of log MS against log n (theory: -1)
    intercept: float  # theory: log sigma2
    recovered: np.ndarray  # sigma2 / MS(y_n) of one sequence: position read back from the output
    rel_err: np.ndarray  # |recovered - n| / n


def position_readback(L=1024, d=256, *, sigma2=1.0, trials=64, seed=0):
    r"""Demonstrate that position is recoverable from the MS of the uniform causal mean ([10347]).

    Draws ``trials`` sequences of ``L`` i.i.d. Gaussian vectors
    :math:`v_m\in\mathbb R^d` of variance ``sigma2``, computes
    :math:`y = ` :func:`causal_mean` (v), fits :math:`\log\overline{\mathrm{MS}(y_n)}`
    against :math:`\log n` by least squares (slope -1, intercept
    :math:`\log\sigma^2` in theory), and reads the position of one sequence
    back as :math:`\hat n = \sigma^2/\mathrm{MS}(y_n)`.

    The relative error of :math:`\hat n` is about :math:`\sqrt{2/d}`
    (MS is a mean of d squared Gaussians), independent of n: the absolute
    resolution degrades with n, Su's "weakness 2". The fitted slope has a
    Monte-Carlo standard error of about :math:`0.4\sqrt{2/(d\,\text{trials})}`
    (measured over seeds; the MS values of one sequence are correlated
    across n, being running means).

    Returns
    -------
    PositionReadback

    Examples
    --------
    >>> r = position_readback(L=256, d=64, trials=256)
    >>> abs(r.slope + 1) < 0.02
    True
    """
    L = check_int(L, "L", min_value=2)
    d = check_int(d, "d", min_value=1)
    s2 = check_real(sigma2, "sigma2", low=0.0, low_open=True)
    trials = check_int(trials, "trials", min_value=1)
    rng = check_rng(seed, "seed")
    check_size((trials, L, d), "trials', 'L' and 'd", itemsize=8 * 3)  # v, its running mean and squares
    v = rng.standard_normal((trials, L, d)) * math.sqrt(s2)
    ms_all = mean_square(causal_mean(v), axis=-1)  # (trials, L)
    ms = ms_all.mean(axis=0)
    n = np.arange(1, L + 1, dtype=np.float64)
    slope, intercept = np.polyfit(np.log(n), np.log(ms), 1)
    recovered = s2 / ms_all[0]
    return PositionReadback(n, ms, float(slope), float(intercept), recovered, np.abs(recovered - n) / n)
