r"""The CuPy path of :func:`refimpl.attention.attention`, written once for an array namespace ``xp``.

:func:`attention_stream_xp` is a streaming ("flash") attention in array
operations: query rows are taken in blocks of ``bq``, keys/values in blocks
of ``bk``; each query row keeps a running maximum ``m``, normaliser ``l`` and
unnormalised accumulator ``acc`` (online softmax, Milakov & Gimelshein,
https://arxiv.org/abs/1805.02867), rescaled by ``exp(m - m')`` whenever a key
block raises the maximum to ``m'``. Memory is O((n_q + n_k) d) for the
inputs and output plus O(B bq bk) for one block of scores: the n_q x n_k
score matrix is never formed. Under ``causal=True`` key blocks that no query
of the block can see are skipped (about half the work).

With ``xp = cupy`` every operation runs on the GPU (cuBLAS for the two
products, CuPy elementwise kernels for the rest); with ``xp = numpy`` the
same code runs on the CPU, and that instantiation is what the CPU tests
compare with the NumPy oracle :func:`refimpl.attention._kernels.attention_np`.

:func:`prepare_xp` is the device-side twin of ``core._prepare``: the same
checks and the same messages, evaluated with ``xp`` (one reduction and one
sync per finiteness check).
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .._gpu import device_array
from .._validation import check_real

#: Upper bound on the elements of one block of scores, B * bq * bk (2**25 float64 = 256 MiB).
BLOCK_ELEMENTS = 1 << 25
#: Key block length.
BK = 2048
#: Largest query block length.
BQ_MAX = 8192


def _flat(xp, arr, batch, tail):
    return xp.ascontiguousarray(xp.broadcast_to(arr, batch + tail).reshape((-1,) + tail))


def prepare_xp(xp, q, k, v, scale, causal, mask):
    """``core._prepare`` for the namespace ``xp``: validated, broadcast, flattened ``xp`` arrays.

    Returns ``(q, k, v, scale, mask, causal, off, batch, counts)`` with
    ``q`` (B, n_q, d), ``k`` (B, n_k, d), ``v`` (B, n_k, d_v), ``scale``
    (B, n_q), ``mask`` (B, n_q, n_k) bool or None, all ``xp`` arrays, and
    ``counts`` (B, n_q) the number of visible keys per row as a NumPy array.
    """
    q = device_array(q, "q", xp, min_ndim=2)
    k = device_array(k, "k", xp, min_ndim=2)
    v = device_array(v, "v", xp, min_ndim=2)
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
    try:
        batch = tuple(np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2]))
    except ValueError:
        raise ValueError(f"parameters 'q', 'k', 'v' have leading (batch/head) shapes that do not broadcast: "
                         f"{q.shape[:-2]}, {k.shape[:-2]}, {v.shape[:-2]}") from None
    if not isinstance(causal, (bool, np.bool_)):
        raise TypeError(f"parameter 'causal' must be a bool, got {type(causal).__name__}")
    causal = bool(causal)
    nq, d = q.shape[-2:]
    nk, dv = v.shape[-2:]
    off = nk - nq
    B = max(1, math.prod(batch))
    qf, kf, vf = _flat(xp, q, batch, (nq, d)), _flat(xp, k, batch, (nk, d)), _flat(xp, v, batch, (nk, dv))
    if scale is None:
        sc = xp.full((B, nq), 1.0 / math.sqrt(d))
    elif isinstance(scale, numbers.Real) and not isinstance(scale, (bool, np.bool_)):
        sc = xp.full((B, nq), check_real(scale, "scale"))
    else:
        s = device_array(scale, "scale", xp)
        try:
            full = xp.broadcast_to(s, batch + (nq,))
        except ValueError:
            raise ValueError(f"parameter 'scale' must be a scalar or broadcast to (..., n_q) = {batch + (nq,)}, "
                             f"got shape {tuple(s.shape)}") from None
        sc = xp.ascontiguousarray(full.reshape(-1, nq))
    mf = None
    if mask is not None:
        m = xp.asarray(mask)
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
        vis = mf
        if causal:
            vis = mf & (xp.arange(nk)[None, :] <= (xp.arange(nq)[:, None] + off))
        counts = xp.count_nonzero(vis, axis=-1).astype(xp.int64)
        counts = counts.get() if hasattr(counts, "get") else np.asarray(counts)
    if np.any(counts == 0):
        bad = np.argwhere(counts == 0)[0]
        what = "'mask'" if mask is not None else "'causal'"
        raise ValueError(f"parameter {what} leaves query row {int(bad[-1])} with no visible key (a fully masked row "
                         f"has no softmax); with causal=True the last query is aligned with the last key, "
                         f"so n_q <= n_k is required")
    return qf, kf, vf, sc, mf, causal, off, batch, counts


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
    the NumPy twin; the result differs from the twin only by the order of the
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


def attention_xp(xp, q, k, v, *, scale=None, causal=False, mask=None, return_weights=False):
    """The whole CuPy path of ``attention`` for the namespace ``xp`` (validation, streaming, reshape)."""
    qf, kf, vf, sc, mf, causal, off, batch, _ = prepare_xp(xp, q, k, v, scale, causal, mask)
    nq, nk, dv = qf.shape[1], kf.shape[1], vf.shape[2]
    out, lse = attention_stream_xp(xp, qf, kf, vf, sc, mf, causal, off)
    out = out.reshape(batch + (nq, dv))
    if not return_weights:
        return out
    s = xp.matmul(qf, xp.swapaxes(kf, 1, 2)) * sc[..., None]
    if causal:
        s = xp.where(xp.arange(nk)[None, :] > (xp.arange(nq)[:, None] + off), -np.inf, s)
    if mf is not None:
        s = xp.where(mf, s, -np.inf)
    w = xp.exp(s - lse[..., None])
    return out, w.reshape(batch + (nq, nk))
