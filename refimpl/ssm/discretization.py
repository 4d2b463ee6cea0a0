r"""Discretisation of a continuous-time linear system :math:`x' = Ax + Bu`.

Sources: Su Jianlin, https://kexue.fm/archives/10137 (Euler, backward Euler,
bilinear, exact ZOH); the generalised bilinear transform (GBT) of
Zhang, Liu, Chen, "Generalized bilinear transformation", and of
``scipy.signal.cont2discrete``.
"""
from __future__ import annotations

import numpy as np

from .._validation import as_array, check_choice, check_real
from . import reference

__all__ = ["DISCRETIZATIONS", "discretize"]

#: Accepted ``method`` names of :func:`discretize`.
DISCRETIZATIONS = ("forward_euler", "backward_euler", "bilinear", "zoh", "gbt")

_GBT_ALPHA = {"forward_euler": 0.0, "bilinear": 0.5, "backward_euler": 1.0}


def _validate_system(A, B):
    A = as_array(A, "A", ndim=2, allow_complex=True)
    if A.shape[0] != A.shape[1] or A.shape[0] == 0:
        raise ValueError(f"parameter 'A' must be a non-empty square matrix, got shape {A.shape}")
    B = as_array(B, "B", allow_complex=True)
    if B.ndim not in (1, 2) or B.shape[0] != A.shape[0]:
        raise ValueError(f"parameter 'B' must have shape ({A.shape[0]},) or ({A.shape[0]}, m) to match A, "
                         f"got {B.shape}")
    return A, B


def discretize(A, B, dt, method, *, alpha=None):
    r"""Discretise :math:`x'=Ax+Bu` with step ``dt`` for piecewise-constant input.

    Returns :math:`(\bar A, \bar B)` with :math:`x_{k+1} = \bar A x_k + \bar B u_k`:

    ======================  ==============================================  =====================================
    method                  :math:`\bar A`                                  :math:`\bar B`
    ======================  ==============================================  =====================================
    ``"forward_euler"``     :math:`I+\Delta A`                              :math:`\Delta B`
    ``"backward_euler"``    :math:`(I-\Delta A)^{-1}`                       :math:`(I-\Delta A)^{-1}\Delta B`
    ``"bilinear"``          :math:`(I-\tfrac\Delta2A)^{-1}(I+\tfrac\Delta2A)`  :math:`(I-\tfrac\Delta2A)^{-1}\Delta B`
    ``"gbt"``               :math:`(I-\alpha\Delta A)^{-1}(I+(1-\alpha)\Delta A)`  :math:`(I-\alpha\Delta A)^{-1}\Delta B`
    ``"zoh"``               :math:`e^{\Delta A}`                            :math:`\int_0^\Delta e^{sA}ds\,B = A^{-1}(e^{\Delta A}-I)B`
    ======================  ==============================================  =====================================

    Parameters
    ----------
    A : array_like, shape (N, N)
        Real or complex state matrix.
    B : array_like, shape (N,) or (N, m)
        Input matrix.
    dt : float
        Step size :math:`\Delta > 0`.
    method : {"forward_euler", "backward_euler", "bilinear", "zoh", "gbt"}
    alpha : float in [0, 1], only with ``method="gbt"``
        scipy's convention: 0 is forward Euler, 1/2 bilinear, 1 backward
        Euler. Note that Su's "generalised" scheme in 10137 weights
        :math:`x(t)` by :math:`\alpha`, i.e. the opposite: Su's
        :math:`\alpha` equals ``1 - alpha`` here.

    Returns
    -------
    Ab : ndarray, shape (N, N)
    Bb : ndarray, same shape as ``B``

    Notes
    -----
    Definition: :func:`refimpl.ssm.reference.discretize` (this function
    validates and calls it). Accuracy: the rational methods use one LU solve (``numpy.linalg.solve``,
    never an explicit inverse), backward-stable with error about
    :math:`\kappa(I-\alpha\Delta A)\,\varepsilon`. ``"zoh"`` takes the
    exponential of the augmented matrix :math:`\begin{psmallmatrix}A&B\\0&0\end{psmallmatrix}\Delta`
    (``scipy.linalg.expm``, Padé with scaling and squaring, relative error
    near :math:`10^{-15}` for moderate :math:`\|\Delta A\|`), so singular
    ``A`` is allowed. All methods agree with ``scipy.signal.cont2discrete``
    (methods ``euler``, ``backward_diff``, ``bilinear``, ``gbt``, ``zoh``) to
    round-off (tested). Orders against the exact ZOH: Euler :math:`O(\Delta)`,
    bilinear :math:`O(\Delta^2)` per unit time.

    Raises
    ------
    ValueError
        Non-square or empty ``A``, ``B`` of the wrong length, ``dt <= 0`` or
        non-finite, NaN/Inf entries, an unknown ``method``, ``alpha`` missing
        or outside [0, 1] for ``"gbt"``, or ``alpha`` given for another method.

    References
    ----------
    .. [1] Su Jianlin, "重温SSM（二）：HiPPO的一些遗留问题", https://kexue.fm/archives/10137
    .. [2] G. Zhang, T. Chen, X. Chen, "Performance recovery in digital implementation of
           analogue systems", SIAM J. Control Optim. 45(6), 2007 (the GBT);
           ``scipy.signal.cont2discrete``, https://docs.scipy.org/doc/scipy/reference/generated/scipy.signal.cont2discrete.html

    Examples
    --------
    >>> import numpy as np
    >>> Ab, Bb = discretize([[-1.0]], [1.0], 0.1, "bilinear")
    >>> round(float(Ab[0, 0]), 12), round(float(Bb[0]), 12)  # (1 - 0.05)/(1 + 0.05), 0.1/(1 + 0.05)
    (0.904761904762, 0.095238095238)
    """
    A, B = _validate_system(A, B)
    dt = check_real(dt, "dt", low=0.0, low_open=True)
    check_choice(method, "method", DISCRETIZATIONS)
    if method == "gbt":
        if alpha is None:
            raise ValueError("parameter 'alpha' is required for method='gbt' (a float in [0, 1])")
        alpha = check_real(alpha, "alpha", low=0.0, high=1.0)
    elif alpha is not None:
        raise ValueError(f"parameter 'alpha' is only used by method='gbt'; got alpha={alpha!r} with method={method!r}")
    else:
        alpha = _GBT_ALPHA.get(method)
    with np.errstate(over="ignore", invalid="ignore"):
        Ab, Bb = reference.discretize(A, B, dt, method, alpha)
    if not (np.all(np.isfinite(Ab)) and np.all(np.isfinite(Bb))):
        raise ValueError(f"discretize({method!r}) overflows float64 for these finite inputs (dt A or dt B "
                         "beyond the float64 range, or exp(dt A) too large)")
    return Ab, Bb
