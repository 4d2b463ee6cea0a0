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


# --- issue 3: the other measures, the LegS memory, eigenvectors -------------------------------

@register("ssm", "ssm.legs_recurrence_exact_vs_quadrature_N32_L600", tol=1e-12)
def _legs_recurrence_exact_vs_projection():
    """Exact log-ZOH recursion vs Gauss-Legendre projection of the same piecewise-constant signal."""
    from .memory import legs_recurrence, project

    rng = np.random.default_rng(4)
    u = rng.standard_normal(600)
    X = legs_recurrence(u, 32, "exact")
    rows = np.unique(np.concatenate([np.arange(0, 600, 37), [1, 2, 3, 599]]))
    P = project(u, 32, "legs", times=rows + 1.0)
    return float(np.max(np.abs(X[rows] - P)) / np.max(np.abs(u)))


@register("ssm", "ssm.legs_recurrence_O(N)_vs_dense_per_step", tol=1e-12)
def _legs_recurrence_vs_dense():
    """numba O(N) bilinear/su_bilinear/backward steps vs per-step scipy triangular solves; numba == twin."""
    from .memory import legs_recurrence

    rng = np.random.default_rng(5)
    L, N = 200, 48
    u = rng.standard_normal(L)
    A, B = legs(N)
    I = np.eye(N)
    worst = 0.0
    for method, lam_of, h_of in (("bilinear", lambda k: 0.5 / k, lambda k: 0.5 / k),
                                 ("su_bilinear", lambda k: 0.5 / (k + 1), lambda k: 0.5 / k),
                                 ("backward_euler", lambda k: 1.0 / k, lambda k: 0.0)):
        X = legs_recurrence(u, N, method, backend="numba")
        if not np.array_equal(X, legs_recurrence(u, N, method, backend="numpy")):
            raise AssertionError(f"{method}: numba kernel and NumPy twin differ")
        x = X[0].copy()
        for k in range(1, L):
            x = scipy.linalg.solve_triangular(I - lam_of(k) * A, (I + h_of(k) * A) @ x + B * u[k] / k, lower=True)
            worst = max(worst, float(np.max(np.abs(X[k] - x)) / np.max(np.abs(x))))
    return worst


@register("ssm", "ssm.lagt_zoh_vs_quadrature", tol=1e-12)
def _lagt_exact():
    """The LagT ODE is exact: ZOH of lagt(N) equals the quadrature projection."""
    from .discretization import discretize
    from .hippo import lagt
    from .memory import project

    rng = np.random.default_rng(6)
    L, N, dt = 150, 16, 0.2
    u = rng.standard_normal(L)
    Ab, Bb = discretize(*lagt(N), dt, "zoh")
    x, X = np.zeros(N), []
    for v in u:
        x = Ab @ x + Bb * v
        X.append(x)
    return float(np.max(np.abs(np.array(X) - project(u, N, "lagt", dt=dt, times=dt * np.arange(1, L + 1)))))


@register("ssm", "ssm.transition_fourier_vs_complex_fout", tol=1e-14)
def _transition_fourier():
    """s4-style real 'fourier'/'fourier2' = midpoint FouT (window 2 / 1) under the unitary complex-to-real map."""
    from .hippo import fourier_complex_to_real, fout, transition

    worst = 0.0
    for measure, w in (("fourier", 2.0), ("fourier2", 1.0)):
        N = 16
        M = N // 2 - 1
        U = fourier_complex_to_real(M)
        A_c, B_c = fout(M, w, endpoint="midpoint")
        keep = [0] + list(range(2, N))
        A, B = transition(measure, N)
        worst = max(worst, float(np.max(np.abs(A[np.ix_(keep, keep)] - U @ A_c @ U.conj().T)) / np.max(np.abs(A))),
                    float(np.max(np.abs(B[keep] - U @ B_c))))
    return worst


@register("ssm", "ssm.legs_eigvec_recursion_vs_exact_closed_form_N24", tol=1e-14)
def _legs_eigvec():
    """S-recursion vs the (corrected) closed form in exact rationals; eigen-residual."""
    from .memory import legs_eigvec

    N = 24
    A, _ = legs(N)
    worst = 0.0
    for lam in range(1, N + 1):
        v = legs_eigvec(N, lam)
        vc = legs_eigvec(N, lam, method="closed_form")
        bound = np.abs(A) @ np.abs(v) + lam * np.abs(v)
        worst = max(worst, float(np.max(np.abs(v - vc)) / np.max(np.abs(vc))),
                    float(np.max(np.abs(-A @ v - lam * v) / (bound + 1e-300))))
    return worst


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
