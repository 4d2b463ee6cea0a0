"""Run every example of docs/oracle.md, so the guide cannot rot.

Python blocks are executed as written (each in a fresh namespace, in a
temporary directory); a block whose peer (torch, transformers, jax) is not
installed is skipped. Functions named ``test_*`` that a block defines are
called with the ``refimpl_oracle`` fixture object. The ``refimpl golden``
console lines are run against a small candidate module.
"""
import os
import re
import shlex
import subprocess
import sys
import textwrap
import types

import numpy as np
import pytest

from refimpl.cli import main
from refimpl.testing.pytest_plugin import OracleFixture

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GUIDE = os.path.join(ROOT, "docs", "oracle.md")
PEERS = ("torch", "transformers", "jax")


def _blocks(lang):
    text = open(GUIDE, encoding="utf-8").read()
    return [m.group(1) for m in re.finditer(rf"```{lang}\n(.*?)```", text, re.S)]


def _peers(code):
    return [p for p in PEERS if re.search(rf"^\s*(import|from) {p}\b", code, re.M)]


def _id(code):
    for line in code.splitlines():
        m = re.match(r"\s*def (\w+)|(\w+) = check_against", line)
        if m:
            return m.group(1) or m.group(2)
    return code.splitlines()[0][:30]


PY_BLOCKS = _blocks("python")


def test_guide_has_the_three_examples():
    text = open(GUIDE, encoding="utf-8").read()
    for heading in ("## A PyTorch RoPE kernel", "## A JAX S4 kernel", "## A Muon step"):
        assert heading in text
    assert len(PY_BLOCKS) >= 10


def _run(code, tmp_path, monkeypatch):
    from refimpl.testing import cases

    monkeypatch.setattr(cases, "_CASES", dict(cases.all_cases()))  # the guide's example case stays local
    monkeypatch.chdir(tmp_path)
    ns = {"__name__": "guide_example"}
    exec(compile(code, GUIDE, "exec"), ns)
    for name, fn in list(ns.items()):
        if name.startswith("test_") and callable(fn):
            fn(OracleFixture(None))
    return ns


@pytest.mark.parametrize("code", [pytest.param(c, marks=[pytest.mark.peer] if _peers(c) else [], id=f"{i}-{_id(c)}")
                                  for i, c in enumerate(PY_BLOCKS)])
def test_guide_python_block(code, tmp_path, monkeypatch):
    for peer in _peers(code):
        pytest.importorskip(peer)
    assert any(k in code for k in ("assert", "check_against", "golden", "refimpl_oracle", "register_oracle")), \
        "a guide example that neither checks nor registers anything"
    _run(code, tmp_path, monkeypatch)


def _numpy_jax_stub():
    """A stand-in for jax.numpy backed by NumPy: runs the JAX blocks' logic where JAX is absent."""
    jax = types.ModuleType("jax")
    jnp = types.ModuleType("jax.numpy")
    for name in ("asarray", "exp", "expm1", "log", "arange", "float32", "bfloat16"):
        setattr(jnp, name, getattr(np, name, np.float32))
    jax.numpy = jnp
    return {"jax": jax, "jax.numpy": jnp}


@pytest.mark.parametrize("code", [c for c in PY_BLOCKS if "jax" in _peers(c)])
def test_guide_jax_blocks_logic_with_a_numpy_stub(code, tmp_path, monkeypatch):
    """The JAX examples' code path (conversion, dtypes, result) with jax.numpy replaced by NumPy.

    Runs whether or not JAX is installed (the real blocks run in test_guide_python_block when it is),
    so the examples' logic is checked on every machine.
    """
    for name, mod in _numpy_jax_stub().items():
        monkeypatch.setitem(sys.modules, name, mod)
    assert "assert" in code, "a JAX guide example that checks nothing"
    _run(code, tmp_path, monkeypatch)


KERNELS = '''
import numpy as np
from refimpl.rope import apply
from refimpl.ssm import kernel_dplr

def _f32(a):
    return a.astype(np.complex64 if np.iscomplexobj(a) else np.float32)

REFIMPL_CANDIDATES = {
    "rope.apply": lambda x, positions, inv_freq, layout="half", attention_factor=1.0:
        _f32(apply(x, positions, inv_freq, layout, attention_factor)),
    "ssm.kernel_dplr": lambda Lambda, P, Q, B, Ct, dt, L, half=False:
        _f32(kernel_dplr(Lambda, P, Q, B, Ct, dt, L, half=half)),
}
'''


def test_guide_console_lines(tmp_path, monkeypatch):
    lines = [ln[2:].strip() for block in _blocks("console") for ln in block.splitlines() if ln.startswith("$ ")]
    assert any(ln.startswith("refimpl golden export") for ln in lines)
    pkg = tmp_path / "my_project"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "kernels.py").write_text(textwrap.dedent(KERNELS))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    for line in lines:
        argv = shlex.split(line)
        if argv[0] == "refimpl":
            assert main(argv[1:]) == 0, line
        else:  # python tests/golden/refimpl_golden.py ...: the standalone loader, in a subprocess
            env = dict(os.environ, PYTHONPATH=str(tmp_path) + os.pathsep + ROOT)
            proc = subprocess.run([sys.executable] + argv[1:], cwd=tmp_path, capture_output=True, text=True,
                                  env=env, timeout=300)
            assert proc.returncode == 0, proc.stdout + proc.stderr
            assert "PASS" in proc.stdout
