"""Validation and exact power-of-two scaling shared by the modules of refimpl.scaling (no public names)."""
from __future__ import annotations

import math

import numpy as np

from .._validation import ArgumentTypeError, is_scalar
from .._validation import as_array as _as_array

_SYM_RTOL = 1e-12


def as_array(x, name, **kwargs):
    """:func:`refimpl._validation.as_array`, refusing booleans: ``True``/``False`` are not numbers here."""
    if isinstance(x, (bool, np.bool_)) or (isinstance(x, np.ndarray) and x.dtype == np.bool_) or (
            isinstance(x, (list, tuple)) and any(isinstance(v, (bool, np.bool_)) for v in np.ravel(
                np.asarray(x, dtype=object)))):
        raise ArgumentTypeError(f"parameter '{name}' must hold numbers, got booleans {x!r}"[:200])
    return _as_array(x, name, **kwargs)


def is_diagonal(M):
    """True when the square matrix ``M`` has no non-zero entry off its diagonal."""
    return not np.any(M - np.diag(np.diag(M)))


def vector(x, name):
    """A finite, non-empty float64 vector."""
    return as_array(x, name, ndim=1, min_size=1)


def gradient(g, name="g"):
    """The mean gradient: a finite non-zero vector."""
    g = vector(g, name)
    if not np.any(g):
        raise ValueError(f"parameter '{name}' must be a non-zero vector (all entries are 0)")
    return g


def hessian(H, n, name="H", *, positive_definite=True):
    """``H`` as a dense (n, n) symmetric matrix; a 1-D input is its diagonal.

    Raises ValueError (naming ``name``) for a wrong shape, an asymmetric
    matrix (relative asymmetry above 1e-12) or, with ``positive_definite``, a
    matrix that is not positive definite (Cholesky fails).
    """
    H = as_array(H, name)
    if H.ndim == 1:
        if H.shape[0] != n:
            raise ValueError(f"parameter '{name}' must have shape ({n},) or ({n}, {n}), got {H.shape}")
        if positive_definite and not np.all(H > 0):
            raise ValueError(f"parameter '{name}' must be positive definite; its diagonal has entries <= 0 "
                             f"(min {H.min()!r})")
        return np.diag(H)
    if H.shape != (n, n):
        raise ValueError(f"parameter '{name}' must have shape ({n},) or ({n}, {n}), got {H.shape}")
    scale = float(np.max(np.abs(H), initial=0.0))
    if float(np.max(np.abs(H - H.T), initial=0.0)) > _SYM_RTOL * scale:
        raise ValueError(f"parameter '{name}' must be symmetric (|H - H^T| > 1e-12 max|H|)")
    if positive_definite:
        try:
            np.linalg.cholesky(np.ldexp(H, -exponent(H)))   # exact rescaling: subnormal or huge H are judged alike
        except np.linalg.LinAlgError:
            raise ValueError(f"parameter '{name}' must be positive definite (Cholesky factorisation failed; "
                             f"min eigenvalue {float(np.linalg.eigvalsh(H)[0])!r})") from None
    return H


def covariance(Sigma, n, name="Sigma"):
    """``Sigma`` as a dense (n, n) covariance; a 1-D input is the vector of variances.

    Raises ValueError for negative variances, an asymmetric matrix, or a
    matrix with an eigenvalue below ``-1e-12 * max|Sigma|`` (not PSD).
    """
    S = as_array(Sigma, name)
    if S.ndim == 1:
        if S.shape[0] != n:
            raise ValueError(f"parameter '{name}' must have shape ({n},) or ({n}, {n}), got {S.shape}")
        if np.any(S < 0):
            raise ValueError(f"parameter '{name}' holds variances, which must be >= 0; got min {S.min()!r}")
        return np.diag(S)
    if S.shape != (n, n):
        raise ValueError(f"parameter '{name}' must have shape ({n},) or ({n}, {n}), got {S.shape}")
    if np.any(np.diag(S) < 0):
        raise ValueError(f"parameter '{name}' has negative variances on its diagonal (min {np.diag(S).min()!r})")
    scale = float(np.max(np.abs(S), initial=0.0))
    if float(np.max(np.abs(S - S.T), initial=0.0)) > _SYM_RTOL * scale:
        raise ValueError(f"parameter '{name}' must be symmetric (|S - S^T| > 1e-12 max|S|)")
    if scale > 0 and float(np.linalg.eigvalsh(S)[0]) < -1e-12 * scale:
        raise ValueError(f"parameter '{name}' must be positive semi-definite (min eigenvalue "
                         f"{float(np.linalg.eigvalsh(S)[0])!r})")
    return S


def stds(sigma, n, name="sigma"):
    """Per-coordinate standard deviations: a length-n vector of values >= 0."""
    s = as_array(sigma, name)
    if s.ndim != 1 or s.shape[0] != n:
        raise ValueError(f"parameter '{name}' must have shape ({n},) (per-coordinate standard deviations), "
                         f"got {s.shape}")
    if np.any(s < 0):
        raise ValueError(f"parameter '{name}' holds standard deviations, which must be >= 0; got min {s.min()!r}")
    return s


def batch(B, name="B"):
    """Batch size(s): a finite real scalar or array, every entry >= 1.

    Returns ``(B_as_float_or_array, is_scalar)``.
    """
    scalar = is_scalar(B, name)
    arr = as_array(B, name)
    if arr.size == 0:
        raise ValueError(f"parameter '{name}' must not be empty")
    if np.any(arr < 1):
        raise ValueError(f"parameter '{name}' (batch size) must be >= 1, got min {arr.min()!r}")
    if scalar:
        return float(arr.reshape(())), True
    return arr, False


def exponent(x):
    """The power of two ``e`` with ``max|x| / 2**e`` in [0.5, 1) (0 for an all-zero ``x``).

    Dividing by ``2**e`` is exact, so the closed forms are evaluated on
    inputs of size about 1 and the scale is put back with :func:`unscale`:
    no intermediate overflow or underflow at extreme magnitudes.
    """
    m = float(np.max(np.abs(x)))
    return math.frexp(m)[1] if m > 0 else 0


def unscale(value, e, what):
    """``value * 2**e`` exactly; ValueError naming ``what`` when the result is beyond float64.

    ``value`` is a float or an array; a result that underflows becomes a
    subnormal or 0 (the correctly rounded tiny value), which is not an error.
    """
    with np.errstate(over="ignore"):
        out = np.ldexp(value, e)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{what} overflows float64 at these magnitudes (it exceeds 1.8e308); rescale the inputs")
    return float(out) if np.ndim(out) == 0 else out
