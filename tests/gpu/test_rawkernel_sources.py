"""The CUDA RawKernel sources compile (NVRTC, no GPU needed); skipped where CuPy's NVRTC binding is absent."""
import importlib

import pytest

MODULES = ["refimpl.rope._xp", "refimpl.ssm._xp"]


@pytest.mark.parametrize("module", MODULES)
def test_rawkernel_source_compiles_with_nvrtc(module):
    try:
        nvrtc = importlib.import_module("cupy_backends.cuda.libs.nvrtc")
        prog = nvrtc.createProgram("extern \"C\" __global__ void f() {}", "probe.cu", [], [])
        nvrtc.compileProgram(prog, ["-arch=compute_80"])
    except Exception as exc:  # ImportError, or NVRTC library missing
        pytest.skip(f"CuPy's NVRTC binding is not usable here ({type(exc).__name__}: {exc})")
    source = importlib.import_module(module)._SOURCE
    prog = nvrtc.createProgram(source, "refimpl.cu", [], [])
    try:
        nvrtc.compileProgram(prog, ["--std=c++14", "-arch=compute_80"])
    except Exception:
        pytest.fail(f"{module}: NVRTC rejected the kernel source:\n{nvrtc.getProgramLog(prog)}")
    ptx = nvrtc.getPTX(prog)
    assert b".entry" in (ptx if isinstance(ptx, bytes) else ptx.encode())
