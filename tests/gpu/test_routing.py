"""Backend selection of the CuPy paths, tested without a GPU.

A CuPy input (a stand-in type whose module is ``cupy``, as
tests/test_backend.py does) must route to the CuPy implementation under
``backend="auto"``; ``backend="cupy"`` without a usable CuPy raises
:class:`refimpl.BackendUnavailableError`; CuPy input with ``backend="numpy"``
is a ``ValueError``.
"""
import importlib

import numpy as np
import pytest

import refimpl.attention.core as attention_core
from refimpl import BackendUnavailableError, _backend
from refimpl.attention import _xp as attention_cupy
from refimpl.attention import attention, entropy_invariant_attention
from refimpl.rope import _xp as rope_xp
from refimpl.rope import apply, inv_freq

from ._util import FakeCupyArray

FAKE_CP = object()
rope_apply = importlib.import_module("refimpl.rope.apply")  # the package attribute is the function


@pytest.fixture
def fake_gpu(monkeypatch):
    """Pretend CuPy sees a GPU: cupy_or_none returns a sentinel module."""
    monkeypatch.setattr(_backend, "cupy_or_none", lambda: FAKE_CP)
    import refimpl._gpu as gpu

    monkeypatch.setattr(gpu, "cupy_or_none", lambda: FAKE_CP)
    return FAKE_CP


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(_backend, "cupy_or_none", lambda: None)


def _recorder(monkeypatch, module, name):
    calls = []

    def fake(xp, *args, **kwargs):
        calls.append((xp, args, kwargs))
        return "from-cupy-path"

    monkeypatch.setattr(module, name, fake)
    return calls


def test_attention_cupy_input_routes_to_cupy_path(fake_gpu, monkeypatch):
    calls = _recorder(monkeypatch, attention_cupy, "attention_xp")
    q = FakeCupyArray()
    assert attention(q, q, q, causal=True) == "from-cupy-path"
    assert calls[0][0] is FAKE_CP and calls[0][2]["causal"] is True


def test_attention_backend_cupy_with_numpy_input_routes_to_cupy(fake_gpu, monkeypatch):
    calls = _recorder(monkeypatch, attention_cupy, "attention_xp")
    q = np.ones((3, 2))
    assert attention(q, q, q, backend="cupy") == "from-cupy-path"
    assert len(calls) == 1


def test_attention_cupy_mask_or_scale_alone_selects_cupy(fake_gpu, monkeypatch):
    calls = _recorder(monkeypatch, attention_cupy, "attention_xp")
    q = np.ones((3, 2))
    attention(q, q, q, scale=FakeCupyArray(np.ones(3)))
    attention(q, q, q, mask=FakeCupyArray(np.ones((3, 3), bool)))
    assert len(calls) == 2


def test_entropy_invariant_attention_cupy_input_uses_device_prepare(fake_gpu, monkeypatch):
    seen = []

    def fake_prepare(xp, *args):
        seen.append(xp)
        raise RuntimeError("stop after routing")

    monkeypatch.setattr(attention_cupy, "prepare_xp", fake_prepare)
    q = FakeCupyArray()
    with pytest.raises(RuntimeError, match="stop after routing"):
        entropy_invariant_attention(q, q, q)
    assert seen == [FAKE_CP]


def test_rope_cupy_input_routes_to_cupy_path(fake_gpu, monkeypatch):
    calls = _recorder(monkeypatch, rope_xp, "apply")
    x = FakeCupyArray(np.ones((5, 8)))
    assert apply(x, np.arange(5), inv_freq(8), "interleaved") == "from-cupy-path"
    assert calls[0][0] is FAKE_CP and calls[0][1][3] == "interleaved"


def test_rope_cupy_positions_alone_select_cupy(fake_gpu, monkeypatch):
    calls = _recorder(monkeypatch, rope_xp, "apply")
    apply(np.ones((5, 8)), FakeCupyArray(np.arange(5)), inv_freq(8))
    assert len(calls) == 1


@pytest.mark.parametrize("call", [
    lambda: attention(np.ones((3, 2)), np.ones((3, 2)), np.ones((3, 2)), backend="cupy"),
    lambda: entropy_invariant_attention(np.ones((3, 2)), np.ones((3, 2)), np.ones((3, 2)), backend="cupy"),
    lambda: apply(np.ones((5, 8)), np.arange(5), inv_freq(8), backend="cupy"),
], ids=["attention", "entropy_invariant_attention", "rope.apply"])
def test_backend_cupy_without_cupy_raises(no_gpu, call):
    with pytest.raises(BackendUnavailableError, match="CuPy"):
        call()


def test_cupy_input_with_numpy_backend_is_value_error(fake_gpu):
    q = FakeCupyArray()
    with pytest.raises(ValueError, match="'backend'.*CuPy input"):
        attention(q, q, q, backend="numpy")
    with pytest.raises(ValueError, match="'backend'.*CuPy input"):
        apply(FakeCupyArray(np.ones((5, 8))), np.arange(5), inv_freq(8), backend="numba")


def test_numpy_input_does_not_touch_cupy(monkeypatch):
    """NumPy inputs under "auto" never ask for CuPy (no import, no device query)."""
    def boom():
        raise AssertionError("cupy_or_none called for a NumPy input")

    monkeypatch.setattr(_backend, "cupy_or_none", boom)
    q = np.ones((3, 2))
    assert attention(q, q, q).shape == (3, 2)
    assert apply(np.ones((5, 8)), np.arange(5), inv_freq(8)).shape == (5, 8)


def test_core_modules_import_the_cupy_modules():
    """The dispatch in the public modules points at the CuPy modules tested on the GPU."""
    assert attention_core._xp is attention_cupy
    assert rope_apply._xp is rope_xp
