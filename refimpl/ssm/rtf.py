r"""The rational transfer function (RTF) view of a linear SSM.

Source: Su Jianlin, "重温SSM（四）：有理生成函数的新视角",
https://kexue.fm/archives/10180; Parnichkun et al., "State-Free Inference of
State-Space Models: The Transfer Function Approach" (RTF),
https://arxiv.org/abs/2405.06147.

The truncated generating function of the kernel is a rational function,

.. math::

    \mathcal G_L(z) = \tilde C^\top(I - z\bar A)^{-1}\bar B
    = \frac{b_1 + b_2z + \dots + b_dz^{d-1}}{1 + a_1z + \dots + a_dz^d},

with :math:`1 + a_1z + \dots + a_dz^d = \det(I - z\bar A)` and
:math:`z\,b(z) = \det(I - z\bar A + z\bar B\tilde C^\top) - \det(I - z\bar A)`
(by :math:`\det(I+UV)=\det(I+VU)`; ``derivations/rtf.py``).
"""
from __future__ import annotations

import numpy as np

from .._validation import as_array, check_int, check_size
from .s4 import _length, _system, c_from_ctilde, ctilde_from_c

__all__ = ["rtf_from_ssm", "rtf_kernel", "companion", "rtf_to_ssm"]


def _coeffs(a, name):
    return as_array(a, name, ndim=1, allow_complex=True, min_size=1)


def rtf_from_ssm(Ab, Bb, C, *, L=None):
    r"""Coefficients ``(a, b)`` of the rational generating function of :math:`(\bar A,\bar B,C)`.

    :math:`a` are the coefficients of :math:`\det(\lambda I - \bar A) =
    \lambda^d + a_1\lambda^{d-1} + \dots + a_d`, i.e.
    :math:`a(z) = 1 + a_1z + \dots + a_dz^d = \det(I - z\bar A)`; :math:`b`
    those of :math:`b(z) = a(z)\,C^\top(I-z\bar A)^{-1}\bar B` (degree d-1).
    Both polynomials are evaluated at :math:`n \ge d+1` roots of unity (LU
    determinant and solve, backward stable) and interpolated by an inverse
    FFT, which is exact for polynomials of degree < n. This avoids both
    ``numpy.poly`` of computed eigenvalues (inaccurate for the non-normal
    HiPPO matrices) and the subtraction of two characteristic polynomials
    in Su's determinant formula.

    Parameters
    ----------
    Ab : array_like, shape (d, d)
    Bb, C : array_like, shape (d,)
        ``C`` is the vector in the numerator. For the length-L kernel of the
        system with output vector C pass ``L``: then :math:`\tilde C =
        (I-\bar A^L)^\top C` is used (:func:`refimpl.ssm.ctilde_from_c`), and
        ``rtf_kernel(a, b, L)`` reproduces ``kernel(Ab, Bb, C, L)``.
        Without ``L``, ``C`` is taken as the trained :math:`\tilde C` itself.
    L : int, optional

    Returns
    -------
    a : ndarray, shape (d,)
        Denominator :math:`(a_1..a_d)`; real for real ``Ab``.
    b : ndarray, shape (d,)
        Numerator :math:`(b_1..b_d)`, lowest degree first.

    Raises
    ------
    ValueError
        Bad shapes, an eigenvalue of ``Ab`` on the unit circle at one of the
        evaluation nodes (:math:`I-\omega\bar A` singular), or a result
        beyond the float64 range.

    Notes
    -----
    Accuracy: the coefficients carry an absolute error of about
    :math:`\varepsilon\max_{|z|=1}|a(z)|` (resp. :math:`|b(z)|`); the RTF
    kernel then has relative error about that times
    :math:`\max_l|1/a(\omega_l)|`, the coefficient representation's
    condition number on the unit circle, which grows with d and with
    clustering of the eigenvalues near the unit circle. Tested: ``1e-10``
    relative to the naive kernel for LegS S4 systems up to the sizes listed
    in ``docs/ssm.md``.

    Examples
    --------
    >>> a, b = rtf_from_ssm([[0.5]], [1.0], [2.0])   # 2 / (1 - 0.5 z)
    >>> a, b
    (array([-0.5]), array([2.]))
    """
    Ab, Bb, C = _system(Ab, Bb, C)
    d = Ab.shape[0]
    if L is not None:
        L = _length(L)
        C = ctilde_from_c(Ab, C, L)
    real = not (np.iscomplexobj(Ab) or np.iscomplexobj(Bb) or np.iscomplexobj(C))
    n = 1 << int(np.ceil(np.log2(d + 1)))          # nodes; both polynomials have degree < n
    om = np.exp(-2j * np.pi * np.arange(n) / n)
    M = np.eye(d)[None, :, :] - om[:, None, None] * Ab[None, :, :]      # I - omega Ab, (n, d, d)
    with np.errstate(over="ignore", invalid="ignore"):
        det = np.linalg.det(M)                                          # a(omega), by LU
    if not np.all(np.isfinite(det)):
        raise ValueError("rtf_from_ssm: det(I - omega Ab) overflows float64 for these finite inputs "
                         "(entries of Ab too large)")
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            G = np.linalg.solve(M, np.broadcast_to(Bb.astype(np.complex128), (n, d))[..., None])[..., 0] @ C
    except np.linalg.LinAlgError:
        raise ValueError(f"parameter 'Ab': I - omega Ab is singular at one of the {n} roots of unity omega where "
                         "rtf_from_ssm evaluates the transfer function (Ab has an eigenvalue 1/omega on the unit "
                         "circle; the system is not stable)") from None
    a_full = np.fft.ifft(det)                                           # coefficients of a(z), degree d
    b_full = np.fft.ifft(det * G)                                       # coefficients of b(z), degree d-1
    a = a_full[1:d + 1] / a_full[0]
    b = b_full[:d] / a_full[0]
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("rtf_from_ssm: the coefficients overflow float64 for these finite inputs "
                         "(Bb, C or the resolvent beyond the float64 range)")
    if real:
        a, b = a.real, b.real
    if not np.iscomplexobj(Ab) and np.iscomplexobj(a):
        a = a.real  # the characteristic polynomial of a real matrix is real
    return a, b


def _check_rtf(a, b, L):
    """Validate the RTF coefficients ``a``, ``b`` (same length d) and a kernel length ``L > d``."""
    a = _coeffs(a, "a")
    b = _coeffs(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"parameter 'b' must have the shape of 'a' {a.shape}, got {b.shape}")
    d = a.shape[0]
    L = check_int(L, "L", min_value=1)
    check_size(L, "L", itemsize=32)  # the padded transforms
    if L <= d:
        raise ValueError(f"parameter 'L' must be > d = {d} (len(a)), got {L}")
    return a, b, L


def rtf_kernel(a, b, L):
    r"""Length-L kernel of the rational transfer function: :math:`K = \mathrm{IDFT}_L\big(\mathrm{DFT}_L(b)/\mathrm{DFT}_L(1,a)\big)`.

    Both coefficient vectors are zero-padded to length L; cost
    :math:`O(L\log L)`, independent of the state size d beyond d < L
    (https://kexue.fm/archives/10180).

    Parameters
    ----------
    a : array_like, shape (d,)
        Denominator coefficients :math:`(a_1..a_d)`.
    b : array_like, shape (d,)
        Numerator coefficients :math:`(b_1..b_d)`.
    L : int
        Kernel length, ``L > d``.

    Returns
    -------
    ndarray, shape (L,)
        float64 for real ``a``, ``b``; else complex128.

    Raises
    ------
    ValueError
        ``a`` and ``b`` of different lengths, ``L <= d`` (the padded
        denominator would wrap around), or a denominator that vanishes at an
        L-th root of unity (a pole on the unit circle).

    Notes
    -----
    Accuracy: two FFTs and a division; relative error about
    :math:`\varepsilon\log L\cdot\kappa`, with the representation's
    condition number :math:`\kappa = (1+\sum|a_i|)/\min_l|a(\omega_l)|`.
    For RTF's own regime (:math:`\sum|a_i|<1`, so :math:`|a(\omega)|\ge 1-\sum|a_i|`)
    this is small; for S4 systems with eigenvalues clustered at 1 (small
    dt, large d) :math:`\kappa` reaches :math:`1/\varepsilon` and the
    coefficient form cannot represent the kernel in float64 (see
    ``docs/ssm.md``).

    Examples
    --------
    >>> rtf_kernel([-0.5], [1.875], 4)    # b = C-tilde = (1 - 0.5^4) C with C = 2: K_j = 2 (0.5)^j
    array([2.  , 1.  , 0.5 , 0.25])
    """
    a, b, L = _check_rtf(a, b, L)
    d = a.shape[0]
    den = np.concatenate([[1.0], a])
    real = not (np.iscomplexobj(a) or np.iscomplexobj(b))
    if real:
        Fd = np.fft.rfft(den, n=L)
        Fb = np.fft.rfft(b, n=L)
    else:
        Fd = np.fft.fft(den, n=L)
        Fb = np.fft.fft(b, n=L)
    if not np.all(np.abs(Fd) > 0.0):
        raise ValueError("parameter 'a': the denominator vanishes at an L-th root of unity (pole on the unit circle)")
    with np.errstate(over="ignore", invalid="ignore"):
        G = Fb / Fd
        K = np.fft.irfft(G, n=L) if real else np.fft.ifft(G)
    if not (np.all(np.isfinite(Fd)) and np.all(np.isfinite(K))):
        raise ValueError("rtf_kernel overflows float64 for these finite inputs (a, b or b(w)/a(w) beyond "
                         "the float64 range)")
    return K


def companion(a):
    r"""Companion matrix of :math:`\lambda^d + a_1\lambda^{d-1} + \dots + a_d`, in Su's (flipped) form.

    First row :math:`(-a_1, \dots, -a_d)`, ones on the sub-diagonal, so
    :math:`\det(\lambda I - \bar A) = \lambda^d + a_1\lambda^{d-1} + \dots + a_d`
    and the step :math:`x_{k} = \bar Ax_{k-1} + e_1u_k` is
    :math:`(u_k - \langle a, x_{k-1}\rangle, x_{k-1,0}, \dots, x_{k-1,d-2})`, O(d)
    (https://kexue.fm/archives/10180; Wikipedia puts the coefficients in the
    last column instead).

    Parameters
    ----------
    a : array_like, shape (d,)

    Returns
    -------
    ndarray, shape (d, d)

    Notes
    -----
    Exact (entries are copies of :math:`-a` and ones). Lemma (tested): if
    :math:`\sum|a_i| < 1` every eigenvalue has modulus below 1.

    Examples
    --------
    >>> companion([0.5, -0.25])
    array([[-0.5 ,  0.25],
           [ 1.  ,  0.  ]])
    """
    a = _coeffs(a, "a")
    d = a.shape[0]
    M = np.zeros((d, d), dtype=a.dtype)
    M[0, :] = -a
    if d > 1:
        M[np.arange(1, d), np.arange(d - 1)] = 1.0
    return M


def rtf_to_ssm(a, b, L):
    r"""Back to a recurrence: ``(Ab, Bb, C)`` whose length-L kernel is ``rtf_kernel(a, b, L)``.

    :math:`\bar A` = :func:`companion` (a), :math:`\bar B = e_1`,
    :math:`\tilde C = b`, and :math:`C = (I-\bar A^L)^{-\top}\tilde C`
    (:func:`refimpl.ssm.c_from_ctilde`). With ``a = 0`` this is a shift
    register of the last d inputs (RTF's initialisation).

    Parameters
    ----------
    a, b : array_like, shape (d,)
    L : int, > d

    Returns
    -------
    Ab : ndarray, shape (d, d)
    Bb : ndarray, shape (d,)
    C : ndarray, shape (d,)

    Raises
    ------
    ValueError
        As :func:`rtf_kernel`, :math:`I-\bar A^L` singular, or a result
        beyond the float64 range.

    Notes
    -----
    Accuracy: one solve with :math:`I-\bar A^L`; the recurrence then matches
    ``rtf_kernel`` to ``1e-10`` relative for the stable systems tested.

    Examples
    --------
    >>> Ab, Bb, C = rtf_to_ssm([0.0, 0.0], [1.0, 2.0], 4)   # shift register: K = (1, 2, 0, 0)
    >>> from refimpl.ssm import kernel
    >>> kernel(Ab, Bb, C, 4)
    array([1., 2., 0., 0.])
    """
    a, b, L = _check_rtf(a, b, L)
    d = a.shape[0]
    Ab = companion(a)
    Bb = np.zeros(d, dtype=Ab.dtype)
    Bb[0] = 1.0
    C = c_from_ctilde(Ab, b, L)
    return Ab, Bb, C
