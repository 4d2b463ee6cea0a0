r"""Closed forms for the optimal learning rate as a function of batch size.

Source: Su Jianlin, "当Batch Size增大时，学习率该如何随之变化？" (How should the
learning rate change as the batch size grows?), https://kexue.fm/archives/10542,
which follows McCandlish, Kaplan, Amodei et al., "An Empirical Model of
Large-Batch Training", https://arxiv.org/abs/1812.06162 (SGD) and Li et al.,
"Surge Phenomenon in Optimal Learning Rate and Batch Size Scaling",
https://arxiv.org/abs/2405.14578 (sign / Adam).

Setting (every function here): the per-sample gradient has mean ``g`` and
covariance ``Sigma``; a batch of ``B`` samples gives :math:`\tilde g_B` with
mean ``g`` and covariance ``Sigma / B``; the loss is expanded to second order
with Hessian ``H``. The update is :math:`\theta \leftarrow \theta - \eta u`
with :math:`u = \tilde g_B` (SGD) or :math:`u = \mathrm{sign}(\tilde g_B)`
(SignSGD, the article's stand-in for Adam). On a quadratic loss the
second-order expansion is exact, so these formulas are then exact
(:func:`refimpl.scaling.nqm_optimal_lr` checks this by Monte-Carlo).

Derivations: ``derivations/batch_lr.py``.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import special

from .._validation import check_bool, check_real
from ._common import batch, covariance, exponent, gradient, hessian, stds, unscale, vector

__all__ = [
    "SignMoments", "StepsExamplesFit", "Surge",
    "b_noise", "b_simple", "fit_steps_examples", "loss_decrease_sgd", "loss_decrease_sign",
    "optimal_lr_sgd", "optimal_lr_sign", "sign_moments", "steps_examples_tradeoff", "surge",
]


def _sgd_terms(g, H, Sigma):
    """``g^T g``, ``g^T H g``, ``Tr(Sigma H)`` of the inputs divided by powers of two, and those powers.

    With ``g = 2^eg g~``, ``H = 2^eH H~``, ``Sigma = 2^eS Sigma~`` (exact), every
    closed form below is a formula in the scaled terms times a power of two.
    """
    g = gradient(g)
    n = g.shape[0]
    H = hessian(H, n)
    S = covariance(Sigma, n)
    eg, eH, eS = exponent(g), exponent(H), exponent(S)
    g, H, S = np.ldexp(g, -eg), np.ldexp(H, -eH), np.ldexp(S, -eS)
    gg = float(g @ g)
    gHg = float(g @ H @ g)
    trSH = float(np.sum(S * H))  # Tr(Sigma H) for symmetric Sigma, H
    return gg, gHg, trSH, eg, eH, eS


def _noise_over_curvature(gHg, trSH, e, B):
    """``(gHg + 2^e trSH / B) / 2^k`` and ``k >= 0``, evaluated without overflow (``e = eS - 2 eg``)."""
    k = max(e, 0)
    return np.ldexp(gHg, -k) + np.ldexp(trSH, e - k) / B, k


def b_noise(g, H, Sigma):
    r"""The noise scale :math:`\mathcal B_{noise} = \mathrm{Tr}(\Sigma H) / g^\top H g`.

    The batch size at which the optimal SGD learning rate reaches half its
    saturation value :math:`\eta_{\max}` (:func:`optimal_lr_sgd`).

    Parameters
    ----------
    g : array_like, shape (n,)
        Mean (full-batch) gradient, not all zero.
    H : array_like, shape (n, n) or (n,)
        Hessian, symmetric positive definite; a 1-D input is a diagonal Hessian.
    Sigma : array_like, shape (n, n) or (n,)
        Per-sample gradient covariance (symmetric PSD); a 1-D input is the
        vector of per-coordinate variances (diagonal covariance).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Shapes that do not match, ``g == 0``, ``H`` not symmetric positive
        definite, negative variances or ``Sigma`` not PSD, NaN/Inf, or a
        result beyond float64 (``g`` of size 1e-170 with ``Sigma`` of size 1:
        :math:`\mathcal B_{noise}\approx10^{340}`). The inputs are scaled by
        exact powers of two first, so no intermediate overflows or underflows;
        a result below the float64 range rounds to 0.

    Notes
    -----
    Accuracy: two sums of n and n^2 products; relative error a few n eps.
    https://kexue.fm/archives/10542, eq. for :math:`\mathcal B_{noise}`.

    Examples
    --------
    >>> b_noise([1.0, 1.0], [[2.0, 0.0], [0.0, 2.0]], [3.0, 1.0])   # (2*3 + 2*1) / (2 + 2)
    2.0
    """
    gg, gHg, trSH, eg, eH, eS = _sgd_terms(g, H, Sigma)
    return unscale(trSH / gHg, eS - 2 * eg, "B_noise = Tr(Sigma H) / g^T H g (parameters 'g', 'Sigma')")


def b_simple(g, Sigma):
    r""":math:`\mathcal B_{simple} = \mathrm{Tr}\,\Sigma / g^\top g`: :func:`b_noise` with ``H`` replaced by ``I``.

    Needs only the per-coordinate variances; equals :math:`\mathcal B_{noise}`
    exactly when ``H`` is a positive multiple of the identity.

    Parameters
    ----------
    g : array_like, shape (n,)
        Mean gradient, not all zero.
    Sigma : array_like, shape (n, n) or (n,)
        Covariance, or the vector of variances (only its trace is used).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        ``g == 0``, negative variances, a non-PSD ``Sigma``, shape mismatch,
        a result beyond float64 (as :func:`b_noise`).

    Notes
    -----
    Accuracy: relative error a few n eps. https://kexue.fm/archives/10542.

    Examples
    --------
    >>> b_simple([3.0, 4.0], [10.0, 15.0])   # 25 / 25
    1.0
    """
    g = gradient(g)
    S = covariance(Sigma, g.shape[0])
    eg, eS = exponent(g), exponent(S)
    g, S = np.ldexp(g, -eg), np.ldexp(S, -eS)     # exact: no overflow or underflow in the sums
    return unscale(float(np.trace(S)) / float(g @ g), eS - 2 * eg, "B_simple = Tr Sigma / g^T g (parameters 'g', 'Sigma')")


def optimal_lr_sgd(g, H, Sigma, B):
    r"""Optimal SGD learning rate for batch size ``B``.

    .. math::

        \eta^* = \arg\min_\eta \mathbb E\,L(\theta-\eta\tilde g_B)
        = \frac{g^\top g}{g^\top H g + \mathrm{Tr}(\Sigma H)/B}
        = \frac{\eta_{\max}}{1 + \mathcal B_{noise}/B},\qquad
        \eta_{\max} = \frac{g^\top g}{g^\top H g}.

    Parameters
    ----------
    g, H, Sigma : array_like
        As in :func:`b_noise`.
    B : float or array_like
        Batch size(s), each >= 1 (real values allowed: the formula is smooth).

    Returns
    -------
    float or ndarray
        Same shape as ``B``.

    Raises
    ------
    ValueError
        As :func:`b_noise` (a result beyond float64 included), or ``B < 1``.

    Notes
    -----
    Exact (not an approximation) when the loss is quadratic, as in the noisy
    quadratic model of :func:`refimpl.scaling.nqm_optimal_lr`. Accuracy:
    relative error a few n eps. Linear in ``B`` for
    :math:`B\ll\mathcal B_{noise}`, saturating at :math:`\eta_{\max}`.
    https://kexue.fm/archives/10542 eq. (eta-opt); derivation in
    ``derivations/batch_lr.py``.

    Examples
    --------
    >>> optimal_lr_sgd([1.0, 1.0], [1.0, 1.0], [1.0, 1.0], [1, 3, 1e9])   # B / (B + 1)
    array([0.5 , 0.75, 1.  ])
    """
    gg, gHg, trSH, eg, eH, eS = _sgd_terms(g, H, Sigma)
    B, _ = batch(B)
    den, k = _noise_over_curvature(gHg, trSH, eS - 2 * eg, B)
    return unscale(gg / den, -eH - k, "the optimal learning rate (parameters 'H', 'Sigma', 'g')")


def loss_decrease_sgd(g, H, Sigma, B):
    r"""Expected loss decrease of one SGD step at the optimal learning rate.

    .. math::

        \Delta L = L(\theta) - \mathbb E L(\theta - \eta^*\tilde g_B)
        = \frac{\Delta L_{\max}}{1 + \mathcal B_{noise}/B},\qquad
        \Delta L_{\max} = \frac{(g^\top g)^2}{2\,g^\top H g}.

    Parameters
    ----------
    g, H, Sigma, B
        As in :func:`optimal_lr_sgd`.

    Returns
    -------
    float or ndarray
        Same shape as ``B``.

    Notes
    -----
    Exact on a quadratic loss. Accuracy: relative error a few n eps.
    https://kexue.fm/archives/10542 eq. (Delta-L-sgd).

    Examples
    --------
    >>> float(loss_decrease_sgd([1.0, 1.0], [1.0, 1.0], [1.0, 1.0], 3))   # (4/4) / (1 + 1/3)
    0.75
    """
    gg, gHg, trSH, eg, eH, eS = _sgd_terms(g, H, Sigma)
    B, _ = batch(B)
    den, k = _noise_over_curvature(gHg, trSH, eS - 2 * eg, B)
    return unscale(gg * gg / (2.0 * den), 2 * eg - eH - k, "the loss decrease (parameters 'g', 'H', 'Sigma')")


def steps_examples_tradeoff(S_min, E_min, B):
    r"""Steps ``S`` and examples ``E = B S`` needed at batch size ``B``.

    With per-step progress :math:`\Delta L_{\max}/(1+\mathcal B_{noise}/B)`
    and :math:`\mathcal B_{noise} = E_{\min}/S_{\min}`:

    .. math::

        S = \Big(1 + \frac{\mathcal B_{noise}}{B}\Big) S_{\min},\qquad
        E = B S = (B + \mathcal B_{noise})\,S_{\min},\qquad
        \Big(\frac{S}{S_{\min}} - 1\Big)\Big(\frac{E}{E_{\min}} - 1\Big) = 1 .

    Parameters
    ----------
    S_min : float
        Steps needed with infinite batch (> 0).
    E_min : float
        Examples needed with vanishing batch (> 0).
    B : float or array_like
        Batch size(s), >= 1.

    Returns
    -------
    S, E : float or ndarray
        Same shape as ``B``.

    Raises
    ------
    ValueError
        ``S_min <= 0``, ``E_min <= 0``, ``B < 1``, or ``S`` or ``E`` beyond float64.

    Notes
    -----
    Assumes :math:`\mathcal B_{noise}` and :math:`\Delta L_{\max}` constant
    along training (https://kexue.fm/archives/10542 eq. (E-S)); the identity
    is derived in ``derivations/batch_lr.py``. For SignSGD the same law holds
    with :math:`E_{\min}/S_{\min} = \mathcal B_{noise-2}` (:func:`surge`).
    Accuracy: a few eps.

    Examples
    --------
    >>> S, E = steps_examples_tradeoff(100.0, 6400.0, [64, 256])
    >>> S, E                       # B_noise = 64
    (array([200., 125.]), array([12800., 32000.]))
    """
    S_min = check_real(S_min, "S_min", low=0.0, low_open=True)
    E_min = check_real(E_min, "E_min", low=0.0, low_open=True)
    B, _ = batch(B)
    with np.errstate(over="ignore"):
        S = S_min + E_min / B
        E = B * S
    if not (np.all(np.isfinite(S)) and np.all(np.isfinite(E))):
        raise ValueError("parameters 'S_min', 'E_min', 'B': the steps S = S_min + E_min / B or the examples "
                         "E = B S overflow float64 (beyond 1.8e308)")
    return S, E


@dataclasses.dataclass(frozen=True)
class StepsExamplesFit:
    """Least-squares fit of ``S = S_min + E_min / B`` to (steps, examples) pairs.

    Attributes: ``S_min``, ``E_min``, ``b_noise`` (= E_min / S_min) and
    ``residual_rms`` (root mean square of the fitted-minus-observed steps).
    """

    S_min: float
    E_min: float
    b_noise: float
    residual_rms: float


def fit_steps_examples(steps, examples):
    r"""Fit :math:`S_{\min}, E_{\min}` (hence :math:`\mathcal B_{noise}=E_{\min}/S_{\min}`) to (S, E) pairs.

    Each pair comes from one training run to a fixed target loss at batch
    size :math:`B = E/S`. Since :math:`S = S_{\min} + E_{\min}/B` is linear
    in :math:`(S_{\min}, E_{\min})`, the fit is ordinary least squares on the
    steps with regressors :math:`(1, 1/B)`.

    Parameters
    ----------
    steps, examples : array_like, shape (k,)
        Positive steps and examples; at least two distinct batch sizes.

    Returns
    -------
    StepsExamplesFit

    Raises
    ------
    ValueError
        Shapes differ, non-positive entries, fewer than two distinct ``E/S``,
        or a fit with ``S_min <= 0`` or ``E_min <= 0`` (the data do not
        follow the hyperbola).

    Notes
    -----
    https://kexue.fm/archives/10542 ("fit (S, E) pairs to estimate
    B_noise"). Exact for data on the hyperbola (up to rounding, tested).

    Examples
    --------
    >>> S, E = steps_examples_tradeoff(100.0, 6400.0, [16, 64, 256])
    >>> fit = fit_steps_examples(S, E)
    >>> round(fit.S_min, 9), round(fit.E_min, 6), round(fit.b_noise, 9)
    (100.0, 6400.0, 64.0)
    """
    S = vector(steps, "steps")
    E = vector(examples, "examples")
    if S.shape != E.shape:
        raise ValueError(f"parameters 'steps' and 'examples' must have the same shape, got {S.shape} and {E.shape}")
    if np.any(S <= 0) or np.any(E <= 0):
        raise ValueError("parameters 'steps' and 'examples' must be > 0")
    inv_b = S / E
    if np.unique(inv_b).size < 2:
        raise ValueError("parameters 'steps'/'examples' must cover at least two distinct batch sizes E/S")
    eS = exponent(S)
    S = np.ldexp(S, -eS)                           # exact; the fit is linear in S
    X = np.stack([np.ones_like(inv_b), inv_b], axis=1)
    coef, *_ = np.linalg.lstsq(X, S, rcond=None)
    s_min = unscale(float(coef[0]), eS, "the fitted S_min (parameter 'steps')")
    e_min = unscale(float(coef[1]), eS, "the fitted E_min (parameter 'steps')")
    if s_min <= 0 or e_min <= 0:
        raise ValueError(f"parameters 'steps'/'examples' do not follow S = S_min + E_min/B with positive "
                         f"S_min, E_min (fit gave S_min={s_min:.4g}, E_min={e_min:.4g})")
    resid = unscale(float(np.sqrt(np.mean((X @ coef - S) ** 2))), eS, "the residual (parameter 'steps')")
    return StepsExamplesFit(s_min, e_min, float(coef[1]) / float(coef[0]), resid)


# --------------------------------------------------------------------------- sign updates

@dataclasses.dataclass(frozen=True)
class SignMoments:
    r"""First and second moments of :math:`u = \mathrm{sign}(\tilde g_B)`.

    ``mean`` (n,): :math:`\mathbb E u_i`; ``second`` (n, n):
    :math:`\mathbb E u_i u_j` (1 on the diagonal, :math:`\mu_i\mu_j` off it:
    coordinates are independent for a diagonal covariance).
    """

    mean: np.ndarray
    second: np.ndarray


def _sign_mean(g, s, B, exact):
    """E sign(g + s z / sqrt(B)), z ~ N(0, 1), for scalar B; s = per-sample std (>= 0)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        x = np.where(s > 0, g / np.where(s > 0, s, 1.0) * math.sqrt(B / 2.0),
                     np.where(g == 0, 0.0, np.sign(g) * np.inf))
        if exact:                                    # erf(x), x = g sqrt(B/2) / s; erf(+-inf) = +-1
            return special.erf(x)
        # erf(x) ~ x / sqrt(x^2 + pi/4), written so that neither x^2 overflows nor (pi/4)/x^2 does
        small = np.abs(x) <= 1.0
        return np.where(small, x / np.sqrt(np.where(small, x, 0.0) ** 2 + math.pi / 4.0),
                        np.sign(x) / np.sqrt(1.0 + (math.pi / 4.0) / np.where(small, 1.0, x) ** 2))


def sign_moments(g, sigma, B, exact=True):
    r"""Moments of the SignSGD update :math:`u=\mathrm{sign}(\tilde g_B)`, :math:`\tilde g_B\sim\mathcal N(g, \mathrm{diag}(\sigma^2)/B)`.

    .. math::

        \mathbb E u_i = \mathrm{erf}\Big(\frac{g_i}{\sigma_i}\sqrt{B/2}\Big)
        \quad(\texttt{exact=True}),\qquad
        \mu_i = \frac{g_i/\sigma_i}{\sqrt{\pi/(2B) + (g_i/\sigma_i)^2}}
        \quad(\texttt{exact=False}),

    the second from :math:`\mathrm{erf}(x)\approx x/\sqrt{x^2+\pi/4}` (the
    constant :math:`\pi/4` matches the slope :math:`2/\sqrt\pi` at 0).
    :math:`\mathbb E u_i^2 = 1` and, coordinates being independent,
    :math:`\mathbb E u_iu_j = \mu_i\mu_j` for :math:`i\ne j`.

    Parameters
    ----------
    g : array_like, shape (n,)
        Mean gradient.
    sigma : array_like, shape (n,)
        Per-sample standard deviations :math:`\sigma_i \ge 0` (a zero makes
        that coordinate deterministic: :math:`u_i = \mathrm{sign}(g_i)`).
    B : float
        Batch size, >= 1.
    exact : bool, optional
        ``True``: the erf form (exact under the Gaussian model);
        ``False``: the article's elementary approximation.

    Returns
    -------
    SignMoments
        ``mean`` (n,), ``second`` (n, n).

    Raises
    ------
    ValueError
        Negative ``sigma``, ``B < 1``, shape mismatch, NaN/Inf.

    Notes
    -----
    Accuracy: ``exact=True`` uses ``scipy.special.erf`` (a few ulp);
    ``exact=False`` deviates from erf by at most 0.108 in absolute value
    (the maximum of :math:`|{\rm erf}(x)-x/\sqrt{x^2+\pi/4}|`, at
    :math:`x\approx1.33`; tested), exact at 0 in value and slope and as
    :math:`x\to\infty`.
    A coordinate with :math:`g_i=\sigma_i=0` has :math:`u_i=0`, so its
    second moment is 0. https://kexue.fm/archives/10542 ("符号近似").

    Examples
    --------
    >>> m = sign_moments([1.0, -1.0], [2.0, 2.0], 8.0)        # erf(+-1) = +-0.8427
    >>> np.round(m.mean, 4), np.round(m.second, 4)
    (array([ 0.8427, -0.8427]), array([[ 1.    , -0.7101],
           [-0.7101,  1.    ]]))
    >>> np.round(sign_moments([1.0], [2.0], 8.0, exact=False).mean, 4)   # 1/sqrt(1 + pi/4)
    array([0.7484])
    """
    g = vector(g, "g")
    s = stds(sigma, g.shape[0])
    B, scalar = batch(B)
    if not scalar:
        raise ValueError("parameter 'B' must be a scalar here (call once per batch size)")
    exact = check_bool(exact, "exact")
    mu = _sign_mean(g, s, B, exact)
    second = np.outer(mu, mu)
    np.fill_diagonal(second, np.where((g == 0) & (s == 0), 0.0, 1.0))
    return SignMoments(mu, second)


def _sign_lr_terms(g, sigma, H, B, exact):
    """``sum mu_i g_i`` and ``Tr(E[u u^T] H)`` for each B, on g and H divided by powers of two.

    Returns ``(num, den, eg, eH, scalar)``: the true values are ``2^eg num`` and
    ``2^eH den`` (mu depends only on g / sigma, which the scaling keeps).
    """
    g = vector(g, "g")
    n = g.shape[0]
    s = stds(sigma, n)
    Hm = hessian(H, n)
    Bv, scalar = batch(B)
    exact = check_bool(exact, "exact")
    Bs = np.atleast_1d(Bv).ravel()
    eg, eH = exponent(g), exponent(Hm)
    gs, Hs = np.ldexp(g, -eg), np.ldexp(Hm, -eH)
    hd = np.diag(Hs)
    diag2 = np.where((g == 0) & (s == 0), 0.0, 1.0)
    num = np.empty(Bs.shape)
    den = np.empty(Bs.shape)
    for k, b in enumerate(Bs):
        mu = _sign_mean(g, s, float(b), exact)
        num[k] = mu @ gs
        den[k] = hd @ diag2 + mu @ Hs @ mu - hd @ (mu * mu)  # Tr(E[u u^T] H)
    if not np.all(den > 0):
        raise ValueError("parameter 'g': the sign update is 0 with probability 1 (g = sigma = 0)")
    shape = () if scalar else np.shape(Bv)
    return num.reshape(shape), den.reshape(shape), eg, eH, scalar


def optimal_lr_sign(g, sigma, H, B, exact=True):
    r"""Optimal learning rate of SignSGD (the article's model of Adam) for batch size ``B``.

    .. math::

        \eta^* = \frac{\mathbb E[u]^\top g}{\mathrm{Tr}(\mathbb E[uu^\top] H)}
        = \frac{\sum_i \mu_i g_i}{\sum_i H_{ii} + \sum_{i\ne j}\mu_i\mu_j H_{ij}},

    with :math:`\mu` from :func:`sign_moments`. Special cases (same call):
    a diagonal ``H`` (pass a 1-D array) gives
    :math:`\eta^*=\frac{1}{\sum_i H_{ii}}\sum_i\frac{g_i^2/\sigma_i}{\sqrt{\pi/2B+(g_i/\sigma_i)^2}}`
    with ``exact=False``, monotone and bounded in ``B``. The mean-field
    approximation (one common :math:`\kappa`) is :meth:`Surge.eta` of
    :func:`surge`.

    Parameters
    ----------
    g : array_like, shape (n,)
        Mean gradient.
    sigma : array_like, shape (n,)
        Per-sample standard deviations (diagonal covariance), >= 0.
    H : array_like, shape (n, n) or (n,)
        Symmetric positive-definite Hessian (1-D: diagonal).
    B : float or array_like
        Batch size(s) >= 1.
    exact : bool, optional
        erf moments (``True``, exact on a quadratic loss under Gaussian
        noise) or the elementary approximation (``False``).

    Returns
    -------
    float or ndarray
        Same shape as ``B``.

    Raises
    ------
    ValueError
        ``H`` not symmetric positive definite, negative ``sigma``,
        ``B < 1``, shape mismatch, NaN/Inf, a result beyond float64 (the
        inputs are scaled by exact powers of two, as in :func:`b_noise`).
    TypeError
        ``exact`` not a bool.

    Notes
    -----
    Accuracy: ``exact=True`` is exact for the noisy quadratic model with
    diagonal noise up to rounding (checked by Monte-Carlo within its
    confidence interval, ``tests/scaling/test_nqm.py``). https://kexue.fm/archives/10542
    eq. (eta-opt-sign).

    Examples
    --------
    >>> float(optimal_lr_sign([1.0, 1.0], [0.0, 0.0], [1.0, 1.0], 1))   # noiseless: u = (1, 1), eta = 2/2
    1.0
    >>> np.round(optimal_lr_sign([1.0, 1.0], [1.0, 1.0], [[2.0, 1.0], [1.0, 2.0]], [1, 100]), 4)
    array([0.2768, 0.3333])
    """
    num, den, eg, eH, scalar = _sign_lr_terms(g, sigma, H, B, exact)
    return unscale(num / den, eg - eH, "the optimal learning rate (parameters 'g', 'H')")


def loss_decrease_sign(g, sigma, H, B, exact=True):
    r"""Expected loss decrease of one SignSGD step at :func:`optimal_lr_sign`.

    .. math::

        \Delta L = \frac12\,\frac{(\sum_i\mu_i g_i)^2}{\sum_i H_{ii}+\sum_{i\ne j}\mu_i\mu_j H_{ij}} .

    Parameters and Raises as :func:`optimal_lr_sign`.

    Returns
    -------
    float or ndarray

    Notes
    -----
    Exact on a quadratic loss with ``exact=True``. https://kexue.fm/archives/10542
    eq. (Delta-L-sign).

    Examples
    --------
    >>> float(loss_decrease_sign([1.0, 1.0], [0.0, 0.0], [1.0, 1.0], 1))   # (1/2) 2^2 / 2
    1.0
    """
    num, den, eg, eH, scalar = _sign_lr_terms(g, sigma, H, B, exact)
    return unscale(0.5 * num * num / den, 2 * eg - eH, "the loss decrease (parameters 'g', 'H')")


@dataclasses.dataclass(frozen=True)
class Surge:
    r"""Mean-field SignSGD learning-rate curve and its surge parameters (:func:`surge`).

    Attributes
    ----------
    beta_noise : float
        :math:`\sqrt{D/O}`; ``inf`` when :math:`O \le 0` (no surge).
    eta_max : float
        :math:`\sum|g_i| / (2\sqrt{DO})`, the peak value of the curve
        (reached at a finite batch size only if ``beta_noise < 1``);
        ``inf`` when :math:`O\le0`.
    b_noise : float
        Batch size of the peak, :math:`\pi\kappa^2\beta_n^2/(2(1-\beta_n^2))`;
        ``inf`` when ``beta_noise >= 1`` (the curve rises monotonically).
    b_noise_2 : float
        :math:`\pi\kappa^2 D/(2(D+O))` (= :math:`\pi\kappa^2\beta_n^2/(2(1+\beta_n^2))`
        for :math:`O>0`): :math:`\Delta L = \Delta L_{\max}/(1+\mathcal B_{noise-2}/B)`.
    delta_loss_max : float
        :math:`(\sum|g_i|)^2/(2(D+O))`.
    eta_inf : float
        :math:`\lim_{B\to\infty}\eta^* = \sum|g_i|/(D+O)`.
    kappa, D, O, abs_g_sum : float
        The inputs reduced: :math:`D=\sum_i H_{ii}`,
        :math:`O=\sum_{i\ne j}\mathrm{sign}(g_ig_j)H_{ij}`, :math:`\sum_i|g_i|`.
    """

    beta_noise: float
    eta_max: float
    b_noise: float
    b_noise_2: float
    delta_loss_max: float
    eta_inf: float
    kappa: float
    D: float
    O: float  # noqa: E741 - the article's symbol
    abs_g_sum: float

    @property
    def has_surge(self):
        """True when the optimal learning rate rises then falls with B (``beta_noise < 1``)."""
        return bool(self.beta_noise < 1.0)

    def beta(self, B):
        r""":math:`\beta(B) = (1 + \pi\kappa^2/(2B))^{-1/2}` for batch size(s) ``B >= 1``."""
        B, _ = batch(B)
        r = self.kappa * np.sqrt(math.pi / (2.0 * B))        # beta = 1 / sqrt(1 + r^2), r^2 never formed
        return 1.0 / np.hypot(1.0, r)

    def _curve(self, B, power, what):
        # beta^p (sum|g|)^p / (D + beta^2 O) = (beta^p (sum|g|/D)^p D^(p-1)) / (1 + beta^2 O/D), without overflow
        b = self.beta(B)
        with np.errstate(over="ignore", under="ignore"):
            out = (b * (self.abs_g_sum / self.D)) ** power * self.D ** (power - 1) / (1.0 + b * b * (self.O / self.D))
            out = out / (2.0 if power == 2 else 1.0)
        if not np.all(np.isfinite(out)):
            raise ValueError(f"parameter 'B': {what} overflows float64 for this problem (sum|g| = "
                             f"{self.abs_g_sum:.3g}, D = {self.D:.3g}); rescale g or H")
        return out

    def eta(self, B):
        r"""The curve :math:`\eta^*(B)\approx\beta\sum|g_i|/(D+\beta^2 O)` (mean-field optimal LR)."""
        return self._curve(B, 1, "the optimal learning rate")

    curve = eta

    def eta_small_batch(self, B):
        r"""Small-batch limit :math:`\eta^*\approx\frac{\sum_i|g_i|}{\kappa D}\sqrt{2B/\pi}` (:math:`B\ll\pi\kappa^2/2`).

        The square-root law of Adam at small batch. Erratum: the article
        prints :math:`\sum_i\sigma_i` in the numerator; the leading term of
        :meth:`eta` (and of the diagonal formula of :func:`optimal_lr_sign`
        with :math:`\sigma_i=\kappa|g_i|`) has :math:`\sum_i|g_i|`
        (``derivations/batch_lr.py``; ERRATA.md).
        """
        B, _ = batch(B)
        with np.errstate(over="ignore", under="ignore"):
            out = (self.abs_g_sum / self.D) / self.kappa * np.sqrt(2.0 * B / math.pi)
        if not np.all(np.isfinite(out)):
            raise ValueError(f"parameter 'B': the small-batch learning rate overflows float64 for this problem "
                             f"(sum|g| = {self.abs_g_sum:.3g}, D = {self.D:.3g}, kappa = {self.kappa:.3g})")
        return out

    def delta_loss(self, B):
        r""":math:`\Delta L(B) = \tfrac12(\beta\sum|g_i|)^2/(D+\beta^2O) = \Delta L_{\max}/(1+\mathcal B_{noise-2}/B)`."""
        return self._curve(B, 2, "the loss decrease")


def surge(g, H, kappa):
    r"""The surge phenomenon of SignSGD under the mean-field approximation.

    With :math:`\mu_i\approx\mathrm{sign}(g_i)\,\beta`,
    :math:`\beta=(1+\pi\kappa^2/2B)^{-1/2}` (one common
    :math:`\kappa^2\approx(\sigma_i/g_i)^2`), :math:`D=\sum_iH_{ii}`,
    :math:`O=\sum_{i\ne j}\mathrm{sign}(g_ig_j)H_{ij}`:

    .. math::

        \eta^*\approx\frac{\beta\sum_i|g_i|}{D+\beta^2 O}
        = \frac{\eta_{\max}}{\frac12(\beta_{noise}/\beta+\beta/\beta_{noise})},\quad
        \beta_{noise}=\sqrt{D/O},\quad \eta_{\max}=\frac{\sum_i|g_i|}{2\sqrt{DO}},

    which peaks at :math:`\beta=\beta_{noise}`, i.e. at
    :math:`\mathcal B_{noise}=\frac{\pi\kappa^2\beta_{noise}^2}{2(1-\beta_{noise}^2)}`,
    and falls beyond it (the "surge"); no surge when
    :math:`\beta_{noise}\ge1`. Also
    :math:`\Delta L\approx\Delta L_{\max}/(1+\mathcal B_{noise-2}/B)` with
    :math:`\frac1{\mathcal B_{noise-2}}-\frac1{\mathcal B_{noise}}=\frac4{\pi\kappa^2}`.

    Parameters
    ----------
    g : array_like, shape (n,)
        Mean gradient, not all zero.
    H : array_like, shape (n, n) or (n,)
        Symmetric positive-definite Hessian.
    kappa : float
        The mean-field noise-to-signal ratio :math:`\kappa>0`.

    Returns
    -------
    Surge
        Fields ``beta_noise``, ``eta_max``, ``b_noise``, ``b_noise_2``,
        ``delta_loss_max``, ``eta_inf``; methods ``eta(B)`` (the curve, alias
        ``curve``), ``delta_loss(B)``, ``beta(B)``, ``eta_small_batch(B)``.

    Raises
    ------
    ValueError
        ``g == 0``, ``H`` not symmetric positive definite, ``kappa <= 0``, a
        finite field beyond float64 (the inputs are scaled by exact powers of
        two; ``inf`` appears only where documented: no surge). The methods
        raise the same way for a curve value beyond float64.

    Notes
    -----
    ``b_noise_2`` and ``delta_loss_max`` are computed in the form
    :math:`\pi\kappa^2D/(2(D+O))`, :math:`(\sum|g|)^2/(2(D+O))`, which equals
    the article's expressions for :math:`O>0` (derived in
    ``derivations/batch_lr.py``) and stays valid for :math:`O\le0`
    (:math:`D+O=s^\top Hs>0` with :math:`s=\mathrm{sign}(g)` when no
    :math:`g_i` is 0; zeros only add positive diagonal terms). Accuracy: a
    few n^2 eps relative. The approximation differs from the Surge paper
    (https://arxiv.org/abs/2405.14578), which assumes
    :math:`B\ll\pi(\sigma_i/g_i)^2/2` per coordinate.
    https://kexue.fm/archives/10542 ("涌现行为", "效率关系").

    Examples
    --------
    >>> s = surge([1.0, 1.0, 1.0, 1.0, 1.0], np.eye(5) + 0.5 * (1 - np.eye(5)), kappa=2.0)
    >>> round(s.beta_noise, 6), round(s.eta_max, 6), s.has_surge     # sqrt(5/10), 5/(2 sqrt(50))
    (0.707107, 0.353553, True)
    >>> round(s.b_noise, 6), round(s.b_noise_2, 6)                    # 2 pi (1/2)/(1/2), 2 pi (1/2)/(3/2)
    (6.283185, 2.094395)
    >>> round(float(s.eta(s.b_noise)), 6)                             # the peak value is eta_max
    0.353553
    """
    g = gradient(g)
    n = g.shape[0]
    Hm = hessian(H, n)
    kappa = check_real(kappa, "kappa", low=0.0, low_open=True)
    # exact powers of two: g = 2^eg g~, H = 2^eH H~, kappa = 2^ek kappa~ (no intermediate overflow)
    eg, eH, ek = exponent(g), exponent(Hm), exponent(kappa)
    sg = np.sign(g)
    Hs = np.ldexp(Hm, -eH)
    D = float(np.trace(Hs))
    # O = sum_{i != j} sign(g_i g_j) H_ij = s^T H s - sum_i s_i^2 H_ii; D + O > 0 for PD H
    O = float(sg @ Hs @ sg) - float(np.diag(Hs) @ (sg * sg))
    DO = D + O
    abs_g = float(np.sum(np.abs(np.ldexp(g, -eg))))
    c = math.pi * math.ldexp(kappa, -ek) ** 2 / 2.0          # pi kappa^2 / 2 = 2^(2 ek) c
    if O > 0:
        beta_n = math.sqrt(D / O)
        eta_max = unscale(abs_g / (2.0 * math.sqrt(D) * math.sqrt(O)), eg - eH, "eta_max (parameters 'g', 'H')")
    else:
        beta_n = math.inf
        eta_max = math.inf
    b_n = unscale(c * beta_n ** 2 / (1.0 - beta_n ** 2), 2 * ek, "b_noise (parameter 'kappa')") if beta_n < 1.0 else math.inf
    return Surge(beta_noise=beta_n, eta_max=eta_max, b_noise=b_n,
                 b_noise_2=unscale(c * D / DO, 2 * ek, "b_noise_2 (parameter 'kappa')"),
                 delta_loss_max=unscale(abs_g * abs_g / (2.0 * DO), 2 * eg - eH, "delta_loss_max (parameters 'g', 'H')"),
                 eta_inf=unscale(abs_g / DO, eg - eH, "eta_inf (parameters 'g', 'H')"), kappa=kappa,
                 D=unscale(D, eH, "D = sum_i H_ii (parameter 'H')"), O=unscale(O, eH, "O = sum_{i != j} sign(g_i g_j) H_ij (parameter 'H')"),
                 abs_g_sum=unscale(abs_g, eg, "sum_i |g_i| (parameter 'g')"))
