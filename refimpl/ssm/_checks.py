"""Checks of refimpl.ssm that are not about one function, run by ``refimpl verify``.

Per-function comparisons (fast paths vs the definition, scipy/torch/s4
peers) live in the case table, ``refimpl/ssm/cases.py``; these compare two
different numerical routes to the same quantity (quadrature vs recurrence,
generating function vs Woodbury vs naive powers, convolution vs scan) or
check a derived identity.
"""
from __future__ import annotations

import numpy as np

from ..verify import register
from .hippo import legs

_EPS = np.finfo(np.float64).eps


# ----------------------------------------------------------------------------- the memory, other measures, eigenvectors
@register("ssm", "ssm.legs_recurrence_exact_vs_quadrature_N32_L600", tol=1e-12, kind="route", unit="err / max|u|",
          compared="legs_recurrence('exact') vs project(..., 'legs') by Gauss-Legendre quadrature")
def _legs_recurrence_exact_vs_projection():
    """Exact log-ZOH recursion vs Gauss-Legendre projection of the same piecewise-constant signal."""
    from .memory import legs_recurrence, project

    rng = np.random.default_rng(4)
    u = rng.standard_normal(600)
    X = legs_recurrence(u, 32, "exact")
    rows = np.unique(np.concatenate([np.arange(0, 600, 37), [1, 2, 3, 599]]))
    P = project(u, 32, "legs", times=rows + 1.0)
    return float(np.max(np.abs(X[rows] - P)) / np.max(np.abs(u)))


@register("ssm", "ssm.lagt_zoh_vs_quadrature", tol=1e-12, kind="route", unit="abs err",
          compared="ZOH recurrence of lagt(N) vs project(..., 'lagt') by quadrature")
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


@register("ssm", "ssm.transition_fourier_vs_complex_fout", tol=1e-14, kind="derivation", unit="rel err",
          compared="s4 real 'fourier'/'fourier2' vs midpoint FouT under the complex-to-real map")
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


@register("ssm", "ssm.legs_eigvec_recursion_vs_exact_closed_form_N24", tol=1e-14, kind="derivation",
          unit="rel err", compared="S-recursion vs exact-rational closed form; eigen-residual / bound")
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


# ----------------------------------------------------------------------------- S4, S4D, RTF
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


@register("ssm", "ssm.s4_kernels_generating_dplr_vs_naive_N64_L4096", tol=1e-10, kind="route", unit="err / max|K|",
          compared="generating function and DPLR/Cauchy (full and half) vs naive powers of the dense system")
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


@register("ssm", "ssm.convolution_vs_recurrence_and_dplr_step", tol=1e-11, kind="route", unit="err / max|y|",
          compared="FFT causal_conv of the naive kernel vs scan (the recurrence) vs the O(N) DPLR step")
def _conv_vs_scan():
    """causal_conv(u, K) (FFT) == scan (the recurrence) == O(N) DPLR bilinear step, LegS N=32, L=2000."""
    from .s4 import causal_conv, dplr_scan, kernel, scan

    N, L, dt = 32, 2000, 0.02
    Ab, Bb, C, Lam, P, Bv, V, _ = _s4_legs(N, dt, L)
    u = np.random.default_rng(6).standard_normal(L)
    y = causal_conv(u, kernel(Ab, Bb, C, L))
    s = np.max(np.abs(y))
    outs = [scan(Ab, Bb, C, u), dplr_scan(Lam, P, P, Bv, V.T @ C, dt, u)]
    return max(float(np.max(np.abs(o - y)) / s) for o in outs)


@register("ssm", "ssm.nplr_reconstruction_legs_legt_lagt_fout", tol=1e-12, kind="derivation", unit="err / max|A|",
          compared="V (Lambda - P P^*) V^* vs the HiPPO matrix A")
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


@register("ssm", "ssm.rtf_kernel_vs_companion_naive_d64", tol=1e-10, kind="route", unit="err / max|K|",
          compared="rtf_kernel (FFT division) vs naive powers of rtf_to_ssm's companion system")
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
