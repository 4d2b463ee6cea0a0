r"""Johnson-Lindenstrauss dimension bounds and the word-vector entropy integral.

Sources (Su Jianlin, kexue.fm):

- [E] "最小熵原理（六）：词向量的维度应该怎么选择？", https://kexue.fm/archives/7695
- [F] "让人惊叹的Johnson-Lindenstrauss引理：理论篇", https://kexue.fm/archives/8679
- [G] "让人惊叹的Johnson-Lindenstrauss引理：应用篇", https://kexue.fm/archives/8706
- [H] "“n>8.33 log N”的可用性", https://kexue.fm/archives/8711
- [C] "从JL引理看熵不变性Attention", https://kexue.fm/archives/9588
- Dasgupta & Gupta, "An elementary proof of a theorem of Johnson and
  Lindenstrauss", Random Struct. Alg. 22 (2003), as implemented by
  scikit-learn's ``johnson_lindenstrauss_min_dim``.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.special

from .._validation import (ArgumentTypeError, as_array, check_choice, check_int, check_real, check_rng,
                          check_size, is_scalar)

__all__ = [
    "ENTROPY_COEF_EXACT",
    "GOLDEN_RATIO",
    "MIN_DIM_RULES",
    "entropy_min_dim",
    "gaussian_projection",
    "h_dim",
    "h_dim_bessel",
    "inner_product_tail_bound",
    "laplace_constants",
    "min_dim",
    "norm_tail_bound",
    "pairwise_distortion",
]

MIN_DIM_RULES = ("su_high_prob", "su_existence", "dasgupta_gupta")
GOLDEN_RATIO = (1.0 + math.sqrt(5.0)) / 2.0
#: The exact entropy coefficient: H < 0 iff n > 2 log N / (log(phi)/2) = (4/log phi) log N = 8.3125 log N.
ENTROPY_COEF_EXACT = 4.0 / math.log(GOLDEN_RATIO)


def _numbers(x, name):
    """``as_array`` that refuses booleans: ``True`` is not a count or a distortion."""
    if is_scalar(x, name) and isinstance(x, (bool, np.bool_)) or np.asarray(x).dtype == np.bool_:
        raise ArgumentTypeError(f"parameter '{name}' must hold numbers, got booleans {x!r}")
    return as_array(x, name)


def _eps_array(eps):
    e = _numbers(eps, "eps")
    if np.any(e <= 0) or np.any(e >= 1):
        raise ValueError(f"parameter 'eps' must lie in the open interval (0, 1), got {eps!r}")
    return e


def _N_array(N):
    arr = _numbers(N, "N")
    if np.any(arr < 2):
        raise ValueError(f"parameter 'N' (number of vectors) must be >= 2, got {N!r}")
    return arr


def min_dim(N, eps, rule="su_high_prob"):
    r"""Smallest target dimension n that the JL lemma guarantees for N points and distortion eps.

    Rules:

    - ``"su_high_prob"`` ([F]): :math:`n > 24\log N/\varepsilon^2`; a Gaussian
      :math:`\mathcal N(0,1/n)` projection then preserves all pairwise squared
      distances within :math:`1\pm\varepsilon` with probability >= 1 - 1/N.
    - ``"su_existence"`` ([F]): :math:`n > 16\log N/\varepsilon^2`; success
      probability >= 1/N > 0, so such a map exists.
    - ``"dasgupta_gupta"``: :math:`n \ge 4\log N/(\varepsilon^2/2-\varepsilon^3/3)`,
      **truncated** to an integer exactly as scikit-learn's
      ``johnson_lindenstrauss_min_dim`` does (so the result can be below the
      real bound by less than 1).

    Parameters
    ----------
    N : int or array_like
        Number of points, >= 2.
    eps : float or array_like
        Distortion in (0, 1). ``N`` and ``eps`` broadcast.
    rule : {"su_high_prob", "su_existence", "dasgupta_gupta"}

    Returns
    -------
    int or ndarray of int64
        For Su's rules, the smallest integer strictly above the bound.

    Raises
    ------
    ValueError
        ``N < 2``, ``eps`` outside (0, 1), unknown rule.

    Notes
    -----
    Accuracy: exact integer results except when the real bound lies within
    ~1e-13 of an integer. Su's "8.33 log N" ([E]) is an eps-free entropy
    heuristic, not a JL bound: see :func:`entropy_min_dim`.

    Examples
    --------
    >>> int(min_dim(1_000_000, 0.5, "dasgupta_gupta"))     # scikit-learn's doctest value
    663
    >>> int(min_dim(1_000_000, 0.5, "su_high_prob")), int(min_dim(1_000_000, 0.5, "su_existence"))
    (1327, 885)
    """
    check_choice(rule, "rule", MIN_DIM_RULES)
    scalar = is_scalar(N, "N") and is_scalar(eps, "eps")
    Na = _N_array(N)
    e = _eps_array(eps)
    logN = np.log(Na)
    if rule == "dasgupta_gupta":
        out = (4.0 * logN / (e**2 / 2.0 - e**3 / 3.0)).astype(np.int64)
    else:
        c = 24.0 if rule == "su_high_prob" else 16.0
        out = (np.floor(c * logN / e**2) + 1.0).astype(np.int64)
    return int(out.item()) if scalar else out


def entropy_min_dim(N, coef=8.33):
    r"""Su's entropy bound on the embedding dimension, :math:`n > c\log N` ([E], [G], [H]).

    From :math:`H \approx 2\log N + h_n` with :math:`h_n \approx -0.24 n`,
    H < 0 gives :math:`n > (2/0.24)\log N = 8.33\log N`. The exact Laplace
    coefficient :math:`h_n/n \to -\frac12\log\varphi` gives
    :data:`ENTROPY_COEF_EXACT` = 4/log(phi) = 8.3125.

    Parameters
    ----------
    N : float or array_like, >= 2
    coef : float, > 0

    Returns
    -------
    float or ndarray
        The real bound c log N (not rounded).

    Examples
    --------
    >>> round(entropy_min_dim(1e5)), round(entropy_min_dim(5e6)), round(entropy_min_dim(512))
    (96, 128, 52)
    """
    c = check_real(coef, "coef", low=0.0, low_open=True)
    scalar = is_scalar(N, "N")
    Na = _N_array(N)
    out = c * np.log(Na)
    return float(out.item()) if scalar else out


def _gaussian_tail(coef, n, eps):
    """``coef * exp(-eps^2 n / 8)`` with validation; a float for scalar inputs."""
    scalar = is_scalar(n, "n") and is_scalar(eps, "eps")
    na = _numbers(n, "n")
    if np.any(na < 1):
        raise ValueError("parameter 'n' (dimension) must be >= 1")
    e = _eps_array(eps)
    out = coef * np.exp(-(e**2) * na / 8.0)
    return float(out.item()) if scalar else out


def norm_tail_bound(n, eps):
    r""":math:`P(|\|u\|^2 - 1| \ge \varepsilon) \le 2e^{-\varepsilon^2 n/8}` for :math:`u \sim \mathcal N(0, I_n/n)` ([F]).

    Parameters
    ----------
    n : int or array_like, >= 1 (dimension)
    eps : float or array_like in (0, 1)

    Examples
    --------
    >>> norm_tail_bound(800, 0.5) == 2 * math.exp(-25.0)
    True
    """
    return _gaussian_tail(2.0, n, eps)


def inner_product_tail_bound(n, eps):
    r""":math:`P(|\langle u, v\rangle| \ge \varepsilon) \le 4e^{-\varepsilon^2 n/8}` for independent :math:`u, v \sim \mathcal N(0, I_n/n)` ([F]).

    Proof via :math:`\langle u,v\rangle = \frac12(\|\tfrac{u+v}{\sqrt2}\|^2 - \|\tfrac{u-v}{\sqrt2}\|^2)`
    and a union bound over the two norm tails.

    Examples
    --------
    >>> inner_product_tail_bound(800, 0.5) == 4 * math.exp(-25.0)
    True
    """
    return _gaussian_tail(4.0, n, eps)


def gaussian_projection(m, n, rng=None):
    r"""Random JL matrix :math:`A \in \mathbb R^{n\times m}` with i.i.d. :math:`\mathcal N(0, 1/n)` entries ([F]).

    Maps m-dimensional vectors to n dimensions (``A @ x``), as
    scikit-learn's ``GaussianRandomProjection`` (which stores the transpose
    convention ``(n_components, n_features)`` too).

    Parameters
    ----------
    m : int, >= 1 (input dimension)
    n : int, >= 1 (target dimension)
    rng : numpy.random.Generator, int seed >= 0 or None, optional
        As everywhere in refimpl (``check_rng``): None draws a fresh seed.

    Returns
    -------
    ndarray, shape (n, m)

    Raises
    ------
    ValueError
        ``m`` or ``n`` below 1, or ``n * m`` entries beyond what this machine
        can hold (named with the bytes, before anything is allocated).
    TypeError
        A ``rng`` that is not None, a non-negative int or a Generator (e.g. ``True``).

    Examples
    --------
    >>> gaussian_projection(5, 3, rng=0).shape
    (3, 5)
    """
    m = check_int(m, "m", min_value=1)
    n = check_int(n, "n", min_value=1)
    check_size((n, m), "n' x 'm")
    rng = check_rng(rng, "rng")
    return rng.standard_normal((n, m)) / math.sqrt(n)


def pairwise_distortion(X, P):
    r"""Ratios :math:`\|P(x_i - x_j)\|^2 / \|x_i - x_j\|^2` for all pairs i < j.

    JL holds with distortion eps iff every ratio lies in [1 - eps, 1 + eps].

    Parameters
    ----------
    X : array_like, shape (N, m)
        N >= 2 distinct points.
    P : array_like, shape (n, m)
        Projection (e.g. :func:`gaussian_projection`).

    Returns
    -------
    ndarray, shape (N (N - 1) / 2,)
        In ``scipy.spatial.distance.pdist`` order ((0,1), (0,2), ..., (1,2), ...).

    Raises
    ------
    ValueError
        Shape mismatch, N < 2, non-finite input, or two identical points.

    Notes
    -----
    Differences are formed explicitly (no Gram-matrix cancellation): each
    ratio has relative error about (m + n) eps.

    Examples
    --------
    >>> pairwise_distortion([[1.0, 0.0], [0.0, 0.0]], [[2.0, 0.0]])
    array([4.])
    """
    X = as_array(X, "X", ndim=2)
    P = as_array(P, "P", ndim=2)
    if X.shape[0] < 2:
        raise ValueError(f"parameter 'X' must hold N >= 2 points (rows), got shape {X.shape}")
    if P.shape[1] != X.shape[1]:
        raise ValueError(f"parameter 'P' must have shape (n, {X.shape[1]}) to project X of shape {X.shape}, "
                         f"got {P.shape}")
    N = X.shape[0]
    check_size(N * (N - 1) // 2, "X")  # one ratio per pair
    out = np.empty(N * (N - 1) // 2)
    pos = 0
    for i in range(N - 1):
        diff = X[i + 1:] - X[i]
        den = np.einsum("ij,ij->i", diff, diff)
        if np.any(den == 0):
            j = i + 1 + int(np.argmax(den == 0))
            raise ValueError(f"parameter 'X' has identical points {i} and {j}; their distortion is undefined")
        proj = diff @ P.T
        out[pos:pos + N - 1 - i] = np.einsum("ij,ij->i", proj, proj) / den
        pos += N - 1 - i
    return out


def _logsumexp(a, w=None):
    m = np.max(a)
    if w is None:
        return m + math.log(np.sum(np.exp(a - m)))
    return m + math.log(np.sum(w * np.exp(a - m)))


def h_dim(n, *, grid=2_000_001):
    r"""The word-vector entropy integral :math:`h_n` of [E], by log-space trapezoid quadrature.

    .. math::

        h_n = \log\mathbb E_\theta[e^{n\cos\theta}]
              - n\,\frac{\mathbb E_\theta[e^{n\cos\theta}\cos\theta]}{\mathbb E_\theta[e^{n\cos\theta}]},
        \qquad p_n(\theta) \propto \sin^{n-2}\theta \text{ on } [0, \pi],

    the angle density between two random directions in :math:`\mathbb R^n`;
    :math:`H \approx 2\log N + h_n` for N word vectors of norm :math:`\sqrt n`.

    Parameters
    ----------
    n : int, >= 2 (dimension)
    grid : int, optional
        Trapezoid nodes on [0, pi] (>= 3). The integrand spans hundreds of
        orders of magnitude for large n, so every sum is a log-sum-exp. Its
        peak is about 1/sqrt(n) wide, so ``n <= ((grid - 1)/(10 pi))**2``
        (4.05e9 at the default grid) is required: a larger n raises
        ``ValueError`` instead of returning an unresolved quadrature.

    Returns
    -------
    float

    Notes
    -----
    Accuracy: with the default grid the relative error is below 1e-10 for
    2 <= n <= 4096 (checked against the closed form :func:`h_dim_bessel`);
    reproduces [E]'s table -7.77471, -15.4734, -23.1726, -30.8718, -61.6692,
    -123.264 (n = 32, 64, 96, 128, 256, 512) to every printed digit.
    :math:`h_n/n \to -\frac12\log\varphi = -0.240606` (Laplace, [E]; [E]
    writes the coefficient without its minus sign).

    Examples
    --------
    >>> round(h_dim(64), 4)
    -15.4734
    """
    n = check_int(n, "n", min_value=2)
    grid = check_int(grid, "grid", min_value=3)
    check_size((6, grid), "grid")  # the nodes, weights and log-integrand arrays
    # the integrand's peak is ~1/sqrt(n) wide in theta: at least 10 nodes across it
    n_max = ((grid - 1) / (10 * math.pi)) ** 2
    if n > n_max:
        raise ValueError(f"parameter 'n' = {n} is too large for grid = {grid}: the integrand's peak (width "
                         f"~1/sqrt(n)) needs n <= ((grid - 1) / (10 pi))**2 = {n_max:.3g}; raise 'grid'")
    theta = np.linspace(0.0, math.pi, grid)
    w = np.full(grid, 1.0)
    w[0] = w[-1] = 0.5  # trapezoid weights (the common factor h cancels in every ratio)
    with np.errstate(divide="ignore"):
        log_sin = np.log(np.sin(theta))
    log_sin[0] = log_sin[-1] = -np.inf if n > 2 else 0.0
    base = (n - 2) * log_sin if n > 2 else np.zeros(grid)
    cos = np.cos(theta)
    logw = base + n * cos
    keep = np.isfinite(logw)
    lz = _logsumexp(logw[keep], w[keep])
    lz0 = _logsumexp(base[np.isfinite(base)], w[np.isfinite(base)])
    m = np.max(logw[keep])
    e = w[keep] * np.exp(logw[keep] - m)
    mean_cos = float(np.sum(e * cos[keep]) / np.sum(e))
    return float(lz - lz0 - n * mean_cos)


def h_dim_bessel(n):
    r"""Closed form of :func:`h_dim` via modified Bessel functions (a second route).

    With :math:`\nu = (n-2)/2`,
    :math:`\int_0^\pi e^{z\cos\theta}\sin^{2\nu}\theta\,d\theta = \sqrt\pi\,\Gamma(\nu+\tfrac12)(2/z)^\nu I_\nu(z)`
    (DLMF 10.32.2), so :math:`\mathbb E[e^{n\cos\theta}] = \Gamma(n/2)(2/n)^\nu I_\nu(n)` and
    :math:`\mathbb E_w[\cos\theta] = I_{\nu+1}(n)/I_\nu(n)`, giving

    .. math:: h_n = \log\Gamma(\tfrac n2) + \nu\log\tfrac2n + \log I_\nu(n) - n\,\frac{I_{n/2}(n)}{I_{\nu}(n)} .

    Evaluated with the exponentially scaled ``scipy.special.ive``, whose
    value :math:`e^{-n}I_{(n-2)/2}(n)` underflows past n = 4096, so
    2 <= n <= 4096 is accepted (use :func:`h_dim` beyond).
    Accuracy: about 1e-13 relative for n <= 600, below 1e-12 up to n = 4096
    (against 30-digit mpmath; the case table ``jl.h_dim_bessel``).

    Examples
    --------
    >>> round(h_dim_bessel(512), 3)
    -123.264
    """
    n = check_int(n, "n", min_value=2, max_value=4096)
    nu = (n - 2) / 2.0
    i0 = scipy.special.ive(nu, float(n))
    i1 = scipy.special.ive(nu + 1.0, float(n))
    return float(scipy.special.gammaln(n / 2.0) + nu * math.log(2.0 / n) + math.log(i0) + n - n * i1 / i0)


def laplace_constants():
    r"""The Laplace-approximation constants of [E], in closed form (golden ratio :math:`\varphi`).

    :math:`f(\theta)=\log\sin\theta+\cos\theta` peaks where :math:`\cos\theta = \sin^2\theta`,
    i.e. :math:`\cos\theta^*=1/\varphi`, :math:`\theta^* = \arctan\sqrt\varphi`;
    :math:`f(\theta^*) = 1/\varphi - \frac12\log\varphi`; :math:`f''(\theta^*) = -\sqrt5`.

    Returns
    -------
    dict
        ``theta_star`` 0.904557, ``cos_theta_star`` 0.618034, ``peak``
        0.377428, ``quad_coef`` :math:`\sqrt5/2` = 1.11803, ``gauss_const``
        :math:`\sqrt{\pi/(\sqrt5/2)}` = 1.67629, ``sin_const`` :math:`\sqrt{2\pi}` = 2.50663,
        ``slope`` :math:`-\frac12\log\varphi` = -0.240606 (the limit of h_n/n).

    Notes
    -----
    Derived symbolically in ``derivations/jl.py``. Accuracy: each value is a
    few float64 operations, <= 4 ulp.
    Errata (ERRATA.md): [E] prints the Gaussian constant as 1.67629, which is
    :math:`\sqrt{\pi/1.11803}` from the rounded coefficient; the exact value
    is 1.676283 (1.67628). [E] gives the limit coefficient as
    :math:`\frac12\log\varphi` without its sign; ``slope`` is negative.

    Examples
    --------
    >>> c = laplace_constants()
    >>> round(c["theta_star"], 6), round(c["peak"], 6), round(c["slope"], 6)
    (0.904557, 0.377428, -0.240606)
    """
    phi = GOLDEN_RATIO
    return {
        "phi": phi,
        "theta_star": math.atan(math.sqrt(phi)),
        "cos_theta_star": 1.0 / phi,
        "peak": 1.0 / phi - 0.5 * math.log(phi),
        "quad_coef": math.sqrt(5.0) / 2.0,
        "gauss_const": math.sqrt(math.pi / (math.sqrt(5.0) / 2.0)),
        "sin_const": math.sqrt(2.0 * math.pi),
        "slope": -0.5 * math.log(phi),
    }
