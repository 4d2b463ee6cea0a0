r"""Newton--Schulz iterations for msign, their coefficient presets and scalar map.

The iteration [10922]_ starts from :math:`X_0 = M/\|M\|_F` and applies, per step,

.. math::

    X_{t+1} = a_t X_t + b_t (X_t X_t^\top) X_t + c_t (X_t X_t^\top)^2 X_t ,

which maps every singular value by the odd quintic
:math:`g_t(x) = a_t x + b_t x^3 + c_t x^5` and keeps the singular vectors.
So the matrix iteration is :func:`scalar_map` applied to :math:`\sigma/\|M\|_F`.

Presets (:data:`COEFFICIENTS`; a ``(3,)`` array is one triple shared by every
step, a ``(T, 3)`` array a per-step schedule):

================  ======  ==================================================================
name              shape   source
================  ======  ==================================================================
``cubic``         (3,)    :math:`(3/2, -1/2, 0)`: first-order Taylor of :math:`t^{-1/2}` at 1
                          [10592]_, the classic cubic Newton--Schulz step
``taylor2``       (3,)    :math:`(15/8, -5/4, 3/8)`: second-order Taylor of :math:`t^{-1/2}`
                          at 1 [10592]_ (derived in ``derivations/muon.py``)
``keller``        (3,)    :math:`(3.4445, -4.7750, 2.0315)`, KellerJordan/Muon ``muon.py``,
                          also torch.optim.Muon, Moonlight, optax [KJ]_
``su_minmax``     (3,)    :math:`(3.3748, -4.6969, 2.1433)`: Su's min--max Adam fit, T = 5
                          [10922]_ (reproduced by :func:`refimpl.muon.fit_coefficients`)
``you_t6``        (6, 3)  YouJiacheng's 6-step schedule, entries /1024, as printed in [10922]_
``su_x``          (6, 3)  Su's "Ours-X" 6-step schedule (k = 50), entries /1024 [10922]_
``su_x2``         (6, 3)  Su's "Ours-X2" 6-step schedule (k = 200), entries /1024 [10922]_
``su_x3``         (5, 3)  Su's "Ours-X3" 5-step schedule [10922]_
``polar_express`` (8, 3)  the Polar Express table of [10996]_ (l = 1e-3, cushion
                          0.02407327424182761), divided by the safety factor
                          :math:`(1.01, 1.01^3, 1.01^5)` as the article prescribes; row 6 with
                          :math:`b<0` (erratum: the article prints :math:`+1.268`).
                          ``polar_express_coefficients(safety_mode="article")`` recomputes it;
                          its default ``"official"`` (the repository's code) differs by <= 5%.
``dion``          (5, 3)  optax.contrib ``muon`` preset ``'dion'`` (optax@2edbcbe) [OPTAX]_
================  ======  ==================================================================

References
----------
.. [10592] Su Jianlin, "Muon optimizer appreciation", https://kexue.fm/archives/10592
.. [10922] Su Jianlin, "Newton-Schulz iteration for the msign operator (I)",
   https://kexue.fm/archives/10922
.. [10996] Su Jianlin, "Newton-Schulz iteration for the msign operator (II)",
   https://kexue.fm/archives/10996; Amsel, Persson, Musco, Gower, "The Polar
   Express", https://arxiv.org/abs/2505.16932
.. [KJ] K. Jordan, https://github.com/KellerJordan/Muon (``muon.py``)
.. [OPTAX] https://github.com/google-deepmind/optax, ``optax/contrib/_muon.py``
"""
from __future__ import annotations

import numpy as np

from .. import _backend
from .._backend import is_cupy_array, pick
from .._numba import HAVE_NUMBA
from .._validation import as_array, check_bool, check_choice, check_int, check_real, check_size
from . import _fast, reference
from ._precision import newton_schulz_bf16
from ._xp import newton_schulz_xp

__all__ = ["COEFFICIENTS", "COEFFICIENT_SOURCES", "DTYPES", "EPS_MODES", "NORMALIZATIONS", "newton_schulz",
           "resolve_coefficients", "scalar_map"]


def _frozen(rows, scale=1.0):
    arr = np.array(rows, dtype=np.float64) / scale
    arr.setflags(write=False)
    return arr


_PE_TABLE = [  # [10996], columns a*1.01, b*1.01**3, c*1.01**5 (row 6: sign of b corrected)
    (8.28721, -23.5959, 17.3004),
    (4.10706, -2.94785, 0.544843),
    (3.94869, -2.9089, 0.551819),
    (3.31842, -2.48849, 0.510049),
    (2.30065, -1.6689, 0.418807),
    (1.8913, -1.268, 0.376804),
    (1.875, -1.25, 0.375),
    (1.875, -1.25, 0.375),
]

#: The preset coefficient arrays (read-only float64): ``(3,)`` shared, ``(T, 3)`` schedules.
COEFFICIENTS = {
    "cubic": _frozen([1.5, -0.5, 0.0]),
    "taylor2": _frozen([15 / 8, -5 / 4, 3 / 8]),
    "keller": _frozen([3.4445, -4.7750, 2.0315]),
    "su_minmax": _frozen([3.3748, -4.6969, 2.1433]),
    "you_t6": _frozen([[3955, -8306, 5008], [3735, -6681, 3463], [3799, -6499, 3211],
                       [4019, -6385, 2906], [2677, -3029, 1162], [2172, -1833, 682]], 1024.0),
    "su_x": _frozen([[4140, -7553, 3571], [3892, -6637, 2973], [3668, -6456, 3021],
                     [3248, -6211, 3292], [2792, -5759, 3796], [3176, -5507, 4048]], 1024.0),
    "su_x2": _frozen([[4059, -7178, 3279], [3809, -6501, 2925], [3488, -6308, 3063],
                      [2924, -5982, 3514], [2439, -5439, 4261], [3148, -5464, 4095]], 1024.0),
    "su_x3": _frozen([[4.6182, -12.9582, 9.3299], [3.8496, -7.9585, 4.3052], [3.5204, -7.2918, 4.0606],
                      [3.2067, -6.8243, 4.2802], [3.2978, -5.7848, 3.8917]]),
    "polar_express": _frozen(np.array(_PE_TABLE) / np.array([1.01, 1.01**3, 1.01**5])),
    "dion": _frozen([[4.0848, -6.8946, 2.9270], [3.9505, -6.3029, 2.6377], [3.7418, -5.5913, 2.3037],
                     [2.8769, -3.1427, 1.2046], [2.8366, -3.0525, 1.2012]]),
}

#: Where each preset comes from (one line each; details in the module docstring).
COEFFICIENT_SOURCES = {
    "cubic": "first-order Taylor of t^(-1/2) at t=1, https://kexue.fm/archives/10592",
    "taylor2": "second-order Taylor of t^(-1/2) at t=1, https://kexue.fm/archives/10592",
    "keller": "KellerJordan/Muon muon.py (also torch.optim.Muon, Moonlight, optax default)",
    "su_minmax": "Su's min-max Adam fit, T=5, https://kexue.fm/archives/10922",
    "you_t6": "YouJiacheng 6-step schedule (/1024), https://kexue.fm/archives/10922",
    "su_x": "Su 'Ours-X' 6-step schedule, k=50 (/1024), https://kexue.fm/archives/10922",
    "su_x2": "Su 'Ours-X2' 6-step schedule, k=200 (/1024), https://kexue.fm/archives/10922",
    "su_x3": "Su 'Ours-X3' 5-step schedule, https://kexue.fm/archives/10922",
    "polar_express": "Polar Express table (l=1e-3, cushion 0.0241) / (1.01, 1.01^3, 1.01^5), "
                     "https://kexue.fm/archives/10996, arXiv:2505.16932",
    "dion": "optax.contrib muon preset 'dion' (optax@2edbcbe)",
}

#: ``normalization`` values of :func:`newton_schulz`.
NORMALIZATIONS = ("frobenius", "su_improved")
#: ``eps_mode`` values of :func:`newton_schulz`: the eps conventions of the public implementations.
EPS_MODES = ("add", "clamp", "add_squared")
#: ``dtype`` values of :func:`newton_schulz` (None means "float64").
DTYPES = ("float64", "float32", "bfloat16", "bfloat16_keller")


def pick_backend(backend, *arrays, **paths):
    """:func:`refimpl._backend.pick`, where ``"auto"`` with no usable fast path means the reference."""
    if backend == "auto" and not any(is_cupy_array(a) for a in arrays) and not (
            paths.get("numba") is not None and HAVE_NUMBA):
        backend = "reference"
    return pick(backend, *arrays, **paths)


def resolve_coefficients(coefficients, steps=None, *, name="coefficients", steps_name="steps"):
    """Return the ``(T, 3)`` float64 schedule that ``coefficients``/``steps`` describe.

    A preset name or a ``(3,)`` triple is repeated ``steps`` times (5 when
    ``steps`` is None); a ``(T, 3)`` schedule needs ``steps`` None or ``T``.

    Raises
    ------
    ValueError
        Unknown preset, wrong shape, non-finite entries, ``steps < 1``, a
        ``steps`` so large that the schedule would not fit in memory, or a
        ``steps`` that contradicts the schedule length.
    """
    if isinstance(coefficients, str):
        check_choice(coefficients, name, tuple(COEFFICIENTS))
        arr = COEFFICIENTS[coefficients]
    else:
        arr = as_array(coefficients, name)
    if steps is not None:
        steps = check_int(steps, steps_name, min_value=1)
    if arr.ndim == 1 and arr.shape == (3,):
        if steps is not None:
            check_size((steps, 3), steps_name)
        return np.tile(arr, (5 if steps is None else steps, 1))
    if arr.ndim == 2 and arr.shape[1] == 3 and arr.shape[0] >= 1:
        if steps is not None and steps != arr.shape[0]:
            raise ValueError(f"parameter '{steps_name}' must be None or {arr.shape[0]} (the number of rows of the "
                             f"schedule '{name}'), got {steps}; slice the schedule to run fewer steps")
        return np.array(arr, dtype=np.float64)
    raise ValueError(f"parameter '{name}' must be a preset name, a (3,) triple (a, b, c) or a (T, 3) schedule "
                     f"with T >= 1, got shape {arr.shape}")


def scalar_map(x, coefficients="keller", steps=None):
    r"""Apply the Newton--Schulz polynomials to scalars: :math:`g_T\circ\cdots\circ g_1(x)`.

    :math:`g_t(x) = a_t x + b_t x^3 + c_t x^5`. A Newton--Schulz run maps each
    singular value :math:`\sigma` of :math:`M` to ``scalar_map(sigma / ||M||_F)``.

    Domain: the map is meant for :math:`|x| \le 1` (normalised singular
    values lie in [0, 1]). Beyond a preset-dependent point (about
    :math:`|x| > 1.5` for ``"keller"``, :math:`\sqrt 3` for ``"cubic"``) the
    iterates grow like :math:`|x|^{5^t}`; where one overflows float64 the
    function raises ValueError rather than return inf or NaN.

    Parameters
    ----------
    x : array_like
        Any shape, float64.
    coefficients : str or array_like, shape (3,) or (T, 3)
        A :data:`COEFFICIENTS` preset or explicit coefficients.
    steps : int, optional
        Number of steps for a triple (default 5); for a schedule None or ``T``.

    Returns
    -------
    ndarray, same shape as ``x``, float64.

    Raises
    ------
    ValueError
        As :func:`resolve_coefficients`; NaN/Inf in ``x``; an iterate that
        overflows float64 (``x`` far outside the domain above).

    Notes
    -----
    Accuracy: Horner form :math:`x(a + x^2(b + c x^2))` per step, a few ulp
    per step, amplified by at most the slope of the remaining steps.

    Examples
    --------
    >>> float(scalar_map(1.0, "taylor2", steps=3))   # 1 is a fixed point of 15/8 - 5/4 + 3/8
    1.0
    >>> round(float(scalar_map(0.5, "cubic", steps=1)), 6)   # 1.5*0.5 - 0.5*0.125
    0.6875
    """
    sched = resolve_coefficients(coefficients, steps)
    x = as_array(x, "x").reshape(np.shape(x))  # keep 0-d input 0-d
    y = x
    with np.errstate(over="ignore", invalid="ignore"):
        for a, b, c in sched:
            y2 = y * y
            y = y * (a + y2 * (b + c * y2))
    if not np.all(np.isfinite(y)):
        bad = float(x.flat[int(np.argmax(~np.isfinite(y).ravel()))])
        raise ValueError(f"parameter 'x': the iteration overflows float64 for x = {bad!r} (|x| far beyond 1; "
                         "the polynomials are meant for normalised singular values in [0, 1])")
    return y


def _check_dtype(dtype, name="dtype"):
    if dtype is None:
        return "float64"
    if isinstance(dtype, str):
        return check_choice(dtype, name, DTYPES)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt == np.float64:
        return "float64"
    if dt == np.float32:
        return "float32"
    raise ValueError(f"parameter '{name}' must be one of None, {', '.join(map(repr, DTYPES))}; got {dtype!r}")


def _check_norm_range(M, kind, xp):
    """ValueError where ||M||_F^2 overflows the working precision (the public code would return 0 or NaN)."""
    limit = 0.5 * float(np.sqrt(np.finfo(np.float64 if kind == "float64" else np.float32).max))
    amax = xp.max(xp.abs(M), axis=(-2, -1), keepdims=True)
    scaled = M / xp.where(amax == 0, 1, amax)
    fro = amax * xp.sqrt(xp.sum(scaled * scaled, axis=(-2, -1), keepdims=True))  # no overflow
    if bool(xp.any(fro >= limit)):
        work = "float64" if kind == "float64" else "float32"
        raise ValueError(f"parameter 'M': ||M||_F = {float(xp.max(fro)):.3g} >= {limit:.3g}, so ||M||_F^2 overflows "
                         f"{work} (the public code would return 0 or NaN); pass prescale=True (an exact "
                         "power-of-two rescaling) or scale M")


def newton_schulz(M, coefficients="keller", steps=None, eps=1e-7, normalization="frobenius",
                  transpose_tall=True, dtype=None, *, eps_mode="add", prescale=False, backend="auto"):
    r"""Approximate :math:`\operatorname{msign}(M)` by the Newton--Schulz iteration.

    .. math::

        X_0 = \frac{M}{\|M\|_F + \epsilon},\qquad
        X_{t+1} = a_t X_t + \big(b_t A_t + c_t A_t^2\big) X_t,\quad A_t = X_t X_t^\top ,

    for :math:`t = 0..T-1`, returning :math:`X_T`. With SVD :math:`M=U\Sigma V^\top`
    the result is :math:`U\,g(\Sigma/\|M\|_F)\,V^\top`, ``g = scalar_map`` [1]_.

    Parameters
    ----------
    M : array_like, shape (..., n, m)
        Real, finite; batched over leading axes (each matrix normalised on its own).
    coefficients : str or array_like, shape (3,) or (T, 3)
        A preset of :data:`COEFFICIENTS` (default ``"keller"``) or explicit
        ``(a, b, c)`` / per-step schedule.
    steps : int, optional
        Number of steps for a triple (None means 5, the public default); for a
        schedule None or ``T``.
    eps : float >= 0
        Stabiliser of the normalisation, see ``eps_mode``.
    normalization : {"frobenius", "su_improved"}
        ``"su_improved"`` [1]_ (credited to @johanwind, @YouJiacheng,
        @ZhangRuichong; KellerJordan/Muon PR #14) rescales in step 0 by
        :math:`\nu = \|(X_0X_0^\top)^2\|_F^{1/4} = (\sum\sigma_i^8)^{1/8}/\|M\|_F`,
        reusing the Gram products, so singular values start at
        :math:`\sigma/\|\sigma\|_8 \ge \sigma/\|\sigma\|_2`.
    transpose_tall : bool
        Iterate on :math:`M^\top` when ``n > m`` so the Gram matrix is the small
        one (as every public implementation); the result is the same in exact
        arithmetic.
    dtype : {None, "float64", "float32", "bfloat16", "bfloat16_keller"}
        Working precision. The two bf16 values emulate a bf16 program in
        NumPy: bf16 operands, every product accumulated in float32 and rounded
        to bf16 (nearest-even), the norm accumulated in float32 and rounded.
        ``"bfloat16"``: the fused ``addmm`` structure of torch.optim.Muon,
        ``A = r(X X^T)``, ``B = r(b A + c A A)``, ``X = r(a X + B X)``.
        ``"bfloat16_keller"``: KellerJordan's ``muon.py`` (X cast to bf16
        once, one rounding per tensor operation),
        ``B = r(r(b A) + r(r(c A) A))`` (Python reads ``c * A @ A`` as
        ``(c * A) @ A``), ``X = r(r(a X) + r(B X))``.
    eps_mode : {"add", "clamp", "add_squared"}
        ``"add"``: :math:`M/(\|M\|_F+\epsilon)` (KellerJordan, Moonlight with
        1e-7, optax with 1e-8); ``"clamp"``: :math:`M/\max(\|M\|_F,\epsilon)`
        (torch.optim.Muon); ``"add_squared"``: :math:`M/\sqrt{\|M\|_F^2+\epsilon}`
        (Su's reference code, eps 1e-20). In step 0 of ``"su_improved"`` the
        same rule is applied to :math:`\nu` (``add_squared`` to :math:`\nu^8`).
    prescale : bool
        Default False: KellerJordan's form, :math:`X_0 = M/(\|M\|_F+\epsilon)`,
        as every public implementation computes it; a tiny input
        (:math:`\|M\|_F \ll \epsilon`) then collapses as in the public code
        (NVIDIA-NeMo/Emerging-Optimizers#230). ``True``: the scale-invariant
        form: each matrix with :math:`\|M\|_F < 1` (or
        :math:`\max|M| \ge 2^{40}`, which would overflow float32) is first
        multiplied by the power of two that puts :math:`\|M\|_F` in [1, 2).
        This is exact, and matrices with :math:`\|M\|_F \ge 1` are untouched,
        but eps can no longer break scale invariance: for any :math:`c>0`,
        ``newton_schulz(c * M, prescale=True)`` differs from
        ``newton_schulz(M, prescale=True)`` only by the relative
        :math:`\le\epsilon` perturbation of :math:`X_0` that eps makes at norm >= 1.
    backend : {"auto", "reference", "cupy"}
        ``"reference"``: :func:`refimpl.muon.reference.newton_schulz`, KellerJordan's
        loop written plainly (the definition). ``"auto"`` on NumPy input: the
        same iteration arranged for speed (``_fast.py``: Gram products as SYRK,
        ``a X + B X`` as one GEMM, in place; equal to the reference to about
        1e-13); on CuPy input ``"cupy"``: the batched code of ``_xp.py`` on the
        GPU, returning a CuPy array (also for NumPy input with
        ``backend="cupy"``), ``dtype`` "float64" or "float32" only. See docs/gpu.md.

    Returns
    -------
    ndarray, shape (..., n, m)
        float64 for ``dtype`` None/"float64", float32 for "float32" and for
        the bf16 emulations (whose values are then exact bfloat16 numbers).

    Raises
    ------
    ValueError
        ``M`` not at least 2-D, empty, NaN/Inf, or (``prescale=False``) with
        :math:`\|M\|_F^2` beyond the range of the working precision; unknown preset, schedule of
        wrong shape, ``steps < 1`` or too large to allocate; ``eps < 0``;
        unknown ``normalization``, ``eps_mode``, ``dtype`` or ``backend``.
    TypeError
        ``transpose_tall`` or ``prescale`` not a bool.

    Notes
    -----
    Accuracy (float64): with ``eps = 0`` the singular values equal
    ``scalar_map(sigma / ||M||_F)`` to about :math:`10\,T\,\epsilon_{64}` times the
    largest slope of the remaining steps (tested to 1e-12 against the SVD
    route for every preset). With the default ``eps = 1e-7`` the normalised
    singular values are smaller by the relative factor
    :math:`\|M\|_F/(\|M\|_F+\epsilon)` (at most :math:`10^{-7}` with
    ``prescale=True``). float32: about 1e-6 relative. KJ's coefficients do not
    converge to 1: singular values end in the band 0.68--1.13 for
    :math:`\sigma/\|M\|_F \ge 0.01` (0.47--1.20 from 0.001; KJ's docstring:
    "US'V^T, S'_ii ~ Uniform(0.5, 1.5)"); a matrix with
    :math:`\sigma_{\min}\approx 0` keeps a singular value near 0.
    bfloat16: equals torch.optim.Muon's bf16 iteration bitwise in most runs,
    otherwise differs by rare 1-ulp flips from a different float32 summation
    order (at most a few bf16 ulps after 5 steps), not by systematic error;
    ``"bfloat16_keller"`` likewise against KellerJordan's loop run by torch
    in bf16 (tested on CPU).
    Erratum: Su's second code block (improved step) transposes when
    ``x.shape[0] > x.shape[1]``, the batch axis for stacked input; here the
    last two axes decide.

    References
    ----------
    .. [1] Su Jianlin, https://kexue.fm/archives/10922 (iteration, reference code,
           improved first step); https://kexue.fm/archives/10592

    Examples
    --------
    >>> M = np.diag([3.0, 4.0])          # singular values 3, 4; ||M||_F = 5
    >>> X = newton_schulz(M, "cubic", steps=1, eps=0.0)
    >>> np.round(np.diag(X), 6)          # g(0.6) = 0.792, g(0.8) = 0.944
    array([0.792, 0.944])
    >>> X = newton_schulz(M, "polar_express", eps=0.0)
    >>> bool(np.allclose(X, np.eye(2), atol=1e-3))
    True
    """
    name, _ = pick_backend(backend, M, reference=reference.newton_schulz, cupy=newton_schulz_xp)
    xp = _backend.cupy_or_none() if name == "cupy" else np
    M = as_array(M, "M", xp=xp, min_ndim=2)
    if M.shape[-1] == 0 or M.shape[-2] == 0:
        raise ValueError(f"parameter 'M' must have non-empty matrices, got shape {tuple(M.shape)}")
    sched = resolve_coefficients(coefficients, steps)
    eps = check_real(eps, "eps", low=0.0)
    check_choice(normalization, "normalization", NORMALIZATIONS)
    check_choice(eps_mode, "eps_mode", EPS_MODES)
    transpose_tall = check_bool(transpose_tall, "transpose_tall")
    prescale = check_bool(prescale, "prescale")
    kind = _check_dtype(dtype)
    if not prescale:
        _check_norm_range(M, kind, xp)
    args = (sched, eps, normalization, eps_mode, transpose_tall, prescale)
    if kind.startswith("bfloat16"):
        if name == "cupy":
            raise ValueError(f"parameter 'dtype': the CuPy path implements None, 'float64', 'float32'; "
                             f"the {kind!r} emulation runs on NumPy only")
        return newton_schulz_bf16(M, *args, "keller" if kind == "bfloat16_keller" else "addmm")
    dt = np.float64 if kind == "float64" else np.float32
    if name == "cupy":
        return newton_schulz_xp(xp, M, *args, dt)
    if backend == "auto":  # the tuned arrangement of the same iteration
        return _fast.newton_schulz_numpy(M, *args, dt)
    return reference.newton_schulz(M, *args, dt)
