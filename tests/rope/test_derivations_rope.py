"""The SymPy derivations of the rope topic run and agree with refimpl (also run by `refimpl verify`)."""
import pytest

from refimpl.derivations import rope_relative, rope_scaling


@pytest.mark.parametrize("mod", [rope_relative, rope_scaling], ids=lambda m: m.__name__)
def test_derivation_check(mod):
    err = mod.check()
    assert err is not None and err < 1e-12
