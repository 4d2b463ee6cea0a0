"""The acceleration layer of refimpl.muon: numba kernels and the tuned NumPy Newton--Schulz.

- :func:`kappa_sgd_nb`: the kappa-fit SGD loop of https://kexue.fm/archives/10592
  as one numba kernel (``fit_coefficients("kappa", backend="numba")``); its
  definition is :func:`refimpl.muon.reference.kappa_sgd` (same loss, gradient
  taken in (a, b, c) and mapped by the chain rule there, directly in
  (kappa, x1, x2) here), tested against it.
- :func:`newton_schulz_numpy`: what ``newton_schulz(backend="auto")`` runs on
  NumPy input: the batched code of ``_xp.py`` on 2-D BLAS calls (SYRK).
"""
from __future__ import annotations

import numpy as np

from .._numba import njit
from ._xp import newton_schulz_xp


@njit(cache=True, nogil=True, fastmath=False, error_model="numpy")
def kappa_loss_grad_nb(p, data, T, grad):
    """Mean (x_T - 1)^2 over ``data`` for g(x) = x + kappa x (x^2-x1^2)(x^2-x2^2); gradient into ``grad``."""
    kappa, x1, x2 = p[0], p[1], p[2]
    loss = 0.0
    g0 = 0.0
    g1 = 0.0
    g2 = 0.0
    for i in range(data.shape[0]):
        y = data[i]
        d0 = 0.0
        d1 = 0.0
        d2 = 0.0
        for _ in range(T):
            y2 = y * y
            q1 = y2 - x1 * x1
            q2 = y2 - x2 * x2
            h = y * q1 * q2
            slope = 1.0 + kappa * (q1 * q2 + 2.0 * y2 * (q1 + q2))
            d0 = d0 * slope + h
            d1 = d1 * slope + kappa * y * q2 * (-2.0 * x1)
            d2 = d2 * slope + kappa * y * q1 * (-2.0 * x2)
            y = y + kappa * h
        r = y - 1.0
        loss += r * r
        g0 += d0 * r
        g1 += d1 * r
        g2 += d2 * r
    n = data.shape[0]
    grad[0] = 2.0 * g0 / n
    grad[1] = 2.0 * g1 / n
    grad[2] = 2.0 * g2 / n
    return loss / n


@njit(cache=True, nogil=True, fastmath=False, error_model="numpy")
def kappa_sgd_nb(p0, data, T, lr, beta, iterations):
    """Momentum SGD u <- beta u + grad, p <- p - lr u (10592), from ``p0``; returns p."""
    p = p0.copy()
    u = np.zeros(3)
    g = np.zeros(3)
    for _ in range(iterations):
        kappa_loss_grad_nb(p, data, T, g)
        for j in range(3):
            u[j] = beta * u[j] + g[j]
            p[j] = p[j] - lr * u[j]
    return p


def newton_schulz_numpy(M, sched, eps, normalization, eps_mode, transpose_tall, use_prescale, dtype):
    """Tuned NumPy Newton--Schulz (float64/float32): stacks of matrices go one by one through 2-D BLAS
    calls, where ``X X^T`` and ``A A^T`` hit SYRK, unless they are tiny (then one batched call)."""
    n, m = M.shape[-2:]
    if M.ndim == 2 or n * n * m < 32**3:
        return newton_schulz_xp(np, M, sched, eps, normalization, eps_mode, transpose_tall, use_prescale, dtype)
    flat = M.reshape(-1, n, m)
    out = [newton_schulz_xp(np, flat[i], sched, eps, normalization, eps_mode, transpose_tall, use_prescale, dtype)
           for i in range(flat.shape[0])]
    return np.stack(out).reshape(M.shape[:-2] + out[0].shape)
