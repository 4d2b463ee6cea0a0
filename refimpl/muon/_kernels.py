"""numba kernel of refimpl.muon (the kappa-fit SGD loop of 10592) and its NumPy twin.

The twin runs the same update with vectorised NumPy (pairwise summation in
the mean), so the two agree to rounding (tested to rtol 1e-10), not bitwise.
"""
from __future__ import annotations

import numpy as np

from .._numba import njit


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


def kappa_loss_grad_np(p, data, T):
    """NumPy twin of :func:`kappa_loss_grad_nb`: returns ``(loss, grad)``."""
    kappa, x1, x2 = p
    y = data
    dy = np.zeros((3, data.size))
    for _ in range(T):
        y2 = y * y
        q1, q2 = y2 - x1 * x1, y2 - x2 * x2
        h = y * q1 * q2
        slope = 1.0 + kappa * (q1 * q2 + 2.0 * y2 * (q1 + q2))
        dy = dy * slope
        dy[0] += h
        dy[1] += kappa * y * q2 * (-2.0 * x1)
        dy[2] += kappa * y * q1 * (-2.0 * x2)
        y = y + kappa * h
    r = y - 1.0
    return float(np.mean(r * r)), 2.0 * (dy @ r) / data.size


def kappa_sgd_np(p0, data, T, lr, beta, iterations):
    """NumPy twin of :func:`kappa_sgd_nb`."""
    p = np.array(p0, dtype=np.float64)
    u = np.zeros(3)
    for _ in range(iterations):
        _, g = kappa_loss_grad_np(p, data, T)
        u = beta * u + g
        p = p - lr * u
    return p
