r"""The definitions of refimpl.ssm: plain NumPy/SciPy that reads like the equations.

Every public function of :mod:`refimpl.ssm` with a fast path
(``backend="numba"``/``"cupy"``, :mod:`._fast`, :mod:`._xp`) runs the
function of the same name here with ``backend="reference"``, and the fast
paths are tested against it. These functions take inputs that the public
function has already validated and shaped; they are written for clarity,
not speed: dense matrices where the fast path is O(N), loops where the
definition is a loop.

Sources: Su Jianlin, https://kexue.fm/archives/10137 (LegS algebra,
discretisation), https://kexue.fm/archives/10162 (S4: generating function,
Woodbury, Cauchy); Gu, Goel, Ré, S4, https://arxiv.org/abs/2111.00396;
Gu, Gupta, Goel, Ré, S4D, https://arxiv.org/abs/2206.11893.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.linalg

__all__ = ["legs_A", "legs_matvec", "legs_solve", "legs_recurrence", "discretize", "cauchy", "kernel_diag",
           "kernel_dplr", "scan", "causal_conv"]


# ----------------------------------------------------------------------------- LegS
def legs_A(N):
    """The HiPPO-LegS matrix (paper scaling), row by row from its closed form."""
    # A_nk = -sqrt((2n+1)(2k+1))  (n > k),   -(n+1)  (n = k),   0  (n < k)
    n = np.arange(N, dtype=np.float64)
    A = np.tril(-np.sqrt(np.outer(2.0 * n + 1.0, 2.0 * n + 1.0)), -1)
    A[np.diag_indices(N)] = -(n + 1.0)
    return A


def _integer_scale(N):
    # "integer" normalisation: A_int = D A D^{-1}, D = diag(sqrt(2n+1))
    return np.sqrt(2.0 * np.arange(N) + 1.0)


def legs_matvec(v, normalization):
    """``A v`` with the dense LegS matrix."""
    A = legs_A(v.shape[0])
    if normalization == "integer":
        d = _integer_scale(v.shape[0])
        return d * (A @ (v / d))
    return A @ v


def legs_solve(v, lam, normalization):
    """``z`` with ``(I - lam A) z = v``: a dense lower-triangular solve."""
    N = v.shape[0]
    M = np.eye(N) - lam * legs_A(N)
    if normalization == "integer":
        d = _integer_scale(N)
        return d * scipy.linalg.solve_triangular(M, v / d, lower=True)
    return scipy.linalg.solve_triangular(M, v, lower=True)


#: (lam, h) of the implicit LegS steps  (I - lam A) x_{k+1} = (I + h A) x_k + B u_k / k  at step k
_LEGS_STEPS = {
    "bilinear": lambda k: (0.5 / k, 0.5 / k),           # hippo-code HiPPO_LegS: A_t = A / k at the step's start
    "su_bilinear": lambda k: (0.5 / (k + 1), 0.5 / k),  # Su 10137: A/(k+1) at the end, A/k at the start
    "backward_euler": lambda k: (1.0 / k, 0.0),
}


def legs_recurrence(u, N, method, out):
    """The LegS memory, one dense step at a time; row k is the state at t = k + 1."""
    A = legs_A(N)
    B = np.sqrt(2.0 * np.arange(N) + 1.0)
    I = np.eye(N)
    out[0] = 0.0
    out[0, 0] = u[0]  # the projection of the constant u_0 on [0, 1]
    for k in range(1, u.shape[0]):
        x = out[k - 1]
        if method == "exact":
            # t x' = A x + B u is LTI in tau = ln t: ZOH over ln((k+1)/k)
            Ab, Bb = discretize(A, B, math.log1p(1.0 / k), "zoh", None)
            out[k] = Ab @ x + Bb * u[k]
        elif method == "forward_euler":
            # x_{k+1} = x_k + (A x_k + B u_k) / k
            out[k] = x + (A @ x + B * u[k]) / k
        else:
            lam, h = _LEGS_STEPS[method](k)
            out[k] = scipy.linalg.solve_triangular(I - lam * A, (I + h * A) @ x + B * u[k] / k, lower=True)
    return out


# ----------------------------------------------------------------------------- discretisation
def discretize(A, B, dt, method, alpha):
    r"""``(Ab, Bb)`` of x' = A x + B u for piecewise-constant u (B of shape (N, m) or (N,)).

    zoh:  [[Ab, Bb], [0, I]] = expm(dt [[A, B], [0, 0]])  (Van Loan; A may be singular)
    gbt:  Ab = (I - alpha dt A)^{-1} (I + (1 - alpha) dt A),  Bb = (I - alpha dt A)^{-1} dt B
          (forward Euler alpha = 0, bilinear 1/2, backward Euler 1)
    """
    N = A.shape[0]
    I = np.eye(N, dtype=A.dtype)
    if method == "zoh":
        B2 = B if B.ndim == 2 else B[:, None]
        m = B2.shape[1]
        aug = np.zeros((N + m, N + m), dtype=np.result_type(A, B2))
        aug[:N, :N] = A * dt
        aug[:N, N:] = B2 * dt
        E = scipy.linalg.expm(aug)
        return E[:N, :N], (E[:N, N:] if B.ndim == 2 else E[:N, N])
    if alpha == 0.0:
        return I + dt * A, dt * B
    lhs = I - alpha * dt * A
    return np.linalg.solve(lhs, I + (1.0 - alpha) * dt * A), np.linalg.solve(lhs, dt * B)


# ----------------------------------------------------------------------------- S4 / S4D
def cauchy(v, z, w, conj):
    """``r[h, l] = sum_n v[h, n] / (z[l] - w[h, n])`` (+ the conjugate half), v, w (H, N), z (L,)."""
    r = np.empty((v.shape[0], z.shape[0]), dtype=np.complex128)
    for h in range(v.shape[0]):
        terms = v[h, None, :] / (z[:, None] - w[h, None, :])
        if conj:  # + conj(v_n) / (z_l - conj(w_n)): the other member of each conjugate pair
            terms = terms + v[h, None, :].conj() / (z[:, None] - w[h, None, :].conj())
        r[h] = terms.sum(axis=1)
    return r


def kernel_diag(Lambda, B, C, dt, L, method, half):
    r"""S4D kernel per channel, Lambda, B, C (H, N), dt (H,) -> (H, L).

    zoh:       Abar = exp(dt Lambda),                          Bbar = (exp(dt Lambda) - 1) / Lambda * B
    bilinear:  Abar = (1 + dt Lambda/2) / (1 - dt Lambda/2),   Bbar = dt B / (1 - dt Lambda/2)
    K_j = sum_n C_n Bbar_n Abar_n^j                          (Vandermonde);  half: 2 Re K
    """
    K = np.empty((Lambda.shape[0], L), dtype=np.complex128)
    for h in range(Lambda.shape[0]):
        x = dt[h] * Lambda[h]
        if method == "zoh":
            Abar = np.exp(x)
            safe = np.where(Lambda[h] == 0, 1.0, Lambda[h])
            Bbar = np.where(Lambda[h] == 0, dt[h], np.expm1(x) / safe) * B[h]  # lim_{Lambda->0} = dt
        else:
            Abar = (1.0 + x / 2.0) / (1.0 - x / 2.0)
            Bbar = dt[h] * B[h] / (1.0 - x / 2.0)
        V = Abar[:, None] ** np.arange(L)
        K[h] = (C[h] * Bbar) @ V
    return 2.0 * K.real if half else K


def kernel_dplr(Lambda, P, Q, B, Ct, dt, L, half):
    r"""S4 kernel of A = diag(Lambda) - P Q^* (bilinear) per channel: Lambda, B, Ct (H, N), P, Q (H, N, r).

    At the roots of unity omega_l = exp(-2 pi i l / L), with g = (2/dt) (1 - omega) / (1 + omega),
        G(omega) = Ct^T (I - omega Abar)^{-1} Bbar
                 = 2/(1 + omega) [k00 - k01 (I_r + k11)^{-1} k10],   k_ab = sum_n a_n b_n / (g - Lambda_n)
    with a in {Ct, conj(Q_j)}, b in {B, P_j} (Woodbury on g I - A); at omega = -1, G = (dt/2) Ct^T B.
    K = IDFT(G). half: the arrays hold one member per conjugate pair; sums get the conjugate half and
    the kernel is real (irfft of the nodes 0..L//2).
    """
    H, N, r = P.shape
    count = L // 2 + 1 if half else L
    l = np.arange(count)
    omega = np.exp(-2j * np.pi * l / L)
    at_minus_one = 2 * l == L                        # omega = -1: g = infinity
    K = np.empty((H, L), dtype=np.float64 if half else np.complex128)
    for h in range(H):
        g = 2.0 / dt[h] * (1.0 - omega[~at_minus_one]) / (1.0 + omega[~at_minus_one])
        left = np.concatenate([Ct[h, None, :], Q[h].T.conj()])    # (1 + r, N): Ct, conj(Q_j)
        right = np.concatenate([B[h, None, :], P[h].T])           # (1 + r, N): B, P_j
        k = cauchy((left[:, None, :] * right[None, :, :]).reshape(-1, N), g,
                   np.broadcast_to(Lambda[h], ((1 + r) ** 2, N)), half).reshape(1 + r, 1 + r, -1)
        G = np.empty(count, dtype=np.complex128)
        for m in range(g.shape[0]):
            k00, k01, k10, k11 = k[0, 0, m], k[0, 1:, m], k[1:, 0, m], k[1:, 1:, m]
            G[np.flatnonzero(~at_minus_one)[m]] = 2.0 / (1.0 + omega[~at_minus_one][m]) * (
                k00 - k01 @ np.linalg.solve(np.eye(r) + k11, k10))
        s = np.sum(Ct[h] * B[h])
        G[at_minus_one] = dt[h] / 2.0 * (2.0 * s.real if half else s)
        K[h] = np.fft.irfft(G, n=L) if half else np.fft.ifft(G)
    return K


def scan(Ab, Bb, C, u):
    """x_k = Ab x_{k-1} + Bb u_k (x_{-1} = 0),  y_k = C^T x_k."""
    x = np.zeros(Ab.shape[0], dtype=np.result_type(Ab, Bb, C, u))
    y = np.empty(u.shape[0], dtype=x.dtype)
    for k in range(u.shape[0]):
        x = Ab @ x + Bb * u[k]
        y[k] = C @ x
    return y


def causal_conv(u, K):
    """y_k = sum_{j <= k} K_j u_{k-j}: the direct sum, one lag j at a time (leading axes broadcast)."""
    Lu = u.shape[-1]
    lead = np.broadcast_shapes(u.shape[:-1], K.shape[:-1])
    y = np.zeros(lead + (Lu,), dtype=np.result_type(u, K))
    for j in range(min(Lu, K.shape[-1])):
        y[..., j:] += K[..., j:j + 1] * u[..., :Lu - j]
    return y
