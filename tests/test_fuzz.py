"""Bad input never passes silently: every parameter of every public function, made bad one at a time.

Driven by the case tables (refimpl/testing/fuzz.py says which bad values
each kind of parameter gets). A call must raise ValueError/TypeError naming
the parameter, or give the result its case row documents.
"""
import pytest

from refimpl.testing.cases import all_cases
from refimpl.testing.fuzz import fuzz_case

CASES = all_cases()


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_refused_by_name(name):
    findings = fuzz_case(CASES[name])
    bad = [f for f in findings if not f.ok]
    assert not bad, "\n".join(f"{f.case}({f.parameter}=<{f.klass}>): {f.outcome}" for f in bad)


def test_fuzz_covers_every_case_and_makes_calls():
    total = sum(len(fuzz_case(c)) for c in list(CASES.values())[:3])
    assert total > 0


def test_fuzz_catches_a_planted_regression(monkeypatch):
    """Remove the finiteness check of the one validation entry: the fuzz must notice."""
    from refimpl import _validation

    for name in ("ssm.legs_matvec", "ssm.legs_solve"):
        assert all(f.ok for f in fuzz_case(CASES[name]) if f.klass in ("nan", "inf")), name
    monkeypatch.setattr(_validation, "_require_finite", lambda arr, name, xp=None: None)
    for name in ("ssm.legs_matvec", "ssm.legs_solve"):
        missed = [f for f in fuzz_case(CASES[name]) if f.klass in ("nan", "inf") and not f.ok]
        assert missed, f"the fuzz did not notice NaN/inf passing {name}"


def test_readme_states_the_fuzz_numbers():
    """The README's numbers are what this suite runs (update them when a row is added)."""
    import pathlib
    import re

    from refimpl.testing.fuzz import BAD_CLASSES

    text = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text()
    calls = sum(len(fuzz_case(c)) for c in CASES.values())
    m = re.search(r"every case table: (\d+) public functions, each\s+parameter made bad in turn in (\d+) classes"
                  r"[^,]*(?:,[^,]*)*?\), (\d+) calls per CI run", text)
    assert m, "the README's bad-input section lost its numbers"
    assert tuple(map(int, m.groups())) == (len(CASES), len(BAD_CLASSES), calls)
