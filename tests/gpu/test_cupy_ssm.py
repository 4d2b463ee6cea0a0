"""CuPy Cauchy product and S4 DPLR kernel against the float64 NumPy oracle (need a CUDA GPU)."""
import numpy as np
import pytest

from refimpl.ssm import _xp, cauchy, kernel_dplr, nplr

from ._util import host, require_cupy

pytestmark = pytest.mark.gpu
EPS = np.finfo(np.float64).eps


@pytest.fixture(scope="module")
def cp():
    return require_cupy()


def _problem(seed, H, N, L):
    rng = np.random.default_rng(seed)
    v = rng.standard_normal((H, N)) + 1j * rng.standard_normal((H, N))
    w = -rng.uniform(0.1, 2, (H, N)) + 1j * rng.standard_normal((H, N)) * 10
    z = 2j * np.tan(np.pi * np.arange(L) / (2 * L + 1))
    return v, z, w


@pytest.mark.parametrize("conj", [False, True])
@pytest.mark.parametrize("raw", [True, False])
@pytest.mark.parametrize("H, N, L", [(1, 1, 1), (3, 17, 1000), (8, 64, 4096)])
def test_cauchy_cupy_matches_numpy(cp, conj, raw, H, N, L):
    v, z, w = _problem(H * N + L, H, N, L)
    ref = cauchy(v, z, w, conj=conj, backend="reference")
    got = host(_xp.cauchy_cupy(cp, cp.asarray(v), cp.asarray(z), cp.asarray(w), conj, raw=raw))
    # documented bound: (N + 4) eps sum_n |v_n / (z_l - w_n)| (twice the terms with conj)
    bound = np.sum(np.abs(v[:, None, :] / (z[None, :, None] - w[:, None, :])), axis=-1) * (2 if conj else 1)
    assert np.all(np.abs(got - ref) <= 2 * (N + 4) * EPS * bound)


def test_cauchy_public_route(cp):
    v, z, w = _problem(0, 2, 5, 30)
    got = cauchy(cp.asarray(v), cp.asarray(z), cp.asarray(w[0]))
    assert type(got).__module__.startswith("cupy")
    ref = cauchy(v, z, w[0], backend="reference")
    assert np.max(np.abs(host(got) - ref)) <= 1e-13 * np.max(np.abs(ref))
    with pytest.raises(ValueError, match="'z'"):
        cauchy(cp.asarray(v), cp.asarray(w[0, :1]), cp.asarray(w[0]))


@pytest.mark.parametrize("half", [False, True])
@pytest.mark.parametrize("L", [1024, 1023])
def test_kernel_dplr_cupy_matches_numpy(cp, half, L):
    Lam, P, B, _ = nplr("legs", 64)
    Ct = np.random.default_rng(L).standard_normal(64) + 0j
    ref = kernel_dplr(Lam, P, P, B, Ct, 0.01, L, half=half, backend="reference")
    got = kernel_dplr(cp.asarray(Lam), cp.asarray(P), cp.asarray(P), cp.asarray(B), cp.asarray(Ct), 0.01, L,
                      half=half)
    assert np.max(np.abs(host(got) - ref)) <= 1e-12 * np.max(np.abs(ref))


@pytest.mark.parametrize("method", ["zoh", "bilinear"])
@pytest.mark.parametrize("half", [False, True])
def test_kernel_diag_cupy_matches_numpy(cp, method, half):
    from refimpl.ssm import kernel_diag

    N = 64
    Lam = -0.5 + 1j * np.pi * np.arange(N)
    rng = np.random.default_rng(6)
    B, C = rng.standard_normal(N) + 0j, rng.standard_normal(N) + 1j * rng.standard_normal(N)
    ref = kernel_diag(Lam, B, C, 0.01, 5000, method, half, backend="reference")
    got = kernel_diag(cp.asarray(Lam), cp.asarray(B), cp.asarray(C), 0.01, 5000, method, half)
    assert np.max(np.abs(host(got) - ref)) <= 1e-12 * np.max(np.abs(ref))
