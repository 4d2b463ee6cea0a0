"""Run the Python examples of docs/embedding.md and docs/scaling.md, so the guides cannot rot.

Each block runs as written in a fresh namespace; the blocks assert what they show.
"""
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
GUIDES = ("embedding.md", "scaling.md")
BLOCKS = [(g, i, code) for g in GUIDES
          for i, code in enumerate(re.findall(r"```python\n(.*?)```", (ROOT / "docs" / g).read_text(), re.S))]


def test_each_guide_has_examples_that_check_something():
    for g in GUIDES:
        codes = [c for gg, _, c in BLOCKS if gg == g]
        assert codes, f"docs/{g} has no python example"
        assert any("assert " in c for c in codes), f"docs/{g}: no example asserts anything"


@pytest.mark.parametrize("guide,index,code", BLOCKS, ids=[f"{g}[{i}]" for g, i, _ in BLOCKS])
def test_guide_example_runs(guide, index, code, capsys):
    assert "assert " in code, f"docs/{guide} block {index} shows a result but checks nothing"
    exec(compile(code, f"docs/{guide} block {index}", "exec"), {"__name__": "guide_example"})
