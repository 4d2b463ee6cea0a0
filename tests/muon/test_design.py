"""Coefficient design: Remez/equioscillation, Polar Express table, cubic closed form, Su's fits."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl.muon import (COEFFICIENTS, cubic_equioscillation, fit_coefficients, kappa_to_abc,
                          optimal_odd_polynomial, polar_express_coefficients, scalar_map)
from refimpl.muon import _kernels
from refimpl.muon.design import PE_CUSHION

# The table of https://kexue.fm/archives/10996 (columns a*1.01, b*1.01^3, c*1.01^5), as printed,
# except row 6 column b, printed "1.268": a sign typo (see ERRATA.md).
ARTICLE_TABLE = [
    ("8.28721", "-23.5959", "17.3004"),
    ("4.10706", "-2.94785", "0.544843"),
    ("3.94869", "-2.9089", "0.551819"),
    ("3.31842", "-2.48849", "0.510049"),
    ("2.30065", "-1.6689", "0.418807"),
    ("1.8913", "-1.268", "0.376804"),
    ("1.875", "-1.25", "0.375"),
    ("1.875", "-1.25", "0.375"),
]


def _half_unit(text):
    decimals = len(text.split(".")[1]) if "." in text else 0
    return 0.5 * 10.0**-decimals


def test_polar_express_reproduces_every_printed_digit():
    C = polar_express_coefficients(1e-3, 1.0, steps=8, safety=1.0, cushion=PE_CUSHION)
    for t, row in enumerate(ARTICLE_TABLE):
        for j, text in enumerate(row):
            assert abs(C[t, j] - float(text)) <= _half_unit(text) * (1 + 1e-9), (t + 1, j, C[t, j], text)
    assert C[5, 1] < 0  # the printed +1.268 is a typo


def test_polar_express_preset_is_table_over_safety():
    C = polar_express_coefficients(steps=8)  # safety 1.01 applied: (a, b, c) / (1.01, 1.01^3, 1.01^5)
    assert np.max(np.abs(C - COEFFICIENTS["polar_express"]) / np.abs(C)) <= 5e-6
    raw = polar_express_coefficients(steps=8, safety=1.0)
    assert np.allclose(C * np.array([1.01, 1.01**3, 1.01**5]), raw, rtol=1e-14, atol=0)


def test_polar_express_schedule_converges_to_taylor_and_covers_the_interval():
    C = polar_express_coefficients(steps=10, safety=1.0)
    assert np.allclose(C[-1], [15 / 8, -5 / 4, 3 / 8], rtol=0, atol=1e-12)
    x = np.geomspace(1e-3, 1.0, 2001)
    assert np.max(np.abs(scalar_map(x, C[:8]) - 1)) < 1e-3


def test_article_first_quintic():
    """10996: l=0.001, u=1: f1 = 8.4703x - 25.1081x^3 + 18.6293x^5, x1 = 0.3674, x2 = 0.8208, E = 0.9915."""
    coef, E = optimal_odd_polynomial(1e-3, 1.0, 5)
    assert np.allclose(coef, [8.4703, -25.1081, 18.6293], rtol=0, atol=5e-5)
    assert abs(E - 0.9915) <= 5e-5
    crit = np.sqrt(np.sort(np.roots([5 * coef[2], 3 * coef[1], coef[0]]).real))
    assert np.allclose(crit, [0.3674, 0.8208], rtol=0, atol=5e-5)


@settings(max_examples=40)
@given(l=st.floats(1e-3, 0.9), width=st.floats(0.05, 1.0), degree=st.sampled_from([3, 5, 7]))
def test_equioscillation(l, width, degree):
    """The Remez optimum reaches its error E with alternating signs at n+2 points and nowhere exceeds it."""
    u = l + width
    coef, E = optimal_odd_polynomial(l, u, degree)
    n = (degree - 1) // 2
    x = np.linspace(l, u, 20001)
    f = sum(c * x ** (2 * j + 1) for j, c in enumerate(coef))
    assert np.max(np.abs(f - 1)) <= E * (1 + 1e-9) + 1e-12
    dcoef = [(2 * j + 1) * coef[j] for j in range(n + 1)]
    crit = np.sqrt(np.sort(np.roots(dcoef[::-1]).real))
    pts = np.concatenate([[l], crit, [u]])
    vals = sum(c * pts ** (2 * j + 1) for j, c in enumerate(coef)) - 1
    signs = (-1.0) ** (np.arange(n + 2) + 1)  # f(l) = 1 - E, then alternate
    assert np.allclose(vals, signs * E, rtol=0, atol=1e-10)


@settings(max_examples=40)
@given(l=st.floats(1e-4, 1.0), ratio=st.floats(1.0, 1e3))
def test_cubic_closed_form_equals_remez(l, ratio):
    u = l * ratio
    a, b, E = cubic_equioscillation(l, u)
    coef, E2 = optimal_odd_polynomial(l, u, 3)
    assert np.allclose([a, b], coef, rtol=1e-10, atol=0) and abs(E - E2) <= 1e-10


def test_greedy_composition_error_and_optimality_against_published_schedules():
    """Without cushion the T-step error is 1 - l_(T+1); it beats every fixed quintic schedule of length T."""
    for T in (2, 4, 6):
        C = polar_express_coefficients(1e-3, 1.0, steps=T, safety=1.0, cushion=0.0)
        x = np.linspace(1e-3, 1.0, 200001)
        err = np.max(np.abs(scalar_map(x, C) - 1))
        l_next = float(scalar_map(1e-3, C))
        assert abs(err - (1 - l_next)) <= 1e-6
        for name in ("keller", "su_minmax", "taylor2"):
            assert err <= np.max(np.abs(scalar_map(x, name, steps=T) - 1)) + 1e-12
        if T == 6:
            for name in ("you_t6", "su_x", "su_x2"):
                assert err <= np.max(np.abs(scalar_map(x, name) - 1)) + 1e-12


def test_narrow_interval_returns_taylor_polynomial():
    coef, E = optimal_odd_polynomial(2.0 * (1 - 1e-7), 2.0, 5)
    assert E == 0.0 and np.allclose(coef, [15 / 8 / 2, -5 / 4 / 8, 3 / 8 / 32], rtol=1e-15)
    coef3, _ = optimal_odd_polynomial(1.0, 1.0, 3)
    assert np.allclose(coef3, [1.5, -0.5], rtol=1e-15)


@settings(max_examples=40)
@given(kappa=st.floats(0.1, 30), x1=st.floats(0.3, 1.2), x2=st.floats(0.3, 1.5))
def test_kappa_parameterisation_fixed_points(kappa, x1, x2):
    a, b, c = kappa_to_abc(kappa, x1, x2)
    for x in (x1, x2, -x1, -x2, 0.0):
        assert abs(a * x + b * x**3 + c * x**5 - x) <= 1e-12 * max(1.0, kappa * 10)


def test_article_kappa_table_rows_round_trip():
    """10592 table: a, b from the printed (rounded) kappa, x1, x2 agree with the printed a, b to ~3 digits."""
    rows = [(1.724, 0.935, 1.235, 3.297, -4.136), (1.476, 0.983, 1.074, 2.644, -3.128),
            (2.057, 0.894, 1.201, 3.373, -4.613), (30.147, 0.643, 0.643, 6.139, -24.893)]
    for kappa, x1, x2, a, b in rows:
        a2, b2, c2 = kappa_to_abc(kappa, x1, x2)
        assert abs(a2 - a) <= 3e-3 * max(1, abs(a)) and abs(b2 - b) <= 3e-3 * abs(b) and c2 == kappa


def test_minmax_fit_short_run_is_deterministic_and_improves():
    r1 = fit_coefficients("minmax", 5, iterations=300)
    r2 = fit_coefficients("minmax", 5, iterations=300)
    assert np.array_equal(r1.coefficients, r2.coefficients)
    start = np.abs(scalar_map(np.linspace(0, 1, 10001)[1:], "cubic") - 1)
    assert r1.loss < np.mean(np.sort(start)[-50:])
    sched = fit_coefficients("minmax", 3, shared=False, iterations=100)
    assert sched.coefficients.shape == (3, 3) and sched.parameters is None


@pytest.mark.slow
def test_minmax_fit_reproduces_su_10922():
    """fit_coefficients('minmax') gives the article's (3.3748, -4.6969, 2.1433) (float32, as its JAX run)."""
    r = fit_coefficients("minmax", 5)
    assert np.allclose(r.coefficients, COEFFICIENTS["su_minmax"], rtol=0, atol=1.5e-4)


@pytest.mark.slow
def test_kappa_fit_reproduces_10592_row():
    """2048 x 1024, T = 5: the article prints kappa, x1, x2 = 1.476, 0.983, 1.074 and mse 0.00038."""
    r = fit_coefficients("kappa", 5, shape=(2048, 1024), n_matrices=1, n_points=1024)
    kappa, x1, x2 = r.parameters
    assert abs(kappa - 1.476) <= 3e-3 and abs(x1 - 0.983) <= 2e-3 and abs(x2 - 1.074) <= 2e-3
    assert abs(r.loss - 0.00038) <= 5e-5
    assert np.allclose(r.coefficients, [2.644, -3.128, 1.476], rtol=0, atol=6e-3)


@pytest.mark.twin
def test_kappa_sgd_numba_matches_numpy_twin(rng):
    data = np.sort(rng.uniform(0.0, 0.2, 24))
    p0 = np.array([1.0, 0.9, 1.1])
    for T in (1, 3):
        a = _kernels.kappa_sgd_nb(p0, data, T, 0.01, 0.9, 5)
        b = _kernels.kappa_sgd_np(p0, data, T, 0.01, 0.9, 5)
        assert np.allclose(a, b, rtol=1e-12, atol=0)
        g = np.zeros(3)
        loss = _kernels.kappa_loss_grad_nb(p0, data, T, g)
        loss2, g2 = _kernels.kappa_loss_grad_np(p0, data, T)
        assert abs(loss - loss2) <= 1e-14 and np.allclose(g, g2, rtol=1e-12, atol=1e-15)


def test_kappa_gradient_matches_finite_differences(rng):
    data = rng.uniform(0.01, 0.3, 50)
    p = np.array([1.7, 0.93, 1.2])
    _, g = _kernels.kappa_loss_grad_np(p, data, 5)
    h = 1e-6
    fd = [(_kernels.kappa_loss_grad_np(p + h * e, data, 5)[0] - _kernels.kappa_loss_grad_np(p - h * e, data, 5)[0])
          / (2 * h) for e in np.eye(3)]
    assert np.allclose(g, fd, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("func, kwargs, param", [
    (polar_express_coefficients, dict(l=0.0), "l"),
    (polar_express_coefficients, dict(l=0.5, u=0.1), "u"),
    (polar_express_coefficients, dict(steps=0), "steps"),
    (polar_express_coefficients, dict(safety=0.9), "safety"),
    (polar_express_coefficients, dict(cushion=1.5), "cushion"),
    (polar_express_coefficients, dict(degree=7), "degree"),
    (optimal_odd_polynomial, dict(l=0.1, u=1.0, degree=4), "degree"),
    (optimal_odd_polynomial, dict(l=-0.1, u=1.0), "l"),
    (cubic_equioscillation, dict(l=0.0, u=1.0), "l"),
    (cubic_equioscillation, dict(l=0.5, u=np.nan), "u"),
    (fit_coefficients, dict(method="adam"), "method"),
    (fit_coefficients, dict(method="minmax", steps=0), "steps"),
    (fit_coefficients, dict(method="minmax", k=0), "k"),
    (fit_coefficients, dict(method="minmax", shape=(4, 4)), "shape"),
    (fit_coefficients, dict(method="kappa", k=50), "k"),
    (fit_coefficients, dict(method="kappa", shape=(4,)), "shape"),
    (fit_coefficients, dict(method="kappa", n_matrices=0), "n_matrices"),
    (fit_coefficients, dict(method="kappa", lr=-1.0), "lr"),
    (fit_coefficients, dict(method="minmax", dtype="float16"), "dtype"),
])
def test_bad_input(func, kwargs, param):
    with pytest.raises(ValueError, match=f"'{param}'"):
        func(**kwargs)
