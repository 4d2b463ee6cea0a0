"""Runaway sizes and loops are refused by name before any work."""
import pytest

from refimpl.muon import fit_coefficients, polar_express_coefficients


def test_polar_express_steps_size():
    with pytest.raises(ValueError, match="'steps'"):
        polar_express_coefficients(steps=2**64)


@pytest.mark.parametrize("method, kwargs", [
    ("minmax", {"iterations": 2**64}),
    ("minmax", {"steps": 2**64, "iterations": 10}),
    ("kappa", {"iterations": 2**64, "shape": (4, 4), "n_matrices": 1}),
    ("kappa", {"steps": 2**64, "iterations": 10, "shape": (4, 4), "n_matrices": 1}),
])
def test_fit_coefficients_refuses_runaway_work(method, kwargs):
    with pytest.raises(ValueError, match="'iterations' and 'steps'"):
        fit_coefficients(method, **kwargs)


def test_fit_coefficients_refuses_a_huge_sample():
    with pytest.raises(ValueError, match="'n_matrices'"):
        fit_coefficients("kappa", shape=(4, 4), n_matrices=2**64, iterations=10)
