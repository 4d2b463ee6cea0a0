"""The ``refimpl`` command line.

- ``refimpl verify [SELECTION ...] [--list] [--json FILE]``
- ``refimpl derive [NAME ...] [--latex]``: the SymPy derivations
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
        from .testing.cases import all_cases

        cases = all_cases()
        width = max(len(n) for n in cases) + 2
        qwidth = max(len(c.qualname) for c in cases.values()) + 2
        for name, case in cases.items():
            print(f"{name:<{width}} {case.qualname:<{qwidth}} dtypes: {', '.join(case.tol)}")
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
    from . import __version__

    parser = argparse.ArgumentParser(prog="refimpl", description="refimpl: the reference oracle.")
    parser.add_argument("--version", action="version", version=f"refimpl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p_verify = sub.add_parser("verify", help="run every case row, derivation and cross-check")
    p_verify.add_argument("topics", nargs="*", metavar="SELECTION",
                          help="only these topics, check names or globs such as 'rope.*' (default: all)")
    p_verify.add_argument("--list", action="store_true", help="list the selected checks without running them")
    p_verify.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p_derive = sub.add_parser("derive", help="run the SymPy derivations (all or some); --latex", add_help=False)
    p_derive.add_argument("rest", nargs=argparse.REMAINDER)
    p_golden = sub.add_parser("golden", help="golden vectors: list, export, check")
    gsub = p_golden.add_subparsers(dest="golden_command", metavar="SUBCOMMAND")
    gsub.add_parser("list", help="list the cases")
    p_export = gsub.add_parser("export", help="write .npz golden vectors and manifest.json into DIR")
    p_export.add_argument("directory", metavar="DIR")
    p_export.add_argument("names", nargs="*", metavar="NAME", help="only these cases (default: all)")
    p_export.add_argument("--examples", type=int, default=16, metavar="N",
                          help="examples per case besides its hard corners (default 16)")
    from .testing.golden_loader import add_check_arguments

    add_check_arguments(gsub.add_parser("check", help="check a module's candidates against the files in DIR"))
    extra = {}
    try:
        import refimpl.figures as _figures  # noqa: F401
    except ImportError:
        _figures = None
    if _figures is not None and hasattr(_figures, "add_arguments"):
        extra["figures"] = _figures.add_arguments(sub)
    argv = sys.argv[1:] if argv is None else list(argv)
    # refimpl compare-speed MODULE:FUNC CASE [--size ...]: its own parser, in refimpl.testing.speed
    sub.add_parser("compare-speed", add_help=False,
                   help="check a kernel against a case, then time it against refimpl and the hardware floor")
    if argv[:1] == ["compare-speed"]:
        from .testing.speed import cli_main

        return cli_main(argv[1:])
    if argv[:1] == ["derive"]:  # its own parser: refimpl derive --help / --list / --latex
        from .derivations import main as derive_main

        return derive_main(argv[1:])
    if argv[:2] == ["golden", "check"] and not {"-h", "--help"} & set(argv[2:]):
        # case names may stand anywhere on the line, before or after the options
        check = argparse.ArgumentParser(prog="refimpl golden check")
        add_check_arguments(check)
        cargs = check.parse_intermixed_args(argv[2:])
        from .testing import golden_loader

        return golden_loader.run_check(cargs, prog="refimpl golden check")
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "verify":
        return _verify(args)
    if args.command == "golden":
        if args.golden_command is None:
            p_golden.print_help()
            return 2
        return _golden(args)
    if args.command in extra:
        return _figures.run(args)
    parser.error(f"unknown command {args.command}")  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
