"""refimpl.jl: JL dimension rules, tail bounds, projections, h_n and the Laplace constants."""
import math

import numpy as np
import pytest

from refimpl.jl import (ENTROPY_COEF_EXACT, entropy_min_dim, gaussian_projection, h_dim, h_dim_bessel,
                        inner_product_tail_bound, laplace_constants, min_dim, norm_tail_bound, pairwise_distortion)

EPS = np.finfo(np.float64).eps
H_TABLE_7695 = {32: "-7.77471", 64: "-15.4734", 96: "-23.1726", 128: "-30.8718", 256: "-61.6692", 512: "-123.264"}


@pytest.mark.parametrize("n, printed", sorted(H_TABLE_7695.items()))
def test_h_dim_reproduces_article_table(n, printed):
    assert f"{h_dim(n):.6g}" == printed


@pytest.mark.parametrize("n", [2, 3, 7, 64, 300, 1000, 4096])
def test_h_dim_quadrature_vs_bessel_closed_form(n):
    assert abs(h_dim(n) - h_dim_bessel(n)) <= 1e-10 * abs(h_dim_bessel(n))


def test_h_dim_slope_and_worked_example():
    c = laplace_constants()
    assert c["slope"] == pytest.approx(-0.5 * math.log((1 + math.sqrt(5)) / 2), rel=2 * EPS, abs=0)
    for n in (64, 128, 512, 2048):
        assert abs(h_dim(n) / n - c["slope"]) < 0.003
    # [E]: n = 64, N = 1e5 gives H = log(1e10) + h_64 = 7.55245
    assert f"{math.log(1e10) + h_dim(64):.6g}" == "7.55245"


def test_laplace_constants_match_article_digits():
    c = laplace_constants()
    assert f"{c['theta_star']:.6f}" == "0.904557"
    assert f"{c['cos_theta_star']:.6f}" == "0.618034"
    assert f"{c['peak']:.6f}" == "0.377428"
    assert f"{c['quad_coef']:.5f}" == "1.11803"
    assert f"{c['sin_const']:.5f}" == "2.50663"
    assert f"{c['slope']:.6f}" == "-0.240606"
    # erratum: the exact Gaussian constant is 1.67628..., the article prints sqrt(pi/1.11803) = 1.67629
    assert f"{c['gauss_const']:.5f}" == "1.67628"
    assert math.isclose(math.tan(c["theta_star"]) ** 2, c["phi"], rel_tol=4 * EPS)
    # numerical maximiser of log sin + cos
    th = np.linspace(0.5, 1.3, 800_001)
    f = np.log(np.sin(th)) + np.cos(th)
    assert abs(th[np.argmax(f)] - c["theta_star"]) < 2e-6


def test_min_dim_rules():
    assert min_dim(1_000_000, 0.5, "dasgupta_gupta") == 663
    assert list(min_dim(1e6, [0.5, 0.1, 0.01], "dasgupta_gupta")) == [663, 11841, 1112658]
    assert list(min_dim([1e4, 1e5, 1e6], 0.1, "dasgupta_gupta")) == [7894, 9868, 11841]
    for N, eps in ((10, 0.5), (1e4, 0.1), (1e6, 0.5)):
        for rule, c in (("su_high_prob", 24), ("su_existence", 16)):
            n = min_dim(N, eps, rule)
            assert n - 1 <= c * math.log(N) / eps**2 < n
    # spec: at N = 1e6, eps = 0.5 both of Su's constants exceed the Dasgupta-Gupta dimension
    assert min_dim(1e6, 0.5) > min_dim(1e6, 0.5, "su_existence") > min_dim(1e6, 0.5, "dasgupta_gupta")


@pytest.mark.peer
def test_min_dim_matches_sklearn_exactly():
    pytest.importorskip("sklearn")
    from sklearn.random_projection import johnson_lindenstrauss_min_dim
    for N in (2, 5, 17, 1000, 123456, 10**7):
        for eps in (0.01, 0.1, 0.25, 0.5, 0.75, 0.95):
            assert min_dim(N, eps, "dasgupta_gupta") == johnson_lindenstrauss_min_dim(N, eps=eps)


def test_entropy_min_dim_su_numbers():
    assert round(entropy_min_dim(1e5, 8)) == 92 and round(entropy_min_dim(512, 8)) == 50
    assert round(entropy_min_dim(512)) == 52 and round(entropy_min_dim(1e5)) == 96
    assert round(entropy_min_dim(5e6)) == 128
    assert ENTROPY_COEF_EXACT == pytest.approx(2 / -laplace_constants()["slope"], rel=4 * EPS, abs=0)
    assert 8.31 < ENTROPY_COEF_EXACT < 8.33


def test_tail_bounds_and_monte_carlo():
    assert norm_tail_bound(800, 0.1) == pytest.approx(2 * math.exp(-1), rel=8 * EPS, abs=0)
    assert inner_product_tail_bound(800, 0.1) == pytest.approx(4 * math.exp(-1), rel=8 * EPS, abs=0)
    assert norm_tail_bound(800, 0.5) == 2 * math.exp(-25.0)  # exact arguments
    rng = np.random.default_rng(21)
    n, eps, trials = 100, 0.4, 20000
    u = rng.standard_normal((trials, n)) / math.sqrt(n)
    v = rng.standard_normal((trials, n)) / math.sqrt(n)
    assert np.mean(np.abs(np.sum(u * u, 1) - 1) >= eps) <= norm_tail_bound(n, eps)
    assert np.mean(np.abs(np.sum(u * v, 1)) >= eps) <= inner_product_tail_bound(n, eps)


def test_gaussian_projection_and_jl_success_rate():
    A = gaussian_projection(300, 400, rng=1)
    assert A.shape == (400, 300)
    assert abs(np.var(A) * 400 - 1) < 0.02
    assert np.array_equal(gaussian_projection(5, 3, rng=7), gaussian_projection(5, 3, rng=np.random.default_rng(7)))
    rng = np.random.default_rng(2)
    N, m, eps = 12, 40, 0.5
    n = min_dim(N, eps, "su_high_prob")
    X = rng.standard_normal((N, m))
    fails = sum(bool(np.any(np.abs(pairwise_distortion(X, gaussian_projection(m, n, rng)) - 1) > eps))
                for _ in range(100))
    assert fails / 100 <= 1 / N


def test_pairwise_distortion_vs_pdist_order(rng):
    X = rng.standard_normal((6, 4))
    P = rng.standard_normal((3, 4))
    r = pairwise_distortion(X, P)
    want = [np.sum((P @ (X[i] - X[j])) ** 2) / np.sum((X[i] - X[j]) ** 2) for i in range(6) for j in range(i + 1, 6)]
    np.testing.assert_allclose(r, want, rtol=20 * EPS, atol=0)
    np.testing.assert_allclose(pairwise_distortion(X, np.eye(4)), 1.0, rtol=4 * EPS, atol=0)


@pytest.mark.parametrize("call, param", [
    (lambda: min_dim(1, 0.5), "'N'"),
    (lambda: min_dim(100, 0.0), "'eps'"),
    (lambda: min_dim(100, 1.0), "'eps'"),
    (lambda: min_dim(100, [0.5, 1.5]), "'eps'"),
    (lambda: min_dim(100, 0.5, rule="sklearn"), "'rule'"),
    (lambda: min_dim(np.nan, 0.5), "'N'"),
    (lambda: entropy_min_dim(1), "'N'"),
    (lambda: entropy_min_dim(100, 0.0), "'coef'"),
    (lambda: norm_tail_bound(100, 1.2), "'eps'"),
    (lambda: norm_tail_bound(0, 0.5), "'n'"),
    (lambda: inner_product_tail_bound(100, -0.1), "'eps'"),
    (lambda: gaussian_projection(0, 3), "'m'"),
    (lambda: gaussian_projection(3, 0), "'n'"),
    (lambda: pairwise_distortion(np.ones((1, 3)), np.ones((2, 3))), "'X'"),
    (lambda: pairwise_distortion(np.ones((3, 3)), np.ones((2, 4))), "'P'"),
    (lambda: pairwise_distortion(np.array([[1.0, 2.0], [1.0, 2.0]]), np.eye(2)), "'X'"),
    (lambda: h_dim(1), "'n'"),
    (lambda: h_dim(10, grid=2), "'grid'"),
    (lambda: h_dim_bessel(5000), "'n'"),
])
def test_bad_input(call, param):
    with pytest.raises(ValueError, match=param):
        call()


@pytest.mark.parametrize("call, param, exc", [
    (lambda: gaussian_projection(3, 2, rng=True), "'rng'", TypeError),
    (lambda: gaussian_projection(3, 2, rng=-1), "'rng'", ValueError),
    (lambda: gaussian_projection(3, 2, rng="seed"), "'rng'", TypeError),
    (lambda: gaussian_projection(2**40, 2**40), "'n' x 'm'.*bytes", ValueError),
    (lambda: gaussian_projection(True, 3), "'m'", TypeError),
    (lambda: min_dim(True, 0.5), "'N'", TypeError),
    (lambda: min_dim(100, True), "'eps'", TypeError),
    (lambda: norm_tail_bound(True, 0.5), "'n'", TypeError),
    (lambda: entropy_min_dim(100, True), "'coef'", TypeError),
    (lambda: h_dim(10, grid=2**60), "'grid'.*bytes", ValueError),
    (lambda: h_dim(True), "'n'", TypeError),
])
def test_bad_seeds_sizes_and_booleans(call, param, exc):
    with pytest.raises(exc, match=param):
        call()


def test_gaussian_projection_seeds_follow_check_rng():
    """An int seeds default_rng, a Generator is used as given (and advanced), None draws fresh entropy."""
    g = np.random.default_rng(3)
    a = gaussian_projection(4, 2, rng=g)
    b = gaussian_projection(4, 2, rng=g)
    assert not np.array_equal(a, b)
    assert np.array_equal(a, gaussian_projection(4, 2, rng=3))
    assert gaussian_projection(4, 2).shape == (2, 4)
