"""``assert_close`` and array conversion for oracle comparisons."""
from __future__ import annotations

import numpy as np

__all__ = ["DEFAULT_TOLERANCES", "assert_close", "max_error", "to_numpy"]

#: Default ``(rtol, atol)`` per dtype of ``actual``. An element passes when
#: ``|actual - expected| <= atol + rtol * |expected|``.
#:
#: - float64 / complex128: ``rtol=1e-10, atol=1e-12``. A different but
#:   correct float64 summation order stays far inside this (about 1e-15
#:   relative per operation); errors of 1e-9 already mean a wrong formula or a
#:   float32 step somewhere.
#: - float32 / complex64: ``rtol=1e-5, atol=1e-6`` (about 80 ulp of float32).
#: - float16: ``rtol=2e-3, atol=1e-3`` (about 2 ulp).
#: - bfloat16 (torch ``bfloat16``, ``ml_dtypes.bfloat16``, or ``dtype="bfloat16"``
#:   for bf16 arithmetic emulated in float32): ``rtol=1.6e-2, atol=1e-2``
#:   (2 ulp of bfloat16, whose unit roundoff is 2**-8).
#:
#: Long reductions and ill-conditioned problems need looser bounds: each
#: refimpl docstring states its accuracy, and callers pass ``rtol``/``atol``.
DEFAULT_TOLERANCES = {
    "float64": (1e-10, 1e-12),
    "complex128": (1e-10, 1e-12),
    "float32": (1e-5, 1e-6),
    "complex64": (1e-5, 1e-6),
    "float16": (2e-3, 1e-3),
    "bfloat16": (1.6e-2, 1e-2),
}


def _dtype_name(x):
    dt = getattr(x, "dtype", None)
    if dt is None:
        return None
    name = str(dt).replace("torch.", "")
    return name


def to_numpy(x):
    """Convert a NumPy/torch/JAX/CuPy array (or array-like) to a NumPy array.

    torch tensors are detached and moved to the CPU; bfloat16 tensors are
    widened to float32 (exactly) since NumPy has no bfloat16.
    """
    mod = type(x).__module__.split(".")[0]
    if mod == "torch":
        t = x.detach().cpu()
        if str(t.dtype) == "torch.bfloat16":
            t = t.float()
        return t.numpy()
    if mod == "cupy":
        return x.get()
    arr = np.asarray(x)
    if arr.dtype.name == "bfloat16":  # ml_dtypes / JAX
        arr = arr.astype(np.float32)
    return arr


def _numeric(x, name):
    if x is None or isinstance(x, (str, bytes)):
        raise TypeError(f"parameter '{name}' must be an array or a number, got {type(x).__name__}")
    try:
        arr = to_numpy(x)
    except (TypeError, ValueError) as exc:  # ragged lists
        raise TypeError(f"parameter '{name}' must be a numeric array: {exc}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise TypeError(f"parameter '{name}' must be a numeric array, got dtype {arr.dtype}")
    return arr


def _same_shape(a, d, what="actual"):
    if a.shape != d.shape:
        raise ValueError(f"parameters '{what}' and 'expected' must have the same shape (no broadcasting), "
                         f"got {a.shape} and {d.shape}")


def max_error(actual, expected):
    """Return ``(max_abs_error, max_rel_error)`` of ``actual`` against ``expected``.

    The relative error divides by ``|expected|`` where that is non-zero.
    Both must be numeric arrays of the same shape, not empty (ValueError or
    TypeError naming the parameter otherwise); a NaN in either gives NaN.
    """
    a = _numeric(actual, "actual")
    d = _numeric(expected, "expected")
    _same_shape(a, d)
    if a.size == 0:
        raise ValueError("parameters 'actual' and 'expected' are empty: there is no error to measure")
    wide = np.complex128 if np.iscomplexobj(a) or np.iscomplexobj(d) else np.float64
    a = a.astype(wide)
    d = d.astype(wide)
    err = np.abs(a - d)
    mag = np.abs(d)
    with np.errstate(invalid="ignore"):
        rel = np.where(mag > 0, err / np.where(mag > 0, mag, 1.0), np.where(err > 0, np.inf, 0.0))
    return float(np.max(err)), float(np.max(rel))


def _tolerance(value, name):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"parameter '{name}' must be a real number >= 0, got {type(value).__name__} {value!r}")
    value = float(value)
    if not (np.isfinite(value) and value >= 0):
        raise ValueError(f"parameter '{name}' must be a finite number >= 0, got {value}")
    return value


def assert_close(actual, expected=None, *, rtol=None, atol=None, dtype=None, err_msg="", desired=None):
    """Assert ``|actual - expected| <= atol + rtol * |expected|`` elementwise.

    The argument order is hypothesis's and torch's (``actual`` first), the
    order :func:`refimpl.testing.check_against` reports in.

    Parameters
    ----------
    actual : array_like
        The implementation under test (NumPy, torch, JAX or CuPy array).
    expected : array_like
        The reference (usually a refimpl result in float64). ``desired=``
        (NumPy's name) is accepted as another name for it.
    rtol, atol : float, optional
        Tolerances; by default taken from :data:`DEFAULT_TOLERANCES` for the
        dtype of ``actual`` (or ``dtype``).
    dtype : str, optional
        Use the defaults of this dtype instead, e.g. ``"bfloat16"`` for bf16
        arithmetic emulated in float32.
    err_msg : str, optional
        Prepended to the failure message.

    Raises
    ------
    AssertionError
        On a shape mismatch, NaN/Inf in different places, or any element out
        of tolerance; the message gives the worst element, the maximum
        absolute and relative errors and the count of failures.
    ValueError
        If ``dtype`` has no default tolerances or a tolerance is negative.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.testing import assert_close
    >>> assert_close(np.float32([1.0, 2.0]) + 1e-7, [1.0, 2.0])
    """
    if desired is not None:
        if expected is not None:
            raise TypeError("pass either 'expected' or its other name 'desired', not both")
        expected = desired
    if expected is None:
        raise TypeError("assert_close() needs 'expected' (the reference)")
    if dtype is not None and not isinstance(dtype, str):
        dtype = str(getattr(dtype, "name", dtype))
    name = dtype or _dtype_name(actual) or "float64"
    name = str(name).replace("torch.", "")
    a = _numeric(actual, "actual")
    d = _numeric(expected, "expected")
    if rtol is None or atol is None:
        key = name if name in DEFAULT_TOLERANCES else (
            "float64" if np.issubdtype(a.dtype, np.integer) or a.dtype == np.bool_ else None)
        if key is None:
            raise ValueError(
                f"parameter 'dtype': no default tolerances for {name!r}; known: {', '.join(DEFAULT_TOLERANCES)}; "
                "or pass rtol and atol")
        drtol, datol = DEFAULT_TOLERANCES[key]
        rtol = drtol if rtol is None else rtol
        atol = datol if atol is None else atol
    rtol = _tolerance(rtol, "rtol")
    atol = _tolerance(atol, "atol")
    prefix = (err_msg + ": ") if err_msg else ""
    if a.shape != d.shape:
        raise AssertionError(f"{prefix}shape mismatch: actual {a.shape}, expected {d.shape}")
    ac = a.astype(np.complex128) if np.iscomplexobj(a) or np.iscomplexobj(d) else a.astype(np.float64)
    dc = d.astype(ac.dtype)
    nan_a, nan_d = np.isnan(ac), np.isnan(dc)
    if np.any(nan_a != nan_d):
        idx = np.unravel_index(np.argmax(nan_a != nan_d), a.shape) if a.ndim else ()
        raise AssertionError(f"{prefix}NaN mismatch at index {idx}: actual {ac[idx]}, expected {dc[idx]}")
    inf_d = np.isinf(dc)
    if np.any(np.isinf(ac) != inf_d) or np.any(ac[inf_d] != dc[inf_d]):
        raise AssertionError(f"{prefix}infinities differ between actual and expected")
    ok = nan_a | inf_d
    fin = ~ok
    err = np.zeros(ac.shape)
    err[fin] = np.abs(ac[fin] - dc[fin])
    bound = atol + rtol * np.abs(np.where(fin, dc, 0))
    bad = fin & (err > bound)
    if np.any(bad):
        excess = np.where(bad, err - bound, -np.inf)
        idx = np.unravel_index(int(np.argmax(excess)), ac.shape) if ac.ndim else ()
        mae, mre = max_error(np.where(fin, ac, 0), np.where(fin, dc, 0))
        raise AssertionError(
            f"{prefix}{int(np.sum(bad))} of {ac.size} elements out of tolerance (rtol={rtol:g}, atol={atol:g}; "
            f"dtype {name}). Worst at index {tuple(int(i) for i in idx)}: actual {_plain(ac[idx])}, expected {_plain(dc[idx])}. "
            f"Max abs error {mae:.3e}, max rel error {mre:.3e}."
        )


def _plain(x):
    return repr(complex(x) if np.iscomplexobj(x) else float(x))
