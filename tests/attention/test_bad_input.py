"""Bad input is refused by name before any work; huge floors give the documented finite values."""
import math

import numpy as np
import pytest

from refimpl.attention import (entropy_vs_length, llama4_attention_scales, logn_factor, qwen_logn_factors,
                               softmax_plus)
from refimpl.attention import nope


def test_ragged_lengths_name_the_parameter():
    with pytest.raises(ValueError, match="'n'"):
        logn_factor([[1.0, 2.0], [3.0]])
    with pytest.raises(ValueError, match="'positions'"):
        qwen_logn_factors([[1, 2], [3]], 8192)
    with pytest.raises(ValueError, match="'n'"):
        nope.expected_mean_square([[1, 2], [3]], 1.0)


def test_entropy_vs_length_refuses_runaway_work_before_drawing():
    with pytest.raises(ValueError, match="'trials'"):
        entropy_vs_length(4.0, d=4, lengths=(8,), n_queries=1, trials=2**64)
    with pytest.raises(ValueError, match="'n_queries'"):
        entropy_vs_length(4.0, d=4, lengths=(8,), n_queries=2**64)


def test_position_readback_size_names_trials_and_d():
    with pytest.raises(ValueError, match="'trials'"):
        nope.position_readback(8, d=4, trials=2**64)
    with pytest.raises(ValueError, match="'d'"):
        nope.position_readback(8, d=2**64)


def test_huge_floors_give_the_documented_values():
    s = np.array([[0.5, -1.0, 2.0]])
    w = softmax_plus(s, [3], min_len=2**64)
    lam = math.log(2.0**64) / math.log(512)
    e = np.exp(lam * (s - s.max()))
    np.testing.assert_allclose(w, e / e.sum(), rtol=1e-14, atol=0.0)
    np.testing.assert_array_equal(llama4_attention_scales([0, 8191, 10**6], floor_scale=2**64), 1.0)
    np.testing.assert_array_equal(qwen_logn_factors([1, 8192, 10**6], 2**64), 1.0)


def test_base_is_a_real_number():
    assert logn_factor(2.5**3, base=2.5) == pytest.approx(3.0, rel=1e-15, abs=0.0)
    assert logn_factor(2.0**64, base=2**64) == pytest.approx(1.0, rel=1e-15, abs=0.0)
