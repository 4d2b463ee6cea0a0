"""Each SSM derivation's check() passes (they also run under `refimpl verify ssm`)."""
import importlib

import pytest


@pytest.mark.parametrize("name", ["hippo_legt", "hippo_lagt", "hippo_fourier", "discretization"])
def test_derivation_check(name):
    mod = importlib.import_module(f"derivations.{name}")
    assert mod.TOPIC == "ssm"
    err = mod.check()
    assert err is None or err < 1e-14
