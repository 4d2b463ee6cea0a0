"""refimpl.attention.nope: causal mean, MS = sigma^2/n, permutation (in)variance, position read-back."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl.attention.nope import (bidirectional_attention, causal_attention, causal_mean, expected_mean_square,
                                    mean_square, position_readback)
from refimpl.testing import seeds

EPS = np.finfo(np.float64).eps


def test_causal_mean_is_uniform_causal_attention(rng):
    L, d = 50, 7
    v = rng.standard_normal((L, d))
    A = np.tril(np.ones((L, L))) / np.arange(1, L + 1)[:, None]
    np.testing.assert_allclose(causal_mean(v), A @ v, rtol=0, atol=8 * L * EPS * np.max(np.abs(v)))
    # zero logits: causal attention is exactly the causal mean
    x = rng.standard_normal((L, 5))
    W0 = np.zeros((5, 3))
    np.testing.assert_allclose(causal_attention(x, W0, W0, np.eye(5)), causal_mean(x), rtol=0, atol=1e-14)


def test_mean_square_of_causal_mean_is_sigma2_over_n():
    rng = np.random.default_rng(3)
    trials, L, d, sigma2 = 40, 1024, 64, 2.5
    v = rng.standard_normal((trials, L, d)) * math.sqrt(sigma2)
    ms = mean_square(causal_mean(v)).mean(axis=0)
    n = np.arange(1, L + 1)
    want = expected_mean_square(n, sigma2)
    # MS of one row is sigma2/n times chi^2_d / d: relative sd sqrt(2/d); averaged over trials
    tol = 5 * math.sqrt(2 / (trials * d))
    assert np.max(np.abs(ms / want - 1)) < tol


def test_position_readback_slope_minus_one():
    r = position_readback(L=512, d=128, trials=128, seed=1)
    assert abs(r.slope + 1) < 5 * 0.4 * math.sqrt(2 / (128 * 128))  # 5 standard errors
    assert abs(r.intercept - 0.0) < 0.05  # log sigma2 = 0
    assert np.median(r.rel_err) < 3 * math.sqrt(2 / 128)
    assert r.positions[0] == 1 and r.ms.shape == (512,)


def _weights(rng, D=6, d=4):
    return rng.standard_normal((D, d)), rng.standard_normal((D, d)), rng.standard_normal((D, 3))


@settings(max_examples=25)
@given(seed=seeds(), L=st.integers(3, 40))
def test_bidirectional_invariant_causal_not(seed, L):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((L, 6))
    wq, wk, wv = _weights(rng)
    perm = rng.permutation(L)
    while np.array_equal(perm, np.arange(L)):
        perm = rng.permutation(L)
    y = bidirectional_attention(x, wq, wk, wv)
    # y_n depends on the set of keys only: permuting x permutes the rows of y the same way
    np.testing.assert_allclose(bidirectional_attention(x[perm], wq, wk, wv), y[perm], rtol=0, atol=1e-13)
    c = causal_attention(x, wq, wk, wv)
    cp = causal_attention(x[perm], wq, wk, wv)
    assert np.max(np.abs(cp - c[perm])) > 1e-8  # causal attention is not permutation-equivariant
    # but y_n is invariant to permutations inside the prefix x_1..x_{n-1} (x_n kept last)
    n = L - 1
    pre = np.concatenate([rng.permutation(n), [n]])
    cpre = causal_attention(x[pre], wq, wk, wv)
    np.testing.assert_allclose(cpre[n], c[n], rtol=0, atol=1e-13)


def test_gap_between_neighbouring_positions_shrinks():
    n = np.array([10.0, 100.0, 1000.0, 10000.0])
    gap = 1 / np.sqrt(n) - 1 / np.sqrt(n + 1)
    assert np.all(np.abs(gap / (0.5 * n**-1.5) - 1.0) < 1 / n)  # gap = n^-1.5/2 (1 - 3/(4n) + ...)


@pytest.mark.parametrize("call, param", [
    (lambda: causal_mean(np.ones(3)), "'v'"),
    (lambda: causal_mean(np.ones((0, 3))), "'v'"),
    (lambda: causal_mean([[np.nan]]), "'v'"),
    (lambda: mean_square([]), "'y'"),
    (lambda: expected_mean_square(0), "'n'"),
    (lambda: expected_mean_square(3, -1.0), "'sigma2'"),
    (lambda: causal_attention(np.ones((4, 3)), np.ones((2, 2)), np.ones((3, 2)), np.ones((3, 2))), "'wq'"),
    (lambda: causal_attention(np.ones((4, 3)), np.ones((3, 2)), np.ones((3, 5)), np.ones((3, 2))), "'wq' and 'wk'"),
    (lambda: bidirectional_attention(np.ones((0, 3)), np.ones((3, 2)), np.ones((3, 2)), np.ones((3, 2))), "'x'"),
    (lambda: position_readback(L=1), "'L'"),
])
def test_bad_input(call, param):
    with pytest.raises(ValueError, match=param):
        call()


@settings(max_examples=20)
@given(seed=seeds(), L=st.integers(2, 60))
def test_outputs_invariant_to_key_value_permutations_only_when_bidirectional(seed, L):
    from refimpl.attention import attention
    rng = np.random.default_rng(seed)
    q, k, v = (rng.standard_normal((L, 5)) for _ in range(3))
    perm = rng.permutation(L)
    np.testing.assert_allclose(attention(q, k[perm], v[perm]), attention(q, k, v), rtol=0, atol=1e-13)
    if not np.array_equal(perm, np.arange(L)):
        assert np.max(np.abs(attention(q, k[perm], v[perm], causal=True) - attention(q, k, v, causal=True))) > 1e-10
