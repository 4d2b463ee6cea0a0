"""The case table of refimpl.embedding: one row per public function (see :mod:`refimpl.testing.cases`).

Every function here is a short closed form or a plain simulation, so each
is its own definition (no fast paths). ``simulate_init_loss`` returns a
result object; its row compares the per-pair ``losses`` of a seeded run.
"""
from __future__ import annotations

import math

import numpy as np

from ..testing.cases import Article, Case, Peer
from .init_loss import VARIANTS, expected_init_loss, init_std_for_uniform_loss, simulate_init_loss, tied_init_loss

ARTICLE = "https://kexue.fm/archives/9698"
BERT = (30522, 768)   # BERT-base vocabulary and width, the article's running example of a tied model


# --------------------------------------------------------------------------- generators

def _tied_inputs(src):
    return {"n_vocab": src.integer("n_vocab", 1, 256000), "d": src.integer("d", 1, 8192),
            "sigma": src.real("sigma", 1e-4, 1.0, log=True)}


def _std_inputs(src):
    return {"n_vocab": src.integer("n_vocab", 2, 10**6), "d": src.integer("d", 1, 16384)}


def _expected_inputs(src):
    return {"n_vocab": src.integer("n_vocab", 2, 256000), "d": src.even("d", 2, 2048),
            "sigma": src.real("sigma", 1e-3, 1.0, log=True), "variant": src.choice("variant", VARIANTS)}


def _simulate_inputs(src):
    return {"n_vocab": src.integer("n_vocab", 2, 1500), "d": src.even("d", 2, 96),
            "sigma": src.real("sigma", 1e-3, 1.0, log=True), "variant": src.choice("variant", VARIANTS),
            "rng": src.integer("rng", 0, 2**31), "n_pairs": src.integer("n_pairs", 2, 300)}


def _simulate_losses(n_vocab, d, sigma, variant="tied", rng=None, n_pairs=2000):
    return simulate_init_loss(n_vocab, d, sigma, variant, rng=rng, n_pairs=n_pairs).losses


# --------------------------------------------------------------------------- peers

def _mp_tied(n_vocab, d, sigma):
    """log(e^{d sigma} + n - 1) evaluated directly in 50-digit arithmetic (mpmath)."""
    import mpmath as mp

    with mp.workdps(50):
        return float(mp.log(mp.exp(mp.mpf(d) * mp.mpf(sigma)) + (n_vocab - 1)))


def _mp_std(n_vocab, d):
    """log(n) / d in 50-digit arithmetic (mpmath)."""
    import mpmath as mp

    with mp.workdps(50):
        return float(mp.log(n_vocab) / d)


def _mp_expected(n_vocab, d, sigma, variant="tied"):
    """The large-n expectation in 30-digit arithmetic: closed forms, and for "tied" mpmath's tanh-sinh
    quadrature of log(e^{sqrt(d) sigma r} + (n-1) e^{s^2/2}) against the chi_d density on [0, inf)."""
    import mpmath as mp

    with mp.workdps(30):
        s2 = mp.mpf(d) * mp.mpf(sigma) ** 2
        log_cross = mp.log(n_vocab - 1) + s2 / 2
        if variant in ("untied", "projection"):
            return float(mp.log(n_vocab) + s2 / 2)
        if variant == "shuffle":
            return float(log_cross + mp.log1p(mp.exp(s2 - log_cross)))
        k = mp.mpf(d)
        log_norm = (k / 2 - 1) * mp.log(2) + mp.loggamma(k / 2)
        scale = mp.sqrt(k) * mp.mpf(sigma)

        def f(r):
            if r == 0:
                return mp.mpf(0)
            a, b = scale * r, log_cross
            lse = max(a, b) + mp.log1p(mp.exp(-abs(a - b)))
            return lse * mp.exp((k - 1) * mp.log(r) - r * r / 2 - log_norm)

        m = mp.sqrt(k - mp.mpf(1) / 2)
        points = [0] + [p for p in (m - 12, m - 3, m, m + 3, m + 12, m + 40) if p > 0] + [mp.inf]
        return float(mp.quad(f, points))


def _torch_losses(n_vocab, d, sigma, variant="tied", rng=None, n_pairs=2000):
    """The sampling protocol of simulate_init_loss transcribed with NumPy (same draws, same order), the model
    in torch: F.rms_norm (eps = 0), the output layer, F.cross_entropy per pair."""
    import torch
    import torch.nn.functional as F

    gen = np.random.default_rng(rng)
    W = gen.standard_normal((n_vocab, d)) * sigma
    V = gen.standard_normal((n_vocab, d)) * sigma if variant == "untied" else W
    if variant == "projection":
        Q, R = np.linalg.qr(gen.standard_normal((d, d)))
        P = torch.from_numpy(Q * np.sign(np.diag(R)))
    I = gen.choice(n_vocab, size=n_pairs, replace=False) if n_pairs <= n_vocab else gen.integers(0, n_vocab, n_pairs)
    J = (I + gen.integers(1, n_vocab, size=n_pairs)) % n_vocab
    h = F.rms_norm(torch.from_numpy(W)[torch.from_numpy(I)], (d,), eps=0.0)
    if variant == "projection":
        h = h @ P
    elif variant == "shuffle":
        h = torch.roll(h, d // 2, dims=1)                 # swapping the two halves
    return F.cross_entropy(h @ torch.from_numpy(V).T, torch.from_numpy(J), reduction="none").numpy()


# --------------------------------------------------------------------------- the table

_HUGE = {"huge": "a closed form in n and d: 2**64 gives its finite value (documented in the docstring)"}

CASES = [
    Case("embedding.tied_init_loss", tied_init_loss, inputs=_tied_inputs,
         tol={"float64": (1e-13, 0.0), "float32": (1e-6, 0.0)}, rule="elementwise",
         why="log(exp(d sigma) + n - 1) for d sigma up to 8192 (a naive exp overflows even in float64), "
             "evaluated as logaddexp(d sigma, log(n - 1)): a few ulp, rtol 1e-13; a float32 result is one "
             "rounding of a value >= log(n) or >= d sigma away from 0 (n = 1: the value is d sigma itself): "
             "rtol 1e-6 (8 ulp of float32)",
         peers=(Peer("mpmath: log(exp(d sigma) + n - 1) at 50 digits", _mp_tied, requires=("mpmath",),
                     why="the formula as the article writes it, without the logaddexp rewriting"),),
         corners=({"n_vocab": 1}, {"d": 8192, "sigma": 1.0}),
         article=(Article(ARTICLE, "sigma = 1/sqrt(d) gives a loss of about d sigma = sqrt(d) (BERT sizes; the "
                          "neglected (n-1) e^{-sqrt d} is 3e-8 nats)",
                          lambda: tied_init_loss(*BERT, BERT[1] ** -0.5), math.sqrt(BERT[1]), atol=1e-7),
                  Article(ARTICLE, "the fix sigma = log(n)/d makes e^{d sigma} = n: the loss log(2n - 1) "
                          "(BERT sizes)",
                          lambda: tied_init_loss(*BERT, init_std_for_uniform_loss(*BERT)),
                          math.log(2 * BERT[0] - 1), rtol=1e-14)),
         documented={"n_vocab": _HUGE, "d": _HUGE}),
    Case("embedding.init_std_for_uniform_loss", init_std_for_uniform_loss, inputs=_std_inputs,
         tol={"float64": (1e-15, 0.0), "float32": (3e-7, 0.0)}, rule="elementwise",
         why="log(n) / d: one log (<= 1 ulp) and one correctly rounded division: <= 2 u = 4.4e-16 (float64, "
             "rtol 1e-15); float32 2.4e-7, rtol 3e-7",
         peers=(Peer("mpmath: log(n) / d at 50 digits", _mp_std, requires=("mpmath",),
                     why="the defining formula in extended precision"),),
         documented={"n_vocab": _HUGE, "d": _HUGE}),
    Case("embedding.expected_init_loss", expected_init_loss, inputs=_expected_inputs,
         tol={"float64": (1e-10, 0.0)}, rule="elementwise",
         why="closed forms (a few ulp) and, for 'tied', adaptive quadrature of a smooth integrand against the "
             "chi_d density truncated at the 1e-15 quantiles (epsrel 1e-12; truncation 2e-15 relative): rtol 1e-10",
         peers=(Peer("mpmath: 30-digit closed forms and tanh-sinh quadrature over [0, inf)", _mp_expected,
                     requires=("mpmath",), examples=6,
                     why="an independent quadrature (no truncation, other rule) of the same expectation"),),
         corners=({"variant": "tied", "d": 2048, "sigma": 1.0}, {"variant": "shuffle", "d": 2}, {"n_vocab": 2}),
         documented={"n_vocab": _HUGE}),
    Case("embedding.simulate_init_loss", simulate_init_loss, inputs=_simulate_inputs, reference=_simulate_losses,
         tol={"float64": (1e-12, 1e-12)},
         why="output: the per-pair losses of a seeded run (embeddings, pairs and the projection drawn from "
             "numpy.random.default_rng(rng) in the documented order). Each loss is a logsumexp over n <= 1500 "
             "logits of size <= d sigma |z| minus one logit: absolute error a few u max|logit| <= 1e-13 for "
             "d <= 96, sigma <= 1: rtol and atol 1e-12",
         peers=(Peer("torch: F.rms_norm(eps=0) + F.cross_entropy on the same draws", _torch_losses,
                     requires=("torch",), examples=6,
                     why="the model evaluated by torch; only the sampling protocol is transcribed"),),
         corners=({"variant": "projection"}, {"variant": "shuffle", "d": 2}, {"n_pairs": 300, "n_vocab": 2})),
]
