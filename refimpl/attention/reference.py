r"""The definitions of refimpl.attention: plain NumPy that reads like the articles.

``backend="reference"`` runs these. The fast paths (``_fast.py``: numba,
streaming; ``_xp.py``: CuPy, streaming) compute the same functions and are
tested against them. Inputs arrive validated and flattened to one batch axis
by :func:`refimpl.attention._xp.prepare_xp`: ``q`` (B, n_q, d), ``k``
(B, n_k, d), ``v`` (B, n_k, d_v), ``scale`` (B, n_q), ``mask``
(B, n_q, n_k) bool or None; grouped-query kv heads are already repeated.

Sources: [A] https://kexue.fm/archives/8823 (entropy invariance, log n
scale), [C] https://kexue.fm/archives/9588 (the same scale from the JL lemma).
"""
from __future__ import annotations

import numpy as np


def attention(q, k, v, scale, mask, causal, return_weights=False):
    r"""Softmax attention, the scores materialised.

    .. math::

        S_{ij} = \lambda_i\, q_i\cdot k_j + M_{ij},\qquad
        A = \mathrm{softmax}_j(S),\qquad O = A V,

    with :math:`M_{ij} = 0` where key j is visible to query i and
    :math:`-\infty` elsewhere: visible means ``mask[i, j]`` (when given) and,
    with ``causal``, :math:`j \le i + n_k - n_q` (bottom-right alignment: the
    last query sees every key).

    Returns ``(O, A)``, ``A`` only when ``return_weights`` (else None).
    """
    nq, nk = q.shape[1], k.shape[1]
    with np.errstate(over="ignore"):  # an overflow can only sit in a masked entry (the caller checks)
        S = scale[:, :, None] * (q @ k.transpose(0, 2, 1))  # S_ij = lambda_i q_i . k_j
    visible = np.ones((1, nq, nk), dtype=bool) if mask is None else mask
    if causal:
        visible = visible & (np.arange(nk)[None, :] <= np.arange(nq)[:, None] + (nk - nq))
    S = np.where(visible, S, -np.inf)  # + M
    E = np.exp(S - S.max(axis=-1, keepdims=True))  # softmax, shifted by the row max (exact in real arithmetic)
    A = E / E.sum(axis=-1, keepdims=True)
    return A @ v, (A if return_weights else None)


def entropy_invariant_attention(q, k, v, mask, causal, base, length, min_len):
    r"""Su's entropy-invariant attention ([A], [C]).

    .. math::

        \lambda_i = \frac{\log n_i}{\log n_{\text{train}}}\cdot\frac{1}{\sqrt d},\qquad
        O = \mathrm{softmax}_j(\lambda_i\, q_i\cdot k_j + M_{ij})\,V,

    with :math:`n_{\text{train}}` = ``base`` (512 in [A]) and :math:`n_i`
    the length: ``"global"`` :math:`n_i = n_k`; ``"per_query"`` :math:`n_i`
    = the number of keys query i sees; floored at ``min_len`` when given.
    At :math:`n_i` = ``base`` this is plain attention.
    """
    nq, nk, d = q.shape[1], k.shape[1], q.shape[2]
    if length == "global":
        n = np.full((q.shape[0], nq), float(nk))
    else:
        visible = np.ones((1, nq, nk), dtype=bool) if mask is None else mask
        if causal:
            visible = visible & (np.arange(nk)[None, :] <= np.arange(nq)[:, None] + (nk - nq))
        n = np.broadcast_to(visible.sum(axis=-1), (q.shape[0], nq)).astype(float)
    if min_len is not None:
        n = np.maximum(n, float(min_len))
    scale = np.log2(n) / np.log2(base) / np.sqrt(d)  # log n / log base, as base-2 logs: log_512 2^k = k/9 exactly
    return attention(q, k, v, scale, mask, causal)[0]
