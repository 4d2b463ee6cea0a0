"""refimpl.ssm.hippo: LegT, LMU, LagT, FouT, FouS, the hippo() registry and s4's transition()."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl.ssm import (HIPPO_MEASURES, fourier_complex_to_real, fous, fout, hippo, lagt, legs, legt, lmu,
                         transition)

EPS = np.finfo(np.float64).eps
SQ = np.sqrt


def _rescale(A, B, lam):
    """c = Lambda c~  =>  c~' = Lambda^-1 A Lambda c~ + Lambda^-1 B u (Su, 10114)."""
    return A * lam[None, :] / lam[:, None], B / lam


def test_legt_n3_literal_values():
    A, B = legt(3, window=1.0)
    want = -np.array([[1, -SQ(3), SQ(5)],
                      [SQ(3), 3, -SQ(15)],
                      [SQ(5), SQ(15), 5]])
    np.testing.assert_allclose(A, want, rtol=EPS, atol=0)
    np.testing.assert_allclose(B, SQ([1.0, 3, 5]), rtol=EPS, atol=0)


@pytest.mark.parametrize("N", [1, 2, 5, 16])
@pytest.mark.parametrize("w", [0.5, 1.0, 2.0, 3.7])
def test_legt_window_scales_and_normalizations_are_similar(N, w):
    A1, B1 = legt(N)
    Aw, Bw = legt(N, w)
    np.testing.assert_allclose(Aw, A1 / w, rtol=2 * EPS, atol=0)
    np.testing.assert_allclose(Bw, B1 / w, rtol=2 * EPS, atol=0)
    As, Bs = legt(N, w, normalization="su")
    # su -> paper is c = sqrt(2) c~: A unchanged, B / sqrt(2)
    Ap, Bp = _rescale(As, Bs, np.full(N, SQ(2)))
    np.testing.assert_allclose(Ap, Aw, rtol=2 * EPS, atol=0)
    np.testing.assert_allclose(Bp, Bw, rtol=2 * EPS, atol=0)


@pytest.mark.parametrize("N", [1, 4, 9])
def test_lmu_is_legt_rescaled_by_sqrt_2_over_2n_plus_1(N):
    """The stated LMU form needs lambda_n = sqrt(2/(2n+1)), not Su's 2/sqrt(2n+1) (erratum)."""
    n = np.arange(N)
    As, Bs = legt(N, normalization="su")
    A_l, B_l = lmu(N)
    Ar, Br = _rescale(As, Bs, SQ(2.0 / (2 * n + 1)))
    np.testing.assert_allclose(Ar, A_l, rtol=8 * EPS, atol=8 * EPS)
    np.testing.assert_allclose(Br, B_l, rtol=4 * EPS, atol=0)
    # Su's written factor 2/sqrt(2n+1) gives the same A but B / sqrt(2)
    Ar2, Br2 = _rescale(As, Bs, 2.0 / SQ(2 * n + 1))
    np.testing.assert_allclose(Ar2, A_l, rtol=8 * EPS, atol=8 * EPS)
    np.testing.assert_allclose(Br2 * SQ(2), B_l, rtol=4 * EPS, atol=0)
    # same spectrum: a similarity
    ev1 = np.sort_complex(np.linalg.eigvals(As))
    ev2 = np.sort_complex(np.linalg.eigvals(A_l))
    np.testing.assert_allclose(ev1, ev2, atol=1e-10 * max(1, N))


def test_lmu_voelker_is_sign_flip_and_matches_s4_formula():
    N = 6
    A, B = lmu(N, convention="voelker")
    i, j = np.meshgrid(np.arange(N), np.arange(N), indexing="ij")
    # s4 'lmu', written from its formula: (2i+1) * (-1 if i < j else (-1)^(i-j+1)), B_i = (-1)^i (2i+1)
    want = (2 * i + 1) * np.where(i < j, -1.0, (-1.0) ** (i - j + 1))
    assert np.array_equal(A, want)
    assert np.array_equal(B, (-1.0) ** np.arange(N) * (2 * np.arange(N) + 1))
    D = np.diag((-1.0) ** np.arange(N))
    A_su, B_su = lmu(N)
    assert np.array_equal(D @ A_su @ D, A)
    assert np.array_equal(transition("lmu", N)[0], A)


def test_lagt_structure_and_beta():
    A, B = lagt(5, beta=0.3)
    assert np.array_equal(A, 0.5 * np.eye(5) - np.tril(np.ones((5, 5))))
    assert np.array_equal(B, np.full(5, 0.3))
    assert np.array_equal(transition("lagt", 5, beta=0.3)[1], B)
    assert np.array_equal(np.linalg.eigvals(A), np.full(5, -0.5))


@pytest.mark.parametrize("M", [0, 1, 4])
@pytest.mark.parametrize("w", [1.0, 2.5])
def test_fout_structure(M, w):
    n = np.arange(-M, M + 1)
    A_su, B_su = fout(M, w, endpoint="su")
    A_mid, B_mid = fout(M, w, endpoint="midpoint")
    D = np.diag(2j * np.pi * n / w)
    np.testing.assert_allclose(A_su - D, -np.ones((2 * M + 1,) * 2) / w, rtol=2 * EPS, atol=0)
    np.testing.assert_allclose(A_mid - D, -2 * np.ones((2 * M + 1,) * 2) / w, rtol=2 * EPS, atol=0)
    np.testing.assert_allclose(B_su, np.ones(2 * M + 1) / w, rtol=EPS)
    np.testing.assert_allclose(B_mid, 2 * B_su, rtol=EPS)


def test_fous_entries_and_running_mean_row():
    M = 3
    A, B = fous(M)
    n = np.arange(-M, M + 1)
    for a, na in enumerate(n):
        for b, nb in enumerate(n):
            want = (1j * np.pi * na - 1) if a == b else -na / (na - nb)
            assert abs(A[a, b] - want) <= EPS * abs(want)
    row0 = A[M]
    assert row0[M] == -1 and np.count_nonzero(row0) == 1  # c_0' = (u - c_0)/t
    assert np.array_equal(B, np.ones(2 * M + 1))


def test_complex_to_real_is_unitary_and_maps_real_signals_to_real():
    M = 5
    U = fourier_complex_to_real(M)
    np.testing.assert_allclose(U @ U.conj().T, np.eye(2 * M + 1), atol=4 * EPS)
    rng = np.random.default_rng(0)
    ck = rng.standard_normal(M) + 1j * rng.standard_normal(M)
    c = np.concatenate([ck[::-1].conj(), [0.7], ck])  # c_{-k} = conj(c_k)
    x = U @ c
    assert np.max(np.abs(x.imag)) <= 4 * EPS
    np.testing.assert_allclose(x.real[1::2], SQ(2) * ck.real, rtol=4 * EPS)
    np.testing.assert_allclose(x.real[2::2], SQ(2) * ck.imag, rtol=4 * EPS)


@pytest.mark.parametrize("measure, w", [("fourier", 2.0), ("fout", 2.0), ("fourier2", 1.0)])
@pytest.mark.parametrize("N", [2, 4, 10])
def test_transition_fourier_is_midpoint_fout_in_real_basis(measure, w, N):
    M = N // 2 - 1
    A_c, B_c = fout(M, w, endpoint="midpoint")
    U = fourier_complex_to_real(M)
    A_r = U @ A_c @ U.conj().T
    B_r = U @ B_c
    assert np.max(np.abs(A_r.imag)) < 1e-14 * max(1, N) and np.max(np.abs(B_r.imag)) < 1e-15
    keep = [0] + list(range(2, N))  # s4's index 1 is an unused state
    A, B = transition(measure, N)
    np.testing.assert_allclose(A[np.ix_(keep, keep)], A_r.real, rtol=0, atol=4 * EPS * np.pi * N)
    np.testing.assert_allclose(B[keep], B_r.real, rtol=0, atol=4 * EPS)
    assert not A[1].any() and not A[:, 1].any() and B[1] == 0


def test_transition_fourier_s4_layout_literal():
    """s4 'fourier', N=6, written out: pairs (2,3), (4,5) rotate at pi k; minus e e^T, e = (1,0,r2,0,r2,0)."""
    r2 = SQ(2)
    e = np.array([1, 0, r2, 0, r2, 0])
    rot = np.zeros((6, 6))
    rot[2, 3], rot[3, 2], rot[4, 5], rot[5, 4] = -np.pi, np.pi, -2 * np.pi, 2 * np.pi
    A, B = transition("fourier", 6)
    np.testing.assert_allclose(A, rot - np.outer(e, e), rtol=2 * EPS, atol=0)
    np.testing.assert_allclose(B, e, rtol=0, atol=0)


@pytest.mark.parametrize("N", [1, 3, 8])
def test_transition_legt_is_window_2_and_matches_s4_formula(N):
    A, B = transition("legt", N)
    A2, B2 = legt(N, window=2.0)
    assert np.array_equal(A, A2) and np.array_equal(B, B2)
    i, j = np.meshgrid(np.arange(N), np.arange(N), indexing="ij")
    R = SQ(2 * np.arange(N) + 1.0)
    # s4 'legt', from its formula: -R_i R_j ((-1)^(i-j) if i < j else 1), then both halved
    want = -0.5 * R[:, None] * np.where(i < j, (-1.0) ** (i - j), 1.0) * R[None, :]
    np.testing.assert_allclose(A, want, rtol=2 * EPS, atol=0)
    np.testing.assert_allclose(B, 0.5 * R, rtol=EPS, atol=0)


def test_transition_legs_matches_s4_similarity_construction():
    N = 12
    q = np.arange(N, dtype=float)
    # s4 'legs', from its formula: A = T M T^-1, M_ij = -((2j+1)[i >= j] - i delta_ij), T = diag sqrt(2q+1)
    Mm = -(np.where(q[:, None] >= q[None, :], 2 * q[None, :] + 1, 0.0) - np.diag(q))
    T = np.diag(SQ(2 * q + 1))
    A, B = transition("legs", N)
    np.testing.assert_allclose(A, T @ Mm @ np.linalg.inv(T), rtol=4 * EPS, atol=4 * EPS)
    assert np.array_equal(B, SQ(2 * q + 1))


@pytest.mark.parametrize("measure", sorted(HIPPO_MEASURES))
def test_hippo_dispatch(measure):
    N = 5
    A, B = hippo(measure, N)
    assert A.shape == (N, N) and B.shape == (N,)
    direct = {"legs": lambda: legs(5), "legt": lambda: legt(5), "lmu": lambda: lmu(5), "lagt": lambda: lagt(5),
              "fout": lambda: fout(2), "fous": lambda: fous(2)}[measure]()
    assert np.array_equal(A, direct[0]) and np.array_equal(B, direct[1])


def test_hippo_passes_params():
    assert np.array_equal(hippo("legt", 4, window=3.0)[0], legt(4, 3.0)[0])
    assert np.array_equal(hippo("fout", 5, endpoint="su")[0], fout(2, endpoint="su")[0])
    assert np.array_equal(hippo("lagt", 3, beta=2.0)[1], lagt(3, 2.0)[1])


@settings(max_examples=30)
@given(N=st.integers(1, 24), w=st.floats(0.05, 20.0), norm=st.sampled_from(["paper", "su"]))
def test_legt_similarity_preserves_spectrum(N, w, norm):
    """Any diagonal rescaling (here su <-> integer LMU) is a similarity: same characteristic polynomial."""
    A, _ = legt(N, w, normalization=norm)
    Al, _ = lmu(N, w)
    # compare traces of powers (exact invariants) rather than ill-conditioned eigenvalues
    P, Q = np.eye(N), np.eye(N)
    for _ in range(3):
        P, Q = P @ A, Q @ Al
        np.testing.assert_allclose(np.trace(P), np.trace(Q), rtol=1e-12, atol=1e-12 * np.abs(P).sum())


def test_float32_and_complex64():
    assert legt(4, dtype=np.float32)[0].dtype == np.float32
    assert lmu(4, dtype=np.float32)[1].dtype == np.float32
    assert lagt(4, dtype=np.float32)[0].dtype == np.float32
    assert fout(2, dtype=np.complex64)[0].dtype == np.complex64
    assert fous(2, dtype=np.complex64)[1].dtype == np.complex64


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: legt(0), ValueError, "'N'"),
        (lambda: legt(3, window=0.0), ValueError, "'window'"),
        (lambda: legt(3, window=np.nan), ValueError, "'window'"),
        (lambda: legt(3, normalization="lmu"), ValueError, "'normalization'"),
        (lambda: legt(3, dtype=np.int32), ValueError, "'dtype'"),
        (lambda: lmu(3, window=-1.0), ValueError, "'window'"),
        (lambda: lmu(3, convention="gu"), ValueError, "'convention'"),
        (lambda: lagt(3, beta=0.0), ValueError, "'beta'"),
        (lambda: lagt(3, beta=np.inf), ValueError, "'beta'"),
        (lambda: lagt(-1), ValueError, "'N'"),
        (lambda: fout(-1), ValueError, "'M'"),
        (lambda: fout(2, endpoint="left"), ValueError, "'endpoint'"),
        (lambda: fout(2, window=0.0), ValueError, "'window'"),
        (lambda: fout(2, dtype=np.float64), ValueError, "'dtype'"),
        (lambda: fous(-2), ValueError, "'M'"),
        (lambda: hippo("chebyshev", 4), ValueError, "'measure'"),
        (lambda: hippo("fout", 4), ValueError, "'N'"),
        (lambda: hippo("fous", 0), ValueError, "'N'"),
        (lambda: transition("random", 4), ValueError, "'measure'"),
        (lambda: transition("fourier", 5), ValueError, "'N'"),
        (lambda: transition("legt", 0), ValueError, "'N'"),
        (lambda: transition("legt", 4, beta=1.0), ValueError, "beta"),
        (lambda: legt(2.5), TypeError, "'N'"),
        (lambda: fout(1.0), TypeError, "'M'"),
        (lambda: hippo("legt", 3, beta=1.0), TypeError, "beta"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
