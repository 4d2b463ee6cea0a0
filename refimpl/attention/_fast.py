r"""The numba path of :func:`refimpl.attention.attention`: a streaming ("flash") kernel.

The definition is :func:`refimpl.attention.reference.attention` (the scores
materialised, one softmax per row); this file computes the same thing in
O((n_q + n_k) d) memory and is tested against it (the case table).

``attention_nb`` processes queries in tiles of ``BQ`` rows and keys/values in
tiles of ``BK`` rows; each query row keeps a running maximum ``m``, a running
normaliser ``l`` and an unnormalised accumulator ``acc`` (the online softmax
of Milakov & Gimelshein, https://arxiv.org/abs/1805.02867). When a tile
raises the maximum from ``m`` to ``m'``, the previous ``l`` and ``acc`` are
multiplied by ``exp(m - m')``, so that at the end ``acc / l`` is
``softmax(s) @ v`` up to rounding. Memory is O((n_q + n_k) d) plus O(BQ BK)
per thread: the n_q x n_k score matrix is never formed.

Threads: the query blocks are spread over numba's threads (``prange``,
zig-zag ordered so that long causal rows pair with short ones) and BLAS is
pinned to one thread for the tile products. On 2 cores this measured about
6x faster at n = 4096 than one stream of tiles with OpenBLAS's own threads,
whose threads spend a 128 x 256 tile product synchronising. Where the time
goes (one thread, n = 2048, d = 64): the two tile products run at about 0.7
of the 1024^3 GEMM rate (K = d = 64 is short for BLAS's blocking), so they
alone take about 1.4x the GEMM floor; the exponentials add about 0.2x, the
scaling, max and sums about 0.4x.

The exponential inside the kernel is :func:`exp_shifted_nb`, a vectorisable
exp for arguments <= 0 (Cody-Waite reduction plus a degree-13 Taylor
polynomial); it is within 1 ulp of ``numpy.exp`` (``refimpl verify``), which
lets LLVM vectorise the softmax tile. Arguments below -708 return 0.0
instead of a subnormal: relative to the tile's largest term, exactly 1.0,
such a term is below 1e-307 and cannot change a float64 row sum.
"""
from __future__ import annotations

import numpy as np

from contextlib import nullcontext

from .._numba import njit, prange
from ._xp import masked_scores, v_headroom

try:  # BLAS threads inside numba threads oversubscribe the cores: pin BLAS to 1 thread
    from threadpoolctl import threadpool_limits as _threadpool_limits
except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
    _threadpool_limits = None

#: Query and key tile sizes of the streaming kernel.
BQ = 128
BK = 256

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # fdlibm's split of log(2): hi has trailing zero bits
_LN2_LO = 1.90821492927058770002e-10
_EXP_CUT = -708.0


@njit(cache=True, nogil=True, fastmath=False, error_model="numpy")
def exp_shifted_nb(x, shift, out, kbuf, n):
    """out[c] = exp(x[c] - shift) for c < n, where x[c] - shift <= 0 (or -inf); 0.0 below -708.

    Vectorisable (no libm call): Cody-Waite reduction x = k log 2 + r, exp(r) by
    a degree-13 Taylor polynomial (remainder < 1e-18 for |r| <= log(2)/2), and
    2**k assembled from its bit pattern.
    """
    for c in range(n):
        xv = x[c] - shift
        if xv < _EXP_CUT:  # also -inf
            xv = _EXP_CUT
        kf = np.floor(xv * _LOG2E + 0.5)
        r = (xv - kf * _LN2_HI) - kf * _LN2_LO  # |r| <= 0.35, r computed almost exactly
        p = 1.0 / 6227020800.0
        p = p * r + 1.0 / 479001600.0
        p = p * r + 1.0 / 39916800.0
        p = p * r + 1.0 / 3628800.0
        p = p * r + 1.0 / 362880.0
        p = p * r + 1.0 / 40320.0
        p = p * r + 1.0 / 5040.0
        p = p * r + 1.0 / 720.0
        p = p * r + 1.0 / 120.0
        p = p * r + 1.0 / 24.0
        p = p * r + 1.0 / 6.0
        p = p * r + 0.5
        p = p * r + 1.0
        p = p * r + 1.0
        out[c] = p
        kbuf[c] = (np.int64(kf) + 1023) << 52  # bit pattern of 2**kf (kf >= -1022 here)
    scale = kbuf.view(np.float64)
    for c in range(n):
        if x[c] - shift < _EXP_CUT:
            out[c] = 0.0
        else:
            out[c] = out[c] * scale[c]


@njit(cache=True, nogil=True, fastmath=False, error_model="numpy")
def exp_nonpos_nb(x, out, kbuf, n):
    """out[c] = exp(x[c]) for c < n, x[c] <= 0 (or -inf); 0.0 below -708 (see exp_shifted_nb)."""
    exp_shifted_nb(x, 0.0, out, kbuf, n)


@njit(cache=True, nogil=True, fastmath={"nnan", "ninf", "nsz"}, error_model="numpy")
def _scale_max_nb(x, sr, n):
    """x[c] *= sr for c < n; returns max x[c]. Finite values only (a fully visible tile: no -inf), which
    is what lets LLVM vectorise the max reduction (the flags only drop NaN/inf/signed-zero handling)."""
    mx = -1.7976931348623157e308
    for c in range(n):
        val = x[c] * sr
        x[c] = val
        mx = max(mx, val)
    return mx


@njit(cache=True, nogil=True, fastmath={"reassoc", "nsz"}, error_model="numpy")
def _sum_nb(x, n):
    """sum x[c] for c < n, in any order (vectorised): n <= BK non-negative terms, error <= n u sum."""
    t = 0.0
    for c in range(n):
        t += x[c]
    return t


@njit(cache=True, nogil=True, fastmath=False, error_model="numpy")
def _attention_block(q, k, v, scale, mask, has_mask, causal, off, b, i0, i1,
                     sbuf, pbuf, ibuf, pvbuf, m, l, acc, out, lse):
    """Stream the key tiles for the query rows i0..i1-1 of batch b.

    The tiles of q, k and v are row slices of the (contiguous) inputs, and
    the score, weight and product buffers are contiguous views of flat
    scratch arrays, so both products go to BLAS as they are (no copies, no
    padding). Key tiles that no row of the block can see are never visited;
    a tile that every row sees in full (no mask, left of the causal
    diagonal) skips the per-entry visibility tests.
    """
    nq_t = i1 - i0
    dv = v.shape[2]
    nk = k.shape[1]
    for r in range(nq_t):
        m[r] = -np.inf
        l[r] = 0.0
        for c in range(dv):
            acc[r, c] = 0.0
    qt = q[b, i0:i1]
    jend = nk
    if causal:
        jend = min(nk, i1 - 1 + off + 1)  # last visible key of the last row, plus one
    for j0 in range(0, jend, BK):
        j1 = min(j0 + BK, jend)
        nk_t = j1 - j0
        sv = sbuf[:nq_t * nk_t].reshape((nq_t, nk_t))
        pm = pbuf[:nq_t * nk_t].reshape((nq_t, nk_t))
        pv = pvbuf[:nq_t * dv].reshape((nq_t, dv))
        np.dot(qt, k[b, j0:j1].T, sv)  # S = Q_i K_j^T on the tile
        full = (not has_mask) and ((not causal) or j1 - 1 <= i0 + off)  # every row sees every key of the tile
        for r in range(nq_t):
            i = i0 + r
            sr = scale[b, i]
            row_max = -np.inf
            if full:
                row_max = _scale_max_nb(sv[r], sr, nk_t)
            else:
                lim = nk_t
                if causal:
                    lim = min(nk_t, i + off + 1 - j0)  # keys j <= i + off are visible
                for c in range(nk_t):
                    val = sv[r, c] * sr
                    if c >= lim:
                        val = -np.inf
                    elif has_mask and not mask[b, i, j0 + c]:
                        val = -np.inf
                    sv[r, c] = val
                    if val > row_max:
                        row_max = val
            new_m = max(m[r], row_max)
            if new_m == -np.inf:  # nothing visible yet in this row
                for c in range(nk_t):
                    pm[r, c] = 0.0
                continue
            exp_shifted_nb(sv[r], new_m, pm[r], ibuf, nk_t)
            tot = _sum_nb(pm[r], nk_t)
            corr = 1.0
            if m[r] != -np.inf and m[r] != new_m:
                corr = np.exp(m[r] - new_m)
            l[r] = l[r] * corr + tot
            m[r] = new_m
            if corr != 1.0:
                for c in range(dv):
                    acc[r, c] *= corr
        np.dot(pm, v[b, j0:j1], pv)  # P_ij V_j
        for r in range(nq_t):
            for c in range(dv):
                acc[r, c] += pv[r, c]
    for r in range(nq_t):
        inv = 1.0 / l[r]
        for c in range(dv):
            out[b, i0 + r, c] = acc[r, c] * inv
        lse[b, i0 + r] = m[r] + np.log(l[r])


@njit(cache=True, nogil=True, fastmath=False, error_model="numpy", parallel=False)
def _attention_serial(q, k, v, scale, mask, has_mask, causal, off, out, lse):
    nb, nq, d = q.shape
    dv = v.shape[2]
    sbuf = np.empty(BQ * BK)
    pbuf = np.empty(BQ * BK)
    ibuf = np.empty(BK, dtype=np.int64)
    pvbuf = np.empty(BQ * dv)
    m = np.empty(BQ)
    l = np.empty(BQ)
    acc = np.empty((BQ, dv))
    nblk = (nq + BQ - 1) // BQ
    for t in range(nb * nblk):
        b = t // nblk
        i0 = (t % nblk) * BQ
        i1 = min(i0 + BQ, nq)
        _attention_block(q, k, v, scale, mask, has_mask, causal, off, b, i0, i1,
                         sbuf, pbuf, ibuf, pvbuf, m, l, acc, out, lse)


@njit(cache=True, nogil=True, fastmath=False, error_model="numpy", parallel=True)
def _attention_parallel(q, k, v, scale, mask, has_mask, causal, off, out, lse):
    nb, nq, d = q.shape
    dv = v.shape[2]
    nblk = (nq + BQ - 1) // BQ
    ntask = nb * nblk
    for t in prange(ntask):
        # zig-zag order: causal blocks late in the sequence cost more, so pair
        # block u with block nblk-1-u to balance the static chunks of prange
        b = t // nblk
        u = t % nblk
        if u % 2 == 0:
            blk = u // 2
        else:
            blk = nblk - 1 - u // 2
        i0 = blk * BQ
        i1 = min(i0 + BQ, nq)
        sbuf = np.empty(BQ * BK)
        pbuf = np.empty(BQ * BK)
        ibuf = np.empty(BK, dtype=np.int64)
        pvbuf = np.empty(BQ * dv)
        m = np.empty(BQ)
        l = np.empty(BQ)
        acc = np.empty((BQ, dv))
        _attention_block(q, k, v, scale, mask, has_mask, causal, off, b, i0, i1,
                         sbuf, pbuf, ibuf, pvbuf, m, l, acc, out, lse)


def attention_nb(q, k, v, scale, mask, causal, off, *, parallel=None):
    """Streaming attention. q (B, nq, d), k (B, nk, d), v (B, nk, dv), scale (B, nq),
    mask (B, nq, nk) bool or None; causal: key j visible to query i iff j <= i + off.

    Returns ``(out, lse)`` with ``lse`` the log-sum-exp of each row's scaled scores.
    Every row must have at least one visible key (checked by the caller).
    """
    q, k, v = (np.ascontiguousarray(a, dtype=np.float64) for a in (q, k, v))  # tiles are row slices for BLAS
    nb, nq, _ = q.shape
    out = np.empty((nb, nq, v.shape[2]))
    lse = np.empty((nb, nq))
    has_mask = mask is not None
    mk = mask if has_mask else np.ones((1, 1, 1), dtype=np.bool_)
    if parallel is None:
        parallel = nb * ((nq + BQ - 1) // BQ) > 1 and nq * k.shape[1] * q.shape[2] * nb > 1 << 22
    fn = _attention_parallel if parallel else _attention_serial
    ctx = _threadpool_limits(1, user_api="blas") if _threadpool_limits is not None else nullcontext()
    with ctx:
        fn(q, k, v, scale, mk, has_mask, bool(causal), int(off), out, lse)
    return out, lse


def attention(q, k, v, scale, mask, causal, return_weights=False):
    """The numba path with the signature of :func:`refimpl.attention.reference.attention`.

    Returns ``(out, weights)``; ``weights`` (B, n_q, n_k) is formed only when
    asked for, from the scores and each row's log-sum-exp (O(n_q n_k) memory).
    """
    off = k.shape[1] - q.shape[1]
    v, back = v_headroom(np, v)
    out, lse = attention_nb(q, k, v, scale, mask, causal, off)
    if back != 1.0:
        out *= back
    if not return_weights:
        return out, None
    return out, np.exp(masked_scores(np, q, k, scale, mask, causal) - lse[..., None])
