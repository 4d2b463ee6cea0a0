"""Cross-checks of refimpl.ssm run by ``refimpl verify`` (second numerical routes)."""
from __future__ import annotations

import numpy as np
import scipy.linalg

from ..verify import register
from . import _kernels
from .hippo import legs, legs_matvec, legs_solve

_EPS = np.finfo(np.float64).eps


@register("ssm", "ssm.legs_matvec_vs_dense_N512", tol=1.0)
def _legs_matvec_vs_dense():
    """O(N) matvec vs dense ``A @ v``, error in units of the dot-product bound 2N eps |A||v|."""
    rng = np.random.default_rng(1)
    N = 512
    A, _ = legs(N)
    v = rng.standard_normal(N)
    bound = 2 * N * _EPS * (np.abs(A) @ np.abs(v))
    return max(float(np.max(np.abs(legs_matvec(v, backend=b) - A @ v) / bound)) for b in ("numba", "numpy"))


@register("ssm", "ssm.legs_solve_vs_scipy_triangular_N512", tol=1e-12)
def _legs_solve_vs_scipy():
    """O(N) solve vs ``scipy.linalg.solve_triangular``, relative to max|z|, for several lambda."""
    rng = np.random.default_rng(2)
    N = 512
    A, _ = legs(N)
    v = rng.standard_normal(N)
    worst = 0.0
    for lam in (1e-3, 0.05, 1.0, 30.0):
        ref = scipy.linalg.solve_triangular(np.eye(N) - lam * A, v, lower=True)
        for b in ("numba", "numpy"):
            worst = max(worst, float(np.max(np.abs(legs_solve(v, lam, backend=b) - ref)) / np.max(np.abs(ref))))
    return worst


@register("ssm", "ssm.legs_kernels_numba_vs_numpy_twin", tol=0.0)
def _legs_twins():
    """numba kernels and NumPy twins agree bitwise (same operations, same order)."""
    rng = np.random.default_rng(3)
    v = rng.standard_normal(1000)
    out = np.empty_like(v)
    _kernels.legs_matvec_nb(v, out)
    err = float(np.max(np.abs(out - _kernels.legs_matvec_np(v))))
    _kernels.legs_solve_nb(v, 0.25, out)
    return max(err, float(np.max(np.abs(out - _kernels.legs_solve_np(v, 0.25)))))


# ----------------------------------------------------------------------------- S4, S4D, RTF (issue 4)
def _s4_legs(N, dt, L, seed=0):
    from .nplr import nplr
    from .s4 import ctilde_from_c
    from .discretization import discretize

    A, B = legs(N)
    C = np.random.default_rng(seed).standard_normal(N)
    Ab, Bb = discretize(A, B, dt, "bilinear")
    Lam, P, Bv, V = nplr("legs", N)
    Abv, _ = discretize(np.diag(Lam) - P @ P.conj().T, Bv, dt, "bilinear")
    return Ab, Bb, C, Lam, P, Bv, V, ctilde_from_c(Abv, V.T @ C, L)


@register("ssm", "ssm.s4_kernels_generating_dplr_vs_naive_N64_L4096", tol=1e-10)
def _s4_kernels_vs_naive():
    """Generating function, DPLR/Cauchy (full and conjugate half) vs naive powers; relative to max|K|."""
    from .nplr import nplr
    from .s4 import kernel, kernel_dplr

    N, L = 64, 4096
    worst = 0.0
    Lh, Ph, Bh, _ = nplr("legs", N, half=True)
    for dt in (1e-3, 1e-2, 1e-1):
        Ab, Bb, C, Lam, P, Bv, V, Ct = _s4_legs(N, dt, L)
        K0 = kernel(Ab, Bb, C, L)
        s = np.max(np.abs(K0))
        for K in (kernel(Ab, Bb, C, L, method="generating"), kernel_dplr(Lam, P, P, Bv, Ct, dt, L),
                  kernel_dplr(Lh, Ph, Ph, Bh, Ct[: N // 2], dt, L, half=True)):
            worst = max(worst, float(np.max(np.abs(K - K0)) / s))
    return worst


@register("ssm", "ssm.kernel_diag_zoh_vs_scipy_expm", tol=1e-12)
def _kernel_diag_vs_expm():
    """S4D-Lin ZOH Vandermonde kernel (half, 2 Re) vs the dense scipy.linalg.expm powers of the full system."""
    from .s4 import kernel, kernel_diag

    N, L, dt = 32, 2048, 0.01
    lam = -0.5 + 1j * np.pi * np.arange(N // 2)
    rng = np.random.default_rng(4)
    Bh = rng.standard_normal(N // 2) + 0j
    Ch = rng.standard_normal(N // 2) + 1j * rng.standard_normal(N // 2)
    full = np.concatenate([lam, lam.conj()])
    E = scipy.linalg.expm(dt * np.diag(full))
    Bb = np.linalg.solve(np.diag(full), (E - np.eye(N)) @ np.concatenate([Bh, Bh.conj()]))
    K0 = kernel(E, Bb, np.concatenate([Ch, Ch.conj()]), L).real
    K = kernel_diag(lam, Bh, Ch, dt, L, "zoh", half=True)
    return float(np.max(np.abs(K - K0)) / np.max(np.abs(K0)))


@register("ssm", "ssm.cauchy_numba_vs_numpy_twin", tol=1.0)
def _cauchy_twin():
    """cauchy numba kernel vs NumPy twin, in units of the bound (N+4) eps sum|v/(z-w)| (conj on and off)."""
    from .s4 import cauchy

    rng = np.random.default_rng(5)
    H, N, L = 4, 32, 257
    v = rng.standard_normal((H, N)) + 1j * rng.standard_normal((H, N))
    w = -0.5 + 1j * rng.uniform(-50, 50, (H, N))
    z = 2j * np.tan(np.pi * np.arange(L) / (2 * L))
    worst = 0.0
    for conj in (False, True):
        mag = np.sum(np.abs(v[:, None, :] / (z[None, :, None] - w[:, None, :])), axis=-1) * (2 if conj else 1)
        d = np.abs(cauchy(v, z, w, conj=conj, backend="numba") - cauchy(v, z, w, conj=conj, backend="numpy"))
        worst = max(worst, float(np.max(d / ((N + 4) * _EPS * mag))))
    return worst


@register("ssm", "ssm.convolution_vs_recurrence_and_dplr_step", tol=1e-11)
def _conv_vs_scan():
    """causal_conv(u, K) == scan (numba and NumPy) == O(N) DPLR bilinear step, LegS N=32, L=2000."""
    from .s4 import causal_conv, dplr_scan, kernel, scan

    N, L, dt = 32, 2000, 0.02
    Ab, Bb, C, Lam, P, Bv, V, _ = _s4_legs(N, dt, L)
    u = np.random.default_rng(6).standard_normal(L)
    y = causal_conv(u, kernel(Ab, Bb, C, L))
    s = np.max(np.abs(y))
    outs = [scan(Ab, Bb, C, u, backend="numba"), scan(Ab, Bb, C, u, backend="numpy"),
            dplr_scan(Lam, P, P, Bv, V.T @ C, dt, u)]
    return max(float(np.max(np.abs(o - y)) / s) for o in outs)


@register("ssm", "ssm.nplr_reconstruction_legs_legt_lagt_fout", tol=1e-12)
def _nplr_recon():
    """max |V (Lambda - P P^*) V^* - A| / max|A| for legs (N=256), legt, lagt, fout (Su and s4 forms)."""
    from .hippo import hippo, transition
    from .nplr import nplr

    worst = 0.0
    for measure, N, s4, rank in (("legs", 256, False, 1), ("legt", 64, False, 2), ("lagt", 64, False, 1),
                                 ("fout", 65, False, 1), ("legt", 64, True, 2), ("fout", 64, True, 1)):
        A, _ = (transition if s4 else hippo)(measure, N)
        Lam, P, _, V = nplr(measure, N, rank, s4=s4)
        R = V @ (np.diag(Lam) - P @ P.conj().T) @ V.conj().T
        worst = max(worst, float(np.max(np.abs(R - A)) / np.max(np.abs(A))))
    return worst


@register("ssm", "ssm.rtf_kernel_vs_companion_naive_d64", tol=1e-10)
def _rtf_vs_naive():
    """RTF regime (sum|a| = 0.9, d = 64, L = 4096): rtf_kernel == naive kernel of rtf_to_ssm's companion system."""
    from .rtf import rtf_kernel, rtf_to_ssm
    from .s4 import kernel

    rng = np.random.default_rng(7)
    d, L = 64, 4096
    a = rng.standard_normal(d)
    a *= 0.9 / np.sum(np.abs(a))
    b = rng.standard_normal(d)
    K = rtf_kernel(a, b, L)
    K0 = kernel(*rtf_to_ssm(a, b, L), L)
    return float(np.max(np.abs(K - K0)) / np.max(np.abs(K0)))
