r"""RoPE analysis: the long-range decay curve, the Abel-summation bound, base-beta digits."""
from __future__ import annotations

import numbers

import numpy as np

from .._validation import check_bool, check_choice, check_int, check_real, check_size
from ._xp import real_array
from .apply import LAYOUTS, layout_permutation
from .frequencies import inv_freq as _inv_freq

__all__ = ["abel_bound", "beta_digits", "decay_curve"]


def _partial_sums(distances, th):
    """S_j(m) = sum_{i<j} exp(i m theta_i), j = 1..h, shape (..., h)."""
    return np.cumsum(np.exp(1j * distances[..., None] * th), axis=-1)


def decay_curve(d, distances, base=10000.0):
    r"""Su's long-range decay curve :math:`\frac{1}{d/2}\sum_{j=1}^{d/2}|S_j(m)|`.

    With :math:`\theta_i = b^{-2i/d}` and
    :math:`S_j(m) = \sum_{i=0}^{j-1} e^{\mathrm i m\theta_i}` (the partial sums
    of the Abel bound, see :func:`abel_bound`), [1]_ plots this mean against the
    relative distance :math:`m` (``d=128``, ``m=0..256``). At :math:`m=0` it is
    :math:`(d/2+1)/2`. The curve decays overall but is not monotone.

    Parameters
    ----------
    d : int
        Even head dimension.
    distances : array_like
        Relative distances :math:`m` (any reals).
    base : float, optional

    Returns
    -------
    ndarray, shape of ``distances``, float64; accurate to about ``d/2`` ulp
    (a cumulative sum of unit complex numbers; checked against mpmath).

    References
    ----------
    .. [1] Su Jianlin, https://kexue.fm/archives/8265 (figure of the decay curve)

    Examples
    --------
    >>> decay_curve(128, [0])  # (d/2 + 1) / 2
    array([32.5])
    """
    th = _inv_freq(d, base)
    m = real_array(distances, "distances").reshape(np.shape(distances))
    check_size(m.shape + th.shape, "d", itemsize=16)  # the partial sums: one complex number per (distance, pair)
    return np.mean(np.abs(_partial_sums(m, th)), axis=-1)


def abel_bound(q, k, distance, inv_freq, *, layout="interleaved"):
    r"""Exact :math:`|\sum_i h_i e^{\mathrm i\Delta\theta_i}|` and Su's Abel-summation bound on it.

    With complex pairs :math:`h_i = q_{[2i:2i+1]} k^*_{[2i:2i+1]}`,
    :math:`S_j = \sum_{i<j} e^{\mathrm i\Delta\theta_i}`, :math:`h_{d/2} = 0`,
    summation by parts gives [1]_

    .. math::

        \Big|\sum_{i=0}^{d/2-1} h_i e^{\mathrm i\Delta\theta_i}\Big|
        = \Big|\sum_{i=0}^{d/2-1} S_{i+1}(h_{i+1}-h_i)\Big|
        \le \Big(\max_i |h_{i+1}-h_i|\Big) \sum_{i=0}^{d/2-1} |S_{i+1}|.

    :math:`(\mathcal R_m q)^\top(\mathcal R_n k)` is the real part of the sum
    with :math:`\Delta = m - n`, so it is bounded too.

    Parameters
    ----------
    q, k : array_like, shape (d,)
    distance : float or array_like
        :math:`\Delta = m - n`.
    inv_freq : array_like, shape (d/2,)
    layout : {"interleaved", "half"}
        How ``q``/``k`` store their pairs (Su's article: interleaved).

    Returns
    -------
    exact, bound : ndarray, shape of ``distance``, float64
        ``bound >= exact`` always (up to rounding, ~``d`` ulp).

    References
    ----------
    .. [1] Su Jianlin, https://kexue.fm/archives/8265

    Examples
    --------
    >>> exact, bound = abel_bound([1.0, 0, 1, 0], [1.0, 0, 1, 0], 0.0, [1.0, 0.01])
    >>> float(exact), float(bound)  # h = (1, 1): |1 + 1| = 2 <= max|dh| (|S_1| + |S_2|) = 1 * 3
    (2.0, 3.0)
    """
    layout = check_choice(layout, "layout", LAYOUTS)
    th = real_array(inv_freq, "inv_freq", ndim=1, min_size=1)
    d = 2 * th.shape[0]
    qa = real_array(q, "q", shape=(d,))
    ka = real_array(k, "k", shape=(d,))
    if layout == "half":
        inv = np.argsort(layout_permutation(d))
        qa, ka = qa[inv], ka[inv]
    dist = real_array(distance, "distance").reshape(np.shape(distance))
    check_size(dist.shape + th.shape, "distance", itemsize=16)
    with np.errstate(over="ignore", invalid="ignore"):
        h = (qa[0::2] + 1j * qa[1::2]) * np.conj(ka[0::2] + 1j * ka[1::2])
        exact = np.abs(np.exp(1j * dist[..., None] * th) @ h)
        S = _partial_sums(dist, th)
        dh = np.append(h[1:], 0.0) - h
        bound = np.max(np.abs(dh)) * np.sum(np.abs(S), axis=-1)
    if not (np.all(np.isfinite(exact)) and np.all(np.isfinite(bound))):
        raise ValueError("parameters 'q', 'k', 'distance', 'inv_freq': the sums exceed the float64 range "
                         "(|q| |k| or |distance theta| too large)")
    return exact, bound


def beta_digits(n, beta, ndigits, *, floor=True):
    r"""The ``ndigits`` lowest base-:math:`\beta` digits of ``n``, most significant first.

    Digit :math:`m = 1..` ``ndigits`` (from the right) is
    :math:`\lfloor n/\beta^{m-1}\rfloor \bmod \beta`; RoPE's angle for pair
    :math:`m-1` is :math:`n/\beta^{m-1}` with :math:`\beta = b^{2/d}`, so, up to
    the floor, RoPE writes :math:`n` in base :math:`\beta` [1]_. With
    ``floor=False`` the digits are :math:`(n/\beta^{m-1}) \bmod \beta` (the
    continuous "digits" that cos/sin see).

    Parameters
    ----------
    n : float
        Non-negative number.
    beta : float
        Base :math:`\beta > 1` (need not be an integer).
    ndigits : int
        Number of digits (>= 1).
    floor : bool, optional

    Returns
    -------
    ndarray, shape (ndigits,), float64. Exact (integer arithmetic) for integer
    ``n`` and ``beta``, matching ``numpy.base_repr``; otherwise float64 with
    one rounding per division.

    References
    ----------
    .. [1] Su Jianlin, https://kexue.fm/archives/9675

    Examples
    --------
    >>> beta_digits(1749, 16, 3)  # numpy.base_repr(1749, 16) == '6D5'
    array([ 6., 13.,  5.])
    >>> beta_digits(1749 / 2, 10, 3)  # PI halves the number: 874.5 (Su writes [8, 7, 4.5])
    array([8., 7., 4.])
    >>> beta_digits(1749 / 2, 10, 3, floor=False)[-1]  # without the floor the last digit keeps 0.5
    np.float64(4.5)
    """
    ndigits = check_int(ndigits, "ndigits", min_value=1)
    check_size(ndigits, "ndigits")
    beta_v = check_real(beta, "beta", low=1.0, low_open=True)
    n_v = check_real(n, "n", low=0.0)
    floor = check_bool(floor, "floor")
    int_like = lambda v: isinstance(v, (numbers.Integral, np.integer)) or float(v).is_integer()  # noqa: E731
    if floor and int_like(n) and int_like(beta) and n_v < 2**63:
        ni, bi = int(n_v), int(beta_v)
        out = []
        for _ in range(ndigits):
            out.append(float(ni % bi))
            ni //= bi
        return np.array(out[::-1])
    m = np.arange(ndigits - 1, -1, -1, dtype=np.float64)
    with np.errstate(over="ignore"):  # beta^m beyond float64: n / beta^m rounds to 0, the digit's value
        v = n_v / beta_v**m
    return np.mod(np.floor(v) if floor else v, beta_v)
