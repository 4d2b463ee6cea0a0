"""Checks of refimpl.jl that are not about one function (run by ``refimpl verify``).

The per-function comparisons (scikit-learn's min_dim, the article's h_n table,
the Bessel closed form) are rows of the case table, ``refimpl/jl/cases.py``.
"""
from __future__ import annotations

import numpy as np

from ..verify import register
from .core import gaussian_projection, min_dim, norm_tail_bound, pairwise_distortion

@register("jl", "jl.monte_carlo_below_bounds", kind="statistical", unit="",
          compared="seeded Monte-Carlo frequencies vs the tail bounds 2 exp(-eps^2 n/8) and 1/N")
def _mc():
    """Seeded Monte-Carlo: norm-tail frequency <= 2 exp(-eps^2 n/8); JL failure rate at su_high_prob <= 1/N."""
    rng = np.random.default_rng(5)
    n, eps, trials = 200, 0.3, 20000
    u = rng.standard_normal((trials, n)) / np.sqrt(n)
    freq = np.mean(np.abs(np.sum(u * u, axis=1) - 1.0) >= eps)
    if not freq <= norm_tail_bound(n, eps):
        raise ValueError(f"norm tail frequency {freq} above bound {norm_tail_bound(n, eps)}")
    N, m, eps = 20, 50, 0.5
    dim = min_dim(N, eps, "su_high_prob")
    X = rng.standard_normal((N, m))
    fails = 0
    reps = 200
    for _ in range(reps):
        r = pairwise_distortion(X, gaussian_projection(m, dim, rng))
        fails += bool(np.any(np.abs(r - 1.0) > eps))
    if not fails / reps <= 1.0 / N:
        raise ValueError(f"JL failure rate {fails / reps} > 1/N = {1 / N} at n = {dim}")
    return None
