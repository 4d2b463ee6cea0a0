"""How a call runs: NumPy, numba or CuPy.

Conventions:

- ``backend="reference"``: the method's definition (``refimpl/<topic>/reference.py``):
  plain NumPy that reads like the article's equation, always available.
  ``"numpy"`` is accepted as another name for it.
- ``backend="auto"``: CuPy when any input is a CuPy array, else numba when it
  is importable (and the function has a numba path), else the reference.
- ``backend="numba"``/``"cupy"``: that path, or
  :class:`BackendUnavailableError` when it cannot run here. Never a silent
  fallback.
"""
from __future__ import annotations

import importlib

import numpy as np

from ._numba import HAVE_NUMBA

BACKENDS = ("auto", "reference", "numpy", "numba", "cupy")

__all__ = ["BACKENDS", "BackendUnavailableError", "available_backends", "cupy_or_none",
           "get_array_module", "is_cupy_array", "pick", "resolve_backend"]


class BackendUnavailableError(RuntimeError):
    """A backend was asked for explicitly but cannot run on this machine."""


_cupy = None
_cupy_checked = False


def cupy_or_none():
    """Return the ``cupy`` module if it imports and sees a GPU, else ``None``."""
    global _cupy, _cupy_checked
    if not _cupy_checked:
        _cupy_checked = True
        try:
            cp = importlib.import_module("cupy")
            if cp.cuda.runtime.getDeviceCount() > 0:
                _cupy = cp
        except Exception:  # ImportError, CUDA driver errors, no device
            _cupy = None
    return _cupy


def is_cupy_array(x):
    """True if ``x`` is a CuPy ndarray (checked without importing CuPy)."""
    return type(x).__module__.split(".")[0] == "cupy"


def get_array_module(*arrays):
    """``cupy`` if any argument is a CuPy array, else ``numpy``."""
    if any(is_cupy_array(a) for a in arrays):
        cp = cupy_or_none()
        if cp is None:  # pragma: no cover - a CuPy array implies CuPy works
            raise BackendUnavailableError("a CuPy array was passed but CuPy cannot run here")
        return cp
    return np


def available_backends():
    """The concrete backends that can run on this machine."""
    out = ["numpy"]
    if HAVE_NUMBA:
        out.append("numba")
    if cupy_or_none() is not None:
        out.append("cupy")
    return tuple(out)


def resolve_backend(backend, *arrays, supported=("reference", "numba")):
    """Choose the concrete backend for one call.

    Parameters
    ----------
    backend : {"auto", "reference", "numpy", "numba", "cupy"}
        What the caller asked for; ``"numpy"`` is another name for ``"reference"``.
    *arrays
        The array inputs; a CuPy array among them selects CuPy under "auto".
    supported : tuple of str
        The concrete backends this function implements (``"reference"`` always).

    Returns
    -------
    str
        One of ``supported``.

    Raises
    ------
    ValueError
        ``backend`` is not a known name, or this function has no such path.
    BackendUnavailableError
        The path exists but cannot run here (numba not importable, no CuPy/GPU).
    """
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise ValueError(f"parameter 'backend' must be one of {', '.join(map(repr, BACKENDS))}; got {backend!r}")
    if backend == "numpy":
        backend = "reference"
    has_cupy_input = any(is_cupy_array(a) for a in arrays)
    if backend == "auto":
        if has_cupy_input:
            backend = "cupy"
        elif "numba" in supported and HAVE_NUMBA:
            backend = "numba"
        else:
            backend = "reference"
    if backend not in supported:
        raise ValueError(
            f"parameter 'backend': this function implements {', '.join(map(repr, supported))} (or 'auto'); got {backend!r}"
        )
    if backend == "numba" and not HAVE_NUMBA:
        raise BackendUnavailableError("backend='numba' was requested but numba is not importable")
    if backend == "cupy" and cupy_or_none() is None:
        raise BackendUnavailableError("backend='cupy' was requested but CuPy is not importable or sees no GPU")
    if has_cupy_input and backend != "cupy":
        raise ValueError(f"parameter 'backend': got CuPy input with backend={backend!r}; use 'auto' or 'cupy'")
    return backend


def pick(backend, *arrays, reference, numba=None, cupy=None):
    """The implementation one call runs: ``(name, callable)``.

    Parameters
    ----------
    backend : {"auto", "reference", "numpy", "numba", "cupy"}
        What the caller asked for (``"numpy"`` means ``"reference"``).
    *arrays
        The array inputs; a CuPy array among them selects CuPy under "auto".
    reference : callable
        The definition (``reference.py``); always available.
    numba, cupy : callable, optional
        The fast paths this function has (``_fast.py``, ``_xp.py``).

    Returns
    -------
    (str, callable)
        The concrete backend name (``"reference"``, ``"numba"`` or
        ``"cupy"``) and the function to call.
    """
    paths = {"reference": reference}
    if numba is not None:
        paths["numba"] = numba
    if cupy is not None:
        paths["cupy"] = cupy
    name = resolve_backend(backend, *arrays, supported=tuple(paths))
    return name, paths[name]
