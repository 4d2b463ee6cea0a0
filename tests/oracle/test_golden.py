"""Golden vectors: export, bit-identical regeneration, the standalone loader, the CLI, bad input."""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import refimpl
from refimpl.cli import main
from refimpl.testing import golden, golden_loader
from refimpl.testing.golden_loader import GoldenError
from refimpl.testing.oracle import get_oracle

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SSM = ["ssm.legs_matvec", "ssm.legs_solve", "ssm.discretize"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    d = tmp_path_factory.mktemp("golden")
    golden.export(str(d), SSM, n_examples=6)
    return d


def _files(d):
    return {f: (d / f).read_bytes() for f in sorted(os.listdir(d))}


def test_regeneration_is_bit_identical(exported, tmp_path):
    golden.export(str(tmp_path), SSM, n_examples=6)
    a, b = _files(exported), _files(tmp_path)
    assert sorted(a) == sorted(b) == sorted(["manifest.json", "refimpl_golden.py"] + [f"{n}.npz" for n in SSM])
    for f in a:
        assert a[f] == b[f], f"{f} differs between two exports"


def test_examples_do_not_depend_on_which_cases_are_exported(exported, tmp_path):
    golden.export(str(tmp_path), ["ssm.legs_solve"], n_examples=6)
    assert (tmp_path / "ssm.legs_solve.npz").read_bytes() == (exported / "ssm.legs_solve.npz").read_bytes()


def test_manifest_contents(exported):
    m = json.loads((exported / "manifest.json").read_text())
    assert m["format"] == "refimpl-golden" and m["format_version"] == 1
    assert m["refimpl_version"] == refimpl.__version__
    assert sorted(m["cases"]) == sorted(SSM)
    e = m["cases"]["ssm.legs_solve"]
    assert e["function"] == "refimpl.ssm.legs_solve"
    assert e["tolerances"]["float64"] == {"rtol": 1e-12, "atol": 0.0}
    assert len(e["examples"]) == 6 and len(e["sha256"]) == 64
    ex = e["examples"][0]
    assert [a["name"] for a in ex["args"]] == ["v", "lam"] and "array" in ex["args"][0]
    assert ex["parameters"]["lam"] == ex["args"][1]["value"] and "N" in ex["parameters"]
    assert e["defaults"] == {"normalization": "paper"}


def test_stored_outputs_are_refimpl_on_the_rounded_inputs(exported):
    entry, examples = golden_loader.load_case(str(exported), "ssm.discretize")
    case = get_oracle("ssm.discretize")
    for ex in examples:
        for dt in ("float64", "float32"):
            args, kwargs = golden_loader.cast_inputs(ex.args, ex.kwargs, dt)
            want = case.func(*[v for _, v in args], **kwargs)
            for w, got in zip(want, ex.expected[dt]):
                np.testing.assert_array_equal(got, w)
                assert got.dtype == np.float64


def test_loader_checks_candidates(exported):
    from refimpl.ssm import discretize, legs_matvec, legs_solve

    rep = golden_loader.check_dir(str(exported), {"ssm.legs_matvec": legs_matvec, "ssm.legs_solve": legs_solve,
                                                  "ssm.discretize": discretize})
    assert rep and rep.passed and rep.missing == []
    assert all(c.n_examples == 6 and c.ratio <= 1 for c in rep.cases)
    rep = golden_loader.check_dir(str(exported), {"ssm.legs_matvec": lambda v: 1.01 * legs_matvec(v)})
    assert not rep and rep.missing == ["ssm.discretize", "ssm.legs_solve"]
    assert "out of tolerance" in rep.cases[0].message and "FAIL" in rep.summary()
    # float32: candidate must return float32
    rep = golden_loader.check_dir(str(exported), {"ssm.legs_matvec": legs_matvec}, dtype="float32")
    assert not rep and "wrong dtype: output has dtype float64, expected float32" in rep.cases[0].message
    rep = golden_loader.check_dir(str(exported), {"ssm.legs_matvec": lambda v, normalization="paper":
                                                  legs_matvec(v, normalization=normalization).astype(np.float32)},
                                  dtype="float32")
    assert rep, rep.summary()


def test_loader_fixed_and_defaults(exported):
    from refimpl.ssm import discretize

    seen = []

    def bilinear(A, B, dt):
        seen.append(1)
        return discretize(A, B, dt, "bilinear")

    m = json.loads((exported / "manifest.json").read_text())
    n_bil = sum(ex["parameters"]["method"] == "bilinear" for ex in m["cases"]["ssm.discretize"]["examples"])
    if n_bil == 0:
        with pytest.raises(GoldenError, match="no stored example"):
            golden_loader.check_case(str(exported), "ssm.discretize", bilinear, fixed={"method": "bilinear"})
    else:
        rep = golden_loader.check_case(str(exported), "ssm.discretize", bilinear, fixed={"method": "bilinear"})
        assert rep.passed and rep.n_examples == len(seen) == n_bil
    with pytest.raises(GoldenError, match="has no parameter among \\['layout'\\]"):
        golden_loader.check_case(str(exported), "ssm.discretize", bilinear, fixed={"layout": "half"})


def test_checksum_mismatch_is_detected(exported, tmp_path):
    golden.export(str(tmp_path), ["ssm.legs_matvec"], n_examples=2)
    p = tmp_path / "ssm.legs_matvec.npz"
    data = bytearray(p.read_bytes())
    data[-100] ^= 1
    p.write_bytes(bytes(data))
    with pytest.raises(GoldenError, match="checksum mismatch"):
        golden_loader.load_case(str(tmp_path), "ssm.legs_matvec")


@pytest.mark.parametrize("mutate,match", [
    (lambda d: os.remove(d / "manifest.json"), "no manifest.json"),
    (lambda d: (d / "manifest.json").write_text("{"), "not valid JSON"),
    (lambda d: (d / "manifest.json").write_text('{"format": "x"}'), "not a refimpl golden manifest"),
    (lambda d: os.remove(d / "ssm.legs_matvec.npz"), "is missing"),
])
def test_loader_bad_directories(tmp_path, mutate, match):
    golden.export(str(tmp_path), ["ssm.legs_matvec"], n_examples=1)
    mutate(tmp_path)
    with pytest.raises(GoldenError, match=match):
        golden_loader.load_case(str(tmp_path), "ssm.legs_matvec")


def test_loader_unknown_case_and_dtype(exported):
    with pytest.raises(GoldenError, match="case 'rope.apply' is not in .*it holds: ssm.discretize"):
        golden_loader.load_case(str(exported), "rope.apply")
    with pytest.raises(GoldenError, match="no stored outputs for dtype 'float16'"):
        golden_loader.check_case(str(exported), "ssm.legs_matvec", lambda v: v, dtype="float16")
    with pytest.raises(GoldenError, match="does not exist"):
        golden_loader.load_manifest(str(exported / "nope"))


def test_export_to_a_non_writable_directory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(GoldenError, match="cannot create export directory"):
        golden.export(str(blocker / "sub"), ["ssm.legs_matvec"])
    assert main(["golden", "export", str(blocker / "sub"), "ssm.legs_matvec"]) == 2
    if os.geteuid() != 0:  # root ignores permission bits
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        try:
            with pytest.raises(GoldenError, match="not writable"):
                golden.export(str(ro), ["ssm.legs_matvec"])
        finally:
            ro.chmod(0o700)


def test_failed_export_leaves_no_manifest_and_no_temporaries(tmp_path, monkeypatch):
    case = get_oracle("ssm.legs_solve")
    calls = {"n": 0}
    real = type(case).call_reference

    def flaky(self, args, kwargs):
        if self.name == "ssm.legs_solve":
            calls["n"] += 1
            if calls["n"] > 3:
                raise OSError(28, "No space left on device")
        return real(self, args, kwargs)

    monkeypatch.setattr(type(case), "call_reference", flaky)
    with pytest.raises(GoldenError, match="No space left"):
        golden.export(str(tmp_path), ["ssm.legs_matvec", "ssm.legs_solve"], n_examples=4)
    assert os.listdir(tmp_path) == []  # the first case's file was written to a temporary, then removed
    # an existing export stays intact when a re-export fails
    monkeypatch.setattr(type(case), "call_reference", real)
    golden.export(str(tmp_path), ["ssm.legs_matvec"], n_examples=2)
    before = _files(tmp_path)
    calls["n"] = 0
    monkeypatch.setattr(type(case), "call_reference", flaky)
    with pytest.raises(GoldenError):
        golden.export(str(tmp_path), ["ssm.legs_matvec", "ssm.legs_solve"], n_examples=4)
    assert _files(tmp_path) == before
    golden_loader.load_case(str(tmp_path), "ssm.legs_matvec")


def test_export_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="unknown oracle 'nope.x'; known oracles:"):
        golden.export(str(tmp_path), ["nope.x"])
    with pytest.raises(ValueError, match="'n_examples'"):
        golden.export(str(tmp_path), ["ssm.legs_matvec"], n_examples=0)
    assert not os.path.exists(tmp_path / "manifest.json")


def _write_module(tmp_path, name, body):
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(body))
    return name


def test_cli_export_and_check(tmp_path, monkeypatch, capsys):
    d = tmp_path / "golden"
    assert main(["golden", "export", str(d), "ssm.legs_matvec", "ssm.legs_solve", "--examples", "4"]) == 0
    assert "wrote 2 cases (8 examples)" in capsys.readouterr().out
    monkeypatch.syspath_prepend(str(tmp_path))
    _write_module(tmp_path, "good_kernels", """
        import numpy as np

        def ssm_legs_matvec(v):
            n = np.arange(v.shape[0]); r = np.sqrt(2 * n + 1.0)
            return (-np.tril(np.outer(r, r), -1) - np.diag(n + 1.0)).astype(v.dtype) @ v
    """)
    assert main(["golden", "check", str(d), "--module", "good_kernels"]) == 0
    out = capsys.readouterr().out
    assert "ssm.legs_matvec" in out and "PASS" in out and "not provided by the candidates" in out
    assert main(["golden", "check", str(d), "--module", "good_kernels", "--dtype", "float32"]) == 0
    _write_module(tmp_path, "bad_kernels", """
        from good_kernels import ssm_legs_matvec as _mv
        REFIMPL_CANDIDATES = {"ssm.legs_matvec": lambda v: 2 * _mv(v)}
    """)
    assert main(["golden", "check", str(d), "--module", "bad_kernels"]) == 1
    assert "FAIL" in capsys.readouterr().out
    assert main(["golden", "check", str(d), "--module", "no_such_module_xyz"]) == 2
    assert "cannot import --module" in capsys.readouterr().err
    _write_module(tmp_path, "empty_kernels", "X = 1\n")
    assert main(["golden", "check", str(d), "--module", "empty_kernels"]) == 2
    assert "provides no candidate" in capsys.readouterr().err
    assert main(["golden", "check", str(tmp_path / "nowhere"), "--module", "good_kernels"]) == 2
    assert main(["golden", "list"]) == 0
    assert "ssm.legs_matvec" in capsys.readouterr().out
    assert main(["golden", "export", str(tmp_path / "other"), "rope.aply"]) == 2
    assert "unknown oracle 'rope.aply'; known oracles:" in capsys.readouterr().err
    assert not (tmp_path / "other").exists()
    assert main(["golden", "export", str(tmp_path / "other"), "--examples", "0"]) == 2
    assert main(["golden", "check", str(d), "--module", "good_kernels", "--fixed", "nonsense"]) == 2
    assert "--fixed takes KEY=VALUE" in capsys.readouterr().err


def test_standalone_loader_needs_only_numpy(tmp_path):
    """The copied refimpl_golden.py runs with refimpl, numba, scipy and hypothesis unimportable."""
    d = tmp_path / "golden"
    golden.export(str(d), ["ssm.legs_matvec", "ssm.discretize"], n_examples=4)
    work = tmp_path / "proj"
    work.mkdir()
    _write_module(work, "kernels", """
        import numpy as np

        def ssm_legs_matvec(v):
            n = np.arange(v.shape[0]); r = np.sqrt(2 * n + 1.0)
            return (-np.tril(np.outer(r, r), -1) - np.diag(n + 1.0)).astype(v.dtype) @ v
    """)
    script = textwrap.dedent(f"""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("refimpl", "numba", "scipy", "hypothesis", "torch", "sympy"):
                    raise ImportError("blocked: " + name)
        sys.meta_path.insert(0, Block())
        sys.path.insert(0, {str(d)!r})
        import refimpl_golden
        sys.exit(refimpl_golden.main([{str(d)!r}, "--module", "kernels", "--dtype", "float32"]))
    """)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-c", script], cwd=work, capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ssm.legs_matvec" in proc.stdout and "PASS" in proc.stdout
    assert "not provided by the candidates (not checked): ssm.discretize" in proc.stdout
    src = (d / "refimpl_golden.py").read_text()
    assert src == open(golden_loader.__file__).read()


def test_round_bfloat16_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal(10000) * 10.0 ** np.random.default_rng(1).integers(-30, 30, 10000)
    x = np.concatenate([x, [0.0, -0.0, 1.0 + 2.0**-8, 1.0 + 3 * 2.0**-8, np.inf, -np.inf, 3.4e38]])
    ours = golden_loader.round_bfloat16(x)
    theirs = torch.from_numpy(x).to(torch.bfloat16).float().numpy()
    np.testing.assert_array_equal(ours, theirs)
    assert np.isnan(golden_loader.round_bfloat16(np.array([np.nan]))[0])


def test_every_registered_case_round_trips(tmp_path):
    """Export every case (tuples, scalar outputs, masks, per-method options) and check refimpl against it."""
    from refimpl.testing.oracle import discover_oracles

    cases = discover_oracles()
    golden.export(str(tmp_path), n_examples=4)
    cands = {n: (lambda *a, _c=c, **k: _c.call_reference([(None, x) for x in a], k)) for n, c in cases.items()}
    rep = golden_loader.check_dir(str(tmp_path), cands)
    assert rep.passed and len(rep.cases) == len(cases), rep.summary()
    assert all(c.max_abs == 0.0 for c in rep.cases)  # the same computation, bit for bit
    for n, c in cases.items():
        if "float32" in c.tolerances:
            _, examples = golden_loader.load_case(str(tmp_path), n)
            for ex in examples:
                for out in golden_loader._as_outputs(ex.expected["float32"]):
                    assert isinstance(out, (float, complex)) or out.dtype in (np.float64, np.complex128, np.bool_)


def test_a_case_whose_corners_were_all_skipped_is_not_a_pass(tmp_path, monkeypatch):
    """Skipped examples are counted with their reason; skipping every hard corner is INCOMPLETE, not PASS."""
    import numpy as np

    from refimpl.testing import cases, golden, golden_loader
    from refimpl.testing.cases import Case

    def scaled(x, *, factor=1.0, flip=False):
        return (-x if flip else x) * factor

    def inputs(src):
        return {"x": src.normal("x", (3,)), "flip": src.boolean("flip")}

    case = Case("zz.scaled", scaled, inputs, {"float64": (1e-12, 0.0)}, "exact", corners=({"flip": True},))
    monkeypatch.setattr(cases, "_CASES", {**cases.all_cases(), case.name: case})
    golden.export(str(tmp_path), ["zz.scaled"], n_examples=4)
    no_flip = golden_loader.check_dir(str(tmp_path), {"zz.scaled": lambda x: x})
    (rep,) = no_flip.cases
    assert rep.passed and rep.status == "INCOMPLETE" and not no_flip.passed
    assert rep.n_skipped >= 1 and "does not take 'flip'" in next(iter(rep.skipped))
    assert "hard-corner examples were skipped" in no_flip.summary()
    full = golden_loader.check_dir(str(tmp_path), {"zz.scaled": lambda x, flip=False: -x if flip else x})
    assert full.passed and full.cases[0].n_skipped == 0
    wrong = golden_loader.check_dir(str(tmp_path), {"zz.scaled": lambda x, flip=False: x})
    assert not wrong.passed and wrong.cases[0].status == "FAIL"
    assert np.isfinite(wrong.cases[0].max_abs)


def test_golden_check_catches_a_wrong_causal_alignment_without_return_weights(tmp_path):
    """The n_q < n_k corners run even for a kernel that takes no return_weights (they used to be skipped)."""
    import numpy as np

    from refimpl.testing import golden, golden_loader

    golden.export(str(tmp_path), ["attention.attention"])

    def top_left(q, k, v, *, causal=False, scale=None, mask=None, enable_gqa=False):
        if enable_gqa:
            r = q.shape[-3] // k.shape[-3]
            k, v = np.repeat(k, r, axis=-3), np.repeat(v, r, axis=-3)
        s = q @ np.swapaxes(k, -1, -2)
        s = s * (1 / np.sqrt(q.shape[-1]) if scale is None else (scale[..., None] if np.ndim(scale) else scale))
        vis = np.ones(s.shape[-2:], bool)
        if causal:
            vis = np.tril(vis)  # top-left: wrong when n_q < n_k
        if mask is not None:
            vis = vis & mask
        s = np.where(vis, s, -np.inf)
        p = np.exp(s - s.max(-1, keepdims=True))
        return (p / p.sum(-1, keepdims=True)) @ v

    (rep,) = golden_loader.check_dir(str(tmp_path), {"attention.attention": top_left}).cases
    assert rep.status == "FAIL", rep
    assert rep.corners_run >= 2
