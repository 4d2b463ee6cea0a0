"""Tools for testing an implementation against refimpl.

- :func:`assert_close`: compare arrays (NumPy, torch, JAX, CuPy) with
  documented default tolerances per dtype (:data:`DEFAULT_TOLERANCES`).
- :mod:`refimpl.testing.strategies`: hypothesis strategies for the common
  inputs (matrices of a given conditioning, head dimensions, sequence
  lengths, step sizes ...). They are re-exported here when hypothesis is
  installed (``pip install refimpl[test]``), e.g.
  ``from refimpl.testing import matrices``.
- :func:`check_against`: drive your implementation with the inputs of a
  registered oracle case (``"rope.apply"``, ``"ssm.legs_matvec"`` ...) and
  compare with refimpl; :func:`oracle_names` lists the cases,
  :mod:`refimpl.testing.oracle` explains how a topic registers one.
- Golden vectors: :mod:`refimpl.testing.golden` (``refimpl golden export``)
  and the NumPy-only :mod:`refimpl.testing.golden_loader`.
- :func:`compare_speed` (:mod:`refimpl.testing.speed`, ``refimpl
  compare-speed``): check a kernel, then time it against refimpl's fastest
  path and the hardware floor.
- A pytest plugin (:mod:`refimpl.testing.pytest_plugin`) with the fixture
  ``refimpl_oracle``.

See docs/oracle.md.
"""
from __future__ import annotations

from ._assert import DEFAULT_TOLERANCES, assert_close, max_error, to_numpy
from .oracle import OracleResult, check_against, get_oracle, oracle_names, register_oracle
from .speed import compare_speed

__all__ = ["DEFAULT_TOLERANCES", "OracleResult", "assert_close", "check_against", "compare_speed", "get_oracle",
           "max_error", "oracle_names", "register_oracle", "to_numpy"]

_STRATEGY_NAMES = (
    "finite_arrays", "finite_vectors", "matrices", "square_matrices", "head_dims",
    "seq_lens", "state_sizes", "step_sizes", "positions", "seeds", "stable_diagonals",
)


def __getattr__(name):  # lazy: hypothesis is an optional dependency
    if name in _STRATEGY_NAMES or name == "strategies":
        import importlib

        strategies = importlib.import_module(__name__ + ".strategies")
        return strategies if name == "strategies" else getattr(strategies, name)
    raise AttributeError(f"module 'refimpl.testing' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_STRATEGY_NAMES) + ["strategies"])
