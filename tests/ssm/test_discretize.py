"""refimpl.ssm.discretize against scipy.signal.cont2discrete and closed forms."""
import numpy as np
import pytest
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl.derivations.discretization import order_slopes
from refimpl.ssm import discretize, legs

SCIPY_NAME = {"forward_euler": "euler", "backward_euler": "backward_diff", "bilinear": "bilinear", "zoh": "zoh"}


def _scipy(A, B, dt, method, alpha=None):
    N = A.shape[0]
    C, D = np.zeros((1, N)), np.zeros((1, 1))
    if method == "gbt":
        out = scipy.signal.cont2discrete((A, B[:, None], C, D), dt, method="gbt", alpha=alpha)
    else:
        out = scipy.signal.cont2discrete((A, B[:, None], C, D), dt, method=SCIPY_NAME[method])
    return out[0], out[1][:, 0]


@pytest.mark.parametrize("method", ["forward_euler", "backward_euler", "bilinear", "zoh"])
@pytest.mark.parametrize("dt", [1e-3, 0.05, 0.7])
def test_matches_scipy_cont2discrete(method, dt, rng):
    A, B = legs(8)
    A = A + 0.1 * rng.standard_normal((8, 8))
    Ab, Bb = discretize(A, B, dt, method)
    Ab_s, Bb_s = _scipy(A, B, dt, method)
    np.testing.assert_allclose(Ab, Ab_s, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(Bb, Bb_s, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("alpha", [0.0, 0.25, 0.5, 1.0])
def test_gbt_matches_scipy_and_named_methods(alpha, rng):
    A = rng.standard_normal((5, 5)) - 3 * np.eye(5)
    B = rng.standard_normal(5)
    Ab, Bb = discretize(A, B, 0.1, "gbt", alpha=alpha)
    Ab_s, Bb_s = _scipy(A, B, 0.1, "gbt", alpha)
    np.testing.assert_allclose(Ab, Ab_s, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(Bb, Bb_s, rtol=1e-12, atol=1e-14)
    named = {0.0: "forward_euler", 0.5: "bilinear", 1.0: "backward_euler"}.get(alpha)
    if named:
        Ab_n, Bb_n = discretize(A, B, 0.1, named)
        np.testing.assert_allclose(Ab, Ab_n, rtol=1e-14, atol=1e-15)


def test_scalar_closed_forms():
    a, dt = -2.0, 0.1
    Ab, Bb = discretize([[a]], [1.0], dt, "zoh")
    assert abs(Ab[0, 0] - np.exp(a * dt)) < 1e-16
    assert abs(Bb[0] - (np.exp(a * dt) - 1) / a) < 1e-16
    Ab, Bb = discretize([[a]], [1.0], dt, "bilinear")
    assert abs(Ab[0, 0] - (1 + a * dt / 2) / (1 - a * dt / 2)) < 1e-16


def test_zoh_singular_a_and_matrix_b():
    A = np.array([[0.0, 1.0], [0.0, 0.0]])  # double integrator, singular
    B = np.array([[0.0], [1.0]])
    Ab, Bb = discretize(A, B, 0.5, "zoh")
    np.testing.assert_allclose(Ab, [[1, 0.5], [0, 1]], rtol=0, atol=1e-15)
    np.testing.assert_allclose(Bb, [[0.125], [0.5]], rtol=0, atol=1e-15)


def test_complex_diagonal():
    lam = np.array([-0.5 + 3j, -0.5 - 3j])
    Ab, Bb = discretize(np.diag(lam), np.ones(2), 0.1, "zoh")
    np.testing.assert_allclose(np.diag(Ab), np.exp(0.1 * lam), rtol=1e-14)
    np.testing.assert_allclose(Bb, (np.exp(0.1 * lam) - 1) / lam, rtol=1e-13)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(A=np.ones((2, 3)), B=np.ones(2), dt=0.1, method="zoh"), "'A'"),
        (dict(A=np.eye(2), B=np.ones(3), dt=0.1, method="zoh"), "'B'"),
        (dict(A=np.eye(2), B=np.ones(2), dt=0.0, method="zoh"), "'dt'"),
        (dict(A=np.eye(2), B=np.ones(2), dt=-1.0, method="zoh"), "'dt'"),
        (dict(A=np.eye(2), B=np.ones(2), dt=np.nan, method="zoh"), "'dt'"),
        (dict(A=np.eye(2), B=np.ones(2), dt=0.1, method="tustin"), "'method'"),
        (dict(A=np.eye(2), B=np.ones(2), dt=0.1, method="gbt"), "'alpha'"),
        (dict(A=np.eye(2), B=np.ones(2), dt=0.1, method="gbt", alpha=1.5), "'alpha'"),
        (dict(A=np.eye(2), B=np.ones(2), dt=0.1, method="zoh", alpha=0.5), "'alpha'"),
        (dict(A=[[np.nan, 0], [0, 1]], B=np.ones(2), dt=0.1, method="zoh"), "'A'"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        discretize(**kwargs)


def test_global_orders_by_log_log_slope():
    """Euler errors O(dt), bilinear O(dt^2) against the exact ZOH (slope of a log-log fit)."""

    _, errs, slopes = order_slopes()
    assert abs(slopes["forward_euler"] - 1) < 0.1, slopes
    assert abs(slopes["backward_euler"] - 1) < 0.1, slopes
    assert abs(slopes["bilinear"] - 2) < 0.1, slopes
    assert errs["bilinear"][-1] < 0.01 * errs["forward_euler"][-1]


@given(re=st.floats(-1e3, -1e-6), im=st.floats(-1e3, 1e3), dt=st.floats(1e-4, 10.0))
def test_bilinear_maps_left_half_plane_into_unit_disk(re, im, dt):
    lam = complex(re, im)
    Ab, _ = discretize([[lam]], [1.0], dt, "bilinear")
    z = dt * lam
    exact = (1 + z / 2) / (1 - z / 2)
    assert abs(Ab[0, 0] - exact) <= 4 * np.finfo(float).eps * max(1.0, abs(exact))
    # |1+z/2|^2 - |1-z/2|^2 = 2 Re z < 0, computed without cancellation
    assert abs(1 + z / 2) < abs(1 - z / 2)
    assert abs(Ab[0, 0]) < 1.0 or abs(Ab[0, 0]) - 1.0 <= 4 * np.finfo(float).eps


@given(im=st.floats(-1e3, 1e3), dt=st.floats(1e-4, 10.0))
def test_bilinear_maps_imaginary_axis_onto_unit_circle(im, dt):
    Ab, _ = discretize([[1j * im]], [1.0], dt, "bilinear")
    assert abs(abs(Ab[0, 0]) - 1.0) <= 4 * np.finfo(float).eps


@settings(max_examples=30)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 8), dt=st.floats(1e-3, 5.0))
def test_bilinear_of_stable_matrix_has_spectral_radius_below_one(seed, n, dt):
    rng = np.random.default_rng(seed)
    Q = rng.standard_normal((n, n))
    A = Q - (np.max(np.linalg.eigvals(Q).real) + 0.1) * np.eye(n)  # spectrum in Re < -0.1
    Ab, _ = discretize(A, np.ones(n), dt, "bilinear")
    ev_c = np.linalg.eigvals(A)
    # eigenvalues map one by one: mu = (1 + dt lam/2) / (1 - dt lam/2)
    mu = np.sort_complex((1 + dt * ev_c / 2) / (1 - dt * ev_c / 2))
    assert np.max(np.abs(mu)) < 1
    np.testing.assert_allclose(np.sort_complex(np.linalg.eigvals(Ab)), mu, atol=1e-8 * max(1.0, np.abs(A).max()))
