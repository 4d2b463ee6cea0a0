"""The ``refimpl`` command line.

- ``refimpl verify [TOPIC ...] [--json FILE]``
- ``refimpl golden list``: the oracle cases;
  ``refimpl golden export DIR [NAME ...] [--examples N]``: write golden vectors;
  ``refimpl golden check DIR --module user.module [NAME ...] [--dtype D]``:
  check a module's candidates against them (see docs/oracle.md).
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time

__all__ = ["main"]


def _fmt_err(x):
    return "-" if x is None else f"{x:.2e}"


def _verify(args):
    from . import __version__
    from .verify import KINDS, discover, run_checks, select

    try:
        chosen = select(tuple(args.topics), discover())
    except ValueError as exc:  # before any table is printed
        print(f"refimpl verify: error: {exc}", file=sys.stderr)
        return 2
    if args.list:
        for c in chosen:
            print(f"{c.kind:<12} {c.name:<60} {c.compared}")
        return 0
    header = (f"{'status':<6} {'kind':<12} {'check':<56} {'measured':>20} {'bound':>9} {'s':>6}  compared")
    print(f"refimpl {__version__} verify  (python {platform.python_version()}, {platform.machine()})")
    print("kinds: " + "; ".join(f"{k}: {v}" for k, v in KINDS.items()))
    print(header)
    print("-" * len(header))

    def show(r):
        measured = "exact" if r.max_error is None and r.status == "pass" else f"{_fmt_err(r.max_error)} {r.unit}".strip()
        print(f"{r.status.upper():<6} {r.kind:<12} {r.name:<56} {measured:>20} {_fmt_err(r.tol):>9} "
              f"{r.seconds:>6.2f}  {r.compared}", flush=True)
        if r.status in ("fail", "error", "skip") and r.message:
            for line in r.message.strip().splitlines()[:6]:
                print(f"    {line}")

    t0 = time.perf_counter()
    results = run_checks(tuple(args.topics), on_result=show)
    total = time.perf_counter() - t0
    counts = {s: sum(r.status == s for r in results) for s in ("pass", "fail", "error", "skip")}
    indep = [r for r in results if r.independent and r.status == "pass"]
    by_kind = {k: sum(r.kind == k for r in indep) for k in KINDS if k != "consistency"}
    consistency = sum(r.kind == "consistency" and r.status == "pass" for r in results)
    print("-" * len(header))
    print(f"independent checks: {len(indep)} passed ("
          + ", ".join(f"{k} {n}" for k, n in by_kind.items() if n) + ")")
    print(f"consistency checks (refimpl's own paths against each other, not verification): {consistency} passed")
    print(f"{counts['pass']} passed, {counts['fail'] + counts['error']} failed, {counts['skip']} skipped "
          f"in {total:.1f} s")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"version": __version__, "seconds": total, "kinds": KINDS,
                       "summary": {"independent": len(indep), "by_kind": by_kind, "consistency": consistency,
                                   **counts},
                       "results": [r.as_dict() for r in results]}, fh, indent=2)
    if not results:
        print("refimpl verify: no checks selected", file=sys.stderr)
        return 1
    return 1 if counts["fail"] or counts["error"] else 0


def _golden(args):
    from .testing import golden_loader

    if args.golden_command == "list":
        from .testing.oracle import discover_oracles

        for name, case in discover_oracles().items():
            print(f"{name:<28} {case.qualname:<36} dtypes: {', '.join(case.tolerances)}")
        return 0
    if args.golden_command == "export":
        from .testing.golden import export

        try:
            manifest = export(args.directory, args.names or None, n_examples=args.examples)
        except ValueError as exc:  # GoldenError is a ValueError
            print(f"refimpl golden export: error: {exc}", file=sys.stderr)
            return 2
        n = sum(len(c["examples"]) for c in manifest["cases"].values())
        print(f"wrote {len(manifest['cases'])} cases ({n} examples) and manifest.json to {args.directory}")
        return 0
    return golden_loader.run_check(args, prog="refimpl golden check")


def main(argv=None):
    """Entry point of the ``refimpl`` command."""
    parser = argparse.ArgumentParser(prog="refimpl", description="refimpl: the reference oracle.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_verify = sub.add_parser("verify", help="run every derivation and cross-check")
    p_verify.add_argument("topics", nargs="*", metavar="SELECTION",
                          help="only these topics, check names or globs such as 'rope.*' (default: all)")
    p_verify.add_argument("--list", action="store_true", help="list the selected checks without running them")
    p_verify.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p_golden = sub.add_parser("golden", help="golden vectors: list, export, check")
    gsub = p_golden.add_subparsers(dest="golden_command", required=True)
    gsub.add_parser("list", help="list the oracle cases")
    p_export = gsub.add_parser("export", help="write .npz golden vectors and manifest.json into DIR")
    p_export.add_argument("directory", metavar="DIR")
    p_export.add_argument("names", nargs="*", metavar="NAME", help="only these oracle cases (default: all)")
    p_export.add_argument("--examples", type=int, default=16, metavar="N", help="examples per case (default 16)")
    from .testing.golden_loader import add_check_arguments

    add_check_arguments(gsub.add_parser("check", help="check a module's candidates against the files in DIR"))
    args = parser.parse_args(argv)
    if args.command == "verify":
        return _verify(args)
    if args.command == "golden":
        return _golden(args)
    parser.error(f"unknown command {args.command}")  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
