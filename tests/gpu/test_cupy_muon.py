"""CuPy Newton-Schulz against the float64 NumPy oracle (need a CUDA GPU)."""
import numpy as np
import pytest

from refimpl.muon import newton_schulz

from ._util import host, require_cupy

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def cp():
    return require_cupy()


@pytest.mark.parametrize("coefficients", ["keller", "polar_express", "su_x"])
@pytest.mark.parametrize("normalization", ["frobenius", "su_improved"])
@pytest.mark.parametrize("shape", [(64, 48), (3, 48, 96), (2, 2, 128, 128)])
def test_newton_schulz_cupy_matches_numpy(cp, coefficients, normalization, shape):
    M = np.random.default_rng(sum(shape)).standard_normal(shape)
    for dtype, tol in ((None, 1e-12), ("float32", 5e-5)):
        ref = newton_schulz(M, coefficients, normalization=normalization, dtype=dtype)
        got = newton_schulz(cp.asarray(M), coefficients, normalization=normalization, dtype=dtype)
        assert got.dtype == ref.dtype
        assert np.max(np.abs(host(got).astype(np.float64) - ref)) <= tol


def test_newton_schulz_cupy_tiny_and_huge_scale(cp):
    M = np.random.default_rng(1).standard_normal((2, 32, 16)) * np.array([1e-30, 1e30])[:, None, None]
    ref = newton_schulz(M)
    got = host(newton_schulz(cp.asarray(M)))
    assert np.max(np.abs(got - ref)) <= 1e-12
