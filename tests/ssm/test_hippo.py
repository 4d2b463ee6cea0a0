"""refimpl.ssm.hippo: LegS matrices and the O(N) matvec/solve."""
import numpy as np
import pytest
import scipy.linalg
from hypothesis import given
from hypothesis import strategies as st

from refimpl.ssm import legs, legs_matvec, legs_solve
from refimpl.testing import finite_vectors, state_sizes

EPS = np.finfo(np.float64).eps
SQ = np.sqrt


def test_legs_n4_matches_spec_values():
    A, B = legs(4)
    want = np.array([[-1, 0, 0, 0],
                     [-SQ(3), -2, 0, 0],
                     [-SQ(5), -SQ(15), -3, 0],
                     [-SQ(7), -SQ(21), -SQ(35), -4]])
    np.testing.assert_array_equal(A, want)
    np.testing.assert_array_equal(B, SQ([1.0, 3, 5, 7]))


def test_legs_normalizations_b():
    n = np.arange(6.0)
    assert np.array_equal(legs(6, "su")[1], SQ(2 * (2 * n + 1)))
    assert np.array_equal(legs(6, "integer")[1], 2 * n + 1)
    assert np.array_equal(legs(6, "su")[0], legs(6, "paper")[0])


@pytest.mark.parametrize("N", [1, 2, 7, 32, 100])
@pytest.mark.parametrize("normalization", ["paper", "su", "integer"])
def test_eigenvalues_are_minus_one_to_minus_n(N, normalization):
    A, _ = legs(N, normalization)
    assert np.array_equal(A, np.tril(A))
    assert np.array_equal(np.diag(A), -np.arange(1.0, N + 1))
    ev = np.sort(scipy.linalg.eigvals(A).real)
    # triangular: LAPACK returns the diagonal exactly
    np.testing.assert_array_equal(ev, -np.arange(N, 0, -1.0))


@pytest.mark.parametrize("N", [3, 10, 40])
def test_normalizations_are_similar(N):
    Ap, Bp = legs(N, "paper")
    As, Bs = legs(N, "su")
    Ai, Bi = legs(N, "integer")
    D = np.diag(SQ(2 * np.arange(N) + 1.0))
    # integer = D A_paper D^-1, B_int = D B_paper; su = paper with c scaled by 1/sqrt(2)
    np.testing.assert_allclose(D @ Ap @ np.linalg.inv(D), Ai, rtol=4 * EPS, atol=0)
    np.testing.assert_allclose(D @ Bp, Bi, rtol=2 * EPS, atol=0)
    np.testing.assert_allclose(SQ(2) * Bp, Bs, rtol=2 * EPS, atol=0)
    assert np.array_equal(Ap, As)


def test_float32_is_rounded_once():
    A64, B64 = legs(16)
    A32, B32 = legs(16, dtype=np.float32)
    assert A32.dtype == np.float32 and B32.dtype == np.float32
    assert np.array_equal(A32, A64.astype(np.float32))


@given(st.data())
def test_matvec_matches_dense_oracle(data):
    n = data.draw(state_sizes(), label="n")
    v = data.draw(finite_vectors(n), label="v")
    for norm in ("paper", "integer"):
        A, _ = legs(n, norm)
        dense = A @ v
        tol = 2 * (n + 2) * EPS * (np.abs(A) @ np.abs(v)) + 1e-300  # dot-product forward-error bound
        for backend in ("numba", "numpy"):
            err = np.abs(legs_matvec(v, normalization=norm, backend=backend) - dense)
            assert np.all(err <= tol), (norm, backend, float(np.max(err - tol)))


@given(st.data())
def test_solve_matches_dense_triangular_solve(data):
    n = data.draw(state_sizes(), label="n")
    v = data.draw(finite_vectors(n), label="v")
    lam = data.draw(st.floats(0.0, 100.0), label="lam")
    for norm in ("paper", "integer"):
        A, _ = legs(n, norm)
        M = np.eye(n) - lam * A
        ref = scipy.linalg.solve_triangular(M, v, lower=True)
        scale = max(np.max(np.abs(ref)), np.max(np.abs(v)) , 1e-300)
        for backend in ("numba", "numpy"):
            z = legs_solve(v, lam, normalization=norm, backend=backend)
            err = np.max(np.abs(z - ref)) / scale
            assert err <= 20 * n * EPS, (norm, backend, err)
            # residual of the fast solve itself
            res = np.max(np.abs(M @ z - v)) / (np.max(np.abs(M) @ np.abs(z)) + 1e-300)
            assert res <= 4 * n * EPS


def test_solve_negative_lambda_nonsingular(rng):
    n = 12
    A, _ = legs(n)
    v = rng.standard_normal(n)
    lam = -0.37  # not -1/(k+1)
    np.testing.assert_allclose(legs_solve(v, lam), np.linalg.solve(np.eye(n) - lam * A, v), rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("bad", [0, -3])
def test_bad_n_value(bad):
    with pytest.raises(ValueError, match="'N'"):
        legs(bad)


@pytest.mark.parametrize("bad", [2.5, 3.0, "4", None, True])
def test_bad_n_type(bad):
    # non-integer N is both a TypeError and a ValueError (refimpl.ArgumentTypeError)
    with pytest.raises(TypeError, match="'N'"):
        legs(bad)
    with pytest.raises(ValueError, match="'N'"):
        legs(bad)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: legs(3, "gu"), "'normalization'"),
        (lambda: legs(3, dtype=np.int64), "'dtype'"),
        (lambda: legs_matvec(np.ones((2, 2))), "'v'"),
        (lambda: legs_matvec([]), "'v'"),
        (lambda: legs_matvec([1.0, np.nan]), "'v'"),
        (lambda: legs_matvec([1.0], backend="gpu"), "'backend'"),
        (lambda: legs_solve([1.0, 2.0], np.inf), "'lam'"),
        (lambda: legs_solve([1.0, 2.0, 3.0], -0.5), "'lam'"),
        (lambda: legs_solve([1.0, 2.0], 0.1, normalization="x"), "'normalization'"),
    ],
)
def test_bad_input_names_parameter(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_legs_solve_rejects_complex():
    with pytest.raises(TypeError, match="'v'"):
        legs_solve([1j, 2.0], 0.1)


def test_derivation_check_passes():
    from refimpl.derivations import hippo_legs

    assert hippo_legs.check() < 1e-14
