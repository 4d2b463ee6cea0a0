"""The pytest plugin: entry point declared, fixture usable from a user's test suite."""
import os
import subprocess
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_entry_point_is_declared():
    text = open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8").read()
    section = text.split("[project.entry-points.pytest11]", 1)
    assert len(section) == 2, "pyproject.toml declares no pytest11 entry point"
    first = section[1].strip().splitlines()[0]
    assert first.replace(" ", "") == 'refimpl="refimpl.testing.pytest_plugin"'
    import importlib

    assert hasattr(importlib.import_module("refimpl.testing.pytest_plugin"), "refimpl_oracle")


def test_fixture_in_a_user_test_suite(tmp_path):
    (tmp_path / "test_user.py").write_text(textwrap.dedent("""
        import numpy as np
        from refimpl.testing import check_against

        def my_matvec(v):
            n = np.arange(v.shape[0]); r = np.sqrt(2 * n + 1.0)
            return (-np.tril(np.outer(r, r), -1) - np.diag(n + 1.0)).astype(v.dtype) @ v

        def test_good(refimpl_oracle):
            res = refimpl_oracle("ssm.legs_matvec", my_matvec, dtype="float32")
            assert res.passed and res.n_examples == 7

        def test_bad(refimpl_oracle):
            refimpl_oracle("ssm.legs_matvec", lambda v: my_matvec(v)[::-1])

        def test_plain_assert():
            assert check_against("ssm.legs_matvec", lambda v: 2 * my_matvec(v), max_examples=5)

        def test_names(refimpl_oracle):
            assert "ssm.legs_matvec" in refimpl_oracle.names()
    """))
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    # -p no:refimpl blocks the installed entry point (if any) so the module is loaded once, by name
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:refimpl", "-p",
                           "refimpl.testing.pytest_plugin", "--refimpl-max-examples", "7", "-p", "no:cacheprovider",
                           "test_user.py"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "2 failed, 2 passed" in out, out
    assert "oracle 'ssm.legs_matvec' at float64: FAILED" in out
    assert "smallest failing input: Counterexample(v=np.array([0.1257302210933933, -0.1321048632913019]" in out, out
    assert "assert <OracleResult oracle 'ssm.legs_matvec' at float64: FAILED" in out, out
