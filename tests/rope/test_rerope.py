"""refimpl.rope.rerope: relative positions, ReRoPE / Leaky ReRoPE scores and decode, logn."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl.rope import (apply, inv_freq, logn_scale, relative_positions, rerope_decode_scores, rerope_scores,
                          rotation_matrix)
from refimpl.testing import head_dims, seeds

EPS = np.finfo(np.float64).eps
windows = st.integers(1, 40)


@given(L=st.integers(1, 200), w=windows)
def test_rerope_relative_position_never_exceeds_window(L, w):
    rho = relative_positions(L, "rerope", window=w)
    assert np.max(rho) <= w
    lower = np.tril(rho)
    i, j = np.tril_indices(L)
    assert np.array_equal(lower[i, j], np.minimum(i - j, w))
    if L <= w + 1:
        assert np.array_equal(rho, relative_positions(L))  # equals RoPE while i - j <= w


@given(L=st.integers(2, 200), w=windows, k=st.floats(1.0, 1e3))
def test_leaky_rerope_properties(L, w, k):
    rho = relative_positions(L, "leaky_rerope", window=w, factor=k)
    assert np.max(rho) == pytest.approx(max(L - 1, 0) if L - 1 < w else w + (L - 1 - w) / k, rel=4 * EPS)
    assert np.array_equal(relative_positions(L, "leaky_rerope", window=w, factor=1.0), relative_positions(L))
    # between ReRoPE and RoPE, and continuous at i - j = w (both pieces give w there)
    assert np.all(rho <= relative_positions(L) + 1e-12)
    assert np.all(rho >= relative_positions(L, "rerope", window=w) - 1e-12)
    big = relative_positions(L, "leaky_rerope", window=w, factor=1e15)
    np.testing.assert_allclose(big, relative_positions(L, "rerope", window=w), atol=L * 1e-15)


@pytest.mark.parametrize("layout", ["half", "interleaved"])
@given(seed=seeds(), d=head_dims(2, 16), L=st.integers(1, 24), w=st.integers(1, 30),
       factor=st.one_of(st.none(), st.floats(1.0, 100.0)))
@settings(max_examples=40)
def test_two_pass_merge_equals_direct_relative_matrix(layout, seed, d, L, w, factor):
    rng = np.random.default_rng(seed)
    q, k = rng.standard_normal((2, 2, L, d))
    th = inv_freq(d)
    a = rerope_scores(q, k, th, w, factor, layout=layout)
    b = rerope_scores(q, k, th, w, factor, method="direct", layout=layout)
    # each score is a d-term dot product of rotated vectors: error <= (d + 8) eps (1 + L) sum|q||k|
    bound = (d + 8) * EPS * (1 + L) * np.einsum("...id,...jd->...ij", np.abs(q), np.abs(k))
    assert np.all(np.abs(a - b) <= bound)
    dec = rerope_decode_scores(q[:, -1], k, th, w, factor, layout=layout)
    assert np.all(np.abs(dec - a[:, -1]) <= bound[:, -1])


def test_rerope_equals_rope_when_the_window_covers_the_sequence():
    rng = np.random.default_rng(3)
    q, k = rng.standard_normal((2, 10, 8))
    th = inv_freq(8)
    pos = np.arange(10)
    rope = apply(q, pos, th) @ apply(k, pos, th).T
    np.testing.assert_allclose(rerope_scores(q, k, th, window=10), rope, rtol=0, atol=1e-13)
    np.testing.assert_allclose(rerope_scores(q, k, th, window=4, factor=1.0), rope, rtol=0, atol=1e-13)


def test_second_pass_sign():
    """Scores beyond the window use q^T R_(-w) k; the article's q^T R_w k would differ (ERRATA)."""
    rng = np.random.default_rng(4)
    q, k = rng.standard_normal((2, 12, 8))
    th = inv_freq(8, 100.0)
    w = 3
    s = rerope_scores(q, k, th, w, layout="interleaved")
    right = q[11] @ rotation_matrix(-w, th) @ k[0]
    wrong = q[11] @ rotation_matrix(w, th) @ k[0]
    assert s[11, 0] == pytest.approx(right, abs=1e-13)
    assert abs(s[11, 0] - wrong) > 1e-3


@given(n=st.integers(1, 10**7), L=st.sampled_from([512, 2048, 4096]))
def test_logn_scale(n, L):
    v = logn_scale(n, L)
    if n <= L:
        assert v == 1.0
    else:
        assert v == pytest.approx(np.log(n) / np.log(L), rel=2 * EPS)
        assert logn_scale(n + 1, L) >= v


BAD = [
    ("'window'", lambda: relative_positions(5, "rerope", window=0.5)),
    ("'window'", lambda: relative_positions(5, "rerope")),
    ("'factor'", lambda: relative_positions(5, "leaky_rerope", window=2, factor=0.5)),
    ("'factor'", lambda: relative_positions(5, "leaky_rerope", window=2)),
    ("'factor'", lambda: relative_positions(5, "rerope", window=2, factor=2.0)),
    ("'window'", lambda: relative_positions(5, "rope", window=2)),
    ("'method'", lambda: relative_positions(5, "alibi")),
    ("'L'", lambda: relative_positions(0)),
    ("'window'", lambda: rerope_scores(np.ones((3, 4)), np.ones((3, 4)), inv_freq(4), window=0)),
    ("'q'", lambda: rerope_scores(np.ones((3, 4)), np.ones((2, 4)), inv_freq(4), window=2)),
    ("'inv_freq'", lambda: rerope_scores(np.ones((3, 4)), np.ones((3, 4)), inv_freq(2), window=2)),
    ("'method'", lambda: rerope_scores(np.ones((3, 4)), np.ones((3, 4)), inv_freq(4), 2, method="fast")),
    ("'k_cache_pre_rope'", lambda: rerope_decode_scores(np.ones(4), np.ones((3, 6)), inv_freq(4), window=2)),
    ("'window'", lambda: rerope_decode_scores(np.ones(4), np.ones((3, 4)), inv_freq(4), window=-1)),
    ("'n'", lambda: logn_scale([0, 5], 512)),
    ("'n'", lambda: logn_scale([np.nan], 512)),
    ("'train_len'", lambda: logn_scale(5, 1.0)),
]


@pytest.mark.parametrize("match, call", BAD)
def test_bad_input(match, call):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("call", [
    lambda: rerope_scores(np.full((2, 2), 1e200), np.full((2, 2), 1e200), [1.0], 1.0),
    lambda: rerope_scores(np.full((2, 2), 1e200), np.full((2, 2), 1e200), [1.0], 1.0, method="direct"),
    lambda: rerope_decode_scores(np.full(2, 1e200), np.full((2, 2), 1e200), [1.0], 1.0),
])
def test_score_overflow_raises(call):
    with pytest.raises(ValueError, match="'q' and 'k'.*float64"):
        call()
