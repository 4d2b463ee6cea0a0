"""``python -m bench [CASE ...] [--quick] [--json FILE] [--list] [--check] [--scaling CASE]``.

Run it from the repository root (``python -m bench``), or from any folder as
``python path/to/bench`` (the repository's own refimpl is then put first on
the import path).
"""
from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import pkgutil
import sys
import time

if __package__ in (None, ""):  # ``python path/to/bench``: import the package from its parent folder
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    __package__ = "bench"  # noqa: A001

try:
    from bench import _harness
except ImportError as exc:  # pragma: no cover - depends on how it was started
    sys.exit(f"python -m bench: cannot import the bench package ({exc}); run it from the repository root "
             f"(the folder that holds bench/ and refimpl/), or as 'python <repository>/bench'")

HERE = os.path.dirname(os.path.abspath(__file__))
#: The latest full run's results (merged per case): what ``--check`` reads.
RESULTS = os.path.join(HERE, "results.json")
#: The latest ``--quick`` run's results (never read by ``--check``).
RESULTS_QUICK = os.path.join(HERE, "results-quick.json")
TARGETS = os.path.join(HERE, "targets.toml")


def _discover():
    import bench

    for info in pkgutil.iter_modules(bench.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"bench.{info.name}")
    return _harness.CASES


def _load(path):
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def _eta(name, spec, previous):
    """A rough time for a case: its wall time in the latest recorded full run, else the case's guess."""
    prev = (previous or {}).get("cases", {}).get(name, {})
    if prev.get("wall_s") is not None:
        return f"~{prev['wall_s']:.0f} s (last full run)"
    if spec.eta_s is not None:
        return f"~{spec.eta_s:.0f} s (estimate)"
    return f"~{2 + 0.5 * len(spec.impls):.0f} s or more (no earlier run recorded)"


def run(selected, quick, json_path):
    previous = _load(RESULTS)
    info = _harness.machine_info()
    print("refimpl bench" + (" (--quick: smoke run at small sizes, not for timing claims)" if quick else ""))
    print("  " + ", ".join(f"{k} {v}" for k, v in info.items()))
    load0 = _harness.loadavg()
    rate0 = _harness.gemm_rate()
    print(f"  load average {load0 if load0 is None else round(load0, 2)}, float64 GEMM probe {rate0:.1f} GFLOP/s")
    failed, report = [], {"machine": info, "quick": quick, "cases": {}}
    t_all = time.perf_counter()
    run_peak = 0
    for i, name in enumerate(selected, 1):
        t0 = time.perf_counter()
        reset = _harness.reset_peak_rss()
        spec = _harness.CASES[name](quick)
        shown = _harness.display_name(name, quick)
        print(f"\n[{i}/{len(selected)}] {shown}: {spec.size or spec.description}; rough time "
              f"{'seconds (quick)' if quick else _eta(name, spec, previous)} ...", flush=True)
        spec, rows, ok = _harness.run_case(name, quick=quick, spec=spec)
        wall = time.perf_counter() - t0
        peak = _harness.peak_rss() if reset else None
        run_peak = max(run_peak, peak or 0)
        print(f"{shown}: {spec.description}" + ("" if ok else "   ** OUTPUTS DISAGREE **"))
        print(_harness.format_rows(rows))
        if spec.notes:
            print(f"  note: {spec.notes}")
        print(f"  ({wall:.1f} s" + (f", peak RSS of the process during the case {peak / 2**30:.2f} GiB)" if peak
                                    else ")"))
        report["cases"][name] = {"description": spec.description, "size": spec.size, "ok": ok, "wall_s": wall,
                                 "peak_rss_bytes": peak,
                                 "date": info["date"], "load": _harness.loadavg(),
                                 "rows": [r.__dict__ for r in rows]}
        if not ok:
            failed.append(name)
        _write(report, quick, None)  # after every case: an interrupted run keeps what it measured
        del spec, rows
        gc.collect()  # the case's inputs and outputs go before the next case allocates its own
    load1 = _harness.loadavg()
    rate1 = _harness.gemm_rate()
    total = time.perf_counter() - t_all
    report.update(load_start=load0, load_end=load1, gemm_gflops_start=rate0, gemm_gflops_end=rate1, wall_s=total,
                  peak_rss_bytes=run_peak or None)
    print(f"\ndone in {total:.0f} s" + (f", peak RSS {run_peak / 2**30:.2f} GiB" if run_peak else "")
          + f"; load average {load1 if load1 is None else round(load1, 2)}, "
          f"float64 GEMM probe {rate1:.1f} GFLOP/s (start {rate0:.1f})")
    reasons = _harness.busy_warning(load0, load1, rate0, rate1)
    report["busy"] = reasons
    for entry in report["cases"].values():  # kept per case: results.json merges cases of several runs
        entry["busy"] = reasons
    if reasons:
        print("WARNING: the machine was busy, timings cannot be trusted: " + "; ".join(reasons))
    _write(report, quick, json_path)
    if failed:
        print(f"\noutputs disagree beyond tolerance in: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _write(report, quick, json_path):
    """Write the run's JSON: the latest full run is merged per case into bench/results.json."""
    if json_path:
        with open(json_path, "w") as fh:
            json.dump(report, fh, indent=2)
    path = RESULTS_QUICK if quick else RESULTS
    merged = report
    if not quick:
        old = _load(RESULTS)
        if old and isinstance(old.get("cases"), dict):
            cases = dict(old["cases"])
            cases.update(report["cases"])
            merged = dict(report, cases=dict(sorted(cases.items())))
    try:
        with open(path, "w") as fh:
            json.dump(merged, fh, indent=2)
    except OSError as exc:
        print(f"could not write {path}: {exc}", file=sys.stderr)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description="refimpl speed tables")
    parser.add_argument("cases", nargs="*", metavar="CASE",
                        help="case names or topic prefixes (e.g. 'ssm' or 'ssm.legs_matvec'); default all")
    parser.add_argument("--quick", action="store_true", help="small sizes, few repetitions: a smoke run")
    parser.add_argument("--json", metavar="FILE", help="also write this run's results as JSON to FILE")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--check", action="store_true",
                        help="print every target of bench/targets.toml as met or missed, from bench/results.json")
    parser.add_argument("--scaling", metavar="CASE", nargs="?", const="all",
                        help="time a hot path over a range of sizes and fit the log-log exponent ('all' or one of "
                             "the scaling cases)")
    args = parser.parse_args(argv)
    if args.check:
        from bench import _targets

        return _targets.main(TARGETS, RESULTS)
    if args.scaling:
        from bench import _scaling

        return _scaling.main(args.scaling, quick=args.quick)
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
    return run(selected, args.quick, args.json)


if __name__ == "__main__":
    sys.exit(main())
