"""S4/S4D kernels five ways, Cauchy, convolution and recurrence (refimpl.ssm.s4)."""
import numpy as np
import pytest
import scipy.linalg
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl.ssm import (c_from_ctilde, cauchy, causal_conv, ctilde_from_c, discretize, dplr_discretize, dplr_scan,
                         dplr_step, kernel, kernel_diag, kernel_dplr, legs, nplr, scan)
from refimpl.ssm import _fast, reference
from refimpl.testing import seeds, state_sizes, step_sizes

EPS = np.finfo(np.float64).eps
# Stated tolerance of every kernel route against the naive one: relative to max|K| (the S4 kernels are
# dominated by their first entries; a per-entry relative error is meaningless where K_j ~ 1e-300).
KTOL = 1e-10


def _relerr(K, K0):
    return float(np.max(np.abs(K - K0)) / np.max(np.abs(K0)))


def _s4_system(N, dt, seed):
    """LegS S4 system: dense (Ab, Bb, C) and its NPLR pieces (full and half) with C-tilde."""
    A, B = legs(N)
    C = np.random.default_rng(seed).standard_normal(N)
    Ab, Bb = discretize(A, B, dt, "bilinear")
    Lam, P, Bv, V = nplr("legs", N)
    return A, B, C, Ab, Bb, Lam, P, Bv, V


# ----------------------------------------------------------------------------- numba builds
def _split(*arrays):
    return [np.ascontiguousarray(x) for a in arrays for x in (a.real, a.imag)]


@pytest.mark.parametrize("conj", [False, True])
@pytest.mark.parametrize("L", [11, 2 * _fast.CAUCHY_BLOCK + 3])
def test_cauchy_parallel_and_serial_builds_agree_bitwise(conj, L, rng):
    """The two numba builds share one block function: the pairing of threads cannot change a bit."""
    H, N = 3, 7
    v = rng.standard_normal((H, N)) + 1j * rng.standard_normal((H, N))
    w = -rng.uniform(0.1, 1, (H, N)) + 1j * rng.standard_normal((H, N))
    z = np.exp(-2j * np.pi * np.arange(L) / L)
    out_p = np.empty((H, L), dtype=complex)
    out_s = np.empty((H, L), dtype=complex)
    _fast.cauchy_nb(*_split(v, w, z), conj, out_p)
    _fast.cauchy_serial_nb(*_split(v, w, z), conj, out_s)
    assert np.array_equal(out_p, out_s)


@pytest.mark.parametrize("conj", [False, True])
@pytest.mark.parametrize("N", [4, 5])
def test_cauchy_blocks_of_nodes_against_reference(conj, N, rng):
    """Several node blocks, a partial last block, an even and an odd pole count (two poles per pass)."""
    H, L = 2, 2 * _fast.CAUCHY_BLOCK + 3
    v = rng.standard_normal((H, N)) + 1j * rng.standard_normal((H, N))
    w = -rng.uniform(0.05, 1, (H, N)) + 1j * rng.uniform(-30, 30, (H, N))
    z = 1j * rng.uniform(-40, 40, L)
    want = reference.cauchy(v, z, w, conj)
    got = cauchy(v, z, w, conj=conj, backend="numba")
    assert np.abs(got - want).max() <= 1e-13 * np.abs(want).max()


# ----------------------------------------------------------------------------- Cauchy
def test_cauchy_against_python_loop(rng):
    N, L = 6, 9
    v = rng.standard_normal(N) + 1j * rng.standard_normal(N)
    w = rng.standard_normal(N) - 1j
    z = rng.standard_normal(L) + 1j
    want = np.array([sum(v[n] / (zl - w[n]) for n in range(N)) for zl in z])
    want_c = want + np.array([sum(np.conj(v[n]) / (zl - np.conj(w[n])) for n in range(N)) for zl in z])
    for be in ("numba", "numpy"):
        np.testing.assert_allclose(cauchy(v, z, w, backend=be), want, rtol=1e-14)
        np.testing.assert_allclose(cauchy(v, z, w, conj=True, backend=be), want_c, rtol=1e-14)


def test_cauchy_shared_poles_broadcast(rng):
    v = rng.standard_normal((4, 5)) + 0j
    w = rng.standard_normal(5) + 1j
    z = np.array([0.3 + 0.1j, -2.0])
    out = cauchy(v, z, w)
    assert out.shape == (4, 2)
    np.testing.assert_allclose(out[2], cauchy(v[2], z, w), rtol=1e-15)


# ----------------------------------------------------------------------------- the five kernels
@settings(max_examples=25)
@given(N=state_sizes(2, 64, even=True), L=st.integers(1, 4096), dt=step_sizes(1e-3, 1e-1), seed=seeds())
def test_all_kernel_routes_match_naive(N, L, dt, seed):
    """naive = generating = DPLR (full) = DPLR (conjugate half) for the LegS S4 system; also in the V basis."""
    A, B, C, Ab, Bb, Lam, P, Bv, V = _s4_system(N, dt, seed)
    K0 = kernel(Ab, Bb, C, L)
    assert K0.dtype == np.float64 and K0.shape == (L,)
    assert _relerr(kernel(Ab, Bb, C, L, method="generating"), K0) <= KTOL
    # the same system in the unitary eigenbasis of the normal part
    Cv = V.T @ C
    Abv, _ = discretize(np.diag(Lam) - P @ P.conj().T, Bv, dt, "bilinear")
    Ct = ctilde_from_c(Abv, Cv, L)
    Kf = kernel_dplr(Lam, P, P, Bv, Ct, dt, L)
    assert _relerr(Kf, K0) <= KTOL
    assert np.max(np.abs(Kf.imag)) <= KTOL * np.max(np.abs(K0))
    Lh, Ph, Bh, Vh = nplr("legs", N, half=True)
    Kh = kernel_dplr(Lh, Ph, Ph, Bh, Ct[: N // 2], dt, L, half=True)
    assert Kh.dtype == np.float64
    assert _relerr(Kh, K0) <= KTOL


@settings(max_examples=25)
@given(N=state_sizes(2, 64, even=True), L=st.integers(1, 4096), dt=step_sizes(1e-3, 1e-1), seed=seeds(),
       method=st.sampled_from(["zoh", "bilinear"]))
def test_kernel_diag_matches_naive(N, L, dt, seed, method):
    """S4D (Vandermonde) = naive powers of the diagonal discretised system, S4D-Lin and random spectra."""
    rng = np.random.default_rng(seed)
    lam = -0.5 + 1j * np.pi * np.arange(N // 2) if seed % 2 else -rng.uniform(0.01, 1, N // 2) + 1j * rng.uniform(
        -100, 100, N // 2)
    Bh = rng.standard_normal(N // 2) + 1j * rng.standard_normal(N // 2)
    Ch = rng.standard_normal(N // 2) + 1j * rng.standard_normal(N // 2)
    full = np.concatenate([lam, lam.conj()])
    Ab, Bb = discretize(np.diag(full), np.concatenate([Bh, Bh.conj()]), dt, method)
    K0 = kernel(Ab, Bb, np.concatenate([Ch, Ch.conj()]), L)
    K = kernel_diag(lam, Bh, Ch, dt, L, method, half=True)
    assert K.dtype == np.float64
    assert _relerr(K, K0.real) <= KTOL
    Kc = kernel_diag(full, np.concatenate([Bh, Bh.conj()]), np.concatenate([Ch, Ch.conj()]), dt, L, method)
    assert _relerr(Kc, K0) <= KTOL


@pytest.mark.parametrize("N, L, dt", [(16, 64, 0.05), (8, 7, 0.1), (64, 4096, 1e-3), (32, 1, 0.01), (64, 2, 0.1)])
def test_spec_case_and_edges(N, L, dt):
    """Spec §7 case 6 (N=16, L=64, dt=0.05) and edge lengths (odd L: no z = -1 node; L = 1, 2)."""
    A, B, C, Ab, Bb, Lam, P, Bv, V = _s4_system(N, dt, 7)
    K0 = kernel(Ab, Bb, C, L)
    Abv, _ = discretize(np.diag(Lam) - P @ P.conj().T, Bv, dt, "bilinear")
    Ct = ctilde_from_c(Abv, V.T @ C, L)
    assert _relerr(kernel(Ab, Bb, C, L, method="generating"), K0) <= KTOL
    assert _relerr(kernel_dplr(Lam, P, P, Bv, Ct, dt, L), K0) <= KTOL
    Lh, Ph, Bh, _ = nplr("legs", N, half=True)
    assert _relerr(kernel_dplr(Lh, Ph, Ph, Bh, Ct[: N // 2], dt, L, half=True), K0) <= KTOL


def test_z_minus_one_node_is_the_exact_limit(rng):
    """At omega = -1, G_L = Ct^T (I + Ab)^{-1} Bb = (dt/2) Ct^T B; kernel_dplr uses that value, not 1/(1+omega)."""
    N, L, dt = 8, 16, 0.07
    Lam = -rng.uniform(0.1, 1, N) + 1j * rng.standard_normal(N)
    P = rng.standard_normal((N, 1)) + 1j * rng.standard_normal((N, 1))
    B = rng.standard_normal(N) + 0j
    Ct = rng.standard_normal(N) + 1j * rng.standard_normal(N)
    Ab, Bb = discretize(np.diag(Lam) - P @ P.conj().T, B, dt, "bilinear")
    G_dense = Ct @ np.linalg.solve(np.eye(N) + Ab, Bb)
    assert abs(G_dense - dt / 2 * (Ct @ B)) <= 1e-14 * abs(G_dense)
    K = kernel_dplr(Lam, P, P, B, Ct, dt, L)
    G = np.fft.fft(K)
    assert abs(G[L // 2] - G_dense) <= 1e-13 * np.max(np.abs(G))
    C = c_from_ctilde(Ab, Ct, L)
    assert _relerr(K, kernel(Ab, Bb, C, L)) <= KTOL


@pytest.mark.parametrize("r", [1, 2, 3])
def test_rank_r_woodbury_matches_naive(r, rng):
    """Rank-r DPLR (random P != Q): the r x r Woodbury solve at every node."""
    N, L, dt = 12, 256, 0.03
    Lam = -rng.uniform(0.2, 1, N) + 1j * rng.uniform(-20, 20, N)
    P = 0.3 * (rng.standard_normal((N, r)) + 1j * rng.standard_normal((N, r)))
    Q = 0.3 * (rng.standard_normal((N, r)) + 1j * rng.standard_normal((N, r)))
    B = rng.standard_normal(N) + 1j * rng.standard_normal(N)
    C = rng.standard_normal(N) + 1j * rng.standard_normal(N)
    Ab, Bb = discretize(np.diag(Lam) - P @ Q.conj().T, B, dt, "bilinear")
    assert np.max(np.abs(np.linalg.eigvals(Ab))) < 1
    K0 = kernel(Ab, Bb, C, L)
    K = kernel_dplr(Lam, P, Q, B, ctilde_from_c(Ab, C, L), dt, L)
    assert _relerr(K, K0) <= KTOL
    Ab2, Bb2 = dplr_discretize(Lam, P, Q, B, dt)
    np.testing.assert_allclose(Ab2, Ab, rtol=0, atol=1e-13 * np.max(np.abs(Ab)))
    np.testing.assert_allclose(Bb2, Bb, rtol=0, atol=1e-13 * np.max(np.abs(Bb)))


def test_kernel_diag_zoh_against_scipy_expm_and_cont2discrete(rng):
    """Peer: S4D ZOH equals the dense scipy.linalg.expm kernel and scipy.signal.cont2discrete."""
    N, L, dt = 6, 50, 0.2
    lam = -rng.uniform(0.1, 1, N) + 1j * rng.uniform(-5, 5, N)
    B = rng.standard_normal(N) + 0j
    C = rng.standard_normal(N) + 0j
    A = np.diag(lam)
    E = scipy.linalg.expm(dt * A)
    Bb = np.linalg.solve(A, (E - np.eye(N)) @ B)
    K_expm = np.array([C @ np.linalg.matrix_power(E, j) @ Bb for j in range(L)])
    Ad, Bd, *_ = scipy.signal.cont2discrete((A, B[:, None], C[None, :], np.zeros((1, 1))), dt, method="zoh")
    K_c2d = np.array([C @ np.linalg.matrix_power(Ad, j) @ Bd[:, 0] for j in range(L)])
    K = kernel_diag(lam, B, C, dt, L, "zoh")
    assert _relerr(K, K_expm) <= 1e-12
    assert _relerr(K, K_c2d) <= 1e-12


def test_kernel_diag_zero_eigenvalue_and_small_dt():
    K = kernel_diag([0.0 + 0j, -1e-12 + 0j], [1.0, 1.0], [1.0, 1.0], 1e-3, 4, "zoh")
    np.testing.assert_allclose(K.real, 2e-3 * np.ones(4), rtol=1e-12)


# ----------------------------------------------------------------------------- convolution and recurrence
def test_causal_conv_against_direct_sum(rng):
    for Lu, Lk in [(1, 1), (7, 7), (10, 3), (3, 10), (64, 64)]:
        u, K = rng.standard_normal(Lu), rng.standard_normal(Lk)
        want = np.array([sum(K[j] * u[k - j] for j in range(min(k, Lk - 1) + 1)) for k in range(Lu)])
        y = causal_conv(u, K)
        assert y.shape == (Lu,)
        np.testing.assert_allclose(y, want, rtol=0, atol=1e-12 * np.sum(np.abs(K)) * np.max(np.abs(u)))


def test_causal_conv_batched_and_complex(rng):
    u = rng.standard_normal((3, 20)) + 1j * rng.standard_normal((3, 20))
    K = rng.standard_normal(20)
    y = causal_conv(u, K)
    assert y.shape == (3, 20) and y.dtype == np.complex128
    np.testing.assert_allclose(y[1], np.convolve(u[1], K)[:20], rtol=0, atol=1e-12 * 20 * 5)


def test_causal_conv_is_not_circular():
    """Without padding to >= 2L - 1 the tail would wrap onto the head; here y_0 = K_0 u_0 exactly."""
    u = np.zeros(8)
    u[0] = 1.0
    u[-1] = 1.0
    K = np.ones(8)
    y = causal_conv(u, K)
    np.testing.assert_allclose(y, [1, 1, 1, 1, 1, 1, 1, 2], atol=1e-14)


@settings(max_examples=30)
@given(N=st.integers(1, 16), L=st.integers(1, 300), dt=step_sizes(), seed=seeds())
def test_convolution_equals_recurrence(N, L, dt, seed):
    rng = np.random.default_rng(seed)
    A, B = legs(N)
    Ab, Bb = discretize(A, B, dt, "bilinear")
    C, u = rng.standard_normal(N), rng.standard_normal(L)
    y_rec = scan(Ab, Bb, C, u)
    y_conv = causal_conv(u, kernel(Ab, Bb, C, L))
    scale = np.sum(np.abs(kernel(Ab, Bb, np.abs(C), L))) * np.max(np.abs(u)) + 1e-300
    assert np.max(np.abs(y_rec - y_conv)) <= 1e-12 * max(scale, np.max(np.abs(y_rec)))


def test_dplr_recurrence_equals_dense_and_convolution(rng):
    N, L, dt = 16, 200, 0.05
    A, B, C, Ab, Bb, Lam, P, Bv, V = _s4_system(N, dt, 3)
    u = rng.standard_normal(L)
    Cv = V.T @ C
    y_dense = scan(Ab, Bb, C, u)
    y_dplr = dplr_scan(Lam, P, P, Bv, Cv, dt, u)
    np.testing.assert_allclose(y_dplr, y_dense, rtol=0, atol=1e-12 * np.max(np.abs(y_dense)))
    x, y0 = dplr_step(Lam, P, P, Bv, Cv, dt, np.zeros(N), u[0])
    x, y1 = dplr_step(Lam, P, P, Bv, Cv, dt, x, u[1])
    np.testing.assert_allclose([y0, y1], y_dense[:2], rtol=1e-12)
    Abv, _ = dplr_discretize(Lam, P, P, Bv, dt)
    K = kernel_dplr(Lam, P, P, Bv, ctilde_from_c(Abv, Cv, L), dt, L)
    np.testing.assert_allclose(causal_conv(u, K), y_dense, rtol=0, atol=1e-11 * np.max(np.abs(y_dense)))


@given(N=st.integers(1, 12), L=st.integers(1, 100), dt=step_sizes(), seed=seeds())
@settings(max_examples=30)
def test_ctilde_round_trip(N, L, dt, seed):
    A, B = legs(N)
    Ab, _ = discretize(A, B, dt, "bilinear")
    C = np.random.default_rng(seed).standard_normal(N)
    Ct = ctilde_from_c(Ab, C, L)
    np.testing.assert_allclose(c_from_ctilde(Ab, Ct, L), C, rtol=0, atol=1e-9 * np.max(np.abs(C)))
    np.testing.assert_allclose(Ct, (np.eye(N) - np.linalg.matrix_power(Ab, L)).T @ C, rtol=1e-12, atol=1e-14)
    lam = np.diag(Ab)
    np.testing.assert_allclose(ctilde_from_c(lam, C, L), (1 - lam**L) * C, rtol=1e-15)


def test_truncation_identity_generating_function(rng):
    """sum_{j<L} K_j z^j = C^T (I - z^L Ab^L)(I - z Ab)^{-1} Bb for z off the unit circle too."""
    N, L = 6, 11
    Ab = rng.standard_normal((N, N)) / 4
    Bb, C = rng.standard_normal(N), rng.standard_normal(N)
    K = kernel(Ab, Bb, C, L)
    for z in (0.3 + 0.2j, 1.7 - 0.4j):
        lhs = np.polyval(K[::-1], z)
        rhs = C @ (np.eye(N) - z**L * np.linalg.matrix_power(Ab, L)) @ np.linalg.solve(np.eye(N) - z * Ab, Bb)
        assert abs(lhs - rhs) <= 1e-12 * max(1.0, abs(lhs))


# ----------------------------------------------------------------------------- bad input
_A = -np.eye(2)
_c2 = np.ones(2, dtype=complex)


@pytest.mark.parametrize("fn, kwargs, match", [
    (kernel, dict(Ab=np.ones((2, 3)), Bb=np.ones(2), C=np.ones(2), L=4), "'Ab'"),
    (kernel, dict(Ab=_A, Bb=np.ones(3), C=np.ones(2), L=4), "'Bb'"),
    (kernel, dict(Ab=_A, Bb=np.ones(2), C=np.ones(3), L=4), "'C'"),
    (kernel, dict(Ab=_A, Bb=np.ones(2), C=np.ones(2), L=0), "'L'"),
    (kernel, dict(Ab=_A, Bb=np.ones(2), C=np.ones(2), L=4, method="fft"), "'method'"),
    (kernel_dplr, dict(Lambda=-_c2, P=_c2, Q=_c2, B=_c2, Ct=_c2, dt=0.0, L=4), "'dt'"),
    (kernel_dplr, dict(Lambda=-_c2, P=_c2, Q=_c2, B=_c2, Ct=_c2, dt=-0.1, L=4), "'dt'"),
    (kernel_dplr, dict(Lambda=-_c2, P=_c2, Q=_c2, B=_c2, Ct=_c2, dt=0.1, L=0), "'L'"),
    (kernel_dplr, dict(Lambda=-_c2, P=np.ones(3), Q=_c2, B=_c2, Ct=_c2, dt=0.1, L=4), "'P'"),
    (kernel_dplr, dict(Lambda=-_c2, P=_c2, Q=np.ones((2, 2)), B=_c2, Ct=_c2, dt=0.1, L=4), "'Q'"),
    (kernel_dplr, dict(Lambda=-_c2, P=_c2, Q=_c2, B=np.ones(3), Ct=_c2, dt=0.1, L=4), "'B'"),
    (kernel_dplr, dict(Lambda=-_c2, P=_c2, Q=_c2, B=_c2, Ct=np.ones(3), dt=0.1, L=4), "'Ct'"),
    (kernel_dplr, dict(Lambda=np.zeros(2), P=_c2, Q=_c2, B=_c2, Ct=_c2, dt=0.1, L=4), "'Lambda'"),
    (kernel_diag, dict(Lambda=-_c2, B=_c2, C=_c2, dt=0.0, L=4), "'dt'"),
    (kernel_diag, dict(Lambda=-_c2, B=_c2, C=_c2, dt=0.1, L=0), "'L'"),
    (kernel_diag, dict(Lambda=-_c2, B=np.ones(3), C=_c2, dt=0.1, L=4), "'B'"),
    (kernel_diag, dict(Lambda=-_c2, B=_c2, C=_c2, dt=0.1, L=4, method="euler"), "'method'"),
    (kernel_diag, dict(Lambda=np.array([20.0 + 0j]), B=[1.0], C=[1.0], dt=0.1, L=4, method="bilinear"), "'Lambda'"),
    (cauchy, dict(v=np.ones(3), z=np.ones(2) * 5, w=np.ones(2)), "'w'"),
    (cauchy, dict(v=np.ones(2), z=np.ones(2), w=np.ones(2)), "'z'"),
    (cauchy, dict(v=np.ones(2), z=np.array([]), w=np.ones(2)), "'z'"),
    (cauchy, dict(v=np.ones(2), z=np.ones(1), w=np.zeros(2), backend="cuda"), "'backend'"),
    (causal_conv, dict(u=np.ones((2, 5)), K=np.ones((3, 5))), "'u'"),
    (causal_conv, dict(u=np.array([]), K=np.ones(3)), "'u'"),
    (causal_conv, dict(u=[1.0, np.nan], K=np.ones(3)), "'u'"),
    (scan, dict(Ab=_A, Bb=np.ones(2), C=np.ones(2), u=np.ones((2, 2))), "'u'"),
    (ctilde_from_c, dict(Ab=_A, C=np.ones(3), L=4), "'C'"),
    (ctilde_from_c, dict(Ab=_A, C=np.ones(2), L=0), "'L'"),
    (c_from_ctilde, dict(Ab=np.eye(2), Ct=np.ones(2), L=3), "'Ab'"),
    (dplr_scan, dict(Lambda=-_c2, P=_c2, Q=_c2, B=_c2, C=_c2, dt=0.0, u=np.ones(3)), "'dt'"),
    (dplr_step, dict(Lambda=-_c2, P=_c2, Q=_c2, B=_c2, C=_c2, dt=0.1, x=np.ones(3), u=1.0), "'x'"),
    (dplr_discretize, dict(Lambda=-_c2, P=_c2, Q=_c2, B=_c2, dt=-1.0), "'dt'"),
])
def test_bad_input(fn, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fn(**kwargs)



@pytest.mark.parametrize("L", [1, 2, 33, 512])
def test_generating_complex_and_nonnormal(L, rng):
    """Complex, strongly non-normal Ab (Jordan-like block): generating == naive."""
    N = 10
    Ab = np.diag(0.9 * np.exp(1j * rng.uniform(0, 2 * np.pi, N))) + np.diag(np.full(N - 1, 0.5), 1)
    Bb = rng.standard_normal(N) + 1j * rng.standard_normal(N)
    C = rng.standard_normal(N) + 1j * rng.standard_normal(N)
    K0 = kernel(Ab, Bb, C, L)
    assert K0.dtype == np.complex128
    assert _relerr(kernel(Ab, Bb, C, L, method="generating"), K0) <= KTOL
