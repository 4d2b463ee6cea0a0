"""Huge sizes in the closed forms give their finite values; the tied quadrature refuses d beyond its range."""
import math

import pytest

from refimpl.embedding import expected_init_loss, init_std_for_uniform_loss, simulate_init_loss, tied_init_loss


def test_closed_forms_at_huge_sizes():
    n = 2**64
    assert tied_init_loss(n, 8, 0.25) == pytest.approx(math.log(n - 1), rel=1e-15, abs=0.0)
    assert init_std_for_uniform_loss(n, 2**64) == pytest.approx(math.log(n) / 2.0**64, rel=1e-15, abs=0.0)
    assert expected_init_loss(n, 8, 0.25, "untied") == pytest.approx(math.log(n) + 0.25, rel=1e-15, abs=0.0)


def test_sizes_beyond_float64_and_the_tied_quadrature_are_refused():
    with pytest.raises(ValueError, match="'d'"):
        tied_init_loss(10, 2**1100, 0.1)
    with pytest.raises(ValueError, match="'n_vocab'"):
        init_std_for_uniform_loss(2**1100, 8)
    with pytest.raises(ValueError, match="'d'"):
        expected_init_loss(10, 2**64, 1e-10, "tied")


def test_simulation_size_names_d():
    with pytest.raises(ValueError, match="'d'"):
        simulate_init_loss(10, 2**64, 0.1, rng=0)
