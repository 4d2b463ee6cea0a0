"""Input validation shared by every topic.

Every public function validates its inputs here before any kernel runs, so
that bad input raises a ``ValueError`` or ``TypeError`` whose message names the
parameter and what is accepted -- never a silent NaN or an ``IndexError`` from
deep inside a kernel.
"""
from __future__ import annotations

import numbers
import operator

import numpy as np

__all__ = [
    "ArgumentTypeError",
    "as_array",
    "check_bool",
    "check_choice",
    "check_finite",
    "check_int",
    "check_real",
    "check_rng",
    "check_shape",
    "check_size",
    "is_scalar",
]

#: The most bytes one array may take before a size check refuses the request
#: (half the machine's memory when it can be read, else 16 GiB).
def _memory_limit():
    try:
        import os

        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 16 * 2**30


MEMORY_LIMIT = _memory_limit()


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type (e.g. ``N=2.5`` where an integer is required).

    It is both a ``TypeError`` and a ``ValueError``, so callers that catch
    either (``pytest.raises(ValueError)`` for "bad N") see it.
    """


def _describe(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_int(value, name, *, min_value=None, max_value=None):
    """Return ``value`` as a Python ``int``, or raise naming ``name``.

    Booleans and non-integral floats are rejected (``TypeError``); values
    outside ``[min_value, max_value]`` raise ``ValueError``.
    """
    if isinstance(value, (bool, np.bool_)):
        raise ArgumentTypeError(f"parameter '{name}' must be an integer, got bool {value!r}")
    if not isinstance(value, numbers.Integral):
        if isinstance(value, (numbers.Real, np.floating)):
            raise ArgumentTypeError(f"parameter '{name}' must be an integer, got {_describe(value)}")
        try:
            value = operator.index(value)
        except TypeError:
            raise ArgumentTypeError(
                f"parameter '{name}' must be an integer, got {type(value).__name__} {_describe(value)}"
            ) from None
    value = int(value)
    if min_value is not None and value < min_value:
        raise ValueError(f"parameter '{name}' must be an integer >= {min_value}, got {value}")
    if max_value is not None and value > max_value:
        raise ValueError(f"parameter '{name}' must be an integer <= {max_value}, got {value}")
    return value


def check_real(value, name, *, low=None, high=None, low_open=False, high_open=False):
    """Return ``value`` as a finite Python ``float`` in the given interval.

    ``low``/``high`` are inclusive unless ``low_open``/``high_open``.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise ArgumentTypeError(f"parameter '{name}' must be a real number, got {type(value).__name__} {_describe(value)}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"parameter '{name}' must be finite, got {value}")
    if low is not None and (value < low or (low_open and value == low)):
        op = ">" if low_open else ">="
        raise ValueError(f"parameter '{name}' must be {op} {low}, got {value}")
    if high is not None and (value > high or (high_open and value == high)):
        op = "<" if high_open else "<="
        raise ValueError(f"parameter '{name}' must be {op} {high}, got {value}")
    return value


def check_choice(value, name, choices):
    """Return ``value`` if it is one of ``choices``; otherwise list them."""
    if not isinstance(value, str) or value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"parameter '{name}' must be one of {listed}; got {_describe(value)}")
    return value


def check_finite(array, name):
    """Raise ``ValueError`` if ``array`` holds a NaN or an infinity."""
    if not np.all(np.isfinite(array)):
        bad = "NaN" if np.any(np.isnan(array)) else "Inf"
        raise ValueError(f"parameter '{name}' must be finite; it contains {bad}")
    return array


def check_shape(array, name, shape):
    """Check ``array.shape`` against ``shape`` (``None`` entries match anything)."""
    if len(array.shape) != len(shape) or any(
        want is not None and got != want for got, want in zip(array.shape, shape)
    ):
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
        raise ValueError(f"parameter '{name}' must have shape {want}, got {tuple(array.shape)}")
    return array


def as_array(x, name, *, xp=np, dtype=np.float64, ndim=None, min_ndim=None, shape=None,
             finite=True, allow_complex=False, min_size=None, keep_float32=False):
    """Convert ``x`` to a contiguous array of the namespace ``xp`` and validate it.

    The one validation entry of every path, CPU and GPU: with ``xp=cupy``
    a host input is copied to the device, and the messages are the same.

    Parameters
    ----------
    x : array_like
        The input.
    name : str
        Parameter name used in error messages.
    xp : module, optional
        ``numpy`` (default) or ``cupy``.
    dtype : numpy dtype, optional
        Target dtype (default float64). If ``allow_complex`` and ``x`` is
        complex, complex128 is used instead.
    ndim, min_ndim : int, optional
        Required exact / minimum number of dimensions.
    shape : tuple, optional
        Required shape, ``None`` entries match any length.
    finite : bool, optional
        Reject NaN and Inf (default True). On a GPU this costs one reduction
        and one device-to-host sync.
    min_size : int, optional
        Minimum number of elements.
    keep_float32 : bool, optional
        Keep a float32 input in float32 (the rule of RoPE's apply).
    """
    if isinstance(x, (str, bytes)) or x is None:
        raise ArgumentTypeError(f"parameter '{name}' must be a numeric array, got {type(x).__name__} {_describe(x)}")
    try:
        arr = xp.asarray(x)
    except Exception as exc:  # ragged lists, exotic array-likes
        raise ArgumentTypeError(f"parameter '{name}' must be a numeric array (not ragged): {exc}") from None
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
    if finite:
        _require_finite(arr, name, xp)
    return arr


def _require_finite(arr, name, xp=np):
    """Raise ``ValueError`` naming ``name`` if ``arr`` holds a NaN or an infinity."""
    if arr.size and not bool(xp.isfinite(arr).all()):
        bad = "NaN" if bool(xp.isnan(arr).any()) else "Inf"
        raise ValueError(f"parameter '{name}' must be finite; it contains {bad}")


def is_scalar(x, name):
    """``True`` when ``x`` is a scalar (``np.ndim(x) == 0``); a ragged list raises naming ``name``."""
    try:
        return np.ndim(x) == 0
    except (ValueError, TypeError) as exc:
        raise ArgumentTypeError(f"parameter '{name}' must be a number or a numeric array (not ragged): {exc}") from None


def check_bool(value, name):
    """Return ``value`` as a Python ``bool``; anything but a bool (``"no"``, 0, 1) raises naming ``name``."""
    if not isinstance(value, (bool, np.bool_)):
        raise ArgumentTypeError(f"parameter '{name}' must be True or False, got {type(value).__name__} {_describe(value)}")
    return bool(value)


def check_rng(rng, name="rng"):
    """A ``numpy.random.Generator`` from ``None``, a non-negative integer seed or a Generator.

    The one rule for every ``rng``/``seed`` parameter: ``None`` gives a fresh
    unseeded generator, an int seeds ``numpy.random.default_rng``, a
    Generator is used as it is (and advanced). Anything else raises.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    seed = check_int(rng, name, min_value=0)
    return np.random.default_rng(seed)


def check_size(shape, name, *, itemsize=8, limit=None):
    """Refuse an allocation of ``shape`` x ``itemsize`` bytes beyond ``limit`` before it is made.

    ``shape`` is an int or a tuple of ints (Python ints, so no overflow);
    ``limit`` defaults to :data:`MEMORY_LIMIT`. The message names the
    parameter that set the size and the bytes it would need.
    """
    dims = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    nbytes = int(itemsize)
    for d in dims:
        nbytes *= int(d)
    limit = MEMORY_LIMIT if limit is None else limit
    if nbytes > limit:
        raise ValueError(f"parameter '{name}' asks for an array of shape {tuple(int(d) for d in dims)}: "
                         f"{nbytes:.3g} bytes, more than the {limit:.3g} bytes refimpl allows on this machine")
    return nbytes
