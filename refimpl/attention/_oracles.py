"""Oracle cases of refimpl.attention (see :mod:`refimpl.testing.oracle`)."""
from __future__ import annotations

import numpy as np

from ..testing.oracle import register_oracle
from .core import attention, softmax


@register_oracle("attention.attention", attention, backends=("numpy", "numba"),
                 tolerances={"float64": (1e-12, 0.0), "float32": (2e-5, 0.0)})
def _attention(src):
    """softmax(scale q k^T) v for q (B, H, n_q, d), k (B, H, n_k, d), v (B, H, n_k, d_v),
    B, H in [1, 2], n_q, n_k in [1, 12], d in [1, 32], d_v in [1, 16], q and k
    standard normal (|scale q.k| up to about 10), scale default / scalar in
    [0.05, 2] / one per query row, optional causal and random boolean mask
    (every row keeps at least one key), optionally the weights as a second output.

    float64: the scores carry (d + 8) u max|s| and the weighted sum n_k u, relative
    to max|v| (refimpl's docstring): with max|s| <= 40, about 1.2e-13 max|v|;
    max|out| >= max|v| / 12 for these sizes is not guaranteed, so rtol 1e-12 of max|out|
    leaves a factor >= 8. float32: the same bound with u = 6e-8: (d + 8) 40 u = 1e-5:
    rtol 2e-5 (torch SDPA in float32 measures 1.5e-6).
    """
    B = src.integer("B", 1, 2)
    H = src.integer("H", 1, 2)
    nq = src.integer("n_q", 1, 12)
    nk = src.integer("n_k", 1, 12)
    d = src.integer("d", 1, 32)
    dv = src.integer("d_v", 1, 16)
    out = {"q": src.normal("q", (B, H, nq, d)), "k": src.normal("k", (B, H, nk, d)),
           "v": src.normal("v", (B, H, nk, dv))}
    kind = src.choice("scale_kind", ("default", "scalar", "per_query"), follows="scale")
    if kind == "scalar":
        out["scale"] = src.real("scale", 0.05, 2.0)
    elif kind == "per_query":
        out["scale"] = src.uniform("scale", (B, H, nq), 0.05, 2.0)
    # causal only where every query sees a key (refimpl raises on empty rows): n_q <= n_k
    causal = src.choice("causal", (False, True)) if nq <= nk else False
    if causal:
        out["causal"] = True
    if src.choice("mask_kind", ("none", "random"), follows="mask") == "random":
        m = src.rng("mask").random((B, H, nq, nk)) < 0.7
        m[..., np.arange(nq), np.arange(nq) + (nk - nq) if causal else 0] = True  # one visible key per row
        out["mask"] = m
    if src.choice("return_weights", (False, True)):
        out["return_weights"] = True
    return out


@register_oracle("attention.softmax", softmax, tolerances={"float64": (1e-13, 0.0), "float32": (2e-5, 0.0)})
def _softmax(src):
    """softmax along ``axis`` of x with 1-3 axes of length 1-16, entries N(0, s^2), s in [0.1, 100].

    Each weight has relative error below about (n + 4) u (refimpl's docstring),
    n <= 16: float64 4.4e-15 of max p, rtol 1e-13; float32 1.2e-6, rtol 2e-5
    (a float32 kernel that skips the max-subtraction overflows at |x| > 88).
    """
    ndim = src.integer("ndim", 1, 3)
    shape = tuple(src.integer(f"n{i}", 1, 16) for i in range(ndim))
    x = src.normal("x", shape, scale=src.real("scale", 0.1, 100.0, log=True))
    return {"x": x, "axis": src.choice("axis", tuple(range(-1, -ndim - 1, -1)) + tuple(range(ndim)))}
