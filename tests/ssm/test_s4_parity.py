"""What refimpl.ssm takes from state-spaces/s4: parity with transcriptions of its code, and properties.

The transcriptions (refimpl/ssm/_s4_peer.py) follow s4's
src/models/hippo/hippo.py (transition, rank_correction, nplr),
src/models/sequence/kernels/dplr.py (dplr) and the disc='dss' branch of
SSMKernelDiag.forward in src/models/sequence/kernels/ssm.py, run in float64.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl.ssm import (fourier_decay, fourier_diag, glagt, kernel_diag, kernel_dss, lagt, legs, legsd, nplr,
                         rank_correction, reconstruct, s4_nplr, s4d_init, tlagt, transition)
from refimpl.ssm import _s4_peer as s4
from refimpl.ssm.hippo import RANK_CORRECTION_MEASURES

torch = pytest.importorskip("torch")
EPS = np.finfo(np.float64).eps


def _rel(got, want):
    return float(np.max(np.abs(np.asarray(got) - np.asarray(want)))) / max(float(np.max(np.abs(want))), 1e-300)


# ----------------------------------------------------------------------------------------------- transition
@pytest.mark.parametrize("N", [1, 2, 3, 8, 33, 64])
@pytest.mark.parametrize("alpha,beta", [(0.0, 0.01), (0.5, 0.2), (-0.7, 3.0), (0.9, 1e-3)])
def test_glagt_matches_s4(N, alpha, beta):
    A, B = glagt(N, alpha, beta)
    A2, B2 = s4.transition("glagt", N, alpha=alpha, beta=beta)
    assert _rel(A, A2) <= 4 * EPS and _rel(B, B2) <= 4 * EPS
    A3, B3 = transition("glagt", N, alpha=alpha, beta=beta)
    assert np.array_equal(A, A3) and np.array_equal(B, B3)


def test_glagt_defaults_are_s4s():
    A, B = glagt(5)
    A2, B2 = s4.transition("glagt", 5)
    assert _rel(A, A2) <= 4 * EPS and _rel(B, B2) <= 4 * EPS
    # alpha 0: A = -(1 + beta)/2 I - strict lower ones, B = sqrt(beta); beta -> 0 is lagt's A
    np.testing.assert_allclose(glagt(6, 0.0, 1e-300)[0], lagt(6)[0], rtol=0, atol=0)
    np.testing.assert_allclose(glagt(4, 0.0, 0.25)[1], np.full(4, 0.5), rtol=EPS, atol=0)


@pytest.mark.parametrize("N", [1, 4, 17])
@pytest.mark.parametrize("beta", [1.0, 0.3, 2.5])
def test_tlagt_matches_s4(N, beta):
    A, B = tlagt(N, beta)
    A2, B2 = s4.transition("tlagt", N, beta=beta)
    assert np.array_equal(A, A2) and np.array_equal(B, B2)
    assert np.array_equal(transition("tlagt", N, beta=beta)[0], A)


def test_tlagt_beta_one_is_untilted():
    assert np.array_equal(tlagt(5)[0], -np.tril(np.ones((5, 5))))


@pytest.mark.parametrize("N", [1, 2, 7, 64, 200])
def test_legsd_matches_s4_and_its_definition(N):
    A, B = legsd(N)
    A2, B2 = s4.transition("legsd", N)
    assert _rel(A, A2) <= 8 * EPS and _rel(B, B2) <= 2 * EPS
    # s4's definition from LegS: A + B B^T / 2, B / 2
    Al, Bl = legs(N)
    np.testing.assert_allclose(A, Al + 0.5 * np.outer(Bl, Bl), rtol=0, atol=8 * EPS * N)
    np.testing.assert_array_equal(A + A.T, -np.eye(N))  # skew minus I/2, exactly


@pytest.mark.parametrize("N", [2, 4, 10, 64])
@pytest.mark.parametrize("measure", ["fourier_diag", "foud", "fourier_decay"])
def test_fourier_measures_match_s4(N, measure):
    A, B = transition(measure, N)
    A2, B2 = s4.transition(measure, N)
    assert _rel(A, A2) <= 2 * EPS and _rel(B, B2) <= EPS


def test_fourier_decay_is_fout_with_half_the_correction():
    A, B = transition("fout", 8)
    e = B
    Ad, Bd = fourier_decay(8)
    np.testing.assert_allclose(Ad, A + 0.5 * np.outer(e, e), rtol=0, atol=EPS)
    np.testing.assert_allclose(Bd, B / 2, rtol=0, atol=0)


@pytest.mark.parametrize("N", [2, 6, 16])
def test_fourier_diag_eigenvalues(N):
    lam = np.linalg.eigvals(fourier_diag(N)[0])
    k = np.arange(N // 2)
    want = np.concatenate([-0.5 + 2j * np.pi * k, -0.5 - 2j * np.pi * k])
    np.testing.assert_allclose(np.sort_complex(lam), np.sort_complex(want), rtol=0, atol=1e-12 * N)


# ----------------------------------------------------------------------------------------------- rank_correction
@pytest.mark.parametrize("measure", RANK_CORRECTION_MEASURES)
@pytest.mark.parametrize("N", [2, 4, 12])
@pytest.mark.parametrize("extra", [0, 1])
def test_rank_correction_matches_s4(measure, N, extra):
    rank = (2 if measure == "legt" else 1) + extra
    P = rank_correction(measure, N, rank)
    P2 = s4.rank_correction(measure, N, rank, dtype=torch.double).numpy()
    assert P.shape == P2.shape == (rank, N)
    # s4 builds the Fourier rows in float32 whatever dtype is asked for
    tol = 2e-7 if measure.startswith("fou") and measure not in ("foud", "fourier_diag") else 2 * EPS
    np.testing.assert_allclose(P, P2, rtol=tol, atol=0)


@pytest.mark.parametrize("measure", RANK_CORRECTION_MEASURES)
@pytest.mark.parametrize("N", [2, 8, 20])
def test_rank_correction_makes_transition_normal(measure, N):
    """A + P^T P = skew + c I: normal (s4: "A + L is normal")."""
    A, _ = transition(measure, N)
    P = rank_correction(measure, N, 2)
    M = A + P.T @ P
    H = (M + M.T) / 2
    c = np.mean(np.diag(H))
    np.testing.assert_allclose(H, c * np.eye(N), rtol=0, atol=1e-13 * N)


# ----------------------------------------------------------------------------------------------- s4_nplr
def _invariants(Lam, P, B, V):
    """Phase-free parts of the NPLR half: Lambda, V diag(Lambda) V^*, |B|, B conj(P), V^* B-free products."""
    return Lam, (V * Lam) @ V.conj().T, np.abs(B), B[None, :] * P.conj()


@pytest.mark.parametrize("measure", ["legs", "legt", "lagt", "legsd", "fourier_decay"])
@pytest.mark.parametrize("N", [4, 6, 16, 64, 128])
@pytest.mark.parametrize("B_clip", [2.0, None])
def test_s4_nplr_matches_s4(measure, N, B_clip):
    rank = 2 if measure == "legt" else 1
    got = s4_nplr(measure, N, rank, B_clip=B_clip)
    want = s4.nplr(measure, N, rank, dtype=torch.double, B_clip=B_clip)
    tol = 3e-8 if measure == "fourier_decay" else 1e-11  # s4: float32 Fourier rank correction
    for g, w in zip(got, want):
        assert g.shape == w.shape
        assert _rel(g, w) <= tol


@pytest.mark.parametrize("N", [4, 8, 64])
def test_s4_nplr_fout_matches_s4_up_to_phase(N):
    """At Fourier's double zero s4's (LAPACK's) eigenvector phases differ from NumPy's by i: compare invariants."""
    got = _invariants(*s4_nplr("fout", N))
    want = _invariants(*s4.nplr("fout", N, dtype=torch.double))
    for g, w in zip(got, want):
        assert np.max(np.abs(g - w)) <= 3e-8 * max(1.0, np.max(np.abs(w)))


@pytest.mark.parametrize("N", [4, 8, 64])
def test_s4_nplr_foud_zero_frequency_pair(N):
    """foud's frequency-0 pair: refimpl gives it s4's Fourier vector (e0 + i e1)/sqrt2; the other modes match s4."""
    Lam, P, B, V = s4_nplr("foud", N)
    Lam2, P2, B2, V2 = s4.nplr("foud", N, dtype=torch.double)
    np.testing.assert_allclose(Lam, Lam2, rtol=0, atol=1e-12 * N)
    np.testing.assert_allclose(V[:, :-1], V2[:, :-1], rtol=0, atol=1e-12)
    np.testing.assert_allclose(B[:-1], B2[:-1], rtol=0, atol=1e-12 * N)
    np.testing.assert_allclose(V[:, -1], np.r_[1.0, 1j, np.zeros(N - 2)] * np.sqrt(0.5), rtol=0, atol=0)
    # with it the conjugate pair spans states 0 and 1, so the full system is A again
    A, B0 = fourier_diag(N)
    np.testing.assert_allclose(2 * ((V * Lam) @ V.conj().T).real, A, rtol=0, atol=1e-12 * N)
    np.testing.assert_allclose(2 * (V @ B).real, B0, rtol=0, atol=1e-12 * N)


@pytest.mark.parametrize("measure", ["legs", "legt", "lagt", "fout", "fourier_decay", "legsd", "foud"])
@pytest.mark.parametrize("N", [4, 10, 32])
def test_s4_nplr_reconstructs_A_and_B(measure, N):
    """A = 2 Re V diag(Lambda) V^* - P0^T P0 and B0 = 2 Re V B (no clipping): the conjugate half is exact."""
    rank = 2 if measure == "legt" else 1
    Lam, P, B, V = s4_nplr(measure, N, rank, B_clip=None)
    A, B0 = transition(measure, N)
    P0 = rank_correction(measure, N, rank)
    np.testing.assert_allclose(2 * ((V * Lam) @ V.conj().T).real - P0.T @ P0, A, rtol=0,
                               atol=1e-12 * np.abs(A).max())
    np.testing.assert_allclose(2 * (V @ B).real, B0, rtol=0, atol=1e-12 * np.abs(B0).max())
    np.testing.assert_allclose(V.conj().T @ V, np.eye(N // 2), rtol=0, atol=1e-13 * N)
    assert np.all(np.diff(Lam.imag) >= 0) and np.all(Lam.imag <= 1e-12)


def test_s4_nplr_agrees_with_refimpl_nplr_on_the_spectrum():
    Lam, _, _, _ = s4_nplr("legs", 16)
    Lam2 = nplr("legs", 16, half=True)[0]
    np.testing.assert_allclose(Lam, Lam2, rtol=0, atol=1e-12)


@pytest.mark.parametrize("N", [8, 64])
def test_b_clip_clips_only_the_imaginary_part(N):
    _, _, B, _ = s4_nplr("legs", N, B_clip=None)
    _, _, Bc, _ = s4_nplr("legs", N)
    assert np.any(np.abs(B.imag) > 2.0)  # the clip is active for LegS
    np.testing.assert_array_equal(Bc.real, B.real)
    np.testing.assert_array_equal(Bc.imag, np.clip(B.imag, -2.0, 2.0))
    _, _, B0, _ = s4_nplr("legs", N, B_clip=0.0)
    np.testing.assert_array_equal(B0.imag, 0.0)


# ----------------------------------------------------------------------------------------------- s4d_init
INITS = ["legs", "hippo", "lin", "inv", "inv2", "quad", "real"]
B_INITS = ["constant", "alternating", "unit-cw", "unit-ccw", "legs"]


@pytest.mark.parametrize("init", INITS)
@pytest.mark.parametrize("B_init", B_INITS)
@pytest.mark.parametrize("N", [4, 8, 64])
def test_s4d_init_matches_s4_dplr(init, B_init, N):
    for kw in ({}, {"imag_scale": 0.5, "B_scale": 2.0, "normalize": True}, {"B_clip": None},
               {"real_scale": 3.0}):
        if init == "real" and "real_scale" in kw:
            continue
        got = s4d_init(init, N, B_init=B_init, **kw)
        want = s4.dplr(init, N, dtype=torch.double, B_init=B_init, **kw)
        for g, w in zip(got, want):
            assert _rel(g, w) <= 1e-12, (kw, _rel(g, w))


def test_s4d_lin_imaginary_parts_are_pi_n():
    Lam, B = s4d_init("lin", 10)
    np.testing.assert_allclose(Lam.imag, -np.pi * np.arange(5), rtol=EPS, atol=0)
    np.testing.assert_array_equal(Lam.real, -0.5)
    np.testing.assert_array_equal(B, np.ones(5))


def test_s4d_real_is_the_legs_spectrum():
    Lam, _ = s4d_init("real", 12)
    np.testing.assert_array_equal(Lam, -np.arange(1.0, 7.0))
    np.testing.assert_array_equal(np.sort(np.diag(legs(12)[0]))[-6:][::-1], Lam.real)


def test_s4d_inv_closed_form():
    N = 16
    Lam, _ = s4d_init("inv", N)
    n = np.arange(N // 2)
    np.testing.assert_allclose(-Lam.imag, N / np.pi * (N / (2 * n + 1) - 1), rtol=2 * EPS, atol=0)


@pytest.mark.parametrize("N", [2, 8, 40])
def test_s4d_legs_is_the_spectrum_of_legsd(N):
    """S4D-LegS: the diagonal of the NPLR form of LegS = the eigenvalues of legsd, one per conjugate pair."""
    Lam, _ = s4d_init("legs", N)
    ev = np.linalg.eigvals(legsd(N)[0])
    half = ev[ev.imag < 0]
    half = half[np.argsort(half.imag)]
    np.testing.assert_allclose(Lam, half, rtol=0, atol=1e-11 * np.abs(Lam).max())


def test_s4d_init_scales_and_normalize():
    Lam, B = s4d_init("lin", 8, real_scale=3.0, imag_scale=0.5, B_scale=-2.0)
    np.testing.assert_allclose(Lam, -1.5 - 0.5j * np.pi * np.arange(4), rtol=EPS, atol=0)
    np.testing.assert_array_equal(B, -2.0)
    Lam, B = s4d_init("inv", 8, normalize=True)
    np.testing.assert_allclose(2 * np.sum(np.abs(B / Lam) ** 2), 1.0, rtol=4 * EPS, atol=0)


# ----------------------------------------------------------------------------------------------- kernel_dss
def _system(seed, N, scale=1.0):
    g = np.random.default_rng(seed)
    lam = scale * (g.normal(size=N) + 1j * g.normal(size=N))
    return lam, g.normal(size=N) + 1j * g.normal(size=N), g.normal(size=N) + 1j * g.normal(size=N)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("L", [1, 7, 300])
@pytest.mark.parametrize("eps", [1e-7, 0.0])
def test_kernel_dss_matches_s4(seed, L, eps):
    lam, B, C = _system(seed, 12, scale=3.0)
    K = kernel_dss(lam, B, C, 0.05, L, eps=eps)
    K2 = s4.dss_kernel(lam, B, C, 0.05, L, eps=eps)
    assert _rel(K, K2) <= 1e-12


@pytest.mark.parametrize("seed", range(3))
def test_kernel_dss_is_the_row_softmax(seed):
    """Independent form: K_l = Re sum_n C_n B_n / lambda_n softmax_l(dt lambda_n l), the sum done explicitly."""
    lam, B, C = _system(seed, 6)
    dt, L = 0.3, 40
    P = dt * lam[:, None] * np.arange(L)
    P = P - P.real.max(axis=1, keepdims=True)
    S = np.exp(P) / np.exp(P).sum(axis=1, keepdims=True)
    want = ((C * B / lam) @ S).real
    np.testing.assert_allclose(kernel_dss(lam, B, C, dt, L, eps=0.0), want, rtol=0, atol=1e-13 * np.abs(want).max())


def test_kernel_dss_growing_modes_do_not_overflow():
    lam = np.array([50.0 + 3j, -2.0 + 1j])
    K = kernel_dss(lam, [1.0, 1.0], [1.0, 1.0], 1.0, 2000, eps=0.0)
    assert np.all(np.isfinite(K))
    # the growing mode's softmax puts (almost) all its weight on the last step
    np.testing.assert_allclose(K[-1], (1 / lam[0]).real + (1 / lam[1] * np.exp(-2 * 1999)).real, rtol=1e-12)


def test_kernel_dss_tends_to_minus_half_the_zoh_kernel():
    """exp(L dt lambda) -> 0: the normaliser is -1, so K = -(1/2) 2 Re sum C B (e^{dt lam}-1)/lam e^{dt lam l}."""
    lam, B, C = _system(7, 8)
    lam = -np.abs(lam.real) - 1.0 + 1j * lam.imag
    dt, L = 0.5, 200
    np.testing.assert_allclose(kernel_dss(lam, B, C, dt, L, eps=0.0),
                               -0.5 * kernel_diag(lam, B, C, dt, L, "zoh", half=True), rtol=0, atol=1e-13)


def test_kernel_dss_eps_regularises_a_zero_normaliser():
    K = kernel_dss([0j, -1 + 0j], [1.0, 1.0], [1.0, 1.0], 0.1, 5)  # s4's eps: the lambda = 0 mode gives 0
    np.testing.assert_allclose(K, kernel_dss([-1 + 0j], [1.0], [1.0], 0.1, 5), rtol=1e-6, atol=0)
    with pytest.raises(ValueError, match="'Lambda'"):
        kernel_dss([0j], [1.0], [1.0], 0.1, 5, eps=0.0)


@settings(max_examples=25)
@given(st.integers(1, 8), st.integers(1, 64), st.floats(1e-3, 1.0), st.integers(0, 2**31))
def test_kernel_dss_is_linear_in_c(N, L, dt, seed):
    lam, B, C = _system(seed, N)
    K1 = kernel_dss(lam, B, C, dt, L)
    K2 = kernel_dss(lam, B, 2.5 * C, dt, L)
    np.testing.assert_allclose(K2, 2.5 * K1, rtol=0, atol=1e-13 * max(1.0, np.abs(K1).max()))


# ----------------------------------------------------------------------------------------------- reconstruct('lmu')
def test_reconstruct_lmu_conventions_are_sign_flips():
    c = np.array([0.3, -1.2, 0.5, 0.7, -0.1])
    s = np.linspace(0.0, 2.0, 9)
    d = c * (-1.0) ** np.arange(5)
    np.testing.assert_allclose(reconstruct(d, s, "lmu", window=2.0, convention="voelker"),
                               reconstruct(c, s, "lmu", window=2.0), rtol=0, atol=1e-15)


def test_reconstruct_lmu_voelker_reads_the_s4_lmu_state():
    """Run s4's transition('lmu') (the Voelker convention) on a signal: convention='voelker' reads its state back."""
    from scipy.linalg import expm

    N, w, dt = 12, 1.0, 1e-3
    A, B = transition("lmu", N)          # window 1
    Ad = expm(A * dt)
    Bd = np.linalg.solve(A, (Ad - np.eye(N)) @ B)
    t = np.arange(0.0, 3.0, dt)
    u = np.sin(3 * t) + 0.5 * np.cos(7 * t)
    x = np.zeros(N)
    for uk in u:
        x = Ad @ x + Bd * uk
    T = t[-1] + dt
    s = np.linspace(0.05, 0.95, 7) * w
    want = np.sin(3 * (T - w + s)) + 0.5 * np.cos(7 * (T - w + s))
    good = reconstruct(x, s, "lmu", window=w, convention="voelker")
    bad = reconstruct(x, s, "lmu", window=w)
    assert np.max(np.abs(good - want)) < 0.05
    assert np.max(np.abs(bad - want)) > 0.5


# ----------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call,exc,word", [
    (lambda: glagt(4, alpha=1.0), ValueError, "'alpha'"),
    (lambda: glagt(4, alpha=-1.0), ValueError, "'alpha'"),
    (lambda: glagt(4, beta=0.0), ValueError, "'beta'"),
    (lambda: glagt(4, alpha=True), TypeError, "'alpha'"),
    (lambda: tlagt(4, beta=0.0), ValueError, "'beta'"),
    (lambda: tlagt(True), TypeError, "'N'"),
    (lambda: fourier_diag(5), ValueError, "'N'"),
    (lambda: fourier_decay(0), ValueError, "'N'"),
    (lambda: legsd(0), ValueError, "'N'"),
    (lambda: transition("glagt", 4, gamma=1.0), ValueError, "gamma"),
    (lambda: transition("legsd", 4, beta=1.0), ValueError, "beta"),
    (lambda: rank_correction("legt", 4, 1), ValueError, "'rank'"),
    (lambda: rank_correction("lmu", 4), ValueError, "'measure'"),
    (lambda: rank_correction("fout", 5), ValueError, "'N'"),
    (lambda: s4_nplr("legs", 5), ValueError, "'N'"),
    (lambda: s4_nplr("legs", 2**64), ValueError, "'N'"),
    (lambda: s4_nplr("legs", 8, B_clip=-1.0), ValueError, "'B_clip'"),
    (lambda: s4_nplr("legs", 8, B_clip=float("nan")), ValueError, "'B_clip'"),
    (lambda: s4d_init("rand", 8), ValueError, "'init'"),
    (lambda: s4d_init("lin", 7), ValueError, "'N'"),
    (lambda: s4d_init("lin", 2**64), ValueError, "'N'"),
    (lambda: s4d_init("legs", 2**40), ValueError, "'N'"),
    (lambda: s4d_init("lin", 8, B_init="random"), ValueError, "'B_init'"),
    (lambda: s4d_init("lin", 6, B_init="alternating"), ValueError, "'N'"),
    (lambda: s4d_init("real", 8, real_scale=2.0), ValueError, "'real_scale'"),
    (lambda: s4d_init("lin", 8, imag_scale=-1.0), ValueError, "'imag_scale'"),
    (lambda: s4d_init("lin", 8, normalize="no"), TypeError, "'normalize'"),
    (lambda: s4d_init("lin", 8, B_scale=0.0, normalize=True), ValueError, "'normalize'"),
    (lambda: s4d_init("lin", 8, B_scale=True), TypeError, "'B_scale'"),
    (lambda: kernel_dss([-1 + 0j], [1.0], [1.0], 0.1, 2**40), ValueError, "'L'"),
    (lambda: kernel_dss([-1 + 0j], [1.0, 2.0], [1.0], 0.1, 4), ValueError, "'B'"),
    (lambda: kernel_dss([-1 + 0j], [1.0], [1.0], 0.0, 4), ValueError, "'dt'"),
    (lambda: kernel_dss([-1 + 0j], [1.0], [1.0], 0.1, 4, eps=-1.0), ValueError, "'eps'"),
    (lambda: kernel_dss([[-1 + 0j, 1], [2]], [1.0], [1.0], 0.1, 4), ValueError, "'Lambda'"),
    (lambda: kernel_dss([np.nan + 0j], [1.0], [1.0], 0.1, 4), ValueError, "'Lambda'"),
    (lambda: legsd(2**64), ValueError, "'N'"),
    (lambda: glagt(2**40), ValueError, "'N'"),
    (lambda: tlagt(2**40), ValueError, "'N'"),
    (lambda: fourier_diag(2**64), ValueError, "'N'"),
    (lambda: rank_correction("legs", 2**64), ValueError, "'N'"),
    (lambda: rank_correction("legs", 4, 2**64), ValueError, "'rank'"),
    (lambda: s4d_init("lin", 8, imag_scale=1e308), ValueError, "'imag_scale'"),
    (lambda: s4d_init("legs", 8, B_scale=1e308), ValueError, "'B_scale'"),
    (lambda: kernel_dss([1e308 + 0j], [1.0], [1.0], 10.0, 4), ValueError, "'dt'"),
    (lambda: kernel_dss([-1 + 0j], [1e200], [1e200], 0.1, 4), ValueError, "overflows"),
    (lambda: reconstruct([1.0, 2.0], [0.5], "legs", convention="voelker"), ValueError, "'convention'"),
    (lambda: reconstruct([1.0, 2.0], [0.5], "lmu", convention="bogus"), ValueError, "'convention'"),
])
def test_bad_input(call, exc, word):
    with pytest.raises(exc, match=word):
        call()
