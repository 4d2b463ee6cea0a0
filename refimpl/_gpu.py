"""Shared helpers of the CuPy paths (docs/gpu.md).

The CuPy paths of refimpl are written once against an array namespace
``xp`` (``numpy`` or ``cupy``): the same function runs on the GPU with
``xp = cupy`` and on the CPU with ``xp = numpy``, and the NumPy
instantiation is what the CPU test suite compares with the NumPy oracle.
Only a few kernels (fused RoPE, Cauchy) are CUDA ``RawKernel``s; those run
only on a GPU.

This module holds the validation that every CuPy path shares: the
device-side analogue of :func:`refimpl._validation.as_array`, with the same
error wording, so a bad CuPy input raises the same ``ValueError`` /
``TypeError`` as the NumPy path.
"""
from __future__ import annotations

import numpy as np

from ._backend import cupy_or_none, is_cupy_array
from ._validation import as_array

__all__ = ["device_array", "device_module", "to_host", "wants_cupy"]


def wants_cupy(backend, *arrays):
    """True when a call must take its CuPy path: ``backend="cupy"`` or a CuPy array among ``arrays``."""
    return (isinstance(backend, str) and backend == "cupy") or any(is_cupy_array(a) for a in arrays)


def device_module():
    """The ``cupy`` module (the caller has already resolved ``backend="cupy"``)."""
    cp = cupy_or_none()
    if cp is None:  # pragma: no cover - resolve_backend raised before this
        from ._backend import BackendUnavailableError

        raise BackendUnavailableError("CuPy is not importable or sees no GPU")
    return cp


def to_host(x):
    """A NumPy array from a NumPy or CuPy array (or a torch tensor, CPU or CUDA)."""
    if is_cupy_array(x):
        return x.get()
    if type(x).__module__.split(".")[0] == "torch":
        return x.detach().cpu().numpy()
    return np.asarray(x)


def device_array(x, name, xp, **kwargs):
    """:func:`refimpl._validation.as_array` with the namespace ``xp`` (kept for existing callers)."""
    return as_array(x, name, xp=xp, **kwargs)
