"""The ``refimpl verify`` command and the check registry."""
import json
import subprocess
import sys

import pytest

from refimpl import cli, verify


def test_verify_ssm_passes_and_writes_json(tmp_path, capsys):
    out = tmp_path / "v.json"
    assert cli.main(["verify", "ssm", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "derivations.hippo_legs" in text and "PASS" in text
    data = json.loads(out.read_text())
    names = {r["name"] for r in data["results"]}
    assert "derivations.hippo_legs" in names
    assert all(r["status"] == "pass" for r in data["results"])


def test_unknown_topic_exits_2(capsys):
    assert cli.main(["verify", "no_such_topic"]) == 2
    assert "known topics" in capsys.readouterr().err


@pytest.fixture
def scratch_registry(monkeypatch):
    """A registry holding the real checks plus whatever a test adds, restored afterwards."""
    verify.discover()
    monkeypatch.setattr(verify, "_REGISTRY", dict(verify._REGISTRY))
    return verify._REGISTRY


def test_failing_and_erroring_checks_make_exit_1(scratch_registry, capsys):
    verify.register("zz_test", "zz.too_big", tol=1e-12)(lambda: 1e-3)
    assert cli.main(["verify", "zz_test"]) == 1
    assert "FAIL" in capsys.readouterr().out

    scratch_registry.clear()
    verify.register("zz_test", "zz.raises")(lambda: 1 / 0)
    assert cli.main(["verify", "zz_test"]) == 1
    assert "ZeroDivisionError" in capsys.readouterr().out


def test_skipped_check_does_not_fail(scratch_registry, capsys):
    def skipper():
        raise verify.CheckSkipped("peer absent")

    verify.register("zz_test", "zz.skips")(skipper)
    verify.register("zz_test", "zz.ok", tol=1.0)(lambda: 0.5)
    assert cli.main(["verify", "zz_test"]) == 0
    out = capsys.readouterr().out
    assert "SKIP" in out and "peer absent" in out and "1 passed, 0 failed, 1 skipped" in out


def test_nan_error_fails(scratch_registry):
    verify.register("zz_test", "zz.nan", tol=1.0)(lambda: float("nan"))
    (res,) = verify.run_checks(("zz_test",))
    assert res.status == "fail"


def test_duplicate_name_rejected(scratch_registry):
    verify.register("zz_test", "zz.dup")(lambda: 0.0)
    with pytest.raises(ValueError, match="twice"):
        verify.register("zz_test", "zz.dup")(lambda: 1.0)


def test_console_script_and_module_entry_point():
    proc = subprocess.run([sys.executable, "-m", "refimpl", "verify", "ssm"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "passed, 0 failed" in proc.stdout
