"""``python -m bench --check``: every speed target of bench/targets.toml as met or missed.

The targets are read from ``bench/targets.toml``; the measurements from the
latest full run's JSON (``bench/results.json``, merged per case by each full
``python -m bench``). A target whose case or rows are absent is reported as
"not run", never as met.
"""
from __future__ import annotations

import json

try:
    import tomllib
except ImportError:  # pragma: no cover - Python < 3.11
    tomllib = None

METRICS = ("x_floor", "x_peer")


def load_targets(path):
    """The ``[[target]]`` tables of ``path``; ValueError naming the entry and field that is wrong."""
    if tomllib is None:  # pragma: no cover
        raise RuntimeError("python -m bench --check needs Python >= 3.11 (tomllib)")
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    targets = data.get("target", [])
    for i, t in enumerate(targets):
        for field in ("case", "row", "metric", "bound"):
            if field not in t:
                raise ValueError(f"{path}: target {i} has no '{field}'")
        if t["metric"] not in METRICS:
            raise ValueError(f"{path}: target {i} ({t['case']}): metric must be one of {METRICS}, got {t['metric']!r}")
        if t["metric"] == "x_peer" and "peer" not in t:
            raise ValueError(f"{path}: target {i} ({t['case']}): metric 'x_peer' needs 'peer' (a row label)")
    return targets


def measure(target, results):
    """``(value, detail)`` of ``target`` in ``results`` (the JSON dict); value None when not measured."""
    case = results.get("cases", {}).get(target["case"])
    if case is None:
        return None, "not run (no result for this case in the latest full run)"
    rows = {r["label"]: r for r in case["rows"]}
    row = rows.get(target["row"])
    if row is None:
        return None, f"row {target['row']!r} absent from the case's results"
    if target["metric"] == "x_floor":
        if row.get("vs_floor") is None:
            return None, "the case has no floor"
        return row["vs_floor"], f"median {row['median_s']:.4g} s, x floor {row['vs_floor']:.3g}"
    peer = rows.get(target["peer"])
    if peer is None:
        return None, f"peer row {target['peer']!r} absent (torch not installed?)"
    ratio = row["median_s"] / peer["median_s"]
    return ratio, f"median {row['median_s']:.4g} s vs {peer['median_s']:.4g} s, ratio {ratio:.3g}"


def check(targets, results):
    """Lines of the report and the number of targets missed or not run."""
    lines, bad = [], 0
    busy = results.get("busy") or []
    if busy:
        lines.append("WARNING: the latest run was on a busy machine: " + "; ".join(busy))
    flagged = False
    for t in targets:
        value, detail = measure(t, results)
        if value is None:
            status = "NOT RUN"
            bad += 1
        elif value <= t["bound"]:
            status = "met"
        else:
            status = "MISSED"
            bad += 1
        entry = results.get("cases", {}).get(t["case"], {})
        date = entry.get("date", "")
        mark = " [busy machine]" if entry.get("busy") else ""
        flagged = flagged or bool(mark)
        lines.append(f"  {status:<7} {t['case']}: {t['metric']} <= {t['bound']:g}: {detail}"
                     + (f" [{date}]" if date else "") + mark)
        if t.get("why"):
            lines.append(f"          {t['why']}")
    if flagged:
        lines.append("[busy machine]: measured in a run that printed the busy-machine warning; rerun it")
    return lines, bad


def main(targets_path, results_path):
    targets = load_targets(targets_path)
    try:
        with open(results_path) as fh:
            results = json.load(fh)
    except OSError:
        print(f"no results at {results_path}: run 'python -m bench' (a full run) first")
        return 2
    if results.get("quick"):
        print(f"{results_path} holds a --quick run: sizes too small for the targets")
        return 2
    lines, bad = check(targets, results)
    print(f"speed targets ({targets_path}) against {results_path}:")
    print("\n".join(lines))
    print(f"{len(targets) - bad} of {len(targets)} met")
    return 0 if bad == 0 else 1
