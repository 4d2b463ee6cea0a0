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
        Impl("refimpl numpy O(N)", "refimpl", lambda: legs_matvec(v, backend="numpy")),
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
        Impl("refimpl numpy twin (serial loop)", "refimpl", lambda: legs_solve(v, lam, backend="numpy")),
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
        Impl("refimpl numpy twin", "refimpl", lambda: legs_recurrence(u, N, method, backend="numpy")),
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
