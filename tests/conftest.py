"""Shared test configuration.

Hypothesis profiles: ``ci`` (derandomised, no deadline: numba compilation can
overrun the default 200 ms on a first example) is the default; ``dev`` draws
random examples. Choose with ``HYPOTHESIS_PROFILE=dev``.
"""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", deadline=None, derandomize=True, max_examples=100,
                          suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.register_profile("dev", deadline=None, max_examples=300)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

EPS = np.finfo(np.float64).eps


@pytest.fixture
def rng():
    """A fixed-seed generator, fresh for each test."""
    return np.random.default_rng(20261128)


def pytest_terminal_summary(terminalreporter):
    """One line per skip reason (pytest's -rs lists every skipped test's location instead)."""
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    reasons = {}
    for rep in skipped:
        longrepr = rep.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
        reason = reason.removeprefix("Skipped: ")
        reasons[reason] = reasons.get(reason, 0) + 1
    terminalreporter.section("skips by reason", sep="-")
    for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1]):
        terminalreporter.write_line(f"{n:4d} skipped: {reason}")
