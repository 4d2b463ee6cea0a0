"""Transcriptions of state-spaces/s4 code, in PyTorch: the peers of refimpl.ssm.hippo's s4 measures and refimpl.ssm.s4d.

Used by the case rows (``refimpl/ssm/cases.py``, ``S4_CASES``) and the tests
(``tests/ssm/test_s4_parity.py``); refimpl's own code never imports this
module. Each function follows the named function of
https://github.com/state-spaces/s4 at e757cef5 step by step, in torch, with
two changes only: a ``dtype`` argument where s4 hard-codes float32
(refimpl compares at float64), and outputs as NumPy arrays with B of shape
(N,) instead of (N, 1). s4's quirks are kept and marked "s4:".

- ``transition`` / ``rank_correction`` / ``nplr``: ``src/models/hippo/hippo.py``;
- ``dplr``: ``src/models/sequence/kernels/dplr.py``;
- ``dss_kernel``: the ``disc == 'dss'`` branch of ``SSMKernelDiag.forward``
  in ``src/models/sequence/kernels/ssm.py``.
"""
from __future__ import annotations

import math

import numpy as np


def _torch():
    import torch

    return torch


def transition(measure, N, **args):
    """s4 ``transition`` for the measures refimpl adds (glagt, tlagt, legsd, fourier_diag/foud, fourier_decay)."""
    from scipy import special as ss

    if measure == "tlagt":
        b = args.get("beta", 1.0)
        A = (1.0 - b) / 2 * np.eye(N) - np.tril(np.ones((N, N)))
        B = b * np.ones((N, 1))
    elif measure == "glagt":
        alpha = args.get("alpha", 0.0)
        beta = args.get("beta", 0.01)
        A = -np.eye(N) * (1 + beta) / 2 - np.tril(np.ones((N, N)), -1)
        B = ss.binom(alpha + np.arange(N), np.arange(N))[:, None]
        ell = np.exp(0.5 * (ss.gammaln(np.arange(N) + alpha + 1) - ss.gammaln(np.arange(N) + 1)))
        A = (1.0 / ell[:, None]) * A * ell[None, :]
        B = (1.0 / ell[:, None]) * B * np.exp(-0.5 * ss.gammaln(1 - alpha)) * beta ** ((1 - alpha) / 2)
    elif measure in ("legs", "legsd"):
        q = np.arange(N, dtype=np.float64)
        col, row = np.meshgrid(q, q)
        M = -(np.where(row >= col, 2 * q + 1, 0) - np.diag(q))
        T = np.sqrt(np.diag(2 * q + 1))
        A = T @ M @ np.linalg.inv(T)
        B = np.diag(T)[:, None].copy()
        if measure == "legsd":
            A = A + 0.5 * B * B[None, :, 0]
            B = B / 2.0
    elif measure in ("fourier_diag", "foud"):
        freqs = np.arange(N // 2)
        d = np.stack([freqs, np.zeros(N // 2)], axis=-1).reshape(-1)[:-1]
        A = 2 * np.pi * (-np.diag(d, 1) + np.diag(d, -1)) - 0.5 * np.eye(N)
        B = np.zeros(N)
        B[0::2] = 2 ** 0.5
        B[0] = 1
        B = B[:, None]
    elif measure in ("fourier", "fout", "fourier_decay"):
        freqs = np.arange(N // 2)
        d = np.stack([np.zeros(N // 2), freqs], axis=-1).reshape(-1)[1:]
        A = np.pi * (-np.diag(d, 1) + np.diag(d, -1))
        B = np.zeros(N)
        B[0::2] = 2 ** 0.5
        B[0] = 1
        half = 0.5 if measure == "fourier_decay" else 1.0
        A = A - half * B[:, None] * B[None, :]
        B = half * B[:, None]
    elif measure == "legt":
        Q = np.arange(N, dtype=np.float64)
        R = (2 * Q + 1) ** 0.5
        j, i = np.meshgrid(Q, Q)
        A = -(R[:, None] * np.where(i < j, (-1.0) ** (i - j), 1) * R[None, :]) * 0.5
        B = R[:, None] * 0.5
    elif measure == "lagt":
        A = np.eye(N) / 2 - np.tril(np.ones((N, N)))
        B = args.get("beta", 1.0) * np.ones((N, 1))
    else:
        raise NotImplementedError(measure)
    return A, B[:, 0]


def rank_correction(measure, N, rank=1, dtype=None):
    """s4 ``rank_correction`` -> torch tensor (rank, N). s4: the Fourier rows are float32 whatever ``dtype`` is."""
    torch = _torch()
    dtype = torch.float if dtype is None else dtype
    if measure == "legs":
        P = torch.sqrt(0.5 + torch.arange(N, dtype=dtype)).unsqueeze(0)
    elif measure == "legt":
        P = torch.sqrt(1 + 2 * torch.arange(N, dtype=dtype))
        P0 = P.clone()
        P0[0::2] = 0.0
        P1 = P.clone()
        P1[1::2] = 0.0
        P = torch.stack([P0, P1], dim=0) * 2 ** (-0.5)
    elif measure == "lagt":
        P = 0.5 ** 0.5 * torch.ones(1, N, dtype=dtype)
    elif measure in ("fourier", "fout", "fourier_decay", "fourier2"):
        P = torch.zeros(N)  # s4: default dtype (float32)
        P[0::2] = 2 ** 0.5
        P[0] = 1
        P = P.unsqueeze(0)
        if measure == "fourier_decay":
            P = P / 2 ** 0.5
        elif measure == "fourier2":
            P = 2 ** 0.5 * P
    elif measure in ("fourier_diag", "foud", "legsd"):
        P = torch.zeros(1, N, dtype=dtype)
    else:
        raise NotImplementedError(measure)
    if rank > P.size(0):
        P = torch.cat([P, torch.zeros(rank - P.size(0), N, dtype=P.dtype)], dim=0)
    return P


def sign_fix(V):
    """refimpl.ssm.s4d's sign per column of V (s4 keeps LAPACK's): first entry z with |z| >= max/2 gets Re z > 0."""
    mag = np.abs(V)
    j = np.argmax(mag >= 0.5 * mag.max(axis=0, keepdims=True), axis=0)   # first entry of at least half the largest
    z = V[j, np.arange(V.shape[1])]
    s = np.where(np.abs(z.real) >= 0.1 * np.abs(z), np.sign(z.real), np.sign(z.imag))
    return np.where(s == 0, 1.0, s)


def nplr(measure, N, rank=1, dtype=None, B_clip=2.0, diagonalize_precision=True, fix_signs=True):
    """s4 ``nplr`` -> NumPy (W (N/2,), P (rank, N/2), B (N/2,), V (N, N/2)), signs fixed as refimpl's."""
    torch = _torch()
    dtype = torch.float if dtype is None else dtype
    cdtype = torch.cfloat if dtype == torch.float else torch.cdouble
    A, B = transition(measure, N)
    A = torch.as_tensor(A, dtype=dtype)
    B = torch.as_tensor(B, dtype=dtype)
    P = rank_correction(measure, N, rank=rank, dtype=dtype)
    AP = A + torch.sum(P.unsqueeze(-2) * P.unsqueeze(-1), dim=-3)
    W_re = torch.mean(torch.diagonal(AP), -1, keepdim=True)
    if diagonalize_precision:
        AP = AP.to(torch.double)
    W_im, V = torch.linalg.eigh(AP * -1j)
    if diagonalize_precision:
        W_im, V = W_im.to(cdtype), V.to(cdtype)
    W = W_re + 1j * W_im
    _, idx = torch.sort(W.imag)
    W, V = W[idx][:N // 2], V[:, idx][:, :N // 2]
    if W[-1].abs() < 1e-4:  # s4: the Fourier zero pair
        V[:, -1] = 0.0
        V[0, -1] = 2 ** -0.5
        V[1, -1] = 2 ** -0.5 * 1j
    if fix_signs:
        V = V * torch.as_tensor(sign_fix(V.numpy()), dtype=V.real.dtype)[None, :]
    V_inv = V.conj().transpose(-1, -2)
    B = torch.einsum("ij,j->i", V_inv, B.to(V))
    P = torch.einsum("ij,...j->...i", V_inv, P.to(V))
    if B_clip is not None:
        B = B.real + 1j * torch.clamp(B.imag, min=-B_clip, max=B_clip)
    return W.numpy(), P.numpy(), B.numpy(), V.numpy()


def dplr(init="hippo", N=64, dtype=None, real_scale=1.0, imag_scale=1.0, B_init="constant", B_scale=1.0,
         normalize=False, B_clip=2.0):
    """s4 ``dplr`` (H=1, deterministic options) -> NumPy (A (N/2,), B (N/2,)).

    s4 calls ``hippo.nplr('legs', N)`` in float32 and with ``B_clip=2.0``
    fixed; here ``dtype`` and ``B_clip`` are passed through.
    """
    torch = _torch()
    dtype = torch.float if dtype is None else dtype
    cdtype = torch.cfloat if dtype == torch.float else torch.cdouble
    pi = torch.tensor(math.pi, dtype=torch.double)
    real_part = real_scale * (0.5 * torch.ones(1, N // 2, dtype=torch.double))
    imag_part = torch.arange(N // 2, dtype=torch.double)[None, :]
    if init == "real":
        imag_part = 0 * imag_part
        real_part = 1 + torch.arange(N // 2, dtype=torch.double)[None, :]
    elif init in ("linear", "lin"):
        imag_part = pi * imag_part
    elif init in ("inverse", "inv"):
        imag_part = 1 / pi * N * (N / (1 + 2 * imag_part) - 1)
    elif init in ("inverse2", "inv2"):
        imag_part = 1 / pi * N * (N / (1 + imag_part) - 1)
    elif init in ("quadratic", "quad"):
        imag_part = 1 / pi * (1 + 2 * imag_part) ** 2
    elif init in ("legs", "hippo"):
        W, _, _, _ = nplr("legs", N, dtype=dtype)
        imag_part = -torch.as_tensor(W).imag[None, :].to(torch.double)
    else:
        raise NotImplementedError(init)
    imag_part = imag_scale * imag_part
    A = -real_part - 1j * imag_part
    if init in ("legs", "hippo"):
        B_init = "legs"
    if B_init in ("legs", "hippo"):
        _, _, B, _ = nplr("legs", N, dtype=dtype, B_clip=B_clip)
        B = torch.as_tensor(B)[None, :]
    elif B_init == "constant":
        B = torch.ones(1, N // 2, dtype=cdtype)
    elif B_init == "alternating":
        B = torch.ones(1, N // 4, 2, dtype=cdtype)
        B[:, :, 1] *= -1
        B = B.view(1, N // 2)
    elif B_init == "unit-cw":
        B = torch.exp(-2j * pi / N) ** torch.arange(0, N // 2)
        B = B[None, :]
    elif B_init == "unit-ccw":
        B = torch.exp(2j * pi / N) ** torch.arange(0, N // 2)
        B = B[None, :]
    else:
        raise NotImplementedError(B_init)
    B = B * B_scale
    if normalize:
        norm = -B / A
        zeta = 2 * torch.sum(torch.abs(norm) ** 2, dim=-1, keepdim=True)
        B = B / zeta ** 0.5
    return A[0].numpy(), B[0].numpy()


def dss_kernel(Lambda, B, C, dt, L, eps=1e-7):
    """The ``disc == 'dss'`` branch of s4 ``SSMKernelDiag.forward`` (H=1, one channel, no state), float64."""
    torch = _torch()
    A = torch.as_tensor(np.asarray(Lambda, dtype=np.complex128))[None, :]  # (H N)
    B = torch.as_tensor(np.asarray(B, dtype=np.complex128))[None, None, :]  # (1 H N)
    C = torch.as_tensor(np.asarray(C, dtype=np.complex128))[None, None, :]  # (C H N)
    dt = torch.tensor([[float(dt)]], dtype=torch.double)
    dtA = dt * A
    C = (B[:, None, :, :] * C).view(-1, 1, A.shape[-1])
    P = dtA.unsqueeze(-1) * torch.arange(L)
    A_gt_0 = A.real > 0
    if A_gt_0.any():
        P_max = dtA * (A_gt_0 * (L - 1))
        P = P - P_max.unsqueeze(-1)
    S = P.exp()
    dtA_neg = dtA * (1 - 2 * A_gt_0)
    num = dtA_neg.exp() - 1
    den = (dtA_neg * L).exp() - 1
    x = den * A
    x_conj = x.conj().resolve_conj()
    r = x_conj / (x * x_conj + eps)
    C = C * num * r
    K = torch.einsum("chn,hnl->chl", C, S)
    return K.real[0, 0].numpy()  # s4: .float() (float32) of the complex sum, i.e. its real part
