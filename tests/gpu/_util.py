"""Helpers of the GPU tests: a CuPy handle that skips with the reason, and host copies."""
import importlib

import numpy as np
import pytest

from refimpl._backend import cupy_or_none


def require_cupy():
    """The ``cupy`` module, or skip naming why it cannot run here."""
    cp = cupy_or_none()
    if cp is not None:
        return cp
    try:
        importlib.import_module("cupy")
    except Exception as exc:  # ImportError, or a CUDA library error at import
        pytest.skip(f"CuPy not importable ({type(exc).__name__}: {exc}); the CuPy paths need a CUDA GPU")
    pytest.skip("CuPy imports but sees no CUDA device; the CuPy paths need a GPU")


def host(x):
    """NumPy copy of a CuPy array (asserting it is one)."""
    assert type(x).__module__.split(".")[0] == "cupy", f"expected a CuPy array, got {type(x)}"
    return x.get()


class FakeCupyArray:
    """Stands in for ``cupy.ndarray`` in routing tests: only its module name matters."""

    def __init__(self, value=None):
        self.value = np.asarray(value if value is not None else np.ones((4, 2)))
        self.shape = self.value.shape


FakeCupyArray.__module__ = "cupy._core.core"
