"""NPLR form of the HiPPO matrices (refimpl.ssm.nplr)."""
import numpy as np
import pytest
from hypothesis import given, settings

from refimpl.ssm import legs, nplr
from refimpl.ssm.nplr import nplr_from_matrix
from refimpl.testing import state_sizes


def _recon(Lam, P, V):
    return V @ (np.diag(Lam) - P @ P.conj().T) @ V.conj().T


@settings(max_examples=15)
@given(N=state_sizes(1, 160))
def test_legs_full_spectrum(N):
    A, B = legs(N)
    Lam, P, Bv, V = nplr("legs", N)
    assert Lam.shape == (N,) and P.shape == (N, 1) and Bv.shape == (N,) and V.shape == (N, N)
    assert np.max(np.abs(_recon(Lam, P, V) - A)) <= 1e-12 * np.max(np.abs(A))
    assert np.max(np.abs(V.conj().T @ V - np.eye(N))) <= 1e-13 * max(1, N / 16)
    assert np.all(Lam.real == -0.5)
    np.testing.assert_allclose(V @ Bv, B, rtol=0, atol=1e-13 * np.max(np.abs(B)))
    # eigenvalues of the normal part come in conjugate pairs (plus one zero mode for odd N)
    np.testing.assert_allclose(np.sort_complex(Lam), np.sort_complex(Lam.conj()), atol=1e-12 * N)


@settings(max_examples=10)
@given(N=state_sizes(2, 128, even=True))
def test_legs_half_is_the_full_system(N):
    Lh, Ph, Bh, Vh = nplr("legs", N, half=True)
    assert Lh.shape == (N // 2,) and Vh.shape == (N, N // 2)
    assert np.all(Lh.imag < 0)
    assert np.all(np.diff(Lh.imag) >= 0)
    Lam = np.concatenate([Lh, Lh.conj()])
    P = np.concatenate([Ph, Ph.conj()])
    V = np.concatenate([Vh, Vh.conj()], axis=1)
    A, B = legs(N)
    assert np.max(np.abs(_recon(Lam, P, V) - A)) <= 1e-12 * np.max(np.abs(A))
    np.testing.assert_allclose(V @ np.concatenate([Bh, Bh.conj()]), B, atol=1e-12 * np.max(B))
    # from the half alone: A = 2 Re(Vh diag(Lh) Vh^*) - p p^T with p = 2 Re(Vh Ph) (s4 takes the real part)
    p = 2 * (Vh @ Ph).real
    np.testing.assert_allclose(2 * (Vh @ np.diag(Lh) @ Vh.conj().T).real - p @ p.T, A, rtol=0,
                               atol=1e-12 * np.max(np.abs(A)))


def test_legs_skew_structure_and_closed_form_P():
    N = 12
    A, _ = legs(N)
    v = np.sqrt(2 * np.arange(N) + 1.0)
    S = A + 0.5 * np.outer(v, v) + 0.5 * np.eye(N)
    assert np.max(np.abs(S + S.T)) <= 1e-13 * np.max(np.abs(S))
    Lam, P, Bv, V = nplr("legs", N)
    np.testing.assert_allclose((V @ P)[:, 0].real, np.sqrt(np.arange(N) + 0.5), atol=1e-13)


def test_rank_padding():
    Lam1, P1, _, V1 = nplr("legs", 6)
    Lam3, P3, _, V3 = nplr("legs", 6, rank=3)
    assert P3.shape == (6, 3) and np.all(P3[:, 1:] == 0)
    np.testing.assert_allclose(P3[:, :1], P1)


def test_generic_route_recovers_rank_two_and_zero_modes(rng):
    """nplr_from_matrix: Hermitian part c I - P P^T of rank 2 with an exact null space (zero eigenvalues)."""
    N = 8
    S = np.zeros((N, N))
    K = rng.standard_normal((N - 2, N - 2))
    S[2:, 2:] = K - K.T                          # skew, two exact zero modes in the first coordinates
    P0 = rng.standard_normal((N, 2))
    A = S - P0 @ P0.T
    B = rng.standard_normal(N)
    for half in (False, True):
        Lam, P, Bv, V = nplr_from_matrix(A, B, 2, half=half)
        if half:
            Lam = np.concatenate([Lam, Lam.conj()])
            P = np.concatenate([P, P.conj()])
            Bv = np.concatenate([Bv, Bv.conj()])
            V = np.concatenate([V, V.conj()], axis=1)
        assert np.max(np.abs(_recon(Lam, P, V) - A)) <= 1e-12 * np.max(np.abs(A))
        assert np.max(np.abs(V.conj().T @ V - np.eye(N))) <= 1e-13
        np.testing.assert_allclose(V @ Bv, B, atol=1e-13)
        assert np.max(np.abs(Lam.real)) <= 1e-13
    with pytest.raises(ValueError, match="'rank'"):
        nplr_from_matrix(A, B, 1)


def test_eigenvectors_of_legs_are_ill_conditioned_but_V_is_unitary():
    """Why NPLR: cond(eigenvectors of A) explodes with N (Su, 10162), cond(V) stays 1."""
    conds = []
    for N in (8, 16, 24):
        A, _ = legs(N)
        _, W = np.linalg.eig(A)
        conds.append(np.linalg.cond(W))
        _, _, _, V = nplr("legs", N)
        assert abs(np.linalg.cond(V) - 1) < 1e-12
    assert conds[0] > 1e2 and conds[1] > 1e2 * conds[0] and conds[2] > 1e2 * conds[1]


@pytest.mark.parametrize("kwargs, match", [
    (dict(measure="legx", N=4), "'measure'"),
    (dict(measure="legs", N=0), "'N'"),
    (dict(measure="legs", N=4, rank=0), "'rank'"),
    (dict(measure="legs", N=5, half=True), "'N'"),
    (dict(measure="legs", N=4, normalization="integer"), "'normalization'"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        nplr(**kwargs)


@pytest.mark.parametrize("measure, N, kwargs, s4, rank, c", [
    ("legt", 16, {}, False, 2, 0.0),
    ("legt", 15, dict(window=2.0), False, 2, 0.0),
    ("lagt", 16, {}, False, 1, 0.0),
    ("lagt", 9, dict(beta=3.0), False, 1, 0.0),
    ("fout", 17, {}, False, 1, 0.0),
    ("fout", 17, dict(endpoint="su", window=0.5), False, 1, 0.0),
    ("legs", 16, {}, True, 1, -0.5),
    ("legt", 16, {}, True, 2, 0.0),
    ("lagt", 16, {}, True, 1, 0.0),
    ("fout", 16, {}, True, 1, 0.0),
])
def test_other_measures(measure, N, kwargs, s4, rank, c):
    """legt (rank 2), lagt, fout (complex Su form and s4's real form with a dead state): A = V (Lambda - P P^*) V^*."""
    from refimpl.ssm import hippo, transition
    A, B = (transition if s4 else hippo)(measure, N, **kwargs)
    Lam, P, Bv, V = nplr(measure, N, rank, s4=s4, **kwargs)
    scale = np.max(np.abs(A))
    assert np.max(np.abs(_recon(Lam, P, V) - A)) <= 1e-12 * scale
    assert np.max(np.abs(V.conj().T @ V - np.eye(N))) <= 1e-13
    assert np.max(np.abs(Lam.real - c)) <= 1e-14 * scale
    np.testing.assert_allclose(V @ Bv, B, rtol=0, atol=1e-13 * np.max(np.abs(B)))
    if not np.iscomplexobj(A) and N % 2 == 0:
        Lh, Ph, Bh, Vh = nplr(measure, N, rank, s4=s4, half=True, **kwargs)
        Vf = np.concatenate([Vh, Vh.conj()], axis=1)
        Af = _recon(np.concatenate([Lh, Lh.conj()]), np.concatenate([Ph, Ph.conj()]), Vf)
        assert np.max(np.abs(Af - A)) <= 1e-12 * scale


def test_legt_rank_correction_matches_s4_form():
    """P P^* = (p_e p_e^T + p_o p_o^T) / w with the even/odd parts of sqrt(2n+1) (s4 rank_correction('legt'))."""
    N, w = 10, 2.0
    Lam, P, _, V = nplr("legt", N, 2, window=w)
    r = np.sqrt(2 * np.arange(N) + 1.0)
    pe, po = r * (np.arange(N) % 2 == 0), r * (np.arange(N) % 2 == 1)
    VP = V @ P
    np.testing.assert_allclose(VP @ VP.conj().T, (np.outer(pe, pe) + np.outer(po, po)) / w, atol=1e-13)
    with pytest.raises(ValueError, match="'rank'"):
        nplr("legt", N, 1)


def test_fout_complex_cannot_halve():
    with pytest.raises(ValueError, match="'half'"):
        nplr("fout", 9, half=True)
