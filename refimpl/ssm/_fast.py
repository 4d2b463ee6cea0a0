"""The numba paths of refimpl.ssm and everything tuned for speed.

Each public-facing function here (``legs_matvec``, ``legs_solve``,
``legs_recurrence``, ``cauchy``, ``scan``, ``kernel_dplr``) takes the
arguments of the definition of the same name in :mod:`.reference` and is
tested against it (the case table, ``refimpl/ssm/cases.py``). The ``*_nb``
kernels are compiled with fastmath off.
"""
from __future__ import annotations

import numpy as np

from .._numba import njit, prange
from . import _xp, reference


@njit(cache=True, nogil=True, fastmath=False, error_model="numpy")
def legs_matvec_nb(v, out):
    """out[j] = -r_j sum_{k<j} r_k v_k - (j+1) v_j with r_j = sqrt(2j+1). O(N), in place."""
    acc = 0.0  # exclusive prefix sum  sum_{k<j} r_k v_k
    for j in range(v.shape[0]):
        r_j = np.sqrt(2.0 * j + 1.0)
        out[j] = -r_j * acc - (j + 1.0) * v[j]
        acc += r_j * v[j]


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
    pairing (tested against the dense per-step definition, ``reference.legs_recurrence``).
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


# ----------------------------------------------------------------------------- S4: Cauchy, scan
#: nodes per Cauchy work item: the accumulators of one block (2 x 2 KiB) stay in L1
CAUCHY_BLOCK = 256


@njit(cache=True, nogil=True, fastmath=False, error_model="numpy", inline="always")
def _cauchy_term(p, q, a, b, x, y):
    """(p + i q) / ((x + i y) - (a + i b)) as (real, imag): v conj(d) / |d|^2 with d = z - w."""
    dr = x - a
    di = y - b
    inv = 1.0 / (dr * dr + di * di)
    return (p * dr + q * di) * inv, (q * dr - p * di) * inv


@njit(cache=True, nogil=True, fastmath=False, error_model="numpy", inline="always")
def _cauchy_block(vr, vi, wr, wi, zr, zi, conj, h, l0, m, acc_r, acc_i):
    """acc[j] = sum_n v[h, n] / (z[l0 + j] - w[h, n]) (+ conj(v)/(z - conj(w)) if conj), j < m.

    Real arithmetic on split real/imaginary arrays, one division (1/|d|^2) per term;
    conj(v) / (z - conj(w)) is the same term with (q, b) -> (-q, -b). The loop over
    the nodes j is innermost: the nodes are independent, so it vectorises with
    fastmath off, and every node still adds its terms in the order n = 0, 1, ...
    (each term followed by its conjugate partner). Two poles per pass over the
    block halve the loads and stores of the accumulators.
    """
    for j in range(m):
        acc_r[j] = 0.0
        acc_i[j] = 0.0
    N = vr.shape[1]
    for n in range(0, N - 1, 2):
        p0, q0, a0, b0 = vr[h, n], vi[h, n], wr[h, n], wi[h, n]
        p1, q1, a1, b1 = vr[h, n + 1], vi[h, n + 1], wr[h, n + 1], wi[h, n + 1]
        if conj:
            for j in range(m):
                x = zr[l0 + j]
                y = zi[l0 + j]
                t0r, t0i = _cauchy_term(p0, q0, a0, b0, x, y)
                c0r, c0i = _cauchy_term(p0, -q0, a0, -b0, x, y)
                t1r, t1i = _cauchy_term(p1, q1, a1, b1, x, y)
                c1r, c1i = _cauchy_term(p1, -q1, a1, -b1, x, y)
                acc_r[j] = (((acc_r[j] + t0r) + c0r) + t1r) + c1r
                acc_i[j] = (((acc_i[j] + t0i) + c0i) + t1i) + c1i
        else:
            for j in range(m):
                x = zr[l0 + j]
                y = zi[l0 + j]
                t0r, t0i = _cauchy_term(p0, q0, a0, b0, x, y)
                t1r, t1i = _cauchy_term(p1, q1, a1, b1, x, y)
                acc_r[j] = (acc_r[j] + t0r) + t1r
                acc_i[j] = (acc_i[j] + t0i) + t1i
    if N % 2 == 1:  # the last pole of an odd count
        n = N - 1
        p0, q0, a0, b0 = vr[h, n], vi[h, n], wr[h, n], wi[h, n]
        for j in range(m):
            t0r, t0i = _cauchy_term(p0, q0, a0, b0, zr[l0 + j], zi[l0 + j])
            acc_r[j] += t0r
            acc_i[j] += t0i
            if conj:
                c0r, c0i = _cauchy_term(p0, -q0, a0, -b0, zr[l0 + j], zi[l0 + j])
                acc_r[j] += c0r
                acc_i[j] += c0i


@njit(cache=True, parallel=True, nogil=True, fastmath=False, error_model="numpy")
def cauchy_nb(vr, vi, wr, wi, zr, zi, conj, out):
    """out[h, l] = sum_n v[h, n] / (z[l] - w[h, n])  (+ conj(v)/(z - conj(w)) if conj).

    v = vr + i vi, w = wr + i wi: (H, N) float64; z = zr + i zi: (L,) float64;
    out: (H, L) complex128. Parallel over (channel, block of CAUCHY_BLOCK nodes).
    """
    H = vr.shape[0]
    L = zr.shape[0]
    nb = (L + CAUCHY_BLOCK - 1) // CAUCHY_BLOCK
    for t in prange(H * nb):
        h = t // nb
        l0 = (t - h * nb) * CAUCHY_BLOCK
        m = min(CAUCHY_BLOCK, L - l0)
        acc_r = np.empty(CAUCHY_BLOCK)
        acc_i = np.empty(CAUCHY_BLOCK)
        _cauchy_block(vr, vi, wr, wi, zr, zi, conj, h, l0, m, acc_r, acc_i)
        for j in range(m):
            out[h, l0 + j] = complex(acc_r[j], acc_i[j])


@njit(cache=True, nogil=True, fastmath=False, error_model="numpy")
def cauchy_serial_nb(vr, vi, wr, wi, zr, zi, conj, out):
    """Serial build of :func:`cauchy_nb` (the same block function, same arguments) for small
    problems, where starting the thread pool costs more than the work."""
    H = vr.shape[0]
    L = zr.shape[0]
    acc_r = np.empty(CAUCHY_BLOCK)
    acc_i = np.empty(CAUCHY_BLOCK)
    for h in range(H):
        for l0 in range(0, L, CAUCHY_BLOCK):
            m = min(CAUCHY_BLOCK, L - l0)
            _cauchy_block(vr, vi, wr, wi, zr, zi, conj, h, l0, m, acc_r, acc_i)
            for j in range(m):
                out[h, l0 + j] = complex(acc_r[j], acc_i[j])


@njit(cache=True, nogil=True, fastmath=False, error_model="numpy")
def scan_nb(Ab, Bb, C, u, y):
    """x_k = Ab x_{k-1} + Bb u_k (x_{-1} = 0), y_k = sum_n C_n x_k[n]. In place into y."""
    N = Ab.shape[0]
    x = np.zeros(N, dtype=y.dtype)
    xn = np.zeros(N, dtype=y.dtype)
    for k in range(u.shape[0]):
        for i in range(N):
            acc = Bb[i] * u[k]
            for j in range(N):
                acc += Ab[i, j] * x[j]
            xn[i] = acc
        acc_y = C[0] * xn[0]
        for i in range(1, N):
            acc_y += C[i] * xn[i]
        y[k] = acc_y
        for i in range(N):
            x[i] = xn[i]


# ----------------------------------------------------------------------------- entry points (reference.py's signatures)
def legs_matvec(v, normalization):
    """:func:`reference.legs_matvec` in O(N): a prefix sum (``integer``: D A D^{-1} v)."""
    if normalization == "integer":
        d = np.sqrt(2.0 * np.arange(v.shape[0]) + 1.0)
        return d * legs_matvec(v / d, "paper")
    out = np.empty_like(v)
    legs_matvec_nb(v, out)
    return out


def legs_solve(v, lam, normalization):
    """:func:`reference.legs_solve` in O(N): the S-recursion."""
    if normalization == "integer":
        d = np.sqrt(2.0 * np.arange(v.shape[0]) + 1.0)
        return d * legs_solve(v / d, lam, "paper")
    out = np.empty_like(v)
    legs_solve_nb(v, lam, out)
    return out


def legs_recurrence(u, N, method, out):
    """:func:`reference.legs_recurrence` in O(N) per step (``"exact"`` runs the reference)."""
    if method == "exact":
        return reference.legs_recurrence(u, N, method, out)
    out[0] = 0.0
    out[0, 0] = u[0]
    if u.shape[0] > 1:
        legs_recurrence_nb(u, LEGS_METHOD_CODES[method], out)
    return out


#: below this many (channel x node x state) terms the serial Cauchy kernel runs (no thread-pool start)
PARALLEL_MIN_WORK = 1 << 20


def cauchy(v, z, w, conj):
    """:func:`reference.cauchy` by a numba kernel parallel over (channel, block of nodes)."""
    out = np.empty((v.shape[0], z.shape[0]), dtype=np.complex128)
    parts = [np.ascontiguousarray(x, dtype=np.float64) for a in (v, w, z) for x in (a.real, a.imag)]
    if v.size * z.shape[0] >= PARALLEL_MIN_WORK:
        cauchy_nb(*parts, bool(conj), out)
    else:
        cauchy_serial_nb(*parts, bool(conj), out)
    return out


def scan(Ab, Bb, C, u):
    """:func:`reference.scan` by a compiled loop."""
    dtype = np.result_type(Ab, Bb, C, u)
    Ab, Bb, C, u = (np.ascontiguousarray(a, dtype=dtype) for a in (Ab, Bb, C, u))
    y = np.empty(u.shape[0], dtype=dtype)
    scan_nb(Ab, Bb, C, u, y)
    return y


def kernel_dplr(Lambda, P, Q, B, Ct, dt, L, half):
    """:func:`reference.kernel_dplr` with the Cauchy sums of :func:`cauchy` (the array code of ``_xp``)."""
    return _xp.kernel_dplr(np, cauchy, Lambda, P, Q, B, Ct, dt, L, half)
