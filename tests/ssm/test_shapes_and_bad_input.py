"""Channels (H, N) of the S4/S4D kernels, bad input that must raise, reconstruct with a scalar position."""
import numpy as np
import pytest

from refimpl.ssm import (c_from_ctilde, cauchy, causal_conv, companion, ctilde_from_c, discretize, dplr_discretize,
                         dplr_scan, dplr_step, fourier_complex_to_real, fous, fout, kernel, kernel_diag, kernel_dplr,
                         lagt, legs, legs_eigvec, legs_recurrence, legt, lmu, nplr, project, reconstruct,
                         rtf_from_ssm, rtf_kernel, rtf_to_ssm, scan)
from refimpl.ssm import reference

BIG = 1e300


def _channels(rng, H, N, r=1):
    Lam = -rng.uniform(0.05, 1.0, (H, N)) + 1j * rng.uniform(-30, 30, (H, N))
    P = 0.3 * (rng.standard_normal((H, N, r)) + 1j * rng.standard_normal((H, N, r)))
    B = rng.standard_normal((H, N)) + 1j * rng.standard_normal((H, N))
    C = rng.standard_normal((H, N)) + 1j * rng.standard_normal((H, N))
    dt = np.exp(rng.uniform(np.log(1e-3), np.log(1e-1), H))
    return Lam, P, B, C, dt


# ----------------------------------------------------------------------------- (H, N) channels
@pytest.mark.parametrize("backend", ["reference", "numba"])
@pytest.mark.parametrize("half", [False, True])
@pytest.mark.parametrize("rank", [1, 2])
@pytest.mark.parametrize("L", [16, 15])
def test_kernel_dplr_channels_equal_a_loop(backend, half, rank, L, rng):
    H, N = 3, 6
    Lam, P, B, C, dt = _channels(rng, H, N, rank)
    Q = P if rank == 1 else 0.3 * rng.standard_normal((H, N, rank)) + 0j
    PP, QQ = (P[..., 0], Q[..., 0]) if rank == 1 else (P, Q)
    K = kernel_dplr(Lam, PP, QQ, B, C, dt, L, half=half, backend=backend)
    assert K.shape == (H, L) and K.dtype == (np.float64 if half else np.complex128)
    loop = np.array([kernel_dplr(Lam[h], PP[h], QQ[h], B[h], C[h], dt[h], L, half=half, backend=backend)
                     for h in range(H)])
    assert np.max(np.abs(K - loop)) <= 1e-13 * np.max(np.abs(loop))


@pytest.mark.parametrize("method", ["zoh", "bilinear"])
@pytest.mark.parametrize("half", [False, True])
def test_kernel_diag_channels_equal_a_loop(method, half, rng):
    H, N, L = 4, 5, 40
    Lam, _, B, C, dt = _channels(rng, H, N)
    K = kernel_diag(Lam, B, C, dt, L, method, half)
    assert K.shape == (H, L)
    loop = np.array([kernel_diag(Lam[h], B[h], C[h], dt[h], L, method, half) for h in range(H)])
    assert np.max(np.abs(K - loop)) <= 1e-14 * np.max(np.abs(loop))


def test_shared_arrays_broadcast_over_channels(rng):
    """A 1-D array (or a scalar dt) is shared by every channel, as s4 shares A across its copies."""
    H, N, L = 3, 4, 20
    Lam, P, B, C, dt = _channels(rng, H, N)
    K = kernel_diag(Lam[0], B, C, dt[0], L)
    want = np.array([kernel_diag(Lam[0], B[h], C[h], dt[0], L) for h in range(H)])
    assert K.shape == (H, L) and np.max(np.abs(K - want)) <= 1e-14 * np.max(np.abs(want))
    K = kernel_dplr(Lam[0], P[0], P[0], B[0], C[0], dt, L)  # only dt per channel
    want = np.array([kernel_dplr(Lam[0], P[0], P[0], B[0], C[0], d, L) for d in dt])
    assert K.shape == (H, L) and np.max(np.abs(K - want)) <= 1e-14 * np.max(np.abs(want))


def test_channel_counts_must_agree(rng):
    Lam, P, B, C, dt = _channels(rng, 3, 4)
    with pytest.raises(ValueError, match="channel counts"):
        kernel_diag(Lam, B[:2], C, dt, 8)
    with pytest.raises(ValueError, match="channel counts"):
        kernel_diag(Lam, B, C, dt[:2], 8)
    with pytest.raises(ValueError, match="'P'"):
        kernel_dplr(Lam, P[:, :3, 0], P[:, :3, 0], B, C, dt, 8)
    with pytest.raises(ValueError, match="'dt'"):
        kernel_dplr(Lam, P[..., 0], P[..., 0], B, C, -dt, 8)
    with pytest.raises(TypeError, match="'dt'"):
        kernel_diag(Lam, B, C, np.ones(3, dtype=bool), 8)


# ----------------------------------------------------------------------------- independent checks of the definitions
def test_reference_causal_conv_is_numpy_convolve(rng):
    u, K = rng.standard_normal(30), rng.standard_normal(12)
    assert np.max(np.abs(reference.causal_conv(u, K) - np.convolve(u, K)[:30])) <= 1e-14 * np.sum(np.abs(K))


def test_reference_kernel_diag_bilinear_zero_pole():
    """dt Lambda = -2 gives Abar = 0: only K_0 carries that mode (0**0 = 1, 0**j = 0)."""
    K = reference.kernel_diag(np.array([[-20.0 + 0j]]), np.array([[1.0 + 0j]]), np.array([[1.0 + 0j]]),
                              np.array([0.1]), 4, "bilinear", False)
    np.testing.assert_allclose(K[0], [0.05, 0, 0, 0], rtol=1e-15, atol=0)


# ----------------------------------------------------------------------------- bad input
BOOLS = [
    ("half", lambda: nplr("legs", 6, half="no")),
    ("s4", lambda: nplr("legs", 6, s4=1)),
    ("conj", lambda: cauchy([1.0], [1j], [-1.0], conj="no")),
    ("half", lambda: kernel_diag([-1.0], [1.0], [1.0], 0.1, 4, half="no")),
    ("half", lambda: kernel_dplr([-1.0], [0.0], [0.0], [1.0], [1.0], 0.1, 4, half=0)),
    ("return_s", lambda: legs_eigvec(4, 2, return_s="no")),
    ("dt", lambda: kernel_diag([-1.0], [1.0], [1.0], True, 4)),
    ("dtype", lambda: legs(3, dtype="bogus")),
    ("dtype", lambda: fout(2, dtype="bogus")),
    ("v", lambda: cauchy([[1.0, 2.0], [3.0]], [1j], [-1.0])),
]


@pytest.mark.parametrize("param, call", BOOLS, ids=[f"{p}-{i}" for i, (p, _) in enumerate(BOOLS)])
def test_flags_and_numbers_are_checked(param, call):
    with pytest.raises(TypeError, match=f"'{param}'"):
        call()


SIZES = [
    ("N", lambda: project([1.0, 2.0], 2**64)),
    ("nodes", lambda: project([1.0, 2.0], 3, nodes=2**64)),
    ("N", lambda: legs(2**64)),
    ("N", lambda: legt(2**64)),
    ("N", lambda: lmu(2**64)),
    ("N", lambda: lagt(2**40)),
    ("M", lambda: fout(2**64)),
    ("M", lambda: fous(2**64)),
    ("M", lambda: fourier_complex_to_real(2**64)),
    ("N", lambda: nplr("legs", 2**64)),
    ("N", lambda: legs_eigvec(2**64, 1)),
    ("N", lambda: legs_recurrence([1.0, 2.0], 2**64)),
    ("L", lambda: kernel_diag([-1.0], [1.0], [1.0], 0.1, 2**64)),
    ("L", lambda: kernel_dplr([-1.0], [0.0], [0.0], [1.0], [1.0], 0.1, 2**64)),
    ("L", lambda: kernel([[0.5]], [1.0], [1.0], 2**64)),
]


@pytest.mark.parametrize("param, call", SIZES, ids=[f"{p}-{i}" for i, (p, _) in enumerate(SIZES)])
def test_huge_sizes_raise_before_allocating(param, call):
    with pytest.raises(ValueError, match=f"parameter '{param}' asks for an array of shape .* bytes"):
        call()


def test_read_only_out_is_refused():
    out = np.zeros((2, 2))
    out.setflags(write=False)
    with pytest.raises(ValueError, match="'out'.*writeable"):
        legs_recurrence([1.0, 2.0], 2, out=out)


def test_rtf_from_ssm_eigenvalue_on_the_unit_circle():
    with pytest.raises(ValueError, match="'Ab'.*singular.*unit circle"):
        rtf_from_ssm([[1.0]], [1.0], [1.0])


OVERFLOW = [
    lambda: kernel([[0.5]], [BIG], [BIG], 4),
    lambda: kernel([[2.0]], [1.0], [1.0], 2000),
    lambda: scan([[0.5]], [BIG], [BIG], [1.0, 2.0]),
    lambda: ctilde_from_c([[BIG]], [1.0], 3),
    lambda: ctilde_from_c([BIG], [1.0], 3),
    lambda: c_from_ctilde([[BIG]], [1.0], 3),
    lambda: dplr_discretize([-BIG], [BIG], [BIG], [BIG], 0.1),
    lambda: dplr_step([-1.0], [0.0], [0.0], [BIG], [BIG], 0.1, [0.0], 1.0),
    lambda: dplr_scan([-1.0], [0.0], [0.0], [BIG], [BIG], 0.1, [1.0, 1.0]),
    lambda: rtf_kernel([0.5], [BIG * 1e8], 4),
    lambda: rtf_from_ssm([[0.5]], [BIG], [BIG]),
    lambda: rtf_to_ssm([BIG], [1.0], 4),
    lambda: kernel_diag([-1.0], [BIG], [BIG], 0.1, 4),
    lambda: kernel_diag([1.0], [1.0], [1.0], 1.0, 2000),
    lambda: kernel_dplr([-1.0], [0.0], [0.0], [BIG], [BIG], 0.1, 4),
    lambda: cauchy([BIG], [1e-10j], [-1e-10]),
    lambda: causal_conv([BIG, BIG], [BIG]),
    lambda: causal_conv([BIG, BIG], [BIG], backend="reference"),
    lambda: discretize([[BIG]], [1.0], 0.1, "zoh"),
    lambda: discretize([[1e308]], [1.0], 10.0, "forward_euler"),
    lambda: reconstruct([1.7e308, 1.7e308, 1.7e308], 1.0),
    lambda: legs_recurrence([1.7e308, 1.7e308, 1.7e308], 3, "forward_euler"),
]


@pytest.mark.parametrize("i", range(len(OVERFLOW)))
def test_finite_input_whose_result_overflows_raises(i):
    with np.errstate(all="ignore"), pytest.raises(ValueError, match="overflow|beyond the float64 range"):
        OVERFLOW[i]()


def test_companion_of_huge_coefficients_is_exact():
    """companion copies -a: a huge finite a is a huge finite matrix, not an overflow."""
    np.testing.assert_array_equal(companion([BIG]), [[-BIG]])


# ----------------------------------------------------------------------------- reconstruct with a scalar position
MEASURES = [("legs", 5, 0.25), ("legt", 5, 0.25), ("lmu", 5, 0.25), ("lagt", 5, 0.25), ("fout", 5, 0.25),
            ("fous", 5, 0.25)]


@pytest.mark.parametrize("measure, N, s", MEASURES)
def test_reconstruct_scalar_s_is_0d(measure, N, s, rng):
    c = rng.standard_normal(N) + (1j * rng.standard_normal(N) if measure in ("fout", "fous") else 0)
    got = reconstruct(c, s, measure)
    assert np.ndim(got) == 0
    assert got == reconstruct(c, [s], measure)[0]
    C = rng.standard_normal((3, N)) + (1j * rng.standard_normal((3, N)) if measure in ("fout", "fous") else 0)
    got = reconstruct(C, s, measure)
    assert got.shape == (3,)
    assert np.array_equal(got, reconstruct(C, [s], measure)[:, 0])
    assert reconstruct(C, [s, s / 2], measure).shape == (3, 2)
