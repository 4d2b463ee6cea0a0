"""bench/: timing, comparison of outputs, ratios, targets, scaling fits, the command line.

No timing is asserted: the tests check what is computed from timings.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import bench.__main__ as bench_cli
from bench import _harness, _scaling, _targets
from bench.__main__ import main as bench_main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_time_call_returns_output_and_samples():
    first, samples, reps, out = _harness.time_call(lambda: 42, min_time=0.001, max_reps=3)
    assert out == 42 and min(samples) > 0 and first >= 0 and reps >= 3 and len(samples) >= 3


@pytest.fixture
def cases(monkeypatch):
    monkeypatch.setattr(_harness, "CASES", {})
    return _harness.CASES


def test_run_case_flags_disagreeing_outputs(cases):
    @_harness.case("zz.bad")
    def setup(quick):
        return _harness.Spec("disagree", [
            _harness.Impl("ref", "refimpl", lambda: np.ones(3)),
            _harness.Impl("peer", "peer", lambda: np.ones(3) * (1 + 1e-6)),
            _harness.floor_copy(24),
        ], reference="ref", rtol=1e-9)

    spec, rows, ok = _harness.run_case("zz.bad", quick=True)
    assert not ok
    peer = next(r for r in rows if r.label == "peer")
    assert abs(peer.max_rel_err - 1e-6) < 1e-9
    assert peer.vs_fastest_peer == 1.0
    assert all(r.vs_floor is not None for r in rows)
    assert "floor" in _harness.format_rows(rows)


def test_run_case_agreeing_outputs_ok(cases):
    @_harness.case("zz.good")
    def setup(quick):
        a = np.arange(4.0)
        return _harness.Spec("agree", [
            _harness.Impl("ref", "refimpl", lambda: a * 2),
            _harness.Impl("peer", "peer", lambda: a + a),
            _harness.floor_gemm(8, 8, 8),
        ], reference="ref", rtol=0.0)

    _, rows, ok = _harness.run_case("zz.good", quick=True)
    assert ok and rows[1].max_rel_err == 0.0


def test_bad_kind_rejected():
    with pytest.raises(ValueError, match="kind"):
        _harness.Impl("x", "baseline", lambda: None)


def test_floor_ratio_uses_the_floors_best_time_and_primary_floor(cases):
    @_harness.case("zz.floor")
    def setup(quick):
        return _harness.Spec("floors", [
            _harness.Impl("ref", "refimpl", lambda: np.ones(2)),
            _harness.Impl("floor a", "floor", lambda: None),
            _harness.Impl("floor part b", "floor", lambda: None, primary=False),
        ], reference="ref")

    _, rows, ok = _harness.run_case("zz.floor", quick=False)
    ref, fa, fb = rows
    assert ok and fa.reps >= _harness.FLOOR_REPS and fb.reps >= _harness.FLOOR_REPS
    assert ref.vs_floor == pytest.approx(ref.median_s / fa.min_s)  # the primary floor's minimum only
    assert fa.min_s <= fa.median_s <= fa.max_s


def test_format_rows_aligns_long_labels():
    long = "refimpl fit_coefficients('kappa', 512x512, T=5, 10000 SGD steps)"
    rows = [_harness.Row(long, "refimpl", 0.5, 0.6, 3, 0.4, 0.7), _harness.Row("x", "floor", 0.1, 0.1, 5, 0.1, 0.1)]
    lines = _harness.format_rows(rows).splitlines()
    starts = [ln.index(word, len(long)) for ln, word in zip(lines, ("kind", "refimpl", "floor"))]
    assert len(set(starts)) == 1 and len({len(ln) for ln in lines}) == 1
    assert "min" in lines[0] and "median" in lines[0] and "max" in lines[0]


def test_quick_names_do_not_claim_full_sizes():
    assert _harness.display_name("ssm.kernel_s4_L64k", True) == "ssm.kernel_s4[quick]"
    assert _harness.display_name("attention.causal_16k_d128", True) == "attention.causal_d128[quick]"
    assert _harness.display_name("muon.newton_schulz_batch64x256x256_float32", True) == \
        "muon.newton_schulz_float32[quick]"
    assert _harness.display_name("ssm.kernel_s4_L64k", False) == "ssm.kernel_s4_L64k"
    assert _harness.display_name("ssm.cauchy", True) == "ssm.cauchy"


def test_busy_warning():
    assert _harness.busy_warning(0.5, 1.0, 100.0, 95.0, cores=2) == []
    assert "load average 3.00 at the start" in _harness.busy_warning(3.0, 1.0, 100.0, 95.0, cores=2)[0]
    assert "GEMM rate fell" in _harness.busy_warning(0.5, 1.0, 100.0, 50.0, cores=2)[0]


def test_targets_met_missed_not_run(tmp_path):
    toml = tmp_path / "t.toml"
    toml.write_text('''
[[target]]
case = "a"
row = "fast"
metric = "x_floor"
bound = 1.5

[[target]]
case = "a"
row = "fast"
metric = "x_peer"
peer = "torch"
bound = 0.5

[[target]]
case = "b"
row = "fast"
metric = "x_floor"
bound = 2
''')
    targets = _targets.load_targets(str(toml))
    results = {"cases": {"a": {"rows": [
        {"label": "fast", "median_s": 1.0, "vs_floor": 1.2},
        {"label": "torch", "median_s": 1.5, "vs_floor": 1.8}]}}}
    lines, bad = _targets.check(targets, results)
    text = "\n".join(lines)
    assert bad == 2 and "met     a: x_floor" in text and "MISSED  a: x_peer" in text and "NOT RUN b" in text
    res = tmp_path / "r.json"
    res.write_text(json.dumps(results))
    assert _targets.main(str(toml), str(res)) == 1
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text('[[target]]\ncase = "a"\nrow = "x"\nmetric = "speed"\nbound = 1\n')
    with pytest.raises(ValueError, match="metric must be one of"):
        _targets.load_targets(str(bad_toml))


def test_the_shipped_targets_parse():
    targets = _targets.load_targets(os.path.join(ROOT, "bench", "targets.toml"))
    names = {t["case"] for t in targets}
    assert {"attention.causal_4k", "ssm.cauchy", "muon.newton_schulz_batch16x1024x1024_float64"} <= names
    known = set(bench_cli._discover())
    assert names <= known, names - known


def test_fit_exponent():
    sizes = [100, 200, 400, 800]
    assert _scaling.fit_exponent(sizes, [3e-9 * n**2 for n in sizes]) == pytest.approx(2.0)
    assert _scaling.fit_exponent(sizes, [1e-6 * n for n in sizes]) == pytest.approx(1.0)
    assert _scaling.main("no_such_sweep") == 2


def test_bench_cli_quick_ssm_and_unknown_case(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(bench_cli, "RESULTS_QUICK", str(tmp_path / "quick.json"))
    assert bench_main(["ssm.legs_matvec", "--quick"]) == 0
    out = capsys.readouterr().out
    assert "ssm.legs_matvec" in out and "floor" in out and "x fastest peer" in out
    assert "[1/1] ssm.legs_matvec" in out and "GEMM probe" in out
    report = json.loads((tmp_path / "quick.json").read_text())
    assert report["quick"] and "ssm.legs_matvec" in report["cases"]
    assert bench_main(["no_such_case"]) == 2


def test_bench_runs_from_another_folder(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "bench"), "--list"], cwd=tmp_path,
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "attention.causal_4k" in proc.stdout
