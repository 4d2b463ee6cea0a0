"""refimpl.rope.frequencies: inv_freq and every scaled_inv_freq method."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl.rope import METHODS, inv_freq, rotations, scaled_inv_freq, yarn_correction_dim, yarn_get_mscale
from refimpl.testing import head_dims

EPS = np.finfo(np.float64).eps
factors = st.floats(1.0, 64.0)
big_dims = head_dims(4, 256)
lengths = st.sampled_from([512, 2048, 4096, 8192, 32768])


def rel(a, b):
    return np.abs(np.asarray(a) - np.asarray(b)) / np.abs(np.asarray(b))


def test_inv_freq_values_and_beta_view():
    th = inv_freq(8)
    np.testing.assert_allclose(th, [1.0, 0.1, 0.01, 0.001], rtol=4 * EPS, atol=0)
    beta = 10000.0 ** (2 / 128)
    np.testing.assert_allclose(inv_freq(128), beta ** -np.arange(64.0), rtol=64 * EPS, atol=0)


def test_methods_registry_is_the_api_list():
    assert set(METHODS) == {"linear", "ntk", "ntk_old", "ntk_fixed", "ntk_mixed", "dynamic_ntk", "yarn",
                            "llama3", "longrope"}


@given(d=big_dims, k=factors)
def test_linear_divides_every_frequency(d, k):
    th, af = scaled_inv_freq(d, "linear", factor=k)
    assert af == 1.0
    assert np.all(rel(th * k, inv_freq(d)) <= 2 * EPS)


@given(d=big_dims, k=factors, base=st.sampled_from([1e4, 5e5, 1e6]))
def test_ntk_keeps_highest_and_divides_lowest_by_exactly_k(d, k, base):
    th0 = inv_freq(d, base)
    th, _ = scaled_inv_freq(d, "ntk", base=base, factor=k)
    assert th[0] == 1.0
    tol = 4 * (1 + math.log(base * k ** (d / (d - 2)))) * EPS  # two pow() with exponent <= 1
    assert rel(th0[-1] / th[-1], k) <= tol
    ratio = th0 / th  # k^(2i/(d-2)): non-decreasing in i
    assert np.all(np.diff(ratio) >= -tol * ratio[1:])


@given(d=big_dims, k=factors)
def test_ntk_old_lowest_ratio_is_k_to_1_minus_2_over_d(d, k):
    th, _ = scaled_inv_freq(d, "ntk_old", factor=k)
    assert rel(inv_freq(d)[-1] / th[-1], k ** (1 - 2 / d)) <= 64 * EPS


@given(d=big_dims, k=factors)
def test_ntk_fixed_ratios_are_powers_of_lambda(d, k):
    th, _ = scaled_inv_freq(d, "ntk_fixed", factor=k)
    ratio = inv_freq(d) / th
    lam = k ** (2 / d)
    assert np.all(rel(ratio, lam ** np.arange(1, d // 2 + 1)) <= 64 * EPS)
    assert rel(ratio[-1], k) <= 64 * EPS


@given(d=big_dims, k=st.floats(1.01, 64.0), b=st.floats(0.01, 1.0))
def test_ntk_mixed_lambdas(d, k, b):
    th, _ = scaled_inv_freq(d, "ntk_mixed", factor=k, b=b)
    ratio = inv_freq(d) / th  # lambda_1 ... lambda_m
    lam = np.concatenate([[ratio[0]], ratio[1:] / ratio[:-1]])
    assert rel(np.prod(lam), k) <= 1e-12  # product of lambdas = k
    assert rel(ratio[-1], k) <= 64 * EPS  # the lowest frequency is divided by exactly k
    assert np.all(lam >= 1 - 1e-12)
    assert np.all(np.diff(lam) <= 1e-12)  # non-increasing


@given(d=big_dims, k=factors)
def test_ntk_mixed_endpoints_are_fixed_and_pi(d, k):
    np.testing.assert_allclose(scaled_inv_freq(d, "ntk_mixed", factor=k, b=1.0)[0],
                               scaled_inv_freq(d, "ntk_fixed", factor=k)[0], rtol=64 * EPS, atol=0)
    pi = scaled_inv_freq(d, "linear", factor=k)[0]
    np.testing.assert_allclose(scaled_inv_freq(d, "ntk_mixed", factor=k, b=0.0)[0], pi, rtol=64 * EPS, atol=0)
    # b -> 0: the difference from PI shrinks like b
    err = np.max(rel(scaled_inv_freq(d, "ntk_mixed", factor=k, b=1e-9)[0], pi))
    assert err <= 1e-8 * math.log(k) * math.log(d) + 64 * EPS


def test_ntk_mixed_default_b_is_0625():
    a = scaled_inv_freq(64, "ntk_mixed", factor=8.0)[0]
    assert np.array_equal(a, scaled_inv_freq(64, "ntk_mixed", factor=8.0, b=0.625)[0])


@given(d=big_dims, k=factors, L=lengths, seq=st.integers(1, 200000))
def test_dynamic_ntk_base_rule(d, k, L, seq):
    th, _ = scaled_inv_freq(d, "dynamic_ntk", factor=k, seq_len=seq, original_max_position=L)
    if seq <= L:
        assert np.all(rel(th, inv_freq(d)) <= 4 * EPS)
    else:
        nb = 10000.0 * (k * seq / L - (k - 1)) ** (d / (d - 2))
        assert np.all(rel(th, inv_freq(d, nb)) <= 4 * EPS)
        # increasing in seq_len: the lowest frequency decreases
        th2, _ = scaled_inv_freq(d, "dynamic_ntk", factor=k, seq_len=seq + 1000, original_max_position=L)
        assert th2[-1] < th[-1]


def test_dynamic_ntk_is_continuous_at_the_training_length():
    a = scaled_inv_freq(64, "dynamic_ntk", factor=4.0, seq_len=4096, original_max_position=4096)[0]
    b = scaled_inv_freq(64, "dynamic_ntk", factor=4.0, seq_len=4097, original_max_position=4096)[0]
    assert np.max(rel(b, a)) < 1e-3 and not np.array_equal(a, b)


@pytest.mark.parametrize("ramp", ["rotations", "hf"])
@given(d=big_dims, s=factors, L=lengths)
@settings(max_examples=60)
def test_yarn_trained_pairs_unchanged_untrained_divided(ramp, d, s, L):
    th0 = inv_freq(d)
    th, _ = scaled_inv_freq(d, "yarn", factor=s, original_max_position=L, ramp=ramp)
    r = rotations(th0, L)
    assert np.all(th <= th0 * (1 + 2 * EPS)) and np.all(th >= th0 / s * (1 - 2 * EPS))
    if ramp == "rotations":
        fast, slow = r > 32, r < 1
    else:  # the HF ramp is in whole pair indices: pairs beyond the floor/ceil bounds
        i = np.arange(d // 2)
        fast = i <= math.floor(yarn_correction_dim(32, d, 10000.0, L))
        slow = i >= math.ceil(yarn_correction_dim(1, d, 10000.0, L))
    assert np.all(th[fast] == th0[fast])
    assert np.all(rel(th[slow] * s, th0[slow]) <= 2 * EPS)
    if ramp == "rotations":
        assert np.all(np.diff(th / th0) <= 1e-15)  # monotone in r (r decreases with i)


def test_yarn_identity_at_s_1_and_attention_factor():
    for ramp in ("rotations", "hf"):
        th, af = scaled_inv_freq(128, "yarn", factor=1.0, original_max_position=4096, ramp=ramp)
        assert np.all(rel(th, inv_freq(128)) <= 2 * EPS) and af == 1.0
    _, af = scaled_inv_freq(128, "yarn", factor=16.0, original_max_position=4096)
    assert af == pytest.approx(0.1 * math.log(16) + 1, rel=EPS)
    _, af = scaled_inv_freq(128, "yarn", factor=16.0, original_max_position=4096, mscale=0.707, mscale_all_dim=1.0)
    assert af == pytest.approx((0.0707 * math.log(16) + 1) / (0.1 * math.log(16) + 1), rel=2 * EPS)
    _, af = scaled_inv_freq(128, "yarn", factor=16.0, original_max_position=4096, mscale=1.0, mscale_all_dim=1.0)
    assert af == 1.0  # the DeepSeek configuration: the factor moves into the softmax scale
    assert scaled_inv_freq(128, "yarn", factor=16.0, original_max_position=4096, attention_factor=0.5)[1] == 0.5
    assert yarn_get_mscale(0.5) == 1.0


def test_yarn_ramps_differ_materially_for_a_llama_configuration():
    """The ERRATA number: d=128, b=1e4, s=8, beta 32/1, L=4096: at pair 36 HF's theta is 2.30x the paper's."""
    kw = dict(factor=8.0, original_max_position=4096)
    th = inv_freq(128)
    a = scaled_inv_freq(128, "yarn", ramp="rotations", **kw)[0]
    b = scaled_inv_freq(128, "yarn", ramp="hf", **kw)[0]
    i = int(np.argmax(np.abs(a - b) / a))
    assert i == 36
    # HF: low = floor(20.94) = 20, high = ceil(45.03) = 46, ramp = 16/26 -> theta / (1 / (10/26 + 2/26)) = theta / (26/12)
    assert th[i] / b[i] == pytest.approx(26 / 12, rel=4 * EPS)
    # paper: gamma = (r - 1)/31 with r = 4096 theta_36 / (2 pi)
    r = 4096 * th[i] / (2 * math.pi)
    g = (r - 1) / 31
    assert th[i] / a[i] == pytest.approx(1 / (g + (1 - g) / 8), rel=4 * EPS)
    assert b[i] / a[i] == pytest.approx(2.3048, abs=1e-4)
    # both agree outside the transition band
    assert np.array_equal(a[:20], b[:20]) and np.array_equal(a[-10:], b[-10:])


@given(d=big_dims, k=factors, L=lengths, lohi=st.sampled_from([(1.0, 4.0), (1.0, 8.0), (2.0, 32.0)]))
def test_llama3_equals_the_rotation_ramp(d, k, L, lohi):
    lo, hi = lohi
    a = scaled_inv_freq(d, "llama3", factor=k, original_max_position=L, low_freq_factor=lo, high_freq_factor=hi)[0]
    b = scaled_inv_freq(d, "yarn", factor=k, original_max_position=L, beta_slow=lo, beta_fast=hi)[0]
    # gamma is formed as L/(2 pi/theta) vs L theta/(2 pi): a few ulp of r/(hi - lo), amplified up to k by the blend
    assert np.all(rel(a, b) <= (4 + 4 * k * hi / (hi - lo)) * EPS)


def test_longrope_factors_and_attention():
    ext = np.linspace(1, 4, 32)
    th, af = scaled_inv_freq(64, "longrope", ext_factors=ext)
    assert af == 1.0 and np.all(rel(th * ext, inv_freq(64)) <= 2 * EPS)
    _, af = scaled_inv_freq(64, "longrope", factor=32.0, ext_factors=ext, original_max_position=4096)
    assert af == pytest.approx(math.sqrt(math.log(32 * 4096) / math.log(4096)), rel=2 * EPS)


def _bad(d=64, method="linear", **kw):
    return lambda: scaled_inv_freq(d, method, **kw)


BAD = [
    ("'d'", _bad(d=63, factor=2.0)),
    ("'d'", _bad(d=0, factor=2.0)),
    ("'d'", _bad(d=2, method="ntk", factor=2.0)),
    ("'factor'", _bad(factor=0.5)),
    ("'factor'", _bad(method="yarn", factor=0.99, original_max_position=4096)),
    ("'factor'", _bad(method="ntk")),
    ("'base'", _bad(factor=2.0, base=1.0)),
    ("'base'", _bad(factor=2.0, base=-3.0)),
    ("'beta_slow'", _bad(method="yarn", factor=4.0, original_max_position=4096, beta_fast=1.0, beta_slow=32.0)),
    ("'beta_slow'", _bad(method="yarn", factor=4.0, original_max_position=4096, beta_fast=2.0, beta_slow=2.0)),
    ("'method'", _bad(method="ntk_by_parts", factor=2.0)),
    ("'ramp'", _bad(method="yarn", factor=2.0, original_max_position=4096, ramp="dims")),
    ("'truncate'", _bad(method="yarn", factor=2.0, original_max_position=4096, truncate=False)),
    ("'mscale'", _bad(method="yarn", factor=2.0, original_max_position=4096, mscale=1.0)),
    ("'original_max_position'", _bad(method="yarn", factor=2.0)),
    ("'seq_len'", _bad(method="dynamic_ntk", factor=2.0, original_max_position=4096)),
    ("'b'", _bad(method="ntk_mixed", factor=2.0, b=1.5)),
    ("'b'", _bad(method="linear", factor=2.0, b=0.5)),
    ("'low_freq_factor'", _bad(method="llama3", factor=8.0, original_max_position=8192, low_freq_factor=4.0,
                               high_freq_factor=1.0)),
    ("'ext_factors'", _bad(method="longrope", ext_factors=np.ones(5))),
    ("'ext_factors'", _bad(method="longrope", ext_factors=-np.ones(32))),
    ("'ext_factors'", _bad(method="longrope")),
]


@pytest.mark.parametrize("match, call", BAD)
def test_bad_input(match, call):
    with pytest.raises(ValueError, match=match):
        call()


def test_bad_inv_freq_input():
    with pytest.raises(ValueError, match="'d'"):
        inv_freq(7)
    with pytest.raises(ValueError, match="'base'"):
        inv_freq(8, base=0.5)
    with pytest.raises(TypeError, match="'d'"):
        inv_freq(8.0)


# --------------------------------------------------------------------------- YaRN's threshold s <= 1

SWEEP = np.concatenate([[1 + 1e-12, 1 + 1e-9, 1.0001, 1.001, 1.01, 1.015, 1.02, 1.03], np.geomspace(1.05, 64, 40)])


@pytest.mark.parametrize("s", SWEEP)
def test_yarn_get_mscale_is_01_ln_s_plus_1_right_above_one(s):
    """get_mscale(s) = 0.1 ln s + 1 for every s > 1: a threshold moved to s <= 1.02 is caught at 1.01
    (it would return 1, off by 0.1 ln 1.01 = 1e-3)."""
    assert yarn_get_mscale(s) == pytest.approx(0.1 * math.log(s) + 1.0, rel=2 * EPS, abs=0)
    assert yarn_get_mscale(s) > 1.0
    assert yarn_get_mscale(s, 0.707) == pytest.approx(0.0707 * math.log(s) + 1.0, rel=2 * EPS, abs=0)


@pytest.mark.parametrize("s", [1e-3, 0.5, 0.999999, 1.0])
def test_yarn_get_mscale_is_one_at_or_below_one(s):
    assert yarn_get_mscale(s) == 1.0 and yarn_get_mscale(s, 3.0) == 1.0


@pytest.mark.parametrize("ramp", ["rotations", "hf"])
@pytest.mark.parametrize("s", [1.01, 1.02, 1.5, 40.0])
def test_yarn_attention_factor_at_small_factors(ramp, s):
    _, af = scaled_inv_freq(64, "yarn", factor=s, original_max_position=4096, ramp=ramp)
    assert af == pytest.approx(0.1 * math.log(s) + 1.0, rel=2 * EPS, abs=0)
    _, af = scaled_inv_freq(64, "yarn", factor=s, original_max_position=4096, ramp=ramp, mscale=1.0,
                            mscale_all_dim=0.707)
    assert af == pytest.approx((0.1 * math.log(s) + 1) / (0.0707 * math.log(s) + 1), rel=4 * EPS, abs=0)
    assert af > 1.0


# --------------------------------------------------------------------------- llama3 with equal factors

def _meta_apply_scaling(theta, factor, lo, hi, L):
    """meta-llama's apply_scaling, transcribed: keep below L/hi, divide above L/lo, blend in between."""
    out = []
    for t in theta:
        wavelen = 2 * math.pi / t
        if wavelen < L / hi:
            out.append(t)
        elif wavelen > L / lo:
            out.append(t / factor)
        else:
            smooth = (L / wavelen - lo) / (hi - lo)
            out.append((1 - smooth) * t / factor + smooth * t)
    return np.array(out)


@given(d=big_dims, k=factors, L=lengths, lo=st.floats(0.25, 8.0), base=st.sampled_from([1e4, 5e5, 1e6]))
def test_llama3_equal_factors_is_metas_step(d, k, L, lo, base):
    th = scaled_inv_freq(d, "llama3", base=base, factor=k, original_max_position=L, low_freq_factor=lo,
                         high_freq_factor=lo)[0]
    theta = inv_freq(d, base)
    r = L * theta / (2 * math.pi)
    assert set(np.unique(np.round(theta / th, 9))) <= {1.0, round(k, 9)}
    away = np.abs(r / lo - 1) > 1e-12  # Meta asserts (transformers gives NaN) exactly on the boundary
    np.testing.assert_allclose(th[away], _meta_apply_scaling(theta, k, lo, lo, L)[away], rtol=2 * EPS, atol=0)


def test_llama3_equal_factors_is_the_limit_of_a_shrinking_band():
    a = scaled_inv_freq(128, "llama3", base=5e5, factor=16.0, original_max_position=8192, low_freq_factor=1.0,
                        high_freq_factor=1.0)[0]
    b = scaled_inv_freq(128, "llama3", base=5e5, factor=16.0, original_max_position=8192, low_freq_factor=1.0,
                        high_freq_factor=1.0 + 1e-9)[0]
    np.testing.assert_array_equal(a, b)  # no pair sits inside a band of width 1e-9 here


def test_fuzz_sizes_raise_naming_the_parameter():
    for call in (lambda: inv_freq(2**64), lambda: scaled_inv_freq(2**64, "linear", factor=2.0)):
        with pytest.raises(ValueError, match="'d'.*bytes"):
            call()
    with pytest.raises(TypeError, match="'truncate'"):
        scaled_inv_freq(64, "yarn", factor=2.0, original_max_position=4096, ramp="hf", truncate="no")
    with pytest.raises(TypeError, match="'d'"):
        inv_freq(True)


@pytest.mark.parametrize("call, match", [
    (lambda: scaled_inv_freq(4, "ntk", factor=1e308), "'factor'.*float64"),     # was a bare OverflowError
    (lambda: scaled_inv_freq(4, "ntk_old", factor=1e308), "'factor'.*float64"),  # was silently 0
    (lambda: scaled_inv_freq(4, "dynamic_ntk", factor=1e300, seq_len=10**18, original_max_position=1),
     "'factor'.*float64"),
    (lambda: yarn_get_mscale(1e308, 1e308), "'mscale'"),                         # was inf
    (lambda: rotations([1e308], 1e308), "'length'"),                             # was inf
])
def test_finite_extremes_raise_with_the_reason(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_finite_extremes_with_representable_results():
    # L / (2 pi r) overflows, its log does not
    assert yarn_correction_dim(1e-300, 4, 10.0, 1e308) == pytest.approx(
        4 * (math.log(1e308) - math.log(2 * math.pi) - math.log(1e-300)) / (2 * math.log(10.0)), rel=1e-15)
    # LongRoPE frequencies below the float64 range are 0 (the correctly rounded value)
    th, _ = scaled_inv_freq(4, "longrope", ext_factors=[1e308, 1e308])
    assert th[0] == 1e-308 and th[1] == 0.0
