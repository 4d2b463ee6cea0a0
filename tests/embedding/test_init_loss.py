"""refimpl.embedding: initial loss with tied output embeddings (kexue.fm/archives/9698).

Statistical comparisons use Z = 4.42 standard errors of the simulated mean
(two-sided 1e-5 level; ~40 comparisons, seeded so deterministic).
"""
import math

import numpy as np
import pytest
from scipy import special

from refimpl.embedding import (
    VARIANTS, expected_init_loss, init_std_for_uniform_loss, simulate_init_loss, tied_init_loss,
)

Z = 4.4172
EPS = np.finfo(np.float64).eps
CONFIGS = [(3000, 128), (800, 32)]


def _sigmas(n, d):
    return {"1/sqrt(d)": d ** -0.5, "0.02": 0.02, "log(n)/d": math.log(n) / d}


def test_tied_formula_values():
    assert tied_init_loss(30522, 768, 768 ** -0.5) == pytest.approx(math.log(math.exp(math.sqrt(768)) + 30521),
                                                                     rel=4 * EPS)
    assert tied_init_loss(10, 4, 0.5) == pytest.approx(math.log(math.e ** 2 + 9), rel=4 * EPS)
    assert tied_init_loss(1, 4, 0.5) == 2.0
    # no overflow where e^{d sigma} is far beyond float range: the loss is d sigma
    assert tied_init_loss(50000, 10**6, 1.0) == 1e6


@pytest.mark.parametrize("n,d", [(30522, 768), (5000, 256), (2, 1)])
def test_init_std_for_uniform_loss_makes_e_d_sigma_equal_n(n, d):
    sigma = init_std_for_uniform_loss(n, d)
    assert math.exp(d * sigma) == pytest.approx(n, rel=8 * EPS * max(1.0, math.log(n)))
    assert tied_init_loss(n, d, sigma) == pytest.approx(math.log(2 * n - 1), rel=1e-14)


@pytest.mark.parametrize("n,d", CONFIGS)
@pytest.mark.parametrize("sigma_name", ["1/sqrt(d)", "0.02", "log(n)/d"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_simulation_matches_the_large_n_expectation(n, d, sigma_name, variant):
    sigma = _sigmas(n, d)[sigma_name]
    sim = simulate_init_loss(n, d, sigma, variant, rng=hash((n, d, sigma_name, variant)) % 2**32, n_pairs=400)
    want = expected_init_loss(n, d, sigma, variant)
    # the expectation's own approximation error (law of large numbers) is ~ (e^{s^2} - 1) / (2n)
    model = (math.exp(d * sigma**2) - 1) / (2 * n)
    assert abs(sim.mean - want) <= Z * sim.stderr + model, (sim.mean, sim.stderr, want)


@pytest.mark.parametrize("n,d", CONFIGS)
@pytest.mark.parametrize("sigma_name", ["1/sqrt(d)", "0.02", "log(n)/d"])
def test_su_formula_against_simulation_within_its_stated_approximation(n, d, sigma_name):
    """log(e^{d sigma} + n - 1) neglects E e^{x_k} = e^{s^2/2} (<= s^2/2 nats) and |w_i| ~ sqrt(d) sigma."""
    sigma = _sigmas(n, d)[sigma_name]
    sim = simulate_init_loss(n, d, sigma, "tied", rng=5, n_pairs=400)
    s2 = d * sigma**2
    e_chi = math.sqrt(2) * math.exp(special.gammaln((d + 1) / 2) - special.gammaln(d / 2))  # E chi_d
    bound = s2 / 2 + abs(math.sqrt(d) * sigma * e_chi - d * sigma)
    assert abs(sim.mean - tied_init_loss(n, d, sigma)) <= Z * sim.stderr + bound


def test_each_variant_is_where_the_article_says():
    n, d = 3000, 128   # large enough that sqrt(d) = 11.3 exceeds log n = 8.0 (the article's regime)
    sigma = d ** -0.5  # the common 1/sqrt(d) initialisation: s^2 = d sigma^2 = 1
    log_n = math.log(n)
    res = {v: simulate_init_loss(n, d, sigma, v, rng=11, n_pairs=400) for v in VARIANTS}
    # tied: about d sigma = sqrt(d), far above the uniform log n
    assert res["tied"].mean > log_n + 0.5 * (math.sqrt(d) - log_n)
    assert abs(res["tied"].mean - math.sqrt(d)) < 1.0 + Z * res["tied"].stderr
    # the three fixes: near log n, above it by s^2 / 2 = 0.5 (the variance of the cross scores)
    for v in ("untied", "projection", "shuffle"):
        assert abs(res[v].mean - (log_n + 0.5)) <= Z * res[v].stderr + 0.05, (v, res[v].mean, log_n)
    # fix (1): sigma = log(n)/d brings the tied loss down to about log(2n - 1)
    small = simulate_init_loss(n, d, init_std_for_uniform_loss(n, d), "tied", rng=12, n_pairs=400)
    s2 = d * init_std_for_uniform_loss(n, d) ** 2
    assert abs(small.mean - math.log(2 * n - 1)) <= Z * small.stderr + s2 / 2 + 0.05


def test_embedding_moments_by_simulation():
    """E|w|^2 = d sigma^2, Var|w|^2 = 2 d sigma^4, E(w.v)^2 = d sigma^4 (Gaussian), within 4.42 s.e."""
    rng = np.random.default_rng(13)
    d, sigma, m = 64, 0.3, 200_000
    w = rng.standard_normal((m, d)) * sigma
    v = rng.standard_normal((m, d)) * sigma
    q = np.sum(w * w, axis=1)
    dot2 = np.sum(w * v, axis=1) ** 2
    assert abs(q.mean() - d * sigma**2) <= Z * q.std() / math.sqrt(m)
    var_se = math.sqrt((np.mean((q - q.mean()) ** 4) - q.var() ** 2) / m)
    assert abs(q.var() - 2 * d * sigma**4) <= Z * var_se
    assert abs(dot2.mean() - d * sigma**4) <= Z * dot2.std() / math.sqrt(m)


def test_simulation_is_reproducible_and_losses_are_consistent():
    a = simulate_init_loss(500, 16, 0.25, "shuffle", rng=3, n_pairs=100)
    b = simulate_init_loss(500, 16, 0.25, "shuffle", rng=np.random.default_rng(3), n_pairs=100)
    np.testing.assert_array_equal(a.losses, b.losses)
    assert a.mean == pytest.approx(a.losses.mean(), rel=1e-15) and float(a) == a.mean
    assert a.stderr == pytest.approx(a.losses.std(ddof=1) / 10, rel=1e-12)
    assert np.all(a.losses > 0)


def test_more_pairs_than_vocabulary_is_allowed():
    res = simulate_init_loss(10, 8, 0.1, "untied", rng=0, n_pairs=50)
    assert res.losses.shape == (50,)


def test_expected_tied_loss_tends_to_su_formula_when_self_term_dominates():
    n, d = 30522, 768
    sigma = d ** -0.5
    assert expected_init_loss(n, d, sigma) == pytest.approx(tied_init_loss(n, d, sigma), abs=0.02)


@pytest.mark.parametrize("call,param", [
    (lambda: tied_init_loss(0, 8, 0.1), "'n_vocab'"),
    (lambda: tied_init_loss(10, 0, 0.1), "'d'"),
    (lambda: tied_init_loss(10, 8, 0.0), "'sigma'"),
    (lambda: tied_init_loss(10, 8, -0.1), "'sigma'"),
    (lambda: tied_init_loss(10, 8, float("nan")), "'sigma'"),
    (lambda: init_std_for_uniform_loss(1, 8), "'n_vocab'"),
    (lambda: init_std_for_uniform_loss(10, 0), "'d'"),
    (lambda: expected_init_loss(10, 8, 0.1, "bert"), "'variant'"),
    (lambda: expected_init_loss(10, 7, 0.1, "shuffle"), "'d'"),
    (lambda: simulate_init_loss(10, 8, 0.1, "tied", rng=0, n_pairs=1), "'n_pairs'"),
    (lambda: simulate_init_loss(10, 7, 0.1, "shuffle", rng=0), "'d'"),
    (lambda: simulate_init_loss(1, 8, 0.1, "tied", rng=0), "'n_vocab'"),
    (lambda: simulate_init_loss(10, 8, 0.1, "tied", rng=-1), "'rng'"),
])
def test_bad_input(call, param):
    with pytest.raises(ValueError, match=param):
        call()


def test_type_errors():
    with pytest.raises(TypeError, match="'d'"):
        tied_init_loss(10, 8.5, 0.1)
    with pytest.raises(TypeError, match="'rng'"):
        simulate_init_loss(10, 8, 0.1, rng="seed")


@pytest.mark.parametrize("call,param", [
    (lambda: tied_init_loss(10, 2**60, 1e300), "'sigma'"),
    (lambda: expected_init_loss(10, 8, 1e200), "'sigma'"),
    (lambda: expected_init_loss(10, 8, 1e200, "shuffle"), "'sigma'"),
    (lambda: expected_init_loss(10, 8, 1e200, "untied"), "'sigma'"),
    (lambda: simulate_init_loss(10, 64, 1e307, rng=0, n_pairs=4), "'sigma'"),
    (lambda: simulate_init_loss(2**40, 8, 0.1, rng=0, n_pairs=4), "'n_vocab'"),
    (lambda: simulate_init_loss(10, 8, 0.1, rng=0, n_pairs=2**62), "'n_pairs'"),
    (lambda: simulate_init_loss(10, 2**40, 0.1, "projection", rng=0), "'n_vocab'|'d'"),
])
def test_results_beyond_float64_and_huge_sizes_raise_naming_the_parameter(call, param):
    with pytest.raises(ValueError, match=param):
        call()


@pytest.mark.parametrize("rng", [True, 1.5, "0", [0]])
def test_rng_goes_through_the_common_rule(rng):
    with pytest.raises(TypeError, match="'rng'"):
        simulate_init_loss(10, 8, 0.1, rng=rng)


@pytest.mark.parametrize("variant", VARIANTS)
def test_simulation_at_extreme_sigma_is_finite_and_scale_consistent(variant):
    """sigma = 1e-200 gives the uniform loss log n (no NaN from RMS(w) underflowing); sigma = 1e200 scales
    the loss by sigma (RMSNorm removes the scale of w, the logits carry it)."""
    n, d = 50, 8
    tiny = simulate_init_loss(n, d, 1e-200, variant, rng=5, n_pairs=20)
    np.testing.assert_allclose(tiny.losses, math.log(n), rtol=0, atol=1e-12)
    assert tiny.stderr < 1e-12
    big = simulate_init_loss(n, d, 1e200, variant, rng=5, n_pairs=20)
    unit = simulate_init_loss(n, d, 1.0, variant, rng=5, n_pairs=20)
    assert np.all(np.isfinite(big.losses)) and np.isfinite(big.stderr)
    # at sigma = 1e200 the softmax is a hard max: loss = max_k l_k - l_j = 1e200 (max_k x_k - x_j) of the unit logits
    assert big.mean > 0 and big.stderr > 0
    unit_losses = big.losses / 1e200                      # np.std of the raw losses would square 1e200
    assert big.stderr / big.mean == pytest.approx(np.std(unit_losses, ddof=1) / math.sqrt(20) / np.mean(unit_losses),
                                                  rel=1e-12)
    assert unit.mean < big.mean


def test_expected_loss_at_extreme_sigma():
    assert expected_init_loss(10, 8, 1e-200) == pytest.approx(math.log(10), rel=1e-15)
    # large but representable: untied is log n + d sigma^2 / 2 exactly as written
    assert expected_init_loss(10, 8, 1e100, "untied") == 8 * 1e100 * (1e100 / 2) + math.log(10)
