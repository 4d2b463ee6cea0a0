"""Benchmarks of refimpl.ssm."""
from __future__ import annotations

import numpy as np
import scipy.linalg

from refimpl.ssm import legs, legs_matvec, legs_recurrence, legs_solve

from ._harness import Impl, Spec, case, floor_copy, optional_torch


@case("ssm.legs_matvec")
def legs_matvec_case(quick):
    N = 256 if quick else 4096
    A, _ = legs(N)
    v = np.random.default_rng(0).standard_normal(N)
    impls = [
        Impl("refimpl numba O(N)", "refimpl", lambda: legs_matvec(v, backend="numba"), jit=True),
        Impl("refimpl reference (dense A @ v)", "refimpl", lambda: legs_matvec(v, backend="reference")),
        Impl("numpy dense A @ v", "peer", lambda: A @ v),
    ]
    torch = optional_torch()
    if torch is not None:
        At, vt = torch.from_numpy(A), torch.from_numpy(v)
        impls.append(Impl("torch CPU dense A @ v", "peer", lambda: (At @ vt).numpy()))
    impls.append(floor_copy(2 * N * 8, f"floor: memcpy of v and out ({2 * N * 8 // 1024} KiB)"))
    return Spec(f"LegS A @ v, N={N}, float64", impls, reference="numpy dense A @ v", rtol=1e-12)


@case("ssm.legs_solve")
def legs_solve_case(quick):
    N = 256 if quick else 4096
    lam = 0.5
    A, _ = legs(N)
    M = np.eye(N) - lam * A
    v = np.random.default_rng(1).standard_normal(N)
    impls = [
        Impl("refimpl numba O(N)", "refimpl", lambda: legs_solve(v, lam, backend="numba"), jit=True),
        Impl("refimpl reference (dense triangular solve)", "refimpl", lambda: legs_solve(v, lam, backend="reference")),
        Impl("scipy solve_triangular dense", "peer", lambda: scipy.linalg.solve_triangular(M, v, lower=True)),
    ]
    torch = optional_torch()
    if torch is not None:
        Mt, vt = torch.from_numpy(M), torch.from_numpy(v)[:, None]
        impls.append(Impl("torch CPU solve_triangular", "peer",
                          lambda: torch.linalg.solve_triangular(Mt, vt, upper=False)[:, 0].numpy()))
    impls.append(floor_copy(2 * N * 8, f"floor: memcpy of v and out ({2 * N * 8 // 1024} KiB)"))
    return Spec(f"LegS (I - lam A) z = v, N={N}, lam={lam}, float64", impls,
                reference="scipy solve_triangular dense", rtol=1e-11)


@case("ssm.legs_recurrence")
def legs_recurrence_case(quick):
    """The LegS online memory, Su's bilinear rule: O(N) per step vs dense per-step solves."""
    N, L = (16, 200) if quick else (256, 100_000)
    method = "su_bilinear"
    u = np.random.default_rng(2).standard_normal(L)
    A, B = legs(N)
    I = np.eye(N)
    buf = np.empty((L, N))
    M = np.empty((N, N))
    Ax = np.empty(N)

    def dense():
        """Per step: x <- solve_triangular(I - A/(2(k+1)), (I + A/(2k)) x + B u_k / k), dense."""
        out = np.empty((L, N))
        x = np.zeros(N)
        x[0] = u[0]
        out[0] = x
        for k in range(1, L):
            np.multiply(A, -0.5 / (k + 1), out=M)
            M[np.diag_indices(N)] += 1.0
            np.matmul(A, x, out=Ax)
            rhs = x + (0.5 / k) * Ax + B * (u[k] / k)
            x = scipy.linalg.solve_triangular(M, rhs, lower=True, check_finite=False)
            out[k] = x
        return out

    impls = [
        Impl("refimpl numba O(N), out= buffer", "refimpl",
             lambda: legs_recurrence(u, N, method, backend="numba", out=buf), jit=True),
        Impl("refimpl numba O(N), new array", "refimpl", lambda: legs_recurrence(u, N, method, backend="numba")),
        Impl("scipy dense solve_triangular/step", "peer", dense),
    ]
    fill_buf = np.empty((L, N))

    def stream_out():
        fill_buf.fill(1.0)
        return None

    impls.append(Impl(f"floor: write (L, N) output ({L * N * 8 / 2**20:.0f} MiB)", "floor", stream_out))
    return Spec(f"LegS memory legs_recurrence(u, N={N}, '{method}'), L={L} steps, float64", impls,
                reference="scipy dense solve_triangular/step", rtol=1e-10,
                notes="row k = state at t = k+1; the numba kernel fuses (I + A/2k) x, B u/k and the O(N) "
                      "S-recursion solve, two steps per pass over n; the floor writes (L, N) once")


# ----------------------------------------------------------------------------- S4 / S4D / RTF
from refimpl.ssm import (cauchy, ctilde_from_c, discretize, kernel, kernel_diag,  # noqa: E402
                         kernel_dplr, nplr, rtf_kernel, rtf_to_ssm)
from refimpl.ssm import _xp  # noqa: E402

from ._harness import floor_gemm  # noqa: E402

# per (channel, node, state pair): two terms v/(z-w) + conj(v)/(z-conj(w)), each 16 real flops
# (complex subtraction 2, |d|^2 3, reciprocal 1, v*conj(d) 6, scaling 2, accumulation 2)
_CAUCHY_FLOPS_PER_PAIR = 32


def _cauchy_chunked(fn, v, z, w, chunk):
    return np.concatenate([fn(v[i:i + chunk], z, w[i:i + chunk]) for i in range(0, v.shape[0], chunk)])


def _torch_cauchy(torch, v, z, w):
    """The s4 ``cauchy_naive`` broadcasting written in torch (CPU, complex128), conj-extended."""
    d1 = z[None, :, None] - w[:, None, :]
    d2 = z[None, :, None] - w.conj()[:, None, :]
    return (v[:, None, :] / d1 + v.conj()[:, None, :] / d2).sum(-1)


@case("ssm.cauchy")
def cauchy_case(quick):
    H, Nh, L = (8, 8, 256) if quick else (256, 32, 16384)
    M = L // 2 + 1                                     # nodes 0..L/2 of the rfft half
    rng = np.random.default_rng(11)
    v = rng.standard_normal((H, Nh)) + 1j * rng.standard_normal((H, Nh))
    lam_h = nplr("legs", 2 * Nh, half=True)[0]
    dt = np.exp(rng.uniform(np.log(1e-3), np.log(1e-1), H))
    w = np.ascontiguousarray(dt[:, None] * lam_h[None, :])
    z = np.exp(-2j * np.pi * np.arange(M) / L)         # the unit-circle nodes (timing does not depend on which)
    chunk = 8
    impls = [
        Impl("refimpl numba (parallel)", "refimpl", lambda: cauchy(v, z, w, conj=True, backend="numba"), jit=True),
        Impl(f"numpy broadcasting ({chunk}-channel chunks)", "peer",
             lambda: _cauchy_chunked(lambda a, b, c: _xp.cauchy_xp(np, a, b, c, True), v, z, w, chunk)),
    ]
    torch = optional_torch()
    if torch is not None:
        vt, zt, wt = (torch.from_numpy(x) for x in (v, z, w))
        impls.append(Impl(f"torch CPU broadcasting ({chunk}-channel chunks)", "peer",
                          lambda: _cauchy_chunked(lambda a, b, c: _torch_cauchy(torch, a, b, c).numpy(),
                                                  vt, zt, wt, chunk)))
    flops = H * M * Nh * _CAUCHY_FLOPS_PER_PAIR
    k = max(8, int(round((flops / 2) ** (1 / 3))))
    impls.append(floor_gemm(k, k, k, np.float64, 1, f"floor: float64 GEMM {k}^3 (= {2 * k**3 / 1e9:.2f} GFLOP)"))
    return Spec(f"Cauchy sum_n v/(z-w) + conj, H={H}, N={2 * Nh} ({Nh} pairs), {M} nodes, complex128", impls,
                reference="refimpl numba (parallel)", rtol=1e-12,
                notes=f"model: {flops / 1e9:.3f} GFLOP ({_CAUCHY_FLOPS_PER_PAIR} flops per channel x node x pair); "
                      f"GFLOP/s = {flops / 1e9:.3f} / median; the GEMM floor has the same flop count, so its "
                      f"'x floor' column is (measured float64 GEMM peak) / (achieved rate)")


def _s4_setup(N, L, dt=0.01):
    A, B = legs(N)
    C = np.random.default_rng(12).standard_normal(N)
    Ab, Bb = discretize(A, B, dt, "bilinear")
    Lam, P, Bv, V = nplr("legs", N)
    Abv, _ = discretize(np.diag(Lam) - P @ P.conj().T, Bv, dt, "bilinear")
    Ct = ctilde_from_c(Abv, V.T @ C, L)
    Lh, Ph, Bh, _ = nplr("legs", N, half=True)
    return Ab, Bb, C, Lam, P, Bv, Ct, Lh, Ph, Bh


def _register_scaling(L_full):
    tag = f"L{L_full // 1024}k"

    @case(f"ssm.kernel_s4_{tag}")
    def s4_case(quick):
        N, L, dt = (16, max(64, L_full // 64), 0.01) if quick else (64, L_full, 0.01)
        Ab, Bb, C, Lam, P, Bv, Ct, Lh, Ph, Bh = _s4_setup(N, L, dt)
        impls = [
            Impl("naive powers O(L N^2)", "refimpl", lambda: kernel(Ab, Bb, C, L)),
            Impl("generating fn + Schur O(L N^2)", "refimpl", lambda: kernel(Ab, Bb, C, L, method="generating")),
            Impl("DPLR full, numba Cauchy", "refimpl", lambda: kernel_dplr(Lam, P, P, Bv, Ct, dt, L).real, jit=True),
            Impl("DPLR half (s4), numba Cauchy", "refimpl",
                 lambda: kernel_dplr(Lh, Ph, Ph, Bh, Ct[: N // 2], dt, L, half=True), jit=True),
            Impl("DPLR half (s4), the reference definition", "refimpl",
                 lambda: kernel_dplr(Lh, Ph, Ph, Bh, Ct[: N // 2], dt, L, half=True, backend="reference")),
        ]
        return Spec(f"S4 LegS kernel, N={N}, L={L}, dt={dt}: the routes", impls,
                    reference="naive powers O(L N^2)", rtol=1e-10,
                    notes="scaling table: compare the same row across ssm.kernel_s4_L1k..L64k")

    @case(f"ssm.kernel_s4d_{tag}")
    def s4d_case(quick):
        N, L, dt = (16, max(64, L_full // 64), 0.01) if quick else (64, L_full, 0.01)
        lam = -0.5 + 1j * np.pi * np.arange(N // 2)
        rng = np.random.default_rng(13)
        Bh = np.ones(N // 2) + 0j
        Ch = rng.standard_normal(N // 2) + 1j * rng.standard_normal(N // 2)
        full = np.concatenate([lam, lam.conj()])
        Ab = np.diag(np.exp(dt * full))
        Bb = np.expm1(dt * full) / full * np.concatenate([Bh, Bh.conj()])
        C = np.concatenate([Ch, Ch.conj()])
        impls = [
            Impl("naive powers of diag(exp(dt Lambda))", "refimpl", lambda: kernel(Ab, Bb, C, L).real),
            Impl("S4D ZOH Vandermonde (half, 2 Re)", "refimpl", lambda: kernel_diag(lam, Bh, Ch, dt, L, "zoh",
                                                                                     half=True)),
        ]
        return Spec(f"S4D-Lin kernel, N={N}, L={L}, dt={dt}", impls,
                    reference="naive powers of diag(exp(dt Lambda))", rtol=1e-10)

    @case(f"ssm.kernel_rtf_{tag}")
    def rtf_case(quick):
        d, L = (16, max(64, L_full // 64)) if quick else (64, L_full)
        rng = np.random.default_rng(14)
        a = rng.standard_normal(d)
        a *= 0.9 / np.sum(np.abs(a))
        b = rng.standard_normal(d)
        Ab, Bb, C = rtf_to_ssm(a, b, L)
        impls = [
            Impl("naive powers of the companion", "refimpl", lambda: kernel(Ab, Bb, C, L)),
            Impl("RTF: irfft(rfft(b)/rfft(1,a)) O(L log L)", "refimpl", lambda: rtf_kernel(a, b, L)),
        ]
        return Spec(f"RTF kernel, d={d}, L={L}, sum|a|=0.9", impls, reference="naive powers of the companion",
                    rtol=1e-10)


for _L in (1024, 4096, 16384, 65536):
    _register_scaling(_L)
