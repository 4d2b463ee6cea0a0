"""Cross-checks of refimpl.jl run by ``refimpl verify``."""
from __future__ import annotations

import numpy as np

from ..verify import CheckSkipped, register
from .core import gaussian_projection, h_dim, h_dim_bessel, min_dim, norm_tail_bound, pairwise_distortion

#: [E] (https://kexue.fm/archives/7695), the table of h_n as printed.
H_TABLE_7695 = {32: "-7.77471", 64: "-15.4734", 96: "-23.1726", 128: "-30.8718", 256: "-61.6692", 512: "-123.264"}


@register("jl", "jl.h_dim_reproduces_article_table", tol=1e-12)
def _h_table():
    """h_dim(n) printed to the article's significant digits equals the article's table; error vs Bessel form."""
    worst = 0.0
    for n, printed in H_TABLE_7695.items():
        h = h_dim(n)
        if f"{h:.6g}" != printed:
            raise AssertionError(f"h_dim({n}) = {h!r} prints as {h:.6g}, article: {printed}")
        worst = max(worst, abs(h - h_dim_bessel(n)) / abs(h))
    return worst


@register("jl", "jl.min_dim_vs_sklearn", tol=0.0)
def _sklearn():
    """min_dim(..., 'dasgupta_gupta') equals sklearn's johnson_lindenstrauss_min_dim exactly (truncation)."""
    try:
        from sklearn.random_projection import johnson_lindenstrauss_min_dim
    except ImportError:
        raise CheckSkipped("scikit-learn not installed") from None
    Ns = np.array([2, 3, 10, 100, 1e4, 1e5, 1e6, 1e9])
    eps = np.array([0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 0.99])
    NN, EE = np.meshgrid(Ns, eps)
    ours = min_dim(NN.ravel(), EE.ravel(), "dasgupta_gupta")
    theirs = np.array([johnson_lindenstrauss_min_dim(int(a), eps=float(b)) for a, b in zip(NN.ravel(), EE.ravel())])
    bad = np.flatnonzero(ours != theirs)
    if bad.size:
        i = bad[0]
        raise AssertionError(f"N={NN.ravel()[i]}, eps={EE.ravel()[i]}: ours {ours[i]}, sklearn {theirs[i]}")
    return 0.0


@register("jl", "jl.monte_carlo_below_bounds")
def _mc():
    """Seeded Monte-Carlo: norm-tail frequency <= 2 exp(-eps^2 n/8); JL failure rate at su_high_prob <= 1/N."""
    rng = np.random.default_rng(5)
    n, eps, trials = 200, 0.3, 20000
    u = rng.standard_normal((trials, n)) / np.sqrt(n)
    freq = np.mean(np.abs(np.sum(u * u, axis=1) - 1.0) >= eps)
    if not freq <= norm_tail_bound(n, eps):
        raise AssertionError(f"norm tail frequency {freq} above bound {norm_tail_bound(n, eps)}")
    N, m, eps = 20, 50, 0.5
    dim = min_dim(N, eps, "su_high_prob")
    X = rng.standard_normal((N, m))
    fails = 0
    reps = 200
    for _ in range(reps):
        r = pairwise_distortion(X, gaussian_projection(m, dim, rng))
        fails += bool(np.any(np.abs(r - 1.0) > eps))
    if not fails / reps <= 1.0 / N:
        raise AssertionError(f"JL failure rate {fails / reps} > 1/N = {1 / N} at n = {dim}")
    return None
