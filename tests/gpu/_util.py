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

    def get(self):
        """Device-to-host copy, as ``cupy.ndarray.get``."""
        return self.value.copy()


FakeCupyArray.__module__ = "cupy._core.core"


class _Stream:
    def synchronize(self):
        return None


class _FakeCuda:
    class runtime:
        @staticmethod
        def getDeviceProperties(i):
            return {"name": b"fake device (NumPy stand-in)"}

    class Device:
        id = 0

        def synchronize(self):
            return None

    @staticmethod
    def get_current_stream():
        return _Stream()


class NumpyAsCupy:
    """NumPy posing as the ``cupy`` module (plus a ``cuda`` attribute).

    With it, ``backend="cupy"`` runs the whole CuPy route on the CPU (the
    RawKernels excepted, which need CUDA and are replaced by their xp twins):
    validation, dispatch, the xp code and the result handling.
    """

    __name__ = "numpy"
    cuda = _FakeCuda

    def __getattr__(self, name):
        return getattr(np, name)


@pytest.fixture
def numpy_as_cupy(monkeypatch):
    import refimpl._backend as backend
    import refimpl._gpu as gpu
    from refimpl.rope import _xp as rope_xp
    from refimpl.ssm import _xp as ssm_cupy

    fake = NumpyAsCupy()
    monkeypatch.setattr(backend, "cupy_or_none", lambda: fake)
    monkeypatch.setattr(gpu, "cupy_or_none", lambda: fake)
    monkeypatch.setattr(rope_xp, "fused_kernel", rope_xp.rotate)
    monkeypatch.setattr(ssm_cupy, "cauchy_raw", ssm_cupy.cauchy_xp)
    return fake
