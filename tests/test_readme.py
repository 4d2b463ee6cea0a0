"""The README's Python examples run (and its oracle example's test passes)."""
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_block_runs(index):
    code = BLOCKS[index]
    for mod in re.findall(r"^import (\w+)|^from (\w+)", code, flags=re.M):
        name = mod[0] or mod[1]
        if name in ("torch", "transformers", "jax", "sklearn"):
            pytest.importorskip(name)
    namespace = {"__name__": f"readme_block_{index}"}
    exec(compile(code, f"README.md block {index}", "exec"), namespace)
    tests = [v for k, v in namespace.items() if k.startswith("test_") and callable(v)]
    for t in tests:
        t()
    assert BLOCKS  # the README has examples at all
