"""Rational transfer function route (refimpl.ssm.rtf)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl.ssm import (companion, ctilde_from_c, discretize, kernel, legs, rtf_from_ssm, rtf_kernel, rtf_to_ssm,
                         scan)
from refimpl.testing import seeds, step_sizes

EPS = np.finfo(np.float64).eps


def _rtf_regime(d, seed):
    """Random (a, b) with sum |a| < 1 (RTF's stable initialisation region)."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(d)
    a *= rng.uniform(0.05, 0.95) / np.sum(np.abs(a))
    return a, rng.standard_normal(d)


@settings(max_examples=40)
@given(d=st.integers(1, 64), seed=seeds())
def test_companion_characteristic_polynomial(d, seed):
    a = np.random.default_rng(seed).standard_normal(d)
    M = companion(a)
    assert np.all(M[0] == -a) and np.all(np.diag(M, -1) == 1)
    assert np.count_nonzero(M) <= 2 * d
    # det(lambda I - M) at random points vs lambda^d + a_1 lambda^{d-1} + ... + a_d (exact polynomial identity)
    for lam in (0.3 + 0.4j, -1.1 + 0.2j):
        lhs = np.linalg.det(lam * np.eye(d) - M)
        rhs = np.polyval(np.concatenate([[1.0], a]), lam)
        assert abs(lhs - rhs) <= 1e-12 * np.polyval(np.concatenate([[1.0], np.abs(a)]), abs(lam))


@settings(max_examples=60)
@given(d=st.integers(1, 64), seed=seeds(), s=st.floats(0.0, 0.999999))
def test_stability_lemma_sum_abs_a_below_one(d, seed, s):
    """sum |a_i| < 1 implies every root of z^d + a_1 z^{d-1} + ... + a_d lies in the closed unit disk."""
    a = np.random.default_rng(seed).standard_normal(d)
    a *= s / max(np.sum(np.abs(a)), 1e-300)
    roots = np.linalg.eigvals(companion(a))
    assert np.max(np.abs(roots), initial=0.0) <= 1.0 + 1e-12


def test_stability_lemma_is_sharp_only_as_sufficient():
    """The converse fails: a stable polynomial may have sum |a| >> 1 (e.g. (z - 0.9)^4)."""
    a = np.poly([0.9] * 4)[1:]
    assert np.sum(np.abs(a)) > 1 and np.max(np.abs(np.roots(np.concatenate([[1], a])))) < 1


@settings(max_examples=25)
@given(d=st.integers(1, 64), L=st.integers(65, 4096), seed=seeds())
def test_rtf_kernel_equals_naive_companion_and_shift_register(d, L, seed):
    """RTF regime: rtf_kernel == naive kernel of the companion realisation == recurrence; a round trip to (a, b)."""
    a, b = _rtf_regime(d, seed)
    K = rtf_kernel(a, b, L)
    Ab, Bb, C = rtf_to_ssm(a, b, L)
    K0 = kernel(Ab, Bb, C, L)
    kappa = (1 + np.sum(np.abs(a))) / (1 - np.sum(np.abs(a)))
    assert np.max(np.abs(K - K0)) <= 64 * EPS * kappa * np.log2(L) * np.max(np.abs(K0)) * d
    u = np.random.default_rng(seed + 1).standard_normal(L)
    np.testing.assert_allclose(scan(Ab, Bb, C, u), np.convolve(u, K0)[:L], rtol=0,
                               atol=1e-12 * np.sum(np.abs(K0)) * np.max(np.abs(u)))
    a2, b2 = rtf_from_ssm(Ab, Bb, C, L=L)
    np.testing.assert_allclose(a2, a, rtol=0, atol=1e-12 * kappa)
    np.testing.assert_allclose(b2, b, rtol=0, atol=1e-12 * kappa * np.max(np.abs(b)))


def test_shift_register():
    b = np.array([1.0, -2.0, 0.5])
    Ab, Bb, C = rtf_to_ssm(np.zeros(3), b, 8)
    np.testing.assert_array_equal(C, b)
    np.testing.assert_allclose(rtf_kernel(np.zeros(3), b, 8), [1, -2, 0.5, 0, 0, 0, 0, 0], atol=1e-15)
    u = np.arange(1.0, 9.0)
    y = scan(Ab, Bb, C, u)
    np.testing.assert_allclose(y[3:], b[0] * u[3:] + b[1] * u[2:-1] + b[2] * u[1:-2], rtol=1e-15)


@settings(max_examples=30)
@given(N=st.integers(1, 8), L=st.integers(9, 4096), dt=step_sizes(1e-3, 1e-1), seed=seeds())
def test_rtf_of_s4_system_within_its_condition_number(N, L, dt, seed):
    """LegS S4 system -> (a, b) -> kernel: error within eps times the representation's condition number.

    kappa = (1 + sum|a|) / min_l |a(omega_l)|. For small dt the eigenvalues of Ab cluster at 1, a(1) ~ prod(k dt),
    and kappa reaches 1/eps by N ~ 8: the coefficient form itself cannot hold the kernel (docs/ssm.md).
    """
    A, B = legs(N)
    Ab, Bb = discretize(A, B, dt, "bilinear")
    C = np.random.default_rng(seed).standard_normal(N)
    K0 = kernel(Ab, Bb, C, L)
    a, b = rtf_from_ssm(Ab, Bb, C, L=L)
    den = np.abs(np.fft.rfft(np.concatenate([[1.0], a]), n=L))
    kappa = (1 + np.sum(np.abs(a))) / np.min(den)
    err = np.max(np.abs(rtf_kernel(a, b, L) - K0)) / np.max(np.abs(K0))
    assert err <= 16 * EPS * kappa * np.log2(L) + 1e-14
    a2, b2 = rtf_from_ssm(Ab, Bb, ctilde_from_c(Ab, C, L))
    np.testing.assert_array_equal(a2, a)
    np.testing.assert_allclose(b2, b, rtol=1e-14, atol=1e-300)


def test_rtf_from_ssm_scalar_and_complex():
    a, b = rtf_from_ssm([[0.5]], [1.0], [2.0])
    np.testing.assert_allclose(a, [-0.5], atol=1e-16)
    np.testing.assert_allclose(b, [2.0], atol=1e-15)
    lam = np.array([0.5 + 0.3j, -0.2 + 0.1j])
    a, b = rtf_from_ssm(np.diag(lam), [1.0, 1.0], [1.0, 2.0])
    assert a.dtype == np.complex128
    # 1/(1 - l1 z) + 2/(1 - l2 z) = [(1 - l2 z) + 2 (1 - l1 z)] / ((1 - l1 z)(1 - l2 z))
    np.testing.assert_allclose(a, [-(lam[0] + lam[1]), lam[0] * lam[1]], atol=1e-15)
    np.testing.assert_allclose(b, [3.0, -(lam[1] + 2 * lam[0])], atol=1e-15)


@pytest.mark.parametrize("fn, kwargs, match", [
    (rtf_kernel, dict(a=[0.1, 0.2], b=[1.0], L=8), "'b'"),
    (rtf_kernel, dict(a=[0.1, 0.2], b=[1.0, 1.0], L=2), "'L'"),
    (rtf_kernel, dict(a=[0.1], b=[1.0], L=0), "'L'"),
    (rtf_kernel, dict(a=[], b=[], L=4), "'a'"),
    (rtf_kernel, dict(a=[-1.0], b=[1.0], L=4), "'a'"),     # pole at z = 1, a root of unity
    (companion, dict(a=[[0.1]]), "'a'"),
    (rtf_to_ssm, dict(a=[0.1], b=[1.0], L=1), "'L'"),
    (rtf_from_ssm, dict(Ab=np.eye(2), Bb=np.ones(3), C=np.ones(2)), "'Bb'"),
    (rtf_from_ssm, dict(Ab=np.eye(2), Bb=np.ones(2), C=np.ones(2), L=0), "'L'"),
])
def test_bad_input(fn, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fn(**kwargs)
