"""Helpers shared by the derivation scripts."""
from __future__ import annotations

import numpy as np
import sympy as sp

__all__ = ["DerivationError", "require", "sym_to_array", "max_abs_diff", "show"]


class DerivationError(AssertionError):
    """A derived result disagrees with a closed form or with refimpl's numerics."""


def require(condition, message):
    """Raise :class:`DerivationError` with ``message`` unless ``condition`` holds."""
    if not bool(condition):
        raise DerivationError(message)


def sym_to_array(M, dtype=np.float64):
    """Evaluate a SymPy matrix/vector to a NumPy array (30 significant digits, then rounded)."""
    M = sp.Matrix(M)
    vals = [[complex(sp.N(x, 30)) for x in M.row(i)] for i in range(M.rows)]
    arr = np.array(vals)
    if np.dtype(dtype).kind == "f":
        if np.max(np.abs(arr.imag), initial=0.0) != 0.0:
            raise DerivationError("expected a real matrix")
        arr = arr.real
    arr = arr.astype(dtype)
    return arr[:, 0] if M.cols == 1 else arr


def max_abs_diff(a, b):
    """Largest absolute elementwise difference between two arrays."""
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b)), initial=0.0))


def show(title, expr=None):
    """Print a titled, pretty-printed expression (used by ``refimpl derive X``)."""
    print(f"\n== {title}")
    if expr is not None:
        print(sp.pretty(expr, use_unicode=True, wrap_line=False))
