"""The one place that imports numba.

``njit`` is numba's decorator when numba is importable; otherwise it leaves the
function as plain Python and :data:`HAVE_NUMBA` is False, so that
``backend="numba"`` raises :class:`refimpl.BackendUnavailableError` instead of
silently running slow Python.
"""
from __future__ import annotations

try:  # pragma: no branch
    import numba as _nb
    from numba import njit, prange

    HAVE_NUMBA = True
    NUMBA_VERSION = _nb.__version__
except ImportError:  # pragma: no cover - numba is a runtime dependency
    HAVE_NUMBA = False
    NUMBA_VERSION = None
    prange = range

    def njit(*args, **kwargs):
        """Stand-in for ``numba.njit`` when numba is not importable."""
        if len(args) == 1 and callable(args[0]) and not kwargs:
            return args[0]
        return lambda f: f

__all__ = ["HAVE_NUMBA", "NUMBA_VERSION", "njit", "prange"]
