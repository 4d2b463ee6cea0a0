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

from .._backend import resolve_backend
from .._validation import as_array, check_choice, check_int, check_real
from . import _kernels
from ._common import covariance, gradient, hessian, vector

__all__ = ["NQMOptimalLR", "NQMTraining", "nqm_optimal_lr", "nqm_train_to_target"]

UPDATES = ("sgd", "sign")
NOISE_MODES = ("constant", "scaled")
_CHUNK = 4096          # samples per numba chunk (one random stream each)
_NP_BUFFER = 1 << 18   # doubles per NumPy scratch block (2 MiB, cache-sized)


def _rng(rng):
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        if rng is not None and rng < 0:
            raise ValueError(f"parameter 'rng' must be a numpy.random.Generator or a seed >= 0, got {rng}")
        return np.random.default_rng(rng)
    raise TypeError(f"parameter 'rng' must be a numpy.random.Generator, an int seed or None, got {type(rng).__name__}")


def _batch_sizes(batch_sizes):
    bs = as_array(batch_sizes, "batch_sizes")
    bs = np.atleast_1d(bs)
    if bs.ndim != 1 or bs.size == 0:
        raise ValueError(f"parameter 'batch_sizes' must be a scalar or a non-empty 1-D array, got shape {bs.shape}")
    if np.any(bs < 1):
        raise ValueError(f"parameter 'batch_sizes' must be >= 1, got min {bs.min()!r}")
    return bs


def _is_diag(M):
    return not np.any(M - np.diag(np.diag(M)))


def _noise_factor(S):
    """A square factor F with F F^T = S (S symmetric PSD): eigh-based, works for singular S."""
    w, V = np.linalg.eigh(S)
    return V * np.sqrt(np.clip(w, 0.0, None))


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
        eta = np.asarray(eta, dtype=np.float64)
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
        Source of the seeds (numba) or of the normals (numpy); an int seed
        makes the call reproducible.
    confidence : float, optional
        Level of the interval, in (0, 1).
    backend : {"auto", "numba", "numpy"}, optional
        ``"numba"``: fused parallel kernel with its own counter-based
        generator (reproducible for a given seed whatever the thread
        count); ``"numpy"``: vectorised twin drawing from ``rng`` in chunks.
        The two use different random streams, so they agree statistically,
        not bitwise.

    Returns
    -------
    NQMOptimalLR

    Raises
    ------
    ValueError
        Shape mismatch, ``H`` not symmetric positive definite, negative
        variances or non-PSD ``Sigma``, a batch size < 1, ``n_samples < 2``,
        ``confidence`` outside (0, 1), unknown ``update``/``backend``.

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
    g = gradient(g)
    n = g.shape[0]
    Hm = hessian(H, n)
    S = covariance(Sigma, n)
    bs = _batch_sizes(batch_sizes)
    check_choice(update, "update", UPDATES)
    n_samples = check_int(n_samples, "n_samples", min_value=2)
    confidence = check_real(confidence, "confidence", low=0.0, high=1.0, low_open=True, high_open=True)
    be = resolve_backend(backend, g)
    gen = _rng(rng)

    kind = _kernels.SGD if update == "sgd" else _kernels.SIGN
    h_dense = not _is_diag(Hm)
    hdiag = np.ascontiguousarray(np.diag(Hm))
    l_dense = not _is_diag(S)
    u0 = g if kind == _kernels.SGD else np.sign(g)
    a0 = float(u0 @ g)
    b0 = float(u0 @ Hm @ u0)
    F = _noise_factor(S) if l_dense else np.zeros((1, 1))
    empty = np.zeros((1, 1))

    k = bs.size
    sums = np.empty((k, _kernels.N_STATS))
    for j, B in enumerate(bs):
        sd = np.sqrt(np.diag(S) / B)
        Lf = np.ascontiguousarray(F / math.sqrt(B)) if l_dense else empty
        Hf = Hm if h_dense else empty
        if be == "numba":
            n_chunks = -(-n_samples // _CHUNK)
            out = np.zeros((n_chunks, _kernels.N_STATS))
            seed = int(gen.integers(0, 2 ** 63))
            _kernels.nqm_sums_nb(g, sd, Lf, l_dense, hdiag, Hf, h_dense, kind, a0, b0,
                                 n_samples, _CHUNK, seed, out)
            sums[j] = out.sum(axis=0)
        else:
            acc = np.zeros(_kernels.N_STATS)
            rows = max(1, min(n_samples, _NP_BUFFER // n))
            buf = np.empty((rows, n))
            done = 0
            while done < n_samples:
                m = min(rows, n_samples - done)
                Z = buf[:m]
                gen.standard_normal(out=Z)
                acc += _kernels.nqm_sums_np(Z, g, sd, Lf, l_dense, hdiag, Hf, h_dense, kind, a0, b0,
                                            overwrite=True)
                done += m
            sums[j] = acc
    return _summarise(bs, sums, a0, b0, n_samples, update, confidence)


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
        Standard error of ``steps`` over the runs.
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
        < 1, unknown ``update``/``noise``, or ``"sign"`` with a non-diagonal
        ``Sigma``.
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
    L0 = 0.5 * float(th0 @ Hm @ th0)
    target_loss = check_real(target_loss, "target_loss", low=0.0, low_open=True)
    if target_loss >= L0:
        raise ValueError(f"parameter 'target_loss'={target_loss} must be below L(theta0)={L0}")
    diag_noise = _is_diag(S0)
    if update == "sign" and not diag_noise:
        raise ValueError("parameter 'Sigma' must be diagonal for update='sign' (the erf moments assume "
                         "independent coordinates)")
    gen = _rng(rng)
    g0 = Hm @ th0
    g0Hg0 = float(g0 @ Hm @ g0)
    trSH = float(np.sum(S0 * Hm))
    F = np.sqrt(np.diag(S0)) if diag_noise else _noise_factor(S0)
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
