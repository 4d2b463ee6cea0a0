"""refimpl._backend: backend resolution rules."""
import numpy as np
import pytest

from refimpl import BackendUnavailableError
from refimpl import _backend
from refimpl._numba import HAVE_NUMBA


def test_auto_prefers_numba_for_numpy_input():
    want = "numba" if HAVE_NUMBA else "reference"
    assert _backend.resolve_backend("auto", np.ones(3)) == want


def test_auto_without_numba_path_is_the_reference():
    assert _backend.resolve_backend("auto", np.ones(3), supported=("reference",)) == "reference"


def test_explicit_numpy_is_the_reference():
    assert _backend.resolve_backend("numpy", np.ones(3)) == "reference"
    assert _backend.resolve_backend("reference", np.ones(3)) == "reference"


def test_unknown_backend_lists_choices():
    with pytest.raises(ValueError, match="'backend'.*'auto', 'reference', 'numpy', 'numba', 'cupy'"):
        _backend.resolve_backend("torch")


def test_unsupported_path_is_value_error():
    with pytest.raises(ValueError, match="implements 'reference'"):
        _backend.resolve_backend("numba", supported=("reference",))


def test_cupy_without_gpu_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(_backend, "cupy_or_none", lambda: None)
    with pytest.raises(BackendUnavailableError, match="CuPy"):
        _backend.resolve_backend("cupy", supported=("reference", "cupy"))


def test_numba_missing_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(_backend, "HAVE_NUMBA", False)
    with pytest.raises(BackendUnavailableError, match="numba"):
        _backend.resolve_backend("numba")
    assert _backend.resolve_backend("auto", np.ones(2)) == "reference"


class _FakeCupyArray:
    pass


_FakeCupyArray.__module__ = "cupy._core.core"


def test_cupy_input_selects_cupy_under_auto(monkeypatch):
    monkeypatch.setattr(_backend, "cupy_or_none", lambda: object())
    x = _FakeCupyArray()
    assert _backend.is_cupy_array(x)
    assert _backend.resolve_backend("auto", x, supported=("reference", "numba", "cupy")) == "cupy"
    with pytest.raises(ValueError, match="CuPy input"):
        _backend.resolve_backend("numpy", x, supported=("reference", "cupy"))


def test_available_backends_has_numpy():
    assert "numpy" in _backend.available_backends()
    assert _backend.get_array_module(np.ones(1)) is np
