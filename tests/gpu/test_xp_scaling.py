"""The CuPy route of the noisy-quadratic Monte-Carlo run on the CPU (xp = numpy, NumPy posing as CuPy)."""
import numpy as np
import pytest

from refimpl import BackendUnavailableError
from refimpl.scaling import _xp, nqm_optimal_lr, optimal_lr_sgd, optimal_lr_sign, reference

from ._util import FakeCupyArray, numpy_as_cupy  # noqa: F401  (fixture)



def _model(n, dense, seed=0):
    rng = np.random.default_rng(seed)
    g = rng.standard_normal(n)
    if not dense:
        return g, rng.uniform(0.5, 2.0, n), rng.uniform(0.1, 1.0, n)
    A = rng.standard_normal((n, n)) / np.sqrt(n)
    H = A @ A.T + np.eye(n)
    C = rng.standard_normal((n, n)) / np.sqrt(n)
    return g, H, C @ C.T + 0.1 * np.eye(n)


class _Replay:
    def __init__(self, Z):
        self._rows = iter(Z)

    def standard_normal(self, n):
        return next(self._rows)


@pytest.mark.parametrize("update", ["sgd", "sign"])
@pytest.mark.parametrize("dense", [False, True])
def test_xp_sums_on_numpy_equal_the_reference_on_the_same_normals(update, dense):
    g, H, S = _model(6, dense)
    Hm = H if dense else np.diag(H)
    Sm = S if dense else np.diag(S)
    B, N = 4.0, 50
    Z = np.random.default_rng(1).standard_normal((N, 6))
    dg, dL, dH = _xp.operands(np, g, Hm, Sm, B)
    a, b = _xp.nqm_ab(np, Z.copy(), dg, dL, dH, update)
    ra, rb = reference.nqm_samples(g, Hm, reference.noise_factor(Sm) / 2.0, update, N, _Replay(Z))
    scale_a = np.abs(g) @ (np.abs(g) + 3 * np.sqrt(np.diag(Sm)))        # |u.g| terms, |z| < 3 here
    np.testing.assert_allclose(a, ra, rtol=0, atol=64 * 6 * np.finfo(float).eps * scale_a)
    np.testing.assert_allclose(b, rb, rtol=64 * 36 * np.finfo(float).eps, atol=0)


@pytest.mark.parametrize("dense", [False, True])
def test_cupy_route_sgd_matches_closed_form(numpy_as_cupy, dense):
    g, H, S = _model(5, dense, seed=2)
    bs = np.array([1.0, 8.0])
    res = nqm_optimal_lr(g, H, S, bs, n_samples=40_000, rng=3, backend="cupy")
    exact = np.array([optimal_lr_sgd(g, H, S, B) for B in bs])
    assert np.all(np.abs(res.eta - exact) <= 4.5 * res.stderr)
    again = nqm_optimal_lr(g, H, S, bs, n_samples=40_000, rng=3, backend="cupy")
    assert np.array_equal(res.eta, again.eta)  # seeded: reproducible
    assert isinstance(res.eta, np.ndarray)


def test_cupy_route_sign_matches_closed_form(numpy_as_cupy):
    g, h, s2 = _model(4, False, seed=4)
    res = nqm_optimal_lr(g, h, s2, [1, 10], update="sign", n_samples=60_000, rng=5, backend="cupy")
    exact = np.array([optimal_lr_sign(g, np.sqrt(s2), h, B) for B in (1, 10)])
    assert np.all(np.abs(res.eta - exact) <= 4.5 * res.stderr)


def test_cupy_input_routes_to_device(monkeypatch):
    import refimpl._backend as backend
    import refimpl._gpu as gpu

    fake = object()
    monkeypatch.setattr(backend, "cupy_or_none", lambda: fake)
    monkeypatch.setattr(gpu, "cupy_or_none", lambda: fake)
    seen = []

    def fake_sums(xp, *args):
        seen.append(xp)
        return np.array([10.0, 0.0, 0.0, 1.0, 1.0, 0.0])

    monkeypatch.setattr(_xp, "nqm_sums", fake_sums)
    res = nqm_optimal_lr(FakeCupyArray(np.ones(3)), np.ones(3), np.ones(3), [1, 2], n_samples=10, rng=0)
    assert seen == [fake, fake] and res.eta.shape == (2,)


def test_backend_cupy_without_cupy(monkeypatch):
    import refimpl._backend as backend

    monkeypatch.setattr(backend, "cupy_or_none", lambda: None)
    with pytest.raises(BackendUnavailableError, match="CuPy"):
        nqm_optimal_lr(np.ones(3), np.ones(3), np.ones(3), [1], backend="cupy")
