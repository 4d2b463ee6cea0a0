"""SymPy derivations that check refimpl's numerics (installed as ``refimpl.derivations``).

Each module ``refimpl.derivations.<name>`` has

- ``TOPIC``: the refimpl topic it belongs to (used by ``refimpl verify TOPIC``);
- ``derive()``: derives the results symbolically from their definitions and
  returns them (a dict);
- ``check()``: compares the derived results with refimpl's numerics, raises
  :class:`refimpl.derivations._util.DerivationError` on a mismatch and
  returns the maximum numerical error;
- ``main()``: prints the derivation and runs the check.

``refimpl derive [NAME ...] [--latex]`` (or ``python -m refimpl.derivations``)
runs them all or some; ``--latex`` prints every derived identity as LaTeX.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

__all__ = ["main", "names"]


def names():
    """The sorted names of the derivation modules."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def _latex(results):
    import sympy as sp

    for key, value in results.items():
        items = value.items() if isinstance(value, dict) else [(None, value)]
        for sub, v in items:
            label = key if sub is None else f"{key}[{sub}]"
            try:
                text = sp.latex(v if isinstance(v, sp.Basic) else sp.sympify(v))
            except (sp.SympifyError, TypeError, ValueError, AttributeError):
                continue  # numbers and arrays that are not symbolic results
            print(f"% {label}\n{text}\n")


def main(argv=None, prog="refimpl derive"):
    """Run the derivations named in ``argv`` (all when none); returns the exit status."""
    parser = argparse.ArgumentParser(prog=prog, description="Run refimpl's SymPy derivations: print each "
                                     "derivation and check it against refimpl's numerics.")
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"derivations to run (default: all): "
                        f"{', '.join(names())}")
    parser.add_argument("--latex", action="store_true", help="print the derived identities as LaTeX instead")
    parser.add_argument("--list", action="store_true", help="list the derivations and their topics")
    args = parser.parse_args(argv)
    known = names()
    unknown = [n for n in args.names if n not in known]
    if unknown:
        parser.error(f"unknown derivation {', '.join(map(repr, unknown))}; known: {', '.join(known)}")
    failed = 0
    for name in args.names or known:
        mod = importlib.import_module(f"{__name__}.{name}")
        if args.list:
            doc = (mod.__doc__ or "").strip().splitlines()
            print(f"{name:<20} {mod.TOPIC:<10} {doc[0] if doc else ''}")
            continue
        print(f"\n######## {name} (topic {mod.TOPIC})")
        try:
            if args.latex:
                _latex(mod.derive())
                err = mod.check()
                print(f"% check(): max error {err:.2e}" if err is not None else "% check(): exact")
            else:
                mod.main()
        except AssertionError as exc:  # DerivationError
            failed += 1
            print(f"FAILED: {name}: {exc}", file=sys.stderr)
    return 1 if failed else 0
