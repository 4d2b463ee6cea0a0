r"""Designing Newton--Schulz coefficients: equioscillation (Polar Express) and Su's fits.

- :func:`optimal_odd_polynomial`: the odd polynomial of degree :math:`2n+1`
  minimising :math:`\max_{[l,u]}|f(x)-1|`, by the Remez exchange on its
  :math:`n+2` alternation points (equioscillation theorem, [10972]_, [10996]_).
- :func:`cubic_equioscillation`: the closed form for degree 3 [10996]_.
- :func:`polar_express_coefficients`: the greedy composition of those optimal
  polynomials with the cushion and recentring of Polar Express, which is
  the globally optimal composition [10996]_.
- :func:`fit_coefficients`: Su's two numerical fits: the min--max Adam fit of
  [10922]_ (``"minmax"``) and the :math:`(\kappa, x_1, x_2)` fit to Gaussian
  singular values of [10592]_ (``"kappa"``).

References
----------
.. [10592] Su Jianlin, https://kexue.fm/archives/10592
.. [10922] Su Jianlin, https://kexue.fm/archives/10922
.. [10972] Su Jianlin, https://kexue.fm/archives/10972 (equioscillation theorem)
.. [10996] Su Jianlin, https://kexue.fm/archives/10996; Amsel, Persson, Musco,
   Gower, "The Polar Express", https://arxiv.org/abs/2505.16932
"""
from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from .._validation import (as_array, check_bool, check_choice, check_int, check_real, check_rng,
                           check_size)
from . import _fast, reference
from .newton_schulz import pick_backend

__all__ = ["FitResult", "PE_CUSHION", "SAFETY_MODES", "cubic_equioscillation", "fit_coefficients", "kappa_to_abc",
           "optimal_odd_polynomial", "polar_express_coefficients"]

#: ``safety_mode`` values of :func:`polar_express_coefficients`.
SAFETY_MODES = ("official", "article")
#: The cushion of the Polar Express appendix code (the paper's text uses 0.1) [10996].
PE_CUSHION = 0.02407327424182761
# Below this relative width l/u >= 1 - 5e-6 the equioscillating polynomial equals, to float64, the
# Taylor polynomial of x (x^2)^(-1/2) at x = u (the same switch as the Polar Express appendix).
_NARROW = 5e-6
# Up to l/u >= 1 - 5e-5 the Taylor polynomial is within ~(1 - l/u)^3 < 1e-12 of the optimum; there the exchange
# (alternation points within 5e-5 of each other) may lose its points to rounding: the Taylor step is returned.
_NEARLY_NARROW = 5e-5


def _taylor_odd(n, u):
    """Coefficients of x * sum_{k<=n} binom(-1/2, k) ((x/u)^2 - 1)^k / u, in powers x, x^3, ..."""
    poly = np.zeros(n + 1)  # in y = (x/u)^2
    for k in range(n + 1):
        coef = math.prod(-0.5 - i for i in range(k)) / math.factorial(k)
        term = np.polynomial.polynomial.polypow([-1.0, 1.0], k)
        poly[:k + 1] += coef * term
    return np.array([poly[j] / u ** (2 * j + 1) for j in range(n + 1)])


def _odd_eval(coef, x):
    x2 = x * x
    acc = np.zeros_like(x) + coef[-1]
    for cj in coef[-2::-1]:
        acc = acc * x2 + cj
    return acc * x


def cubic_equioscillation(l, u):
    r"""Closed-form best odd cubic :math:`f(x) = ax + bx^3` for :math:`\min\max_{[l,u]}|f-1|`.

    With :math:`f'(x) = k(x^2 - x_1^2)` the alternation :math:`f(l) = 1-E`,
    :math:`f(x_1) = 1+E`, :math:`f(u) = 1-E` gives [10996]_

    .. math::

        x_1 = \sqrt{(l^2 + lu + u^2)/3},\qquad k = -\frac{6}{l^2u + lu^2 + 2x_1^3},\qquad
        a = -k x_1^2,\ b = k/3,\ E = 1 - f(l).

    Parameters
    ----------
    l, u : float
        :math:`0 < l \le u`.

    Returns
    -------
    (a, b, E) : tuple of float

    Raises
    ------
    ValueError
        Unless :math:`0 < l \le u` (finite).

    Notes
    -----
    Accuracy: a few ulp (derived in ``derivations/muon.py``; the Remez route
    :func:`optimal_odd_polynomial` with ``degree=3`` agrees to 1e-13).

    Examples
    --------
    >>> a, b, E = cubic_equioscillation(1.0, 1.0)      # l = u: the Newton-Schulz cubic
    >>> round(a, 12), round(b, 12), round(E, 12)
    (1.5, -0.5, 0.0)
    """
    l = check_real(l, "l", low=0.0, low_open=True)
    u = check_real(u, "u", low=l)
    x1 = math.sqrt((l * l + l * u + u * u) / 3.0)
    k = -6.0 / (l * l * u + l * u * u + 2.0 * x1**3)
    a, b = -k * x1 * x1, k / 3.0
    return a, b, 1.0 - (a * l + b * l**3)


def optimal_odd_polynomial(l, u, degree=5, *, tol=1e-15, max_iter=100):
    r"""Best odd polynomial of degree :math:`2n+1` approximating 1 on :math:`[l, u]` (Remez).

    Solves :math:`\min_f \max_{x\in[l,u]} |f(x) - 1|`. By the equioscillation
    theorem the optimum reaches the error :math:`E` with alternating signs at
    :math:`n+2` points: :math:`l`, the :math:`n` critical points of :math:`f` and
    :math:`u` [10996]_: :math:`f(l) = 1-E`, :math:`f(x_i) = 1+(-1)^{i+1}E`,
    :math:`f(u) = 1+(-1)^nE`. The exchange iteration solves this linear system
    for the coefficients and :math:`E` on the current points, moves the
    interior points to the critical points of the new :math:`f` (roots of
    :math:`f'` as a polynomial in :math:`x^2`) and stops when :math:`E` changes by
    at most ``tol``. Initial interior points are the Chebyshev extrema of
    :math:`[l,u]` (for :math:`n=2`: :math:`l + (u-l)/4` and :math:`l + 3(u-l)/4`).

    Parameters
    ----------
    l, u : float
        :math:`0 < l \le u`.
    degree : int
        Odd, >= 3.
    tol : float
        Stop when :math:`|E_{k+1}-E_k| \le` ``tol``.
    max_iter : int

    Returns
    -------
    coefficients : ndarray, shape (n + 1,)
        Of :math:`x, x^3, \dots, x^{2n+1}`.
    E : float
        The equioscillation error (0 for :math:`l = u`).

    Raises
    ------
    ValueError
        Bad ``l``, ``u``, ``degree``, ``tol`` (finite, >= 0), ``max_iter``; an
        interval so far from 1 that a coefficient :math:`c_j/u^{2j+1}` over- or
        underflows float64.
    RuntimeError
        The exchange does not converge within ``max_iter`` iterations (it
        converges in under 20 for :math:`l/u \ge 10^{-4}`), never a silent
        unconverged result.

    Notes
    -----
    The exchange runs on :math:`[l/u, 1]` and the result is mapped back by
    :math:`x \to x/u` (the problem is scale invariant), so large or small
    intervals cost no accuracy. When :math:`l/u \ge 1 - 5\cdot10^{-6}` the optimum is, to float64, the Taylor
    polynomial of :math:`x(x^2)^{-1/2}` at :math:`u` (degree 5:
    :math:`(15/8, -5/4, 3/8)/(u, u^3, u^5)`) and that is returned, as the
    Polar Express appendix does (the linear system is singular there); for
    :math:`l/u \ge 1 - 5\cdot10^{-5}` it is also returned where the exchange
    loses its alternation points to rounding (its error there is below 1e-12).
    Accuracy: coefficients to about 1e-12 relative (a different route, the
    closed form for degree 3, agrees to 1e-13).

    Examples
    --------
    >>> coef, E = optimal_odd_polynomial(1e-3, 1.0)      # first Polar Express step, no cushion
    >>> np.round(coef, 4), round(E, 4)                   # the article prints 8.4703, -25.1081, 18.6293, 0.9915
    (array([  8.4703, -25.1081,  18.6293]), 0.9915)
    """
    l = check_real(l, "l", low=0.0, low_open=True)
    u = check_real(u, "u", low=l)
    degree = check_int(degree, "degree", min_value=3)
    if degree % 2 == 0:
        raise ValueError(f"parameter 'degree' must be odd, got {degree}")
    tol = check_real(tol, "tol", low=0.0)
    max_iter = check_int(max_iter, "max_iter", min_value=1)
    return _optimal(l, u, (degree - 1) // 2, tol, max_iter)


def _scaled(coef1, u, l):
    """Coefficients of p(x) = p1(x / u) from those of p1: c_j / u^(2j+1); ValueError where that over/underflows."""
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        powers = np.float64(u) ** (2 * np.arange(coef1.size) + 1)
        coef = coef1 / powers
    if not np.all(np.isfinite(coef)) or np.any((coef == 0) & (coef1 != 0)):
        raise ValueError(f"parameters 'l', 'u': the interval [{l!r}, {u!r}] is too far from 1: the coefficients "
                         f"c_j / u^(2j+1) of degree {2 * coef1.size - 1} over/underflow float64; rescale the "
                         f"interval (the polynomial for [l/u, 1] is the same up to x -> x/u)")
    return coef


def _optimal(l, u, n, tol=1e-15, max_iter=100):
    """optimal_odd_polynomial on validated input: the exchange on [l/u, 1], then scaled to [l, u]."""
    r = l / u
    if r >= 1.0 - _NARROW:
        return _scaled(_taylor_odd(n, 1.0), u, l), 0.0
    i = np.arange(n + 2)
    pts = r + (1.0 - r) * (1.0 - np.cos(np.pi * i / (n + 1))) / 2.0
    signs = (-1.0) ** i  # f(x_i) + (-1)^i E = 1
    E_old = np.inf
    for _ in range(max_iter):
        A = np.column_stack([pts ** (2 * j + 1) for j in range(n + 1)] + [signs])
        try:
            sol = np.linalg.solve(A, np.ones(n + 2))
        except np.linalg.LinAlgError:
            raise RuntimeError(f"Remez exchange on [{l}, {u}]: singular alternation system (l/u = {r:.3g} is "
                               "too small for float64)") from None
        coef, E = sol[:-1], sol[-1]
        # f'(x) = sum_j (2j+1) c_j x^(2j): roots in y = x^2
        dcoef = np.array([(2 * j + 1) * coef[j] for j in range(n + 1)])
        roots = np.roots(dcoef[::-1])
        y = np.sort(roots[(np.abs(roots.imag) <= 1e-12 * np.abs(roots)) & (roots.real > 0)].real)
        y = y[(y > r * r) & (y < 1.0)]
        if y.size != n and r >= 1.0 - _NEARLY_NARROW:
            return _scaled(_taylor_odd(n, 1.0), u, l), 0.0
        if y.size != n:
            raise RuntimeError(f"Remez exchange on [{l}, {u}] lost its alternation points (found {y.size}, "
                               f"need {n})")
        pts = np.concatenate([[r], np.sqrt(y), [1.0]])
        if abs(E - E_old) <= tol:
            return _scaled(coef, u, l), float(E)
        E_old = E
    raise RuntimeError(f"Remez exchange on [{l}, {u}] did not converge in {max_iter} iterations "
                       f"(|E_k+1 - E_k| > tol = {tol})")


def polar_express_coefficients(l=1e-3, u=1.0, steps=8, safety=1.01, cushion=PE_CUSHION, *, degree=5,
                               safety_mode="official"):
    r"""The Polar Express schedule: greedy equioscillating polynomials, cushioned and recentred.

    Step :math:`t` ([10996]_, arXiv:2505.16932): fit the best odd polynomial
    :math:`p_t` (:func:`optimal_odd_polynomial`) on :math:`[\max(l_t, \lambda u_t), u_t]`
    (cushion :math:`\lambda`), recentre :math:`f_t = \gamma p_t` with
    :math:`\gamma = 2/(p_t(l_t) + p_t(u_t))`, then :math:`l_{t+1} = f_t(l_t)`,
    :math:`u_{t+1} = 2 - l_{t+1}` (and :math:`l_{t+1} \le u_{t+1}`); start
    :math:`l_1 = l, u_1 = u`. Without cushion the greedy composition is the
    optimal :math:`T`-step composition (the article's induction proof). The
    safety factor ``s`` replaces :math:`f_t` by :math:`f_t(x/s)`, i.e.
    :math:`(a, b, c) / (s, s^3, s^5)`, which keeps a bf16 singular value
    slightly above :math:`u_t` from diverging. Where it is applied is
    ``safety_mode``.

    Parameters
    ----------
    l, u : float
        Singular-value interval to cover, :math:`0 < l \le u` (article: 1e-3, 1).
    steps : int >= 1
    safety : float >= 1
        1.01 in the paper and its code; 1 reproduces the article's table as printed.
    cushion : float in [0, 1]
        :data:`PE_CUSHION` (appendix code); the paper's text uses 0.1, the
        repository's ``polar_express.py`` 0.02; 0 is the pure greedy optimum.
    degree : {5, 3}
        Quintic (default) or cubic polynomials (then ``c = 0``).
    safety_mode : {"official", "article"}
        ``"official"`` (default; the code users copy the coefficients from,
        ``optimal_composition`` in github.com/NoahAmsel/PolarExpress): every
        row but the last is divided by the safety powers *inside* the loop,
        so the next interval :math:`l_{t+1} = f_t(l_t/s)` comes from the
        shrunk polynomial; the last row is left alone. ``"article"`` (Su's
        10996 and the paper's formula): the loop runs without safety and
        every row, the last included, is divided afterwards. The two differ
        by up to about 5% per coefficient (rows 2 on); with ``safety=1`` they
        are the same.

    Returns
    -------
    ndarray, shape (steps, 3)
        Rows :math:`(a_t, b_t, c_t)` for :func:`refimpl.muon.newton_schulz`.

    Raises
    ------
    ValueError
        Parameters out of range (also an interval so far from 1 that the
        first row over/underflows float64).

    Notes
    -----
    Reproduces every digit of the article's 8-row table (``safety=1``), whose
    row 6 prints :math:`b=+1.268`: a sign typo, :math:`b_6 = -1.268` (see
    ERRATA.md). Rows converge to the Taylor step :math:`(15/8, -5/4, 3/8)`.
    The preset ``COEFFICIENTS["polar_express"]`` is the article's table
    divided afterwards, i.e. ``safety_mode="article"``.
    Runtime: about 1 ms per step.

    Examples
    --------
    >>> C = polar_express_coefficients(steps=8, safety=1.0)
    >>> [float(v) for v in np.round(C[0], 4)]         # the article's row 1: 8.28721, -23.5959, 17.3004
    [8.2872, -23.5959, 17.3004]
    >>> [float(v) for v in np.round(C[5], 4)]         # row 6 (b is negative; the article prints +1.268)
    [1.8913, -1.268, 0.3768]
    """
    l = check_real(l, "l", low=0.0, low_open=True)
    u = check_real(u, "u", low=l)
    steps = check_int(steps, "steps", min_value=1)
    check_size((steps, 3), "steps")
    safety = check_real(safety, "safety", low=1.0)
    cushion = check_real(cushion, "cushion", low=0.0, high=1.0)
    degree = check_int(degree, "degree")
    if degree not in (3, 5):
        raise ValueError(f"parameter 'degree' must be 3 or 5 (Newton-Schulz takes (a, b, c)), got {degree}")
    check_choice(safety_mode, "safety_mode", SAFETY_MODES)
    n = (degree - 1) // 2
    shrink = safety ** (2 * np.arange(n + 1) + 1)  # f(x / s): (a, b, c) / (s, s^3, s^5)
    out = np.zeros((steps, 3))
    lt, ut = l, u
    for t in range(steps):
        coef, _ = _optimal(max(lt, cushion * ut), ut, n)
        coef = coef * (2.0 / (_odd_eval(coef, lt) + _odd_eval(coef, ut)))  # recentre: f(l_t) + f(u_t) = 2
        if safety_mode == "official" and t < steps - 1:
            coef = coef / shrink
        out[t, :n + 1] = coef
        lt = float(_odd_eval(coef, lt))
        ut = 2.0 - lt
        lt = min(lt, ut)  # a step can overshoot 1 slightly (cubics, safety): keep l <= u
    if safety_mode == "article":
        out[:, :n + 1] /= shrink
    return out


def kappa_to_abc(kappa, x1, x2):
    r""":math:`g(x) = x + \kappa x(x^2-x_1^2)(x^2-x_2^2)` as :math:`(a, b, c)` [10592]_.

    .. math:: a = 1 + \kappa x_1^2x_2^2,\quad b = -\kappa(x_1^2+x_2^2),\quad c = \kappa .

    Fixed points of :math:`g` are :math:`0, \pm x_1, \pm x_2` (derived in
    ``derivations/muon.py``).

    Examples
    --------
    >>> [round(v, 3) for v in kappa_to_abc(1.0, 1.0, 1.0)]   # g(x) = x + x(x^2-1)^2
    [2.0, -2.0, 1.0]
    >>> [round(v, 3) for v in kappa_to_abc(1.724, 0.935, 1.235)]  # 10592, 1024x1024, T=5, rounded inputs
    [3.299, -4.137, 1.724]

    The article prints (3.297, -4.136, 1.724), computed from unrounded
    :math:`(\kappa, x_1, x_2)`: the printed inputs reproduce it to 3 digits.

    Raises
    ------
    ValueError
        A non-finite input, or coefficients that overflow float64.
    TypeError
        A non-number (a string, a bool).
    """
    kappa = check_real(kappa, "kappa")
    x1 = check_real(x1, "x1")
    x2 = check_real(x2, "x2")
    a, b = 1.0 + kappa * (x1 * x1) * (x2 * x2), -kappa * (x1 * x1 + x2 * x2)
    if not (math.isfinite(a) and math.isfinite(b)):
        raise ValueError(f"parameters 'kappa', 'x1', 'x2': the coefficients overflow float64 "
                         f"(kappa={kappa!r}, x1={x1!r}, x2={x2!r}); a = 1 + kappa x1^2 x2^2 must be finite")
    return a, b, kappa


@dataclasses.dataclass
class FitResult:
    """Result of :func:`fit_coefficients`."""

    coefficients: np.ndarray  #: (3,) shared triple or (T, 3) schedule
    loss: float  #: final value of the fitted loss
    parameters: tuple | None  #: (kappa, x1, x2) for method "kappa", else None
    seconds: float  #: wall time of the fit


def _minmax_loss_grad(W, x, k):
    """Top-k mean of |x_T - 1| and its gradient, for a stack of schedules W (B, T, 3).

    Forward pass on every grid point; forward-mode derivative only on the k
    worst points of each schedule (the only ones the loss depends on).
    """
    B, T, _ = W.shape
    dt = W.dtype
    y = np.broadcast_to(x, (B, x.size)).copy()
    for t in range(T):
        a, b, c = (W[:, t, j:j + 1] for j in range(3))
        y2 = y * y
        y = y * (a + y2 * (b + c * y2))
    err = np.abs(y - 1.0)
    idx = np.argpartition(err, -k, axis=1)[:, -k:]
    loss = np.take_along_axis(err, idx, axis=1).mean(axis=1)
    z = x[idx]  # (B, k)
    dz = np.zeros((B, k, T, 3), dtype=dt)
    for t in range(T):
        a, b, c = (W[:, t, j][:, None] for j in range(3))
        z2 = z * z
        slope = a + z2 * (dt.type(3) * b + dt.type(5) * c * z2)
        dz = dz * slope[:, :, None, None]
        dz[:, :, t, 0] += z
        dz[:, :, t, 1] += z * z2
        dz[:, :, t, 2] += z * z2 * z2
        z = z * (a + z2 * (b + c * z2))
    sgn = np.sign(z - dt.type(1))
    grad = np.einsum("bk,bktj->btj", sgn, dz) / dt.type(k)
    return loss, grad


def _fit_minmax(steps, shared, k, n_grid, iterations, lr, decay_at, perturbation, init, dtype):
    f = np.dtype(dtype).type
    x = np.linspace(0.0, 1.0, n_grid + 1, dtype=dtype)[1:]
    T = steps
    if init is None:
        init = [1.5, -0.5, 0.0] if shared else [3.5, -6.04444444444, 2.84444444444]
    w = np.array(init, dtype=dtype)
    w = np.broadcast_to(w, (3,) if shared else (T, 3)).copy() if w.shape in ((3,),) else w.copy()
    if (shared and w.shape != (3,)) or (not shared and w.shape != (T, 3)):
        raise ValueError(f"parameter 'init' must have shape {(3,) if shared else (T, 3)}, got {w.shape}")
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    offsets = np.array([0.0, perturbation, -perturbation], dtype=dtype)[:, None, None]
    mix = np.array([0.6, 0.2, 0.2], dtype=dtype)
    lr = f(lr)
    for i in range(iterations):
        sched = np.broadcast_to(w, (T, 3)) if shared else w
        stack = sched[None] + offsets  # w, w + tol/2, w - tol/2 (every coefficient shifted)
        _, g = _minmax_loss_grad(stack, x, k)
        if shared:
            g = g.sum(axis=1)  # d/dw of the shared triple: sum over steps
        # In float32 the squared norm of a perturbed run's gradient can overflow to inf, and
        # g / inf = 0 drops that term: the article's JAX run relied on this (see Notes).
        norms = np.sqrt(np.sum(g.reshape(3, -1) * g.reshape(3, -1), axis=1))
        g = g / np.maximum(norms, f(1)).reshape((3,) + (1,) * (g.ndim - 1))
        g = np.tensordot(mix, g, axes=1).astype(dtype)
        m = f(0.9) * m + f(0.1) * g  # Adam without bias correction, as in the article
        v = f(0.999) * v + f(0.001) * g * g
        w = w - lr * m / np.sqrt(v + f(1e-20))
        if i == decay_at:  # the article: `if i in [10000]: lr *= 0.1` after the update of step i
            lr = lr * f(0.1)
    sched = np.broadcast_to(w, (T, 3)) if shared else w
    x64 = np.linspace(0.0, 1.0, n_grid + 1)[1:]
    loss, _ = _minmax_loss_grad(np.asarray(sched, dtype=np.float64)[None], x64, k)
    return w.astype(np.float64), float(loss[0])


def _kappa_data(shape, n_matrices, n_points, rng):
    n, m = shape
    vals = []
    for _ in range(n_matrices):
        s = np.linalg.svd(rng.standard_normal((n, m)), compute_uv=False)
        vals.append(s / np.sqrt(np.sum(s * s)))
    data = np.sort(np.concatenate(vals))
    if n_points is not None and n_points < data.size:
        # evenly spaced order statistics (midpoint ranks) of the pooled sample
        data = data[((np.arange(n_points) + 0.5) * data.size / n_points).astype(np.int64)]
    return data


_MINMAX_DEFAULTS = {"shared": True, "k": 50, "n_grid": 10000, "perturbation": 0.05, "dtype": "float32"}
_KAPPA_DEFAULTS = {"shape": (1024, 1024), "n_matrices": 4, "n_points": 2048, "momentum": 0.9, "rng": 0}


#: The most scalar updates (iterations x steps x points) one :func:`fit_coefficients` call runs.
_MAX_WORK = 10**13


def _check_work(work):
    if work > _MAX_WORK:
        raise ValueError(f"parameters 'iterations' and 'steps' (with the data size) ask for {work:.3g} updates, "
                         f"more than the {_MAX_WORK:.0e} one fit runs")


def fit_coefficients(method="minmax", steps=5, *, iterations=None, lr=None, init=None, backend="auto", **options):
    r"""Fit Newton--Schulz coefficients numerically, as Su does in 10922 and 10592.

    ``method="minmax"`` [10922]_: on the grid ``linspace(0, 1, n_grid + 1)[1:]``
    minimise the mean of the ``k`` largest :math:`|x_T - 1|` (a smoothed
    min--max) over a shared :math:`(a,b,c)` (``shared=True``, init
    :math:`(1.5,-0.5,0)`) or a per-step schedule (``shared=False``, init
    :math:`(3.5, -6.0444, 2.8444)` each step, Su's "Ours-X"). Adam
    (0.9, 0.999, no bias correction, 1e-20 inside the root), lr 1e-3, times 0.1
    after iteration ``iterations // 2`` (default 20000 iterations); each
    gradient is divided by :math:`\max(\|g\|, 1)` and mixed as
    :math:`0.6\,G(w) + 0.2\,[G(w+\delta) + G(w-\delta)]`, :math:`\delta` =
    ``perturbation`` (0.05) added to every coefficient. Options ``shared``,
    ``k`` (50), ``n_grid`` (10000), ``perturbation``, ``dtype`` ("float32").

    ``method="kappa"`` [10592]_: :math:`g(x) = x + \kappa x(x^2-x_1^2)(x^2-x_2^2)`;
    data are the singular values of ``n_matrices`` (4) Gaussian matrices of
    ``shape`` ((1024, 1024)) divided by their Frobenius norm, reduced to
    ``n_points`` (2048) evenly spaced order statistics; the loss is the mean of
    :math:`(x_T-1)^2`, minimised by momentum SGD (lr 0.01, ``momentum`` 0.9,
    100000 iterations, init :math:`(\kappa,x_1,x_2) = (1, 0.9, 1.1)`). Options
    ``shape``, ``n_matrices``, ``n_points``, ``momentum``, ``rng`` (seed or
    Generator). Su used 1000 matrices; the sample moves the fit only in the
    third digit.

    Parameters
    ----------
    method : {"minmax", "kappa"}
    steps : int >= 1
        Iterations :math:`T` of the Newton--Schulz map.
    iterations, lr, init : optimiser settings (defaults above)
    backend : {"auto", "reference", "numba"}
        ``"kappa"``: ``"reference"`` runs :func:`refimpl.muon.reference.kappa_sgd`
        (NumPy, the gradient by the chain rule through :math:`(a, b, c)`);
        ``"numba"`` (``"auto"`` when numba imports) the fused kernel
        ``_fast.kappa_sgd_nb``; they agree to rounding (the SGD amplifies it:
        tested to 1e-9 relative over a few hundred iterations).
        ``"minmax"`` has only the reference.
    **options
        The options of the chosen method listed above; another method's
        option raises ValueError.

    Returns
    -------
    FitResult
        ``coefficients`` ((3,) or (T, 3)), final ``loss`` (in float64),
        ``parameters`` ((kappa, x1, x2) for "kappa") and ``seconds``.

    Raises
    ------
    ValueError
        Unknown method or option, bad sizes; ``iterations * steps * points``
        above 1e13 (minmax: points = ``n_grid``; kappa: the pooled singular
        values), refused before any work.

    Notes
    -----
    Reproduction: ``fit_coefficients("minmax")`` gives (3.37476, -4.69683,
    2.14321), the article's (3.3748, -4.6969, 2.1433), in float32 as the
    article's JAX run. In float64 the result is (3.3530, -4.6653, 2.1412)
    with a *higher* loss (0.33472 vs 0.33391): in float32 the squared
    gradient norm of a diverging perturbed run overflows to inf and
    :math:`g/\infty = 0` drops that term; float64 keeps it as a unit vector.
    With ``shared=False``, T = 6 and Su's init, k = 50 and k = 200 land within
    0.05 per coefficient of the published "Ours-X" / "Ours-X2" schedules (a
    local Adam run on a kinked objective; not digit-exact).
    ``fit_coefficients("kappa", 5)`` gives :math:`(\kappa, x_1, x_2)` =
    (1.723, 0.935, 1.235) against the article's (1.724, 0.935, 1.235).
    Runtime on one core: minmax, T = 5, 20000 iterations: 10--20 s (shared) and
    somewhat more for a schedule; kappa, 1024 x 1024, 4 matrices, 100000
    iterations with numba: about 1 s of SVDs plus 10--20 s. Both optimisers are
    local: results depend on the init exactly as in the articles.

    Examples
    --------
    >>> r = fit_coefficients("minmax", steps=5, iterations=200)
    >>> r.coefficients.shape, r.loss < 0.9
    ((3,), True)
    """
    check_choice(method, "method", ("minmax", "kappa"))
    steps = check_int(steps, "steps", min_value=1)
    mine, other = (_MINMAX_DEFAULTS, _KAPPA_DEFAULTS) if method == "minmax" else (_KAPPA_DEFAULTS, _MINMAX_DEFAULTS)
    for key in options:
        if key not in mine:
            where = f"is an option of the other method" if key in other else "is not an option"
            raise ValueError(f"parameter '{key}' {where}; method '{method}' takes: {', '.join(mine)}")
    opt = {**mine, **options}
    t0 = time.perf_counter()
    if method == "minmax":
        pick_backend(backend, reference=_fit_minmax)  # validates: the min-max fit has only the reference
        check_bool(opt["shared"], "shared")
        n_grid = check_int(opt["n_grid"], "n_grid", min_value=2)
        check_size((3, n_grid + 1), "n_grid")
        k = check_int(opt["k"], "k", min_value=1, max_value=n_grid)
        iterations = 20000 if iterations is None else check_int(iterations, "iterations", min_value=1)
        lr = 1e-3 if lr is None else check_real(lr, "lr", low=0.0, low_open=True)
        _check_work(iterations * steps * n_grid)
        perturbation = check_real(opt["perturbation"], "perturbation", low=0.0)
        dtype = {"float32": np.float32, "float64": np.float64}[check_choice(opt["dtype"], "dtype",
                                                                             ("float32", "float64"))]
        if init is not None:
            init = as_array(init, "init")
        with np.errstate(over="ignore", invalid="ignore"):
            w, loss = _fit_minmax(steps, bool(opt["shared"]), k, n_grid, iterations, lr, iterations // 2,
                                  perturbation, init, dtype)
        if not np.all(np.isfinite(w)):
            raise RuntimeError("the min-max fit diverged (non-finite coefficients); lower 'lr' or change 'init'")
        return FitResult(w, loss, None, time.perf_counter() - t0)
    shape = tuple(opt["shape"]) if isinstance(opt["shape"], (tuple, list, np.ndarray)) else ()
    if len(shape) != 2:
        raise ValueError(f"parameter 'shape' must be (n, m), got {opt['shape']!r}")
    n, m = (check_int(v, "shape", min_value=1) for v in shape)
    check_size((n, m), "shape")
    n_matrices = check_int(opt["n_matrices"], "n_matrices", min_value=1)
    check_size((n_matrices, min(n, m)), "n_matrices")  # the pooled singular values
    n_points = None if opt["n_points"] is None else check_int(opt["n_points"], "n_points", min_value=1)
    iterations = 100000 if iterations is None else check_int(iterations, "iterations", min_value=1)
    _check_work(iterations * steps * n_matrices * min(n, m) if n_points is None
                else iterations * steps * min(n_points, n_matrices * min(n, m)))
    lr = 0.01 if lr is None else check_real(lr, "lr", low=0.0, low_open=True)
    beta = check_real(opt["momentum"], "momentum", low=0.0, high=1.0, high_open=True)
    p = np.array([1.0, 0.9, 1.1] if init is None else as_array(init, "init", shape=(3,)), dtype=np.float64)
    gen = check_rng(opt["rng"], "rng")
    _, sgd = pick_backend(backend, reference=reference.kappa_sgd, numba=_fast.kappa_sgd_nb)
    data = _kappa_data((n, m), n_matrices, n_points, gen)
    with np.errstate(over="ignore", invalid="ignore"):
        p = sgd(p, data, steps, lr, beta, iterations)
        loss, _ = reference.kappa_loss_grad(p, data, steps)
    if not np.all(np.isfinite(p)):
        raise RuntimeError("the kappa fit diverged (non-finite parameters); lower 'lr' or change 'init'")
    kappa, x1, x2 = (float(v) for v in p)
    return FitResult(np.array(kappa_to_abc(kappa, x1, x2)), loss, (kappa, x1, x2), time.perf_counter() - t0)
