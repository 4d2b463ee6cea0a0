"""The case table of refimpl.ssm: one row per public function (see :mod:`refimpl.testing.cases`).

Tolerances are norm-wise, ``max|actual - expected| <= atol + rtol max|expected|``,
and hold for any backward-stable implementation (dense matmul, LAPACK solve,
``torch.matrix_exp``), not only for refimpl's own summation order; each
row's ``why`` gives the reasoning and the measured errors of such peers.
Low-precision rows (bfloat16, u = 2^-8; float16, u = 2^-11) are for kernels
that run their arithmetic in that dtype on inputs rounded to it; the
reference is evaluated in float64 on the same rounded inputs. The measured
ratios come from torch implementations run in that dtype
(``tests/ssm/test_low_precision.py``).
"""
from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.signal

from ..testing.cases import Case, Peer
from . import _s4_peer
from .discretization import discretize
from .hippo import (fourier_complex_to_real, fous, fout, hippo, lagt, legs, legs_matvec, legs_solve, legt, lmu,
                    transition)
from .memory import legs_eigvec, legs_recurrence, project, reconstruct
from .nplr import nplr
from .rtf import companion, rtf_from_ssm, rtf_kernel, rtf_to_ssm
from .hippo import fourier_decay, fourier_diag, glagt, legsd, rank_correction, tlagt
from .s4 import (c_from_ctilde, cauchy, causal_conv, ctilde_from_c, dplr_discretize, dplr_scan, dplr_step, kernel,
                 kernel_diag, kernel_dplr, scan)
from .s4d import S4D_B_INITS, S4D_INITS, kernel_dss, s4_nplr, s4d_init

_NORMALIZATIONS = ("paper", "su", "integer")
_METHODS = ("zoh", "bilinear", "forward_euler", "backward_euler", "gbt")


# ----------------------------------------------------------------------------- shared draws
def _stable(src, label, shape, max_imag=30.0):
    """Complex eigenvalues with real part in [-1, -0.05] and imaginary part in [-max_imag, max_imag]."""
    g = src.rng(label)
    return -g.uniform(0.05, 1.0, shape) + 1j * g.uniform(-max_imag, max_imag, shape)


def _channels(src, N):
    """``None`` (the (N,) form) or H in [1, 3] channels."""
    return src.integer("H", 1, 3) if src.boolean("channels") else None


# The kernel_diag/kernel_dplr rows draw the (N,) form that a user's kernel is
# written in (check_against calls it on these inputs); the (H, N) channel form
# is tested against a loop over the channels, for every backend, in
# tests/ssm/test_shapes_and_bad_input.py.


def _dt(src, H):
    if H is None:
        return src.real("dt", 1e-3, 0.1, log=True)
    return np.exp(src.uniform("dt", (H,), np.log(1e-3), np.log(0.1)))


def _stable_system(src, N):
    """A bilinear LegS system or a random contraction (||Ab||_2 = 0.95)."""
    if src.choice("system", ("legs", "random")) == "legs":
        A, B = legs(N)
        return discretize(A, B, src.real("dt", 1e-3, 0.1, log=True), "bilinear")
    M = src.normal("Ab", (N, N))
    return 0.95 * M / max(np.linalg.norm(M, 2), 1e-300), src.normal("Bb", (N,))


# ----------------------------------------------------------------------------- LegS algebra
def _s4_legs_A(N):
    """state-spaces/s4 ``transition('legs')``: T M T^{-1}, T = diag(sqrt(2n+1)), M_nk = -(2k+1) (n >= k) + n (n = k)."""
    q = np.arange(N, dtype=np.float64)
    M = -np.tril(np.broadcast_to((2 * q + 1)[None, :], (N, N))) + np.diag(q)
    T = np.diag(np.sqrt(2 * q + 1))
    return T @ M @ np.linalg.inv(T)


def _scale(normalization, N):
    return np.sqrt(2.0 * np.arange(N) + 1.0) if normalization == "integer" else np.ones(N)


def _peer_matvec(v, *, normalization="paper"):
    d = _scale(normalization, v.shape[0])
    return d * (_s4_legs_A(v.shape[0]) @ (v / d))


def _peer_solve(v, lam, *, normalization="paper"):
    d = _scale(normalization, v.shape[0])
    M = np.eye(v.shape[0]) - lam * _s4_legs_A(v.shape[0])
    return d * scipy.linalg.solve_triangular(M, v / d, lower=True)


def _legs_inputs(src):
    return {"N": src.integer("N", 1, 64), "normalization": src.choice("normalization", _NORMALIZATIONS)}


def _legs_matvec_inputs(src):
    n = src.integer("N", 1, 64)
    return {"v": src.normal("v", (n,)), "normalization": src.choice("normalization", _NORMALIZATIONS)}


def _legs_solve_inputs(src):
    n = src.integer("N", 1, 64)
    return {"v": src.normal("v", (n,)), "lam": src.real("lam", 1e-3, 30.0, log=True),
            "normalization": src.choice("normalization", _NORMALIZATIONS)}


def _legs_recurrence_inputs(src):
    return {"u": src.normal("u", (src.integer("L", 1, 80),)), "N": src.integer("N", 1, 24),
            "method": src.choice("method", ("exact", "bilinear", "su_bilinear", "forward_euler", "backward_euler"))}


# ----------------------------------------------------------------------------- other measures
def _legt_inputs(src):
    return {"N": src.integer("N", 1, 32), "window": src.real("window", 0.1, 10.0, log=True),
            "normalization": src.choice("normalization", ("paper", "su"))}


def _lmu_inputs(src):
    return {"N": src.integer("N", 1, 32), "window": src.real("window", 0.1, 10.0, log=True),
            "convention": src.choice("convention", ("su", "voelker"))}


def _lagt_inputs(src):
    return {"N": src.integer("N", 1, 32), "beta": src.real("beta", 0.1, 10.0, log=True)}


def _fout_inputs(src):
    return {"M": src.integer("M", 0, 16), "window": src.real("window", 0.1, 10.0, log=True),
            "endpoint": src.choice("endpoint", ("midpoint", "su"))}


def _fous_inputs(src):
    return {"M": src.integer("M", 0, 16)}


def _transition_inputs(src):
    measure = src.choice("measure", ("legs", "legt", "lagt", "fourier", "fourier2", "lmu"))
    N = src.integer("N", 1, 24)
    return {"measure": measure, "N": 2 * N if measure.startswith("fourier") else N}


def _hippo_inputs(src):
    measure = src.choice("measure", ("legs", "legt", "lmu", "lagt", "fout", "fous"))
    N = src.integer("N", 1, 24)
    return {"measure": measure, "N": 2 * N + 1 if measure in ("fout", "fous") else N}


# ----------------------------------------------------------------------------- memory
def _project_inputs(src):
    measure = src.choice("measure", ("legs", "legt", "lmu", "lagt", "fout", "fous"))
    N = src.integer("N", 1, 12)
    if measure in ("fout", "fous"):
        N = 2 * N + 1
    L = src.integer("L", 1, 40)
    out = {"u": src.normal("u", (L,)), "N": N, "measure": measure}
    if measure in ("legt", "lmu", "fout"):
        out["window"] = src.real("window", 1.0, 10.0)
    if measure == "lagt":
        out["beta"] = src.real("beta", 0.5, 2.0)
    return out


def _reconstruct_inputs(src):
    measure = src.choice("measure", ("legs", "legt", "lmu", "lagt", "fout", "fous"))
    N = src.integer("N", 1, 12)
    if measure in ("fout", "fous"):
        N = 2 * N + 1
    fourier = measure in ("fout", "fous")
    return {"c": src.normal("c", (N,), complex=fourier), "s": src.uniform("s", (src.integer("S", 1, 16),), 0.0, 1.0),
            "measure": measure}


def _legs_eigvec_inputs(src):
    N = src.integer("N", 1, 24)
    return {"N": N, "lam": src.integer("lam", 1, N), "method": src.choice("method", ("recursion", "closed_form"))}


def _nplr_inputs(src):
    measure = src.choice("measure", ("legs", "legt", "lagt", "fout"))
    N = src.integer("N", 1, 16)
    return {"measure": measure, "N": 2 * N if measure == "legs" else (2 * N + 1 if measure == "fout" else N),
            "rank": 2 if measure == "legt" else 1}


# ----------------------------------------------------------------------------- discretisation
def _discretize_inputs(src):
    n = src.integer("N", 1, 16)
    if src.choice("A_kind", ("legs", "random")) == "legs":
        A = legs(n)[0]
    else:
        A = src.normal("A", (n, n), scale=1.0 / np.sqrt(n)) - 1.5 * np.eye(n)
    m = src.choice("inputs", (1, 2))
    B = src.normal("B", (n,) if m == 1 else (n, m))
    method = src.choice("method", _METHODS)
    out = {"A": A, "B": B, "dt": src.real("dt", 1e-3, 0.1, log=True), "method": method}
    if method == "gbt":
        out["alpha"] = src.real("alpha", 0.0, 1.0)
    return out


_CONT2DISCRETE = {"zoh": "zoh", "bilinear": "bilinear", "forward_euler": "euler", "backward_euler": "backward_diff",
                  "gbt": "gbt"}


def _peer_cont2discrete(A, B, dt, method, *, alpha=None):
    B2 = B if B.ndim == 2 else B[:, None]
    Ab, Bb, *_ = scipy.signal.cont2discrete((A, B2, np.zeros((1, A.shape[0])), np.zeros((1, B2.shape[1]))), dt,
                                           method=_CONT2DISCRETE[method], alpha=alpha)
    return Ab, (Bb if B.ndim == 2 else Bb[:, 0])


# ----------------------------------------------------------------------------- S4 / S4D
def _cauchy_inputs(src):
    N = src.integer("N", 1, 32)
    L = src.integer("L", 1, 32)
    H = _channels(src, N)
    shape = (N,) if H is None else (H, N)
    return {"v": src.normal("v", shape, complex=True), "z": 1j * src.uniform("z", (L,), -40.0, 40.0),
            "w": _stable(src, "w", shape), "conj": src.boolean("conj")}


def _peer_s4_cauchy(v, z, w, *, conj=False):
    """state-spaces/s4 ``cauchy_naive`` semantics in torch: sum over poles, conjugate pairs appended."""
    import torch

    if conj:
        v = torch.cat([v, v.conj()], dim=-1)
        w = torch.cat([w, w.conj()], dim=-1)
    return (v.unsqueeze(-1) / (z - w.unsqueeze(-1))).sum(dim=-2)


def _kernel_diag_inputs(src):
    N = src.integer("N", 1, 32)
    H = None  # the (N,) form kernels are written in; channels (H, N) == a loop: tests/ssm
    shape = (N,)
    if src.choice("Lambda_kind", ("random", "s4d_lin")) == "s4d_lin":
        Lam = np.broadcast_to(-0.5 + 1j * np.pi * np.arange(N), shape).copy()
    else:
        Lam = _stable(src, "Lambda", shape)
    return {"Lambda": Lam, "B": src.normal("B", shape, complex=True), "C": src.normal("C", shape, complex=True),
            "dt": _dt(src, H), "L": src.integer("L", 1, 64), "method": src.choice("method", ("zoh", "bilinear")),
            "half": src.boolean("half")}


def _peer_expm_kernel(Lambda, B, C, dt, L, method="zoh", half=False):
    """The dense route: scipy.linalg.expm (or the bilinear solve) of the full diagonal system, then C^T Ab^j Bb."""
    out = []
    for h in range(1 if Lambda.ndim == 1 else Lambda.shape[0]):
        lam, b, c = (np.atleast_2d(x)[h] for x in (Lambda, B, C))
        d = float(np.atleast_1d(dt)[h] if np.ndim(dt) else dt)
        if half:
            lam, b, c = np.concatenate([lam, lam.conj()]), np.concatenate([b, b.conj()]), np.concatenate([c, c.conj()])
        A = np.diag(lam)
        if method == "zoh":
            Ab = scipy.linalg.expm(d * A)
            Bb = np.linalg.solve(A, (Ab - np.eye(len(lam))) @ b)
        else:
            M = np.eye(len(lam)) - d / 2 * A
            Ab, Bb = np.linalg.solve(M, np.eye(len(lam)) + d / 2 * A), np.linalg.solve(M, d * b)
        x, K = Bb, []
        for _ in range(L):
            K.append(c @ x)
            x = Ab @ x
        out.append(np.real(K) if half else np.array(K))
    return np.array(out) if Lambda.ndim == 2 or np.ndim(dt) else out[0]


def _kernel_dplr_inputs(src):
    N = src.integer("N", 1, 16)
    r = src.integer("rank", 1, 2)
    H = None  # the (N,) form kernels are written in; channels (H, N) == a loop: tests/ssm
    lead = ()
    P = src.normal("P", lead + (N, r), scale=0.3, complex=True)
    Q = P if src.choice("Q_kind", ("equal_P", "independent")) == "equal_P" else src.normal(
        "Q", lead + (N, r), scale=0.3, complex=True)
    if r == 1:
        P, Q = P[..., 0], Q[..., 0]
    return {"Lambda": _stable(src, "Lambda", lead + (N,)), "P": P, "Q": Q,
            "B": src.normal("B", lead + (N,), complex=True), "Ct": src.normal("Ct", lead + (N,), complex=True),
            "dt": _dt(src, H), "L": src.integer("L", 1, 64), "half": src.boolean("half")}


def _peer_dense_dplr(Lambda, P, Q, B, Ct, dt, L, *, half=False):
    """Dense route: A = diag(Lambda) - P Q^* (the full spectrum), bilinear by LU, C = (I - Ab^L)^{-T} Ct, K_j = C^T Ab^j Bb."""
    P2, Q2 = (P[:, None] if P.ndim == 1 else P), (Q[:, None] if Q.ndim == 1 else Q)
    b, ct = B, Ct
    if half:  # the other member of each pair: every entry conjugated; P Q^* couples the two halves
        Lambda, P2, Q2 = (np.concatenate([x, x.conj()]) for x in (Lambda, P2, Q2))
        b, ct = np.concatenate([B, B.conj()]), np.concatenate([Ct, Ct.conj()])
    A = np.diag(Lambda) - P2 @ Q2.conj().T
    I = np.eye(A.shape[0])
    M = I - dt / 2 * A
    Ab, Bb = np.linalg.solve(M, I + dt / 2 * A), np.linalg.solve(M, dt * b)
    C = np.linalg.solve((I - np.linalg.matrix_power(Ab, L)).T, ct)
    x, K = Bb, []
    for _ in range(L):
        K.append(C @ x)
        x = Ab @ x
    return np.real(K) if half else np.array(K)


def _scan_inputs(src):
    N = src.integer("N", 1, 16)
    Ab, Bb = _stable_system(src, N)
    return {"Ab": Ab, "Bb": Bb, "C": src.normal("C", (N,)), "u": src.normal("u", (src.integer("L", 1, 64),))}


def _peer_dlsim(Ab, Bb, C, u):
    """scipy.signal.dlsim, whose y_k reads the state before u_k: C' = C Ab, D' = C Bb gives refimpl's y_k."""
    sys = (Ab, Bb[:, None], (C @ Ab)[None, :], np.array([[C @ Bb]]), 1.0)
    return scipy.signal.dlsim(sys, u)[1][:, 0]


def _causal_conv_inputs(src):
    Lu = src.integer("L_u", 1, 64)
    LK = src.integer("L_K", 1, 64)
    shape = (Lu,) if not src.boolean("channels") else (src.integer("H", 1, 3), Lu)
    return {"u": src.normal("u", shape), "K": src.normal("K", (LK,))}


def _peer_convolve(u, K):
    return np.apply_along_axis(lambda row: scipy.signal.convolve(row, K, method="direct")[: u.shape[-1]], -1, u)


def _kernel_inputs(src):
    N = src.integer("N", 1, 12)
    Ab, Bb = _stable_system(src, N)
    return {"Ab": Ab, "Bb": Bb, "C": src.normal("C", (N,)), "L": src.integer("L", 1, 64),
            "method": src.choice("method", ("naive", "generating"))}


def _ctilde_inputs(src, cname):
    N = src.integer("N", 1, 12)
    Ab, _ = _stable_system(src, N)
    return {"Ab": Ab, cname: src.normal(cname, (N,)), "L": src.integer("L", 1, 64)}


def _dplr_system(src, with_c):
    N = src.integer("N", 1, 12)
    out = {"Lambda": _stable(src, "Lambda", (N,)), "P": src.normal("P", (N,), scale=0.3, complex=True)}
    out["Q"] = out["P"]
    out["B"] = src.normal("B", (N,), complex=True)
    if with_c:
        out["C"] = src.normal("C", (N,), complex=True)
    out["dt"] = src.real("dt", 1e-3, 0.1, log=True)
    return out


def _dplr_step_inputs(src):
    out = _dplr_system(src, True)
    out["x"] = src.normal("x", out["B"].shape, complex=True)
    out["u"] = src.real("u", -2.0, 2.0)
    return out


def _dplr_scan_inputs(src):
    out = _dplr_system(src, True)
    out["u"] = src.normal("u", (src.integer("L", 1, 64),))
    return out


# ----------------------------------------------------------------------------- RTF
def _rtf_coeffs(src):
    d = src.integer("d", 1, 12)
    a = src.normal("a", (d,))
    a *= 0.9 / np.sum(np.abs(a))  # sum |a| < 1: no root of a(z) in the closed unit disc
    return a, src.normal("b", (d,)), d


def _rtf_kernel_inputs(src):
    a, b, d = _rtf_coeffs(src)
    return {"a": a, "b": b, "L": src.integer("L", d + 1, 64)}


def _rtf_from_ssm_inputs(src):
    N = src.integer("N", 1, 12)
    Ab, Bb = _stable_system(src, N)
    return {"Ab": Ab, "Bb": Bb, "C": src.normal("C", (N,))}


def _companion_inputs(src):
    return {"a": src.normal("a", (src.integer("d", 1, 16),))}


_EXACT = "entries are closed forms of a few correctly rounded operations on exact integers or the drawn parameters; "
_CLOSED_TOL = {"float64": (1e-13, 0.0), "float32": (1e-5, 0.0)}
_CLOSED_WHY = (_EXACT + "a different evaluation order (e.g. s4's T M T^-1 with an explicit inverse) adds at most "
               "~3 N u relative to max|entry| for N <= 64: 4e-14 (float64), 2e-5 would be loose for float32 "
               "(measured 2.4e-7 for s4's form in float32): rtol 1e-13 / 1e-5.")

CASES = [
    # ------------------------------------------------------------------------- LegS
    Case("ssm.legs", legs, inputs=_legs_inputs, tol=_CLOSED_TOL, why=_CLOSED_WHY,
         peers=(Peer("state-spaces/s4 transition('legs') form T M T^-1", lambda N, normalization="paper": (
             _scale(normalization, N)[:, None] * _s4_legs_A(N) / _scale(normalization, N)[None, :],
             np.sqrt(2.0 * np.arange(N) + 1.0) * {"paper": 1.0, "su": np.sqrt(2.0), "integer": 1.0}[normalization]
             * _scale(normalization, N)), why="s4 forms A with an explicit inverse of T: measured 4e-16"),)),
    Case("ssm.legs_matvec", legs_matvec, inputs=_legs_matvec_inputs,
         tol={"float64": (1e-12, 0.0), "float32": (1e-4, 0.0)},
         why="Row n is a length-n dot product: forward error <= 2 N u (|A||v|)_n, and for these v "
             "max(|A||v|) <= 8 max|A v| (measured; sqrt(N) growth), so the norm-wise bound is 2*64*8 u: "
             "2.3e-13 (float64), 1.2e-4 (float32). Measured for a dense A @ v: 4e-16 and 3e-7. rtol 1e-12 / 1e-4.",
         fast=("numba",),
         peers=(Peer("dense product with s4's transition('legs') matrix", _peer_matvec),)),
    Case("ssm.legs_solve", legs_solve, inputs=_legs_solve_inputs,
         tol={"float64": (1e-12, 0.0), "float32": (1e-4, 0.0)},
         why="Solve (I - lam A) z = v, lam log-uniform in [1e-3, 30]. For lam >= 0 the solve is well conditioned "
             "relative to max|z| (the S-recursion factor |1 - lam n| / (1 + lam (n+1)) < 1), so the bound is "
             "10*64 u = 1.4e-13 (float64), 7.6e-5 (float32); rtol 1e-12 / 1e-4. Measured for "
             "scipy.linalg.solve_triangular: 5e-16 and 5e-7.",
         fast=("numba",),
         peers=(Peer("scipy.linalg.solve_triangular with s4's transition('legs') matrix", _peer_solve),)),
    Case("ssm.legs_recurrence", legs_recurrence, inputs=_legs_recurrence_inputs,
         tol={"float64": (1e-11, 0.0), "float32": (1e-4, 0.0)},
         why="L <= 80 stable steps (forward Euler excepted: unstable while k < N/2, N <= 24 keeps the growth "
             "below 1e3): each step adds about N u relative to the state and the errors do not grow for the "
             "implicit rules: 24*80 u = 4e-13 (float64), 1.2e-4 with the Euler growth (float32). The O(N) "
             "S-recursion vs the dense per-step solve measures 1e-15. rtol 1e-11 / 1e-4.",
         fast=("numba",)),
    Case("ssm.legt", legt, inputs=_legt_inputs, tol=_CLOSED_TOL, why=_CLOSED_WHY),
    Case("ssm.lmu", lmu, inputs=_lmu_inputs, tol=_CLOSED_TOL, why=_CLOSED_WHY),
    Case("ssm.lagt", lagt, inputs=_lagt_inputs, tol=_CLOSED_TOL, why=_CLOSED_WHY),
    Case("ssm.fout", fout, inputs=_fout_inputs, tol=_CLOSED_TOL, why=_CLOSED_WHY),
    Case("ssm.fous", fous, inputs=_fous_inputs, tol=_CLOSED_TOL, why=_CLOSED_WHY),
    Case("ssm.fourier_complex_to_real", fourier_complex_to_real, inputs=_fous_inputs, tol=_CLOSED_TOL,
         why=_CLOSED_WHY),
    Case("ssm.transition", transition, inputs=_transition_inputs, tol=_CLOSED_TOL, why=_CLOSED_WHY),
    Case("ssm.hippo", hippo, inputs=_hippo_inputs, tol=_CLOSED_TOL, why=_CLOSED_WHY),
    # ------------------------------------------------------------------------- memory
    Case("ssm.project", project, inputs=_project_inputs,
         tol={"float64": (1e-11, 1e-13), "float32": (1e-4, 1e-6)},
         why="Gauss-Legendre quadrature exact for the piecewise-constant input (Legendre measures) or spectrally "
             "converged (LagT, Fourier) to round-off: a sum of about L x nodes terms, error ~ sqrt(L nodes) u "
             "relative to max|u| and the basis (up to sqrt(2N+1)): 1e-13 (float64); atol for coefficients that "
             "vanish. float32: 1e-5 with the basis recurrences. rtol 1e-11 / 1e-4."),
    Case("ssm.reconstruct", reconstruct, inputs=_reconstruct_inputs,
         tol={"float64": (1e-12, 1e-14), "float32": (1e-5, 1e-7)},
         why="A length-N sum of basis values from a stable three-term recurrence (N <= 25): ~ 2 N u sum|c_n "
             "phi_n| / max|f|, cancellation below 10 for normal coefficients: 1e-13 (float64), 6e-6 (float32)."),
    Case("ssm.legs_eigvec", legs_eigvec, inputs=_legs_eigvec_inputs,
         tol={"float64": (1e-12, 0.0), "float32": (1e-5, 0.0)},
         why="The S-recursion multiplies N <= 24 exactly representable ratios (one rounding each, 24 u) and the "
             "closed form is exact rationals rounded once: they agree to 24 u = 5e-15 relative to max|v|; "
             "1e-12 leaves room for factorial-ratio evaluations in another order. float32: 24 u = 3e-6."),
    Case("ssm.nplr", nplr, inputs=_nplr_inputs,
         tol={"float64": (1e-10, 1e-12), "float32": (1e-3, 1e-5)},
         why="An eigendecomposition of a normal matrix (N <= 33): eigenvalues to ~N u ||A||, eigenvectors to "
             "~N u ||A|| / gap (the gaps of the HiPPO skew parts are >= 1): 1e-13 relative; rtol 1e-10. "
             "A peer must follow refimpl's ordering and phase conventions (docs/ssm.md); float32 LAPACK: 1e-5."),
    # ------------------------------------------------------------------------- discretisation
    Case("ssm.discretize", discretize, inputs=_discretize_inputs,
         tol={"float64": (1e-12, 0.0), "float32": (2e-5, 0.0), "bfloat16": (6e-2, 0.0), "float16": (8e-3, 0.0)},
         why="dt is log-uniform in [1e-3, 0.1], so ||dt A||_2 <= 1.7 and I - alpha dt A has condition number below "
             "20: a backward-stable solve or a Pade/Taylor expm is accurate to a few kappa u relative to max|Ab|, "
             "i.e. ~1e-14 (float64) and ~1e-6 (float32). Measured: scipy.signal.cont2discrete 2e-16, "
             "torch.linalg.solve/torch.matrix_exp in float32 3e-7. rtol 1e-12 / 2e-5. (torch 2.13's float64 "
             "matrix_exp fails this case by 2e-10 on a 2x2 augmented ZOH matrix: its degree-8 Taylor branch "
             "has a wrong coefficient, pytorch/pytorch#196592.) bfloat16/float16: Gauss-Jordan elimination or "
             "Taylor + squaring in the dtype, about 2 N_ops u with N_ops ~ N = 16 plus I + dt A rounding "
             "(u relative to 1, ~u/dt relative to dt A Bb): ~8 u, 15 u with the growth: bf16 15*2^-8 = 6e-2, "
             "fp16 15*2^-11 = 7e-3. Measured with torch in the dtype (Gauss-Jordan and Taylor/squaring, "
             "tests/ssm/test_low_precision.py, 40 draws): worst error/tolerance 0.16 (bf16), 0.25 (fp16).",
         peers=(Peer("scipy.signal.cont2discrete", _peer_cont2discrete),)),
    # ------------------------------------------------------------------------- S4 / S4D
    Case("ssm.cauchy", cauchy, inputs=_cauchy_inputs,
         tol={"float64": (1e-11, 0.0), "float32": (2e-4, 0.0)},
         why="r_l = sum_n v_n / (z_l - w_n) (+ the conjugate half), poles Re in [-1, -0.05], |Im| <= 30, nodes on "
             "the imaginary axis |Im| <= 40 (S4's nodes). Error <= (N' + 4) u sum_n |v_n/(z_l - w_n)| with "
             "N' <= 64 terms; for these inputs the sum is at most 20 max|r| (measured over 3000 examples), so "
             "float64 68*20 u = 3e-13 relative to max|r|: rtol 1e-11 leaves room for any summation order (a "
             "naive NumPy sum measures 6e-16). float32: 68*20*6e-8 = 8e-5: rtol 2e-4 (naive complex64: 2.3e-7). "
             "No bfloat16/float16 row: the inputs are complex (no complex bf16 in NumPy or torch's CPU ops).",
         fast=("numba", "cupy"),
         peers=(Peer("state-spaces/s4 cauchy_naive (torch)", _peer_s4_cauchy, requires=("torch",), convert="torch"),)),
    Case("ssm.kernel_diag", kernel_diag, inputs=_kernel_diag_inputs,
         tol={"float64": (1e-11, 0.0), "float32": (5e-4, 0.0), "bfloat16": (0.75, 0.0), "float16": (0.1, 0.0)},
         why="K_j = sum_n C_n Bb_n Ab_n^j, N <= 32, L <= 64, |dt Lambda| <= 3. Each power Ab^j has relative "
             "error about j u |dt Lambda| + a few ulp, up to 64*3 u per term; the N-term sum can cancel, "
             "sum_n |C_n Bb_n| / max|K| up to about 10: float64 2e-12 (measured 1e-13): rtol 1e-11; float32 "
             "(u = 6e-8) 1.2e-4 (measured 6e-5 for a complex64 port with repeated powers): rtol 5e-4. "
             "bfloat16/float16 (real and imaginary parts in the dtype): the phase j dt Im(Lambda) reaches "
             "63*0.1*30 = 190 rad and carries 190 u absolute error: 0.74 in bf16, 0.093 in fp16 (a bf16 "
             "Vandermonde kernel is not accurate for such phases): rtol 0.75 / 0.1. Measured with torch in "
             "the dtype (exp/cos/sin Vandermonde for ZOH, repeated products for bilinear; "
             "tests/ssm/test_low_precision.py, 40 draws): worst error/tolerance 0.23 (bf16), 0.28 (fp16).",
         fast=("cupy",),
         peers=(Peer("scipy.linalg.expm of the dense diagonal system", _peer_expm_kernel),)),
    Case("ssm.kernel_dplr", kernel_dplr, inputs=_kernel_dplr_inputs,
         tol={"float64": (1e-10, 0.0), "float32": (2e-3, 0.0), "bfloat16": (0.5, 0.0), "float16": (0.25, 0.0)},
         why="S4 kernel of A = diag(Lambda) - P Q^* (bilinear, Woodbury + Cauchy, inverse FFT), N <= 16, rank "
             "1-2, L <= 64, Lambda with Re in [-1, -0.05], |Im| <= 30, P, Q normal x 0.3. refimpl's stated "
             "accuracy is 1e-10 relative to max|K| against the dense route (typical 1e-13; the dense route "
             "measures 7e-12 here): float64 rtol 1e-10. float32: the Woodbury correction 1/(1 + k11), the "
             "C-tilde solve and the inverse FFT each lose up to a condition number times u; the dense route in "
             "complex64 measures 1.6e-4: rtol 2e-3. bfloat16/float16 (real and imaginary parts in the dtype, "
             "node tables rounded once): a pole dt Lambda_n sits |Re| >= 0.05 dt from the imaginary axis "
             "but |Im| up to 30 dt, and the rounding of node and pole (u |z|) is amplified by "
             "|z| / |z - w| up to 30/0.05 = 600 in the terms near a pole: 600 u = 2.3 (bf16, saturated) "
             "and 0.29 (fp16) in the worst term, diluted by the other terms in max|K|. Measured with torch "
             "in the dtype (tests/ssm/test_low_precision.py, 40 draws): worst relative error 0.11 (bf16) and "
             "0.10 (fp16), i.e. error/tolerance 0.23 and 0.39: rtol 0.5 / 0.25.",
         fast=("numba", "cupy"),
         peers=(Peer("dense bilinear route (numpy LU, matrix powers)", _peer_dense_dplr),)),
    Case("ssm.scan", scan, inputs=_scan_inputs,
         tol={"float64": (1e-11, 0.0), "float32": (1e-4, 0.0), "bfloat16": (0.25, 0.0), "float16": (3e-2, 0.0)},
         why="x_k = Ab x_{k-1} + Bb u_k, y_k = C x_k for the bilinear LegS system or a random contraction "
             "(||Ab||_2 <= 0.95), N <= 16, L <= 64. The system is stable, so rounding errors do not grow: each "
             "step adds about N u relative to the state, and the output sums at most 1/(1 - 0.95) = 20 of "
             "them: float64 16*64 u = 2.3e-13 relative to max|y|, rtol 1e-11 (for cancellation in C x); float32 "
             "6e-5, rtol 1e-4. bfloat16/float16 (state kept in the dtype): N u per step accumulated over ~20 "
             "steps of memory, 16*20 u/sqrt(16) (random signs) = 80 u: bf16 0.3, fp16 4e-2: rtol 0.25 / 3e-2. "
             "Measured with torch in the dtype (tests/ssm/test_low_precision.py, 40 draws): worst "
             "error/tolerance 0.20 (bf16), 0.20 (fp16).",
         fast=("numba",),
         peers=(Peer("scipy.signal.dlsim (output matrix C Ab, feedthrough C Bb)", _peer_dlsim),)),
    Case("ssm.causal_conv", causal_conv, inputs=_causal_conv_inputs,
         tol={"float64": (1e-12, 0.0), "float32": (5e-5, 0.0), "bfloat16": (6e-2, 0.0), "float16": (8e-3, 0.0)},
         why="y_k = sum_{j<=k} K_j u_{k-j}, L_u, L_K <= 64. FFT convolution has absolute error about u log2(n) "
             "||K||_2 ||u||_2, n <= 128; relative to max|y| (about ||K||_2 max|u|) that is 7 u sqrt(L_u) <= "
             "56 u: float64 1.2e-14, rtol 1e-12; float32 3.4e-6, rtol 5e-5. A direct sum is more accurate. "
             "bfloat16/float16 (products and the running sum in the dtype, a direct sum or an FFT): 64 terms "
             "with random signs, ~sqrt(64) u relative to the sum of magnitudes, which is <= 2 sqrt(64) max|y| "
             "for normal inputs: ~16 u, bf16 6e-2, fp16 8e-3. Measured with torch's conv1d in the dtype "
             "(tests/ssm/test_low_precision.py, 40 draws): worst error/tolerance 0.06 (bf16), 0.05 (fp16): "
             "the rounding errors of a sum mostly cancel, the bound is the worst case.",
         peers=(Peer("scipy.signal.convolve (direct)", _peer_convolve),)),
    Case("ssm.kernel", kernel, inputs=_kernel_inputs,
         tol={"float64": (1e-11, 0.0), "float32": (1e-4, 0.0)},
         why="K_j = C^T Ab^j Bb for a stable system (||Ab||_2 <= 0.95 or bilinear LegS), N <= 12, L <= 64: the "
             "naive route has the forward error of j matrix-vector products, j N u relative to max|K| (no "
             "growth): 64*12 u = 1.7e-13; the generating-function route adds the resolvent's condition number "
             "(<= 40 here): rtol 1e-11; float32 1e-4.",
         peers=(Peer("scipy.signal.dlsim of a unit impulse", lambda Ab, Bb, C, L, method="naive": _peer_dlsim(
             Ab, Bb, C, np.eye(1, L)[0])),)),
    Case("ssm.ctilde_from_c", ctilde_from_c, inputs=lambda src: _ctilde_inputs(src, "C"),
         documented={"L": {"huge": "Ab^L by repeated squaring takes log2 L products: any length is valid"}},
         tol={"float64": (1e-12, 1e-14), "float32": (1e-5, 1e-7)},
         why="C - (Ab^L)^T C with Ab^L by repeated squaring (log2 L <= 6 products, each N u relative, no "
             "growth for ||Ab|| <= 0.95): 6*12 u = 1.6e-14 relative to max|C|; atol for a vanishing entry."),
    Case("ssm.c_from_ctilde", c_from_ctilde, inputs=lambda src: _ctilde_inputs(src, "Ct"),
         documented={"L": {"huge": "Ab^L by repeated squaring takes log2 L products: any length is valid"}},
         tol={"float64": (1e-11, 1e-14), "float32": (1e-4, 1e-7)},
         why="One LU solve with I - Ab^L, condition number <= 1 / (1 - 0.95) = 20 for these systems: 20 N u "
             "= 5e-14 plus the power's error: rtol 1e-11 (float64), 1e-4 (float32)."),
    Case("ssm.dplr_discretize", dplr_discretize, inputs=lambda src: _dplr_system(src, False),
         tol={"float64": (1e-12, 1e-14), "float32": (1e-4, 1e-6)},
         why="Woodbury inverse of I - dt/2 A with r = 1: D = 1/(2/dt - Lambda) exact to u, the 1x1 correction "
             "1 + Q^* D P is >= 1 - 0.09 N dt/2 away from 0: a few N u relative to max|Ab|: 1e-14; "
             "discretize(..., 'bilinear') of the dense matrix agrees to 1e-13 (tested)."),
    Case("ssm.dplr_step", dplr_step, inputs=_dplr_step_inputs,
         tol={"float64": (1e-12, 1e-14), "float32": (1e-4, 1e-6)},
         why="One Woodbury step (as dplr_discretize, O(N r)): a few N u relative to max|x_next|, |y|."),
    Case("ssm.dplr_scan", dplr_scan, inputs=_dplr_scan_inputs,
         tol={"float64": (1e-11, 1e-14), "float32": (1e-4, 1e-6)},
         why="L <= 64 Woodbury steps of a stable system: N u per step, no growth, summed over <= 64 steps: "
             "12*64 u = 1.7e-13; rtol 1e-11 (float64), 1e-4 (float32)."),
    Case("ssm.companion", companion, inputs=_companion_inputs, tol={"float64": (0.0, 0.0), "float32": (0.0, 0.0)},
         why="Entries are -a copied and exact ones and zeros: bitwise in every dtype."),
    Case("ssm.rtf_kernel", rtf_kernel, inputs=_rtf_kernel_inputs,
         tol={"float64": (1e-11, 0.0), "float32": (1e-4, 0.0)},
         why="K = IDFT(DFT(b) / DFT(1, a)), sum|a| = 0.9 so |a(w)| >= 0.1 on the circle: the division amplifies "
             "the FFT's log2 L u error by at most 10: 10*6 u = 1.3e-14 relative to max|K| (the naive kernel of "
             "the companion system agrees to 1e-10 at d = 64, L = 4096); rtol 1e-11 / 1e-4."),
    Case("ssm.rtf_to_ssm", rtf_to_ssm, inputs=_rtf_kernel_inputs,
         documented={"L": {"huge": "L enters only through Ab^L (repeated squaring): any length is valid"}},
         tol={"float64": (1e-11, 1e-14), "float32": (1e-4, 1e-7)},
         why="companion(a), e_1 and one solve with I - Ab^L, condition number <= 1/(1 - 0.9) = 10 for sum|a| "
             "= 0.9: 10 d u + the power's error ~1e-14; rtol 1e-11 (float64), 1e-4 (float32)."),
    Case("ssm.rtf_from_ssm", rtf_from_ssm, inputs=_rtf_from_ssm_inputs,
         tol={"float64": (1e-10, 1e-13), "float32": (1e-3, 1e-6)},
         why="det and resolvent of I - w Ab at n <= 16 roots of unity by LU (condition number <= 20 for these "
             "stable systems) and an inverse FFT: ~20 N u max|a(w)| absolute: coefficients to 1e-12 relative "
             "to their max; rtol 1e-10 (float64), 1e-3 (float32)."),
]


# ============================================================================= what refimpl takes from state-spaces/s4
# The extra measures, s4_nplr, s4d_init, kernel_dss. Every peer is a transcription of the s4 code in
# refimpl/ssm/_s4_peer.py (https://github.com/state-spaces/s4 at e757cef5), run in float64 where s4
# hard-codes float32.

_CLOSED_FORM = ("entries are closed forms (a square root, a ratio of Gamma functions, a multiple of pi): "
                "refimpl and s4 evaluate them in different orders (s4 forms T M T^-1 and "
                "sqrt(2i+1) sqrt(2j+1); refimpl one sqrt of an exact integer product), a few ulps apart; "
                "measured <= 2.3e-16 relative to the largest entry for N <= 64. rtol 1e-14.")


def _glagt_inputs(src):
    return {"N": src.integer("N", 1, 64), "alpha": src.real("alpha", -0.9, 0.9), "beta": src.real("beta", 1e-3, 4.0,
                                                                                                    log=True)}


def _tlagt_inputs(src):
    return {"N": src.integer("N", 1, 64), "beta": src.real("beta", 0.05, 4.0, log=True)}


def _n_inputs(src):
    return {"N": src.integer("N", 1, 64)}


def _even_inputs(src):
    return {"N": src.even("N", 2, 64)}


def _rank_correction_inputs(src):
    measure = src.choice("measure", ("legs", "legt", "lagt", "fourier", "fourier_decay", "fourier_diag", "legsd"))
    need = 2 if measure == "legt" else 1
    return {"measure": measure, "N": src.even("N", 2, 64), "rank": need + src.integer("extra_rank", 0, 2)}


def _s4_nplr_inputs(src):
    measure = src.choice("measure", ("legs", "legt", "lagt", "legsd"))
    need = 2 if measure == "legt" else 1
    return {"measure": measure, "N": src.even("N", 4, 64), "rank": need + src.integer("extra_rank", 0, 1),
            "B_clip": src.choice("B_clip", (2.0, 0.5, None))}


def _s4d_init_inputs(src):
    init = src.choice("init", S4D_INITS)
    return {"init": init, "N": 4 * src.integer("N_over_4", 1, 16),
            "real_scale": 1.0 if init == "real" else src.real("real_scale", 0.1, 4.0, log=True),
            "imag_scale": src.real("imag_scale", 0.0, 2.0), "B_init": src.choice("B_init", S4D_B_INITS),
            "B_scale": src.real("B_scale", 0.25, 4.0, log=True), "B_clip": src.choice("B_clip", (2.0, 1.0, None)),
            "normalize": src.boolean("normalize")}


def _kernel_dss_inputs(src):
    N = src.integer("N", 1, 32)
    Lam = src.normal("Lambda", (N,), complex=True) * src.real("Lambda_scale", 0.1, 10.0, log=True)
    return {"Lambda": Lam, "B": src.normal("B", (N,), complex=True), "C": src.normal("C", (N,), complex=True),
            "dt": src.real("dt", 1e-3, 1.0, log=True), "L": src.integer("L", 1, 256),
            "eps": src.choice("eps", (1e-7, 0.0))}


def _pair(measure):
    return lambda N, **kw: _s4_peer.transition(measure, N, **kw)


def _torch_rank_correction(measure):
    """The peer of one pinned measure (a pinned label is not passed to the peer)."""
    def peer(N, rank=1):
        import torch

        # s4 returns its Fourier rows in float32 whatever dtype says: widened exactly, the values are s4's
        return _s4_peer.rank_correction(measure, N, rank=rank, dtype=torch.double).to(torch.double).numpy()

    return peer


def _torch_nplr(measure, N, rank=1, B_clip=2.0):
    import torch

    return _s4_peer.nplr(measure, N, rank, dtype=torch.double, B_clip=B_clip)


def _torch_dplr(init="legs", N=64, real_scale=1.0, imag_scale=1.0, B_init="constant", B_scale=1.0, B_clip=2.0,
                normalize=False):
    import torch

    return _s4_peer.dplr(init, N, dtype=torch.double, real_scale=real_scale, imag_scale=imag_scale, B_init=B_init,
                         B_scale=B_scale, normalize=normalize, B_clip=B_clip)


_TRANSCRIPTION = "transcription of state-spaces/s4 src/models/hippo/hippo.py transition()"

S4_CASES = [
    Case("ssm.glagt", glagt, inputs=_glagt_inputs, tol={"float64": (1e-14, 0.0)}, why=_CLOSED_FORM,
         peers=(Peer("s4 transition('glagt')", _pair("glagt"), requires=("scipy",), why=_TRANSCRIPTION),),
         corners=({"alpha": -0.9, "N": 64}, {"alpha": 0.9, "beta": 1e-3})),
    Case("ssm.tlagt", tlagt, inputs=_tlagt_inputs, tol={"float64": (1e-15, 0.0)},
         why="entries are 0, -1, beta and (1-beta)/2: exact in both codes. rtol 1e-15.",
         peers=(Peer("s4 transition('tlagt')", _pair("tlagt"), why=_TRANSCRIPTION),)),
    Case("ssm.legsd", legsd, inputs=_n_inputs, tol={"float64": (1e-14, 0.0)}, why=_CLOSED_FORM,
         peers=(Peer("s4 transition('legsd')", _pair("legsd"), why=_TRANSCRIPTION),)),
    Case("ssm.fourier_diag", fourier_diag, inputs=_even_inputs, tol={"float64": (1e-15, 0.0)},
         why="entries 2 pi k, -1/2, 1, sqrt 2: one rounding each in both codes. rtol 1e-15.",
         peers=(Peer("s4 transition('fourier_diag')", _pair("fourier_diag"), why=_TRANSCRIPTION),)),
    Case("ssm.fourier_decay", fourier_decay, inputs=_even_inputs, tol={"float64": (1e-15, 0.0)},
         why="entries pi k, products of 1 and sqrt 2 halved: one or two roundings each. rtol 1e-15.",
         peers=(Peer("s4 transition('fourier_decay')", _pair("fourier_decay"), why=_TRANSCRIPTION),)),
    Case("ssm.rank_correction", rank_correction, inputs=_rank_correction_inputs, tol={"float64": (1e-15, 0.0)},
         why="square roots of n + 1/2, 2n + 1 and 2: one or two roundings. The peer is run with dtype=double "
             "where s4 takes a dtype; s4 builds the Fourier rows in float32 whatever dtype says (1, sqrt 2 "
             "rounded to float32: 1.2e-8 relative), so that peer is held to 3e-8.",
         peers=(Peer("s4 rank_correction (torch, float64)", _torch_rank_correction("legs"),
                     requires=("torch",),
                     fixed={"measure": "legs"}, why="float64 path of s4's code"),
                Peer("s4 rank_correction('legt') (torch, float64)", _torch_rank_correction("legt"),
                     requires=("torch",),
                     fixed={"measure": "legt"}, why="float64 path of s4's code"),
                Peer("s4 rank_correction('fourier') (float32 rows)", _torch_rank_correction("fourier"),
                     requires=("torch",),
                     fixed={"measure": "fourier"}, tol=(3e-8, 0.0),
                     why="s4 builds these rows in float32: sqrt 2 off by 1.2e-8 relative"))),
    Case("ssm.s4_nplr", s4_nplr, inputs=_s4_nplr_inputs,
         documented={"B_clip": {"none": "None means no clipping, as in s4"}}, tol={"float64": (1e-11, 0.0)},
         why="Lambda: eigenvalues of a normal matrix, backward stable (error <= N eps ||A||; measured 1e-15 "
             "relative for N <= 128). V, B, P: eigenvectors, error ~ N eps ||A|| / gap; the LegS/LegT/LagT "
             "gaps shrink with N, measured against the torch transcription 1e-13 (V) and 2e-14 (B) relative "
             "to the largest entry at N = 64..128. rtol 1e-11 leaves a factor 100. Both sides fix the sign of "
             "each eigenvector the same way (LAPACK leaves it free).",
         peers=(Peer("s4 nplr (torch eigh, float64)", _torch_nplr, requires=("torch",),
                     why="s4's nplr step by step in torch, dtype=double, signs fixed as refimpl documents"),)),
    Case("ssm.s4d_init", s4d_init, inputs=_s4d_init_inputs,
         documented={"B_clip": {"none": "None means no clipping, as in s4"}}, tol={"float64": (1e-11, 0.0)},
         why="closed forms (pi n, N/pi (N/(2n+1) - 1), (2n+1)^2/pi): a few ulps; the LegS parts are "
             "eigenvalues and V^* B of s4_nplr (measured 2.2e-14 relative to max|B| at N = 64 against the "
             "torch transcription). rtol 1e-11 as s4_nplr.",
         peers=(Peer("s4 dplr (torch, float64)", _torch_dplr, requires=("torch",),
                     why="s4's dplr with H = 1 and dtype=double (s4 calls nplr in float32)"),),
         corners=({"init": "real"}, {"init": "legs", "B_clip": None}, {"B_init": "alternating", "normalize": True})),
    Case("ssm.kernel_dss", kernel_dss, inputs=_kernel_dss_inputs, tol={"float64": (1e-11, 0.0)},
         why="each term is exp of a phase dt lambda l (|dt lambda L| <= 1 * 30 * 256 = 7.7e3 for these draws), "
             "rounded once: relative error <= 7.7e3 eps = 1.7e-12 per term in the worst draw; terms of random "
             "B, C add with cancellation of a few units. Measured against the torch transcription of s4's "
             "dss branch: 3e-15 for L = 100. rtol 1e-11.",
         peers=(Peer("s4 SSMKernelDiag disc='dss' (torch, float64)", _s4_peer.dss_kernel, requires=("torch",),
                     why="the dss branch of SSMKernelDiag.forward in torch complex128"),),
         corners=({"eps": 0.0}, {"L": 1}, {"L": 256, "Lambda_scale": 10.0, "dt": 1.0})),
]

CASES += S4_CASES
