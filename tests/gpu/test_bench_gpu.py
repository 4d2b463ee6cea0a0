"""bench/gpu.py: registers nothing without a GPU; its cases run (quick sizes) with a NumPy stand-in for CuPy."""
import importlib

import numpy as np
import pytest

from bench import _harness

from ._util import NumpyAsCupy as FakeCupy


@pytest.fixture(autouse=True)
def _restore_bench_gpu():
    """Reloading bench.gpu rebinds its globals (cp, the case closures): put the originals back afterwards."""
    import bench.gpu as gpu

    saved = dict(vars(gpu))
    yield
    vars(gpu).clear()
    vars(gpu).update(saved)


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
    import refimpl.rope._xp as rope_xp
    import refimpl.ssm._xp as ssm_cupy

    # the RawKernels need CUDA: route the stand-in through the xp twins
    monkeypatch.setattr(rope_xp, "fused_kernel", rope_xp.rotate)
    monkeypatch.setattr(ssm_cupy, "cauchy_raw", ssm_cupy.cauchy_xp)
    expected = {"gpu.attention_causal_16k", "gpu.attention_causal_64k", "gpu.rope_1m_float32",
                "gpu.rope_1m_float64", "gpu.cauchy_65536", "gpu.newton_schulz_8192",
                "gpu.nqm_montecarlo"}
    assert expected <= set(cases)
    for name in sorted(cases):
        spec, rows, ok = _harness.run_case(name, quick=True)
        assert ok, (name, [(r.label, r.max_rel_err) for r in rows])
        assert any(r.kind == "refimpl" and r.label.startswith("refimpl cupy") for r in rows)
        assert "fake device" in spec.notes
