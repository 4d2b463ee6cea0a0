"""bench/gpu.py: registers nothing without a GPU; its cases run (quick sizes) with a NumPy stand-in for CuPy."""
import importlib

import numpy as np
import pytest

from bench import _harness


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


class FakeCupy:
    """NumPy with a ``cuda`` attribute: enough for bench/gpu.py's own code (not for RawKernels)."""

    __name__ = "numpy"
    cuda = _FakeCuda

    def __getattr__(self, name):
        return getattr(np, name)


def _load_gpu_bench(monkeypatch, cp):
    import refimpl._backend as backend

    monkeypatch.setattr(backend, "cupy_or_none", lambda: cp)
    monkeypatch.setattr(_harness, "CASES", {})
    import bench.gpu as gpu

    return importlib.reload(gpu), _harness.CASES


def test_no_gpu_registers_no_case(monkeypatch):
    _, cases = _load_gpu_bench(monkeypatch, None)
    assert cases == {}


def test_cases_run_quick_with_stand_in(monkeypatch):
    gpu, cases = _load_gpu_bench(monkeypatch, FakeCupy())
    monkeypatch.setattr(gpu, "_torch_cuda", lambda: None)
    import refimpl.rope._cupy as rope_cupy

    real = rope_cupy.apply_xp
    # the fused RawKernel needs CUDA: route the stand-in through the xp twin
    monkeypatch.setattr(rope_cupy, "apply_xp", lambda xp, *a, fused=True, **k: real(xp, *a, fused=False, **k))
    expected = {"gpu.attention_causal_16k", "gpu.attention_causal_64k", "gpu.rope_1m_float32",
                "gpu.rope_1m_float64"}
    assert expected <= set(cases)
    for name in sorted(cases):
        spec, rows, ok = _harness.run_case(name, quick=True)
        assert ok, (name, [(r.label, r.max_rel_err) for r in rows])
        assert any(r.kind == "floor" for r in rows)
        assert "fake device" in spec.notes
