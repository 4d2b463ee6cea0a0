"""The acceleration layer of refimpl.muon: numba kernels and the tuned NumPy Newton--Schulz.

- :func:`kappa_sgd_nb`: the kappa-fit SGD loop of https://kexue.fm/archives/10592
  as one numba kernel (``fit_coefficients("kappa", backend="numba")``); its
  definition is :func:`refimpl.muon.reference.kappa_sgd` (same loss, gradient
  taken in (a, b, c) and mapped by the chain rule there, directly in
  (kappa, x1, x2) here), tested against it.
- :func:`newton_schulz_numpy`: what ``newton_schulz(backend="auto")`` runs on
  NumPy input: the code of ``_xp.py`` on 2-D BLAS calls (SYRK), a stack
  split over one thread per core with single-threaded BLAS.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .._numba import njit
from ._xp import newton_schulz_xp

try:  # BLAS threads inside the batch threads would oversubscribe the cores: pin BLAS to 1 thread there
    from threadpoolctl import threadpool_limits as _threadpool_limits
except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
    _threadpool_limits = None


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


def _threads():
    return max(1, min(os.cpu_count() or 1, 8))


def newton_schulz_numpy(M, sched, eps, normalization, eps_mode, transpose_tall, use_prescale, dtype, *,
                        mode=None):
    """Tuned NumPy Newton--Schulz (float64/float32) of ``M`` (..., n, m).

    One matrix: 2-D BLAS calls, where ``X X^T`` and ``A A^T`` hit SYRK.
    A stack (``mode``, default chosen by size):

    - ``"batched"``: one batched ``np.matmul`` per product (tiny matrices,
      where per-call overhead dominates);
    - ``"threads"``: the stack split over one Python thread per core, each
      running its matrices through single-threaded 2-D BLAS (NumPy releases
      the GIL in BLAS; ``threadpoolctl`` pins BLAS to one thread so that the
      threads do not oversubscribe the cores): small and medium matrices,
      where one multi-threaded BLAS call per matrix spends its time
      synchronising its threads;
    - ``"loop"``: the matrices one by one, each with BLAS's own threads.
    """
    n, m = M.shape[-2:]
    args = (sched, eps, normalization, eps_mode, transpose_tall, use_prescale, dtype)
    if M.ndim == 2:
        return newton_schulz_xp(np, M, *args)
    flat = M.reshape(-1, n, m)
    count = flat.shape[0]
    workers = min(_threads(), count)
    if mode is None:
        if n * n * m < 64**3:
            mode = "batched"
        elif (workers > 1 and _threadpool_limits is not None and min(n, m) <= 1024
              and count * n * n * m >= 1 << 25):  # enough work to pay for the pool and the BLAS pinning (~1 ms)
            mode = "threads"
        else:
            mode = "loop"
    if mode == "batched":
        return newton_schulz_xp(np, M, *args)
    out = [None] * count
    if mode == "threads" and workers > 1 and _threadpool_limits is not None:
        def work(start):
            for i in range(start, count, workers):
                out[i] = newton_schulz_xp(np, flat[i], *args)

        with _threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(workers) as pool:
            list(pool.map(work, range(workers)))
    else:
        for i in range(count):
            out[i] = newton_schulz_xp(np, flat[i], *args)
    return np.stack(out).reshape(M.shape[:-2] + out[0].shape)
