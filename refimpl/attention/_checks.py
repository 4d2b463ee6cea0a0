"""Checks of refimpl.attention that are not about one function's value (run by ``refimpl verify``).

The per-function comparisons (fast paths vs the reference, torch SDPA,
mpmath, np.repeat for grouped-query heads, the published variants' formulas)
are rows of the case table, ``refimpl/attention/cases.py``.
"""
from __future__ import annotations

import numpy as np

from ..verify import register
from . import _fast
from .core import entropy_vs_length
from .nope import position_readback


@register("attention", "attention.exp_kernel_ulp_vs_numpy", tol=1.0, kind="consistency", unit="ulp",
          compared="the streaming kernel's vectorisable exp vs numpy.exp on [-708, 0]")
def _exp_ulp():
    """The vectorisable exp of the streaming kernel, in ulps of numpy.exp on [-708, 0]."""
    x = np.concatenate([-np.linspace(0.0, 708.0, 100_001), -np.logspace(-18, 0, 2001)])
    out = np.empty_like(x)
    _fast.exp_nonpos_nb(x, out, np.empty(x.size, dtype=np.int64), x.size)
    ref = np.exp(x)
    return float(np.max(np.abs(out - ref) / np.spacing(ref)))


@register("attention", "attention.entropy_vs_length_regimes", kind="statistical", unit="",
          compared="spread of the mean entropy over n = 64..8192, log-n scaled vs plain, c = 4 and c = 1")
def _regimes():
    """log-n scaling flattens entropy in the concentrated regime (c=4) and not in the diffuse one (c=1)."""
    conc = entropy_vs_length(4.0, n_queries=32, trials=1)
    diff = entropy_vs_length(1.0, n_queries=32, trials=1)
    if not conc.spread_logn < 0.3 * conc.spread_plain:
        raise AssertionError(f"c=4: spread logn {conc.spread_logn:.3f} vs plain {conc.spread_plain:.3f}")
    if not diff.spread_logn > 0.6 * diff.spread_plain:
        raise AssertionError(f"c=1: spread logn {diff.spread_logn:.3f} vs plain {diff.spread_plain:.3f}")
    return None


@register("attention", "attention.nope_position_readback_slope", tol=0.02, kind="statistical", unit="slope",
          compared="least-squares slope of log MS(causal mean) against log n vs the theory's -1 ([10347])")
def _nope():
    """Fit of log MS(causal mean) against log n: slope -1 (Monte-Carlo, L=1024, d=256, 64 trials)."""
    r = position_readback(L=1024, d=256, trials=64, seed=0)
    return abs(r.slope + 1.0)
