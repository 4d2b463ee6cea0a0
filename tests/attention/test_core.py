"""refimpl.attention.core: softmax, entropy, attention, log-n scaling, published variants."""
import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl.attention import (attention, entropy, nope, entropy_decomposition, entropy_invariant_attention,
                               entropy_lower_bound, entropy_vs_length, llama4_attention_scales, logn_factor,
                               qwen_logn_factors, softmax, softmax_plus)
from refimpl.testing import finite_arrays, seeds

EPS = np.finfo(np.float64).eps
BACKENDS = ("numba", "reference")


def naive_attention(q, k, v, scale, causal=False, mask=None):
    """Row-by-row loop oracle (2-D inputs), bottom-right causal alignment."""
    nq, nk = q.shape[0], k.shape[0]
    out = np.empty((nq, v.shape[1]))
    sc = np.broadcast_to(np.asarray(scale, float), (nq,))
    for i in range(nq):
        vis = np.ones(nk, bool)
        if causal:
            vis &= np.arange(nk) <= i + nk - nq
        if mask is not None:
            vis &= mask[i]
        s = sc[i] * (k[vis] @ q[i])
        w = np.exp(s - s.max())
        out[i] = (w / w.sum()) @ v[vis]
    return out


def attn_tol(q, k, v, scale=None):
    """Error budget: score rounding amplified by the softmax, plus the weighted sum (see attention Notes)."""
    d = q.shape[-1]
    sc = 1 / math.sqrt(d) if scale is None else np.max(np.abs(scale))
    smax = sc * np.max(np.abs(q)) * np.max(np.abs(k)) * d
    return (4 * (d + 8) * EPS * (1 + smax) + 4 * k.shape[-2] * EPS) * max(np.max(np.abs(v)), 1e-300)


# ----------------------------------------------------------------------------- softmax / entropy
@given(finite_arrays(st.tuples(st.integers(1, 5), st.integers(1, 40)), bound=50.0))
def test_softmax_rows_sum_to_one_and_entropy_in_range(x):
    p = softmax(x)
    assert np.all(p >= 0)
    np.testing.assert_allclose(p.sum(-1), 1.0, rtol=0, atol=4 * x.shape[-1] * EPS)
    H = entropy(p)
    n = x.shape[-1]
    assert np.all(H >= 0) and np.all(H <= math.log(n) + 8 * n * EPS)


def test_softmax_vs_mpmath_and_masking():
    x = np.array([3.0, -1.25, 0.5, 700.0, 699.0])
    mpmath.mp.dps = 40
    e = [mpmath.exp(mpmath.mpf(v)) for v in x]
    ref = np.array([float(t / mpmath.fsum(e)) for t in e])
    np.testing.assert_allclose(softmax(x), ref, rtol=20 * EPS, atol=0)
    assert np.array_equal(softmax([0.0, -np.inf, 0.0]), [0.5, 0.0, 0.5])
    np.testing.assert_allclose(softmax(np.array([[1.0, 2.0], [3.0, 4.0]]), axis=0),
                               [[1 / (1 + math.e**2), 1 / (1 + math.e**2)], [1 / (1 + math.e**-2)] * 2], rtol=1e-15, atol=0)


def test_entropy_zero_log_zero_and_uniform():
    assert entropy([0.0, 1.0, 0.0]) == 0.0
    assert entropy(np.full(8, 1 / 8)) == pytest.approx(math.log(8), rel=4 * EPS, abs=0)


@given(finite_arrays(st.tuples(st.integers(1, 4), st.integers(1, 30)), bound=20.0), st.floats(0.0, 5.0))
def test_entropy_decomposition_identity_and_bounds(s, lam):
    a, b, c = entropy_decomposition(s, lam)
    H = entropy(softmax(lam * s))
    scale = 1 + lam * np.max(np.abs(s))
    n = s.shape[-1]
    np.testing.assert_allclose(a + b - c, H, rtol=0, atol=1e-10 * scale)  # spec: identity to 1e-10
    lb = entropy_lower_bound(s, lam)
    assert np.all(lb <= H + 1e-12 * scale * n) and np.all(H <= math.log(n) + 1e-12 * n)


@given(finite_arrays(st.just((20,)), bound=5.0), st.floats(0.01, 5.0), st.floats(0.01, 5.0))
def test_entropy_nonincreasing_in_lambda_and_power_law(s, l1, l2):
    lo, hi = min(l1, l2), max(l1, l2)
    H = [float(sum(entropy_decomposition(s, lam)[:2]) - entropy_decomposition(s, lam)[2]) for lam in (lo, hi)]
    assert H[1] <= H[0] + 1e-12
    # softmax(t s) is softmax(s)^t renormalised
    t = hi / lo
    with np.errstate(divide="ignore"):
        lp = t * np.log(softmax(lo * s))  # log of softmax(lo s)^t, kept in log space (no underflow)
    pw = softmax(lp)  # renormalised power
    np.testing.assert_allclose(pw, softmax(hi * s), rtol=0, atol=1e-12 * (1 + hi * np.max(np.abs(s))))


# ----------------------------------------------------------------------------- attention
@settings(max_examples=40)
@given(seed=seeds(), nq=st.integers(1, 70), extra=st.integers(0, 300), d=st.integers(1, 20), dv=st.integers(1, 6),
       causal=st.booleans(), heads=st.integers(1, 2))
def test_attention_matches_naive_loop(seed, nq, extra, d, dv, causal, heads):
    rng = np.random.default_rng(seed)
    nk = nq + extra
    q = rng.standard_normal((heads, nq, d)) * 2
    k = rng.standard_normal((heads, nk, d)) * 2
    v = rng.standard_normal((heads, nk, dv))
    for be in BACKENDS:
        out = attention(q, k, v, causal=causal, backend=be)
        for h in range(heads):
            ref = naive_attention(q[h], k[h], v[h], 1 / math.sqrt(d), causal)
            assert np.max(np.abs(out[h] - ref)) <= attn_tol(q, k, v), be


@settings(max_examples=30)
@given(seed=seeds(), n=st.integers(1, 90), causal=st.booleans())
def test_weights_rows_sum_to_one_and_reproduce_output(seed, n, causal):
    rng = np.random.default_rng(seed)
    q, k, v = (rng.standard_normal((n, 6)) for _ in range(3))
    for be in BACKENDS:
        out, w = attention(q, k, v, causal=causal, return_weights=True, backend=be)
        np.testing.assert_allclose(w.sum(-1), 1.0, rtol=0, atol=4 * n * EPS)
        if causal:
            assert np.all(np.triu(w, 1) == 0)
        H = entropy(w)
        nvis = np.arange(1, n + 1) if causal else np.full(n, n)
        assert np.all(H >= 0) and np.all(H <= np.log(nvis) + 8 * n * EPS)
        np.testing.assert_allclose(w @ v, out, rtol=0, atol=attn_tol(q, k, v))


def test_mask_per_query_scale_and_broadcasting(rng):
    q = rng.standard_normal((3, 1, 40, 8))
    k = rng.standard_normal((1, 2, 300, 8))
    v = rng.standard_normal((1, 2, 300, 4))
    mask = rng.random((40, 300)) < 0.5
    mask[:, 7] = True
    scale = rng.uniform(0.1, 1.0, size=40)
    outs = [attention(q, k, v, scale=scale, mask=mask, causal=True, backend=be) for be in BACKENDS]
    assert outs[0].shape == (3, 2, 40, 4)
    for b in range(3):
        for h in range(2):
            ref = naive_attention(q[b, 0], k[0, h], v[0, h], scale, True, mask)
            for o in outs:
                assert np.max(np.abs(o[b, h] - ref)) <= attn_tol(q, k, v, scale)


def test_causal_is_bottom_right_aligned(rng):
    q = rng.standard_normal((3, 4))
    k = rng.standard_normal((5, 4))
    v = rng.standard_normal((5, 2))
    out = attention(q, k, v, causal=True)
    # query 0 sees keys 0..2, query 2 (the last) sees all 5 keys
    np.testing.assert_allclose(out[0], attention(q[:1], k[:3], v[:3])[0], rtol=1e-14, atol=0)
    np.testing.assert_allclose(out[2], attention(q[2:], k, v)[0], rtol=1e-14, atol=0)


def test_fully_masked_row_raises(rng):
    q, k, v = (rng.standard_normal((4, 3)) for _ in range(3))
    mask = np.ones((4, 4), bool)
    mask[2] = False
    for be in BACKENDS:
        with pytest.raises(ValueError, match="'mask'.*row 2"):
            attention(q, k, v, mask=mask, backend=be)
    with pytest.raises(ValueError, match="'causal'"):
        attention(rng.standard_normal((5, 3)), k, v, causal=True)  # n_q > n_k: first query sees nothing
    with pytest.raises(ValueError, match="'mask'"):  # causal and mask together leave row 0 empty
        m = np.ones((4, 4), bool)
        m[0, 0] = False
        attention(q, k, v, mask=m, causal=True)


def test_float32_input_computes_in_float64(rng):
    q, k, v = (rng.standard_normal((10, 4)).astype(np.float32) for _ in range(3))
    out = attention(q, k, v)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, attention(q.astype(float), k.astype(float), v.astype(float)), rtol=0, atol=0)


def test_streaming_memory_is_linear_in_n():
    """n = 8192 causal: the materialising path would need 512 MiB of scores; streaming stays O(n d)."""
    path = "/proc/self/clear_refs"
    try:
        with open(path, "w") as fh:
            fh.write("5")  # reset the peak-RSS counter (Linux >= 4.0)
    except OSError:
        pytest.skip("cannot reset the peak RSS counter here")
    rng = np.random.default_rng(0)
    n, d = 8192, 8
    q, k, v = (rng.standard_normal((n, d)) for _ in range(3))
    attention(q[:64], k[:64], v[:64], causal=True, backend="numba")  # JIT / cache load first

    def hwm():
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM"):
                    return int(line.split()[1]) * 1024
        raise AssertionError("no VmHWM")

    def rss():
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS"):
                    return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")

    with open(path, "w") as fh:
        fh.write("5")
    base = rss()
    out = attention(q, k, v, causal=True, backend="numba")
    extra = hwm() - base
    assert extra < 64 * 2**20, f"streaming attention used {extra / 2**20:.0f} MiB extra"
    assert out.shape == (n, d)


# ----------------------------------------------------------------------------- log n
def test_logn_factor_powers_of_two_exact():
    for k in range(0, 31):
        assert logn_factor(2**k) == k / 9
    assert logn_factor(64) == 2 / 3 and logn_factor(1024) == 10 / 9 and logn_factor(4096) == 4 / 3
    f = logn_factor(np.arange(2, 5000))
    assert np.all(np.diff(f) > 0)
    assert np.all(f[np.arange(2, 5000) < 512] < 1) and np.all(f[np.arange(2, 5000) > 512] > 1)
    assert logn_factor(100, base=10) == pytest.approx(2.0, rel=2 * EPS, abs=0)


@given(seed=seeds(), d=st.integers(1, 16), causal=st.booleans())
@settings(max_examples=10)
def test_entropy_invariant_equals_plain_at_512(seed, d, causal):
    rng = np.random.default_rng(seed)
    q, k, v = (rng.standard_normal((512, d)) for _ in range(3))
    for be in BACKENDS:
        a = entropy_invariant_attention(q, k, v, causal=causal, backend=be)
        assert np.array_equal(a, attention(q, k, v, causal=causal, backend=be))


def test_entropy_invariant_global_and_per_query(rng):
    q, k, v = (rng.standard_normal((2, 100, 8)) for _ in range(3))
    g = entropy_invariant_attention(q, k, v)
    np.testing.assert_allclose(g, attention(q, k, v, scale=math.log(100) / math.log(512) / math.sqrt(8)),
                               rtol=0, atol=attn_tol(q, k, v))
    pq = entropy_invariant_attention(q, k, v, causal=True, length="per_query", min_len=16)
    n_i = np.maximum(np.arange(1, 101), 16)
    ref = attention(q, k, v, causal=True, scale=np.log(n_i) / math.log(512) / math.sqrt(8))
    np.testing.assert_allclose(pq, ref, rtol=0, atol=attn_tol(q, k, v))
    # per_query with a padding mask counts the visible keys
    mask = np.ones((100, 100), bool)
    mask[:, 80:] = False
    pm = entropy_invariant_attention(q, k, v, mask=mask, length="per_query")
    ref = attention(q, k, v, mask=mask, scale=math.log(80) / math.log(512) / math.sqrt(8))
    np.testing.assert_allclose(pm, ref, rtol=0, atol=attn_tol(q, k, v))


# ----------------------------------------------------------------------------- published variants
def test_qwen_logn_factors():
    L = 8192
    i = np.arange(1, 40000)
    f = qwen_logn_factors(i, L)
    assert np.all(f[i <= L] == 1.0)
    np.testing.assert_allclose(f[i > L], np.log(i[i > L]) / np.log(L), rtol=2 * EPS, atol=0)
    assert qwen_logn_factors(L * L, L) == 2.0


def test_llama4_attention_scales():
    i = np.arange(0, 3 * 8192)
    s = llama4_attention_scales(i)
    assert np.all(s[i + 1 < 8192] == 1.0)
    assert s[8191] == 1 + 0.1 * math.log(2)
    assert s[2 * 8192 - 1] == pytest.approx(1 + 0.1 * math.log(3), rel=EPS, abs=0)
    assert np.all(np.diff(s) >= 0)


def test_softmax_plus_floor_and_padding():
    s = np.array([[1.0, 0.0, -1.0, 5.0]])
    w = softmax_plus(s, 3)  # l = 3 < 16: factor log 16 / log 512 = 4/9
    np.testing.assert_allclose(w, softmax(np.array([1.0, 0.0, -1.0, -np.inf]) * 4 / 9)[None], rtol=4 * EPS, atol=0)
    assert w[0, 3] == 0.0
    s = np.random.default_rng(0).standard_normal((2, 40))
    w = softmax_plus(s, np.array([40, 30]), min_len=16)
    np.testing.assert_allclose(w[0], softmax(s[0] * math.log(40) / math.log(512)), rtol=8 * EPS, atol=0)
    np.testing.assert_allclose(w[1, :30], softmax(s[1, :30] * math.log(30) / math.log(512)), rtol=8 * EPS, atol=0)


# ----------------------------------------------------------------------------- experiment
def test_entropy_vs_length_regimes():
    conc = entropy_vs_length(4.0, n_queries=32, trials=1)
    diff = entropy_vs_length(1.0, n_queries=32, trials=1)
    i512 = list(conc.lengths).index(512)
    assert conc.plain[i512] == conc.logn[i512]  # identical logits at n = base
    assert np.all(np.diff(conc.plain) > 0)  # plain entropy rises steadily with n
    assert conc.spread_logn < 0.3 * conc.spread_plain  # concentrated: log n flattens
    assert diff.spread_logn > 0.6 * diff.spread_plain  # diffuse: it does not
    # diffuse plain regime: H ~ log n - sigma^2/2 with sigma^2 ~ c^2 |q|^2/d ~ 1
    np.testing.assert_allclose(diff.plain, np.log(diff.lengths) - 0.5, atol=0.15)


# ----------------------------------------------------------------------------- bad input
def _qkv(nq=4, nk=4, d=3, dv=2):
    rng = np.random.default_rng(0)
    return rng.standard_normal((nq, d)), rng.standard_normal((nk, d)), rng.standard_normal((nk, dv))


Q, K, V = _qkv()
NANQ = Q.copy()
NANQ[0, 0] = np.nan
INFK = K.copy()
INFK[1, 1] = np.inf


@pytest.mark.parametrize("call, param", [
    (lambda: attention(Q, K[:, :2], V), "'q' and 'k'"),
    (lambda: attention(Q, K, V[:3]), "'k' and 'v'"),
    (lambda: attention(Q[:0], K, V), "'q'"),
    (lambda: attention(Q, K[:0], V[:0]), "'k'"),
    (lambda: attention(NANQ, K, V), "'q'"),
    (lambda: attention(Q, INFK, V), "'k'"),
    (lambda: attention(Q, K, V, scale=np.nan), "'scale'"),
    (lambda: attention(Q, K, V, scale=np.ones(3)), "'scale'"),
    (lambda: attention(Q, K, V, mask=np.ones((3, 4), bool)), "'mask'"),
    (lambda: attention(Q, K, V, backend="cuda"), "'backend'"),
    (lambda: attention(np.ones((2, 4, 3)), np.ones((3, 4, 3)), np.ones((3, 4, 2))), "'q', 'k', 'v'"),
    (lambda: softmax([]), "'x'"),
    (lambda: softmax([np.nan, 1.0]), "'x'"),
    (lambda: softmax([np.inf, 1.0]), "'x'"),
    (lambda: softmax([-np.inf, -np.inf]), "'x'"),
    (lambda: softmax([1.0], axis=3), "'axis'"),
    (lambda: entropy([-0.1, 1.1]), "'p'"),
    (lambda: entropy([]), "'p'"),
    (lambda: logn_factor(100, base=1.0), "'base'"),
    (lambda: logn_factor(100, base=0.5), "'base'"),
    (lambda: logn_factor(0), "'n'"),
    (lambda: logn_factor(np.nan), "'n'"),
    (lambda: entropy_invariant_attention(Q, K, V, base=1), "'base'"),
    (lambda: entropy_invariant_attention(Q, K, V, length="local"), "'length'"),
    (lambda: entropy_invariant_attention(Q, K, V, min_len=0), "'min_len'"),
    (lambda: entropy_lower_bound([1.0, 2.0], -1.0), "'lam'"),
    (lambda: entropy_decomposition([1.0, np.inf], 1.0), "'s'"),
    (lambda: entropy_decomposition(np.ones((2, 3)), np.ones(3)), "'lam'"),
    (lambda: qwen_logn_factors([0, 1], 8192), "'positions'"),
    (lambda: qwen_logn_factors([1, 2], 1), "'train_len'"),
    (lambda: llama4_attention_scales([-1]), "'positions'"),
    (lambda: llama4_attention_scales([1], floor_scale=0), "'floor_scale'"),
    (lambda: softmax_plus([[1.0, 2.0]], 3), "'valid_len'"),
    (lambda: softmax_plus([[1.0, 2.0]], 1, base=1.0), "'base'"),
    (lambda: entropy_vs_length(0.0), "'c'"),
    (lambda: entropy_vs_length(1.0, lengths=(1, 4)), "'lengths'"),
])
def test_bad_input(call, param):
    with pytest.raises(ValueError, match=param):
        call()


def test_bad_types():
    with pytest.raises(TypeError, match="'mask'"):
        attention(Q, K, V, mask=np.ones((4, 4)))
    with pytest.raises(TypeError, match="'causal'"):
        attention(Q, K, V, causal=1)


@pytest.mark.parametrize("backend", BACKENDS)
def test_single_visible_key_in_any_tile_and_extreme_logits(backend):
    rng = np.random.default_rng(4)
    nq, nk = 5, 700  # three key tiles
    q, k = rng.standard_normal((nq, 4)), rng.standard_normal((nk, 4))
    v = rng.standard_normal((nk, 2))
    mask = np.zeros((nq, nk), bool)
    only = [0, 255, 256, 511, 699]  # tile edges: earlier tiles entirely masked for some rows
    mask[np.arange(nq), only] = True
    out = attention(q, k, v, mask=mask, backend=backend)
    assert np.array_equal(out, v[only])
    # logits of size 1e5: no overflow, the max-logit key takes all the weight
    big = attention(q * 1e4, k * 10, v, backend=backend)
    want = v[np.argmax((q * 1e4) @ (k * 10).T, axis=1)]
    np.testing.assert_allclose(big, want, rtol=0, atol=1e-12)


# ----------------------------------------------------------------------------- batch, heads, grouped-query heads
@settings(max_examples=25)
@given(seed=seeds(), B=st.integers(1, 2), H_kv=st.integers(1, 3), group=st.integers(1, 4), nq=st.integers(1, 9),
       extra=st.integers(0, 20), causal=st.booleans())
def test_grouped_query_heads_equal_repeated_kv(seed, B, H_kv, group, nq, extra, causal):
    """enable_gqa: kv head g serves query heads g r .. g r + r - 1, i.e. np.repeat along the head axis."""
    rng = np.random.default_rng(seed)
    nk, d = nq + extra, 5
    q = rng.standard_normal((B, H_kv * group, nq, d))
    k = rng.standard_normal((B, H_kv, nk, d))
    v = rng.standard_normal((B, H_kv, nk, 3))
    for be in BACKENDS:
        got = attention(q, k, v, causal=causal, enable_gqa=True, backend=be)
        want = attention(q, np.repeat(k, group, axis=1), np.repeat(v, group, axis=1), causal=causal, backend=be)
        assert got.shape == (B, H_kv * group, nq, 3)
        assert np.array_equal(got, want), be
    # and per head against the loop oracle: query head h reads kv head h // group
    out = attention(q, k, v, causal=causal, enable_gqa=True, backend="reference")
    for b in range(B):
        for h in range(H_kv * group):
            ref = naive_attention(q[b, h], k[b, h // group], v[b, h // group], 1 / math.sqrt(d), causal)
            assert np.max(np.abs(out[b, h] - ref)) <= attn_tol(q, k, v)


def test_grouped_query_heads_bad_shapes():
    q = np.ones((2, 6, 4, 3))
    with pytest.raises(ValueError, match="enable_gqa=True"):  # the broadcast error points to the option
        attention(q, np.ones((2, 2, 4, 3)), np.ones((2, 2, 4, 3)))
    with pytest.raises(ValueError, match="'q' and 'k'.*divide"):
        attention(q, np.ones((2, 4, 4, 3)), np.ones((2, 4, 4, 3)), enable_gqa=True)
    with pytest.raises(ValueError, match="'k' and 'v'.*heads"):
        attention(q, np.ones((2, 2, 4, 3)), np.ones((2, 3, 4, 3)), enable_gqa=True)
    with pytest.raises(ValueError, match="'q' must have a head axis"):
        attention(np.ones((4, 3)), np.ones((4, 3)), np.ones((4, 3)), enable_gqa=True)
    with pytest.raises(TypeError, match="'enable_gqa'"):
        attention(q, q, q, enable_gqa=1)


def test_entropy_invariant_attention_with_grouped_heads_and_n_q_below_n_k(rng):
    """per_query lengths with n_q < n_k: n_i = i + 1 + n_k - n_q (the offset that a bug once dropped)."""
    q = rng.standard_normal((1, 4, 5, 8))
    k = rng.standard_normal((1, 2, 40, 8))
    v = rng.standard_normal((1, 2, 40, 3))
    got = entropy_invariant_attention(q, k, v, causal=True, length="per_query", enable_gqa=True)
    n_i = np.arange(1, 6) + 40 - 5
    ref = attention(q, np.repeat(k, 2, 1), np.repeat(v, 2, 1), causal=True,
                    scale=np.log(n_i) / math.log(512) / math.sqrt(8))
    np.testing.assert_allclose(got, ref, rtol=0, atol=attn_tol(q, k, v))


# ----------------------------------------------------------------------------- finite inputs, overflowing scores
@pytest.mark.parametrize("backend", BACKENDS)
def test_overflowing_scores_raise_instead_of_nan(backend):
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((6, 4)) for _ in range(3))
    with pytest.raises(ValueError, match="'q', 'k' and 'scale'.*overflows float64"):
        attention(q * 1e160, k * 1e160, v, backend=backend)
    with pytest.raises(ValueError, match="overflows float64"):
        attention(q * 1e150, k * 1e150, v, scale=1e20, backend=backend)
    with pytest.raises(ValueError, match="overflows float64"):
        entropy_invariant_attention(q * 1e160, k * 1e160, v, backend=backend)
    with pytest.raises(ValueError, match="overflows float64"):
        nope.causal_attention(np.ones((5, 3)) * 1e160, np.eye(3), np.eye(3), np.eye(3), backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_large_but_finite_scores_and_overflow_only_where_masked(backend):
    """Scores near 1e300 are fine (max-subtracted softmax); an overflow in a masked-out entry is harmless."""
    q = np.array([[1e150, 0.0], [0.0, 1e150]])
    k = np.array([[1e150, 0.0], [0.0, 1.0]])
    v = np.array([[1.0], [2.0]])
    out = attention(q, k, v, scale=1.0, backend=backend)  # s = [[1e300, 0], [0, 1e150]]
    assert np.array_equal(out, [[1.0], [2.0]])
    k2 = np.array([[1.0, 0.0], [1e160, 1e160]])
    q2 = np.array([[1.0, 0.0], [1e160, 1.0]])  # q2[0] . k2[1] = 1e160 is fine; q2[1] . k2[1] overflows
    mask = np.array([[True, True], [True, False]])
    out = attention(q2, k2, v, scale=1.0, mask=mask, backend=backend)
    assert np.all(np.isfinite(out)) and out[1, 0] == 1.0


# ----------------------------------------------------------------------------- flags, numbers, sizes, seeds
@pytest.mark.parametrize("call, param, exc", [
    (lambda: attention(Q, K, V, return_weights="no"), "'return_weights'", TypeError),
    (lambda: attention(Q, K, V, causal="no"), "'causal'", TypeError),
    (lambda: attention(Q, K, V, scale=True), "'scale'", TypeError),
    (lambda: attention(Q, K, V, scale=np.ones(4, bool)), "'scale'", TypeError),
    (lambda: attention(Q > 0, K, V), "'q'", TypeError),
    (lambda: attention(Q, K, V, mask=[[True, False], [True]]), "'mask'", TypeError),
    (lambda: attention(Q, K, V, mask=True), "'mask'", TypeError),
    (lambda: attention(Q, [[1.0, 2.0], [3.0]], V), "'k'", ValueError),
    (lambda: entropy_invariant_attention(Q, K, V, causal="yes"), "'causal'", TypeError),
    (lambda: logn_factor(True), "'n'", TypeError),
    (lambda: qwen_logn_factors([True, False], 8192), "'positions'", TypeError),
    (lambda: llama4_attention_scales(True), "'positions'", TypeError),
    (lambda: softmax_plus([[1.0, 2.0]], True), "'valid_len'", TypeError),
    (lambda: entropy_vs_length(1.0, seed=True), "'seed'", TypeError),
    (lambda: entropy_vs_length(1.0, seed=-1), "'seed'", ValueError),
    (lambda: entropy_vs_length(1.0, lengths=512), "'lengths'", ValueError),
    (lambda: entropy_vs_length(1.0, lengths=(2**62,)), "'lengths'.*bytes", ValueError),
    (lambda: nope.position_readback(L=2**40, d=2**20), "'L'.*bytes", ValueError),
    (lambda: nope.position_readback(seed="x"), "'seed'", TypeError),
    (lambda: nope.causal_attention(np.ones((3, 2)), np.eye(2), np.eye(2), np.eye(2), scale=True), "'scale'",
     TypeError),
    (lambda: nope.expected_mean_square(True), "'n'", TypeError),
    (lambda: attention(np.ones((2**16, 1, 1, 2)), np.ones((1, 2**16, 1, 2)), np.ones((1, 1, 1, 2))),
     "'q', 'k', 'v'.*bytes", ValueError),
])
def test_bad_flags_numbers_sizes_and_seeds(call, param, exc):
    with pytest.raises(exc, match=param):
        call()


def test_reference_refuses_a_score_matrix_beyond_memory():
    """The reference materialises n_q x n_k scores: refused with the bytes before allocating, numba streams."""
    q = k = np.ones((2**18, 2))  # 2**36 scores
    with pytest.raises(ValueError, match="'q' and 'k'.*bytes"):
        attention(q, k, k, backend="reference", causal=True)


@pytest.mark.parametrize("backend", BACKENDS)
def test_values_near_the_float64_limit_do_not_overflow(backend):
    """The streaming sums reach n_k max|v| before the division: v is scaled by a power of two first."""
    q = np.zeros((3, 2))
    k = np.ones((50, 2))
    v = np.full((50, 1), 1e307)
    v[::2] = 1.5e308
    out = attention(q, k, v, backend=backend)  # uniform weights: the mean of v
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, np.mean(v / 1e300) * 1e300, rtol=1e-14, atol=0)
