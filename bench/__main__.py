"""``python -m bench [CASE ...] [--quick] [--json FILE] [--list]``."""
from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys

from . import _harness


def _discover():
    import bench

    for info in pkgutil.iter_modules(bench.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"bench.{info.name}")
    return _harness.CASES


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description="refimpl speed tables")
    parser.add_argument("cases", nargs="*", metavar="CASE",
                        help="case names or topic prefixes (e.g. 'ssm' or 'ssm.legs_matvec'); default all")
    parser.add_argument("--quick", action="store_true", help="small sizes, few repetitions: a smoke run")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    args = parser.parse_args(argv)
    cases = _discover()
    if args.list:
        print("\n".join(sorted(cases)))
        return 0
    selected = sorted(n for n in cases if not args.cases or any(
        n == c or n.startswith(c + ".") for c in args.cases))
    unknown = [c for c in args.cases if not any(n == c or n.startswith(c + ".") for n in cases)]
    if unknown:
        print(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(sorted(cases))}", file=sys.stderr)
        return 2
    info = _harness.machine_info()
    print("refimpl bench" + (" (--quick: smoke run, not for timing claims)" if args.quick else ""))
    print("  " + ", ".join(f"{k} {v}" for k, v in info.items()))
    failed, report = [], {"machine": info, "quick": args.quick, "cases": {}}
    for name in selected:
        spec, rows, ok = _harness.run_case(name, quick=args.quick)
        print(f"\n{name}: {spec.description}" + ("" if ok else "   ** OUTPUTS DISAGREE **"))
        print(_harness.format_rows(rows))
        if spec.notes:
            print(f"  note: {spec.notes}")
        report["cases"][name] = {"description": spec.description, "ok": ok,
                                 "rows": [r.__dict__ for r in rows]}
        if not ok:
            failed.append(name)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)
    if failed:
        print(f"\noutputs disagree beyond tolerance in: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
