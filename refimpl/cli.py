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
    from .verify import run_checks

    header = f"{'check':<52} {'topic':<10} {'status':<6} {'max error':>10} {'tol':>9} {'seconds':>8}"
    print(f"refimpl {__version__} verify  (python {platform.python_version()}, {platform.machine()})")
    print(header)
    print("-" * len(header))

    def show(r):
        print(f"{r.name:<52} {r.topic:<10} {r.status.upper():<6} {_fmt_err(r.max_error):>10} "
              f"{_fmt_err(r.tol):>9} {r.seconds:>8.2f}", flush=True)
        if r.status in ("fail", "error", "skip") and r.message:
            for line in r.message.strip().splitlines()[:6]:
                print(f"    {line}")

    t0 = time.perf_counter()
    try:
        results = run_checks(tuple(args.topics), on_result=show)
    except ValueError as exc:
        print(f"refimpl verify: {exc}", file=sys.stderr)
        return 2
    counts = {s: sum(r.status == s for r in results) for s in ("pass", "fail", "error", "skip")}
    total = time.perf_counter() - t0
    print("-" * len(header))
    print(f"{counts['pass']} passed, {counts['fail'] + counts['error']} failed, {counts['skip']} skipped "
          f"in {total:.1f} s")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"version": __version__, "seconds": total, "results": [r.as_dict() for r in results]},
                      fh, indent=2)
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


# --- refimpl figures [NAME ...] [--out DIR] [--format png|svg|pdf] | --list (docs/figures.md) ---
def _add_figures_parser(sub):
    p = sub.add_parser("figures", help="reproduce the articles' figures from the oracle (needs matplotlib)")
    p.add_argument("names", nargs="*", metavar="NAME", help="only these figures (default: all)")
    p.add_argument("--out", default="figures", metavar="DIR", help="output directory (default: figures)")
    p.add_argument("--format", default="png", choices=("png", "svg", "pdf"), help="image format (default png)")
    p.add_argument("--list", action="store_true", help="list the figures and their articles")


def _figures(args):
    from .figures import FIGURES, INSTALL_HINT, MissingMatplotlib, make

    if args.list:
        for f in FIGURES.values():
            print(f"{f.name:<20} {f.topic:<10} {f.title}  ({', '.join(f.articles)})")
        return 0
    unknown = [n for n in args.names if n not in FIGURES]
    if unknown:
        print(f"refimpl figures: unknown figure {', '.join(unknown)} (see refimpl figures --list)", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    try:
        paths = make(args.names or None, args.out, args.format,
                     on_figure=lambda name, path: print(f"{path}  ({time.perf_counter() - t0:.1f} s)", flush=True))
    except MissingMatplotlib:
        print(f"refimpl figures: matplotlib is not installed; {INSTALL_HINT}", file=sys.stderr)
        return 1
    print(f"wrote {len(paths)} figures and data.json to {args.out}")
    return 0


def main(argv=None):
    """Entry point of the ``refimpl`` command."""
    parser = argparse.ArgumentParser(prog="refimpl", description="refimpl: the reference oracle.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_verify = sub.add_parser("verify", help="run every derivation and cross-check")
    p_verify.add_argument("topics", nargs="*", metavar="TOPIC", help="only these topics (default: all)")
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
    _add_figures_parser(sub)
    args = parser.parse_args(argv)
    if args.command == "figures":
        return _figures(args)
    if args.command == "verify":
        return _verify(args)
    if args.command == "golden":
        return _golden(args)
    parser.error(f"unknown command {args.command}")  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
