r"""Initial loss of a language model whose output layer reuses (ties) the input embedding.

Source: Su Jianlin, "语言模型输出端共享Embedding的重新探索" (Re-exploring shared
embeddings at the output of language models), https://kexue.fm/archives/9698
(English: https://rohin-garg.github.io/kexue-en/translations/translation_9698.html).

At initialisation the residual branches are about zero (DeepNorm-like), so
the model is a 2-gram model: the input token ``i`` is mapped to its
embedding :math:`w_i`, normalised by RMSNorm to
:math:`h_i = w_i/(\|w_i\|/\sqrt d)\approx w_i/\sigma`, and scored against
every output embedding. With tied embeddings the score of ``i`` itself is
:math:`h_i\cdot w_i\approx d\sigma`, which dominates the softmax and gives
a loss far above the uniform :math:`\log n`:

.. math::

    -\log p(j\mid i) \approx \log\big(e^{d\sigma} + n - 1\big),\qquad j\ne i .

Entries of the embeddings are i.i.d. :math:`\mathcal N(0,\sigma^2)` here
(the article's moment calculations need only mean 0 and variance
:math:`\sigma^2`; Gaussian is the case it evaluates). Derivations:
``derivations/tied_embedding.py``.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import integrate, special, stats

from .._validation import check_choice, check_int, check_real, check_rng, check_size

__all__ = ["VARIANTS", "InitLossSimulation", "expected_init_loss", "init_std_for_uniform_loss",
           "simulate_init_loss", "tied_init_loss"]

#: The output-layer variants of :func:`simulate_init_loss`.
VARIANTS = ("tied", "untied", "projection", "shuffle")
_MAX_SIZE = 2**1023  # sizes in the closed forms: below float64's largest value, so d * sigma never raises
_TIED_MAX_D = 10**8  # expected_init_loss("tied"): largest d whose chi(d) quadrature keeps its accuracy
_ROWS = 128  # query rows per logits block in simulate_init_loss


def _n_d_sigma(n_vocab, d, sigma, *, n_min=1):
    n_vocab = check_int(n_vocab, "n_vocab", min_value=n_min, max_value=_MAX_SIZE)
    d = check_int(d, "d", min_value=1, max_value=_MAX_SIZE)
    sigma = check_real(sigma, "sigma", low=0.0, low_open=True)
    return n_vocab, d, sigma


def tied_init_loss(n_vocab, d, sigma):
    r"""Su's estimate of the initial loss with tied embeddings: :math:`\log(e^{d\sigma}+n-1)`.

    Parameters
    ----------
    n_vocab : int
        Vocabulary size :math:`n\ge1`.
    d : int
        Embedding dimension, >= 1. Any sizes up to 2**1023 are accepted
        (no array is made): 2**64 gives the formula's finite value.
    sigma : float
        Standard deviation of the embedding entries at initialisation, > 0.

    Returns
    -------
    float
        Nats. Evaluated as ``logaddexp(d*sigma, log(n-1))`` (no overflow for
        large :math:`d\sigma`).

    Raises
    ------
    ValueError
        ``n_vocab < 1``, ``d < 1``, ``sigma <= 0`` or not finite, or
        :math:`d\sigma` beyond float64 (the loss is then about
        :math:`d\sigma`).
    TypeError
        Non-integer ``n_vocab`` or ``d``.

    Notes
    -----
    Accuracy of the formula (not of its evaluation, which is a few ulp): it
    replaces :math:`h_i\cdot w_k` by its mean 0 for :math:`k\ne i` and
    :math:`h_i\cdot w_i` by :math:`d\sigma`. Under Gaussian initialisation
    each :math:`h_i\cdot w_k` is exactly :math:`\mathcal N(0, d\sigma^2)`,
    so the neglected factor :math:`\mathbb E e^{h_i\cdot w_k}=e^{d\sigma^2/2}`
    shifts the loss by at most :math:`d\sigma^2/2` (0.5 nats for
    :math:`\sigma=1/\sqrt d`); :func:`expected_init_loss` includes it and
    matches simulation within Monte-Carlo error (tested). Typical values:
    :math:`\sigma=1/\sqrt d` gives about :math:`\sqrt d`
    (27.7 for d = 768) against :math:`\log n` = 10.3 for n = 30522.
    https://kexue.fm/archives/9698, eq. (loss).

    Examples
    --------
    >>> round(tied_init_loss(30522, 768, 768 ** -0.5), 4)       # ~ sqrt(768) = 27.7128
    27.7128
    >>> n = 30522
    >>> bool(np.isclose(tied_init_loss(n, 768, np.log(n) / 768), np.log(2 * n - 1)))
    True
    """
    n_vocab, d, sigma = _n_d_sigma(n_vocab, d, sigma)
    ds = d * sigma
    if not math.isfinite(ds):
        raise ValueError(f"parameters 'd', 'sigma': the loss, about d sigma = {d} x {sigma:.3g}, is beyond float64")
    if n_vocab == 1:
        return float(ds)
    return float(np.logaddexp(ds, math.log(n_vocab - 1)))


def init_std_for_uniform_loss(n_vocab, d):
    r"""The initial standard deviation :math:`\sigma=\log n/d` that makes :math:`e^{d\sigma}=n`.

    Su's first fix: the tied-embedding loss becomes
    :math:`\log(2n-1)\approx\log n+\log 2` (:func:`tied_init_loss`).

    Parameters
    ----------
    n_vocab : int
        Vocabulary size, >= 2.
    d : int
        Embedding dimension, >= 1. Any sizes up to 2**1023 are accepted
        (no array is made): 2**64 gives the formula's finite value.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        ``n_vocab < 2`` or ``d < 1``.

    Notes
    -----
    Su found this the slowest to converge of his fixes (the other three are
    the ``"untied"``, ``"projection"`` and ``"shuffle"`` variants of
    :func:`simulate_init_loss`). Accuracy: one log and one division.
    https://kexue.fm/archives/9698.

    Examples
    --------
    >>> round(init_std_for_uniform_loss(30522, 768), 6)
    0.013446
    """
    n_vocab = check_int(n_vocab, "n_vocab", min_value=2, max_value=_MAX_SIZE)
    d = check_int(d, "d", min_value=1, max_value=_MAX_SIZE)
    return math.log(n_vocab) / d


def expected_init_loss(n_vocab, d, sigma, variant="tied"):
    r"""Large-``n`` expectation of the initial loss for each output-layer variant (refines :func:`tied_init_loss`).

    With Gaussian initialisation and RMSNorm, each cross score
    :math:`x_k = h_i\cdot w_k` (:math:`k\ne i`) is exactly
    :math:`\mathcal N(0, s^2)`, :math:`s^2=d\sigma^2`, independently of
    :math:`w_i`, so :math:`\sum_{k\ne i}e^{x_k}\approx(n-1)e^{s^2/2}` (law of
    large numbers). The self score is, per variant:

    - ``"tied"``: :math:`h_i\cdot w_i=\sqrt d\,\|w_i\| = \sqrt d\,\sigma\chi_d`;
      the loss is :math:`\mathbb E_{\chi_d}\log(e^{\sqrt d\sigma\chi_d}+(n-1)e^{s^2/2})`
      (one-dimensional quadrature);
    - ``"untied"`` and ``"projection"``: another :math:`\mathcal N(0,s^2)`
      score (approximately, for the projection), so the loss is
      :math:`\log n + s^2/2`;
    - ``"shuffle"``: :math:`h_i\cdot\mathcal S[w_i]` has variance
      :math:`2s^2`, giving :math:`\log((n-1)e^{s^2/2}+e^{s^2})`.

    The target score :math:`x_j` has mean 0, so it does not shift the mean loss.

    Parameters
    ----------
    n_vocab, d, sigma
        As in :func:`tied_init_loss` (``n_vocab >= 2``; ``d <= 1e8`` for
        ``"tied"``).
    variant : {"tied", "untied", "projection", "shuffle"}, optional

    Returns
    -------
    float

    Raises
    ------
    ValueError
        As :func:`tied_init_loss`, an unknown ``variant``, odd ``d`` with
        ``"shuffle"``, or :math:`d\sigma^2` beyond float64 (the loss is at
        least :math:`d\sigma^2/2`); ``d > 1e8`` with ``"tied"`` (the quadrature
        over the chi(d) law loses digits beyond: 1e-5 nats at d = 1e9).

    Notes
    -----
    Accuracy: the law-of-large-numbers step errs by about
    :math:`(e^{s^2}-1)/(2n)` nats; the quadrature by < 1e-10. The simulated
    mean of :func:`simulate_init_loss` agrees within its confidence interval
    (tested for several (n, d, sigma)). Not in the article; it is the
    article's estimate with the variance of the cross scores kept.

    Examples
    --------
    >>> n, d = 30522, 768
    >>> round(expected_init_loss(n, d, 0.02, "untied") - float(np.log(n)), 4)     # s^2/2 = 768 * 0.02^2 / 2
    0.1536
    """
    n_vocab, d, sigma = _n_d_sigma(n_vocab, d, sigma, n_min=2)
    check_choice(variant, "variant", VARIANTS)
    if variant == "shuffle" and d % 2:
        raise ValueError(f"parameter 'd' must be even for variant='shuffle' (the halves are swapped), got {d}")
    half = d * sigma * (sigma / 2.0)          # s^2 / 2 = d sigma^2 / 2
    if not math.isfinite(2.0 * half):
        raise ValueError(f"parameters 'd', 'sigma': the loss, at least d sigma^2 / 2 = {d} x {sigma:.3g}^2 / 2, "
                         "is beyond float64")
    s2 = 2.0 * half
    log_cross = math.log(n_vocab - 1) + half
    if variant in ("untied", "projection"):
        return math.log(n_vocab) + half
    if variant == "shuffle":
        return float(np.logaddexp(log_cross, s2))
    if d > _TIED_MAX_D:
        raise ValueError(f"parameter 'd' must be <= {_TIED_MAX_D:.0e} for variant='tied' (the quadrature over the "
                         f"chi(d) law loses accuracy beyond), got {d}")
    chi = stats.chi(d)
    lo, hi = chi.ppf(1e-15), chi.isf(1e-15)
    scale = math.sqrt(d) * sigma

    def integrand(r):
        return np.logaddexp(scale * r, log_cross) * chi.pdf(r)

    val, _ = integrate.quad(integrand, lo, hi, points=[chi.mean()], epsabs=1e-12, epsrel=1e-12, limit=200)
    return float(val / (chi.cdf(hi) - chi.cdf(lo)))


@dataclasses.dataclass(frozen=True)
class InitLossSimulation:
    """Result of :func:`simulate_init_loss`: ``mean`` loss (nats), its ``stderr``, per-pair ``losses``.

    ``float(result)`` is the mean.
    """

    mean: float
    stderr: float
    losses: np.ndarray

    def __float__(self):
        return float(self.mean)


def _haar_orthogonal(d, gen):
    """A Haar-distributed orthogonal d x d matrix (QR of a Gaussian with the sign fix)."""
    Q, R = np.linalg.qr(gen.standard_normal((d, d)))
    return Q * np.sign(np.diag(R))


def pair_losses(W, out_mat, I, J, variant, P=None, scale=1.0):
    r"""Losses :math:`-\log p(j|i)` for given embeddings (no validation; used by :func:`simulate_init_loss`).

    ``W`` (n, d) input embeddings, ``out_mat`` (n, d) output embeddings (``W``
    itself when tied), ``I``, ``J`` index arrays, ``P`` the (d, d) projection
    for ``variant="projection"``. RMSNorm without epsilon or gain. The logits
    are ``scale * (h @ out_mat.T)``: :func:`simulate_init_loss` passes unit
    normals and ``scale = sigma`` (RMSNorm does not see the scale of ``W``),
    so no entry underflows or overflows at extreme ``sigma``.
    """
    d = W.shape[1]
    losses = np.empty(I.shape[0])
    for start in range(0, I.shape[0], _ROWS):
        rows = slice(start, min(start + _ROWS, I.shape[0]))
        Wi = W[I[rows]]
        h = Wi / np.sqrt(np.mean(Wi * Wi, axis=1, keepdims=True))        # h_i = w_i / RMS(w_i)
        if variant == "projection":
            h = h @ P
        elif variant == "shuffle":
            h = np.concatenate([h[:, d // 2:], h[:, :d // 2]], axis=1)   # S[h] = h[d/2:] o h[:d/2]
        logits = scale * (h @ out_mat.T)
        lse = special.logsumexp(logits, axis=1)
        losses[rows] = lse - logits[np.arange(logits.shape[0]), J[rows]]  # log sum_k e^l_k - l_j
    return losses


def simulate_init_loss(n_vocab, d, sigma, variant="tied", rng=None, n_pairs=2000):
    r"""Monte-Carlo initial loss :math:`-\log p(j\mid i)` of the 2-gram model at initialisation.

    Draws the embedding matrix :math:`W\in\mathbb R^{n\times d}` with i.i.d.
    :math:`\mathcal N(0,\sigma^2)` entries, picks ``n_pairs`` input tokens
    ``i`` (distinct when ``n_pairs <= n_vocab``) and for each a target
    :math:`j\ne i` uniformly, forms :math:`h_i=w_i/\mathrm{RMS}(w_i)` (exact
    RMSNorm: no epsilon, unit gain) and scores it against the output matrix:

    - ``"tied"``: logits :math:`h_i W^\top`;
    - ``"untied"``: logits :math:`h_i V^\top`, ``V`` an independent copy of ``W``;
    - ``"projection"``: logits :math:`(h_iP)W^\top`, ``P`` a Haar orthogonal
      :math:`d\times d` matrix (BERT's extra dense layer, no bias/activation);
    - ``"shuffle"``: logits :math:`\mathcal S[h_i]W^\top` with
      :math:`\mathcal S[w]=w[d/2:]\circ w[:d/2]` (the halves swapped; needs even ``d``).

    The loss of a pair is :math:`\log\sum_k e^{\ell_k}-\ell_j`.

    Parameters
    ----------
    n_vocab : int
        Vocabulary size, >= 2.
    d : int
        Dimension, >= 1 (even for ``"shuffle"``).
    sigma : float
        Initial standard deviation, > 0.
    variant : {"tied", "untied", "projection", "shuffle"}, optional
    rng : numpy.random.Generator or int or None, optional
        Seed or generator (an int makes the result reproducible).
    n_pairs : int, optional
        Number of (i, j) pairs, >= 2.

    Returns
    -------
    InitLossSimulation
        ``mean``, ``stderr`` (sample standard deviation / sqrt(n_pairs)),
        ``losses`` (n_pairs,).

    Raises
    ------
    ValueError
        ``n_vocab < 2``, ``d < 1``, ``sigma <= 0``, ``n_pairs < 2``, unknown
        ``variant``, odd ``d`` with ``"shuffle"``, sizes whose arrays exceed
        the memory refimpl allows (naming ``n_vocab``, ``n_pairs`` or ``d``),
        or logits beyond float64 (``d sigma`` near 1e308).
    TypeError
        Non-integer ``n_vocab``, ``d``, ``n_pairs``; an ``rng`` that is not
        None, a seed >= 0 or a Generator.

    Notes
    -----
    Cost: one (n_pairs x d) by (d x n) product, in blocks of 128 rows.
    The embeddings are drawn as unit normals ``Z`` and the logits scaled by
    ``sigma`` (``W = sigma Z``; RMSNorm removes the scale of ``w_i``), so a
    tiny or huge ``sigma`` neither underflows nor overflows in ``RMS(w_i)``.
    The pairs share ``W``, so ``stderr`` treats weakly dependent losses as
    independent; the tests compare with :func:`expected_init_loss` at
    several (n, d, sigma) within 4 standard errors. Expectations (Su,
    https://kexue.fm/archives/9698): ``"tied"`` is far above
    :math:`\log n` unless :math:`\sigma\lesssim\log n/d`; the other three
    are near :math:`\log n` (above it by about :math:`d\sigma^2/2`).

    Examples
    --------
    >>> res = simulate_init_loss(2000, 64, 0.125, "tied", rng=0, n_pairs=500)    # sigma = 1/sqrt(d)
    >>> bool(abs(res.mean - expected_init_loss(2000, 64, 0.125)) < 4 * res.stderr)
    True
    >>> round(tied_init_loss(2000, 64, 0.125), 3)                                # Su: log(e^8 + 1999)
    8.513
    """
    n_vocab, d, sigma = _n_d_sigma(n_vocab, d, sigma, n_min=2)
    check_choice(variant, "variant", VARIANTS)
    n_pairs = check_int(n_pairs, "n_pairs", min_value=2)
    if variant == "shuffle" and d % 2:
        raise ValueError(f"parameter 'd' must be even for variant='shuffle' (the halves are swapped), got {d}")
    gen = check_rng(rng)
    check_size((2 if variant == "untied" else 1, n_vocab, d), "n_vocab' and 'd")
    check_size((_ROWS, n_vocab, 2), "n_vocab")               # one block of logits
    check_size((n_pairs, 4), "n_pairs")
    if variant == "projection":
        check_size((d, d, 2), "d")
    Z = gen.standard_normal((n_vocab, d))                     # W = sigma Z
    out_mat = gen.standard_normal((n_vocab, d)) if variant == "untied" else Z
    P = _haar_orthogonal(d, gen) if variant == "projection" else None
    if n_pairs <= n_vocab:
        I = gen.choice(n_vocab, size=n_pairs, replace=False)
    else:
        I = gen.integers(0, n_vocab, size=n_pairs)
    J = (I + gen.integers(1, n_vocab, size=n_pairs)) % n_vocab  # uniform over j != i
    with np.errstate(over="ignore", invalid="ignore"):
        losses = pair_losses(Z, out_mat, I, J, variant, P, scale=sigma)
    if not np.all(np.isfinite(losses)):
        raise ValueError(f"parameters 'sigma', 'd': the logits sigma h.w (up to about d sigma = {d * sigma:.3g}) "
                         "overflow float64")
    e = math.frexp(float(np.max(losses)))[1]             # losses > 0; 2^-e scaling is exact and keeps
    mean = float(losses.mean())                           # the squares of the spread inside float64
    se = math.ldexp(float(np.ldexp(losses, -e).std(ddof=1)), e) / math.sqrt(n_pairs)
    return InitLossSimulation(mean, se, losses)
