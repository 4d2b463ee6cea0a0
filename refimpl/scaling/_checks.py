"""Cross-checks of refimpl.scaling run by ``refimpl verify``.

Monte-Carlo checks report the worst deviation in units of the estimator's
standard error (tolerance 4.42 = the two-sided 1e-5 normal quantile; the
seeds are fixed, so the result is deterministic).
"""
from __future__ import annotations

import numpy as np

from ..verify import CheckSkipped, register
from . import _kernels
from .batch import optimal_lr_sgd, optimal_lr_sign, surge
from .nqm import nqm_optimal_lr

Z = 4.4172


def _problem(seed, n):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n))
    C = rng.standard_normal((n, n))
    return rng.standard_normal(n), A @ A.T / n + 0.3 * np.eye(n), C @ C.T / n, rng.uniform(0.1, 2.0, n)


@register("scaling", "scaling.nqm_sgd_monte_carlo_vs_closed_form_n16", tol=Z)
def _sgd_mc():
    """One-step Monte-Carlo argmin on the NQM vs g'g/(g'Hg + Tr(Sigma H)/B): |diff| / stderr."""
    g, H, S, _ = _problem(1, 16)
    B = np.array([1.0, 4.0, 32.0, 512.0])
    res = nqm_optimal_lr(g, H, S, B, n_samples=100_000, rng=2)
    return float(np.max(np.abs(res.eta - optimal_lr_sgd(g, H, S, B)) / res.stderr))


@register("scaling", "scaling.nqm_sign_monte_carlo_vs_erf_formula_n16", tol=Z)
def _sign_mc():
    """SignSGD on the NQM (diagonal noise, dense H) vs optimal_lr_sign(exact=True): |diff| / stderr."""
    g, H, _, var = _problem(3, 16)
    B = np.array([1.0, 4.0, 32.0])
    res = nqm_optimal_lr(g, H, var, B, update="sign", n_samples=100_000, rng=4)
    return float(np.max(np.abs(res.eta - optimal_lr_sign(g, np.sqrt(var), H, B)) / res.stderr))


@register("scaling", "scaling.nqm_surge_rise_and_fall_z_scores", tol=None)
def _surge_mc():
    """Homogeneous problem with beta_noise < 1: simulated eta* rises to the predicted peak, then falls.

    Returns None; fails unless both the rise and the fall exceed 4.42 standard errors.
    """
    n, kappa = 16, 4.0
    g = np.full(n, 0.5)
    H = 0.8 * np.eye(n) + 0.2 * np.ones((n, n))
    s = surge(g, H, kappa)
    assert s.has_surge, s
    grid = np.geomspace(1.0, 64 * s.b_noise, 801)
    peak = grid[np.argmax(optimal_lr_sign(g, kappa * g, H, grid))]
    res = nqm_optimal_lr(g, H, (kappa * g) ** 2, [1.0, peak, 16 * peak], update="sign", n_samples=100_000, rng=5)
    rise = (res.eta[1] - res.eta[0]) / np.hypot(res.stderr[1], res.stderr[0])
    fall = (res.eta[1] - res.eta[2]) / np.hypot(res.stderr[1], res.stderr[2])
    assert rise > Z and fall > Z, (rise, fall)
    return None


@register("scaling", "scaling.nqm_kernel_vs_numpy_twin", tol=1e-12)
def _twins():
    """Per-sample kernel vs vectorised twin on the same normals (relative to the sums' magnitude);
    the generator vs its pure-Python twin (bitwise)."""
    rng = np.random.default_rng(6)
    n, N = 9, 2000
    g = rng.standard_normal(n)
    sd = rng.uniform(0.1, 2.0, n)
    A = rng.standard_normal((n, n))
    Hf = A @ A.T / n + np.eye(n)
    L = rng.standard_normal((n, n)) / n
    Z_ = rng.standard_normal((N, n))
    worst = 0.0
    for kind in (_kernels.SGD, _kernels.SIGN):
        for dense in (False, True):
            out = np.zeros(_kernels.N_STATS)
            args = (g, sd, L if dense else np.zeros((1, 1)), dense, np.diag(Hf).copy(),
                    Hf if dense else np.zeros((1, 1)), dense, kind, 0.0, 0.0)
            _kernels.nqm_sums_from_normals_nb(Z_, *args, out)
            ref = _kernels.nqm_sums_np(Z_, *args)
            worst = max(worst, float(np.max(np.abs(out - ref) / np.maximum(np.abs(ref), 1.0))))
    z = np.empty(3000)
    _kernels.normals_nb(42, 5, z)
    assert np.array_equal(z, _kernels.normals_py(42, 5, 3000)), "ziggurat kernel differs from its Python twin"
    return worst


@register("scaling", "scaling.torch_adam_first_step_is_sign", tol=1e-12)
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
