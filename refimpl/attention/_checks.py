"""Cross-checks of refimpl.attention run by ``refimpl verify`` (second routes and peers)."""
from __future__ import annotations

import math

import mpmath
import numpy as np

from ..verify import CheckSkipped, register
from . import _kernels
from .core import attention, entropy_invariant_attention, entropy_vs_length
from .nope import position_readback


def _rel(a, b):
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


@register("attention", "attention.numba_streaming_vs_numpy_materialising", tol=1e-13)
def _stream_vs_numpy():
    """Streaming kernel vs materialising twin: several tiles, causal, mask, per-query scale, n_q < n_k."""
    rng = np.random.default_rng(11)
    worst = 0.0
    q = rng.standard_normal((2, 300, 24))
    k = rng.standard_normal((2, 700, 24))
    v = rng.standard_normal((2, 700, 9))
    mask = rng.random((2, 300, 700)) < 0.7
    mask[..., -1] = True
    scale = rng.uniform(0.05, 0.6, size=300)
    for kw in (dict(), dict(causal=True), dict(mask=mask), dict(causal=True, mask=mask, scale=scale),
               dict(scale=scale)):
        a = attention(q, k, v, backend="numba", **kw)
        b = attention(q, k, v, backend="numpy", **kw)
        worst = max(worst, _rel(a, b))
    return worst


@register("attention", "attention.vs_mpmath_oracle", tol=1e-14)
def _vs_mpmath():
    """Both backends vs a 40-digit mpmath evaluation of softmax(scale q k^T) v (causal, n=70, d=5)."""
    rng = np.random.default_rng(12)
    n, d = 70, 5
    q, k, v = (rng.standard_normal((n, d)) * 2 for _ in range(3))
    mpmath.mp.dps = 40
    ref = np.empty((n, d))
    sc = mpmath.mpf(0.7)
    for i in range(n):
        s = [sc * mpmath.fsum(mpmath.mpf(q[i, t]) * mpmath.mpf(k[j, t]) for t in range(d)) for j in range(i + 1)]
        m = max(s)
        w = [mpmath.exp(x - m) for x in s]
        z = mpmath.fsum(w)
        for c in range(d):
            ref[i, c] = float(mpmath.fsum(w[j] * mpmath.mpf(v[j, c]) for j in range(i + 1)) / z)
    return max(_rel(attention(q, k, v, scale=0.7, causal=True, backend=b), ref) for b in ("numba", "numpy"))


@register("attention", "attention.exp_kernel_ulp_vs_numpy", tol=1.0)
def _exp_ulp():
    """The vectorisable exp of the streaming kernel, in ulps of numpy.exp on [-708, 0]."""
    x = np.concatenate([-np.linspace(0.0, 708.0, 100_001), -np.logspace(-18, 0, 2001)])
    out = np.empty_like(x)
    _kernels.exp_nonpos_nb(x, out, np.empty(x.size, dtype=np.int64), x.size)
    ref = np.exp(x)
    return float(np.max(np.abs(out - ref) / np.spacing(ref)))


@register("attention", "attention.torch_sdpa_float64", tol=1e-14)
def _vs_torch():
    """torch.nn.functional.scaled_dot_product_attention(scale=...), float64, causal and not, with a mask."""
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        raise CheckSkipped("torch not installed") from None
    rng = np.random.default_rng(13)
    q = rng.standard_normal((2, 3, 150, 32))
    k = rng.standard_normal((2, 3, 150, 32))
    v = rng.standard_normal((2, 3, 150, 16))
    mask = rng.random((150, 150)) < 0.8
    mask[:, 0] = True
    tq, tk, tv = (torch.from_numpy(a) for a in (q, k, v))
    worst = 0.0
    for causal in (False, True):
        for sc in (None, 0.3):
            ref = F.scaled_dot_product_attention(tq, tk, tv, is_causal=causal, scale=sc).numpy()
            for b in ("numba", "numpy"):
                worst = max(worst, _rel(attention(q, k, v, scale=sc, causal=causal, backend=b), ref))
    ref = F.scaled_dot_product_attention(tq, tk, tv, attn_mask=torch.from_numpy(mask)).numpy()
    worst = max(worst, _rel(attention(q, k, v, mask=mask), ref))
    # per-query log-n scale folded into q (torch takes one scale): per_query lengths i + 1
    fac = np.log2(np.arange(1, 151)) / 9.0
    ref = F.scaled_dot_product_attention(torch.from_numpy(q * fac[:, None]), tk, tv, is_causal=True,
                                         scale=1 / math.sqrt(32)).numpy()
    worst = max(worst, _rel(entropy_invariant_attention(q, k, v, causal=True, length="per_query"), ref))
    return worst


@register("attention", "attention.entropy_vs_length_regimes")
def _regimes():
    """log-n scaling flattens entropy in the concentrated regime (c=4) and not in the diffuse one (c=1)."""
    conc = entropy_vs_length(4.0, n_queries=32, trials=1)
    diff = entropy_vs_length(1.0, n_queries=32, trials=1)
    if not conc.spread_logn < 0.3 * conc.spread_plain:
        raise AssertionError(f"c=4: spread logn {conc.spread_logn:.3f} vs plain {conc.spread_plain:.3f}")
    if not diff.spread_logn > 0.6 * diff.spread_plain:
        raise AssertionError(f"c=1: spread logn {diff.spread_logn:.3f} vs plain {diff.spread_plain:.3f}")
    return None


@register("attention", "attention.nope_position_readback_slope", tol=0.02)
def _nope():
    """Fit of log MS(causal mean) against log n: slope -1 (Monte-Carlo, L=1024, d=256, 64 trials)."""
    r = position_readback(L=1024, d=256, trials=64, seed=0)
    return abs(r.slope + 1.0)
