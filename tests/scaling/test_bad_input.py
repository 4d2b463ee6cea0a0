"""Ragged batch sizes and booleans are refused by name."""
import pytest

from refimpl.scaling import loss_decrease_sgd, sign_moments


def test_ragged_batch_names_B():
    with pytest.raises(ValueError, match="'B'"):
        loss_decrease_sgd([1.0, 2.0], [1.0, 1.0], [1.0, 1.0], [[1.0, 2.0], [3.0]])


def test_sign_moments_refuses_booleans():
    with pytest.raises(TypeError, match="'B'"):
        sign_moments([1.0], [1.0], True)
    with pytest.raises(TypeError, match="'exact'"):
        sign_moments([1.0], [1.0], 8.0, exact="no")
