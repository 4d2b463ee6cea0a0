"""The mutation generator of tools/mutate.py, on small source strings (fast; no tests are run)."""
import ast
import importlib.util
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[1] / "tools" / "mutate.py"
_spec = importlib.util.spec_from_file_location("refimpl_tools_mutate", _PATH)
mutate = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = mutate          # dataclasses look their module up by name
_spec.loader.exec_module(mutate)

SOURCE = '''\
"""Module docstring: 1 + 2 is not code."""
import numpy as np
from .._validation import as_array, check_real

SCALE = 0.5
__all__ = ["kernel"]
__all__ += ["SCALE"]
MASK = 0x7FFF


def _validate(x):
    if x < 0:
        raise ValueError(f"parameter 'x' must be >= 0, got {x - 1}")
    return x


@njit(cache=True, nogil=True)
def kernel(v, out, lam=2):
    """Docstring with -x and x[0]."""
    lam = check_real(lam, "lam", low=0.0)   # validation: left alone
    if v.shape[0] > 10 and lam <= 3:
        raise ValueError("too big")
    acc = 0.0  # comment: 1 - 1
    for j in range(v.shape[0]):
        out[j] = -acc + lam * v[j] - 1.5
        acc += max(v[j], 0.0)
    s = v[1:v.shape[0]]
    t = np.maximum(s, 0) if acc > 1 or lam >= 1 else s
    return t[-1] + SCALE
'''


def _by_op(mutants):
    out = {}
    for m in mutants:
        out.setdefault(m.op, []).append(m)
    return out


def test_every_operator_has_sites_and_each_mutant_is_valid_python():
    mutants = mutate.mutants_of_source(SOURCE, "refimpl/x/mod.py")
    ops = _by_op(mutants)
    assert set(ops) == set(mutate.OPERATORS), set(mutate.OPERATORS) ^ set(ops)
    original = ast.dump(ast.parse(SOURCE))
    for m in mutants:
        new = m.apply(SOURCE)
        tree = ast.parse(new)                      # valid Python
        assert ast.dump(tree) != original, m       # and a real change
        changed = [i for i, (a, b) in enumerate(zip(SOURCE.splitlines(), new.splitlines())) if a != b]
        assert changed == [m.lineno - 1], m        # exactly one line, the one named
        assert len(new.splitlines()) == len(SOURCE.splitlines())


def test_each_operator_makes_the_expected_edit():
    mutants = mutate.mutants_of_source(SOURCE, "refimpl/x/mod.py")
    got = {(m.op,) + m.lines(SOURCE) for m in mutants}
    got = {(op, old.strip(), new.strip()) for op, old, new in got}
    expected = [
        ("sign", "out[j] = -acc + lam * v[j] - 1.5", "out[j] = -acc - lam * v[j] - 1.5"),
        ("sign", "acc += max(v[j], 0.0)", "acc -= max(v[j], 0.0)"),
        ("unary", "out[j] = -acc + lam * v[j] - 1.5", "out[j] = acc + lam * v[j] - 1.5"),
        ("constant", "SCALE = 0.5", "SCALE = 0.51"),
        ("constant", "MASK = 0x7FFF", "MASK = 0x8000"),
        ("constant", "out[j] = -acc + lam * v[j] - 1.5", "out[j] = -acc + lam * v[j] - 1.53"),
        ("constant", "def kernel(v, out, lam=2):", "def kernel(v, out, lam=3):"),
        ("index", "s = v[1:v.shape[0]]", "s = v[2:v.shape[0]]"),
        ("index", "s = v[1:v.shape[0]]", "s = v[1:v.shape[0] - 1]"),
        ("index", "return t[-1] + SCALE", "return t[-2] + SCALE"),
        ("range", "for j in range(v.shape[0]):", "for j in range(v.shape[0] - 1):"),
        ("compare", "t = np.maximum(s, 0) if acc > 1 or lam >= 1 else s",
         "t = np.maximum(s, 0) if acc >= 1 or lam >= 1 else s"),
        ("boolop", "t = np.maximum(s, 0) if acc > 1 or lam >= 1 else s",
         "t = np.maximum(s, 0) if acc > 1 and lam >= 1 else s"),
        ("minmax", "acc += max(v[j], 0.0)", "acc += min(v[j], 0.0)"),
        ("minmax", "t = np.maximum(s, 0) if acc > 1 or lam >= 1 else s",
         "t = np.minimum(s, 0) if acc > 1 or lam >= 1 else s"),
    ]
    for e in expected:
        assert e in got, e


def test_skipped_regions_have_no_sites():
    mutants = mutate.mutants_of_source(SOURCE, "refimpl/x/mod.py")
    lines = SOURCE.splitlines()
    touched = {lines[m.lineno - 1].strip() for m in mutants}
    for skipped in ('"""Module docstring: 1 + 2 is not code."""', "import numpy as np", '__all__ += ["SCALE"]',
                    "if x < 0:",                                     # inside a validator function
                    "@njit(cache=True, nogil=True)",                 # decorator flags
                    '"""Docstring with -x and x[0]."""',
                    'lam = check_real(lam, "lam", low=0.0)   # validation: left alone',
                    "if v.shape[0] > 10 and lam <= 3:",              # an ``if ...: raise`` guard
                    'raise ValueError("too big")'):
        assert skipped not in touched, skipped
    # the comment on a mutated line is never edited
    for m in mutants:
        old, new = m.lines(SOURCE)
        if "#" in old:
            assert old[old.index("#"):] == new[new.index("#"):]


def test_tiny_floats_and_strings_are_left_alone():
    src = "def f(x):\n    return x + 1e-12 + len('a-b') * 2\n"
    new_lines = {m.lines(src)[1].strip() for m in mutate.mutants_of_source(src)}
    assert "return x + 1e-12 + len('a-b') * 3" in new_lines
    assert all("1e-12" in line for line in new_lines)
    assert all("'a-b'" in line for line in new_lines)


def test_non_ascii_before_the_site_keeps_columns_right():
    src = "def f(x):\n    y = {'名前': 1}; return x - y['名前']\n"
    for m in mutate.mutants_of_source(src):
        ast.parse(m.apply(src))
    signs = [m for m in mutate.mutants_of_source(src) if m.op == "sign"]
    assert [m.lines(src)[1].strip() for m in signs] == ["y = {'名前': 1}; return x + y['名前']"]


def test_sampling_is_deterministic_and_depends_on_the_seed():
    mutants = mutate.mutants_of_source(SOURCE, "m.py")
    sources = {"m.py": SOURCE}
    a = mutate.sample(mutants, 8, 0, sources)
    assert a == mutate.sample(list(reversed(mutants)), 8, 0, sources)
    assert a == mutate.sample(mutants, 8, 0, sources)
    assert len(a) == 8 and len(set(a)) == 8
    assert any(mutate.sample(mutants, 8, s, sources) != a for s in (1, 2, 3))
    assert mutate.sample(mutants, 10**6, 0, sources) == sorted(mutants)


def test_apply_and_revert_in_a_copy_leave_the_file_as_it_was(tmp_path):
    pkg = tmp_path / "refimpl" / "x"
    pkg.mkdir(parents=True)
    target = pkg / "mod.py"
    target.write_text(SOURCE, encoding="utf-8")
    cache = pkg / "__pycache__"
    cache.mkdir()
    (cache / "mod.cpython-311.pyc").write_bytes(b"stale")
    before = target.read_bytes()
    m = mutate.sample(mutate.mutants_of_source(SOURCE, "refimpl/x/mod.py"), 1, 3, {"refimpl/x/mod.py": SOURCE})[0]
    target.write_text(m.apply(SOURCE), encoding="utf-8")
    mutate._drop_pyc(target)
    assert target.read_bytes() != before and not list(cache.glob("mod.*.pyc"))
    target.write_text(SOURCE, encoding="utf-8")
    mutate._drop_pyc(target)
    assert target.read_bytes() == before


def test_equivalent_key_ignores_indentation_and_line_numbers():
    mutants = mutate.mutants_of_source(SOURCE, "refimpl/x/mod.py")
    m = next(m for m in mutants if m.op == "minmax" and "acc +=" in m.lines(SOURCE)[0])
    shifted = "\n\n" + SOURCE
    m2 = next(x for x in mutate.mutants_of_source(shifted, "refimpl/x/mod.py")
              if x.op == "minmax" and "acc +=" in x.lines(shifted)[0])
    assert m2.lineno == m.lineno + 2
    assert mutate.equivalent_key(m, SOURCE) == mutate.equivalent_key(m2, shifted) == (
        "refimpl/x/mod.py", "acc += max(v[j], 0.0)", "acc += min(v[j], 0.0)")


@pytest.mark.parametrize("output,kind,detail", [
    ("tests/a/test_b.py:12: AssertionError\n=== short test summary info ===\n"
     "FAILED tests/a/test_b.py::test_c - ...\n", "assertion", "tests/a/test_b.py::test_c"),
    ("E   IndexError: index 3\nrefimpl/x.py:9: IndexError\n=== short test summary info ===\n"
     "FAILED tests/a/test_b.py::test_c - IndexError: index 3\n", "crash", "IndexError in tests/a/test_b.py::test_c"),
    ("/venv/numba/core/dispatcher.py:468: TypingError\n=== short test summary info ===\n"
     "FAILED tests/a/test_b.py::test_c - numba.core.errors.TypingError: ...\n", "crash", "TypingError in "
     "tests/a/test_b.py::test_c"),
    ("derivations/_util.py:30: DerivationError\n=== short test summary info ===\n"
     "FAILED tests/a/test_b.py::test_c - derivations._util.DerivationError: x\n", "assertion", "tests/a/test_b.py::test_c"),
    ("....Fatal Python error: Segmentation fault\n\nCurrent thread 0x1 (most recent call first):\n"
     '  File "/x/refimpl/attention/core.py", line 40 in attention\n'
     '  File "/x/tests/attention/test_core.py", line 12 in test_c\n', "crash",
     "Segmentation fault in /x/tests/attention/test_core.py::test_c"),
    ("=== short test summary info ===\nFAILED tests/a/test_b.py::test_c - assert 1 == 2\n", "assertion",
     "tests/a/test_b.py::test_c"),
    ("tests/a/test_b.py:5: Failed\n=== short test summary info ===\nFAILED tests/a/test_b.py::test_c - "
     "Failed: DID NOT RAISE\n", "assertion", "tests/a/test_b.py::test_c"),
])
def test_classify_reads_the_exception_from_pytest_output(output, kind, detail):
    assert mutate.classify(output) == (kind, detail)


def test_report_counts_and_keeps_the_hand_written_notes(tmp_path):
    sources = {"refimpl/x/mod.py": SOURCE}
    ms = mutate.sample(mutate.mutants_of_source(SOURCE, "refimpl/x/mod.py"), 4, 0, sources)
    results = [mutate.Result(ms[0], "killed", "assertion: t", 1.0), mutate.Result(ms[1], "killed", "crash: E in t", 1.0),
               mutate.Result(ms[2], "survived", "", 1.0), mutate.Result(ms[3], "equivalent", "", 1.0, "no change")]
    meta = dict(command="c", commit="abc", dirty=False, date="d", t0=0.0, jobs=1, timeout="60 s", sites=9, files=1,
                topics=["x"], n=4, seed=0, baseline={"x": (True, 3.0)}, stale=[])
    report = tmp_path / "MUTATION.md"
    report.write_text("old\n\n## Notes\n\nkept by hand\n", encoding="utf-8")
    mutate.write_report(report, results, sources, meta, done=True)
    text = report.read_text(encoding="utf-8")
    assert "| killed | 2 (1 by an assertion, 1 by a crash) |" in text
    assert "| survived | 1 |" in text and "| equivalent (judged, not counted) | 1 |" in text
    assert "**Kill rate over non-equivalent mutants: 66.7 %** (2 of 3)." in text
    assert "Why equivalent: no change" in text
    old, new = ms[2].lines(SOURCE)
    assert f"-{old}\n+{new}" in text                       # the survivor's diff
    assert text.endswith("\n## Notes\n\nkept by hand\n") and text.count("\n## Notes") == 1


def test_numba_cache_of_the_module_and_its_importers_is_dropped(tmp_path):
    pkg = tmp_path / "refimpl" / "t"
    pkg.mkdir(parents=True)
    (pkg / "_kernels.py").write_text("import numpy as np\n")
    (pkg / "core.py").write_text("from . import _kernels\n")
    (pkg / "api.py").write_text("from .core import f\n")
    (pkg / "other.py").write_text("import numpy\n")
    assert mutate.importers(tmp_path, "t", "_kernels") == {"_kernels", "core", "api"}
    cache = tmp_path / "cache"
    for folder in ("t_0123abcd", "u_4567ef01"):
        (cache / folder).mkdir(parents=True)
        for name in ("_kernels.k-3.py311.nbi", "_kernels.k-3.py311.0.nbc", "core.g-9.py311.nbi", "other.h-1.py311.nbi"):
            (cache / folder / name).write_text("x")
    mutate._drop_numba_cache(cache, "t", {"_kernels", "core", "api"})
    assert sorted(p.name for p in (cache / "t_0123abcd").iterdir()) == ["other.h-1.py311.nbi"]
    assert len(list((cache / "u_4567ef01").iterdir())) == 4          # another topic's folder is untouched


def test_workers_keep_to_their_topics():
    class W:
        def __init__(self):
            self.claimed = set()

    def m(topic, line):
        return mutate.Mutant(f"refimpl/{topic}/a.py", line, 0, 1, "x", "sign")

    queue = [m("a", 1), m("a", 2), m("a", 3), m("b", 1), m("b", 2), m("c", 1)]
    w1, w2 = W(), W()
    order = []
    while True:
        got = [mutate._next(queue, w, [w1, w2]) for w in (w1, w2)]
        if got == [None, None]:
            break
        order.append([g.path.split("/")[1] if g else None for g in got])
    assert order[0] == ["a", "b"] and order[1] == ["a", "b"]      # each on its own topic
    assert sorted(t for pair in order for t in pair if t) == ["a", "a", "a", "b", "b", "c"]


def test_lines_are_counted_as_python_counts_them():
    src = 'def f(x):\n    """a\x0cb\u2028c"""\n    return x + 1\n'
    (m,) = [m for m in mutate.mutants_of_source(src) if m.op == "sign"]
    assert m.lineno == 3 and m.lines(src) == ("    return x + 1", "    return x - 1")
    assert m.apply(src) == src.replace("x + 1", "x - 1")


def test_report_is_rewritten_from_a_run_log_with_the_current_equivalent_table(tmp_path):
    sources = {"refimpl/x/mod.py": SOURCE}
    ms = mutate.sample(mutate.mutants_of_source(SOURCE, "refimpl/x/mod.py"), 3, 0, sources)
    log = ["3 mutants of 30 sites; copies in /tmp/x", "commit abc123; date 2026-01-01 00:00 UTC; command c",
           "baseline x: passed in 5 s"]
    for i, (m, outcome, detail) in enumerate(zip(ms, ("killed", "survived", "survived"), ("assertion: t", "", ""))):
        log.append(f"[{i + 1}/3] {outcome:9s} {7:5.0f} s  {m.path}:{m.lineno} {m.describe(SOURCE)}  {detail}")
    log.append("wall time 0 min 21 s; report: r")
    (tmp_path / "run.log").write_text("\n".join(log) + "\n", encoding="utf-8")
    key = mutate.equivalent_key(ms[2], SOURCE)
    report = tmp_path / "MUTATION.md"

    class Args:
        seed = 0

    mutate.rerender(tmp_path / "run.log", report, ms, sources, 30, ["x"], Args, {key: "judged"})
    text = report.read_text(encoding="utf-8")
    assert "- state: complete" in text and "- commit: `abc123`" in text and "- wall time: 0 min 21 s" in text
    assert "| survived | 1 |" in text and "| equivalent (judged, not counted) | 1 |" in text
    assert "Why equivalent: judged" in text and "**Kill rate over non-equivalent mutants: 50.0 %**" in text


def test_commands_run_related_files_and_the_topic_rows_first(tmp_path):
    (tmp_path / "tests").mkdir()
    for f in ("test_cases.py", "test_doctests.py"):
        (tmp_path / "tests" / f).write_text("")
    first, rest = mutate.test_commands(["tests/t/test_a.py"], ["tests/t/test_b.py"], ["tests/gpu/test_xp_t.py"],
                                       "t", tmp_path)
    assert first[first.index("pytest"):] == [
        "pytest", "-x", "-q", "-p", "no:cacheprovider", "tests/t/test_a.py", "tests/gpu/test_xp_t.py",
        "tests/test_cases.py", "tests/test_doctests.py", "-k", "(not test_cases.py and not test_doctests.py) or t."]
    assert rest[-1] == "tests/t/test_b.py" and "-k" not in rest
