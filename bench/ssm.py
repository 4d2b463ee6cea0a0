"""Benchmarks of refimpl.ssm."""
from __future__ import annotations

import numpy as np
import scipy.linalg

from refimpl.ssm import legs, legs_matvec, legs_solve

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
