"""``backend="cupy"`` end to end on the CPU, with NumPy standing in for the ``cupy`` module.

Everything of the CuPy routes except the CUDA RawKernels (replaced by their
xp twins) runs: dispatch, device-side validation, the xp code, result
assembly. The outputs must equal the NumPy backend's to the documented
tolerances. What this cannot show (GPU arithmetic, RawKernels, CuPy API
differences) the ``gpu`` tests check on a device.
"""
import numpy as np
import pytest

from refimpl.attention import attention, entropy_invariant_attention
from refimpl.rope import apply, inv_freq
from refimpl.ssm import cauchy, kernel_dplr, nplr

from ._util import numpy_as_cupy  # noqa: F401  (fixture)

EPS = np.finfo(np.float64).eps


@pytest.mark.parametrize("causal", [False, True])
def test_attention(numpy_as_cupy, causal):
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((2, 300, 8)) for _ in range(3))
    got = attention(q, k, v, causal=causal, backend="cupy")
    ref = attention(q, k, v, causal=causal, backend="numpy")
    assert np.max(np.abs(got - ref)) <= 1e-13


def test_entropy_invariant_attention(numpy_as_cupy):
    rng = np.random.default_rng(1)
    q, k, v = (rng.standard_normal((90, 8)) for _ in range(3))
    m = rng.random((90, 90)) < 0.5
    m[np.arange(90), np.arange(90)] = True
    for length in ("global", "per_query"):
        got = entropy_invariant_attention(q, k, v, causal=True, mask=m, length=length, backend="cupy")
        ref = entropy_invariant_attention(q, k, v, causal=True, mask=m, length=length, backend="numpy")
        assert np.max(np.abs(got - ref)) <= 1e-13


@pytest.mark.parametrize("layout", ["half", "interleaved"])
def test_rope(numpy_as_cupy, layout):
    x = np.random.default_rng(2).standard_normal((2, 5, 12)).astype(np.float32)
    got = apply(x, np.arange(5), inv_freq(8), layout, 1.1, backend="cupy")
    ref = apply(x, np.arange(5), inv_freq(8), layout, 1.1, backend="numpy")
    assert got.dtype == np.float32 and np.array_equal(got, ref)


@pytest.mark.parametrize("conj", [False, True])
def test_cauchy(numpy_as_cupy, conj):
    rng = np.random.default_rng(3)
    v = rng.standard_normal((3, 7)) + 1j * rng.standard_normal((3, 7))
    w = -rng.uniform(0.1, 1, (3, 7)) + 1j * rng.standard_normal((3, 7))
    z = 1j * rng.standard_normal(50)
    got = cauchy(v, z, w, conj=conj, backend="cupy")
    ref = cauchy(v, z, w, conj=conj, backend="numpy")
    bound = np.sum(np.abs(v[:, None, :] / (z[None, :, None] - w[:, None, :])), axis=-1) * (2 if conj else 1)
    assert np.all(np.abs(got - ref) <= 16 * EPS * bound)
    with pytest.raises(ValueError, match="'z'"):
        cauchy(v, w[0, :2], w, backend="cupy")


@pytest.mark.parametrize("half", [False, True])
@pytest.mark.parametrize("rank", [1, 2])
def test_kernel_dplr(numpy_as_cupy, half, rank):
    Lam, P, B, _ = nplr("legs", 8)
    rng = np.random.default_rng(4)
    P = np.column_stack([P] + [rng.standard_normal(8) * 0.1 for _ in range(rank - 1)])
    Ct = rng.standard_normal(8) + 1j * rng.standard_normal(8)
    for L in (64, 63):
        got = kernel_dplr(Lam, P, P, B, Ct, 0.05, L, half=half, backend="cupy")
        ref = kernel_dplr(Lam, P, P, B, Ct, 0.05, L, half=half, backend="numpy")
        assert got.shape == ref.shape == (L,)
        assert np.max(np.abs(got - ref)) <= 1e-13 * np.max(np.abs(ref))


@pytest.mark.parametrize("method", ["zoh", "bilinear"])
@pytest.mark.parametrize("half", [False, True])
def test_kernel_diag(numpy_as_cupy, method, half):
    from refimpl.ssm import kernel_diag

    N = 16
    Lam = -0.5 + 1j * np.pi * np.arange(N)
    if method == "bilinear":
        Lam[3] = -2.0 / 0.1  # Ab = 0 there: only K_0 gets that term
    rng = np.random.default_rng(5)
    B, C = rng.standard_normal(N) + 0j, rng.standard_normal(N) + 1j * rng.standard_normal(N)
    got = kernel_diag(Lam, B, C, 0.1, 300, method, half, backend="cupy")
    ref = kernel_diag(Lam, B, C, 0.1, 300, method, half, backend="reference")
    # exp(j log Abar) in chunks vs the definition's repeated powers: j eps |log Abar| per term
    assert np.max(np.abs(got - ref)) <= 1e-12 * np.max(np.abs(ref))


def test_kernel_diag_backend_names(monkeypatch):
    import refimpl._backend as backend
    from refimpl import BackendUnavailableError
    from refimpl.ssm import kernel_diag

    monkeypatch.setattr(backend, "cupy_or_none", lambda: None)
    with pytest.raises(BackendUnavailableError, match="CuPy"):
        kernel_diag([-1.0], [1.0], [1.0], 0.1, 4, backend="cupy")
    with pytest.raises(ValueError, match="'backend'"):
        kernel_diag([-1.0], [1.0], [1.0], 0.1, 4, backend="numba")
