r"""Online function approximation: the LegS memory, exact projections, reconstruction.

HiPPO keeps, at every time :math:`T`, the coefficients of the best
approximation of the history of a signal :math:`u` in an orthonormal basis
(Su Jianlin, https://kexue.fm/archives/10114 and https://kexue.fm/archives/10137;
Gu et al., HiPPO, https://arxiv.org/abs/2008.07669). This module computes

- :func:`legs_recurrence`: the step-size-free time-varying LegS recurrences
  (exact log-ZOH, the article's bilinear form, the hippo-code bilinear form,
  forward and backward Euler), O(N) per step for all but ``"exact"``;
- :func:`project`: the same coefficients directly from their definition, by
  Gauss-Legendre quadrature (exact for piecewise-constant input and the
  Legendre measures), for ``legs``, ``legt``, ``lmu``, ``lagt``, ``fout``,
  ``fous``;
- :func:`reconstruct`: the function a coefficient vector represents;
- :func:`legs_eigvec`: eigenvectors of the LegS matrix (S-recursion and the
  corrected closed form of https://kexue.fm/archives/10162).
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from .._backend import pick
from .._validation import as_array, check_bool, check_choice, check_int, check_real, check_size
from . import _fast, reference
from .hippo import LMU_CONVENTIONS

__all__ = ["LEGS_RECURRENCES", "PROJECT_MEASURES", "legs_recurrence", "project", "reconstruct", "legs_eigvec"]

#: Accepted ``method`` names of :func:`legs_recurrence`.
LEGS_RECURRENCES = ("exact", "bilinear", "su_bilinear", "forward_euler", "backward_euler")
#: Measures accepted by :func:`project` and :func:`reconstruct`.
PROJECT_MEASURES = ("legs", "legt", "lmu", "lagt", "fout", "fous")


def legs_recurrence(u, N, method="exact", *, backend="auto", out=None):
    r"""The LegS online memory of a sampled signal: coefficients after each sample.

    The input is piecewise constant, :math:`u(t) = u_k` on :math:`[k, k+1)`
    (unit step: LegS is timescale-equivariant, so the step size drops out,
    https://kexue.fm/archives/10137). Row ``k`` of the result is the state
    :math:`x(t)` at :math:`t = k + 1`, after consuming :math:`u_0..u_k`, for
    :math:`t\,x'(t) = A x(t) + B u(t)` with ``(A, B) = refimpl.ssm.legs(N)`` (paper
    normalisation): :math:`x_n(T) = \int_0^1 u(rT)\sqrt{2n+1}P_n(2r-1)\,dr`.

    Initial state: on :math:`[0, 1]` the input is the constant :math:`u_0`,
    whose projection is exactly :math:`x(1) = (u_0, 0, \dots, 0)`; row 0 is
    that for every method (the ODE is singular at :math:`t=0`). Row
    :math:`k\ge1` steps from :math:`t=k` to :math:`t=k+1` with input :math:`u_k`:

    ====================  =============================================================================
    ``method``            step
    ====================  =============================================================================
    ``"exact"``           :math:`x_{k+1} = e^{\ell A}x_k + A^{-1}(e^{\ell A}-I)Bu_k`, :math:`\ell=\ln\frac{k+1}{k}`
                          (ZOH in :math:`\tau=\ln t`, where LegS is LTI; no discretisation error)
    ``"su_bilinear"``     :math:`(I-\frac{A}{2(k+1)})x_{k+1} = (I+\frac{A}{2k})x_k + \frac1kBu_k` (Su, 10137)
    ``"bilinear"``        :math:`(I-\frac{A}{2k})x_{k+1} = (I+\frac{A}{2k})x_k + \frac1kBu_k`
                          (hippo-code ``HiPPO_LegS``, :math:`A_t = A/t` at the step's start)
    ``"forward_euler"``   :math:`x_{k+1} = x_k + \frac1k(Ax_k + Bu_k)` (hippo-code ``forward``)
    ``"backward_euler"``  :math:`(I-\frac Ak)x_{k+1} = x_k + \frac1kBu_k` (hippo-code ``backward``)
    ====================  =============================================================================

    Parameters
    ----------
    u : array_like, shape (L,)
        Finite real samples, :math:`L\ge1`.
    N : int
        State size :math:`N\ge1`.
    method : {"exact", "bilinear", "su_bilinear", "forward_euler", "backward_euler"}, optional
    backend : {"auto", "reference", "numba"}, optional
        ``"reference"`` (``"numpy"``): the definition, one dense step per
        sample (:func:`refimpl.ssm.reference.legs_recurrence`, O(N^2) per step);
        ``"numba"``: the O(N) kernel for the four rational methods;
        ``"auto"``: numba when importable. ``"exact"`` always runs the
        definition (SciPy ``expm``).
    out : ndarray, shape (L, N), float64, C-contiguous, optional
        Buffer to write into (and return), to avoid allocating.

    Returns
    -------
    ndarray, shape (L, N), float64

    Raises
    ------
    ValueError
        ``u`` not 1-D, empty or with NaN/Inf; ``N < 1``; unknown ``method``
        or ``backend``; ``out`` of the wrong shape, dtype or layout.

    Notes
    -----
    Cost: O(N) per step for the four rational methods (the products with
    :math:`A` are prefix sums and the solves the S-recursion of
    :func:`legs_solve`, fused in one pass that advances two steps at a time;
    ``bench/ssm.py``, case ``ssm.legs_recurrence``), O(N^3) per step for
    ``"exact"`` (one ``scipy.linalg.expm`` of the :math:`(N+1)\times(N+1)`
    augmented matrix via :func:`refimpl.ssm.discretize`; the step matrix depends on ``k``).

    Accuracy: the O(N) methods agree with per-step dense algebra
    (``scipy.linalg.solve_triangular``) to 1e-12 relative (tested; the
    S-recursion is stable since :math:`|1-\lambda n| < 1+\lambda(n+1)`).
    ``"exact"`` equals :func:`project` of the same piecewise-constant
    signal to about :math:`10^{-13}` relative to :math:`\max|u|` for
    :math:`N\le64`, :math:`L\le 2000` (tested to 1e-12). The other methods have
    discretisation error against that projection, largest in the first steps
    (:math:`1/k` is not small); both bilinear forms are markedly more accurate
    than the Euler forms. ``"forward_euler"`` is unstable while
    :math:`k < N/2` (the eigenvalues of :math:`I + A/k` are :math:`1 - j/k`)
    and can grow large for big ``N``.

    Conventions: hippo-code's ``HiPPO_LegS`` starts from :math:`x=0` and
    applies the step with :math:`t=k+1` to :math:`u_k`, i.e. it treats the
    signal as starting at :math:`t=1` with no history, so its states differ
    from these (which are projections of the signal on :math:`[0, k+1]`).

    Examples
    --------
    >>> x = legs_recurrence([1.0, 1.0, 1.0], 3)  # a constant is represented exactly
    >>> np.round(x, 12) + 0.0
    array([[1., 0., 0.],
           [1., 0., 0.],
           [1., 0., 0.]])
    """
    u = as_array(u, "u", ndim=1, min_size=1)
    N = check_int(N, "N", min_value=1)
    check_choice(method, "method", LEGS_RECURRENCES)
    name, impl = pick(backend, u, reference=reference.legs_recurrence, numba=_fast.legs_recurrence)
    L = u.shape[0]
    if out is None:
        check_size((L, N), "N")
        if name == "reference" or method == "exact":
            check_size((N + 1, N + 1, 4), "N")  # the definition's dense step matrices
        out = np.zeros((L, N))
    elif not isinstance(out, np.ndarray) or out.shape != (L, N) or out.dtype != np.float64 \
            or not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError(f"parameter 'out' must be a writeable C-contiguous float64 array of shape ({L}, {N})")
    with np.errstate(over="ignore", invalid="ignore"):
        impl(u, N, method, out)
    if not np.all(np.isfinite(out)):
        raise ValueError("legs_recurrence overflows float64 for these finite inputs (|u| near 1.8e308, or "
                         "'forward_euler', unstable while k < N/2, grew past the float64 range)")
    return out


# ---------------------------------------------------------------------------
# Bases (each evaluated by a stable three-term recurrence or directly)
# ---------------------------------------------------------------------------

def _legendre_table(x, N):
    """P_0..P_{N-1} at x (shape (m,)) -> (m, N), by Bonnet's recurrence (stable on [-1, 1])."""
    P = np.empty((x.shape[0], N))
    P[:, 0] = 1.0
    if N > 1:
        P[:, 1] = x
    for n in range(1, N - 1):
        P[:, n + 1] = ((2 * n + 1) * x * P[:, n] - n * P[:, n - 1]) / (n + 1)
    return P


def _laguerre_fn_table(y, N):
    """Laguerre functions L_n(y) exp(-y/2), n < N, at y >= 0 -> (m, N)."""
    G = np.empty((y.shape[0], N))
    G[:, 0] = np.exp(-0.5 * y)
    if N > 1:
        G[:, 1] = (1.0 - y) * G[:, 0]
    for n in range(1, N - 1):
        G[:, n + 1] = ((2 * n + 1 - y) * G[:, n] - n * G[:, n - 1]) / (n + 1)
    return G


def _fourier_table(s, N):
    M = (N - 1) // 2
    return np.exp(-2j * np.pi * np.outer(s, np.arange(-M, M + 1)))


def _interval(measure, T, window):
    if measure in ("legs", "fous"):
        return 0.0, T
    if measure == "lagt":
        return 0.0, T
    return max(0.0, T - window), T


def _kernel_values(measure, N, t, T, window, beta):
    """K (m, N) with c_n(T) = int K[:, n] u(t) dt over the measure's interval."""
    if measure in ("legs", "legt", "lmu"):
        if measure == "legs":
            r = t / T
            jac = 1.0 / T
        else:
            r = (t - (T - window)) / window
            jac = 1.0 / window
        P = _legendre_table(2.0 * r - 1.0, N)
        n = np.arange(N, dtype=np.float64)
        scale = (2.0 * n + 1.0) if measure == "lmu" else np.sqrt(2.0 * n + 1.0)
        return P * (scale * jac)
    if measure == "lagt":
        return _laguerre_fn_table(T - t, N) * beta
    if measure == "fous":
        return _fourier_table(t / T, N) / T
    return _fourier_table((t - (T - window)) / window, N) / window  # fout


def _gauss(m):
    x, w = np.polynomial.legendre.leggauss(m)
    return x, w


def _panels(a, b, breaks, max_width):
    """Sorted panel edges of [a, b]: the given interior break points, then split to width <= max_width."""
    inner = breaks[(breaks > a) & (breaks < b)]
    edges = np.concatenate([[a], inner, [b]])
    if max_width is not None and np.isfinite(max_width):
        pieces = []
        for lo, hi in zip(edges[:-1], edges[1:]):
            k = max(1, int(math.ceil((hi - lo) / max_width - 1e-12)))
            pieces.append(np.linspace(lo, hi, k + 1)[:-1])
        edges = np.concatenate(pieces + [[b]])
    return edges


def _measure_options(measure, window, beta):
    """Validate ``window``/``beta`` for ``measure``; return ``(windowed, window, beta)``."""
    windowed = measure in ("legt", "lmu", "fout")
    if not windowed and window != 1.0:
        raise ValueError(f"parameter 'window' is not used by measure {measure!r}")
    window = check_real(window, "window", low=0.0, low_open=True)
    if measure != "lagt" and beta != 1.0:
        raise ValueError(f"parameter 'beta' is only used by measure 'lagt', got beta={beta!r}")
    beta = check_real(beta, "beta")
    if beta == 0.0:
        raise ValueError("parameter 'beta' must be nonzero")
    return windowed, window, beta


def project(u, N, measure="legs", *, times=None, dt=1.0, window=1.0, beta=1.0, panels=None, nodes=None):
    r"""HiPPO coefficients of a signal's history, from their definition, by quadrature.

    For each time :math:`T` in ``times``, returns :math:`c_n(T)` with
    (:math:`u(t) = 0` for :math:`t < 0`):

    ============  ==========================================================================  ===========
    measure       :math:`c_n(T)`                                                              state size
    ============  ==========================================================================  ===========
    ``legs``      :math:`\int_0^1 u(rT)\sqrt{2n+1}P_n(2r-1)\,dr`                                ``N``
    ``legt``      :math:`\int_0^1 u(T-w+rw)\sqrt{2n+1}P_n(2r-1)\,dr`                            ``N``
    ``lmu``       :math:`(2n+1)\int_0^1 u(T-w+rw)P_n(2r-1)\,dr`                                 ``N``
    ``lagt``      :math:`\beta\int_0^\infty u(T-y)L_n(y)e^{-y/2}\,dy`                           ``N``
    ``fout``      :math:`\int_0^1 u(T-w+sw)e^{-2i\pi ns}\,ds`, :math:`n=-M..M`                  ``N=2M+1``
    ``fous``      :math:`\int_0^1 u(sT)e^{-2i\pi ns}\,ds`, :math:`n=-M..M`                      ``N=2M+1``
    ============  ==========================================================================  ===========

    These are the states of :func:`legs` / :func:`legt` / :func:`lmu` (``"su"``
    convention) / :func:`lagt` / :func:`fout` / :func:`fous` with the same
    ``window`` and ``beta``, i.e. what the HiPPO ODEs approximate (exactly,
    for LegS and LagT).

    Parameters
    ----------
    u : array_like of shape (L,), or callable
        Samples of a piecewise-constant signal, :math:`u(t)=u_k` on
        :math:`[k\,dt, (k+1)\,dt)` (and 0 for :math:`t \ge L\,dt`), or a
        vectorised function of time ``u(t_array) -> array``.
    N : int
        State size (odd for ``fout``/``fous``).
    measure : {"legs", "legt", "lmu", "lagt", "fout", "fous"}, optional
    times : float or array_like, optional
        Times :math:`T > 0`. Default (array ``u`` only): ``L * dt``.
    dt : float, optional
        Sample spacing of an array ``u`` (> 0). Not used with a callable.
    window : float, optional
        Window :math:`w > 0` of ``legt``/``lmu``/``fout``.
    beta : float, optional
        Scale of ``lagt`` (as :func:`lagt`).
    panels : int, optional
        Callable ``u`` only: number of equal panels of the integration
        interval (default 64). For an array ``u`` the panels are the sample
        intervals.
    nodes : int, optional
        Gauss-Legendre nodes per panel (default ``N // 2 + 8``, at least 16).

    Returns
    -------
    ndarray, shape (N,) for a scalar ``times``, else (len(times), N)
        float64, complex128 for ``fout``/``fous``.

    Raises
    ------
    ValueError
        ``u`` with NaN/Inf or empty, a callable returning the wrong shape or
        non-finite values, bad ``N`` (even for Fourier), unknown ``measure``,
        ``times`` not positive and finite (or missing with a callable),
        ``dt``/``window``/``beta`` invalid, ``panels``/``nodes`` < 1, or an
        argument that the measure does not use (``window`` with ``legs``,
        ``dt`` with a callable, ...).

    Notes
    -----
    Method: composite Gauss-Legendre quadrature. Every panel lies inside one
    sample interval, so for an array ``u`` and the Legendre measures the
    integrand is a polynomial of degree :math:`\le N-1` on each panel and the
    rule (exact to degree :math:`2\cdot\text{nodes}-1`) is exact up to
    rounding: accuracy about :math:`10^{-15}\,\max|u|` per coefficient
    (tested against the exact LegS recurrence to 1e-12, and the exact LagT
    ZOH solution). For ``lagt``, ``fout``, ``fous`` the panels are further
    split to width at most 1/2 (LagT) or :math:`1/(2M+1)` of the window
    (Fourier), where the integrand is entire and the rule converges
    spectrally: round-off level with the default ``nodes``. For a callable,
    the error is that of composite Gauss-Legendre on ``u`` times the basis:
    spectral for analytic ``u``; raise ``panels`` for rough signals.

    Examples
    --------
    >>> c = project([2.0], 3, times=1.0)  # the constant 2 on [0, 1]
    >>> np.round(c, 12) + 0.0
    array([2., 0., 0.])
    >>> c = project(lambda t: t, 2, times=1.0)  # t = 1/2 + (1/(2 sqrt 3)) sqrt(3) P_1(2t-1)
    >>> np.round(c * [1, 2 * np.sqrt(3)], 12)
    array([0.5, 1. ])
    """
    check_choice(measure, "measure", PROJECT_MEASURES)
    N = check_int(N, "N", min_value=1)
    check_size((N, N // 2 + 8), "N", itemsize=32)  # a basis table of the default nodes x N
    fourier = measure in ("fout", "fous")
    if fourier and N % 2 == 0:
        raise ValueError(f"parameter 'N' (the state size 2M+1) must be odd for measure {measure!r}, got {N}")
    windowed, window, beta = _measure_options(measure, window, beta)
    nodes = max(16, N // 2 + 8) if nodes is None else check_int(nodes, "nodes", min_value=1)
    check_size(nodes, "nodes", itemsize=64)       # Gauss-Legendre nodes and weights
    check_size((nodes, N), "N", itemsize=32)      # one basis table per panel
    if callable(u):
        if dt != 1.0:
            raise ValueError("parameter 'dt' is only used with an array 'u' (a callable is a function of time)")
        if times is None:
            raise ValueError("parameter 'times' is required when 'u' is a callable")
        panels = 64 if panels is None else check_int(panels, "panels", min_value=1)
        check_size(panels + 1, "panels")
        values = None
    else:
        values = as_array(u, "u", ndim=1, min_size=1)
        if panels is not None:
            raise ValueError("parameter 'panels' is only used with a callable 'u' (an array's panels are its samples)")
        dt = check_real(dt, "dt", low=0.0, low_open=True)
    if times is None:
        times = values.shape[0] * dt
    scalar = np.ndim(times) == 0
    T_all = as_array(np.atleast_1d(times), "times", ndim=1, min_size=1)
    if np.any(T_all <= 0):
        raise ValueError("parameter 'times' must be > 0")
    check_size((T_all.shape[0], N), "times", itemsize=16)
    xg, wg = _gauss(nodes)
    dtype = np.complex128 if fourier else np.float64
    res = np.empty((T_all.shape[0], N), dtype=dtype)
    for i, T in enumerate(T_all):
        a, b = _interval(measure, float(T), window)
        span = b - a
        if measure == "lagt":
            max_w = 0.5
        elif fourier:
            max_w = (window if measure == "fout" else T) / N
        else:
            max_w = None
        if values is None:
            edges = _panels(a, b, np.linspace(a, b, panels + 1), max_w)
        else:
            L = values.shape[0]
            k_lo, k_hi = int(math.floor(a / dt)), int(math.ceil(b / dt))
            breaks = np.arange(max(k_lo, 0), min(k_hi, L + 1) + 1, dtype=np.float64) * dt
            edges = _panels(a, b, breaks, max_w)
        acc = np.zeros(N, dtype=dtype)
        if span > 0:
            chunk = max(1, (1 << 20) // (nodes * N))
            for j in range(0, edges.shape[0] - 1, chunk):
                lo, hi = edges[j:j + chunk + 1][:-1], edges[j + 1:j + chunk + 1]
                half = 0.5 * (hi - lo)
                t = (0.5 * (hi + lo))[:, None] + half[:, None] * xg[None, :]
                w = (half[:, None] * wg[None, :]).ravel()
                t = t.ravel()
                if values is None:
                    f = np.asarray(u(t), dtype=np.float64)
                    if f.shape != t.shape:
                        raise ValueError(f"parameter 'u' (a callable) must map an array of shape {t.shape} to the "
                                         f"same shape, got {f.shape}")
                    if not np.all(np.isfinite(f)):
                        raise ValueError("parameter 'u' (a callable) returned NaN or Inf")
                else:
                    # panel midpoints decide the sample (nodes never sit on a break)
                    idx = np.floor((0.5 * (hi + lo)) / dt).astype(np.int64)
                    pv = np.where((idx >= 0) & (idx < values.shape[0]),
                                  values[np.clip(idx, 0, values.shape[0] - 1)], 0.0)
                    f = np.repeat(pv, nodes)
                acc += _kernel_values(measure, N, t, float(T), window, beta).T @ (w * f)
        res[i] = acc
    return res[0] if scalar else res


def reconstruct(c, s, measure="legs", *, window=1.0, beta=1.0, convention="su"):
    r"""The function represented by HiPPO coefficients ``c`` at positions ``s``.

    ============  =========================================================  ==============================
    measure       value                                                      ``s``
    ============  =========================================================  ==============================
    ``legs``      :math:`\sum_n c_n\sqrt{2n+1}P_n(2s-1)`                     fraction of history, [0, 1]
    ``legt``      :math:`\sum_n c_n\sqrt{2n+1}P_n(2s/w-1)`                   offset in the window, [0, w]
    ``lmu``       :math:`\sum_n c_n P_n(2s/w-1)`                             offset in the window, [0, w]
    ``lagt``      :math:`\beta^{-1}\sum_n c_n L_n(s)e^{-s/2}`                time elapsed, :math:`s\ge0`
    ``fout``      :math:`\sum_n c_n e^{2i\pi n s/w}`                         offset in the window, [0, w]
    ``fous``      :math:`\sum_n c_n e^{2i\pi n s}`                           fraction of history, [0, 1]
    ============  =========================================================  ==============================

    At time :math:`T` the position ``s`` stands for :math:`t = sT` (``legs``,
    ``fous``), :math:`t = T - w + s` (``legt``, ``lmu``, ``fout``) and
    :math:`t = T - s` (``lagt``), matching :func:`project`.

    ``lmu`` coefficients come in two sign conventions (``convention``, as in
    :func:`refimpl.ssm.lmu`): ``"su"`` (default) are the states of
    ``lmu(..., convention="su")`` (https://kexue.fm/archives/10114),
    coefficients of :math:`P_n(2s/w-1)`; ``"voelker"`` are the states of
    ``lmu(..., convention="voelker")``, of the LMU paper and of
    state-spaces/s4 / hippo-code ``transition("lmu", N)``, coefficients of
    :math:`P_n(1-2s/w)`, i.e. :math:`c^{\rm voelker}_n = (-1)^n c^{\rm su}_n`
    (the value is :math:`\sum_n c_n P_n(1-2s/w)`).

    Parameters
    ----------
    c : array_like, shape (N,) or (K, N)
        Coefficients (real, or complex for ``fout``/``fous``).
    s : array_like, shape (m,) or scalar
        Positions in the ranges above (others raise).
    measure : {"legs", "legt", "lmu", "lagt", "fout", "fous"}, optional
    window, beta : float, optional
        As in :func:`project`.
    convention : {"su", "voelker"}, optional
        Sign convention of ``lmu`` coefficients (see above); other measures
        take only the default.

    Returns
    -------
    ndarray, shape (m,) or (K, m) (scalar ``s``: () or (K,))
        float64; complex128 for ``fout``/``fous`` (real to round-off for the
        coefficients of a real signal).

    Raises
    ------
    ValueError
        Non-finite ``c`` or ``s``, ``s`` outside the range, even ``N`` for
        Fourier, unknown ``measure``, bad ``window``/``beta``/``convention`` or
        one the measure does not use, or a result beyond the float64 range.

    Notes
    -----
    Accuracy: the Legendre and Laguerre values come from the three-term
    recurrences (error a few ulps times :math:`\sum|c_n\phi_n|`); the Fourier
    values from ``numpy.exp``.

    Examples
    --------
    >>> reconstruct([0.5, 1 / (2 * np.sqrt(3))], [0.0, 0.25, 1.0])  # the line t on [0, 1]
    array([0.  , 0.25, 1.  ])
    """
    check_choice(measure, "measure", PROJECT_MEASURES)
    check_choice(convention, "convention", LMU_CONVENTIONS)
    if convention != "su" and measure != "lmu":
        raise ValueError(f"parameter 'convention' is only used by measure 'lmu', got convention={convention!r} "
                         f"with measure {measure!r}")
    c = as_array(c, "c", allow_complex=True, min_size=1)
    if c.ndim not in (1, 2):
        raise ValueError(f"parameter 'c' must have shape (N,) or (K, N), got {c.shape}")
    N = c.shape[-1]
    fourier = measure in ("fout", "fous")
    if fourier and N % 2 == 0:
        raise ValueError(f"parameter 'c' must have an odd length N = 2M+1 for measure {measure!r}, got {N}")
    windowed, window, beta = _measure_options(measure, window, beta)
    try:
        scalar = np.ndim(s) == 0
    except ValueError:  # a ragged list: as_array names it
        scalar = False
    s = np.atleast_1d(as_array(s, "s"))
    if s.ndim != 1:
        raise ValueError(f"parameter 's' must be a scalar or 1-dimensional, got shape {s.shape}")
    check_size((s.shape[0], N), "s", itemsize=32)
    hi = window if windowed else (np.inf if measure == "lagt" else 1.0)
    if np.any(s < 0) or np.any(s > hi):
        raise ValueError(f"parameter 's' must lie in [0, {hi}] for measure {measure!r}")
    n = np.arange(N, dtype=np.float64)
    if measure == "legs":
        Phi = _legendre_table(2.0 * s - 1.0, N) * np.sqrt(2.0 * n + 1.0)
    elif measure == "legt":
        Phi = _legendre_table(2.0 * s / window - 1.0, N) * np.sqrt(2.0 * n + 1.0)
    elif measure == "lmu":
        x = 2.0 * s / window - 1.0
        Phi = _legendre_table(x if convention == "su" else -x, N)
    elif measure == "lagt":
        Phi = _laguerre_fn_table(s, N) / beta
    elif measure == "fous":
        Phi = _fourier_table(s, N).conj()
    else:
        Phi = _fourier_table(s / window, N).conj()
    with np.errstate(over="ignore", invalid="ignore"):
        out = c @ Phi.T
    if not np.all(np.isfinite(out)):
        raise ValueError("reconstruct overflows float64 for these finite inputs (|c_n| times the basis values "
                         "beyond the float64 range)")
    return out[..., 0] if scalar else out


def legs_eigvec(N, lam, *, method="recursion", return_s=False):
    r"""Eigenvector of the LegS matrix: :math:`-Av = \lambda v`, :math:`\lambda\in\{1,\dots,N\}`.

    With :math:`S_n = \sum_{k\le n}\sqrt{2k+1}\,v_k` the eigen-equation reads
    :math:`\sqrt{2n+1}S_n - nv_n = \lambda v_n`, hence
    (https://kexue.fm/archives/10162)

    .. math::

        S_{n-1} = \frac{\lambda-n-1}{\lambda+n}S_n,\qquad
        v_n = \frac{\sqrt{2n+1}}{\lambda+n}S_n,

    normalised by :math:`S_{N-1}=1`. ``method="recursion"`` runs the
    recursion downwards from :math:`n=N-1`; ``method="closed_form"`` uses

    .. math::

        S_n = (-1)^{N-n-1}\frac{(N-\lambda)!\,(n+\lambda)!}{(N+\lambda-1)!\,(n-\lambda+1)!}
        \quad (n \ge \lambda-1),\qquad S_n = 0\quad (n\le\lambda-2),

    evaluated in exact rational arithmetic and rounded once.

    Parameters
    ----------
    N : int
        State size :math:`N\ge1`.
    lam : int
        Eigenvalue of :math:`-A` (``A = legs(N)[0]``), :math:`1\le\lambda\le N`.
    method : {"recursion", "closed_form"}, optional
    return_s : bool, optional
        Also return :math:`S` (shape (N,)).

    Returns
    -------
    v : ndarray, shape (N,)
        Entries :math:`v_n = 0` for :math:`n < \lambda-1`.
    S : ndarray, shape (N,), only if ``return_s``

    Raises
    ------
    ValueError
        ``N < 1``, ``lam`` not an integer in ``[1, N]``, unknown ``method``.

    Notes
    -----
    Erratum (ERRATA.md): the article says :math:`S_{\lambda-1}=0`; in fact the
    factor :math:`\lambda-n-1` vanishes at :math:`n=\lambda-1`, so
    :math:`S_{\lambda-2}=0` while :math:`S_{\lambda-1}\ne0`: the closed form holds
    for :math:`n\ge\lambda-1`.

    Accuracy: ``"closed_form"`` is correctly rounded (it underflows to 0 once
    :math:`|S_n| < 2^{-1074}`, e.g. for small ``n`` and large ``N``); the
    recursion multiplies ``N - n`` correctly rounded factors, relative error
    below :math:`2(N-n)\varepsilon` (tested). The eigenvector matrix is
    extremely ill-conditioned (:math:`\kappa` grows exponentially in ``N``,
    beyond :math:`1/\varepsilon` near ``N = 30``): this is why S4 does not
    diagonalise ``A`` but uses its normal-plus-low-rank form.

    Examples
    --------
    >>> v = legs_eigvec(3, 2)
    >>> from refimpl.ssm import legs
    >>> A = legs(3)[0]
    >>> np.allclose(-A @ v, 2 * v)
    True
    >>> legs_eigvec(3, 2, return_s=True)[1]
    array([ 0.  , -0.25,  1.  ])
    """
    N = check_int(N, "N", min_value=1)
    lam = check_int(lam, "lam", min_value=1, max_value=N)
    check_choice(method, "method", ("recursion", "closed_form"))
    return_s = check_bool(return_s, "return_s")
    check_size(N, "N")
    S = np.zeros(N)
    if method == "recursion":
        S[N - 1] = 1.0
        for n in range(N - 1, 0, -1):
            S[n - 1] = (lam - n - 1.0) / (lam + n) * S[n]
    else:
        fact = [1]
        for i in range(1, N + lam + 1):
            fact.append(fact[-1] * i)
        for n in range(max(lam - 1, 0), N):
            val = Fraction(fact[N - lam] * fact[n + lam], fact[N + lam - 1] * fact[n - lam + 1])
            try:
                S[n] = float(val) * (-1.0 if (N - n - 1) % 2 else 1.0)
            except OverflowError:
                raise ValueError(f"legs_eigvec(method='closed_form'): S_{n} = {float(val.numerator):.3g}/... "
                                 "exceeds the float64 range for this N and lam; use method='recursion' "
                                 "(normalised so that S_(N-1) = 1)") from None
    S += 0.0  # no -0.0 below the first nonzero entry
    nf = np.arange(N, dtype=np.float64)
    v = np.sqrt(2.0 * nf + 1.0) * S / (lam + nf)
    return (v, S) if return_s else v
