"""Coefficient design: Remez/equioscillation, Polar Express table, cubic closed form, Su's fits."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl.muon import (COEFFICIENTS, cubic_equioscillation, fit_coefficients, kappa_to_abc,
                          optimal_odd_polynomial, polar_express_coefficients, scalar_map)
from refimpl.muon import reference
from refimpl.muon.design import PE_CUSHION

def test_polar_express_preset_is_table_over_safety():
    C = polar_express_coefficients(steps=8, safety_mode="article")  # (a, b, c) / (1.01, 1.01^3, 1.01^5) afterwards
    assert np.max(np.abs(C - COEFFICIENTS["polar_express"]) / np.abs(C)) <= 5e-6
    raw = polar_express_coefficients(steps=8, safety=1.0)
    assert np.allclose(C * np.array([1.01, 1.01**3, 1.01**5]), raw, rtol=1e-14, atol=0)


def test_polar_express_safety_modes():
    """official (default): safety inside the loop, last row unshrunk; article: every row divided afterwards."""
    off = polar_express_coefficients()
    art = polar_express_coefficients(safety_mode="article")
    assert np.array_equal(off[0], art[0])  # the same first interval, both shrunk
    rel = np.max(np.abs(off - art) / np.abs(art), axis=1)
    assert 0.01 < rel.max() <= 0.06  # rows differ by up to ~5%
    # the official last row is the recentred optimum itself: dividing it by the safety powers gives the
    # last row of a run one step longer whose rows all carry the safety factor (same intervals)
    longer = polar_express_coefficients(steps=9)
    assert np.allclose(off[:7], longer[:7], rtol=1e-14, atol=0)
    assert np.allclose(off[7] / np.array([1.01, 1.01**3, 1.01**5]), longer[7], rtol=1e-12, atol=0)
    for s in (1.0,):
        assert np.array_equal(polar_express_coefficients(safety=s), polar_express_coefficients(safety=s,
                                                                                              safety_mode="article"))


@pytest.mark.parametrize("steps", [1, 3, 8, 12])
@pytest.mark.parametrize("mode", ["official", "article"])
def test_polar_express_cubic_accepts_its_defaults(steps, mode):
    """degree=3 used to reject its own interval from step 3 on (l_t overshot u_t = 2 - l_t by an ulp)."""
    C = polar_express_coefficients(steps=steps, degree=3, safety_mode=mode)
    assert C.shape == (steps, 3) and np.all(np.isfinite(C)) and np.all(C[:, 2] == 0)
    # the same row-0 interval as the quintic case: its first row is the recentred optimal cubic on [l, 1]
    a, b, _ = cubic_equioscillation(PE_CUSHION, 1.0)
    g = 2.0 / ((a * 1e-3 + b * 1e-9) + (a + b))
    shrink = np.array([1.01, 1.01**3]) if (mode == "article" or steps > 1) else np.ones(2)
    assert np.allclose(C[0, :2], np.array([a, b]) * g / shrink, rtol=1e-12, atol=0)


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
    assert E == 0.0 and np.allclose(coef, [15 / 8 / 2, -5 / 4 / 8, 3 / 8 / 32], rtol=1e-15, atol=0)
    coef3, _ = optimal_odd_polynomial(1.0, 1.0, 3)
    assert np.allclose(coef3, [1.5, -0.5], rtol=1e-15, atol=0)


@pytest.mark.parametrize("scale", [1e-50, 1e-30, 1e30, 1e55])
def test_optimal_polynomial_is_scale_equivariant(scale):
    """p for [c l, c u] is p(x / c): the exchange runs on [l/u, 1], so large or tiny intervals lose nothing."""
    coef, E = optimal_odd_polynomial(1e-3, 1.0)
    coef_c, E_c = optimal_odd_polynomial(1e-3 * scale, scale)
    assert E_c == E
    assert np.allclose(coef_c * scale ** np.array([1, 3, 5]), coef, rtol=1e-13, atol=0)


def test_interval_whose_coefficients_overflow_raises():
    for func in (optimal_odd_polynomial, polar_express_coefficients):
        with pytest.raises(ValueError, match="'u'.*over/underflow"):
            func(1e-3, 1e300)
    with pytest.raises(ValueError, match="'l'"):
        optimal_odd_polynomial(1e-300, 1e-299)


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
def test_kappa_fit_reproduces_10592_row():
    """2048 x 1024, T = 5: the article prints kappa, x1, x2 = 1.476, 0.983, 1.074 and mse 0.00038."""
    r = fit_coefficients("kappa", 5, shape=(2048, 1024), n_matrices=1, n_points=1024)
    kappa, x1, x2 = r.parameters
    assert abs(kappa - 1.476) <= 3e-3 and abs(x1 - 0.983) <= 2e-3 and abs(x2 - 1.074) <= 2e-3
    assert abs(r.loss - 0.00038) <= 5e-5
    assert np.allclose(r.coefficients, [2.644, -3.128, 1.476], rtol=0, atol=6e-3)


def test_kappa_gradient_matches_finite_differences(rng):
    """The reference gradient (chain rule through (a, b, c)) against central differences of its loss."""
    data = rng.uniform(0.01, 0.3, 50)
    p = np.array([1.7, 0.93, 1.2])
    _, g = reference.kappa_loss_grad(p, data, 5)
    h = 1e-6
    fd = [(reference.kappa_loss_grad(p + h * e, data, 5)[0] - reference.kappa_loss_grad(p - h * e, data, 5)[0])
          / (2 * h) for e in np.eye(3)]
    assert np.allclose(g, fd, rtol=1e-6, atol=1e-9)


def test_kappa_fit_numba_path_agrees_with_reference():
    """The fused numba SGD (gradient directly in kappa, x1, x2) vs the reference loop, a few hundred steps."""
    pytest.importorskip("numba")
    for steps, shape in ((1, (8, 5)), (5, (24, 24))):
        kw = dict(iterations=300, shape=shape, n_matrices=1, rng=3)
        ref = fit_coefficients("kappa", steps, backend="reference", **kw)
        fast = fit_coefficients("kappa", steps, backend="numba", **kw)
        assert np.allclose(fast.coefficients, ref.coefficients, rtol=1e-9, atol=0)
        assert abs(fast.loss - ref.loss) <= 1e-9 * ref.loss


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
    (fit_coefficients, dict(method="minmax", shared="no"), "shared"),
    (fit_coefficients, dict(method="minmax", backend="numba"), "backend"),
    (fit_coefficients, dict(method="kappa", rng=-1), "rng"),
    (fit_coefficients, dict(method="kappa", shape=(2**40, 2**40)), "shape"),
    (fit_coefficients, dict(method="minmax", n_grid=2**62), "n_grid"),
    (polar_express_coefficients, dict(safety_mode="paper"), "safety_mode"),
    (optimal_odd_polynomial, dict(l=1e-3, u=1.0, tol=np.inf), "tol"),
    (optimal_odd_polynomial, dict(l=1e-3, u=1.0, max_iter=0), "max_iter"),
    (kappa_to_abc, dict(kappa=np.nan, x1=0.9, x2=1.2), "kappa"),
    (kappa_to_abc, dict(kappa="1.7", x1=0.9, x2=1.2), "kappa"),
    (kappa_to_abc, dict(kappa=1.0, x1=True, x2=1.2), "x1"),
    (kappa_to_abc, dict(kappa=1e300, x1=1e300, x2=1.0), "kappa"),
])
def test_bad_input(func, kwargs, param):
    with pytest.raises(ValueError, match=f"'{param}'"):
        func(**kwargs)
