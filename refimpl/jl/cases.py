"""The case table of refimpl.jl: one row per public function (see :mod:`refimpl.testing.cases`)."""
from __future__ import annotations

import math

import numpy as np

from ..testing.cases import Article, Case, Peer
from .core import (entropy_min_dim, gaussian_projection, h_dim, h_dim_bessel, inner_product_tail_bound,
                   laplace_constants, min_dim, norm_tail_bound, pairwise_distortion)

A7695 = "https://kexue.fm/archives/7695"
A8711 = "https://kexue.fm/archives/8711"
A9588 = "https://kexue.fm/archives/9588"

#: [E] (https://kexue.fm/archives/7695): h_n as printed, n -> value.
H_TABLE_7695 = {32: -7.77471, 64: -15.4734, 96: -23.1726, 128: -30.8718, 256: -61.6692, 512: -123.264}


def _half_unit(printed):
    """Half a unit in the last printed digit of ``printed`` (six significant digits)."""
    return 0.5 * 10.0 ** (math.floor(math.log10(abs(printed))) - 5)


def _min_dim_inputs(src):
    """N from 2 to 1e9 (log-uniform integers) and eps in (0.01, 0.99), broadcast against each other."""
    k = src.integer("count", 1, 6)
    N = np.round(np.exp(src.uniform("log_N", (k,), math.log(2), math.log(1e9)))).astype(np.int64)
    eps = src.uniform("eps", (k,), 0.01, 0.99)
    return {"N": N, "eps": eps, "rule": src.choice("rule", ("su_high_prob", "su_existence", "dasgupta_gupta"))}


def _min_dim_float(N, eps, rule="su_high_prob"):
    """min_dim's integers as float64 (exact below 2**53): the comparisons take floating outputs."""
    return np.asarray(min_dim(N, eps, rule), dtype=np.float64)


def _sklearn_min_dim(N, eps):
    from sklearn.random_projection import johnson_lindenstrauss_min_dim

    return np.array([johnson_lindenstrauss_min_dim(int(a), eps=float(b)) for a, b in zip(N, eps)], dtype=float)


def _su_bound(c, N, eps):
    """[F]: the smallest integer n with n > c log N / eps^2, c = 24 (high probability) or 16 (existence)."""
    return np.array([math.floor(c * math.log(int(a)) / float(b) ** 2) + 1 for a, b in zip(N, eps)], dtype=float)


def _su_high_prob(N, eps):
    return _su_bound(24, N, eps)


def _su_existence(N, eps):
    return _su_bound(16, N, eps)


def _entropy_min_dim_inputs(src):
    k = src.integer("count", 1, 6)
    return {"N": np.exp(src.uniform("log_N", (k,), math.log(2), math.log(1e9))),
            "coef": src.choice("coef", (8.33, 8.0, 2 / 0.24, 4 / math.log((1 + math.sqrt(5)) / 2)))}


def _tail_inputs(src):
    k = src.integer("count", 1, 6)
    return {"n": src.rng("n").integers(1, 5000, k), "eps": src.uniform("eps", (k,), 0.01, 0.99)}


def _projection_inputs(src):
    return {"m": src.integer("m", 1, 40), "n": src.integer("n", 1, 40), "rng": src.integer("seed", 0, 2**31)}


def _distortion_inputs(src):
    N, m, n = src.integer("N", 2, 20), src.integer("m", 1, 12), src.integer("n", 1, 12)
    return {"X": src.normal("X", (N, m)), "P": src.normal("P", (n, m), scale=1 / math.sqrt(n))}


def _pdist_ratios(X, P):
    """scipy.spatial.distance.pdist of the projected points over pdist of the points, squared."""
    from scipy.spatial.distance import pdist

    return pdist(X @ P.T) ** 2 / pdist(X) ** 2


def _h_dim_inputs(src):
    return {"n": src.integer("n", 2, 600)}


def _bessel_inputs(src):
    return {"n": src.integer("n", 2, 4096)}


def _mpmath_bessel(n):
    """The same closed form with mpmath.besseli at 30 digits (no exponential scaling needed)."""
    import mpmath

    with mpmath.workdps(30):
        nu = mpmath.mpf(n - 2) / 2
        i0, i1 = mpmath.besseli(nu, n), mpmath.besseli(nu + 1, n)
        return float(mpmath.loggamma(mpmath.mpf(n) / 2) + nu * mpmath.log(mpmath.mpf(2) / n) + mpmath.log(i0)
                     - n * i1 / i0)


_LAPLACE_KEYS = ("theta_star", "cos_theta_star", "peak", "quad_coef", "gauss_const", "sin_const", "slope")


def _laplace_array():
    c = laplace_constants()
    return np.array([c[k] for k in _LAPLACE_KEYS])


def _laplace_numeric():
    """The maximiser of log sin t + cos t by scipy's bounded scalar minimiser, and f, -f'' there."""
    from scipy.optimize import minimize_scalar

    r = minimize_scalar(lambda t: -(math.log(math.sin(t)) + math.cos(t)), bounds=(0.5, 1.3), method="bounded",
                        options={"xatol": 1e-12})
    t = r.x
    curv = 1 / math.sin(t) ** 2 + math.cos(t)  # -f''(t)
    return np.array([t, math.cos(t), -r.fun, curv / 2, math.sqrt(math.pi / (curv / 2)), math.sqrt(2 * math.pi),
                     -0.5 * math.log(1 / math.cos(t))])


def _laplace(key):
    return lambda: laplace_constants()[key]


CASES = [
    Case("jl.min_dim", min_dim, inputs=_min_dim_inputs, keep_dtype=("N",), reference=_min_dim_float,
         tol={"float64": (0.0, 0.0)},
         why="integers (compared as float64, exact below 2**53): exact, except where the real bound lies within "
             "~1e-13 of an integer (not drawn).",
         peers=(Peer("scikit-learn johnson_lindenstrauss_min_dim", _sklearn_min_dim, requires=("sklearn",),
                     fixed={"rule": "dasgupta_gupta"},
                     why="the published code, truncation to int64 included: identical integers"),
                Peer("Su's n > 24 log N / eps^2, transcribed", _su_high_prob,
                     fixed={"rule": "su_high_prob"}),
                Peer("Su's n > 16 log N / eps^2, transcribed", _su_existence,
                     fixed={"rule": "su_existence"}))),
    Case("jl.entropy_min_dim", entropy_min_dim, inputs=_entropy_min_dim_inputs,
         tol={"float64": (1e-15, 0.0)}, why="one log and one product: 1 ulp.",
         article=(Article(A9588, "8 log n for n = 100,000 (about 92)", lambda: entropy_min_dim(1e5, 8), 92, atol=0.5),
                  Article(A9588, "8 log n for n = 512 (about 50)", lambda: entropy_min_dim(512, 8), 50, atol=0.5),
                  Article(A8711, "8.33 log N for N = 512 (about 52)", lambda: entropy_min_dim(512), 52, atol=0.5),
                  Article(A8711, "8.33 log N for N = 100,000 (about 96)", lambda: entropy_min_dim(1e5), 96,
                          atol=0.5),
                  Article(A8711, "8.33 log N for N = 5,000,000 (about 128)", lambda: entropy_min_dim(5e6), 128,
                          atol=0.5))),
    Case("jl.norm_tail_bound", norm_tail_bound, inputs=_tail_inputs,
         tol={"float64": (1e-15, 0.0)}, why="2 exp(-eps^2 n / 8): one exp of an argument with 2 ulp, "
                                             "relative error (2 |eps^2 n / 8| + 1) u <= 1.4e-12 for n < 5000; "
                                             "only refimpl's own evaluation is compared (no fast path, no peer)."),
    Case("jl.inner_product_tail_bound", inner_product_tail_bound, inputs=_tail_inputs,
         tol={"float64": (1e-15, 0.0)}, why="as norm_tail_bound, coefficient 4."),
    Case("jl.gaussian_projection", gaussian_projection, inputs=_projection_inputs,
         tol={"float64": (0.0, 0.0)},
         why="the seeded Generator's normals divided by sqrt(n): bit for bit for one NumPy version (the "
             "distribution, variance 1/n, is a statistical test in tests/jl)."),
    Case("jl.pairwise_distortion", pairwise_distortion, inputs=_distortion_inputs,
         tol={"float64": (1e-13, 0.0)},
         why="each ratio: two squared norms of differences, (m + n + 4) u <= 28 u relative; ratios are O(1).",
         peers=(Peer("scipy.spatial.distance.pdist, projected over original, squared", _pdist_ratios,
                     requires=("scipy",)),)),
    Case("jl.h_dim", h_dim, inputs=_h_dim_inputs,
         tol={"float64": (1e-10, 0.0)},
         why="log-space trapezoid rule on 2e6 nodes: quadrature error below 1e-10 relative for n <= 4096 "
             "(measured against the Bessel closed form, which is good to 1e-13).",
         peers=(Peer("Bessel closed form with scipy.special.ive", h_dim_bessel),),
         article=tuple(Article(A7695, f"h_n for n = {n}, printed {v}", (lambda n=n: h_dim(n)), v,
                               atol=_half_unit(v)) for n, v in H_TABLE_7695.items())),
    Case("jl.h_dim_bessel", h_dim_bessel, inputs=_bessel_inputs,
         tol={"float64": (3e-12, 0.0)},
         why="gammaln, two ive and one log, then a difference of terms of size n: measured against 30-digit "
             "mpmath 1e-13 relative for n <= 600 and 7e-13 near n = 4096 (ive of large order): rtol 3e-12.",
         peers=(Peer("mpmath besseli at 30 digits", _mpmath_bessel, requires=("mpmath",)),)),
    Case("jl.laplace_constants", laplace_constants, inputs=lambda src: {}, reference=_laplace_array,
         tol={"float64": (1e-15, 0.0)},
         why="each value a few float64 operations: <= 4 ulp; the numeric maximiser agrees to its xatol 1e-12 "
             "(peer tolerance 1e-9: the curvature at a point off by 1e-12 moves by ~1e-12 relative).",
         peers=(Peer("scipy bounded maximiser of log sin t + cos t", _laplace_numeric, requires=("scipy",),
                     tol=(1e-9, 0.0)),),
         article=(Article(A7695, "theta* = 0.904557", _laplace("theta_star"), 0.904557, atol=5e-7),
                  Article(A7695, "cos theta* = 0.618034", _laplace("cos_theta_star"), 0.618034, atol=5e-7),
                  Article(A7695, "peak value 0.377428", _laplace("peak"), 0.377428, atol=5e-7),
                  Article(A7695, "quadratic coefficient 1.11803", _laplace("quad_coef"), 1.11803, atol=5e-6),
                  Article(A7695, "sin integral constant 2.50663", _laplace("sin_const"), 2.50663, atol=5e-6),
                  Article(A7695, "h_n / n -> -0.240606", _laplace("slope"), -0.240606, atol=5e-7))),
]
