"""refimpl.rope.analysis: decay curve, Abel bound, base-beta digits."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from refimpl.rope import abel_bound, beta_digits, decay_curve, inv_freq
from refimpl.testing import head_dims, seeds

EPS = np.finfo(np.float64).eps


@given(d=head_dims(2, 256))
def test_decay_curve_at_zero(d):
    assert decay_curve(d, [0.0])[0] == pytest.approx((d / 2 + 1) / 2, rel=4 * EPS)


def test_decay_curve_trend_d128():
    """Su's figure (d=128, distances 0..256): decays overall, not monotone."""
    m = np.arange(257)
    f = decay_curve(128, m)
    assert f[0] == 32.5
    assert np.mean(f[200:]) < 0.5 * np.mean(f[:20])
    assert np.any(np.diff(f) > 0)  # not monotone: tests check the trend only
    assert decay_curve(128, 5.0).shape == ()


def test_decay_curve_naive_double_loop():
    d, base = 16, 10000.0
    th = inv_freq(d, base)
    for m in (1.0, 13.0, 200.5):
        ref = np.mean([abs(sum(np.exp(1j * m * th[i]) for i in range(j))) for j in range(1, d // 2 + 1)])
        assert decay_curve(d, [m], base)[0] == pytest.approx(ref, rel=16 * EPS)


@given(seed=seeds(), d=head_dims(2, 128), dist=st.floats(-1e5, 1e5), layout=st.sampled_from(["half", "interleaved"]))
def test_abel_bound_holds(seed, d, dist, layout):
    q, k = np.random.default_rng(seed).standard_normal((2, d))
    exact, bound = abel_bound(q, k, dist, inv_freq(d), layout=layout)
    assert bound >= exact * (1 - d * EPS)
    # exact bounds the RoPE score (R_m q)^T (R_n k) = Re sum h e^(i (m - n) theta)
    from refimpl.rope import apply

    if layout == "interleaved":
        s = apply(q[None], [dist], inv_freq(d), "interleaved")[0] @ k
        assert abs(s) <= exact * (1 + d * EPS) + 1e-12


@given(n=st.integers(0, 10**12), beta=st.integers(2, 36), nd=st.integers(1, 12))
def test_beta_digits_match_numpy_base_repr(n, beta, nd):
    rep = np.base_repr(n, beta).rjust(nd, "0")[-nd:]
    assert beta_digits(n, beta, nd).tolist() == [float(int(c, 36)) for c in rep]


def test_beta_digits_article_examples_and_non_integer_base():
    assert beta_digits(1749, 16, 3).tolist() == [6, 13, 5]
    assert beta_digits(1749, 10, 4).tolist() == [1, 7, 4, 9]
    assert beta_digits(874.5, 10, 3, floor=False)[-1] == pytest.approx(4.5)
    beta = 10000.0 ** (2 / 128)
    dg = beta_digits(123456.0, beta, 64)
    assert np.all((dg >= 0) & (dg < beta))
    # digits of the continuous kind are n / beta^(m-1) mod beta: RoPE's angles mod beta
    dc = beta_digits(123456.0, beta, 64, floor=False)
    # before the mod the values are up to 1.2e5: both routes round there (a few ulp of 1.2e5, absolute)
    np.testing.assert_allclose(dc[::-1], np.mod(123456.0 * inv_freq(128), beta), rtol=0, atol=64 * 123456.0 * EPS)


BAD = [
    ("'beta'", lambda: beta_digits(10, 1.0, 3)),
    ("'n'", lambda: beta_digits(-1, 10, 3)),
    ("'ndigits'", lambda: beta_digits(10, 10, 0)),
    ("'q'", lambda: abel_bound(np.ones(6), np.ones(8), 1.0, inv_freq(8))),
    ("'distance'", lambda: abel_bound(np.ones(8), np.ones(8), np.nan, inv_freq(8))),
    ("'d'", lambda: decay_curve(5, [1.0])),
    ("'distances'", lambda: decay_curve(8, [np.inf])),
    # from a fuzz: these returned [] or NaN, or grew a list until memory ran out
    ("'d'.*bytes", lambda: decay_curve(2**64, [0.0, 1.0])),
    ("'ndigits'.*bytes", lambda: beta_digits(1749, 16, 10**12)),
    ("'d'.*bytes", lambda: decay_curve(2**40, np.zeros(10**6))),
    ("'distance'.*bytes", lambda: abel_bound(np.ones(2 * 10**5), np.ones(2 * 10**5), np.zeros(10**6),
                                             np.ones(10**5))),
]


@pytest.mark.parametrize("match, call", BAD)
def test_bad_input(match, call):
    with pytest.raises(ValueError, match=match):
        call()


def test_article_base_for_three_digits():
    """9675: writing numbers below 2000 in 3 digits needs base ceil(2000^(1/3)) = 13."""
    beta = int(np.ceil(2000 ** (1 / 3)))
    assert beta == 13
    for n in (0, 999, 1999):
        digits = beta_digits(n, beta, 3)
        assert sum(dg * beta**p for dg, p in zip(digits, (2, 1, 0))) == n
    assert beta_digits(1999, 12, 4)[0] > 0  # base 12 needs a 4th digit


def test_flag_floor_is_a_bool():
    with pytest.raises(TypeError, match="'floor'"):
        beta_digits(1749, 16, 3, floor="no")
    with pytest.raises(TypeError, match="'floor'"):
        beta_digits(1749, 16, 3, floor=1)


def test_extremes():
    with pytest.raises(ValueError, match="float64"):
        abel_bound(np.full(2, 1e200), np.full(2, 1e200), 1.0, [1.0])
    np.testing.assert_array_equal(beta_digits(1e308, 1e308, 3, floor=False), [0.0, 1.0, 0.0])
