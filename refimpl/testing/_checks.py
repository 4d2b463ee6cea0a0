"""``refimpl verify`` checks for the oracle registry (discovered like every ``_checks.py``).

For every oracle case, ``oracle.<name>`` (under the case's topic) runs the
deterministic golden examples through the same comparison as
:func:`refimpl.testing.check_against`, with the refimpl function itself as
candidate on each of its backends (numba path vs NumPy twin), or, for a
function with one backend, a second call (the reference must be bitwise
reproducible, or golden vectors could not be). It returns the worst
error / tolerance ratio (tol 1.0). ``testing.golden_regeneration`` exports
every case twice and requires byte-identical files that the standalone loader
accepts. None of this needs hypothesis.
"""
from __future__ import annotations

import os
import tempfile

from ..verify import register
from . import golden_loader as _gl
from .oracle import discover_oracles, evaluate

#: Examples per case in ``refimpl verify`` (the first ones of the golden set).
VERIFY_EXAMPLES = 6


def _make_check(case):
    def check():
        worst = 0.0
        for args, kwargs, _ in case.examples(VERIFY_EXAMPLES):
            if case.backends:
                candidates = [(b, lambda *a, _b=b, **k: case.func(*a, **k, backend=_b)) for b in case.backends]
            else:
                candidates = [("reference", lambda *a, **k: case.call_reference([(None, x) for x in a], k))]
            for label, cand in candidates:
                rtol, atol = case.tolerance("float64")
                if not case.backends:
                    rtol = atol = 0.0  # a second call must be bitwise identical
                out, *_ = evaluate(case, args, kwargs, cand, "float64", lambda a: a, rtol, atol)
                if not out.ok:
                    raise AssertionError(f"{case.name} [{label}]: {out.reason}")
                if case.backends:
                    worst = max(worst, out.ratio)
        return worst

    check.__doc__ = f"oracle {case.name}: every backend vs the NumPy twin on the golden examples"
    return check


for _case in discover_oracles().values():
    register(_case.topic, f"oracle.{_case.name}", tol=1.0)(_make_check(_case))


@register("testing", "testing.golden_regeneration_bit_identical")
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
        cases = discover_oracles()
        report = _gl.check_dir(d1, {n: c.func for n, c in cases.items() if not c.backends}
                               | {n: (lambda *a, _c=c, **k: _c.func(*a, **k, backend="numpy"))
                                  for n, c in cases.items() if c.backends})
        if not report.passed:
            raise AssertionError(report.summary())
    return None
