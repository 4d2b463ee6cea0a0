"""Cross-checks of refimpl.scaling run by ``refimpl verify``.

Monte-Carlo checks report the worst deviation in units of the estimator's
standard error (tolerance 4.42 = the two-sided 1e-5 normal quantile; the
seeds are fixed, so the result is deterministic).
"""
from __future__ import annotations

import numpy as np

from ..verify import CheckSkipped, register
from . import _fast, _xp, reference
from .batch import optimal_lr_sgd, optimal_lr_sign, surge
from .nqm import nqm_optimal_lr

Z = 4.4172


def _problem(seed, n):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n))
    C = rng.standard_normal((n, n))
    return rng.standard_normal(n), A @ A.T / n + 0.3 * np.eye(n), C @ C.T / n, rng.uniform(0.1, 2.0, n)


@register("scaling", "scaling.nqm_sgd_monte_carlo_vs_closed_form_n16", tol=Z, kind="statistical", unit="z",
          compared="nqm_optimal_lr (numba) vs optimal_lr_sgd")
def _sgd_mc():
    """One-step Monte-Carlo argmin on the NQM vs g'g/(g'Hg + Tr(Sigma H)/B): |diff| / stderr."""
    g, H, S, _ = _problem(1, 16)
    B = np.array([1.0, 4.0, 32.0, 512.0])
    res = nqm_optimal_lr(g, H, S, B, n_samples=100_000, rng=2)
    return float(np.max(np.abs(res.eta - optimal_lr_sgd(g, H, S, B)) / res.stderr))


@register("scaling", "scaling.nqm_sign_monte_carlo_vs_erf_formula_n16", tol=Z, kind="statistical", unit="z",
          compared="nqm_optimal_lr(update='sign') (numba) vs optimal_lr_sign(exact=True)")
def _sign_mc():
    """SignSGD on the NQM (diagonal noise, dense H) vs optimal_lr_sign(exact=True): |diff| / stderr."""
    g, H, _, var = _problem(3, 16)
    B = np.array([1.0, 4.0, 32.0])
    res = nqm_optimal_lr(g, H, var, B, update="sign", n_samples=100_000, rng=4)
    return float(np.max(np.abs(res.eta - optimal_lr_sign(g, np.sqrt(var), H, B)) / res.stderr))


@register("scaling", "scaling.nqm_surge_rise_and_fall_z_scores", tol=-Z, kind="statistical", unit="-z",
          compared="simulated eta* at B = 1, the predicted peak and 16x the peak")
def _surge_mc():
    """Homogeneous problem with beta_noise < 1: simulated eta* rises to the predicted peak, then falls.

    Returns minus the smaller of the rise and the fall in standard errors; passes when both exceed 4.42.
    """
    n, kappa = 16, 4.0
    g = np.full(n, 0.5)
    H = 0.8 * np.eye(n) + 0.2 * np.ones((n, n))
    s = surge(g, H, kappa)
    if not s.has_surge:
        raise RuntimeError(f"the problem of this check has no surge: {s}")
    grid = np.geomspace(1.0, 64 * s.b_noise, 801)
    peak = grid[np.argmax(optimal_lr_sign(g, kappa * g, H, grid))]
    res = nqm_optimal_lr(g, H, (kappa * g) ** 2, [1.0, peak, 16 * peak], update="sign", n_samples=100_000, rng=5)
    rise = (res.eta[1] - res.eta[0]) / np.hypot(res.stderr[1], res.stderr[0])
    fall = (res.eta[1] - res.eta[2]) / np.hypot(res.stderr[1], res.stderr[2])
    return -float(min(rise, fall))


@register("scaling", "scaling.nqm_numba_vs_reference_same_normals", tol=1e-12, kind="consistency",
          unit="rel err", compared="numba per-sample sums vs reference.nqm_samples on the same normals")
def _same_normals():
    """The numba kernel's sums vs the reference loop fed the same normals (relative to the sums' magnitude)."""
    rng = np.random.default_rng(6)
    n, N = 9, 2000
    g = rng.standard_normal(n)
    A = rng.standard_normal((n, n))
    H = A @ A.T / n + np.eye(n)
    C = rng.standard_normal((n, n))
    S = C @ C.T / n
    Z = rng.standard_normal((N, n))
    worst = 0.0
    for update, kind in (("sgd", _fast.SGD), ("sign", _fast.SIGN)):
        for dense in (False, True):
            Hm = H if dense else np.diag(np.diag(H))
            Sm = S if dense else np.diag(np.diag(S))
            L = reference.noise_factor(Sm) / 2.0                 # B = 4
            a, b = reference.nqm_samples(g, Hm, L, update, N, _Replay(Z))
            u0 = g if update == "sgd" else np.sign(g)
            a0, b0 = float(u0 @ g), float(u0 @ Hm @ u0)
            ref = _xp.shifted_sums(np, a, b, a0, b0)
            out = np.zeros(_fast.N_STATS)
            _fast.nqm_sums_from_normals_nb(Z, g, np.sqrt(np.diag(Sm)) / 2.0, L if dense else np.zeros((1, 1)),
                                           dense, np.diag(Hm).copy(), Hm if dense else np.zeros((1, 1)), dense,
                                           kind, a0, b0, out)
            scale = np.array([1.0, np.abs(a - a0).sum(), np.abs(b - b0).sum(), ((a - a0) ** 2).sum(),
                              ((b - b0) ** 2).sum(), np.abs((a - a0) * (b - b0)).sum()])
            worst = max(worst, float(np.max(np.abs(out - ref) / np.maximum(scale, 1e-300))))
    return worst


class _Replay:
    """A stand-in for a Generator whose ``standard_normal(n)`` returns the rows of ``Z`` in order."""

    def __init__(self, Z):
        self._rows = iter(Z)

    def standard_normal(self, n):
        return next(self._rows)


@register("scaling", "scaling.nqm_numba_vs_reference_in_standard_errors", tol=Z, kind="consistency",
          unit="z", compared="numba Monte-Carlo (ziggurat streams) vs the reference loop (NumPy Generator)")
def _numba_vs_reference():
    """Both estimators on the same problem with independent streams: max |eta_numba - eta_ref| / s.e. of the difference."""
    g, H, S, var = _problem(8, 6)
    B = np.array([1.0, 8.0, 64.0])
    worst = 0.0
    for update, Sig in (("sgd", S), ("sign", var)):
        fast = nqm_optimal_lr(g, H, Sig, B, update=update, n_samples=40_000, rng=9, backend="numba")
        ref = nqm_optimal_lr(g, H, Sig, B, update=update, n_samples=20_000, rng=10, backend="reference")
        worst = max(worst, float(np.max(np.abs(fast.eta - ref.eta) / np.hypot(fast.stderr, ref.stderr))))
    return worst


@register("scaling", "scaling.torch_adam_first_step_is_sign", tol=1e-12, kind="peer", unit="abs err",
          compared="torch.optim.Adam (eps=0) step / lr vs sign(g)")
def _torch_adam_sign():
    """The article's premise: Adam's first update (any betas), and every update with betas = 0, is lr*sign(g).

    Compared with torch.optim.Adam (eps = 0); returns max |step/lr - sign(g)|.
    """
    try:
        import torch
    except ImportError:
        raise CheckSkipped("torch not installed") from None
    rng = np.random.default_rng(7)
    worst = 0.0
    for betas, steps in (((0.9, 0.999), 1), ((0.0, 0.0), 3)):
        p = torch.zeros(50, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.Adam([p], lr=0.1, betas=betas, eps=0.0)
        for _ in range(steps):
            grad = rng.standard_normal(50)
            before = p.detach().clone()
            p.grad = torch.from_numpy(grad)
            opt.step()
            step = (before - p.detach()).numpy() / 0.1
            worst = max(worst, float(np.max(np.abs(step - np.sign(grad)))))
    return worst
