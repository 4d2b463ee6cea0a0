"""refimpl.scaling.batch: closed forms for the optimal learning rate vs batch size (kexue.fm/archives/10542)."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, special

from refimpl.scaling import (
    b_noise, b_simple, fit_steps_examples, loss_decrease_sgd, loss_decrease_sign, optimal_lr_sgd,
    optimal_lr_sign, sign_moments, steps_examples_tradeoff, surge,
)

EPS = np.finfo(np.float64).eps


def random_problem(seed, n, *, dense_sigma=True):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n))
    H = A @ A.T / n + 0.3 * np.eye(n)
    C = rng.standard_normal((n, n))
    S = C @ C.T / n if dense_sigma else rng.uniform(0.1, 2.0, n)
    g = rng.standard_normal(n)
    return g, H, S


# ------------------------------------------------------------------------- SGD

def test_small_example_by_hand():
    g, H, S = [1.0, 2.0], [[2.0, 0.0], [0.0, 1.0]], [[1.0, 0.5], [0.5, 3.0]]
    # g^T g = 5, g^T H g = 2 + 4 = 6, Tr(S H) = 2 + 3 = 5
    assert b_noise(g, H, S) == pytest.approx(5 / 6, rel=4 * EPS)
    assert b_simple(g, S) == pytest.approx(4 / 5, rel=4 * EPS)
    assert optimal_lr_sgd(g, H, S, 10) == pytest.approx(5 / (6 + 0.5), rel=4 * EPS)
    assert loss_decrease_sgd(g, H, S, 10) == pytest.approx(25 / (2 * 6.5), rel=4 * EPS)


@settings(max_examples=60)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 12), B=st.floats(1.0, 1e6))
def test_sgd_closed_forms_are_the_minimiser_of_the_expected_quadratic(seed, n, B):
    g, H, S = random_problem(seed, n)
    # E L(theta - eta g_B) - L = -eta g.g + eta^2/2 E[g_B^T H g_B], E[g_B g_B^T] = g g^T + S/B
    second = np.outer(g, g) + S / B
    phi = lambda eta: -eta * (g @ g) + 0.5 * eta**2 * np.trace(second @ H)  # noqa: E731
    eta = optimal_lr_sgd(g, H, S, B)
    res = optimize.minimize_scalar(phi, bracket=(0.0, 2 * eta), tol=1e-12)
    assert eta == pytest.approx(res.x, rel=1e-6)
    assert loss_decrease_sgd(g, H, S, B) == pytest.approx(-phi(eta), rel=1e-12)
    # the article's two forms agree: eta_max / (1 + B_noise / B)
    eta_max = (g @ g) / (g @ H @ g)
    assert eta == pytest.approx(eta_max / (1 + b_noise(g, H, S) / B), rel=1e-12)
    # Delta L = eta* g.g / 2 at the optimum
    assert loss_decrease_sgd(g, H, S, B) == pytest.approx(0.5 * eta * (g @ g), rel=1e-12)


def test_sgd_lr_linear_then_saturating():
    g, H, S = random_problem(3, 6)
    bn = b_noise(g, H, S)
    eta_max = (g @ g) / (g @ H @ g)
    B = np.geomspace(1, 1e9, 50)
    eta = optimal_lr_sgd(g, H, S, B)
    assert np.all(np.diff(eta) > 0)
    assert eta[-1] == pytest.approx(eta_max, rel=1e-8)
    small = np.array([1e-3, 1e-2]) * bn
    small = small[small >= 1]
    if small.size:  # B << B_noise: eta ~ eta_max B / B_noise (relative error B / B_noise)
        np.testing.assert_allclose(optimal_lr_sgd(g, H, S, small), eta_max * small / bn, rtol=1.1e-2)


@settings(max_examples=50)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 10), c=st.floats(1e-3, 1e3))
def test_b_simple_equals_b_noise_when_H_is_a_multiple_of_identity(seed, n, c):
    g, _, S = random_problem(seed, n)
    assert b_noise(g, c * np.eye(n), S) == pytest.approx(b_simple(g, S), rel=8 * n * EPS)


def test_b_simple_differs_from_b_noise_for_general_H():
    g, H, S = random_problem(5, 6)
    assert abs(b_noise(g, H, S) / b_simple(g, S) - 1) > 1e-3


def test_vector_sigma_and_h_mean_diagonal_matrices():
    g, _, _ = random_problem(0, 5)
    v = np.array([0.5, 1.0, 2.0, 0.1, 3.0])
    h = np.array([1.0, 2.0, 0.5, 4.0, 1.5])
    assert optimal_lr_sgd(g, h, v, 7) == optimal_lr_sgd(g, np.diag(h), np.diag(v), 7)


# ------------------------------------------------------------------------- S-E trade-off

@given(S_min=st.floats(1e-2, 1e6), E_min=st.floats(1e-2, 1e8), B=st.floats(1.0, 1e7))
def test_steps_examples_hyperbola(S_min, E_min, B):
    S, E = steps_examples_tradeoff(S_min, E_min, B)
    assert E == pytest.approx(B * S, rel=2 * EPS)
    x, y = S / S_min, E / E_min
    # forming x - 1 and y - 1 cancels: relative error about eps x/(x-1) + eps y/(y-1)
    tol = 4 * EPS * (x / (x - 1) + y / (y - 1))
    assert (x - 1) * (y - 1) == pytest.approx(1.0, rel=tol)


def test_fit_recovers_the_hyperbola_exactly_and_rejects_non_hyperbolas():
    S, E = steps_examples_tradeoff(123.0, 4567.0, np.geomspace(1, 4096, 9))
    fit = fit_steps_examples(S, E)
    assert fit.S_min == pytest.approx(123.0, rel=1e-12)
    assert fit.E_min == pytest.approx(4567.0, rel=1e-12)
    assert fit.b_noise == pytest.approx(4567.0 / 123.0, rel=1e-12)
    assert fit.residual_rms < 1e-9
    with pytest.raises(ValueError, match="'steps'"):
        fit_steps_examples([10.0, 20.0], [10.0, 200.0])  # more steps at larger batch


# ------------------------------------------------------------------------- sign moments

def test_erf_approximation_error_bound_and_slope():
    x = np.linspace(0, 20, 400001)
    approx = x / np.sqrt(x * x + np.pi / 4)
    err = np.abs(special.erf(x) - approx)
    assert 0.1078 < err.max() <= 0.108
    h = 1e-6  # slope at 0: 1/sqrt(pi/4) = 2/sqrt(pi) = erf'(0)
    assert (h / math.sqrt(h * h + math.pi / 4)) / h == pytest.approx(2 / math.sqrt(math.pi), rel=1e-10)


@pytest.mark.parametrize("B", [1.0, 3.0, 64.0, 1e6])
def test_sign_moments_exact_and_approximate(B):
    g = np.array([0.3, -1.0, 0.0, 2.0, 0.5])
    s = np.array([1.0, 2.0, 1.5, 0.0, 0.25])
    ex = sign_moments(g, s, B)
    ap = sign_moments(g, s, B, exact=False)
    x = np.array([0.3 / 1.0, -1.0 / 2.0, 0.0]) * math.sqrt(B / 2)
    np.testing.assert_allclose(ex.mean[:3], special.erf(x), rtol=4 * EPS, atol=0)
    np.testing.assert_allclose(ap.mean[:3], x / np.sqrt(x * x + np.pi / 4), rtol=8 * EPS, atol=0)
    assert ex.mean[3] == ap.mean[3] == 1.0  # sigma = 0: deterministic sign
    assert np.all(np.abs(ex.mean - ap.mean) <= 0.108)
    for m in (ex, ap):
        np.testing.assert_array_equal(np.diag(m.second), 1.0)
        off = ~np.eye(5, dtype=bool)
        np.testing.assert_allclose(m.second[off], np.outer(m.mean, m.mean)[off], rtol=0, atol=0)


def test_sign_moments_zero_gradient_and_zero_noise_is_zero():
    m = sign_moments([0.0, 1.0], [0.0, 1.0], 4)
    assert m.mean[0] == 0.0 and m.second[0, 0] == 0.0 and m.second[1, 1] == 1.0


# ------------------------------------------------------------------------- sign optimal LR

def test_sign_lr_without_noise_is_the_exact_line_search_along_sign_g():
    g, H, _ = random_problem(7, 6)
    s = np.sign(g)
    eta = optimal_lr_sign(g, np.zeros(6), H, [1, 1000])
    np.testing.assert_allclose(eta, np.abs(g).sum() / (s @ H @ s), rtol=1e-14)


def test_sign_lr_large_batch_limit_is_the_article_formula():
    g, H, _ = random_problem(8, 6)
    sig = np.full(6, 0.3)
    D = np.trace(H)
    O = np.sign(g) @ H @ np.sign(g) - D
    assert optimal_lr_sign(g, sig, H, 1e12) == pytest.approx(np.abs(g).sum() / (D + O), rel=1e-12)


def test_sign_lr_diagonal_case_is_the_article_formula():
    rng = np.random.default_rng(9)
    g = rng.standard_normal(7)
    sig = rng.uniform(0.2, 3, 7)
    h = rng.uniform(0.5, 2, 7)
    B = np.array([1.0, 4.0, 32.0, 1024.0])
    want = np.array([np.sum(g**2 / sig / np.sqrt(np.pi / (2 * b) + (g / sig) ** 2)) / h.sum() for b in B])
    got = optimal_lr_sign(g, sig, h, B, exact=False)
    np.testing.assert_allclose(got, want, rtol=1e-13)
    assert np.all(np.diff(got) > 0)  # monotone, bounded by sum|g| / sum H_ii
    assert got[-1] < np.abs(g).sum() / h.sum()
    exact = optimal_lr_sign(g, sig, h, B)
    assert np.all(np.diff(exact) > 0)


@settings(max_examples=40)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 8), kappa=st.floats(0.05, 50.0),
       B=st.floats(1.0, 1e5))
def test_mean_field_curve_equals_the_approximate_formula_when_all_ratios_equal_kappa(seed, n, kappa, B):
    g, H, _ = random_problem(seed, n)
    sig = kappa * np.abs(g)  # (sigma_i / g_i)^2 = kappa^2 for every i: the mean field is exact
    s = surge(g, H, kappa)
    assert s.eta(B) == pytest.approx(optimal_lr_sign(g, sig, H, B, exact=False), rel=1e-11)
    assert s.delta_loss(B) == pytest.approx(loss_decrease_sign(g, sig, H, B, exact=False), rel=1e-11)


def test_loss_decrease_sign_is_half_eta_times_mu_dot_g():
    g, H, _ = random_problem(10, 5)
    sig = np.full(5, 0.7)
    for B in (1.0, 10.0):
        mu = sign_moments(g, sig, B).mean
        assert loss_decrease_sign(g, sig, H, B) == pytest.approx(0.5 * optimal_lr_sign(g, sig, H, B) * (mu @ g),
                                                                  rel=1e-13)


# ------------------------------------------------------------------------- surge

def homogeneous(n, h, c, g=0.5):
    return np.full(n, g), (h - c) * np.eye(n) + c * np.ones((n, n))


@pytest.mark.parametrize("n,h,c,kappa", [(5, 1.0, 0.5, 2.0), (16, 1.0, 0.2, 4.0), (8, 2.0, 1.5, 3.0)])
def test_surge_identities(n, h, c, kappa):
    g, H = homogeneous(n, h, c)
    s = surge(g, H, kappa)
    assert s.has_surge
    D, O = n * h, n * (n - 1) * c
    assert s.beta_noise == pytest.approx(math.sqrt(D / O), rel=4 * EPS)
    assert s.eta_max == pytest.approx(np.abs(g).sum() / (2 * math.sqrt(D * O)), rel=4 * EPS)
    # peak at B_noise with value eta_max; beta(B_noise) = beta_noise
    assert s.beta(s.b_noise) == pytest.approx(s.beta_noise, rel=1e-14)
    assert s.eta(s.b_noise) == pytest.approx(s.eta_max, rel=1e-14)
    for f in (0.9, 1.1):
        assert s.eta(f * s.b_noise) < s.eta_max
    # the article's symmetric form eta_max / (0.5 (bn/b + b/bn))
    B = np.geomspace(1, 1e6, 30)
    b = s.beta(B)
    np.testing.assert_allclose(s.eta(B), s.eta_max / (0.5 * (s.beta_noise / b + b / s.beta_noise)), rtol=1e-13)
    # Delta L form and the B_noise / B_noise-2 relation
    np.testing.assert_allclose(s.delta_loss(B), s.delta_loss_max / (1 + s.b_noise_2 / B), rtol=1e-13)
    assert 1 / s.b_noise_2 - 1 / s.b_noise == pytest.approx(4 / (math.pi * kappa**2), rel=1e-13)
    bn2 = s.beta_noise**2
    assert s.b_noise_2 == pytest.approx(math.pi * kappa**2 * bn2 / (2 * (1 + bn2)), rel=1e-14)
    assert s.delta_loss_max == pytest.approx(s.beta_noise * s.eta_max * s.abs_g_sum / (1 + bn2), rel=1e-14)
    assert s.eta(1e15) == pytest.approx(s.eta_inf, rel=1e-12)
    assert s.eta_inf == pytest.approx(2 * s.eta_max * s.beta_noise / (1 + bn2), rel=1e-14)


@pytest.mark.parametrize("H_kind", ["weak_coupling", "diagonal", "negative_coupling"])
def test_no_surge_when_beta_noise_at_least_one(H_kind):
    n = 6
    if H_kind == "weak_coupling":
        g, H = homogeneous(n, 1.0, 0.1)      # D/O = 6/3 = 2
    elif H_kind == "diagonal":
        g, H = np.full(n, 0.5), np.linspace(0.5, 2, n)
    else:
        g, H = homogeneous(n, 1.0, -0.1)
    s = surge(g, H, 1.5)
    assert not s.has_surge and s.b_noise == math.inf and s.beta_noise >= 1
    B = np.geomspace(1, 1e8, 200)
    assert np.all(np.diff(s.eta(B)) > 0)
    assert s.eta(1e15) == pytest.approx(s.eta_inf, rel=1e-12)
    assert s.eta(B) @ np.ones(B.size) > 0
    np.testing.assert_allclose(s.delta_loss(B), s.delta_loss_max / (1 + s.b_noise_2 / B), rtol=1e-13)


def test_exact_erf_curve_peaks_slightly_below_mean_field_b_noise():
    n, kappa = 16, 4.0
    g, H = homogeneous(n, 1.0, 0.2)
    s = surge(g, H, kappa)
    sig = kappa * g
    B = np.geomspace(s.b_noise / 8, s.b_noise * 8, 2001)
    peak_exact = B[np.argmax(optimal_lr_sign(g, sig, H, B))]
    peak_mf = B[np.argmax(s.eta(B))]
    assert peak_mf == pytest.approx(s.b_noise, rel=2e-3)            # grid resolution
    assert 0.5 * s.b_noise < peak_exact < s.b_noise
    # in closed form: erf(x) = beta_noise vs x / sqrt(x^2 + pi/4) = beta_noise, x = sqrt(B/2)/kappa
    x_exact = special.erfinv(s.beta_noise)
    assert peak_exact == pytest.approx(2 * (kappa * x_exact) ** 2, rel=3e-3)


# ------------------------------------------------------------------------- bad input

GOOD = dict(g=[1.0, 2.0], H=[[2.0, 0.5], [0.5, 1.0]], Sigma=[1.0, 1.0])


@pytest.mark.parametrize("call,param", [
    (lambda: optimal_lr_sgd(**GOOD, B=0.5), "'B'"),
    (lambda: optimal_lr_sgd(**GOOD, B=[4, 0]), "'B'"),
    (lambda: optimal_lr_sgd([1.0, 2.0], [[1.0, 2.0], [2.0, 1.0]], [1.0, 1.0], 4), "'H'"),   # indefinite
    (lambda: optimal_lr_sgd([1.0, 2.0], [[1.0, 0.3], [0.2, 1.0]], [1.0, 1.0], 4), "'H'"),   # asymmetric
    (lambda: b_noise([1.0, 2.0], [1.0, -1.0], [1.0, 1.0]), "'H'"),
    (lambda: b_noise([1.0, 2.0], [1.0, 1.0], [1.0, -1.0]), "'Sigma'"),
    (lambda: b_noise([1.0, 2.0], [1.0, 1.0], [[1.0, 2.0], [2.0, 1.0]]), "'Sigma'"),           # not PSD
    (lambda: b_noise([0.0, 0.0], [1.0, 1.0], [1.0, 1.0]), "'g'"),
    (lambda: b_noise([1.0, 2.0, 3.0], [1.0, 1.0], [1.0, 1.0]), "'H'"),
    (lambda: b_simple([1.0, np.nan], [1.0, 1.0]), "'g'"),
    (lambda: loss_decrease_sgd(**GOOD, B=-3), "'B'"),
    (lambda: steps_examples_tradeoff(0.0, 10.0, 4), "'S_min'"),
    (lambda: steps_examples_tradeoff(10.0, -1.0, 4), "'E_min'"),
    (lambda: steps_examples_tradeoff(10.0, 10.0, 0.5), "'B'"),
    (lambda: sign_moments([1.0], [-1.0], 4), "'sigma'"),
    (lambda: sign_moments([1.0], [1.0], 0), "'B'"),
    (lambda: sign_moments([1.0], [1.0], [4, 8]), "'B'"),
    (lambda: optimal_lr_sign([1.0, 1.0], [1.0, 1.0], [[1.0, 2.0], [2.0, 1.0]], 4), "'H'"),
    (lambda: optimal_lr_sign([1.0, 1.0], [1.0, -1.0], [1.0, 1.0], 4), "'sigma'"),
    (lambda: optimal_lr_sign([1.0, 1.0], [1.0, 1.0], [1.0, 1.0], 0.9), "'B'"),
    (lambda: surge([1.0, 1.0], [1.0, 1.0], 0.0), "'kappa'"),
    (lambda: surge([1.0, 1.0], [[1.0, 2.0], [2.0, 1.0]], 1.0), "'H'"),
    (lambda: surge([1.0, 1.0], [1.0, 1.0], 1.0).eta(0.5), "'B'"),
    (lambda: fit_steps_examples([1.0, 2.0], [1.0]), "'steps'"),
    (lambda: fit_steps_examples([10.0, 20.0], [10.0, 20.0]), "'steps'"),
])
def test_bad_input_names_the_parameter(call, param):
    with pytest.raises(ValueError, match=param):
        call()


def test_exact_must_be_bool():
    with pytest.raises(TypeError, match="'exact'"):
        sign_moments([1.0], [1.0], 4, exact="yes")


def test_small_batch_square_root_law_uses_sum_abs_g():
    """Erratum (10542): the leading small-B term has sum|g_i|, not sum sigma_i, in the numerator."""
    rng = np.random.default_rng(21)
    g = rng.standard_normal(6)
    h = rng.uniform(0.5, 2.0, 6)
    kappa = 40.0
    s = surge(g, h, kappa)
    B = np.array([1.0, 2.0, 4.0])          # B << pi kappa^2 / 2 = 2513
    exact_diag = optimal_lr_sign(g, kappa * np.abs(g), h, B, exact=False)
    np.testing.assert_allclose(s.eta_small_batch(B), exact_diag, rtol=2 * B.max() / (np.pi * kappa**2) + 1e-12)
    article = np.sum(kappa * np.abs(g)) / (kappa * h.sum()) * np.sqrt(2 * B / np.pi)   # sum sigma_i numerator
    assert np.all(np.abs(article / exact_diag - 1) > 10)


@settings(max_examples=60)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 20), B1=st.floats(1.0, 1e4), f=st.floats(1.0, 100.0))
def test_sign_mean_properties(seed, n, B1, f):
    """|E u_i| grows with B toward 1 with the sign of g_i; the approximation stays within 0.108 of erf."""
    rng = np.random.default_rng(seed)
    g = rng.standard_normal(n)
    s = rng.uniform(0.01, 10.0, n)
    for exact in (True, False):
        m1 = sign_moments(g, s, B1, exact=exact).mean
        m2 = sign_moments(g, s, B1 * f, exact=exact).mean
        assert np.all(np.abs(m1) <= 1) and np.all(np.sign(m1) == np.sign(g))
        assert np.all(np.abs(m2) >= np.abs(m1) - 4 * EPS)
    assert np.all(np.abs(sign_moments(g, s, B1).mean - sign_moments(g, s, B1, exact=False).mean) <= 0.108)


# ------------------------------------------------------------------------- extreme magnitudes

I2 = np.eye(2)
HC = np.eye(2) + 0.5                      # a coupled Hessian: O > 0


@pytest.mark.parametrize("call,param", [
    (lambda: b_noise([1e-170] * 2, I2, [1, 1]), "'g'"),                   # B_noise ~ 1e340
    (lambda: b_simple([1e-170] * 2, [1, 1]), "'g'"),
    (lambda: loss_decrease_sgd([1e300] * 2, I2, [1, 1], 2), "'g'"),       # ~ |g|^2 = 1e600
    (lambda: loss_decrease_sign([1e300] * 2, [1, 1], I2, 2), "'g'"),
    (lambda: steps_examples_tradeoff(1e300, 1e300, 1e300), "'B'"),        # E = B S ~ 1e600
    (lambda: surge([1, 1], HC, 1e300), "'kappa'"),                       # pi kappa^2 / 2 ~ 1e600
    (lambda: surge([1e300, 1e300], HC, 1.0), "'g'"),
    (lambda: surge([1, 1], HC, 1e-308).eta_small_batch(1e10), "'B'"),
])
def test_results_beyond_float64_raise_naming_the_parameter(call, param):
    with pytest.raises(ValueError, match=param):
        call()


@pytest.mark.parametrize("scale", [1e-300, 1e-150, 1e150, 1e300])
def test_closed_forms_are_exactly_homogeneous_at_extreme_scales(scale):
    """Scaling H by c divides every learning rate by c; scaling g and Sigma (SGD: Sigma by c^2) leaves
    B_noise and eta unchanged. Checked at c = 1e+-300, where a direct evaluation divides by an underflowed
    0 or overflows (the inputs are scaled by exact powers of two inside)."""
    g, H, S = random_problem(40, 4)
    B = np.array([1.0, 16.0])
    want = optimal_lr_sgd(g, H, S, B)
    np.testing.assert_allclose(optimal_lr_sgd(g, H * scale, S, B) * scale, want, rtol=1e-14, atol=0)
    np.testing.assert_allclose(b_noise(g * math.sqrt(scale), H, S * scale), b_noise(g, H, S), rtol=1e-14, atol=0)
    sig = np.sqrt(np.diag(S))
    want_sign = optimal_lr_sign(g, sig, H, B)
    np.testing.assert_allclose(optimal_lr_sign(g, sig, H * scale, B) * scale, want_sign, rtol=1e-14, atol=0)
    # g and sigma together by c: mu is unchanged, eta scales by c
    np.testing.assert_allclose(optimal_lr_sign(g * scale, sig * scale, H, B) / scale, want_sign, rtol=1e-14, atol=0)
    s0, s1 = surge(g, H, 2.0), surge(g, H * scale, 2.0)
    assert s1.beta_noise == pytest.approx(s0.beta_noise, rel=1e-14)
    assert s1.eta_inf * scale == pytest.approx(s0.eta_inf, rel=1e-14)
    assert float(s1.eta(8.0)) * scale == pytest.approx(float(s0.eta(8.0)), rel=1e-14)


def test_results_below_the_float64_range_round_to_zero():
    """eta* = g'g / (g'Hg + Tr(Sigma H)/B) ~ 2e-340 for g = 1e-170: the correctly rounded value is 0."""
    assert optimal_lr_sgd([1e-170] * 2, I2, [1, 1], 2) == 0.0
    assert loss_decrease_sgd([1e-170] * 2, I2, [1, 1], 2) == 0.0


def test_approximate_sign_moments_at_extreme_ratios():
    """x / sqrt(x^2 + pi/4) without forming x^2: g/sigma = 1e300 gives 1, 1e-300 gives 1e-300 / sqrt(pi/4)."""
    m = sign_moments([1e300, 1e-300, -1.0], [1.0, 1.0, 1e-300], 2.0, exact=False).mean
    assert m[0] == 1.0 and m[2] == -1.0
    assert m[1] == pytest.approx(1e-300 / math.sqrt(math.pi / 4), rel=1e-15)


@pytest.mark.parametrize("exact", ["yes", 1, 0, None])
def test_exact_flag_is_a_bool_everywhere(exact):
    for call in (lambda: sign_moments([1.0], [1.0], 4, exact=exact),
                 lambda: optimal_lr_sign([1.0], [1.0], [1.0], 4, exact=exact),
                 lambda: loss_decrease_sign([1.0], [1.0], [1.0], 4, exact=exact)):
        with pytest.raises(TypeError, match="'exact'"):
            call()


@pytest.mark.parametrize("call,param", [
    (lambda: optimal_lr_sgd([1.0, 2.0], np.eye(2), [1.0, 1.0], True), "'B'"),
    (lambda: b_noise([True, 2.0], np.eye(2), [1.0, 1.0]), "'g'"),
    (lambda: b_simple([1.0, 2.0], np.array([True, True])), "'Sigma'"),
    (lambda: sign_moments([1.0], [1.0], False), "'B'"),
    (lambda: surge([1.0, 1.0], [1.0, 1.0], True), "'kappa'"),
    (lambda: surge([1.0, 1.0], [1.0, 1.0], 1.0).eta(True), "'B'"),
    (lambda: steps_examples_tradeoff(True, 10.0, 4), "'S_min'"),
    (lambda: fit_steps_examples([True, 2.0], [1.0, 4.0]), "'steps'"),
])
def test_booleans_are_not_numbers(call, param):
    with pytest.raises(TypeError, match=param):
        call()
