"""Run the Examples sections of every refimpl docstring."""
import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import refimpl

MODULES = sorted(m.name for m in pkgutil.walk_packages(refimpl.__path__, "refimpl.")
                 if not m.name.endswith(("pytest_plugin", "__main__")))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    with np.printoptions(legacy=False):
        result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"
