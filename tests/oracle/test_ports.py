"""Correct ports of the public code pass check_against at refimpl's defaults, or with one documented pin."""
import numpy as np
import pytest

from refimpl.testing import check_against
from refimpl.testing.cases import all_cases


def keller_newton_schulz(G, steps=5, eps=1e-7):
    """KellerJordan/Muon's zeropower_via_newtonschulz5, in float64 NumPy."""
    a, b, c = (3.4445, -4.7750, 2.0315)
    X = G / (np.linalg.norm(G, axis=(-2, -1), keepdims=True) + eps)
    tall = G.shape[-2] > G.shape[-1]
    if tall:
        X = np.swapaxes(X, -1, -2)
    for _ in range(steps):
        A = X @ np.swapaxes(X, -1, -2)
        X = a * X + (b * A + c * A @ A) @ X
    return np.swapaxes(X, -1, -2) if tall else X


def test_keller_newton_schulz_passes_at_the_defaults():
    res = check_against("muon.newton_schulz", keller_newton_schulz, max_examples=40)
    assert res, res.message


def test_a_failure_explained_by_a_held_default_says_how_to_pin_it():
    def prescaled(G, steps=5, eps=1e-7):  # the scale-invariant form: ||G||_F < 1 scaled into [1, 2) by 2^k
        f = np.linalg.norm(G, axis=(-2, -1), keepdims=True)
        _, e = np.frexp(f)
        return keller_newton_schulz(G * np.where(f < 1, np.ldexp(1.0, 1 - e), 1.0), steps, eps)

    res = check_against("muon.newton_schulz", prescaled, max_examples=30)
    assert not res
    assert "hint: the candidate agrees with refimpl at prescale=True" in res.message
    assert "fixed={'prescale': True}" in res.message
    assert check_against("muon.newton_schulz", prescaled, fixed={"prescale": True}, max_examples=20)


PORTS = ["muon.newton_schulz", "muon.muon_update", "muon.muon_step", "rope.apply", "rope.scaled_inv_freq",
         "ssm.kernel_diag"]


@pytest.mark.parametrize("name", PORTS)
def test_each_public_reference_has_a_port_with_at_most_one_pin(name):
    """The peers of these rows are ports of the public code (KellerJordan, Moonlight, torch, transformers, s4)."""
    case = all_cases()[name]
    assert case.peers, f"{name} has no peer (a port of the public code it follows)"
    defaults = case.keyword_defaults()
    departures = [{k: v for k, v in p.fixed.items() if k in defaults and defaults[k] != v} for p in case.peers]
    assert min(len(d) for d in departures) <= 1, [(p.name, d) for p, d in zip(case.peers, departures)]
