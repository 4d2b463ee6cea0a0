"""CuPy noisy-quadratic Monte-Carlo against the closed forms (need a CUDA GPU)."""
import numpy as np
import pytest

from refimpl.scaling import nqm_optimal_lr, optimal_lr_sgd, optimal_lr_sign

from ._util import require_cupy

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def cp():
    return require_cupy()


@pytest.mark.parametrize("dense", [False, True])
def test_nqm_sgd_cupy_matches_closed_form(cp, dense):
    rng = np.random.default_rng(0)
    n = 32
    g = rng.standard_normal(n)
    if dense:
        A = rng.standard_normal((n, n)) / np.sqrt(n)
        H, S = A @ A.T + np.eye(n), np.cov(rng.standard_normal((n, 4 * n)))
    else:
        H, S = rng.uniform(0.5, 2, n), rng.uniform(0.1, 1, n)
    bs = np.array([1.0, 16.0, 256.0])
    res = nqm_optimal_lr(cp.asarray(g), cp.asarray(H), cp.asarray(S), bs, n_samples=400_000, rng=1)
    exact = np.array([optimal_lr_sgd(g, H, S, B) for B in bs])
    assert np.all(np.abs(res.eta - exact) <= 4.5 * res.stderr)
    again = nqm_optimal_lr(cp.asarray(g), cp.asarray(H), cp.asarray(S), bs, n_samples=400_000, rng=1)
    assert np.array_equal(res.eta, again.eta)


def test_nqm_sign_cupy_matches_closed_form(cp):
    rng = np.random.default_rng(2)
    g, h, s2 = rng.standard_normal(16), rng.uniform(0.5, 2, 16), rng.uniform(0.1, 1, 16)
    res = nqm_optimal_lr(g, h, s2, [1, 10], update="sign", n_samples=400_000, rng=3, backend="cupy")
    exact = np.array([optimal_lr_sign(g, np.sqrt(s2), h, B) for B in (1, 10)])
    assert np.all(np.abs(res.eta - exact) <= 4.5 * res.stderr)
