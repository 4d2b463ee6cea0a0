r"""The definitions of refimpl.rope: short NumPy that reads like the articles.

Every public function with a fast path calls one of these with
``backend="reference"``; the fast paths (``_fast.py``: numba, ``_xp.py``:
CuPy) are tested against them. Inputs arrive validated, as float64.

Notation (https://kexue.fm/archives/8265): pair :math:`i` of a head vector
at position :math:`n` turns by the angle :math:`n\theta_i`; :math:`h` =
``len(inv_freq)`` pairs, the coordinates past ``2h`` are not rotated.
"""
from __future__ import annotations

import numpy as np

__all__ = ["LAYOUTS", "apply", "relative_positions", "rerope_decode_scores", "rerope_scores",
           "rotate_every_two", "rotate_half"]

#: "half": pair i is (x_i, x_{i+h}) (transformers' rotate_half: Llama, NeoX);
#: "interleaved": pair i is (x_{2i}, x_{2i+1}) (RoFormer, Su, GPT-J's rotate_every_two).
LAYOUTS = ("half", "interleaved")


def rotate_half(x):
    """[x1, x2] -> [-x2, x1] on the last axis (halves of length h)."""
    h = x.shape[-1] // 2
    return np.concatenate([-x[..., h:], x[..., :h]], axis=-1)


def rotate_every_two(x):
    """[x0, x1, x2, x3, ...] -> [-x1, x0, -x3, x2, ...] on the last axis."""
    return np.stack([-x[..., 1::2], x[..., 0::2]], axis=-1).reshape(x.shape)


def apply(x, positions, inv_freq, layout, attention_factor):
    r"""RoPE: :math:`x' = s\,(x \odot \cos n\theta + \mathrm{rot}(x) \odot \sin n\theta)` on the first 2h coordinates.

    ``x`` (..., d) float64, ``positions`` broadcastable to ``x.shape[:-1]``,
    ``inv_freq`` (h,), :math:`s` = ``attention_factor``. Returns float64.
    """
    h = inv_freq.shape[0]
    # angle of pair i at position n: n theta_i; cos and sin carry the attention factor (transformers)
    angle = np.asarray(positions, dtype=np.float64)[..., None] * inv_freq
    cos = np.cos(angle) * attention_factor
    sin = np.sin(angle) * attention_factor
    if layout == "half":
        cos, sin, rot = np.concatenate([cos, cos], -1), np.concatenate([sin, sin], -1), rotate_half
    else:
        cos, sin, rot = np.repeat(cos, 2, -1), np.repeat(sin, 2, -1), rotate_every_two
    xr = x[..., :2 * h]
    out = np.array(np.broadcast_to(x, np.broadcast_shapes(x.shape, cos.shape[:-1] + (x.shape[-1],))))
    out[..., :2 * h] = xr * cos + rot(xr) * sin      # x cos + rotate(x) sin; the rest passes through
    return out


def relative_positions(delta, window, factor):
    r"""ReRoPE's relative position :math:`\rho(\Delta)` for :math:`\Delta = i - j` (https://kexue.fm/archives/9708).

    :math:`\rho = \Delta` for :math:`\Delta < w`, else :math:`w + (\Delta - w)/k`
    (Leaky ReRoPE); ``factor=None`` is ReRoPE (:math:`k \to \infty`: :math:`\rho = w`);
    ``window=None`` is RoPE (:math:`\rho = \Delta`).
    """
    delta = np.asarray(delta, dtype=np.float64)
    if window is None:
        return delta
    beyond = window if factor is None else window + (delta - window) / factor
    return np.where(delta < window, delta, beyond)


def rerope_scores(q, k, inv_freq, window, factor, layout):
    r"""Logits :math:`a_{ij} = q_i^\top \mathcal R_{-\rho_{ij}} k_j = (\mathcal R_{\rho_{ij}} q_i)^\top k_j`.

    ``q``, ``k`` (..., L, d) at positions ``0..L-1``; :math:`\rho_{ij}` =
    :func:`relative_positions` of :math:`i - j`. O(L^2 d) memory: every
    query is rotated once per key.
    """
    L = q.shape[-2]
    i = np.arange(L)
    rho = relative_positions(i[:, None] - i[None, :], window, factor)        # (L, L)
    q_rot = apply(q[..., :, None, :], rho, inv_freq, layout, 1.0)           # (..., L, L, d): R_rho_ij q_i
    return np.sum(q_rot * k[..., None, :, :], axis=-1)


def rerope_decode_scores(q_last, k_cache, inv_freq, window, factor, layout):
    r"""Decode: the query at :math:`i = L-1` against pre-RoPE keys, :math:`a_j = q^\top \mathcal R_{-\rho(i-j)} k_j`."""
    L = k_cache.shape[-2]
    rho = relative_positions((L - 1) - np.arange(L), window, factor)
    k_rot = apply(k_cache, -rho, inv_freq, layout, 1.0)                    # R_{-rho_j} k_j
    return np.sum(q_last[..., None, :] * k_rot, axis=-1)
