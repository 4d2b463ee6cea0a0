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
from ._validation import ArgumentTypeError, check_shape

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


def device_array(x, name, xp, *, dtype=np.float64, ndim=None, min_ndim=None, shape=None, finite=True,
                 allow_complex=False, min_size=None, keep_float32=False):
    """``as_array`` for the array namespace ``xp``: a contiguous ``xp`` array, validated.

    Host inputs (lists, NumPy arrays) are copied to the device when ``xp`` is
    CuPy. Same parameters and messages as :func:`refimpl._validation.as_array`;
    ``keep_float32=True`` keeps a float32 input in float32 (RoPE's rule).
    The finiteness check costs one reduction and one device-to-host sync.
    """
    try:
        arr = xp.asarray(x)
    except Exception as exc:  # pragma: no cover - exotic array-likes
        raise ArgumentTypeError(f"parameter '{name}' must be array-like: {exc}") from None
    dt = np.dtype(arr.dtype)
    if dt == object or not (np.issubdtype(dt, np.number) or dt == np.bool_):
        raise ArgumentTypeError(f"parameter '{name}' must be a numeric array, got dtype {dt}")
    is_complex = np.issubdtype(dt, np.complexfloating)
    if is_complex and not allow_complex:
        raise ArgumentTypeError(f"parameter '{name}' must be real, got complex dtype {dt}")
    if allow_complex and is_complex:
        target = np.complex128
    elif keep_float32 and dt == np.float32:
        target = np.float32
    else:
        target = dtype
    arr = xp.ascontiguousarray(arr.astype(target, copy=False))
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"parameter '{name}' must be {ndim}-dimensional, got shape {tuple(arr.shape)}")
    if min_ndim is not None and arr.ndim < min_ndim:
        raise ValueError(f"parameter '{name}' must have at least {min_ndim} dimensions, got shape {tuple(arr.shape)}")
    if shape is not None:
        check_shape(arr, name, shape)
    if min_size is not None and arr.size < min_size:
        raise ValueError(f"parameter '{name}' must have at least {min_size} elements, got {arr.size}")
    if finite and arr.size and not bool(xp.isfinite(arr).all()):
        bad = "NaN" if bool(xp.isnan(arr).any()) else "Inf"
        raise ValueError(f"parameter '{name}' must be finite; it contains {bad}")
    return arr
