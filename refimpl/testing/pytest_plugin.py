"""pytest plugin of refimpl (entry point ``pytest11``: ``refimpl = refimpl.testing.pytest_plugin``).

Installed with refimpl, it gives every test the fixture ``refimpl_oracle``::

    def test_my_rope(refimpl_oracle):
        refimpl_oracle("rope.apply", my_rope, dtype="float32", convert="torch",
                       fixed={"layout": "half"})

Calling the fixture runs :func:`refimpl.testing.check_against` and fails the
test with its message (max error, shrunk counterexample) unless it passed; it
returns the :class:`~refimpl.testing.oracle.OracleResult`. The option
``--refimpl-max-examples N`` sets the default number of examples (100).
"""
from __future__ import annotations

import pytest


def pytest_addoption(parser):
    """Add ``--refimpl-max-examples N`` (the fixture's default number of examples)."""
    group = parser.getgroup("refimpl", "refimpl oracle checks")
    group.addoption("--refimpl-max-examples", type=int, default=None, metavar="N",
                    help="default max_examples of the refimpl_oracle fixture (default 100)")


class OracleFixture:
    """Callable fixture object: ``refimpl_oracle(name, candidate, **options)``."""

    def __init__(self, max_examples):
        self.max_examples = max_examples

    def __call__(self, name, candidate, **options):
        from .oracle import check_against

        if self.max_examples is not None:
            options.setdefault("max_examples", self.max_examples)
        result = check_against(name, candidate, **options)
        if not result.passed:
            pytest.fail(result.message, pytrace=False)
        return result

    @staticmethod
    def names():
        """The registered oracle names."""
        from .oracle import oracle_names

        return oracle_names()


@pytest.fixture
def refimpl_oracle(request):
    """Check a candidate against a refimpl oracle; fails the test with the counterexample."""
    return OracleFixture(request.config.getoption("--refimpl-max-examples"))
