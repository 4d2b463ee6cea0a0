r"""HiPPO transition matrices and fast LegS algebra.

Sources: Su Jianlin, "重温SSM（一）：线性系统和HiPPO矩阵",
https://kexue.fm/archives/10114, and "重温SSM（二）", https://kexue.fm/archives/10137;
Gu, Dao, Ermon, Rudra, Ré, "HiPPO: Recurrent Memory with Optimal Polynomial
Projections", https://arxiv.org/abs/2008.07669.
"""
from __future__ import annotations

import numpy as np

from .._backend import pick
from .._validation import as_array, check_choice, check_int, check_real, check_size
from . import _fast, reference

__all__ = ["LEGS_NORMALIZATIONS", "legs", "legs_matvec", "legs_solve",
           "LEGT_NORMALIZATIONS", "LMU_CONVENTIONS", "FOUT_ENDPOINTS", "TRANSITION_MEASURES", "HIPPO_MEASURES",
           "legt", "lmu", "lagt", "fout", "fous", "fourier_complex_to_real", "transition", "hippo"]

#: Accepted values of ``normalization`` for :func:`legs`.
LEGS_NORMALIZATIONS = ("paper", "su", "integer")


def _check_dtype(dtype):
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"parameter 'dtype' must be a NumPy dtype, got {dtype!r}") from None
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
    check_size((N, N), "N")
    n = np.arange(N, dtype=np.float64)
    if normalization == "integer":
        A = np.tril(-np.broadcast_to((2.0 * n + 1.0)[:, None], (N, N)), -1)
        A[np.diag_indices(N)] = -(n + 1.0)
        B = 2.0 * n + 1.0
    else:
        A = reference.legs_A(N)  # sqrt of exact integers: one rounding per entry
        B = np.sqrt(2.0 * n + 1.0) if normalization == "paper" else np.sqrt(2.0 * (2.0 * n + 1.0))
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
    backend : {"auto", "reference", "numba"}, optional
        ``"reference"`` (``"numpy"``): the definition, dense ``A @ v``
        (:func:`refimpl.ssm.reference.legs_matvec`, O(N^2)); ``"numba"``:
        the O(N) prefix-sum kernel; ``"auto"``: numba when importable.

    Returns
    -------
    ndarray, shape (N,)

    Notes
    -----
    Accuracy: entry n is a length-n dot product evaluated as a running sum, so
    its forward error is below :math:`2n\varepsilon\,(|A||v|)_n` (standard
    dot-product bound); the numba kernel is tested against the dense definition.
    """
    v = _as_state_vector(v)
    check_choice(normalization, "normalization", LEGS_NORMALIZATIONS)
    name, impl = pick(backend, v, reference=reference.legs_matvec, numba=_fast.legs_matvec)
    if name == "reference":
        check_size((v.shape[0], v.shape[0]), "v")  # the definition forms the dense A
    return impl(v, normalization)


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
    backend : {"auto", "reference", "numba"}, optional
        ``"reference"`` (``"numpy"``): the definition, a dense triangular
        solve (:func:`refimpl.ssm.reference.legs_solve`, O(N^2));
        ``"numba"``: the O(N) S-recursion; ``"auto"``: numba when importable.

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
    name, impl = pick(backend, v, reference=reference.legs_solve, numba=_fast.legs_solve)
    if name == "reference":
        check_size((n, n), "v")  # the definition forms the dense I - lam A
    return impl(v, lam, normalization)


# ---------------------------------------------------------------------------
# The other measures of Su's framework (https://kexue.fm/archives/10114) and
# the state-spaces/s4 ``transition`` names.
# ---------------------------------------------------------------------------

#: Accepted values of ``normalization`` for :func:`legt`.
LEGT_NORMALIZATIONS = ("paper", "su")
#: Accepted values of ``convention`` for :func:`lmu`.
LMU_CONVENTIONS = ("su", "voelker")
#: Accepted values of ``endpoint`` for :func:`fout`.
FOUT_ENDPOINTS = ("midpoint", "su")


def _check_cdtype(dtype):
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"parameter 'dtype' must be a NumPy dtype, got {dtype!r}") from None
    if dt not in (np.dtype(np.complex128), np.dtype(np.complex64)):
        raise ValueError(f"parameter 'dtype' must be complex128 or complex64, got {dt}")
    return dt


def _legt_sign(N):
    """S_nk = 1 for k < n and (-1)^(n-k) for k >= n (the LegT sign pattern)."""
    n = np.arange(N)
    S = np.where(n[None, :] < n[:, None], 1.0, 1.0 - 2.0 * ((n[:, None] - n[None, :]) % 2))
    return S


def legt(N, window=1.0, *, normalization="paper", dtype=np.float64):
    r"""HiPPO-LegT transition pair ``(A, B)`` (Legendre on a sliding window).

    The coefficients of the projection of :math:`u` restricted to the window
    :math:`[T-w, T]` onto Legendre polynomials obey
    :math:`c'(T) = A c(T) + B u(T)` (an LTI system) with, for
    ``normalization="paper"``,

    .. math::

        A_{nk} = -\frac1w\sqrt{(2n+1)(2k+1)}\begin{cases}1 & k < n\\
        (-1)^{n-k} & k \ge n\end{cases},\qquad B_n = \frac{\sqrt{2n+1}}{w}.

    The ODE is not exact: the derivation replaces the old endpoint
    :math:`u(T-w)` by the value of the current approximation there (Su's
    derivation, https://kexue.fm/archives/10114).

    Parameters
    ----------
    N : int
        State size :math:`N \ge 1`.
    window : float, optional
        Window length :math:`w > 0`.
    normalization : {"paper", "su"}, optional
        ``"paper"``: coefficients of the basis :math:`\sqrt{2n+1}P_n(2r-1)`,
        orthonormal on :math:`r\in[0,1]`, where :math:`t = T-w+rw` (HiPPO
        paper; :func:`project` with ``measure="legt"``). ``"su"``: the
        article's coefficients for :math:`\sqrt{(2n+1)/2}P_n(s)` orthonormal on
        :math:`s\in[-1,1]`; same ``A``, :math:`B_n=\sqrt{2(2n+1)}/w`
        (the rescaling :math:`c_n = \sqrt2\,\tilde c_n` is a similarity).
    dtype : {numpy.float64, numpy.float32}, optional
        Computed in float64 and rounded once.

    Returns
    -------
    A : ndarray, shape (N, N)
    B : ndarray, shape (N,)

    Raises
    ------
    ValueError
        ``N < 1``, ``window`` not finite and positive, unknown
        ``normalization`` or ``dtype``.

    Notes
    -----
    Accuracy: each entry is a correctly rounded square root of an exact
    integer followed by one division by ``window`` (at most 1 ulp).

    Correspondence: state-spaces/s4 ``transition("legt", N)`` halves both
    matrices ("Halve again for timescale correctness"), which is this
    function with ``window=2``; HiPPO's original hippo-code does not halve
    (``window=1``). See :func:`transition`. A reader comment on 10114 asks
    whether :math:`(-1)^{n-k}` should be :math:`(-1)^{n+k}`: they are equal.
    Derivation: ``derivations/hippo_legt.py``.

    Examples
    --------
    >>> A, B = legt(3)
    >>> A
    array([[-1.        ,  1.73205081, -2.23606798],
           [-1.73205081, -3.        ,  3.87298335],
           [-2.23606798, -3.87298335, -5.        ]])
    >>> B
    array([1.        , 1.73205081, 2.23606798])
    """
    N = check_int(N, "N", min_value=1)
    check_size((N, N), "N", itemsize=16)
    w = check_real(window, "window", low=0.0, low_open=True)
    check_choice(normalization, "normalization", LEGT_NORMALIZATIONS)
    dt = _check_dtype(dtype)
    n = np.arange(N, dtype=np.float64)
    root = np.sqrt((2.0 * n[:, None] + 1.0) * (2.0 * n[None, :] + 1.0))  # sqrt of exact integers
    A = -(_legt_sign(N) * root) / w
    B = np.sqrt(2.0 * n + 1.0) if normalization == "paper" else np.sqrt(2.0 * (2.0 * n + 1.0))
    return A.astype(dt), (B / w).astype(dt)


def lmu(N, window=1.0, *, convention="su", dtype=np.float64):
    r"""LMU transition pair ``(A, B)``: LegT rescaled to integer entries.

    ``convention="su"`` (https://kexue.fm/archives/10114):

    .. math::

        A_{nk} = -\frac{2n+1}{w}\begin{cases}1 & k<n\\ (-1)^{n-k} & k\ge n\end{cases},
        \qquad B_n = \frac{2n+1}{w},

    the coefficients :math:`\tilde c_n` of :math:`u(T-w+rw)\approx\sum_n\tilde c_n P_n(2r-1)`
    (plain Legendre polynomials, not normalised). ``convention="voelker"``
    is the Legendre Memory Unit paper's form (Voelker, Kajić, Eliasmith,
    NeurIPS 2019), :math:`DAD, DB` with :math:`D=\mathrm{diag}((-1)^n)`: its
    basis is :math:`P_n(1-2r)`, a polynomial in the time elapsed since the
    sample; it equals state-spaces/s4 ``transition("lmu", N)`` for ``window=1``.

    Parameters
    ----------
    N : int
        State size :math:`N\ge1`.
    window : float, optional
        Window length :math:`w>0` (the LMU's :math:`\theta`).
    convention : {"su", "voelker"}, optional
    dtype : {numpy.float64, numpy.float32}, optional

    Returns
    -------
    A : ndarray, shape (N, N)
    B : ndarray, shape (N,)

    Raises
    ------
    ValueError
        ``N < 1``, ``window`` not finite and positive, unknown ``convention``
        or ``dtype``.

    Notes
    -----
    Accuracy: integers divided once by ``window`` (exact for ``window=1``).

    Erratum (see ERRATA.md): the article obtains this form from LegT by
    :math:`c_n=\lambda_n\tilde c_n` and writes :math:`\lambda_n=2/\sqrt{2n+1}`.
    That choice gives :math:`B_n=(2n+1)/(\sqrt2 w)`; the stated ``B`` needs
    :math:`\lambda_n=\sqrt{2/(2n+1)}` (relative to the ``"su"`` LegT
    normalisation). ``A`` is the same for any :math:`\lambda_n\propto(2n+1)^{-1/2}`.
    ``derivations/hippo_legt.py`` derives both.

    Examples
    --------
    >>> A, B = lmu(3)
    >>> A
    array([[-1.,  1., -1.],
           [-3., -3.,  3.],
           [-5., -5., -5.]])
    >>> lmu(3, convention="voelker")[1]
    array([ 1., -3.,  5.])
    """
    N = check_int(N, "N", min_value=1)
    check_size((N, N), "N", itemsize=16)
    w = check_real(window, "window", low=0.0, low_open=True)
    check_choice(convention, "convention", LMU_CONVENTIONS)
    dt = _check_dtype(dtype)
    n = np.arange(N, dtype=np.float64)
    A = -(2.0 * n[:, None] + 1.0) * _legt_sign(N)
    B = 2.0 * n + 1.0
    if convention == "voelker":
        d = 1.0 - 2.0 * (np.arange(N) % 2)
        A = d[:, None] * A * d[None, :]
        B = d * B
    return (A / w).astype(dt), (B / w).astype(dt)


def lagt(N, beta=1.0, *, dtype=np.float64):
    r"""HiPPO-LagT transition pair ``(A, B)`` (Laguerre, exponentially decaying memory).

    With the Laguerre functions :math:`g_n(y) = L_n(y)e^{-y/2}`, orthonormal on
    :math:`y\in[0,\infty)` (``y`` = time elapsed), the coefficients
    :math:`c_n(T)=\int_0^\infty u(T-y)g_n(y)\,dy` obey exactly
    :math:`c' = Ac + Bu` with

    .. math::

        A_{nk} = \begin{cases}-1 & k<n\\ -\tfrac12 & k=n\\ 0 & k>n\end{cases},
        \qquad B_n = \beta,

    i.e. ``A = I/2 - tril(ones)``; ``beta`` scales the state
    (:math:`x = \beta c`), as in state-spaces/s4 ``transition("lagt", N, beta=...)``.

    Parameters
    ----------
    N : int
        State size :math:`N\ge1`.
    beta : float, optional
        Input scale (finite, nonzero).
    dtype : {numpy.float64, numpy.float32}, optional

    Returns
    -------
    A : ndarray, shape (N, N)
    B : ndarray, shape (N,)

    Raises
    ------
    ValueError
        ``N < 1``, ``beta`` zero or not finite, unknown ``dtype``.

    Notes
    -----
    Accuracy: exact (entries are 0, -1, -1/2 and ``beta``).
    The ODE has no truncation error: :math:`g_n' = -\sum_{k<n}g_k - g_n/2`
    exactly (``derivations/hippo_lagt.py`` derives it from
    :math:`L_n'=-\sum_{k<n}L_k` and Su's integration by parts with the warp
    :math:`t(s)=T-s`). Su's articles only mention Laguerre; this is the
    HiPPO paper's LagT (Gu et al., https://arxiv.org/abs/2008.07669).

    Examples
    --------
    >>> A, B = lagt(3)
    >>> A
    array([[-0.5,  0. ,  0. ],
           [-1. , -0.5,  0. ],
           [-1. , -1. , -0.5]])
    """
    N = check_int(N, "N", min_value=1)
    check_size((N, N), "N", itemsize=16)
    beta = check_real(beta, "beta")
    if beta == 0.0:
        raise ValueError("parameter 'beta' must be nonzero, got 0.0")
    dt = _check_dtype(dtype)
    A = 0.5 * np.eye(N) - np.tril(np.ones((N, N)))
    return A.astype(dt), np.full(N, beta).astype(dt)


def fout(M, window=1.0, endpoint="midpoint", *, dtype=np.complex128):
    r"""Fourier-on-a-window (FouT) transition pair ``(A, B)``, complex basis.

    State :math:`x=(c_{-M},\dots,c_M)` (size :math:`2M+1`) with
    :math:`c_n(T)=\int_0^1u(T-w+sw)e^{-2i\pi ns}ds`; differentiating gives
    :math:`c_n'=\frac{2i\pi n}{w}c_n+\frac1w[u(T)-u(T-w)]`, and the unknown
    :math:`u(T-w)` is replaced by the truncated series at :math:`s=0`:

    - ``endpoint="su"`` (the article, https://kexue.fm/archives/10114):
      :math:`u(T-w)\approx\sum_kc_k`, so :math:`A=\mathrm{diag}(2i\pi n/w)-\tfrac1w\mathbf 1\mathbf 1^\top`,
      :math:`B=\tfrac1w\mathbf 1`.
    - ``endpoint="midpoint"``: at the jump :math:`s=0` (periodic extension),
      the Fourier series converges to the midpoint
      :math:`\tfrac12[u(T-w)+u(T)]`, so :math:`u(T-w)\approx2\sum_kc_k-u(T)`:
      :math:`A=\mathrm{diag}(2i\pi n/w)-\tfrac2w\mathbf 1\mathbf 1^\top`,
      :math:`B=\tfrac2w\mathbf 1`.

    Parameters
    ----------
    M : int
        Highest frequency, :math:`M\ge0`; the state has size :math:`2M+1`.
    window : float, optional
        Window length :math:`w>0`.
    endpoint : {"midpoint", "su"}, optional
    dtype : {numpy.complex128, numpy.complex64}, optional

    Returns
    -------
    A : ndarray, shape (2M+1, 2M+1), complex
    B : ndarray, shape (2M+1,), complex

    Raises
    ------
    ValueError
        ``M < 0``, ``window`` not finite and positive, unknown ``endpoint``
        or ``dtype``.

    Notes
    -----
    Erratum (ERRATA.md): with ``endpoint="su"`` the coefficient error of the
    integrated ODE does not shrink as ``M`` grows (it approximates
    :math:`u(T-w)` by a series that converges to a different value); the
    midpoint form converges (roughly as :math:`1/M`). Both are shown in
    ``derivations/hippo_fourier.py`` and ``tests/ssm/test_memory.py``.

    Correspondence: under the unitary map :func:`fourier_complex_to_real`,
    the midpoint form with ``window=2`` is state-spaces/s4
    ``transition("fourier", N)`` and with ``window=1`` ``"fourier2"``,
    after s4's unused state at index 1 is dropped (see :func:`transition`).

    Accuracy: each entry is at most one rounding of :math:`2\pi n/w`,
    :math:`1/w` or :math:`2/w`.

    Examples
    --------
    >>> A, B = fout(1, endpoint="su")
    >>> A.imag.diagonal() / (2 * np.pi)
    array([-1.,  0.,  1.])
    >>> A.real
    array([[-1., -1., -1.],
           [-1., -1., -1.],
           [-1., -1., -1.]])
    """
    M = check_int(M, "M", min_value=0)
    check_size((2 * M + 1, 2 * M + 1), "M", itemsize=16)
    w = check_real(window, "window", low=0.0, low_open=True)
    check_choice(endpoint, "endpoint", FOUT_ENDPOINTS)
    dt = _check_cdtype(dtype)
    n = np.arange(-M, M + 1, dtype=np.float64)
    K = 2 * M + 1
    g = (2.0 if endpoint == "midpoint" else 1.0) / w
    A = np.full((K, K), -g, dtype=np.complex128)
    A[np.diag_indices(K)] += 1j * (2.0 * np.pi * n / w)
    B = np.full(K, g, dtype=np.complex128)
    return A.astype(dt), B.astype(dt)


def fous(M, *, dtype=np.complex128):
    r"""Fourier-LegS (FouS) pair ``(A, B)``: Fourier basis on the whole, scaled history.

    With :math:`c_n(T)=\int_0^1u(sT)e^{-2i\pi ns}ds`, state
    :math:`x=(c_{-M},\dots,c_M)`, the coefficients obey
    :math:`x' = \frac At x + \frac Bt u` with (https://kexue.fm/archives/10137)

    .. math::

        A_{nk}=\begin{cases}-\dfrac{n}{n-k} & k\ne n\\ i\pi n-1 & k=n\end{cases},\qquad B_n=1 .

    The derivation expands :math:`s=\tfrac12+\tfrac{i}{2\pi}\sum_{k\ne0}e^{2i\pi ks}/k`
    and truncates to :math:`|k|\le M`, so the ODE is not exact (unlike LegS);
    row :math:`n=0` is exact: :math:`c_0' = (u-c_0)/t`, the running mean.

    Parameters
    ----------
    M : int
        Highest frequency :math:`M\ge0`; state size :math:`2M+1`.
    dtype : {numpy.complex128, numpy.complex64}, optional

    Returns
    -------
    A : ndarray, shape (2M+1, 2M+1), complex
    B : ndarray, shape (2M+1,), complex

    Raises
    ------
    ValueError
        ``M < 0`` or unknown ``dtype``.

    Notes
    -----
    Accuracy: each entry is one correctly rounded quotient or product.
    Derivation: ``derivations/hippo_fourier.py``.

    Examples
    --------
    >>> A, B = fous(1)
    >>> A.real
    array([[-1. , -1. , -0.5],
           [ 0. , -1. ,  0. ],
           [-0.5, -1. , -1. ]])
    """
    M = check_int(M, "M", min_value=0)
    check_size((2 * M + 1, 2 * M + 1), "M", itemsize=16)
    dt = _check_cdtype(dtype)
    n = np.arange(-M, M + 1, dtype=np.float64)
    diff = n[:, None] - n[None, :]
    off = diff != 0
    A = np.zeros((2 * M + 1, 2 * M + 1), dtype=np.complex128)
    A[off] = -(np.broadcast_to(n[:, None], diff.shape)[off] / diff[off]) + 0.0  # + 0.0: no -0.0
    A[np.diag_indices(2 * M + 1)] = -1.0 + 1j * np.pi * n
    return A.astype(dt), np.ones(2 * M + 1, dtype=np.complex128).astype(dt)


def fourier_complex_to_real(M):
    r"""Unitary map from complex Fourier coefficients to real cosine/sine ones.

    Returns ``U`` of shape ``(2M+1, 2M+1)`` with ``U @ c = (c_0, a_1, b_1, ..., a_M, b_M)``
    for ``c = (c_{-M}, ..., c_M)``, where

    .. math::

        a_k = \frac{c_k + c_{-k}}{\sqrt2},\qquad b_k = -i\,\frac{c_k - c_{-k}}{\sqrt2}.

    For a real signal :math:`c_{-k}=\bar c_k`, so ``a`` and ``b`` are real:
    :math:`a_k=\sqrt2\,\Re c_k` and :math:`b_k=\sqrt2\,\Im c_k` are the coefficients of the
    orthonormal functions :math:`\sqrt2\cos 2\pi ks` and :math:`-\sqrt2\sin 2\pi ks`
    (this sign makes the map agree with state-spaces/s4's real Fourier layout).
    A system ``(A, B)`` in ``c`` becomes ``(U A U^H, U B)``.

    Parameters
    ----------
    M : int
        Highest frequency :math:`M\ge0`.

    Returns
    -------
    U : ndarray, shape (2M+1, 2M+1), complex128
        Unitary (to round-off: entries are 1 and :math:`\pm1/\sqrt2`, :math:`\pm i/\sqrt2`).

    Examples
    --------
    >>> U = fourier_complex_to_real(1)
    >>> np.allclose(U @ U.conj().T, np.eye(3))
    True
    """
    M = check_int(M, "M", min_value=0)
    check_size((2 * M + 1, 2 * M + 1), "M", itemsize=16)
    K = 2 * M + 1
    U = np.zeros((K, K), dtype=np.complex128)
    U[0, M] = 1.0
    h = np.sqrt(0.5)
    for k in range(1, M + 1):
        U[2 * k - 1, M + k] = h
        U[2 * k - 1, M - k] = h
        U[2 * k, M + k] = -1j * h
        U[2 * k, M - k] = 1j * h
    return U


def _fourier_real(N, window):
    """Real (c0, dead, a1, b1, ...) form of the midpoint FouT, s4's layout for even N."""
    M = N // 2 - 1
    e = np.zeros(N)
    e[0] = 1.0
    e[2::2] = np.sqrt(2.0)
    g = 2.0 / window
    A = -g * np.outer(e, e) + 0.0  # + 0.0: no -0.0
    for k in range(1, M + 1):
        f = 2.0 * np.pi * k / window
        A[2 * k, 2 * k + 1] -= f  # a_k' = -f b_k + ...
        A[2 * k + 1, 2 * k] += f  # b_k' = +f a_k
    return A, g * e


#: Measures of :func:`transition` (state-spaces/s4 names).
TRANSITION_MEASURES = ("legs", "legt", "lmu", "lagt", "fourier", "fout", "fourier2",
                       "glagt", "tlagt", "legsd", "fourier_diag", "foud", "fourier_decay")


def transition(measure, N, **measure_args):
    r"""HiPPO ``(A, B)`` with the names and scalings of state-spaces/s4.

    For users porting code that calls ``transition(measure, N)`` of
    state-spaces/s4 (``src/models/hippo/hippo.py``): same matrices, to
    round-off, but ``B`` has shape ``(N,)`` (s4 returns ``(N, 1)``).

    ======================  ===========================================================
    measure                 refimpl equivalent
    ======================  ===========================================================
    ``legs``                ``legs(N)`` (paper normalisation)
    ``legt``                ``legt(N, window=2.0)``: s4 halves A and B "for timescale
                            correctness"; hippo-code's unhalved ``legt`` is ``window=1``
    ``lmu``                 ``lmu(N, window=1.0, convention="voelker")``
    ``lagt``                ``lagt(N, beta)``, ``beta`` from ``measure_args`` (default 1)
    ``fourier``, ``fout``   ``fout(M, window=2.0, endpoint="midpoint")`` with
                            :math:`M = N/2-1`, mapped by :func:`fourier_complex_to_real`
                            and with an unused zero state inserted at index 1
    ``fourier2``            the same with ``window=1.0``
    ``glagt``, ``tlagt``    :func:`glagt` (``alpha``, ``beta``), :func:`tlagt` (``beta``)
    ``legsd``               :func:`legsd`
    ``fourier_diag``,       :func:`fourier_diag`
    ``foud``
    ``fourier_decay``       :func:`fourier_decay`
    ======================  ===========================================================

    Parameters
    ----------
    measure : str
        One of :data:`TRANSITION_MEASURES`.
    N : int
        State size :math:`N\ge1`; even and :math:`\ge2` for the Fourier measures.
    **measure_args
        ``beta`` for ``lagt``/``tlagt``, ``alpha`` and ``beta`` for ``glagt``;
        any other argument is an error.

    Returns
    -------
    A : ndarray, shape (N, N), float64
    B : ndarray, shape (N,), float64

    Raises
    ------
    ValueError
        Unknown ``measure``, bad ``N``, odd ``N`` for a Fourier measure, or an
        argument the measure does not take.

    Notes
    -----
    Accuracy: entries agree with the s4 code to a few ulps (s4 forms
    :math:`\sqrt{2i+1}\sqrt{2j+1}` and :math:`TMT^{-1}` numerically; refimpl
    takes one square root of the exact integer product). The Fourier
    correspondence is checked against the complex form through the unitary
    map in ``tests/ssm/test_hippo_measures.py``.

    Examples
    --------
    >>> A, B = transition("legt", 2)
    >>> A
    array([[-0.5      ,  0.8660254],
           [-0.8660254, -1.5      ]])
    """
    check_choice(measure, "measure", TRANSITION_MEASURES)
    N = check_int(N, "N", min_value=1)
    check_size((N, N), "N")
    build, allowed = _S4_MORE_MEASURES.get(measure, (None, {"beta"} if measure == "lagt" else set()))
    extra = set(measure_args) - allowed
    if extra:
        raise ValueError(f"parameter(s) {sorted(extra)} not accepted by transition({measure!r}, N); "
                         f"accepted: {sorted(allowed) or 'none'}")
    if build is not None:
        return build(N, **measure_args)
    if measure == "legs":
        return legs(N)
    if measure == "legt":
        return legt(N, 2.0)
    if measure == "lmu":
        return lmu(N, 1.0, convention="voelker")
    if measure == "lagt":
        return lagt(N, measure_args.get("beta", 1.0))
    if N % 2 or N < 2:
        raise ValueError(f"parameter 'N' must be even and >= 2 for measure {measure!r} (s4 layout), got {N}")
    return _fourier_real(N, 1.0 if measure == "fourier2" else 2.0)


def _hippo_fourier(fn):
    def build(N, **params):
        N = check_int(N, "N", min_value=1)
        if N % 2 == 0:
            raise ValueError(f"parameter 'N' (the state size 2M+1) must be odd for a Fourier measure, got {N}")
        return fn((N - 1) // 2, **params)

    return build


#: ``hippo(measure, N, **params)`` registry: measure name -> constructor taking the state size.
HIPPO_MEASURES = {
    "legs": legs,
    "legt": legt,
    "lmu": lmu,
    "lagt": lagt,
    "fout": _hippo_fourier(fout),
    "fous": _hippo_fourier(fous),
}


def hippo(measure, N, **params):
    r"""HiPPO transition pair ``(A, B)`` of a named measure, state size ``N``.

    Dispatches to :func:`legs`, :func:`legt`, :func:`lmu`, :func:`lagt`,
    :func:`fout`, :func:`fous` (registry :data:`HIPPO_MEASURES`), passing
    ``params`` on (e.g. ``window=``, ``normalization=``, ``beta=``,
    ``endpoint=``). ``N`` is always the state size: for ``fout``/``fous`` it
    must be odd, ``N = 2M+1``.

    Parameters
    ----------
    measure : {"legs", "legt", "lmu", "lagt", "fout", "fous"}
    N : int
        State size.
    **params
        Keyword arguments of the measure's function.

    Returns
    -------
    A : ndarray, shape (N, N)
    B : ndarray, shape (N,)

    Raises
    ------
    ValueError
        Unknown ``measure``, bad ``N`` (even ``N`` for Fourier), or the
        measure function's own errors.
    TypeError
        A keyword the measure's function does not take.

    Examples
    --------
    >>> A, B = hippo("fout", 3, window=2.0)
    >>> A.shape, B.real
    ((3, 3), array([1., 1., 1.]))
    """
    check_choice(measure, "measure", tuple(HIPPO_MEASURES))
    return HIPPO_MEASURES[measure](N, **params)


# ---------------------------------------------------------------------------------------------------------------
# The other measures of state-spaces/s4 ``transition`` (src/models/hippo/hippo.py) and its ``rank_correction``.
# ---------------------------------------------------------------------------------------------------------------

def _check_even(N, measure):
    N = check_int(N, "N", min_value=2)
    if N % 2:
        raise ValueError(f"parameter 'N' must be even for measure {measure!r} (s4's layout pairs the states), "
                         f"got {N}")
    check_size((N, N), "N")
    return N


def _square_size(N):
    N = check_int(N, "N", min_value=1)
    check_size((N, N), "N")
    return N


def tlagt(N, beta=1.0):
    r"""Tilted LagT of state-spaces/s4 (``transition("tlagt", N, beta=...)``).

    .. math::

        A = \tfrac{1-\beta}{2}I - \mathrm{tril}(\mathbf 1),\qquad B_n = \beta;

    ``beta=1`` is no tilt: then :math:`A` is ``-tril(ones)``; :func:`lagt` is
    the untilted Laguerre form :math:`\tfrac12 I-\mathrm{tril}(\mathbf 1)`.

    Parameters
    ----------
    N : int
        State size :math:`N\ge1`.
    beta : float, optional
        Tilt, finite and nonzero (s4's default 1).

    Returns
    -------
    A : ndarray, shape (N, N), float64
    B : ndarray, shape (N,), float64

    Raises
    ------
    ValueError
        ``N < 1``; ``beta`` zero or not finite.

    Examples
    --------
    >>> tlagt(2, beta=0.5)[0]
    array([[-0.75,  0.  ],
           [-1.  , -0.75]])
    """
    N = _square_size(N)
    beta = check_real(beta, "beta")
    if beta == 0.0:
        raise ValueError("parameter 'beta' must be nonzero, got 0.0")
    A = (1.0 - beta) / 2.0 * np.eye(N) - np.tril(np.ones((N, N)))
    return A, np.full(N, beta)


def glagt(N, alpha=0.0, beta=0.01):
    r"""Generalised Laguerre (translated) of state-spaces/s4 (``transition("glagt", N, alpha=, beta=)``).

    With :math:`\ell_n = \sqrt{\Gamma(n+\alpha+1)/\Gamma(n+1)}` (the norm of
    the generalised Laguerre polynomial :math:`L_n^{(\alpha)}` under the
    weight :math:`y^\alpha e^{-y}`):

    .. math::

        A_{nk} = -\frac{\ell_k}{\ell_n}\begin{cases}1 & k<n\\ \frac{1+\beta}{2} & k=n\\ 0 & k>n\end{cases},
        \qquad
        B_n = \frac{1}{\ell_n}\binom{n+\alpha}{n}\,\Gamma(1-\alpha)^{-1/2}\,\beta^{(1-\alpha)/2}.

    s4's comment: "alpha 0, beta small is most stable (limits to the 'lagt'
    measure)". Defaults are s4's (``alpha=0.0, beta=0.01``, also those of its
    ``hippo-glagt`` cell config).

    Parameters
    ----------
    N : int
        State size :math:`N\ge1`.
    alpha : float, optional
        Laguerre parameter, :math:`-1 < \alpha < 1`.
    beta : float, optional
        Tilt, :math:`\beta > 0`.

    Returns
    -------
    A : ndarray, shape (N, N), float64
    B : ndarray, shape (N,), float64

    Raises
    ------
    ValueError
        ``N < 1``; ``alpha`` outside (-1, 1): at :math:`\alpha\le-1` the
        norm :math:`\ell_0` is infinite, and s4's factor
        :math:`\Gamma(1-\alpha)^{-1/2}` has poles at :math:`\alpha=1,2,\dots`
        (s4 would return :math:`B=0` there, and uses :math:`|\Gamma|`
        between them); ``beta <= 0`` (:math:`\beta^{(1-\alpha)/2}` is not real).

    Notes
    -----
    Accuracy: a few ulps of s4's own float64 evaluation (the same ``gammaln``
    expressions; tested against a transcription for several ``alpha``,
    ``beta`` and N).

    Examples
    --------
    >>> A, B = glagt(2, alpha=0.0, beta=1.0)
    >>> A, B
    (array([[-1.,  0.],
           [-1., -1.]]), array([1., 1.]))
    """
    from scipy import special

    N = _square_size(N)
    alpha = check_real(alpha, "alpha", low=-1.0, high=1.0, low_open=True, high_open=True)
    beta = check_real(beta, "beta", low=0.0, low_open=True)
    n = np.arange(N, dtype=np.float64)
    ell = np.exp(0.5 * (special.gammaln(n + alpha + 1.0) - special.gammaln(n + 1.0)))
    A = -np.eye(N) * (1.0 + beta) / 2.0 - np.tril(np.ones((N, N)), -1)
    A = A * ell[None, :] / ell[:, None] + 0.0  # + 0.0: no -0.0
    B = special.binom(alpha + n, n) / ell * np.exp(-0.5 * special.gammaln(1.0 - alpha)) * beta ** ((1.0 - alpha) / 2.0)
    return A, B


def legsd(N):
    r"""LegS with its low-rank part removed: s4's ``transition("legsd", N)``.

    s4 forms :math:`A_{\rm legs} + \tfrac12 BB^\top` and :math:`B/2` from
    the LegS pair (:func:`legs`, :math:`B_n=\sqrt{2n+1}`). Entrywise:

    .. math::

        A_{nk} = -\tfrac12\,\mathrm{sign}(n-k)\sqrt{(2n+1)(2k+1)} - \tfrac12\delta_{nk},
        \qquad B_n = \tfrac12\sqrt{2n+1},

    a skew-symmetric matrix minus :math:`\tfrac12 I`: the normal part of
    the NPLR form of LegS (https://kexue.fm/archives/10162, "点睛之笔"), so
    its eigenvalues are :math:`-\tfrac12 + i\omega` with the :math:`\omega` of
    ``nplr("legs", N)``; their conjugate half is S4D-LegS
    (:func:`refimpl.ssm.s4d.s4d_init`). The halved ``B`` is what the S4D
    paper's theory asks for; s4's ``dplr`` drops the 1/2 for S4D-LegS.

    Parameters
    ----------
    N : int
        State size :math:`N\ge1`.

    Returns
    -------
    A : ndarray, shape (N, N), float64
    B : ndarray, shape (N,), float64

    Raises
    ------
    ValueError
        ``N < 1``.

    Notes
    -----
    Accuracy: one square root of an exact integer per entry; s4 forms
    :math:`TMT^{-1}+\tfrac12BB^\top` and agrees to a few ulps of the entry
    (its diagonal :math:`-(n+1)+(2n+1)/2` is exact).

    Examples
    --------
    >>> A, B = legsd(2)
    >>> A
    array([[-0.5      ,  0.8660254],
           [-0.8660254, -0.5      ]])
    """
    N = _square_size(N)
    n = np.arange(N, dtype=np.float64)
    root = np.sqrt((2.0 * n[:, None] + 1.0) * (2.0 * n[None, :] + 1.0))
    A = -0.5 * np.sign(n[:, None] - n[None, :]) * root - 0.5 * np.eye(N)
    return A, 0.5 * np.sqrt(2.0 * n + 1.0)


def _fourier_e(N):
    """s4's Fourier input vector: 1, 0, sqrt2, 0, sqrt2, ... (index 1 is the dead state)."""
    e = np.zeros(N)
    e[0::2] = np.sqrt(2.0)
    e[0] = 1.0
    return e


def fourier_diag(N):
    r"""Diagonalisable Fourier measure of state-spaces/s4 (``transition("fourier_diag" | "foud", N)``).

    Pairs of states :math:`(2k, 2k+1)`, :math:`k = 0..N/2-1`, rotate at
    frequency :math:`2\pi k` and decay at rate 1/2, with no low-rank term:

    .. math::

        A = \bigoplus_k\begin{pmatrix}-\tfrac12 & -2\pi k\\ 2\pi k & -\tfrac12\end{pmatrix},
        \qquad B = (1, 0, \sqrt2, 0, \sqrt2, 0, \dots).

    Its eigenvalues are :math:`-\tfrac12 \pm 2\pi i k`. (s4 builds it from
    ``diag(d, 1)`` with ``d = [0, 0, 1, 0, 2, ...]``; the pair :math:`k=0`
    is two real decaying states, the second with zero input.)

    Parameters
    ----------
    N : int
        Even state size :math:`N\ge2` (s4's construction fails for odd N).

    Returns
    -------
    A : ndarray, shape (N, N), float64
    B : ndarray, shape (N,), float64

    Raises
    ------
    ValueError
        ``N`` odd or ``< 2``.

    Examples
    --------
    >>> fourier_diag(4)[0].round(4)
    array([[-0.5   , -0.    ,  0.    ,  0.    ],
           [ 0.    , -0.5   ,  0.    ,  0.    ],
           [ 0.    ,  0.    , -0.5   , -6.2832],
           [ 0.    ,  0.    ,  6.2832, -0.5   ]])
    """
    N = _check_even(N, "fourier_diag")
    A = -0.5 * np.eye(N) + 0.0
    k = np.arange(N // 2)
    A[2 * k, 2 * k + 1] = -2.0 * np.pi * k
    A[2 * k + 1, 2 * k] = 2.0 * np.pi * k
    return A, _fourier_e(N)


def fourier_decay(N):
    r"""FouT with half the endpoint correction: s4's ``transition("fourier_decay", N)``.

    s4's ``fourier``/``fout`` (:func:`transition`, window 2) is
    :math:`A = R - ee^\top`, :math:`B = e`, with the rotations :math:`R`
    (frequency :math:`\pi k` on the pair :math:`(2k, 2k+1)`) and
    :math:`e = (1, 0, \sqrt2, 0, \sqrt2, \dots)`. ``fourier_decay`` halves the
    correction and the input:

    .. math::

        A = R - \tfrac12 ee^\top,\qquad B = \tfrac12 e,

    the same step as :func:`legsd` takes from LegS (:math:`A+\tfrac12BB^\top`,
    :math:`B/2`).

    Parameters
    ----------
    N : int
        Even state size :math:`N\ge2`.

    Returns
    -------
    A : ndarray, shape (N, N), float64
    B : ndarray, shape (N,), float64

    Raises
    ------
    ValueError
        ``N`` odd or ``< 2``.

    Examples
    --------
    >>> A, B = fourier_decay(2)
    >>> A, B
    (array([[-0.5,  0. ],
           [ 0. ,  0. ]]), array([0.5, 0. ]))
    """
    N = _check_even(N, "fourier_decay")
    A, e = _fourier_real(N, 2.0)  # R - e e^T
    return A + 0.5 * np.outer(e, e) + 0.0, 0.5 * e


#: Measures of :func:`rank_correction` (state-spaces/s4 names).
RANK_CORRECTION_MEASURES = ("legs", "legt", "lagt", "fourier", "fout", "fourier_decay", "fourier2",
                            "fourier_diag", "foud", "legsd")


def rank_correction(measure, N, rank=1):
    r"""Low-rank P with :math:`A + P^\top P` normal: state-spaces/s4 ``rank_correction``.

    For the pair ``transition(measure, N)``:

    ===========================  =============================================================  ====
    measure                      rows of P                                                      rank
    ===========================  =============================================================  ====
    ``legs``                     :math:`\sqrt{n+1/2}` (:math:`A+P^\top P+\tfrac12I` is skew)    1
    ``legt``                     :math:`\sqrt{(2n+1)/2}` on odd n (row 0), on even n (row 1)   2
    ``lagt``                     :math:`\sqrt{1/2}`                                             1
    ``fourier``, ``fout``        :math:`e = (1, 0, \sqrt2, 0, \sqrt2, \dots)`                   1
    ``fourier_decay``            :math:`e/\sqrt2`                                               1
    ``fourier2``                 :math:`\sqrt2\,e`                                              1
    ``fourier_diag``, ``foud``,  zeros (already normal)                                         1
    ``legsd``
    ===========================  =============================================================  ====

    Rows beyond the measure's rank are zeros, as in s4.

    Parameters
    ----------
    measure : str
        One of :data:`RANK_CORRECTION_MEASURES` (s4 has none for ``lmu``,
        ``glagt``, ``tlagt``).
    N : int
        State size; even for the Fourier measures.
    rank : int, optional
        Rows of P, at least the measure's rank (2 for ``legt``).

    Returns
    -------
    P : ndarray, shape (rank, N), float64
        s4's layout (``refimpl.ssm.nplr`` returns P as (N, rank)).

    Raises
    ------
    ValueError
        Unknown ``measure``; bad ``N``; ``rank`` below the measure's rank.

    Examples
    --------
    >>> rank_correction("legs", 3)
    array([[0.70710678, 1.22474487, 1.58113883]])
    """
    check_choice(measure, "measure", RANK_CORRECTION_MEASURES)
    need = 2 if measure == "legt" else 1
    rank = check_int(rank, "rank", min_value=1)
    if rank < need:
        raise ValueError(f"parameter 'rank' must be >= {need} for measure {measure!r}, got {rank}")
    if measure in ("legs", "legt", "lagt", "legsd"):
        N = check_int(N, "N", min_value=1)
    else:
        N = _check_even(N, measure)
    check_size(N, "N")
    check_size((rank, N), "rank")
    n = np.arange(N, dtype=np.float64)
    P = np.zeros((rank, N))
    if measure == "legs":
        P[0] = np.sqrt(0.5 + n)
    elif measure == "legt":
        r = np.sqrt(2.0 * n + 1.0) * np.sqrt(0.5)
        P[0, 1::2] = r[1::2]
        P[1, 0::2] = r[0::2]
    elif measure == "lagt":
        P[0] = np.sqrt(0.5)
    elif measure in ("fourier", "fout"):
        P[0] = _fourier_e(N)
    elif measure == "fourier_decay":
        P[0] = _fourier_e(N) / np.sqrt(2.0)
    elif measure == "fourier2":
        P[0] = np.sqrt(2.0) * _fourier_e(N)
    return P


def _glagt_transition(N, alpha=0.0, beta=0.01):
    return glagt(N, alpha, beta)


def _tlagt_transition(N, beta=1.0):
    return tlagt(N, beta)


# transition(): the measures above, with the arguments each takes.
_S4_MORE_MEASURES = {
    "glagt": (_glagt_transition, {"alpha", "beta"}),
    "tlagt": (_tlagt_transition, {"beta"}),
    "legsd": (legsd, set()),
    "fourier_diag": (fourier_diag, set()),
    "foud": (fourier_diag, set()),
    "fourier_decay": (fourier_decay, set()),
}
__all__ += ["RANK_CORRECTION_MEASURES", "tlagt", "glagt", "legsd", "fourier_diag", "fourier_decay",
            "rank_correction"]
