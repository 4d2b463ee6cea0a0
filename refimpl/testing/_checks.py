"""``refimpl verify`` check of the golden files: two exports are byte-identical and pass refimpl itself.

The case rows themselves (fast paths, peers, article numbers) are run by
:mod:`refimpl.verify` straight from the case tables.
"""
from __future__ import annotations

import os
import tempfile

from ..verify import register
from . import golden_loader as _gl
from .cases import all_cases


@register("testing", "testing.golden_regeneration_bit_identical", kind="consistency",
          compared="two golden exports byte for byte, and refimpl against its own files")
def _golden_regeneration():
    """Export all cases twice (3 examples each): byte-identical, and refimpl passes its own files."""
    from .golden import export

    with tempfile.TemporaryDirectory() as d1, tempfile.TemporaryDirectory() as d2:
        export(d1, n_examples=3)
        export(d2, n_examples=3)
        files = sorted(os.listdir(d1))
        if files != sorted(os.listdir(d2)):
            raise AssertionError(f"exports list different files: {files} vs {sorted(os.listdir(d2))}")
        for f in files:
            with open(os.path.join(d1, f), "rb") as a, open(os.path.join(d2, f), "rb") as b:
                if a.read() != b.read():
                    raise AssertionError(f"{f} differs between two exports")
        cases = all_cases()
        report = _gl.check_dir(d1, {n: (lambda *a, _c=c, **k: _c.call([(None, x) for x in a], k))
                                    for n, c in cases.items()})
        if not report.passed:
            raise AssertionError(report.summary())
    return None
