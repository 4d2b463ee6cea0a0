"""bench/_harness.py: timing, comparison of outputs, ratios."""
import numpy as np
import pytest

from bench import _harness
from bench.__main__ import main as bench_main


def test_time_call_returns_output_and_positive_median():
    first, med, reps, out = _harness.time_call(lambda: 42, min_time=0.001, max_reps=3)
    assert out == 42 and med > 0 and first >= 0 and reps >= 3


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


def test_bench_cli_quick_ssm_and_unknown_case(capsys):
    assert bench_main(["ssm.legs_matvec", "--quick"]) == 0
    out = capsys.readouterr().out
    assert "ssm.legs_matvec" in out and "floor" in out and "x fastest peer" in out
    assert bench_main(["no_such_case"]) == 2
