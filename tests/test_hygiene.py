"""What a user reads and runs: no bare asserts in checks, no references outside the repository, topics listed."""
import ast
import pathlib
import pydoc
import re

import pytest

import refimpl
from refimpl.testing.cases import topic_packages

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _check_files():
    yield from (ROOT / "refimpl").rglob("_checks.py")
    yield ROOT / "refimpl" / "verify.py"
    yield from (ROOT / "derivations").glob("*.py")


@pytest.mark.parametrize("path", list(_check_files()), ids=lambda p: str(p.relative_to(ROOT)))
def test_verify_checks_use_no_bare_assert(path):
    """``python -O`` strips assert statements: a check that relies on one would pass silently."""
    bare = [n.lineno for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Assert)]
    assert not bare, f"{path.relative_to(ROOT)}: bare assert at lines {bare}; raise AssertionError instead"


OUTSIDE = re.compile(r"API\.md|shared/|\bissue \d+|\(issue \d+\)|tests/test_gpu\.py")


def _user_files():
    for folder, pattern in (("refimpl", "*.py"), ("derivations", "*.py"), ("docs", "*.md"), ("bench", "*.py"),
                            ("bench", "*.md")):
        yield from (ROOT / folder).rglob(pattern)
    yield ROOT / "README.md"
    yield ROOT / "ERRATA.md"


def test_no_references_outside_the_repository():
    hits = []
    for path in _user_files():
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if OUTSIDE.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()[:100]}")
    assert not hits, "references a user cannot open:\n" + "\n".join(hits)


def test_help_lists_every_topic():
    text = pydoc.render_doc(refimpl, renderer=pydoc.plaintext)
    missing = [t for t in topic_packages() if f"refimpl.{t}" not in text]
    assert not missing, f"help(refimpl) does not mention {missing}"


def test_derivations_import_each_other_relatively():
    """Installed, they are refimpl.derivations: an absolute ``derivations.`` import fails outside the checkout."""
    bad = [f"{p.name}:{i}" for p in (ROOT / "derivations").glob("*.py")
           for i, line in enumerate(p.read_text().splitlines(), 1)
           if re.match(r"\s*(from|import) derivations\b", line)]
    assert not bad, bad
