r"""The matrix sign :math:`\operatorname{msign}(M) = U_{[:, :r]} V_{[:, :r]}^\top`, three ways.

Su Jianlin, https://kexue.fm/archives/10592 and https://kexue.fm/archives/10922.
"""
from __future__ import annotations

import numpy as np

from .._validation import as_array, check_choice, check_real
from .newton_schulz import newton_schulz
from .reference import msign_svd

__all__ = ["MSIGN_METHODS", "msign"]

#: ``method`` values of :func:`msign`.
MSIGN_METHODS = ("svd", "polar", "newton_schulz")

_NS_PARAMS = ("coefficients", "steps", "eps", "normalization", "transpose_tall", "dtype", "eps_mode", "prescale",
              "backend")
_PARAMS = {"svd": ("rtol",), "polar": (), "newton_schulz": _NS_PARAMS}
_EPS = np.finfo(np.float64).eps


def _polar_newton_square(R):
    """Unitary polar factor of nonsingular square matrices by the scaled Newton iteration."""
    X = R.copy()
    n = X.shape[-1]
    for _ in range(100):
        Xi = np.linalg.inv(X)
        # Frobenius-norm scaling (Higham, "Functions of Matrices", 2008, sec. 8.6)
        zeta = np.sqrt(np.linalg.norm(Xi, axis=(-2, -1)) / np.linalg.norm(X, axis=(-2, -1)))[..., None, None]
        Xn = 0.5 * (zeta * X + np.swapaxes(Xi, -1, -2) / zeta)
        delta = np.linalg.norm(Xn - X, axis=(-2, -1))
        X = Xn
        if np.all(delta <= 10 * n * _EPS):
            break
    # one unscaled step polishes the last rounding of the converged iterate
    return 0.5 * (X + np.swapaxes(np.linalg.inv(X), -1, -2))


def _msign_polar(M):
    n, m = M.shape[-2:]
    wide = n < m
    X = np.swapaxes(M, -1, -2) if wide else M  # tall or square from here on
    if X.shape[-2] > X.shape[-1]:
        Q, R = np.linalg.qr(X)  # M = Q R, polar(M) = Q polar(R)
    else:
        Q, R = None, X
    cond = np.linalg.cond(R)
    if not np.all(cond < 1e13):
        raise ValueError("parameter 'M' is (numerically) rank deficient, condition number "
                         f"{float(np.max(cond)):.2e} >= 1e13: its polar factor is not unique; use method='svd', "
                         "which returns U_r V_r^T")
    P = _polar_newton_square(R)
    if Q is not None:
        P = Q @ P
    return np.swapaxes(P, -1, -2) if wide else P


def msign(M, method="svd", **params):
    r"""Matrix sign: every non-zero singular value of ``M`` set to 1.

    .. math::

        \operatorname{msign}(M) = U_{[:,:r]}V_{[:,:r]}^\top = (MM^\top)^{-1/2}M = M(M^\top M)^{-1/2},

    with :math:`M = U\Sigma V^\top` and :math:`r = \operatorname{rank} M`
    (pseudo-inverse powers when singular) [1]_. For full-rank square ``M`` it is
    the orthogonal polar factor and the nearest orthogonal matrix in the
    Frobenius norm; for a column vector it is :math:`m/\|m\|_2`; for a
    diagonal matrix, the elementwise sign. Not the "matrix sign function" of
    Higham (that one is defined by eigenvalues), except for symmetric ``M``.

    Parameters
    ----------
    M : array_like, shape (..., n, m)
        Real, finite, at least 2-D; batched over leading axes; tall or wide.
    method : {"svd", "polar", "newton_schulz"}
        ``"svd"`` (the definition, :func:`refimpl.muon.reference.msign_svd`):
        :math:`U_r V_r^\top` from ``numpy.linalg.svd``; the rank
        counts singular values above ``rtol * sigma_max`` (parameter ``rtol``,
        default ``max(n, m) * eps``, as ``numpy.linalg.matrix_rank``).
        ``"polar"``: a second route without SVD: QR reduction to a square
        factor, then the scaled Newton iteration
        :math:`X \leftarrow (\zeta X + \zeta^{-1}X^{-\top})/2`; needs full rank.
        ``"newton_schulz"``: :func:`refimpl.muon.newton_schulz` with ``params``
        (an approximation: read its accuracy note).
    **params
        ``rtol`` for ``"svd"``; the keyword arguments of
        :func:`~refimpl.muon.newton_schulz` for ``"newton_schulz"``.

    Returns
    -------
    ndarray, shape (..., n, m)
        float64 (float32 for ``newton_schulz`` in float32/bfloat16).

    Raises
    ------
    ValueError
        ``M`` 1-D, empty or with NaN/Inf; unknown ``method``; a parameter the
        method does not take; ``method="polar"`` on a rank-deficient ``M``.

    Notes
    -----
    Accuracy: ``"svd"`` and ``"polar"`` agree with ``scipy.linalg.polar`` to
    about :math:`\kappa(M)\cdot 10^{-15}` (tested to 1e-11 for condition numbers up
    to 1e3, and ``"svd"`` vs ``"polar"`` to 1e-9 up to 1e5). The SVD route is
    scale invariant for any :math:`c > 0` (tested down to c = 2**-1000).

    References
    ----------
    .. [1] Su Jianlin, https://kexue.fm/archives/10592, https://kexue.fm/archives/10922

    Examples
    --------
    >>> msign([[3.0, 0.0], [0.0, -2.0]])         # diagonal: elementwise sign
    array([[ 1.,  0.],
           [ 0., -1.]])
    >>> msign([[3.0], [4.0]])                     # a column: l2 normalisation
    array([[0.6],
           [0.8]])
    >>> msign([[1.0, 1.0], [1.0, 1.0]])           # rank 1: u v^T with u = v = (1, 1)/sqrt(2)
    array([[0.5, 0.5],
           [0.5, 0.5]])
    """
    M = as_array(M, "M", min_ndim=2)
    if M.shape[-1] == 0 or M.shape[-2] == 0:
        raise ValueError(f"parameter 'M' must have non-empty matrices, got shape {M.shape}")
    check_choice(method, "method", MSIGN_METHODS)
    for key in params:
        if key not in _PARAMS[method]:
            accepted = ", ".join(_PARAMS[method]) or "none"
            raise ValueError(f"parameter '{key}' is not accepted by method '{method}'; accepted: {accepted}")
    if method == "svd":
        rtol = params.get("rtol")
        if rtol is not None:
            rtol = check_real(rtol, "rtol", low=0.0, high=1.0)
        return msign_svd(M, rtol)
    if method == "polar":
        return _msign_polar(M)
    return newton_schulz(M, **params)
