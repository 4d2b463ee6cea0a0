r"""Attention code written once for an array namespace ``xp`` (NumPy or CuPy).

- :func:`prepare_xp`: the validation, broadcasting and grouped-query
  expansion of every attention call, CPU and GPU alike (one reduction and one
  sync per finiteness check on a GPU).
- :func:`masked_scores`: the scaled scores with invisible entries at ``-inf``
  (the weights of the fast paths are formed from them).
- :func:`attention_stream_xp`: the CuPy path of
  :func:`refimpl.attention.attention`, a streaming ("flash") attention in
  array operations: query rows in blocks of ``bq``, keys/values in blocks of
  ``bk``; each query row keeps a running maximum ``m``, normaliser ``l`` and
  unnormalised accumulator ``acc`` (online softmax, Milakov & Gimelshein,
  https://arxiv.org/abs/1805.02867), rescaled by ``exp(m - m')`` whenever a
  key block raises the maximum to ``m'``. Memory is O((n_q + n_k) d) plus
  O(B bq bk) for one block of scores. Under ``causal=True`` key blocks that no
  query of the block can see are skipped (about half the work).

With ``xp = cupy`` everything runs on the GPU (cuBLAS for the two products,
CuPy elementwise kernels for the rest); with ``xp = numpy`` the same code runs
on the CPU, which is how the CPU tests check it against the definition
(:mod:`refimpl.attention.reference`).
"""
from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np

from .._validation import ArgumentTypeError, as_array, check_bool, check_real, check_size

#: Upper bound on the elements of one block of scores, B * bq * bk (2**25 float64 = 256 MiB).
BLOCK_ELEMENTS = 1 << 25
#: Key block length.
BK = 2048
#: Largest query block length.
BQ_MAX = 8192
#: Scores below this bound in magnitude cannot overflow (|s| <= max|scale| d max|q| max|k|).
_SAFE_SCORE = 2.0**1000


def numeric(x, name, *, xp=np, **kwargs):
    """:func:`refimpl._validation.as_array` that refuses booleans: ``True`` is not a length, score or scale."""
    dt = getattr(x, "dtype", None)
    if dt is None and not isinstance(x, (str, bytes)) and x is not None:
        try:
            dt = np.asarray(x).dtype
        except (ValueError, TypeError):  # ragged: as_array names it
            dt = None
    if dt is not None and np.dtype(dt) == np.bool_:
        raise ArgumentTypeError(f"parameter '{name}' must hold numbers, got booleans (True/False)")
    return as_array(x, name, xp=xp, **kwargs)


class Prepared(NamedTuple):
    """Validated inputs of one attention call, flattened to one batch axis."""

    q: object  # (B, n_q, d)
    k: object  # (B, n_k, d), kv heads repeated per group
    v: object  # (B, n_k, d_v)
    scale: object  # (B, n_q)
    mask: object  # (B, n_q, n_k) bool or None
    causal: bool
    off: int  # n_k - n_q: key j is visible to query i under causal iff j <= i + off
    batch: tuple  # the broadcast leading shape
    counts: np.ndarray  # (B, n_q) visible keys per row, on the host


def _flat(xp, arr, batch, tail):
    return xp.ascontiguousarray(xp.broadcast_to(arr, batch + tail).reshape((-1,) + tail))


def _expand_groups(xp, q, k, v):
    """Grouped-query attention: kv head g serves query heads g*r .. g*r + r - 1 (r = H / H_kv)."""
    for name, arr in (("q", q), ("k", k), ("v", v)):
        if arr.ndim < 3:
            raise ValueError(f"parameter '{name}' must have a head axis (..., heads, n, d) with enable_gqa=True, "
                             f"got shape {tuple(arr.shape)}")
    H, Hk, Hv = q.shape[-3], k.shape[-3], v.shape[-3]
    if Hk != Hv:
        raise ValueError(f"parameters 'k' and 'v' must have the same number of heads (axis -3) with "
                         f"enable_gqa=True, got {Hk} and {Hv}")
    if Hk == 0 or H % Hk:
        raise ValueError(f"parameters 'q' and 'k': with enable_gqa=True the kv heads (axis -3 of k, {Hk}) must "
                         f"divide the query heads (axis -3 of q, {H})")
    r = H // Hk
    return xp.repeat(k, r, axis=-3), xp.repeat(v, r, axis=-3)


def prepare_xp(xp, q, k, v, scale, causal, mask, enable_gqa=False):
    """Validate and flatten the inputs of an attention call for the namespace ``xp``.

    Returns a :class:`Prepared` (``q`` (B, n_q, d), ``k`` (B, n_k, d),
    ``v`` (B, n_k, d_v), ``scale`` (B, n_q), ``mask`` (B, n_q, n_k) or None,
    all ``xp`` arrays; ``counts`` (B, n_q), the visible keys per row, on the
    host). Raises before any kernel runs: shapes, NaN/Inf, fully masked rows,
    and scores ``scale q.k`` that overflow float64.
    """
    q = numeric(q, "q", xp=xp, min_ndim=2)
    k = numeric(k, "k", xp=xp, min_ndim=2)
    v = numeric(v, "v", xp=xp, min_ndim=2)
    causal = check_bool(causal, "causal")
    enable_gqa = check_bool(enable_gqa, "enable_gqa")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"parameters 'q' and 'k' must have the same head dimension d (last axis), "
                         f"got q {tuple(q.shape)} and k {tuple(k.shape)}")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"parameters 'k' and 'v' must have the same number of keys (axis -2), "
                         f"got k {tuple(k.shape)} and v {tuple(v.shape)}")
    for name, arr in (("q", q), ("k", k), ("v", v)):
        if arr.shape[-1] == 0 or arr.shape[-2] == 0:
            raise ValueError(f"parameter '{name}' must have non-empty sequence and head axes, "
                             f"got shape {tuple(arr.shape)}")
    if enable_gqa:
        k, v = _expand_groups(xp, q, k, v)
    try:
        batch = tuple(np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2]))
    except ValueError:
        hint = "" if enable_gqa else " (for grouped-query heads, k and v with fewer heads, pass enable_gqa=True)"
        raise ValueError(f"parameters 'q', 'k', 'v' have leading (batch/head) shapes that do not broadcast: "
                         f"{tuple(q.shape[:-2])}, {tuple(k.shape[:-2])}, {tuple(v.shape[:-2])}{hint}") from None
    nq, d = q.shape[-2:]
    nk, dv = v.shape[-2:]
    off = nk - nq  # bottom-right alignment: the last query sees every key
    B = max(1, math.prod(batch))
    check_size((B, max(nq, nk), max(d, dv)), "q', 'k', 'v", itemsize=8 * 3)  # the broadcast copies
    qf, kf, vf = _flat(xp, q, batch, (nq, d)), _flat(xp, k, batch, (nk, d)), _flat(xp, v, batch, (nk, dv))
    if scale is None:
        sc = xp.full((B, nq), 1.0 / math.sqrt(d))
    elif isinstance(scale, (numbers.Real, np.floating, np.bool_)):  # check_real refuses True/False
        sc = xp.full((B, nq), check_real(scale, "scale"))
    else:
        s = numeric(scale, "scale", xp=xp)
        try:
            full = xp.broadcast_to(s, batch + (nq,))
        except ValueError:
            raise ValueError(f"parameter 'scale' must be a scalar or broadcast to (..., n_q) = {batch + (nq,)}, "
                             f"got shape {tuple(s.shape)}") from None
        sc = xp.ascontiguousarray(full.reshape(-1, nq))
    mf = None
    if mask is not None:
        if isinstance(mask, (bool, np.bool_)):
            raise TypeError(f"parameter 'mask' must be a boolean array (True = attend), got {mask!r}")
        try:
            m = xp.asarray(mask)
        except Exception as exc:  # ragged lists
            raise TypeError(f"parameter 'mask' must be a boolean array (True = attend): {exc}") from None
        if np.dtype(m.dtype) != np.bool_:
            raise TypeError(f"parameter 'mask' must be a boolean array (True = attend), got dtype {m.dtype}")
        try:
            mf = _flat(xp, m, batch, (nq, nk))
        except ValueError:
            raise ValueError(f"parameter 'mask' must broadcast to (..., n_q, n_k) = {batch + (nq, nk)}, "
                             f"got shape {tuple(m.shape)}") from None
    if mf is None:
        lim = np.arange(nq) + off + 1 if causal else np.full(nq, nk)
        counts = np.broadcast_to(np.clip(lim, 0, nk), (B, nq)).astype(np.int64)
    else:
        vis = mf & _causal_visible(xp, nq, nk) if causal else mf
        counts = xp.count_nonzero(vis, axis=-1).astype(xp.int64)
        counts = counts.get() if hasattr(counts, "get") else np.asarray(counts)
    if np.any(counts == 0):
        bad = np.argwhere(counts == 0)[0]
        what = "'mask'" if mask is not None else "'causal'"
        raise ValueError(f"parameter {what} leaves query row {int(bad[-1])} with no visible key (a fully masked row "
                         f"has no softmax); with causal=True the last query is aligned with the last key, "
                         f"so n_q <= n_k is required")
    check_scores_finite(xp, qf, kf, sc, mf, causal)
    return Prepared(qf, kf, vf, sc, mf, causal, off, batch, counts)


def _causal_visible(xp, nq, nk):
    """(n_q, n_k) bool: key j visible to query i iff j <= i + n_k - n_q (bottom-right alignment)."""
    return xp.arange(nk)[None, :] <= (xp.arange(nq)[:, None] + (nk - nq))


def check_scores_finite(xp, q, k, scale, mask, causal):
    """Raise if a visible score ``scale_i q_i . k_j`` overflows float64 (softmax would give NaN).

    Cheap when ``max|scale| d max|q| max|k|`` is below 2**1000 (the usual case):
    no score can overflow then. Otherwise the scores are formed block by block.
    """
    d = q.shape[-1]
    peak = [float(xp.max(xp.abs(a))) for a in (scale, q, k)]
    if peak[0] * d * peak[1] * peak[2] < _SAFE_SCORE:
        return
    B, nq, nk = q.shape[0], q.shape[1], k.shape[1]
    rows = max(1, (1 << 22) // nk)
    for b in range(B):
        for i0 in range(0, nq, rows):
            i1 = min(nq, i0 + rows)
            with np.errstate(over="ignore", invalid="ignore"):
                s = xp.matmul(q[b, i0:i1], k[b].T) * scale[b, i0:i1, None]
            ok = xp.isfinite(s)
            if causal:
                ok |= ~_causal_visible(xp, nq, nk)[i0:i1]
            if mask is not None:
                ok |= ~mask[b, i0:i1]
            if not bool(ok.all()):
                r = int(xp.argwhere(~ok)[0, 0]) + i0
                raise ValueError(f"parameters 'q', 'k' and 'scale': the score scale * q.k of query row {r} "
                                 f"overflows float64 (|score| > 1.8e308, max|q| = {peak[1]:.3g}, "
                                 f"max|k| = {peak[2]:.3g}); softmax would be NaN there, refimpl raises instead. "
                                 f"Scores must be finite in float64")


def v_headroom(xp, v):
    """``(v * 2**-e, 2**e)``: room for the streaming paths' unnormalised sums (exact power-of-two scaling).

    The streaming paths accumulate ``sum_j exp(s_j - m) v_j`` before dividing
    by the row sum; with weights up to 1 that sum can reach ``n_k max|v|``
    and overflow for ``max|v|`` near the float64 limit, though the output
    (at most ``max|v|``) is finite. Scaling ``v`` by a power of two and the
    output back is exact (outside the subnormal range).
    """
    nk = v.shape[1]
    vmax = float(xp.max(xp.abs(v)))
    if vmax * nk < 2.0**1000:
        return v, 1.0
    e = math.frexp(vmax)[1] + math.frexp(float(nk))[1] - 1000
    return v * 2.0**-e, 2.0**e


def masked_scores(xp, q, k, scale, mask, causal):
    """``scale_i q_i . k_j`` with invisible entries at ``-inf``, materialised: (B, n_q, n_k)."""
    s = xp.matmul(q, xp.swapaxes(k, -1, -2)) * scale[..., None]
    if causal:
        s = xp.where(_causal_visible(xp, q.shape[1], k.shape[1]), s, -np.inf)
    if mask is not None:
        s = xp.where(mask, s, -np.inf)
    return s


def block_sizes(B, nq, nk, bq=None, bk=None):
    """Default block lengths: ``bk = min(n_k, 2048)``, ``bq`` so that ``B bq bk <= 2**25``."""
    if bk is None:
        bk = min(nk, BK)
    if bq is None:
        bq = max(1, min(nq, BQ_MAX, BLOCK_ELEMENTS // max(1, B * bk)))
    return int(bq), int(bk)


def attention_stream_xp(xp, q, k, v, scale, mask, causal, off, *, bq=None, bk=None):
    """Streaming attention over key blocks with an online softmax, for ``xp`` arrays.

    ``q`` (B, n_q, d), ``k`` (B, n_k, d), ``v`` (B, n_k, d_v), ``scale``
    (B, n_q), ``mask`` (B, n_q, n_k) bool or None; key j is visible to query
    i iff ``j <= i + off`` when ``causal``. Every row must see a key (checked
    by the caller). Returns ``(out, lse)``: (B, n_q, d_v) and the log-sum-exp
    of each row's scaled scores (B, n_q).

    Each score is formed as ``(q_i . k_j) * scale_i``, the same rounding as
    the reference; the result differs from it only by the order of the
    row sums (the rescaling by ``exp(m - m')`` is exact up to one rounding
    per block).
    """
    B, nq, _ = q.shape
    nk, dv = v.shape[1], v.shape[2]
    bq, bk = block_sizes(B, nq, nk, bq, bk)
    out = xp.empty((B, nq, dv), dtype=xp.float64)
    lse = xp.empty((B, nq), dtype=xp.float64)
    kT = xp.swapaxes(k, 1, 2)
    neg_inf = -np.inf
    for i0 in range(0, nq, bq):
        i1 = min(nq, i0 + bq)
        qb = q[:, i0:i1]
        sb = scale[:, i0:i1, None]
        m = xp.full((B, i1 - i0), neg_inf)
        l = xp.zeros((B, i1 - i0))
        acc = xp.zeros((B, i1 - i0, dv))
        jend = min(nk, i1 + off) if causal else nk  # keys beyond the last row's limit are invisible
        rows = xp.arange(i0, i1)[:, None] + off if causal else None
        for j0 in range(0, jend, bk):
            j1 = min(jend, j0 + bk)
            s = xp.matmul(qb, kT[:, :, j0:j1])
            s *= sb
            if causal and j1 - 1 > i0 + off:  # the block crosses the diagonal
                s = xp.where(xp.arange(j0, j1)[None, :] > rows, neg_inf, s)
            if mask is not None:
                s = xp.where(mask[:, i0:i1, j0:j1], s, neg_inf)
            m_new = xp.maximum(m, s.max(axis=-1))
            shift = xp.where(m_new == neg_inf, 0.0, m_new)  # a row with nothing visible yet keeps l = acc = 0
            s -= shift[..., None]
            p = xp.exp(s, out=s)
            corr = xp.exp(m - shift)  # 0 where m = -inf (then l = acc = 0 anyway)
            l = l * corr + p.sum(axis=-1)
            acc *= corr[..., None]
            acc += xp.matmul(p, v[:, j0:j1])
            m = m_new
        out[:, i0:i1] = acc / l[..., None]
        lse[:, i0:i1] = m + xp.log(l)
    return out, lse


def attention_xp(xp, q, k, v, *, scale=None, causal=False, mask=None, return_weights=False, enable_gqa=False):
    """The whole CuPy path of ``attention`` for the namespace ``xp`` (validation, streaming, reshape)."""
    return_weights = check_bool(return_weights, "return_weights")
    p = prepare_xp(xp, q, k, v, scale, causal, mask, enable_gqa)
    nq, nk, dv = p.q.shape[1], p.k.shape[1], p.v.shape[2]
    v, back = v_headroom(xp, p.v)
    out, lse = attention_stream_xp(xp, p.q, p.k, v, p.scale, p.mask, p.causal, p.off)
    out = (out * back if back != 1.0 else out).reshape(p.batch + (nq, dv))
    if not return_weights:
        return out
    w = xp.exp(masked_scores(xp, p.q, p.k, p.scale, p.mask, p.causal) - lse[..., None])
    return out, w.reshape(p.batch + (nq, nk))
