r"""Diagonal state space initialisations and kernels of state-spaces/s4: S4D, DSS.

What the reference code https://github.com/state-spaces/s4 offers beyond
the articles (https://kexue.fm/archives/10162 ends with "from DSS onward,
including Mamba, A is simply taken diagonal"):

- :func:`s4_nplr`: s4's ``nplr`` (``src/models/hippo/hippo.py``): the
  conjugate half of the NPLR form by ``eigh``, with its ``B_clip``;
- :func:`s4d_init`: the diagonal initialisations of s4's ``dplr``
  (``src/models/sequence/kernels/dplr.py``): S4D-LegS, -Inv, -Lin, -Real, ...
  (Gu, Gupta, Goel, Ré, "On the Parameterization and Initialization of
  Diagonal State Space Models", https://arxiv.org/abs/2206.11893);
- :func:`kernel_dss`: the ``disc='dss'`` kernel of s4's ``SSMKernelDiag``
  (Gupta, Gu, Berant, "Diagonal State Spaces are as Effective as Structured
  State Spaces", https://arxiv.org/abs/2203.14343, DSS-softmax).

Each is short and is its own definition. Conventions are s4's: complex
diagonals list one member of each conjugate pair, with negative imaginary
part, and the real system is the sum over both members.
"""
from __future__ import annotations

import numpy as np

from .._validation import as_array, check_bool, check_choice, check_int, check_real, check_size
from .hippo import RANK_CORRECTION_MEASURES, rank_correction, transition

__all__ = ["S4D_INITS", "S4D_B_INITS", "s4_nplr", "s4d_init", "kernel_dss"]

#: ``init`` values of :func:`s4d_init` (s4's names; "hippo" is s4's alias of "legs").
S4D_INITS = ("legs", "hippo", "lin", "linear", "inv", "inverse", "inv2", "inverse2", "quad", "quadratic", "real")
#: ``B_init`` values of :func:`s4d_init` (the deterministic ones of s4's ``dplr``).
S4D_B_INITS = ("constant", "alternating", "unit-cw", "unit-ccw", "legs", "hippo")


def _even_state(N):
    N = check_int(N, "N", min_value=2)
    if N % 2:
        raise ValueError(f"parameter 'N' must be even (one member of each conjugate pair is kept, N/2 of them), "
                         f"got {N}")
    return N


def _b_clip(B_clip):
    if B_clip is None:
        return None
    return check_real(B_clip, "B_clip", low=0.0)


def _fix_signs(V):
    """Sign per column of V: its first entry z with |z| >= max/2 gets Re z > 0 (Im z > 0 if |Re z| < |z|/10)."""
    mag = np.abs(V)
    j = np.argmax(mag >= 0.5 * mag.max(axis=0, keepdims=True), axis=0)   # first entry of at least half the largest
    z = V[j, np.arange(V.shape[1])]
    s = np.where(np.abs(z.real) >= 0.1 * np.abs(z), np.sign(z.real), np.sign(z.imag))
    return np.where(s == 0, 1.0, s)


def s4_nplr(measure, N, rank=1, *, B_clip=2.0):
    r"""The NPLR form of a HiPPO pair as state-spaces/s4 ``nplr`` builds it (conjugate half).

    With ``A, B = transition(measure, N)`` and
    ``P = rank_correction(measure, N, rank)`` (s4's names), s4 computes

    .. math::

        A_P = A + P^\top P,\quad
        \Lambda = \mathrm{mean}(\mathrm{diag}\,A_P) + i\omega,\quad
        (\omega, V) = \mathrm{eigh}(-iA_P),

    sorts by :math:`\omega`, keeps the N/2 eigenpairs with negative
    imaginary part, and returns :math:`B \leftarrow V^*B`,
    :math:`P \leftarrow V^*P` with the imaginary part of B clipped to
    :math:`[-B_{\rm clip}, B_{\rm clip}]`. Then
    :math:`A = 2\,\mathrm{Re}\,V(\mathrm{diag}\Lambda - P^\top\bar P)V^*`
    (s4: "A = V[w - p q^*]V^*") up to the clipping of B.

    Parameters
    ----------
    measure : str
        One of :data:`refimpl.ssm.hippo.RANK_CORRECTION_MEASURES`.
    N : int
        Even state size :math:`N\ge2`.
    rank : int, optional
        Rows of P (2 for ``legt``).
    B_clip : float or None, optional
        Clip :math:`\mathrm{Im}\,B` to :math:`[-B_{\rm clip}, B_{\rm clip}]`
        (s4's default 2.0, "can help with stability"); ``None``: no clipping.

    Returns
    -------
    Lambda : ndarray, complex128, shape (N/2,)
        Increasing imaginary part (all :math:`\le 0`).
    P : ndarray, complex128, shape (rank, N/2)
    B : ndarray, complex128, shape (N/2,)
    V : ndarray, complex128, shape (N, N/2)

    Raises
    ------
    ValueError
        Unknown ``measure``; odd or too small ``N``; ``rank`` below the
        measure's; ``B_clip`` negative or not finite; more than one
        eigenvalue pair with zero imaginary part.

    Notes
    -----
    Eigenvector signs: ``eigh`` fixes each eigenvector only up to a factor
    :math:`\pm1` here (the matrix is :math:`-i` times a real one), and
    LAPACK builds differ (NumPy's and PyTorch's returned opposite signs for
    some columns at N < 64 in our tests). s4's B and P inherit that sign. refimpl multiplies
    each column of V, and the matching entries of B and P, by the sign that
    makes the column's first entry :math:`z` with :math:`|z|` at least half
    the column's largest have :math:`\mathrm{Re}\,z > 0` (or
    :math:`\mathrm{Im}\,z > 0` when :math:`|\mathrm{Re}\,z| < |z|/10`).
    Clipping commutes with the sign, so s4's output equals this one after
    the same sign fix (tested against a transcription of s4's code).
    Fourier's zero eigenvalue pair gets s4's vector
    :math:`(e_0 + ie_1)/\sqrt2`. So does the double eigenvalue
    :math:`-\tfrac12` of ``fourier_diag``/``foud`` (states 0 and 1, frequency
    0), where s4 applies no fix and keeps whatever vector of the
    two-dimensional eigenspace LAPACK returns (a real one, e.g. :math:`e_0`,
    makes :math:`v` and :math:`\bar v` equal, and the conjugate pair no
    longer spans the two states).
    s4 builds the Fourier rank corrections in float32 whatever ``dtype``
    asks for, so its Fourier P, B are off by about :math:`10^{-8}`.
    Eigenvector phases beyond the sign: at the degenerate Fourier zero pair
    s4's other columns have been seen to differ from NumPy's by a factor
    :math:`i` (LAPACK builds again); :math:`\Lambda`,
    :math:`V\mathrm{diag}(\Lambda)V^*`, :math:`|B|` and
    :math:`B\bar P` do not depend on the phase.

    Accuracy: :math:`\Lambda` to :math:`10^{-13}\max|\Lambda|`; B and P
    to about :math:`N\varepsilon` relative to their largest entry
    (eigenvectors of close eigenvalues).

    Examples
    --------
    >>> Lam, P, B, V = s4_nplr("legs", 4)
    >>> Lam.real
    array([-0.5, -0.5])
    >>> bool(np.all(np.abs(B.imag) <= 2.0))
    True
    """
    check_choice(measure, "measure", RANK_CORRECTION_MEASURES)
    N = _even_state(N)
    check_size((N, N), "N", itemsize=16)
    P0 = rank_correction(measure, N, rank)
    B_clip = _b_clip(B_clip)
    A, B0 = transition(measure, N)
    AP = A + P0.T @ P0
    w_re = np.mean(np.diagonal(AP))
    w_im, V = np.linalg.eigh(AP * -1j)
    order = np.argsort(w_im, kind="stable")
    w_im, V = w_im[order][:N // 2], V[:, order][:, :N // 2]
    Lam = w_re + 1j * w_im
    if N >= 4 and abs(w_im[-2]) <= 1e-4:
        raise ValueError(f"measure {measure!r}: more than one real eigenvalue pair; the conjugate half is not "
                         f"defined (s4 asserts the same for zero eigenvalues)")
    if abs(w_im[-1]) < 1e-4:  # a real pair on states 0 and 1 (Fourier measures): s4's vector for it
        V[:, -1] = 0.0
        V[0, -1] = np.sqrt(0.5)
        V[1, -1] = 1j * np.sqrt(0.5)
    V = V * _fix_signs(V)[None, :]
    Vh = V.conj().T
    B = Vh @ B0
    P = P0 @ Vh.T
    if B_clip is not None:
        B = B.real + 1j * np.clip(B.imag, -B_clip, B_clip)
    return Lam, P, B, V


def s4d_init(init="legs", N=64, *, real_scale=1.0, imag_scale=1.0, B_init="constant", B_scale=1.0, B_clip=2.0,
             normalize=False):
    r"""Diagonal :math:`(\Lambda, B)` of an S4D initialisation, as state-spaces/s4 ``dplr`` builds them.

    :math:`\Lambda_n = -a_n - i\,b_n`, :math:`n = 0..N/2-1` (one member of
    each conjugate pair, negative imaginary part, as s4 keeps):

    =====================  ==============================================  ====================
    ``init``               :math:`b_n` (times ``imag_scale``)              :math:`a_n`
    =====================  ==============================================  ====================
    ``legs`` (``hippo``)   :math:`-\mathrm{Im}\,\Lambda_n` of S4-LegS:     ``real_scale``/2
                           the eigenvalues of :func:`legsd` (S4D-LegS)
    ``lin``                :math:`\pi n` (S4D-Lin)                          ``real_scale``/2
    ``inv``                :math:`\frac N\pi\left(\frac{N}{2n+1}-1\right)` (S4D-Inv)  ``real_scale``/2
    ``inv2``               :math:`\frac N\pi\left(\frac{N}{n+1}-1\right)`   ``real_scale``/2
    ``quad``               :math:`(2n+1)^2/\pi`                             ``real_scale``/2
    ``real``               0 (S4D-Real: the LegS eigenvalues)              :math:`n+1`
    =====================  ==============================================  ====================

    B is ``B_scale`` times: for ``legs``/``hippo`` (whatever ``B_init``
    says, as in s4) the B of :func:`s4_nplr` ``("legs", N, B_clip=B_clip)``,
    not halved ("theory says B should be halved ... we drop this 0.5");
    otherwise by ``B_init``: ``constant`` ones; ``alternating``
    :math:`(1,-1,1,-1,\dots)`; ``unit-cw`` :math:`e^{-2\pi i n/N}`;
    ``unit-ccw`` :math:`e^{2\pi i n/N}`; ``legs`` the S4D-LegS B.
    ``normalize=True`` divides B by
    :math:`\sqrt{2\sum_n|B_n/\Lambda_n|^2}` (s4's experimental HTTYH
    normalisation).

    The S4D kernel of :math:`(\Lambda, B, C)` is
    :func:`refimpl.ssm.kernel_diag` with ``half=True`` (``zoh``,
    ``bilinear``) or :func:`kernel_dss`.

    Parameters
    ----------
    init : str, optional
        One of :data:`S4D_INITS` (s4's names and aliases; default ``"legs"``,
        s4's ``SSMKernel`` default).
    N : int, optional
        Even state size (default 64, s4's ``d_state``); N/2 values are returned.
    real_scale, imag_scale : float, optional
        Scales of the real and imaginary parts (finite, >= 0). s4 ignores
        ``real_scale`` for ``init="real"``; refimpl raises instead.
    B_init : str, optional
        One of :data:`S4D_B_INITS` (default ``"constant"``);
        ``"alternating"`` needs N divisible by 4.
    B_scale : float, optional
        Finite factor on B.
    B_clip : float or None, optional
        Clip of :math:`\mathrm{Im}\,B` for the LegS B (s4: 2.0); ``None``
        keeps it unclipped.
    normalize : bool, optional

    Returns
    -------
    Lambda : ndarray, complex128, shape (N/2,)
    B : ndarray, complex128, shape (N/2,)

    Raises
    ------
    ValueError
        Unknown ``init``/``B_init``; odd N; negative or non-finite scales,
        or scales so large that Lambda or B overflow;
        ``real_scale != 1`` with ``init="real"``; ``alternating`` with N not
        divisible by 4.
    TypeError
        ``normalize`` not a bool.

    Notes
    -----
    s4's random options (``init="rand"``, ``real_random``, ``imag_random``,
    ``B_init="random"``) draw from torch's generator and are not offered.
    s4 computes in float32 by default; these are the float64 values.
    Accuracy: closed forms to a few ulps; ``legs`` as :func:`s4_nplr`.

    Examples
    --------
    >>> Lam, B = s4d_init("lin", 6)
    >>> Lam
    array([-0.5+0.j        , -0.5-3.14159265j, -0.5-6.28318531j])
    >>> s4d_init("real", 4)[0]
    array([-1.+0.j, -2.+0.j])
    """
    check_choice(init, "init", S4D_INITS)
    check_choice(B_init, "B_init", S4D_B_INITS)
    N = _even_state(N)
    real_scale = check_real(real_scale, "real_scale", low=0.0)
    imag_scale = check_real(imag_scale, "imag_scale", low=0.0)
    B_scale = check_real(B_scale, "B_scale")
    B_clip = _b_clip(B_clip)
    normalize = check_bool(normalize, "normalize")
    legs_init = init in ("legs", "hippo")
    check_size((N, N) if (legs_init or B_init in ("legs", "hippo")) else N // 2, "N", itemsize=16)
    n = np.arange(N // 2, dtype=np.float64)
    real = np.full(N // 2, 0.5 * real_scale)
    if init == "real":
        if real_scale != 1.0:
            raise ValueError("parameter 'real_scale' is not used by init='real' (S4D-Real sets the real parts to "
                             "1, 2, ..., N/2; s4 ignores the scale silently)")
        real, imag = n + 1.0, np.zeros(N // 2)
    elif init in ("lin", "linear"):
        imag = np.pi * n
    elif init in ("inv", "inverse"):
        imag = N / np.pi * (N / (1.0 + 2.0 * n) - 1.0)
    elif init in ("inv2", "inverse2"):
        imag = N / np.pi * (N / (1.0 + n) - 1.0)
    elif init in ("quad", "quadratic"):
        imag = (1.0 + 2.0 * n) ** 2 / np.pi
    else:
        imag = -s4_nplr("legs", N, B_clip=None)[0].imag
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below
        Lam = -real - 1j * (imag_scale * imag)
    if legs_init or B_init in ("legs", "hippo"):
        B = s4_nplr("legs", N, B_clip=B_clip)[2]
    elif B_init == "constant":
        B = np.ones(N // 2, dtype=np.complex128)
    elif B_init == "alternating":
        if N % 4:
            raise ValueError(f"parameter 'N' must be divisible by 4 for B_init='alternating', got {N}")
        B = np.where(np.arange(N // 2) % 2, -1.0, 1.0).astype(np.complex128)
    else:
        sign = -1.0 if B_init == "unit-cw" else 1.0
        B = np.exp(sign * 2j * np.pi * n / N)
    with np.errstate(over="ignore", invalid="ignore"):
        B = B * B_scale
    if not (np.all(np.isfinite(Lam)) and np.all(np.isfinite(B))):
        raise ValueError("parameters 'real_scale', 'imag_scale', 'B_scale': Lambda or B overflows float64")
    if normalize:
        with np.errstate(divide="ignore", invalid="ignore"):
            zeta = 2.0 * np.sum(np.abs(B / Lam) ** 2)
        if not np.isfinite(zeta) or zeta == 0.0:
            raise ValueError("parameter 'normalize': sum |B/Lambda|^2 is zero or infinite (a zero eigenvalue, "
                             "or B_scale=0); the normalisation is undefined")
        B = B / np.sqrt(zeta)
    return Lam, B


def kernel_dss(Lambda, B, C, dt, L, *, eps=1e-7):
    r"""Convolution kernel of a diagonal SSM by DSS's softmax form (s4 ``SSMKernelDiag``, ``disc="dss"``).

    DSS-softmax (https://arxiv.org/abs/2203.14343) divides each mode's
    powers by their sum over the kernel length:

    .. math::

        K_\ell = \mathrm{Re}\sum_n \frac{C_nB_n}{\lambda_n}\,
        \frac{e^{\Delta\lambda_n\ell}}{\sum_{j=0}^{L-1}e^{\Delta\lambda_nj}}
        = \mathrm{Re}\sum_n C_nB_n\,\frac{e^{\Delta\lambda_n}-1}{\lambda_n\,(e^{L\Delta\lambda_n}-1)}\,
        e^{\Delta\lambda_n\ell},

    which s4 evaluates as written, with two details kept here:

    - a mode with :math:`\mathrm{Re}\,\lambda_n > 0` is shifted by its largest
      power, :math:`e^{\Delta\lambda_n(\ell-L+1)}` with the normaliser of
      :math:`-\lambda_n` (the same softmax, no overflow);
    - :math:`1/x` for :math:`x = \lambda_n(e^{L\Delta\lambda_n}-1)` (with
      :math:`-\lambda_n` in the exponent for the shifted modes) is
      :math:`\bar x/(|x|^2 + \epsilon)`, ``eps=1e-7`` in s4 ("inline
      reciprocal"); ``eps=0`` is the exact formula.

    The sum has no factor 2: s4's ``dss`` branch returns the real part of
    the sum over the listed eigenvalues, unlike its ``zoh``/``bilinear``
    branches (:math:`2\,\mathrm{Re}`, :func:`refimpl.ssm.kernel_diag` with
    ``half=True``).

    Parameters
    ----------
    Lambda : array_like, shape (N,)
        Eigenvalues (complex; any sign of the real part).
    B, C : array_like, shape (N,)
    dt : float
        Step :math:`\Delta > 0`.
    L : int
        Kernel length :math:`L\ge1`.
    eps : float, optional
        Regulariser of the reciprocal (finite, >= 0; s4: 1e-7).

    Returns
    -------
    ndarray, float64, shape (L,)
        (s4 casts to float32.)

    Raises
    ------
    ValueError
        Shape mismatches; non-finite inputs; ``dt <= 0``; ``L < 1`` or an
        N x L work array too large; :math:`L\Delta\lambda` or the kernel
        overflowing float64; with ``eps=0`` a mode whose normaliser
        vanishes (:math:`\lambda_n = 0`, or :math:`e^{L\Delta\lambda_n} = 1`
        exactly), where the exact formula divides by zero (with s4's
        ``eps`` such a mode contributes 0).

    Notes
    -----
    Accuracy: the exponentials and one division per mode; relative error
    a few ulps times :math:`L\Delta|\lambda_n|` per term (the phase
    :math:`\Delta\lambda_n\ell` is rounded once).
    For :math:`\mathrm{Re}\,\lambda<0` and :math:`L\Delta|\mathrm{Re}\,\lambda|\gg1`
    the normaliser :math:`e^{L\Delta\lambda}-1` tends to :math:`-1`: the
    kernel tends to **minus one half** of the ZOH kernel
    ``kernel_diag(Lambda, B, C, dt, L, "zoh", half=True)`` (tested); a
    trained C absorbs the sign.

    Examples
    --------
    >>> K = kernel_dss([-1.0 + 0j], [1.0], [1.0], 0.5, 3, eps=0.0)
    >>> w = np.exp(-0.5 * np.arange(3))
    >>> bool(np.allclose(K, -w / w.sum(), rtol=1e-14, atol=0))  # C B / lambda = -1 times the softmax
    True
    """
    Lambda = as_array(Lambda, "Lambda", ndim=1, allow_complex=True, min_size=1).astype(np.complex128)
    N = Lambda.shape[0]
    B = as_array(B, "B", ndim=1, allow_complex=True, min_size=1).astype(np.complex128)
    C = as_array(C, "C", ndim=1, allow_complex=True, min_size=1).astype(np.complex128)
    for name, v in (("B", B), ("C", C)):
        if v.shape[0] != N:
            raise ValueError(f"parameter '{name}' must have shape ({N},) to match 'Lambda', got {v.shape}")
    dt = check_real(dt, "dt", low=0.0, low_open=True)
    L = check_int(L, "L", min_value=1)
    eps = check_real(eps, "eps", low=0.0)
    check_size((N, L), "L", itemsize=16)
    with np.errstate(over="ignore", invalid="ignore"):
        dtA = dt * Lambda
        finite = np.all(np.isfinite(dtA * L))
    if not finite:
        raise ValueError("parameters 'dt', 'Lambda': L dt lambda overflows float64; the powers are undefined")
    grows = Lambda.real > 0
    ell = np.arange(L, dtype=np.float64)
    powers = np.exp(dtA[:, None] * (ell[None, :] - np.where(grows, L - 1, 0)[:, None]))
    dtA_neg = np.where(grows, -dtA, dtA)
    num = np.expm1(dtA_neg)
    x = np.expm1(dtA_neg * L) * Lambda
    if eps == 0.0:
        if np.any(x == 0):
            raise ValueError("parameter 'Lambda': a mode with lambda = 0 or exp(L dt lambda) = 1 makes the DSS "
                             "normaliser zero; pass eps > 0 (s4 uses 1e-7)")
        r = 1.0 / x
    else:
        r = x.conj() / ((x * x.conj()).real + eps)
    with np.errstate(over="ignore", invalid="ignore"):
        K = ((C * B * num * r) @ powers).real
    if not np.all(np.isfinite(K)):
        raise ValueError("parameters 'B', 'C': the kernel overflows float64 (|C B| / |lambda| too large)")
    return K
