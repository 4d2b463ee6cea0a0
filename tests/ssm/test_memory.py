"""refimpl.ssm.memory: LegS recurrences, exact projections, reconstruction, LegS eigenvectors."""
import math

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl.ssm import (discretize, fout, lagt, legs, legs_eigvec, legs_recurrence, legt, lmu, project,
                         reconstruct)
from refimpl.testing import finite_vectors

EPS = np.finfo(np.float64).eps
RATIONAL = ["bilinear", "su_bilinear", "forward_euler", "backward_euler"]


def _dense_step_reference(u, N, method):
    """Per-step dense algebra (scipy solve_triangular), written from the formulas of the docstring table."""
    A, B = legs(N)
    I = np.eye(N)
    x = np.zeros(N)
    x[0] = u[0]
    rows = [x.copy()]
    for k in range(1, len(u)):
        if method == "forward_euler":
            x = x + (A @ x + B * u[k]) / k
        else:
            lam = {"bilinear": 1 / (2 * k), "su_bilinear": 1 / (2 * (k + 1)), "backward_euler": 1 / k}[method]
            h = 0.0 if method == "backward_euler" else 1 / (2 * k)
            x = scipy.linalg.solve_triangular(I - lam * A, (I + h * A) @ x + B * u[k] / k, lower=True)
        rows.append(x.copy())
    return np.array(rows)


def test_exact_recurrence_equals_quadrature_projection(rng):
    L, N = 400, 24
    u = rng.standard_normal(L)
    X = legs_recurrence(u, N, "exact")
    rows = np.concatenate([np.arange(0, 20), np.arange(20, L, 29), [L - 1]])
    P = project(u, N, "legs", times=rows + 1.0)
    assert np.max(np.abs(X[rows] - P)) <= 1e-12 * np.max(np.abs(u))


def test_initial_row_is_the_exact_projection_on_0_1():
    for method in ["exact"] + RATIONAL:
        X = legs_recurrence([2.5, -1.0], 4, method)
        np.testing.assert_array_equal(X[0], [2.5, 0, 0, 0])
    np.testing.assert_allclose(project([2.5], 4, times=1.0), [2.5, 0, 0, 0], rtol=0, atol=1e-14)


@pytest.mark.parametrize("method", RATIONAL)
def test_o_n_kernels_match_dense_per_step_algebra(method, rng):
    L, N = 60, 12
    u = rng.standard_normal(L)
    ref = _dense_step_reference(u, N, method)
    scale = np.max(np.abs(ref), axis=1, keepdims=True)
    for backend in ("numba", "reference"):
        X = legs_recurrence(u, N, method, backend=backend)
        assert np.max(np.abs(X - ref) / scale) <= 1e-12, (method, backend)


def test_bilinear_forms_beat_euler_against_exact():
    t = np.arange(300) + 0.5
    u = np.sin(t / 17.0) + 0.3 * np.cos(t / 5.0)
    N = 16
    X = legs_recurrence(u, N, "exact")
    err = {m: np.max(np.abs(legs_recurrence(u, N, m)[-100:] - X[-100:])) for m in RATIONAL}
    for bil in ("bilinear", "su_bilinear"):
        for eul in ("forward_euler", "backward_euler"):
            assert err[bil] < 0.2 * err[eul], err
    assert max(err.values()) > 0  # they are approximations


def test_coefficients_do_not_depend_on_step_size(rng):
    """LegS is timescale-equivariant: the same samples at any spacing dt give the same coefficients."""
    u = rng.standard_normal(50)
    N = 10
    ref = project(u, N, times=np.arange(1, 51.0))
    for dt in (1e-3, 0.37, 20.0):
        got = project(u, N, dt=dt, times=dt * np.arange(1, 51.0))
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-13)
    np.testing.assert_allclose(legs_recurrence(u, N, "exact"), ref, rtol=0, atol=1e-12)


def test_timescale_equivariance_for_a_callable():
    f = lambda t: np.sin(t) + t ** 2 / 10  # noqa: E731
    alpha = 3.0
    c1 = project(lambda t: f(alpha * t), 12, times=2.0)
    c2 = project(f, 12, times=2.0 * alpha)
    np.testing.assert_allclose(c1, c2, rtol=0, atol=1e-13)


def test_reconstruction_error_falls_with_n():
    f = lambda t: np.sin(3 * t) + np.cos(7 * np.sqrt(t))  # noqa: E731
    T = 5.0
    s = np.linspace(0, 1, 400)
    errs = []
    Ns = [4, 8, 12, 16, 24, 32]
    for N in Ns:
        c = project(f, N, times=T, panels=100)
        errs.append(np.sqrt(np.mean((reconstruct(c, s) - f(T * s)) ** 2)))
    slope = np.polyfit(Ns, np.log10(errs), 1)[0]
    assert slope < -0.3, errs            # a clear downward trend (not necessarily monotone)
    assert errs[-1] < 1e-6 * errs[0], errs


def test_polynomial_decay_spectrum():
    N = 8
    A, _ = legs(N)
    for m, n in [(3, 7), (1, 2), (10, 1000)]:
        E = scipy.linalg.expm(math.log(n / m) * A)
        ev = np.sort(np.linalg.eigvals(E).real)[::-1]
        np.testing.assert_allclose(ev, (m / n) ** np.arange(1, N + 1), rtol=1e-12)
    # and the per-step exact propagators compose to it
    P = np.eye(N)
    for k in range(3, 7):
        P = discretize(A, np.zeros(N), math.log1p(1 / k), "zoh")[0] @ P
    np.testing.assert_allclose(P, scipy.linalg.expm(math.log(7 / 3) * A), rtol=1e-12, atol=1e-14)


def test_lagt_zoh_equals_projection(rng):
    """The LagT ODE is exact: ZOH of (A, B) = lagt(N) reproduces the quadrature projection."""
    L, N, dt = 120, 12, 0.1
    u = rng.standard_normal(L)
    A, B = lagt(N, beta=0.5)
    Ab, Bb = discretize(A, B, dt, "zoh")
    x, X = np.zeros(N), []
    for k in range(L):
        x = Ab @ x + Bb * u[k]
        X.append(x)
    P = project(u, N, "lagt", dt=dt, beta=0.5, times=dt * np.arange(1, L + 1))
    assert np.max(np.abs(np.array(X) - P)) <= 1e-12


def _zoh_run(A, B, us, dt):
    Ab, Bb = discretize(A, B, dt, "zoh")
    x = np.zeros(A.shape[0], dtype=A.dtype)
    for v in us:
        x = Ab @ x + Bb * v
    return x


def test_legt_lmu_coefficient_error_falls_with_n():
    dt, T = 1e-3, 3.0
    t = (np.arange(int(T / dt)) + 0.5) * dt
    us = np.cos(t) + 0.5 * np.sin(3 * t)
    errs = []
    for N in (4, 8, 16):
        c = project(us, N, "legt", dt=dt, times=T)
        errs.append(np.max(np.abs(_zoh_run(*legt(N), us, dt) - c)))
        c_l = project(us, N, "lmu", dt=dt, times=T)
        np.testing.assert_allclose(c_l, c * np.sqrt(2 * np.arange(N) + 1.0), rtol=0, atol=1e-14)
        x_l = _zoh_run(*lmu(N), us, dt)
        assert np.max(np.abs(x_l - c_l)) < 1e-6 + 5 * np.sqrt(2 * N) * errs[-1]
    assert errs[1] < 0.01 * errs[0] and errs[2] < 0.5 * errs[1], errs


def test_fout_endpoint_su_does_not_converge_midpoint_does():
    dt, T = 2e-3, 3.0
    t = (np.arange(int(T / dt)) + 0.5) * dt
    us = np.cos(t) + 0.5 * np.sin(3 * t)
    err = {"su": [], "midpoint": []}
    for M in (2, 8, 16):
        c = project(us, 2 * M + 1, "fout", dt=dt, times=T)
        for ep in err:
            err[ep].append(np.max(np.abs(_zoh_run(*fout(M, endpoint=ep), us, dt) - c)))
    assert min(err["su"]) > 0.1 and err["su"][-1] > 0.9 * err["su"][0], err      # stuck
    assert err["midpoint"][-1] < 0.25 * err["midpoint"][0], err                     # ~ 1/M
    assert err["midpoint"][-1] < 0.05 * err["su"][-1], err


@pytest.mark.parametrize("measure, smax", [("legs", 1.0), ("legt", 2.5), ("lmu", 2.5)])
def test_project_reconstruct_roundtrip_for_polynomials(measure, smax):
    """A polynomial of degree < N is represented exactly."""
    T = 4.0
    p = np.polynomial.Polynomial([0.3, -1.0, 0.5, 0.25])
    kw = {} if measure == "legs" else {"window": 2.5}
    c = project(lambda t: p(t), 6, measure, times=T, **kw)
    s = np.linspace(0, smax, 50)
    t = T * s if measure == "legs" else T - 2.5 + s
    np.testing.assert_allclose(reconstruct(c, s, measure, **kw), p(t), rtol=0, atol=1e-13)


@pytest.mark.parametrize("measure", ["fout", "fous"])
def test_fourier_roundtrip_for_trig_polynomial(measure):
    T, w = 3.0, 1.5
    if measure == "fout":
        f = lambda t: 1 + np.cos(2 * np.pi * (t - (T - w)) / w) - 0.4 * np.sin(4 * np.pi * (t - (T - w)) / w)  # noqa
        c = project(f, 7, "fout", times=T, window=w)
        s = np.linspace(0, w, 30)
        vals = reconstruct(c, s, "fout", window=w)
        t = T - w + s
    else:
        f = lambda t: 1 + np.cos(2 * np.pi * t / T) - 0.4 * np.sin(4 * np.pi * t / T)  # noqa
        c = project(f, 7, "fous", times=T)
        s = np.linspace(0, 1, 30)
        vals = reconstruct(c, s, "fous")
        t = T * s
    np.testing.assert_allclose(vals.real, f(t), rtol=0, atol=1e-13)
    assert np.max(np.abs(vals.imag)) < 1e-14


def test_project_multiple_times_and_batch_reconstruct(rng):
    u = rng.standard_normal(20)
    C = project(u, 5, times=[5.0, 20.0])
    assert C.shape == (2, 5)
    np.testing.assert_array_equal(C[1], project(u, 5))
    R = reconstruct(C, [0.0, 0.5])
    assert R.shape == (2, 2)
    np.testing.assert_allclose(R[0], reconstruct(C[0], [0.0, 0.5]), rtol=0, atol=0)


@pytest.mark.parametrize("N", [1, 2, 5, 12, 20])
def test_eigvec_residual_and_closed_form(N):
    A, _ = legs(N)
    for lam in range(1, N + 1):
        v, S = legs_eigvec(N, lam, return_s=True)
        vc, Sc = legs_eigvec(N, lam, method="closed_form", return_s=True)
        np.testing.assert_allclose(v, vc, rtol=4 * N * EPS, atol=0)
        res = np.abs(-A @ v - lam * v)
        assert np.all(res <= 4 * N * EPS * (np.abs(A) @ np.abs(v) + lam * np.abs(v)) + 1e-300)
        # the corrected range: S_n = 0 for n <= lam - 2, S_{lam-1} != 0 (the article says S_{lam-1} = 0)
        assert np.all(S[:max(lam - 1, 0)] == 0)
        assert S[lam - 1] != 0
        assert np.all(v[:lam - 1] == 0) and v[lam - 1] != 0


def test_eigvec_closed_form_exact_small_case():
    # N = 4, lam = 2: S = (0, (-1)^2 2! 3! / (5! 0!), (-1)^1 2! 4! / (5! 1!), 1) = (0, 1/10, -2/5, 1)
    S = legs_eigvec(4, 2, method="closed_form", return_s=True)[1]
    np.testing.assert_allclose(S, [0, 0.1, -0.4, 1.0], rtol=EPS, atol=0)


def test_eigenvector_condition_number_explodes():
    """Why S4 does not diagonalise A: cond(V) grows exponentially with N."""
    Ns = [4, 8, 12, 16, 20]
    conds = []
    for N in Ns:
        V = np.column_stack([legs_eigvec(N, lam) for lam in range(1, N + 1)])
        V /= np.linalg.norm(V, axis=0)
        conds.append(np.linalg.cond(V))
    slope = np.polyfit(Ns, np.log10(conds), 1)[0]
    assert slope > 0.5, conds          # more than a factor 10 per 2 states
    assert conds[-1] > 1e12, conds


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: legs_recurrence([1.0, np.nan], 4), ValueError, "'u'"),
        (lambda: legs_recurrence([], 4), ValueError, "'u'"),
        (lambda: legs_recurrence(np.ones((2, 2)), 4), ValueError, "'u'"),
        (lambda: legs_recurrence([1.0], 0), ValueError, "'N'"),
        (lambda: legs_recurrence([1.0], 3, "zoh"), ValueError, "'method'"),
        (lambda: legs_recurrence([1.0], 3, backend="gpu"), ValueError, "'backend'"),
        (lambda: legs_recurrence([1.0, 2.0], 3, out=np.empty((2, 4))), ValueError, "'out'"),
        (lambda: legs_recurrence([1.0], 2.5), TypeError, "'N'"),
        (lambda: project([1.0, np.inf], 3), ValueError, "'u'"),
        (lambda: project([1.0], 3, "chebyshev"), ValueError, "'measure'"),
        (lambda: project([1.0], 4, "fout"), ValueError, "'N'"),
        (lambda: project([1.0], 3, times=0.0), ValueError, "'times'"),
        (lambda: project([1.0], 3, times=np.nan), ValueError, "'times'"),
        (lambda: project([1.0], 3, dt=0.0), ValueError, "'dt'"),
        (lambda: project([1.0], 3, dt=np.nan), ValueError, "'dt'"),
        (lambda: project([1.0], 3, "legt", window=-1.0), ValueError, "'window'"),
        (lambda: project([1.0], 3, "legs", window=2.0), ValueError, "'window'"),
        (lambda: project([1.0], 3, "legs", beta=2.0), ValueError, "'beta'"),
        (lambda: project([1.0], 3, panels=4), ValueError, "'panels'"),
        (lambda: project(np.sin, 3), ValueError, "'times'"),
        (lambda: project(np.sin, 3, times=1.0, dt=0.5), ValueError, "'dt'"),
        (lambda: project(lambda t: np.nan * t, 3, times=1.0), ValueError, "'u'"),
        (lambda: project(lambda t: 1.0, 3, times=1.0), ValueError, "'u'"),
        (lambda: project([1.0], 3, nodes=0), ValueError, "'nodes'"),
        (lambda: reconstruct([1.0, np.nan], [0.5]), ValueError, "'c'"),
        (lambda: reconstruct([1.0, 2.0], [1.5]), ValueError, "'s'"),
        (lambda: reconstruct([1.0, 2.0], [np.nan]), ValueError, "'s'"),
        (lambda: reconstruct([1.0, 2.0], [0.5], "fout"), ValueError, "'c'"),
        (lambda: reconstruct(np.ones((2, 2, 2)), [0.5]), ValueError, "'c'"),
        (lambda: reconstruct([1.0], [0.5], "legt", window=0.0), ValueError, "'window'"),
        (lambda: legs_eigvec(4, 0), ValueError, "'lam'"),
        (lambda: legs_eigvec(4, 5), ValueError, "'lam'"),
        (lambda: legs_eigvec(0, 1), ValueError, "'N'"),
        (lambda: legs_eigvec(4, 2, method="eig"), ValueError, "'method'"),
        (lambda: legs_eigvec(4, 1.5), TypeError, "'lam'"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_eigvec_magnitude_prefactor_is_d_to_the_3_halves():
    """Su (10162): |S_{d/3}| (lam = d/3) = (2d/3)!^2/(4d/3-1)! ~ sqrt(d) 2^(-4d/3).

    The rate is right; the prefactor is d^(3/2).
    """
    ds = [30, 60, 120, 240, 480]
    ys = []
    for d in ds:
        S = legs_eigvec(d, d // 3, method="closed_form", return_s=True)[1]
        exact = math.factorial(2 * d // 3) ** 2 / math.factorial(4 * d // 3 - 1)
        assert abs(abs(S[d // 3]) - exact) <= 1e-15 * exact
        ys.append(math.log2(abs(S[d // 3])) + 4 * d / 3)
    slope = np.polyfit(np.log2(ds), ys, 1)[0]
    assert abs(slope - 1.5) < 0.02, slope


@settings(max_examples=20)
@given(data=st.data())
def test_recurrences_are_linear_in_the_input(data):
    L = data.draw(st.integers(1, 30), label="L")
    N = data.draw(st.integers(1, 12), label="N")
    u = data.draw(finite_vectors(L, bound=10.0), label="u")
    v = data.draw(finite_vectors(L, bound=10.0), label="v")
    a = data.draw(st.floats(-3, 3), label="a")
    for method in ["exact", "bilinear", "su_bilinear", "backward_euler"]:
        lhs = legs_recurrence(a * u + v, N, method)
        rhs = a * legs_recurrence(u, N, method) + legs_recurrence(v, N, method)
        scale = 1.0 + np.max(np.abs(lhs))
        assert np.max(np.abs(lhs - rhs)) <= 1e-12 * scale, method


@settings(max_examples=15)
@given(data=st.data())
def test_exact_recurrence_matches_projection_property(data):
    L = data.draw(st.integers(1, 60), label="L")
    N = data.draw(st.integers(1, 16), label="N")
    u = data.draw(finite_vectors(L, bound=100.0), label="u")
    X = legs_recurrence(u, N, "exact")
    P = project(u, N, times=float(L))
    assert np.max(np.abs(X[-1] - P)) <= 1e-12 * max(1.0, np.max(np.abs(u)))
