"""The ``refimpl verify`` command and the check registry."""
import json
import subprocess
import sys

import pytest

from refimpl import cli, verify
from refimpl.cli import main


def test_verify_ssm_passes_and_writes_json(tmp_path, capsys):
    out = tmp_path / "v.json"
    assert cli.main(["verify", "ssm", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "derivations.hippo_legs" in text and "PASS" in text
    data = json.loads(out.read_text())
    names = {r["name"] for r in data["results"]}
    assert "derivations.hippo_legs" in names
    # every check passes; the only skips allowed are CuPy fast paths on a machine without a GPU
    assert all(r["status"] == "pass" or (r["status"] == "skip" and r["name"].endswith("[cupy]"))
               for r in data["results"]), [r["name"] for r in data["results"] if r["status"] != "pass"]


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


# --- the command line a newcomer meets --------------------------------------------------------


def test_version_and_bare_commands_print_help(capsys):
    from refimpl import __version__

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.strip() == f"refimpl {__version__}"
    assert main([]) == 2 and "verify" in capsys.readouterr().out
    assert main(["golden"]) == 2
    out = capsys.readouterr().out
    assert "export" in out and "check" in out and "golden_command" not in out


def test_verify_list_and_selection(capsys):
    assert main(["verify", "--list", "ssm.legs_matvec"]) == 0
    out = capsys.readouterr().out
    assert "consistency" in out and "ssm.legs_matvec[numba]" in out
    assert main(["verify", "no_such_topic"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "unknown topic or check 'no_such_topic'" in captured.err


def test_verify_reports_kinds_and_units(capsys, tmp_path):
    js = tmp_path / "v.json"
    assert main(["verify", "ssm.legs_matvec", "derivations.rtf", "--json", str(js)]) == 0
    out = capsys.readouterr().out
    assert "rel err" in out and "independent checks: 2 passed (derivation 1, peer 1)" in out  # + the s4-form peer
    assert "consistency checks (refimpl's own paths against each other, not verification): 1 passed" in out
    data = json.loads(js.read_text())
    kinds = {r["name"]: (r["kind"], r["independent"]) for r in data["results"]}
    assert kinds["ssm.legs_matvec[numba]"] == ("consistency", False)
    assert kinds["derivations.rtf"] == ("derivation", True)


def test_derive_command(capsys):
    assert main(["derive", "--list"]) == 0
    assert "hippo_legs" in capsys.readouterr().out
    assert main(["derive", "rope_scaling", "--latex"]) == 0
    out = capsys.readouterr().out
    assert "% ntk_lambda" in out and "\\frac" in out
    with pytest.raises(SystemExit):
        main(["derive", "no_such_derivation"])
    import refimpl.derivations as d

    assert d.__name__ == "refimpl.derivations" and "hippo_legs" in d.names()


def test_golden_check_takes_names_anywhere(tmp_path, capsys, monkeypatch):
    gdir = tmp_path / "g"
    assert main(["golden", "export", str(gdir), "ssm.legs_matvec", "--examples", "4"]) == 0
    (tmp_path / "cand_mod_cli.py").write_text(
        "import numpy as np\n"
        "def ssm_legs_matvec(v):\n"
        "    n = np.arange(v.shape[0]); r = np.sqrt(2 * n + 1.0)\n"
        "    return (-np.tril(np.outer(r, r), -1) - np.diag(n + 1.0)) @ v\n")
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    js = tmp_path / "r.json"
    assert main(["golden", "check", str(gdir), "--module", "cand_mod_cli", "ssm.legs_matvec", "--json", str(js)]) == 0
    out = capsys.readouterr().out
    assert "ran" in out and "skipped 2: the candidate does not take 'normalization'" in out
    rep = json.loads(js.read_text())
    assert rep["passed"] and rep["cases"][0]["n_skipped"] == 2 and rep["cases"][0]["status"] == "PASS"
