r"""HiPPO transition matrices and fast LegS algebra.

Sources: Su Jianlin, "重温SSM（一）：线性系统和HiPPO矩阵",
https://kexue.fm/archives/10114, and "重温SSM（二）", https://kexue.fm/archives/10137;
Gu, Dao, Ermon, Rudra, Ré, "HiPPO: Recurrent Memory with Optimal Polynomial
Projections", https://arxiv.org/abs/2008.07669.
"""
from __future__ import annotations

import numpy as np

from .._backend import resolve_backend
from .._validation import as_array, check_choice, check_int, check_real
from . import _kernels

__all__ = ["LEGS_NORMALIZATIONS", "legs", "legs_matvec", "legs_solve"]

#: Accepted values of ``normalization`` for :func:`legs`.
LEGS_NORMALIZATIONS = ("paper", "su", "integer")


def _check_dtype(dtype):
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise ValueError(f"parameter 'dtype' must be float64 or float32, got {dt}")
    return dt


def legs(N, normalization="paper", *, dtype=np.float64):
    r"""HiPPO-LegS transition pair ``(A, B)`` (scaled Legendre measure).

    The coefficients of the projection of the whole history :math:`u|_{[0,t]}`
    onto scaled Legendre polynomials obey :math:`t\,c'(t) = A\,c(t) + B\,u(t)`
    with, for ``normalization="paper"``,

    .. math::

        A_{nk} = -\begin{cases}\sqrt{(2n+1)(2k+1)} & n > k\\ n+1 & n = k\\
        0 & n < k\end{cases}, \qquad B_n = \sqrt{2n+1}.

    Parameters
    ----------
    N : int
        State size :math:`N \ge 1`.
    normalization : {"paper", "su", "integer"}, optional
        ``"paper"`` is the HiPPO paper's scaling (coefficients of the basis
        :math:`\sqrt{2n+1}P_n(2r-1)`, orthonormal on [0, 1]); ``"su"`` is the
        article's orthonormal-on-[-1, 1] scaling, same ``A`` and
        :math:`B_n=\sqrt{2(2n+1)}`; ``"integer"`` is :math:`DAD^{-1}, DB` with
        :math:`D=\mathrm{diag}\sqrt{2n+1}`: :math:`A_{nk}=-(2n+1)` below the
        diagonal, :math:`-(n+1)` on it, :math:`B_n = 2n+1`.
    dtype : {numpy.float64, numpy.float32}, optional
        Computed in float64 and rounded once.

    Returns
    -------
    A : ndarray, shape (N, N)
        Lower triangular; eigenvalues exactly ``-1, ..., -N``.
    B : ndarray, shape (N,)

    Raises
    ------
    ValueError
        If ``N < 1`` or ``normalization``/``dtype`` is not a listed value.
    TypeError
        If ``N`` is not an integer.

    Notes
    -----
    Accuracy: each entry is one correctly rounded ``sqrt`` of an exact
    integer (at most 0.5 ulp in float64); nothing accumulates.

    Convention: the minus sign is inside ``A``, as in state-spaces/s4
    ``transition("legs", N)``, whose ``B`` has shape ``(N, 1)``.
    Derivation: ``derivations/hippo_legs.py`` derives ``A`` and ``B`` from the
    Legendre basis and the warp :math:`t(s) = (s+1)T/2` and checks this
    closed form against it.

    References
    ----------
    .. [1] Gu et al., HiPPO, https://arxiv.org/abs/2008.07669
    .. [2] Su Jianlin, https://kexue.fm/archives/10114 (the other scalings)

    Examples
    --------
    >>> A, B = legs(3)
    >>> A
    array([[-1.        ,  0.        ,  0.        ],
           [-1.73205081, -2.        ,  0.        ],
           [-2.23606798, -3.87298335, -3.        ]])
    >>> B
    array([1.        , 1.73205081, 2.23606798])
    """
    N = check_int(N, "N", min_value=1)
    check_choice(normalization, "normalization", LEGS_NORMALIZATIONS)
    dt = _check_dtype(dtype)
    n = np.arange(N, dtype=np.float64)
    if normalization == "integer":
        A = np.tril(-np.broadcast_to((2.0 * n + 1.0)[:, None], (N, N)), -1)
        B = 2.0 * n + 1.0
    else:
        prod = (2.0 * n[:, None] + 1.0) * (2.0 * n[None, :] + 1.0)  # exact integers
        A = np.tril(-np.sqrt(prod), -1)
        B = np.sqrt(2.0 * n + 1.0) if normalization == "paper" else np.sqrt(2.0 * (2.0 * n + 1.0))
    A[np.diag_indices(N)] = -(n + 1.0)
    return A.astype(dt), B.astype(dt)


def _as_state_vector(v):
    return as_array(v, "v", ndim=1, min_size=1)


def legs_matvec(v, *, normalization="paper", backend="auto"):
    r"""Product :math:`A v` with the LegS matrix in O(N), without forming ``A``.

    Uses :math:`A_{nk} = n\delta_{nk} - r_n r_k` for :math:`k \le n`,
    :math:`r_n=\sqrt{2n+1}`, so :math:`(Av)_n = -r_n\sum_{k<n} r_k v_k - (n+1) v_n`
    (a prefix sum; https://kexue.fm/archives/10137).

    Parameters
    ----------
    v : array_like, shape (N,)
        Finite real vector.
    normalization : {"paper", "su", "integer"}, optional
        Which ``A`` of :func:`legs` (``"paper"`` and ``"su"`` share ``A``).
    backend : {"auto", "numpy", "numba"}, optional
        ``"numba"`` runs the compiled kernel, ``"numpy"`` its twin.

    Returns
    -------
    ndarray, shape (N,)

    Notes
    -----
    Accuracy: entry n is a length-n dot product evaluated as a running sum, so
    its forward error is below :math:`2n\varepsilon\,(|A||v|)_n` (standard
    dot-product bound); the numba kernel and NumPy twin agree bitwise.
    """
    v = _as_state_vector(v)
    check_choice(normalization, "normalization", LEGS_NORMALIZATIONS)
    be = resolve_backend(backend, v)
    if normalization == "integer":  # A_int = D A D^{-1}
        d = np.sqrt(2.0 * np.arange(v.shape[0]) + 1.0)
        return d * legs_matvec(v / d, backend=be)
    if be == "numba":
        out = np.empty_like(v)
        _kernels.legs_matvec_nb(v, out)
        return out
    return _kernels.legs_matvec_np(v)


def legs_solve(v, lam, *, normalization="paper", backend="auto"):
    r"""Solve :math:`(I - \lambda A) z = v` with the LegS matrix in O(N).

    With :math:`S_n = \sum_{k\le n} r_k z_k`,

    .. math::

        S_n = \frac{(1-\lambda n) S_{n-1} + r_n v_n}{1 + \lambda(n+1)},\qquad
        z_n = \frac{S_n - S_{n-1}}{r_n}

    (https://kexue.fm/archives/10137, "O(d) solve"). This is the step of the
    backward-Euler and bilinear discretisations.

    Parameters
    ----------
    v : array_like, shape (N,)
        Right-hand side, finite.
    lam : float
        The scalar :math:`\lambda`. :math:`I-\lambda A` is singular exactly
        when :math:`\lambda = -1/(n+1)` for some ``n < N``; such values raise.
    normalization : {"paper", "su", "integer"}, optional
        Which ``A`` of :func:`legs`.
    backend : {"auto", "numpy", "numba"}, optional

    Returns
    -------
    ndarray, shape (N,)

    Raises
    ------
    ValueError
        Non-finite ``v`` or ``lam``, or ``lam`` making :math:`I-\lambda A` singular
        (:math:`|1+\lambda(n+1)| < 10^{-12}` for some n).

    Notes
    -----
    Accuracy: for :math:`\lambda \ge 0` the recurrence factor
    :math:`|1-\lambda n|/(1+\lambda(n+1))` is below 1, so rounding errors do not
    grow; the result matches a dense triangular solve to about
    :math:`10 N\varepsilon` relative to :math:`\|z\|_\infty` (tested). For
    :math:`\lambda<0` near a singular value, the error grows like the
    condition number of :math:`I-\lambda A`.
    """
    v = _as_state_vector(v)
    lam = check_real(lam, "lam")
    check_choice(normalization, "normalization", LEGS_NORMALIZATIONS)
    n = v.shape[0]
    if lam < 0 and np.min(np.abs(1.0 + lam * np.arange(1, n + 1))) < 1e-12:
        raise ValueError(f"parameter 'lam'={lam} makes I - lam*A singular (lam = -1/(n+1) for some n < N={n})")
    be = resolve_backend(backend, v)
    if normalization == "integer":
        d = np.sqrt(2.0 * np.arange(n) + 1.0)
        return d * legs_solve(v / d, lam, backend=be)
    if be == "numba":
        out = np.empty_like(v)
        _kernels.legs_solve_nb(v, lam, out)
        return out
    return _kernels.legs_solve_np(v, lam)
