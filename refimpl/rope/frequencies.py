r"""RoPE frequencies and every length-extension scheme (as inverse frequencies).

RoPE rotates pair :math:`i` of a head vector at position :math:`n` by the angle
:math:`n\theta_i` with :math:`\theta_i = b^{-2i/d}`, :math:`i = 0..d/2-1`
(https://kexue.fm/archives/8265). Su reads this as a :math:`d/2`-digit
base-:math:`\beta` number with :math:`\beta = b^{2/d}`
(https://kexue.fm/archives/9675): every extension scheme is a change of the
per-pair frequencies, so each method here returns ``(inv_freq,
attention_factor)`` exactly like the ``ROPE_INIT_FUNCTIONS`` of HF
transformers (``modeling_rope_utils.py``), in float64.

Methods (registry :data:`METHODS`): ``linear`` (PI), ``ntk`` (bloc97, base
:math:`b k^{d/(d-2)}`), ``ntk_old`` (base :math:`bk`), ``ntk_fixed``,
``ntk_mixed`` (https://kexue.fm/archives/9706), ``dynamic_ntk`` (transformers'
``dynamic``), ``yarn`` (https://kexue.fm/archives/9948, arXiv 2309.00071;
``ramp="rotations"`` as in the paper and the article, ``ramp="hf"`` as
transformers), ``llama3`` and ``longrope``.
"""
from __future__ import annotations

import math

import numpy as np

from .._validation import check_bool, check_choice, check_int, check_real, check_size
from ._xp import real_array

__all__ = ["METHODS", "inv_freq", "rotations", "scaled_inv_freq", "yarn_correction_dim", "yarn_get_mscale"]


def _check_d(d, min_value=2):
    d = check_int(d, "d", min_value=min_value)
    if d % 2:
        raise ValueError(f"parameter 'd' must be an even integer (RoPE rotates pairs), got {d}")
    check_size(d // 2, "d")  # d/2 frequencies: refuse before NumPy makes an empty or huge array
    return d


def _check_base(base):
    return check_real(base, "base", low=1.0, low_open=True)


def _check_factor(factor, name="factor"):
    if factor is None:
        raise ValueError(f"parameter '{name}' is required for this method (a real number >= 1)")
    return check_real(factor, name, low=1.0)


#: ln of the largest float64 (a scaled base beyond it has no float64 value)
_LN_MAX = math.log(np.finfo(np.float64).max)


def _scaled_base(base, mult, power, what):
    """``base * mult ** power``, or ValueError when it leaves float64 (finite inputs, no OverflowError)."""
    ln = math.log(base) + power * math.log(mult)
    if ln >= _LN_MAX:
        raise ValueError(f"parameter 'factor' is too large: the scaled base {what} = exp({ln:.4g}) exceeds the "
                         f"float64 range")
    return base * mult ** power


def _pair_exponent(d):
    """The exponents 2i/d, i = 0..d/2-1, exactly as float64 (2i and d are exact integers)."""
    return np.arange(0, d, 2, dtype=np.float64) / d


def inv_freq(d, base=10000.0):
    r"""RoPE inverse frequencies :math:`\theta_i = b^{-2i/d}`, :math:`i = 0..d/2-1`.

    .. math::

        \theta_i = b^{-2i/d} = \beta^{-i}, \qquad \beta = b^{2/d}.

    Parameters
    ----------
    d : int
        Rotary dimension (even, >= 2); the result has ``d/2`` entries.
    base : float, optional
        The base :math:`b > 1` (HF ``rope_theta``), default 10000.

    Returns
    -------
    ndarray, shape (d/2,), float64
        Decreasing from ``theta_0 = 1``.

    Raises
    ------
    ValueError
        If ``d`` is odd or < 2, or ``base <= 1``.

    Notes
    -----
    Accuracy: ``base ** (-(2i/d))`` with the exponent exact to 0.5 ulp, so each
    entry is within about ``(1 + ln(base)) * eps`` relative (2.3e-15 for
    base 1e4). transformers builds the same numbers in float32 as
    ``1 / base ** (arange(0, d, 2) / d)``.
    Source: https://kexue.fm/archives/8265.

    Examples
    --------
    >>> inv_freq(4)
    array([1.  , 0.01])
    >>> float(inv_freq(8, base=10000.0)[-1])  # 10000**(-3/4)
    0.001
    """
    d = _check_d(d)
    base = _check_base(base)
    return base ** (-_pair_exponent(d))


def rotations(inv_freq, length):
    r"""Number of full turns pair :math:`i` makes over a length: :math:`r_i = L\theta_i / (2\pi)`.

    YaRN and llama3 classify pairs by :math:`r_i` (https://kexue.fm/archives/9948).

    Parameters
    ----------
    inv_freq : array_like, shape (h,)
    length : float
        The (training) length :math:`L > 0`.

    Returns
    -------
    ndarray, shape (h,), float64. Accurate to a few ulp.

    Examples
    --------
    >>> rotations([1.0, 0.5], 2 * np.pi)
    array([1. , 0.5])
    """
    th = real_array(inv_freq, "inv_freq", ndim=1)
    length = check_real(length, "length", low=0.0, low_open=True)
    with np.errstate(over="ignore"):
        r = th / (2.0 * math.pi) * length
    if not np.all(np.isfinite(r)):
        raise ValueError("parameters 'inv_freq' and 'length': the rotation count L theta / (2 pi) exceeds the "
                         "float64 range")
    return r


def yarn_correction_dim(num_rotations, d, base, original_max_position):
    r"""The (fractional) pair index at which :math:`r_i` equals ``num_rotations``.

    Inverting :math:`r_i = L b^{-2i/d}/(2\pi)` gives

    .. math::

        i(r) = \frac{d \ln\!\big(L / (2\pi r)\big)}{2 \ln b},

    transformers' ``find_correction_dim`` (derived in ``derivations/rope_scaling.py``).

    Examples
    --------
    >>> round(yarn_correction_dim(1.0, 128, 10000.0, 2 * np.pi * 10000.0), 12)
    64.0
    """
    r = check_real(num_rotations, "num_rotations", low=0.0, low_open=True)
    d = _check_d(d)
    base = _check_base(base)
    L = check_real(original_max_position, "original_max_position", low=0.0, low_open=True)
    ratio = L / (2.0 * math.pi * r)
    # the ratio leaves float64 only for extreme inputs; its log does not
    ln = math.log(ratio) if 0.0 < ratio < math.inf else math.log(L) - math.log(2.0 * math.pi) - math.log(r)
    return d * ln / (2.0 * math.log(base))


def yarn_get_mscale(scale, mscale=1.0):
    r"""YaRN's attention temperature factor :math:`0.1\,m\ln s + 1` (1 for :math:`s \le 1`).

    Applied to both cos and sin, it scales the logits by its square,
    :math:`(1 + 0.1 \ln s)^2 \approx 1 + 0.2\ln s` (https://kexue.fm/archives/9948).

    Examples
    --------
    >>> yarn_get_mscale(1.0)
    1.0
    >>> round(yarn_get_mscale(np.e ** 10), 12)
    2.0
    """
    s = check_real(scale, "scale", low=0.0, low_open=True)
    m = check_real(mscale, "mscale")
    if s <= 1.0:
        return 1.0
    out = 0.1 * m * math.log(s) + 1.0
    if not math.isfinite(out):
        raise ValueError(f"parameters 'scale' and 'mscale': 0.1 mscale ln(scale) + 1 exceeds the float64 range "
                         f"(mscale={m:g}, scale={s:g})")
    return out


# --------------------------------------------------------------------------- methods
# Each takes (d, base, factor, **params) already validated for d/base and returns
# (inv_freq float64 (d/2,), attention_factor float).

def _linear(d, base, factor):
    # PI: n -> n/k, equivalently theta_i -> theta_i / k (kaiokendev; arXiv 2306.15595)
    return inv_freq(d, base) / _check_factor(factor), 1.0


def _ntk(d, base, factor):
    # bloc97: lowest frequency equals PI's => lambda = k^(2/(d-2)), b' = b k^(d/(d-2))  (kexue.fm/archives/9675)
    k = _check_factor(factor)
    if d < 4:
        raise ValueError(f"parameter 'd' must be >= 4 for method 'ntk' (exponent d/(d-2)), got {d}")
    return _scaled_base(base, k, d / (d - 2.0), "b k^(d/(d-2))") ** (-_pair_exponent(d)), 1.0


def _ntk_old(d, base, factor):
    # Su's base conversion beta -> beta k^(2/d), i.e. b' = b k ("NTK-RoPE-old", kexue.fm/archives/9706)
    k = _check_factor(factor)
    return _scaled_base(base, k, 1.0, "b k") ** (-_pair_exponent(d)), 1.0


def _ntk_fixed(d, base, factor):
    # theta_m = n / (lambda (beta lambda)^(m-1)), lambda = k^(2/d), m = i + 1  (kexue.fm/archives/9706)
    k = _check_factor(factor)
    i = np.arange(d // 2, dtype=np.float64)
    return inv_freq(d, base) * np.exp(-(i + 1.0) * (2.0 / d) * math.log(k)), 1.0


def _ntk_mixed(d, base, factor, b=0.625):
    # lambda_1...lambda_m = exp(a m^b), with a (d/2)^b = log k  (kexue.fm/archives/9706)
    k = _check_factor(factor)
    b = check_real(b, "b", low=0.0, high=1.0)
    a = math.log(k) / (d / 2.0) ** b
    m = np.arange(1, d // 2 + 1, dtype=np.float64)
    return inv_freq(d, base) * np.exp(-a * m**b), 1.0


def _dynamic_ntk(d, base, factor=None, seq_len=None, original_max_position=None):
    # transformers 'dynamic': b' = b (f L / L_max - (f - 1))^(d/(d-2)), L = max(seq_len, L_max)
    f = 1.0 if factor is None else _check_factor(factor)
    if d < 4:
        raise ValueError(f"parameter 'd' must be >= 4 for method 'dynamic_ntk' (exponent d/(d-2)), got {d}")
    if seq_len is None or original_max_position is None:
        raise ValueError("method 'dynamic_ntk' requires parameters 'seq_len' and 'original_max_position' (integers >= 1)")
    seq_len = check_int(seq_len, "seq_len", min_value=1)
    L_max = check_int(original_max_position, "original_max_position", min_value=1)
    L = max(seq_len, L_max)
    new_base = _scaled_base(base, f * L / L_max - (f - 1.0), d / (d - 2.0), "b (k L/L0 - (k-1))^(d/(d-2))")
    return new_base ** (-_pair_exponent(d)), 1.0


def _yarn_attention(s, mscale, mscale_all_dim, attention_factor):
    if attention_factor is not None:
        return check_real(attention_factor, "attention_factor", low=0.0, low_open=True)
    if (mscale is None) != (mscale_all_dim is None):
        raise ValueError("parameters 'mscale' and 'mscale_all_dim' must be given together (transformers ignores one "
                         "without the other); pass both, or attention_factor")
    if mscale is not None:
        m1 = check_real(mscale, "mscale", low=0.0, low_open=True)
        m2 = check_real(mscale_all_dim, "mscale_all_dim", low=0.0, low_open=True)
        return yarn_get_mscale(s, m1) / yarn_get_mscale(s, m2)
    return yarn_get_mscale(s)


def _yarn(d, base, factor, original_max_position=None, beta_fast=32.0, beta_slow=1.0, ramp="rotations",
          truncate=None, mscale=None, mscale_all_dim=None, attention_factor=None):
    s = _check_factor(factor)
    if original_max_position is None:
        raise ValueError("method 'yarn' requires parameter 'original_max_position' (the training length, > 0)")
    L = check_real(original_max_position, "original_max_position", low=0.0, low_open=True)
    beta_fast = check_real(beta_fast, "beta_fast", low=0.0, low_open=True)
    beta_slow = check_real(beta_slow, "beta_slow", low=0.0, low_open=True)
    if not beta_slow < beta_fast:
        raise ValueError(f"parameter 'beta_slow' must be < beta_fast (got beta_slow={beta_slow}, beta_fast={beta_fast})")
    ramp = check_choice(ramp, "ramp", ("rotations", "hf"))
    theta = inv_freq(d, base)
    if ramp == "rotations":
        if truncate is not None:
            raise ValueError("parameter 'truncate' applies only to ramp='hf'")
        # eq. of kexue.fm/archives/9948: gamma(r) = clip((r - alpha)/(beta - alpha), 0, 1), r_i = L theta_i / (2 pi)
        r = L * theta / (2.0 * math.pi)
        gamma = np.clip((r - beta_slow) / (beta_fast - beta_slow), 0.0, 1.0)
    else:
        truncate = True if truncate is None else check_bool(truncate, "truncate")
        # transformers: a ramp linear in the pair index between the correction dims of beta_fast and beta_slow
        low = yarn_correction_dim(beta_fast, d, base, L)
        high = yarn_correction_dim(beta_slow, d, base, L)
        if truncate:
            low, high = math.floor(low), math.ceil(high)
        low, high = max(low, 0), min(high, d - 1)
        if low == high:
            high += 0.001  # transformers' guard against 0/0
        i = np.arange(d // 2, dtype=np.float64)
        gamma = 1.0 - np.clip((i - low) / (high - low), 0.0, 1.0)  # weight of extrapolation (theta unchanged)
    new = theta / s * (1.0 - gamma) + theta * gamma
    return new, _yarn_attention(s, mscale, mscale_all_dim, attention_factor)


def _llama3(d, base, factor, original_max_position=None, low_freq_factor=1.0, high_freq_factor=4.0):
    f = _check_factor(factor)
    if original_max_position is None:
        raise ValueError("method 'llama3' requires parameter 'original_max_position' (8192 for Llama 3.1)")
    L = check_real(original_max_position, "original_max_position", low=0.0, low_open=True)
    lo = check_real(low_freq_factor, "low_freq_factor", low=0.0, low_open=True)
    hi = check_real(high_freq_factor, "high_freq_factor", low=0.0, low_open=True)
    if not lo <= hi:
        raise ValueError(f"parameter 'low_freq_factor' must be <= high_freq_factor (got {lo}, {hi})")
    theta = inv_freq(d, base)
    # Meta's apply_scaling: wavelen < L/hi keeps theta, wavelen > L/lo divides by f, and in between
    # smooth = (r - lo)/(hi - lo) with r = L/wavelen (rotations over the training length) blends the two.
    # lo == hi (Llama 4 Scout: factor 16, both factors 1) leaves no band: a step at r = lo.
    r = L * theta / (2.0 * math.pi)
    smooth = np.clip((r - lo) / (hi - lo), 0.0, 1.0) if lo < hi else (r > lo).astype(np.float64)
    return (1.0 - smooth) * theta / f + smooth * theta, 1.0


def _longrope(d, base, factor=None, ext_factors=None, original_max_position=None, attention_factor=None):
    if ext_factors is None:
        raise ValueError("method 'longrope' requires parameter 'ext_factors' (shape (d/2,), positive)")
    ext = real_array(ext_factors, "ext_factors", ndim=1, shape=(d // 2,))
    if np.any(ext <= 0):
        raise ValueError("parameter 'ext_factors' must be positive")
    with np.errstate(over="ignore"):  # ext b^(2i/d) beyond float64: its reciprocal rounds to 0, as it should
        out = 1.0 / (ext * base ** _pair_exponent(d))
    if attention_factor is not None:
        return out, check_real(attention_factor, "attention_factor", low=0.0, low_open=True)
    if factor is None:
        return out, 1.0
    f = _check_factor(factor)
    if f == 1.0:
        return out, 1.0
    if original_max_position is None:
        raise ValueError("method 'longrope' with factor > 1 requires parameter 'original_max_position' (> 1)")
    L = check_real(original_max_position, "original_max_position", low=1.0, low_open=True)
    return out, math.sqrt(1.0 + math.log(f) / math.log(L))


#: name -> (function, accepted keyword parameters besides d, base, factor)
METHODS = {
    "linear": (_linear, ()),
    "ntk": (_ntk, ()),
    "ntk_old": (_ntk_old, ()),
    "ntk_fixed": (_ntk_fixed, ()),
    "ntk_mixed": (_ntk_mixed, ("b",)),
    "dynamic_ntk": (_dynamic_ntk, ("seq_len", "original_max_position")),
    "yarn": (_yarn, ("original_max_position", "beta_fast", "beta_slow", "ramp", "truncate", "mscale",
                     "mscale_all_dim", "attention_factor")),
    "llama3": (_llama3, ("original_max_position", "low_freq_factor", "high_freq_factor")),
    "longrope": (_longrope, ("ext_factors", "original_max_position", "attention_factor")),
}


def scaled_inv_freq(d, method, *, base=10000.0, factor=None, **params):
    r"""Inverse frequencies of a RoPE length-extension scheme: ``(inv_freq, attention_factor)``.

    With :math:`\theta_i = b^{-2i/d}`, :math:`i = 0..d/2-1`, :math:`m = i+1`,
    scale :math:`k = s =` ``factor`` and :math:`r_i = L\theta_i/(2\pi)`:

    ==============  ====================================================================  ==========================
    method          :math:`\theta'_i`                                                       params
    ==============  ====================================================================  ==========================
    ``linear``      :math:`\theta_i / k` (PI)
    ``ntk``         :math:`(b\,k^{d/(d-2)})^{-2i/d}` (bloc97; lowest freq divided by k)
    ``ntk_old``     :math:`(b\,k)^{-2i/d}` (Su's NTK-RoPE-old, [2])
    ``ntk_fixed``   :math:`\theta_i / \lambda^{m}`, :math:`\lambda = k^{2/d}`
    ``ntk_mixed``   :math:`\theta_i\,e^{-a m^b}`, :math:`a (d/2)^b = \ln k`                   ``b=0.625``
    ``dynamic_ntk`` base :math:`b(kL/L_0 - (k-1))^{d/(d-2)}`, :math:`L=\max(\ell, L_0)`     ``seq_len``, ``original_max_position``
    ``yarn``        :math:`(1-\gamma_i)\theta_i/s + \gamma_i\theta_i`                        ``original_max_position``, ``beta_fast=32``, ``beta_slow=1``, ``ramp``, ``truncate``, ``mscale``, ``mscale_all_dim``, ``attention_factor``
    ``llama3``      YaRN's form with :math:`\gamma` linear in :math:`r` on [lo, hi]          ``original_max_position``, ``low_freq_factor=1``, ``high_freq_factor=4``
    ``longrope``    :math:`\theta_i / e_i`                                                  ``ext_factors``, ``original_max_position``, ``attention_factor``
    ==============  ====================================================================  ==========================

    YaRN's ramp: ``ramp="rotations"`` (default; the paper and [3]) uses
    :math:`\gamma_i = \mathrm{clip}((r_i - \beta_{slow})/(\beta_{fast} -
    \beta_{slow}), 0, 1)`; ``ramp="hf"`` reproduces transformers: a ramp
    linear in the pair index between ``floor``/``ceil`` (``truncate=True``)
    of the correction dimensions of ``beta_fast``/``beta_slow``, clamped to
    ``[0, d-1]``. The two differ inside the transition band (see ERRATA.md).
    YaRN's attention factor is ``attention_factor`` if given, else
    ``get_mscale(s, mscale)/get_mscale(s, mscale_all_dim)`` when both are given,
    else :math:`0.1\ln s + 1`. It multiplies cos and sin (so the logits scale
    by its square). ``longrope``: :math:`\sqrt{1 + \ln k / \ln L_0}` when
    ``factor > 1`` (else 1). All other methods return 1.

    Parameters
    ----------
    d : int
        Rotary dimension (even). For partial rotary, pass ``int(head_dim * partial_rotary_factor)``.
    method : str
        A key of :data:`METHODS`.
    base : float, optional
        :math:`b > 1`, default 10000.
    factor : float
        The scale :math:`k \ge 1`; required except for ``dynamic_ntk`` (default 1) and ``longrope``
        (optional, used only for the attention factor).
    **params
        Method parameters (table). A parameter the method does not use is an error.

    Returns
    -------
    inv_freq : ndarray, shape (d/2,), float64
    attention_factor : float

    Raises
    ------
    ValueError
        Odd ``d``, ``base <= 1``, ``factor < 1``, ``beta_slow >= beta_fast``,
        unknown method, missing or unused parameters.

    Notes
    -----
    Accuracy: closed forms evaluated in float64, a few ulp times ``ln(base)``
    per entry (tested against an independent scalar transcription of the
    transformers formulas at 1e-12). transformers computes in float32; it
    agrees to ``(ln(base) + 4 + 2k) * 2**-24`` relative (see
    ``refimpl/rope/_checks.py``).
    Conventions: ``original_max_position`` is transformers'
    ``original_max_position_embeddings`` (for ``dynamic_ntk``, its
    ``max_position_embeddings``). ``dynamic_ntk``'s ``seq_len`` is what
    transformers passes: ``max(position_ids) + 1`` of the current call (its
    ``dynamic_rope_update`` recomputes only when that grows past the cached
    length, and resets below ``max_position_embeddings``); the base is
    unchanged while ``seq_len <= original_max_position``. transformers treats ``mscale=0`` as absent;
    refimpl requires both positive. ``longrope`` takes the ``ext_factors``
    that transformers selects (``long_factor`` when ``seq_len >
    original_max_position``, else ``short_factor``).
    Naming (ERRATA.md): ``ntk`` is bloc97's NTK-aware scaling (transformers,
    jquesnelle/yarn); Su's base conversion of [1]_ (base :math:`bk`) is what
    [2]_ calls NTK-RoPE-old, here ``ntk_old``. The YaRN ramps differ inside the
    transition band (d=128, s=8, L=4096: transformers' :math:`\theta_{36}` is
    2.30x the paper's); select the one your model was trained with.
    Derivations: ``derivations/rope_scaling.py``.

    References
    ----------
    .. [1] Su Jianlin, https://kexue.fm/archives/9675 (base-beta view, NTK)
    .. [2] Su Jianlin, https://kexue.fm/archives/9706 (NTK-old/fixed/mixed)
    .. [3] Su Jianlin, https://kexue.fm/archives/9948 (YaRN, dynamic scaling)
    .. [4] Peng et al., "YaRN", https://arxiv.org/abs/2309.00071

    Examples
    --------
    >>> th, af = scaled_inv_freq(4, "linear", factor=2.0)
    >>> th, af
    (array([0.5  , 0.005]), 1.0)
    >>> th, _ = scaled_inv_freq(8, "ntk", factor=16.0)
    >>> float(th[0]), round(float(inv_freq(8)[-1] / th[-1]), 12)  # highest kept, lowest divided by k
    (1.0, 16.0)
    >>> round(scaled_inv_freq(64, "yarn", factor=np.e, original_max_position=4096)[1], 12)
    1.1
    """
    d = _check_d(d)
    method = check_choice(method, "method", tuple(METHODS))
    base = _check_base(base)
    fn, accepted = METHODS[method]
    unused = sorted(set(params) - set(accepted))
    if unused:
        listed = ", ".join(repr(p) for p in accepted) or "none besides d, base, factor"
        raise ValueError(f"parameter {unused[0]!r} is not used by method {method!r} (accepted: {listed})")
    inv, af = fn(d, base, factor, **params)
    return np.ascontiguousarray(inv, dtype=np.float64), float(af)
