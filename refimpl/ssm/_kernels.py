"""numba kernels of refimpl.ssm and their plain NumPy twins.

Each ``*_nb`` kernel has a ``*_np`` twin that performs the same operations in
the same order (fastmath off), so the two agree bitwise; tests compare them.
"""
from __future__ import annotations

import numpy as np

from .._numba import njit


@njit(cache=True, nogil=True, fastmath=False, error_model="numpy")
def legs_matvec_nb(v, out):
    """out[j] = -r_j sum_{k<j} r_k v_k - (j+1) v_j with r_j = sqrt(2j+1). O(N), in place."""
    acc = 0.0  # exclusive prefix sum  sum_{k<j} r_k v_k
    for j in range(v.shape[0]):
        r_j = np.sqrt(2.0 * j + 1.0)
        out[j] = -r_j * acc - (j + 1.0) * v[j]
        acc += r_j * v[j]


def legs_matvec_np(v):
    """NumPy twin of :func:`legs_matvec_nb`: same formula, same summation order."""
    n = v.shape[0]
    j = np.arange(n, dtype=np.float64)
    r = np.sqrt(2.0 * j + 1.0)
    prefix = np.zeros(n)
    if n > 1:
        prefix[1:] = np.cumsum(r * v)[:-1]
    return -r * prefix - (j + 1.0) * v


@njit(cache=True, nogil=True, fastmath=False, error_model="numpy")
def legs_solve_nb(v, lam, out):
    """Solve (I - lam A) z = v for the LegS A ("paper" scaling) in O(N), in place.

    S_n = sum_{k<=n} r_k z_k obeys S_n = ((1 - lam n) S_{n-1} + r_n v_n) / (1 + lam (n + 1)),
    and z_n = (S_n - S_{n-1}) / r_n.
    """
    s_prev = 0.0
    for n in range(v.shape[0]):
        r_n = np.sqrt(2.0 * n + 1.0)
        s_n = ((1.0 - lam * n) * s_prev + r_n * v[n]) / (1.0 + lam * (n + 1.0))
        out[n] = (s_n - s_prev) / r_n
        s_prev = s_n


def legs_solve_np(v, lam):
    """NumPy twin of :func:`legs_solve_nb`.

    The coefficients are computed vectorised; the first-order recurrence in S
    is inherently serial and runs as a Python loop with the same operations
    in the same order.
    """
    n_idx = np.arange(v.shape[0], dtype=np.float64)
    r = np.sqrt(2.0 * n_idx + 1.0)
    a = 1.0 - lam * n_idx
    rv = r * v
    den = 1.0 + lam * (n_idx + 1.0)
    s = np.empty(v.shape[0])
    s_prev = 0.0
    for n in range(v.shape[0]):
        s_prev = (a[n] * s_prev + rv[n]) / den[n]
        s[n] = s_prev
    out = np.empty_like(s)
    if v.shape[0]:
        out[0] = s[0] / r[0]
        out[1:] = (s[1:] - s[:-1]) / r[1:]
    return out


# ---------------------------------------------------------------------------
# The step-size-free LegS recurrences (refimpl.ssm.memory.legs_recurrence).
# Method codes: 0 bilinear (hippo-code), 1 su_bilinear, 2 forward_euler,
# 3 backward_euler. Row 0 of ``out`` must hold the initial state; row k is the
# state at t = k + 1 after consuming u_0..u_k. Per step (from t = k to k + 1,
# input u_k), with r_n = sqrt(2n+1), B = r, and (Ax)_n = -r_n acc_n - (n+1) x_n
# where acc_n = sum_{j<n} r_j x_j:
#   forward:   z = x + (A x + B u_k) / k
#   implicit:  v = x + h (A x) + B (u_k / k);  (I - lam A) z = v
#              bilinear h = 1/(2k), lam = 1/(2k); su_bilinear h = 1/(2k),
#              lam = 1/(2(k+1)); backward h = 0, lam = 1/k
# The implicit solve is the O(N) S-recursion of legs_solve,
#   s_n = alpha_n s_{n-1} + beta_n v_n,  z_n = (s_n - s_{n-1}) / r_n,
# alpha_n = (1 - lam n) g_n, beta_n = r_n g_n, g_n = 1 / (1 + lam (n+1)).
# With c = 1/lam an integer (2k, 2k+2 or k): g_n = c / (c+n+1), and
# v_n = (1 - h(n+1)) x_n - h r_n acc_n + r_n u_k/k, so
#   s_n = alpha_n s_{n-1} + ((P_n x_n - Q_n acc_n) + R_n)
# with alpha_n = (c-n) q_n, beta_n = (r_n c) q_n, q_n = 1/(c+n+1),
# P_n = beta_n (1 - h(n+1)), Q_n = beta_n (h r_n), R_n = beta_n (r_n u_k/k).
# The per-step coefficients are vectorisable and division-free (q from a
# table of 1/m); the serial part is 10 flops per element.
# ---------------------------------------------------------------------------

LEGS_METHOD_CODES = {"bilinear": 0, "su_bilinear": 1, "forward_euler": 2, "backward_euler": 3}


@njit(cache=True, nogil=True, fastmath=False, error_model="numpy")
def _legs_step_coeffs_nb(code, k, uk, r, inv, alpha, P, Q, R):
    """alpha, P, Q, R (see the comment above) of the implicit rule ``code`` at step k with input uk."""
    if code == 0:
        c = 2 * k
        h = 0.5 / k
    elif code == 1:
        c = 2 * k + 2
        h = 0.5 / k
    else:
        c = k
        h = 0.0
    cf = float(c)
    ukk = uk / k
    for n in range(r.shape[0]):
        q = inv[c + n + 1]
        beta = (r[n] * cf) * q
        alpha[n] = (cf - n) * q
        P[n] = beta * (1.0 - h * (n + 1.0))
        Q[n] = beta * (h * r[n])
        R[n] = beta * (r[n] * ukk)


@njit(cache=True, nogil=True, fastmath=False, error_model="numpy")
def legs_recurrence_nb(u, code, out):
    """Fill rows 1..L-1 of ``out`` (L, N) from row 0 with the LegS rule ``code``. O(L N).

    Implicit rules advance two steps per pass over n (a wavefront: element n
    of step k+1 needs elements 0..n of step k), so the two serial
    S-recursions overlap. Each element is computed by exactly the same
    operations as in a one-step pass, so the result does not depend on the
    pairing and equals the twin bitwise.
    """
    L, N = out.shape
    r = np.empty(N)
    rinv = np.empty(N)
    for n in range(N):
        r[n] = np.sqrt(2.0 * n + 1.0)
        rinv[n] = 1.0 / r[n]
    if code == 2:
        for k in range(1, L):
            kf = float(k)
            x = out[k - 1]
            z = out[k]
            uk = u[k]
            acc = 0.0
            for n in range(N):
                xn = x[n]
                ax = -r[n] * acc - (n + 1.0) * xn
                acc += r[n] * xn
                z[n] = xn + (ax + r[n] * uk) / kf
        return
    inv = np.empty(2 * L + N + 4)
    inv[0] = 0.0
    for m in range(1, inv.shape[0]):
        inv[m] = 1.0 / m
    a1 = np.empty(N)
    p1 = np.empty(N)
    q1 = np.empty(N)
    r1 = np.empty(N)
    a2 = np.empty(N)
    p2 = np.empty(N)
    q2 = np.empty(N)
    r2 = np.empty(N)
    k = 1
    while k < L:
        _legs_step_coeffs_nb(code, k, u[k], r, inv, a1, p1, q1, r1)
        x = out[k - 1]
        z1 = out[k]
        acc1 = 0.0
        s1 = 0.0
        if k + 1 < L:
            _legs_step_coeffs_nb(code, k + 1, u[k + 1], r, inv, a2, p2, q2, r2)
            z2 = out[k + 1]
            acc2 = 0.0
            s2 = 0.0
            for n in range(N):
                xn = x[n]
                s = a1[n] * s1 + ((p1[n] * xn - q1[n] * acc1) + r1[n])
                acc1 += r[n] * xn
                y = (s - s1) * rinv[n]
                z1[n] = y
                s1 = s
                t = a2[n] * s2 + ((p2[n] * y - q2[n] * acc2) + r2[n])
                acc2 += r[n] * y
                z2[n] = (t - s2) * rinv[n]
                s2 = t
            k += 2
        else:
            for n in range(N):
                xn = x[n]
                s = a1[n] * s1 + ((p1[n] * xn - q1[n] * acc1) + r1[n])
                acc1 += r[n] * xn
                z1[n] = (s - s1) * rinv[n]
                s1 = s
            k += 1


def legs_recurrence_np(u, code, out):
    """NumPy twin of :func:`legs_recurrence_nb`: same operations, same order.

    Coefficients, prefix sums and the input terms are vectorised (elementwise
    the same operations as the kernel; ``np.cumsum`` accumulates in order);
    the first-order S-recursion is inherently serial and runs as a Python
    loop over Python floats (IEEE double, like the kernel with fastmath off).
    """
    L, N = out.shape
    nf = np.arange(N, dtype=np.float64)
    r = np.sqrt(2.0 * nf + 1.0)
    rinv = 1.0 / r
    for k in range(1, L):
        kf = float(k)
        x = out[k - 1]
        uk = float(u[k])
        acc = np.zeros(N)
        if N > 1:
            acc[1:] = np.cumsum(r * x)[:-1]
        if code == 2:
            ax = -r * acc - (nf + 1.0) * x
            out[k] = x + (ax + r * uk) / kf
            continue
        if code == 0:
            h, c = 0.5 / kf, 2 * k
        elif code == 1:
            h, c = 0.5 / kf, 2 * k + 2
        else:
            h, c = 0.0, k
        cf = float(c)
        q = 1.0 / np.arange(c + 1, c + N + 1, dtype=np.float64)  # 1/(c+n+1), lam = 1/c
        beta = (r * cf) * q
        alpha = ((cf - nf) * q).tolist()
        w = ((beta * (1.0 - h * (nf + 1.0))) * x - (beta * (h * r)) * acc) + beta * (r * (uk / kf))
        w = w.tolist()
        s = [0.0] * (N + 1)
        s_prev = 0.0
        for n in range(N):
            s_prev = alpha[n] * s_prev + w[n]
            s[n + 1] = s_prev
        s = np.array(s)
        out[k] = (s[1:] - s[:-1]) * rinv
