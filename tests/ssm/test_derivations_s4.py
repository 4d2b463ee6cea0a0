"""The S4/RTF derivations' check() passes (they also run under `refimpl verify ssm`)."""
import importlib

import pytest


@pytest.mark.parametrize("name", ["s4_woodbury", "rtf"])
def test_derivation_check(name):
    mod = importlib.import_module(f"derivations.{name}")
    assert mod.TOPIC == "ssm"
    err = mod.check()
    assert err is not None and err < 1e-13
