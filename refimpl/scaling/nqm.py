r"""Noisy quadratic model (NQM): Monte-Carlo optimal learning rates and training runs.

The model of https://kexue.fm/archives/10542 made literal: the loss is
:math:`L(\theta)=\frac12\theta^\top H\theta` (so the gradient at the current
point is :math:`g=H\theta`), a batch of ``B`` samples gives the noisy
gradient :math:`\tilde g_B = g + \varepsilon`,
:math:`\varepsilon\sim\mathcal N(0,\Sigma/B)` (the average of ``B``
per-sample gradients with covariance :math:`\Sigma`, drawn directly as its
exact Gaussian law), and the update is :math:`u=\tilde g_B` (SGD) or
:math:`u=\mathrm{sign}(\tilde g_B)` (SignSGD).

Because the loss is quadratic, :math:`L(\theta-\eta u) - L(\theta) =
-\eta\,u^\top g + \frac12\eta^2\,u^\top H u` exactly; the Monte-Carlo
objective (the average over N draws) is therefore an exact quadratic in
:math:`\eta` and its argmin is :math:`\hat\eta = \bar a/\bar b` with
:math:`a = u^\top g`, :math:`b = u^\top H u`. This is the argmin over all
:math:`\eta` of the sampled objective (no grid), and it converges to the true
:math:`\eta^*` at the Monte-Carlo rate.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import special, stats

from .._backend import is_cupy_array, pick
from .._gpu import device_module, to_host
from .._validation import check_choice, check_int, check_real, check_rng, check_size
from . import _fast, _xp, reference
from ._common import as_array, covariance, gradient, hessian, is_diagonal, vector

__all__ = ["NQMOptimalLR", "NQMTraining", "nqm_optimal_lr", "nqm_train_to_target"]

UPDATES = ("sgd", "sign")
NOISE_MODES = ("constant", "scaled")


def _batch_sizes(batch_sizes):
    bs = np.atleast_1d(as_array(batch_sizes, "batch_sizes"))
    if bs.ndim != 1 or bs.size == 0:
        raise ValueError(f"parameter 'batch_sizes' must be a scalar or a non-empty 1-D array, got shape {bs.shape}")
    if np.any(bs < 1):
        raise ValueError(f"parameter 'batch_sizes' must be >= 1, got min {bs.min()!r}")
    return bs


def _sums_reference(g, H, Sigma, B, update, a0, b0, n_samples, rng):
    """The N_STATS shifted sums from :func:`reference.nqm_samples` (the definition)."""
    L = reference.noise_factor(Sigma) / math.sqrt(B)
    a, b = reference.nqm_samples(g, H, L, update, n_samples, rng)
    return _xp.shifted_sums(np, a, b, a0, b0)


def _sums_cupy(g, H, Sigma, B, update, a0, b0, n_samples, rng):
    return _xp.nqm_sums(device_module(), g, H, Sigma, B, update, a0, b0, n_samples, rng)


@dataclasses.dataclass(frozen=True)
class NQMOptimalLR:
    r"""Result of :func:`nqm_optimal_lr` (one entry per batch size).

    Attributes
    ----------
    batch_sizes : ndarray (k,)
    eta : ndarray (k,)
        Monte-Carlo argmin :math:`\hat\eta=\bar a/\bar b`.
    stderr : ndarray (k,)
        Delta-method standard error of ``eta``.
    ci_low, ci_high : ndarray (k,)
        Two-sided normal confidence interval at level ``confidence``.
    mean_a, mean_b : ndarray (k,)
        :math:`\overline{u^\top g}` and :math:`\overline{u^\top H u}`.
    n_samples : int
    update : str
    confidence : float
    """

    batch_sizes: np.ndarray
    eta: np.ndarray
    stderr: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    mean_a: np.ndarray
    mean_b: np.ndarray
    n_samples: int
    update: str
    confidence: float

    def loss_change(self, eta):
        r"""Monte-Carlo :math:`\mathbb E L(\theta-\eta u) - L(\theta) = -\eta\bar a + \frac12\eta^2\bar b` per batch size.

        ``eta`` broadcasts against the batch axis: a scalar gives shape (k,),
        an array of shape (m, 1) gives (m, k).
        """
        eta = as_array(eta, "eta")
        return -eta * self.mean_a + 0.5 * eta * eta * self.mean_b


def nqm_optimal_lr(g, H, Sigma, batch_sizes, *, update="sgd", n_samples=100_000, rng=None,
                   confidence=0.95, backend="auto"):
    r"""Monte-Carlo optimal learning rate :math:`\arg\min_\eta\mathbb E L(\theta-\eta u)` on the NQM.

    For each batch size ``B``, draws ``n_samples`` noisy gradients
    :math:`\tilde g_B\sim\mathcal N(g,\Sigma/B)`, forms the update ``u``
    (``"sgd"``: :math:`\tilde g_B`; ``"sign"``: :math:`\mathrm{sign}\,\tilde g_B`)
    and returns the exact minimiser of the sampled objective,

    .. math::

        \hat\eta = \frac{\frac1N\sum_s u_s^\top g}{\frac1N\sum_s u_s^\top H u_s},

    with a delta-method confidence interval. For SGD this estimates
    :func:`~refimpl.scaling.optimal_lr_sgd` (exact on the NQM); for sign
    updates with diagonal ``Sigma``, :func:`~refimpl.scaling.optimal_lr_sign`
    with ``exact=True``.

    Parameters
    ----------
    g : array_like, shape (n,)
        Gradient :math:`H\theta` at the current point, not all zero.
    H : array_like, shape (n, n) or (n,)
        Symmetric positive-definite Hessian (1-D: diagonal; a diagonal 2-D
        matrix also takes the O(n)-per-sample path).
    Sigma : array_like, shape (n, n) or (n,)
        Per-sample gradient covariance (PSD), or the vector of variances.
    batch_sizes : float or array_like, shape (k,)
        Batch sizes, each >= 1.
    update : {"sgd", "sign"}, optional
    n_samples : int, optional
        Monte-Carlo draws per batch size (>= 2).
    rng : numpy.random.Generator or int or None, optional
        Source of the normals (reference) or of the seeds (numba, cupy); an
        int seed makes the call reproducible.
    confidence : float, optional
        Level of the interval, in (0, 1).
    backend : {"auto", "reference", "numba", "cupy"}, optional
        ``"reference"`` (also ``"numpy"``): the definition,
        :func:`refimpl.scaling.reference.nqm_samples`, one sample per loop
        iteration with normals from ``rng`` in order (slow: a few
        microseconds per sample). ``"numba"`` (``"auto"`` on the CPU): fused
        parallel kernel with its own counter-based generator (reproducible
        for a given seed whatever the thread count). ``"cupy"`` (chosen by
        ``"auto"`` when ``g``, ``H`` or ``Sigma`` is a CuPy array): the
        array-namespace code of ``_xp.py`` on the GPU, normals from a CuPy
        ``RandomState`` seeded from ``rng`` (reproducible on one device), in
        blocks of 2**24 numbers. The backends use different random streams,
        so they agree statistically, not bitwise (checked in standard
        errors). The result holds k summary statistics and is the same NumPy
        dataclass on every backend.

    Returns
    -------
    NQMOptimalLR

    Raises
    ------
    ValueError
        Shape mismatch, ``H`` not symmetric positive definite, negative
        variances or non-PSD ``Sigma``, a batch size < 1, ``n_samples < 2``,
        ``confidence`` outside (0, 1), unknown ``update``/``backend``,
        magnitudes whose statistics :math:`u^\top g`, :math:`u^\top Hu`
        would overflow or underflow float64 (e.g. ``g`` of size 1e300 or
        1e-170: rescale the problem).
    TypeError
        A non-integer ``n_samples``, a bool or float ``rng``.

    Notes
    -----
    Cost per sample: O(n) with diagonal ``H`` and ``Sigma``, O(n^2) if
    either is dense. Accuracy: the estimate is unbiased to O(1/N) (a ratio
    of means) and its error is reported in ``stderr``; the interval has the
    nominal coverage for large N (delta method; :math:`b>0` for every sample
    since ``H`` is positive definite).

    Examples
    --------
    >>> res = nqm_optimal_lr([1.0, 1.0], [1.0, 1.0], [1.0, 1.0], [1, 3], n_samples=200_000, rng=0)
    >>> bool(np.all(np.abs(res.eta - np.array([0.5, 0.75])) < 4 * res.stderr))   # B / (B + 1)
    True
    """
    _, sums_of = pick(backend, g, H, Sigma, reference=_sums_reference, numba=_fast.nqm_sums, cupy=_sums_cupy)
    # the O(n^2) model is validated on the host; only the O(N n) sampling runs on the device
    g, H, Sigma = (to_host(a) if is_cupy_array(a) else a for a in (g, H, Sigma))
    g = gradient(g)
    n = g.shape[0]
    Hm = hessian(H, n)
    S = covariance(Sigma, n)
    bs = _batch_sizes(batch_sizes)
    check_choice(update, "update", UPDATES)
    n_samples = check_int(n_samples, "n_samples", min_value=2)
    check_size((n_samples, 2), "n_samples")   # the reference keeps (a_s, b_s) per sample
    confidence = check_real(confidence, "confidence", low=0.0, high=1.0, low_open=True, high_open=True)
    gen = check_rng(rng)
    u0 = g if update == "sgd" else np.sign(g)
    with np.errstate(over="ignore", under="ignore"):
        a0 = float(u0 @ g)          # the noiseless a and b: the sums are shifted by them,
        b0 = float(u0 @ Hm @ u0)    # which keeps the variances free of cancellation
    _check_scale(g, Hm, S, bs, update, a0, b0, n_samples)
    sums = np.stack([sums_of(g, Hm, S, float(B), update, a0, b0, n_samples, gen) for B in bs])
    return _summarise(bs, sums, a0, b0, n_samples, update, confidence)


def _check_scale(g, H, S, bs, update, a0, b0, n_samples):
    """Refuse magnitudes whose per-sample statistics a = u.g, b = u^T H u leave the float64 range.

    Overflow: nearly every sample has ``|x_i| <= max|g| + 8 max sqrt(Sigma_ii/B)``
    (``|u_i| <= 1`` for sign updates), so ``|a| <= n |u| |g|``, ``|b| <= n^2 |u|^2 |H|``,
    and the sums of squares of ``N`` samples need ``N max(|a|, |b|)^2`` in range.
    Underflow: the noiseless ``a0 = u0.g`` and ``b0 = u0^T H u0`` must be normal numbers.
    """
    n = g.shape[0]
    gmax = float(np.max(np.abs(g)))
    smax = math.sqrt(float(np.max(np.diag(S))) / float(bs.min()))
    hmax = float(np.max(np.abs(H)))
    umax = 1.0 if update == "sign" else gmax + 8.0 * smax
    limit = np.finfo(np.float64).max / 16.0
    tiny = np.finfo(np.float64).tiny
    with np.errstate(over="ignore"):
        worst = max(n * umax * gmax, n * n * umax * umax * hmax)
        fits = worst * worst * n_samples < limit
    if not fits:
        raise ValueError("parameters 'g', 'H', 'Sigma': the sampled statistics u.g and u^T H u would overflow "
                         f"float64 (max|g| = {gmax:.3g}, max sqrt(Sigma_ii / B) = {smax:.3g}, max|H| = {hmax:.3g}); "
                         "rescale the problem")
    if not (abs(a0) >= tiny and b0 >= tiny):
        raise ValueError("parameters 'g', 'H': the noiseless statistics u.g and u^T H u underflow float64 "
                         f"(u.g = {a0:.3g}, u^T H u = {b0:.3g}); rescale the problem")


def _summarise(bs, sums, a0, b0, n_samples, update, confidence):
    N = sums[:, 0]
    ma = sums[:, 1] / N                      # mean of a - a0
    mb = sums[:, 2] / N
    va = (sums[:, 3] / N - ma * ma) * N / (N - 1)
    vb = (sums[:, 4] / N - mb * mb) * N / (N - 1)
    cab = (sums[:, 5] / N - ma * mb) * N / (N - 1)
    mean_a = a0 + ma
    mean_b = b0 + mb
    eta = mean_a / mean_b
    var = np.clip(va - 2.0 * eta * cab + eta * eta * vb, 0.0, None) / (N * mean_b * mean_b)
    se = np.sqrt(var)
    zq = float(stats.norm.ppf(0.5 + confidence / 2.0))
    return NQMOptimalLR(bs, eta, se, eta - zq * se, eta + zq * se, mean_a, mean_b, int(n_samples),
                        update, confidence)


# ----------------------------------------------------------------------------- training runs

@dataclasses.dataclass(frozen=True)
class NQMTraining:
    r"""Result of :func:`nqm_train_to_target`.

    Attributes
    ----------
    batch_sizes : ndarray (k,)
    steps : ndarray (k,)
        Mean number of steps to reach the target loss.
    examples : ndarray (k,)
        ``batch_sizes * steps``.
    steps_stderr : ndarray (k,)
        Standard error of ``steps`` over the runs:
        ``steps_per_run.std(axis=1, ddof=1) / sqrt(n_runs)`` (the unbiased
        sample variance).
    steps_per_run : ndarray (k, n_runs)
    b_noise_start, b_noise_end : float
        :math:`\mathrm{Tr}(\Sigma_t H)/g_t^\top H g_t` at the start and, averaged
        over runs and batch sizes, at the last step (equal for ``noise="scaled"``).
    """

    batch_sizes: np.ndarray
    steps: np.ndarray
    examples: np.ndarray
    steps_stderr: np.ndarray
    steps_per_run: np.ndarray
    b_noise_start: float
    b_noise_end: float

    def fit(self):
        """:func:`~refimpl.scaling.fit_steps_examples` on the mean (steps, examples) pairs."""
        from .batch import fit_steps_examples

        return fit_steps_examples(self.steps, self.examples)


def nqm_train_to_target(theta0, H, Sigma, batch_sizes, target_loss, *, update="sgd", lr="optimal",
                        noise="constant", n_runs=8, max_steps=100_000, rng=None):
    r"""Train on the NQM until :math:`L(\theta)\le` ``target_loss``; return (steps, examples) per batch size.

    Each step draws :math:`\tilde g_B\sim\mathcal N(H\theta,\Sigma_t/B)` and
    sets :math:`\theta\leftarrow\theta-\eta_t u`. With ``lr="optimal"`` the
    step size is the per-step optimum at the current point
    (:func:`~refimpl.scaling.optimal_lr_sgd`, or
    :func:`~refimpl.scaling.optimal_lr_sign` with erf moments), the setting
    of the article's data-efficiency argument
    :math:`S=(1+\mathcal B_{noise}/B)S_{\min}`, :math:`E=BS`; pass a float
    for a fixed learning rate.

    Parameters
    ----------
    theta0 : array_like, shape (n,)
        Starting point; :math:`L(\theta_0)` must exceed ``target_loss``.
    H : array_like, shape (n, n) or (n,)
        Symmetric positive-definite Hessian.
    Sigma : array_like, shape (n, n) or (n,)
        Per-sample covariance at the start (``"sign"`` needs it diagonal).
    batch_sizes : array_like, shape (k,)
        Each >= 1.
    target_loss : float
        > 0.
    update : {"sgd", "sign"}, optional
    lr : "optimal" or float, optional
    noise : {"constant", "scaled"}, optional
        ``"constant"``: :math:`\Sigma_t=\Sigma` (then :math:`\mathcal B_{noise}`
        grows as the gradient shrinks, so the (S, E) pairs follow the
        hyperbola only approximately); ``"scaled"``:
        :math:`\Sigma_t=\Sigma\,g_t^\top Hg_t/g_0^\top Hg_0`, which keeps
        :math:`\mathcal B_{noise}` constant along training.
    n_runs : int, optional
        Independent runs per batch size (>= 2), run together as a batch.
    max_steps : int, optional
    rng : numpy.random.Generator or int or None, optional

    Returns
    -------
    NQMTraining

    Raises
    ------
    ValueError
        Bad shapes, ``H`` not positive definite, negative variances,
        ``target_loss <= 0`` or ``>= L(theta0)``, ``lr <= 0``, a batch size
        < 1, unknown ``update``/``noise``, ``"sign"`` with a non-diagonal
        ``Sigma``, magnitudes at which :math:`L(\theta_0)`, :math:`g^\top Hg`
        or :math:`\mathrm{Tr}(\Sigma H)` overflow float64 (naming
        ``theta0``, ``H``, ``Sigma``), or ``n_runs`` asking for more memory
        than refimpl allows.
    TypeError
        Booleans or strings where numbers are expected, a bad ``rng``.
    RuntimeError
        A run did not reach the target within ``max_steps``.

    Notes
    -----
    NumPy only (the runs of one batch size are vectorised); cost
    O(steps * n_runs * n^2) for dense ``H``. With ``noise="scaled"`` and
    ``lr="optimal"`` the fitted :math:`E_{\min}/S_{\min}` recovers
    :math:`\mathcal B_{noise}` approximately: the hyperbola is a continuum
    (many small steps) law, and with tens of steps the test finds agreement
    to within a factor of 2 (6.2 vs 6.3 in its example); with
    ``noise="constant"`` the fit lands between the start and end values of
    :math:`\mathcal B_{noise}` (tested).

    Examples
    --------
    >>> tr = nqm_train_to_target([1.0, 1.0], [1.0, 0.1], [1.0, 1.0], [1, 4, 16], 1e-3,
    ...                          noise="scaled", n_runs=4, rng=0)
    >>> bool(np.all(np.diff(tr.steps) < 0))        # bigger batches, fewer steps
    True
    """
    th0 = vector(theta0, "theta0")
    n = th0.shape[0]
    Hm = hessian(H, n)
    S0 = covariance(Sigma, n)
    bs = _batch_sizes(batch_sizes)
    check_choice(update, "update", UPDATES)
    check_choice(noise, "noise", NOISE_MODES)
    if isinstance(lr, str):
        check_choice(lr, "lr", ("optimal",))
        fixed_lr = None
    else:
        fixed_lr = check_real(lr, "lr", low=0.0, low_open=True)
    n_runs = check_int(n_runs, "n_runs", min_value=2)
    max_steps = check_int(max_steps, "max_steps", min_value=1)
    check_size((bs.size, n_runs), "n_runs")
    check_size((n_runs, n, 4), "n_runs")      # theta, gradients and noise of the runs of one batch size
    with np.errstate(over="ignore"):
        L0 = 0.5 * float(th0 @ Hm @ th0)
        g0 = Hm @ th0
        g0Hg0 = float(g0 @ Hm @ g0)
        trSH = float(np.sum(S0 * Hm))
    if not (np.isfinite(g0Hg0) and np.isfinite(trSH) and np.isfinite(L0)):
        raise ValueError("parameters 'theta0', 'H', 'Sigma': L(theta0), g^T H g or Tr(Sigma H) overflows float64 "
                         "at these magnitudes; rescale the problem")
    if not g0Hg0 > 0:
        raise ValueError("parameter 'theta0' must give a non-zero gradient H theta0 (g^T H g is 0 or underflows)")
    target_loss = check_real(target_loss, "target_loss", low=0.0, low_open=True)
    if target_loss >= L0:
        raise ValueError(f"parameter 'target_loss'={target_loss} must be below L(theta0)={L0}")
    diag_noise = is_diagonal(S0)
    if update == "sign" and not diag_noise:
        raise ValueError("parameter 'Sigma' must be diagonal for update='sign' (the erf moments assume "
                         "independent coordinates)")
    gen = check_rng(rng)
    F = np.sqrt(np.diag(S0)) if diag_noise else reference.noise_factor(S0)
    var0 = np.diag(S0)
    hd = np.diag(Hm)

    steps = np.zeros((bs.size, n_runs))
    bn_end = []
    for j, B in enumerate(bs):
        th = np.tile(th0, (n_runs, 1))
        active = np.ones(n_runs, dtype=bool)
        count = np.zeros(n_runs)
        last_bn = np.full(n_runs, np.nan)
        for _ in range(max_steps):
            idx = np.flatnonzero(active)
            if idx.size == 0:
                break
            T = th[idx]
            G = T @ Hm                      # rows: g = H theta (H symmetric)
            GH = G @ Hm
            gHg = np.einsum("ij,ij->i", GH, G)
            scale = gHg / g0Hg0 if noise == "scaled" else np.ones(idx.size)
            last_bn[idx] = trSH * scale / gHg
            Z = gen.standard_normal((idx.size, n))
            E = (Z * F if diag_noise else Z @ F.T) * np.sqrt(scale / B)[:, None]
            X = G + E
            if update == "sgd":
                U = X
                if fixed_lr is None:
                    eta = np.einsum("ij,ij->i", G, G) / (gHg + trSH * scale / B)
            else:
                U = np.sign(X)
                if fixed_lr is None:
                    sd = np.sqrt(var0[None, :] * scale[:, None])
                    with np.errstate(divide="ignore", invalid="ignore"):
                        t = G * math.sqrt(B / 2.0) / sd
                    mu = np.where(sd > 0, special.erf(np.where(sd > 0, t, 0.0)), np.sign(G))
                    diag2 = np.where((G == 0) & (sd == 0), 0.0, 1.0)
                    den = diag2 @ hd + np.einsum("ij,ij->i", mu @ Hm, mu) - (mu * mu) @ hd
                    eta = np.einsum("ij,ij->i", mu, G) / den
            if fixed_lr is not None:
                eta = np.full(idx.size, fixed_lr)
            T = T - eta[:, None] * U
            th[idx] = T
            count[idx] += 1
            loss = 0.5 * np.einsum("ij,ij->i", T @ Hm, T)
            done = loss <= target_loss
            active[idx[done]] = False
            if not np.all(np.isfinite(loss)):
                raise RuntimeError(f"training diverged at batch size {B} (lr={lr!r})")
        if np.any(active):
            raise RuntimeError(f"batch size {B}: {int(active.sum())} of {n_runs} runs did not reach "
                               f"target_loss={target_loss} within max_steps={max_steps}")
        steps[j] = count
        bn_end.append(float(np.mean(last_bn)))
    mean = steps.mean(axis=1)
    se = steps.std(axis=1, ddof=1) / math.sqrt(n_runs)
    return NQMTraining(bs, mean, bs * mean, se, steps, trSH / g0Hg0, float(np.mean(bn_end)))
