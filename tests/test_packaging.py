"""pyproject.toml lists every package, and the derivations install inside refimpl's namespace."""
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]

tomllib = pytest.importorskip("tomllib") if sys.version_info >= (3, 11) else pytest.importorskip("tomli")


def test_every_package_folder_is_listed():
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(conf["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "refimpl").rglob("__init__.py")}
    found.add("refimpl.derivations")
    assert found == listed, f"packages missing from pyproject.toml: {found - listed}; listed but absent: {listed - found}"
    assert conf["package-dir"] == {"refimpl.derivations": "derivations"}


def test_no_top_level_derivations_package_is_installed():
    import importlib.util

    import refimpl.derivations

    assert refimpl.derivations.__name__ == "refimpl.derivations"
    spec = importlib.util.find_spec("derivations")
    # from the repository root the folder itself is importable; an installed refimpl adds no such name
    assert spec is None or pathlib.Path(spec.origin).parent == ROOT / "derivations"
