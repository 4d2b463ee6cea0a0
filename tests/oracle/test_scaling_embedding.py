"""Oracle cases of scaling and embedding: correct ports pass, an overflowing formula is caught."""
import math

import numpy as np
import pytest

from refimpl.testing import check_against


def b_noise_port(g, H, Sigma):
    S = np.diag(Sigma) if Sigma.ndim == 1 else Sigma
    return np.trace(S @ H) / (g @ H @ g)


def lr_port(g, H, Sigma, B):
    S = np.diag(Sigma) if Sigma.ndim == 1 else Sigma
    return (g @ g) / (g @ H @ g + np.trace(S @ H) / B)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_scaling_ports_pass(dtype):
    assert check_against("scaling.b_noise", b_noise_port, dtype=dtype, max_examples=60)
    assert check_against("scaling.optimal_lr_sgd", lr_port, dtype=dtype, max_examples=60)


def test_scaling_mutant_missing_batch_division_is_caught():
    res = check_against("scaling.optimal_lr_sgd", lambda g, H, Sigma, B: lr_port(g, H, Sigma, np.ones_like(B)),
                        max_examples=60)
    assert not res


def test_tied_init_loss_stable_passes_naive_overflows():
    stable = lambda n_vocab, d, sigma: float(np.logaddexp(d * sigma, math.log(n_vocab - 1) if n_vocab > 1
                                                          else -np.inf))  # noqa: E731
    assert check_against("embedding.tied_init_loss", stable, max_examples=100)
    with np.errstate(over="ignore"):
        naive = check_against("embedding.tied_init_loss",
                              lambda n_vocab, d, sigma: float(np.log(np.exp(d * sigma) + n_vocab - 1)),
                              max_examples=100)
    assert not naive and "non-finite value inf" in naive.counterexample.reason
    assert naive.counterexample.inputs["d"] * naive.counterexample.inputs["sigma"] > 709


def test_tied_init_loss_float32():
    f32 = lambda n_vocab, d, sigma: np.float32(np.logaddexp(np.float32(d * sigma), np.log(np.float32(n_vocab - 1))))  # noqa: E731
    with np.errstate(divide="ignore"):
        res = check_against("embedding.tied_init_loss", f32, dtype="float32", max_examples=100)
    assert res, res.message
