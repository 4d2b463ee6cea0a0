r"""Normal plus low-rank (NPLR) form of the HiPPO matrices.

Source: Su Jianlin, "重温SSM（三）", https://kexue.fm/archives/10162 ("点睛之笔"):
for LegS, :math:`A + \tfrac12 vv^\top + \tfrac12 I` is skew-symmetric with
:math:`v_n = \sqrt{2n+1}`, so a unitary matrix diagonalises the normal part
stably. Gu, Goel, Ré, S4, https://arxiv.org/abs/2111.00396, Theorem 1.
"""
from __future__ import annotations

import numpy as np
import scipy.linalg

from .._validation import check_bool, check_int, check_size
from .hippo import hippo as _hippo
from .hippo import transition as _s4_transition

__all__ = ["NPLR_MEASURES", "nplr", "nplr_from_matrix"]

#: Measures accepted by :func:`nplr`.
NPLR_MEASURES = ("legs", "legt", "lagt", "fout")


def _transition(measure, N, s4, params):
    """(A, B) of a HiPPO measure: refimpl.ssm.hippo (Su/paper scalings) or transition (s4 scalings)."""
    if measure == "legs" and params.get("normalization", "paper") not in ("paper", "su"):
        raise ValueError("parameter 'normalization': nplr('legs') needs 'paper' or 'su' (the 'integer' form "
                         "is a non-unitary similarity and is not normal plus low rank)")
    if s4:
        return _s4_transition(measure, N, **params)
    return _hippo(measure, N, **params)


def _low_rank_factor(M, tol):
    """Pivoted Cholesky of a PSD matrix that is exactly low rank: M = F F^*, F (N, r)."""
    M = M.copy()
    cols = []
    for _ in range(M.shape[0]):
        d = M.diagonal().real
        k = int(np.argmax(d))
        if d[k] <= tol:
            break
        f = M[:, k] / np.sqrt(d[k])
        cols.append(f)
        M = M - np.outer(f, f.conj())
    if not cols:
        return np.zeros((M.shape[0], 0), dtype=M.dtype)
    return np.stack(cols, axis=1)


def nplr_from_matrix(A, B, rank=1, *, half=False, P=None, shift=None):
    r"""NPLR form of a matrix whose Hermitian part is :math:`cI - PP^*` (see :func:`nplr`).

    Parameters
    ----------
    A : ndarray, shape (N, N)
        Real or complex matrix with :math:`(A + A^*)/2 = cI - PP^*`, P of low rank.
    B : ndarray, shape (N,)
    rank : int
        Number of columns of the returned P (>= the rank the matrix needs;
        extra columns are zero).
    half : bool
        Return one member of each conjugate pair (real A, even N).
    P, shift : optional
        A known low-rank factor (N, r0) and the constant c; when omitted they
        are computed (c: largest eigenvalue of the Hermitian part; P:
        pivoted Cholesky of :math:`cI - (A+A^*)/2`).

    Returns
    -------
    Lambda, P, B, V : see :func:`nplr`.
    """
    A = np.asarray(A)
    N = A.shape[0]
    real = not np.iscomplexobj(A)
    dtype = np.float64 if real else np.complex128
    if P is None:
        H = (A + A.conj().T) / 2.0
        mu = np.linalg.eigvalsh(H)
        scale = max(1.0, float(np.max(np.abs(mu))))
        c = float(mu[-1])
        top = mu >= c - 1e-9 * scale
        c = float(np.mean(mu[top]))
        P = _low_rank_factor(c * np.eye(N, dtype=dtype) - H, 1e-10 * scale)
    else:
        c = float(shift)
        P = np.asarray(P, dtype=dtype).reshape(N, -1)
    r0 = P.shape[1]
    if rank < r0:
        raise ValueError(f"parameter 'rank' must be >= {r0} for this matrix (its Hermitian part is c I minus a "
                         f"rank-{r0} term), got {rank}")
    if rank > r0:
        P = np.concatenate([P, np.zeros((N, rank - r0), dtype=P.dtype)], axis=1)
    S = A + P @ P.conj().T - c * np.eye(N)        # skew-Hermitian (skew-symmetric for real A)
    if not real:
        omega, V = np.linalg.eigh(-1j * S)        # S v = i omega v, V unitary
        Lambda = c + 1j * omega
    else:
        # Real Schur form S = Z T Z^T of the real skew matrix: Z is orthogonal to rounding and T is
        # block diagonal with 2x2 blocks [[0, w], [-w, 0]] and 1x1 zero blocks. A 2x2 block on columns
        # (z1, z2) gives the conjugate pair (z1 +- i z2)/sqrt(2), exactly orthonormal to rounding, which
        # eigh of -iS does not guarantee between v and conj(v) when +-w are close.
        T, Z = scipy.linalg.schur(S, output="real")
        vecs, zeros = [], []
        k = 0
        while k < N:
            if k + 1 < N and T[k + 1, k] != 0.0:
                v = (Z[:, k] + 1j * Z[:, k + 1]) / np.sqrt(2.0)
                if (v.conj() @ S @ v).imag > 0:
                    v = v.conj()                  # keep the member with negative imaginary part (s4)
                vecs.append(v)
                k += 2
            else:
                zeros.append(Z[:, k])
                k += 1
        m = len(zeros)
        for q in range(m // 2):                   # pair real zero modes as (a -+ i b)/sqrt(2)
            vecs.append((zeros[2 * q] - 1j * zeros[2 * q + 1]) / np.sqrt(2.0))
        Vh = np.stack(vecs, axis=1) if vecs else np.zeros((N, 0), dtype=np.complex128)
        w = np.einsum("ij,ij->j", Vh.conj(), S @ Vh).imag   # Rayleigh quotients: S v = i w v
        w[len(vecs) - m // 2:] = 0.0
        order = np.argsort(w, kind="stable")
        Vh, L_half = Vh[:, order], c + 1j * w[order]
        if half:
            V, Lambda = Vh, L_half
        else:
            parts_V = [Vh, Vh.conj()]
            parts_L = [L_half, L_half.conj()]
            if m % 2:
                parts_V.append(zeros[-1][:, None].astype(np.complex128))
                parts_L.append(np.array([c + 0j]))
            V = np.concatenate(parts_V, axis=1)
            Lambda = np.concatenate(parts_L)
    Vh = V.conj().T
    return Lambda, Vh @ P, Vh @ np.asarray(B), V


def nplr(measure, N, rank=1, *, half=False, s4=False, **params):
    r"""Normal plus low-rank form :math:`A = V(\mathrm{diag}(\Lambda) - PP^*)V^*` of a HiPPO matrix.

    The Hermitian part of each supported :math:`A` is :math:`cI - P_0P_0^*`
    with :math:`P_0` of low rank, so :math:`S = A + P_0P_0^* - cI` is
    skew-Hermitian and is diagonalised by a **unitary** V (``eigh`` of
    :math:`-iS`), which is numerically stable, unlike diagonalising A itself
    (its eigenvector matrix has a condition number exponential in N:
    the eigenvector entries :math:`|S_{d/3}|` scale like :math:`d^{3/2}2^{-4d/3}`;
    Su writes :math:`\sqrt d` for the prefactor, see ERRATA.md;
    https://kexue.fm/archives/10162). Then :math:`\Lambda = c + i\omega`,
    and P, B are returned in the eigenbasis: :math:`P = V^*P_0`, :math:`B = V^*B_0`.

    ========  ==================================================  ======  =========
    measure   :math:`P_0 P_0^*` (Hermitian part :math:`cI - P_0P_0^*`)  rank    :math:`c`
    ========  ==================================================  ======  =========
    legs      :math:`P_0 = \sqrt{n+1/2}` (closed form)            1       -1/2
    legt      :math:`(p_ep_e^\top + p_op_o^\top)/w`, even/odd parts of :math:`\sqrt{2n+1}`  2  0
    lagt      :math:`\tfrac12\mathbf 1\mathbf 1^\top`                1       0
    fout      :math:`g\mathbf 1\mathbf 1^\top` (complex form), :math:`BB^\top` (s4 form)  1  0
    ========  ==================================================  ======  =========

    For measures other than legs, :math:`P_0` and c are computed from the
    Hermitian part (largest eigenvalue, then a pivoted Cholesky of the
    exactly low-rank remainder).

    Parameters
    ----------
    measure : {"legs", "legt", "lagt", "fout"}
        A is ``refimpl.ssm.hippo(measure, N, **params)`` (Su's/the paper's
        scalings; ``fout`` is the complex form of size N = 2M+1, odd), or
        with ``s4=True`` ``refimpl.ssm.transition(measure, N, **params)``
        (state-spaces/s4 scalings: ``legt`` with window 2, ``fout`` the real
        Fourier form with even N and s4's dead state at index 1).
    N : int
        State size (the matrix size).
    rank : int, optional
        Columns of P; at least the rank the measure needs (2 for legt);
        larger ranks are padded with zero columns.
    half : bool, optional
        ``False`` (default): the full spectrum; Lambda (N,), P (N, rank),
        B (N,), V (N, N) unitary. ``True``: one member of each conjugate
        pair, the one with negative imaginary part, as state-spaces/s4
        ``nplr`` keeps (Lambda (N/2,), P (N/2, rank), B (N/2,), V (N, N/2));
        the full system is ``[Lambda, conj(Lambda)]``, ``[V, conj(V)]``.
        Needs a real A and even N. Zero eigenvalues (e.g. Fourier's dead
        state) are paired as :math:`(a \mp ib)/\sqrt2` from a real basis of
        the null space, so the halving stays exact.
    s4 : bool, optional
        Take A, B from :func:`refimpl.ssm.transition` instead of
        :func:`refimpl.ssm.hippo` (see ``measure``).
    **params
        Passed to the HiPPO function (``window``, ``beta``, ``endpoint``...).

    Returns
    -------
    Lambda : ndarray, complex128, shape (N,) or (N/2,)
        Eigenvalues of the normal part; full spectrum ordered as
        ``[half, conj(half), (real zero mode for odd N)]``, the half sorted by
        increasing imaginary part.
    P : ndarray, complex128, shape (N, rank) or (N/2, rank)
    B : ndarray, complex128, shape (N,) or (N/2,)
    V : ndarray, complex128, shape (N, N) or (N, N/2)
        Orthonormal columns. The output vector of a real system maps as
        :math:`C_V = V^\top C` (since :math:`C^\top x = (V^\top C)^\top x_V`).

    Raises
    ------
    ValueError
        Unknown ``measure``; ``N < 1``; ``rank < 1`` or below the measure's
        rank; ``half=True`` with odd N or a complex A.

    Notes
    -----
    Accuracy: :math:`\|V(\mathrm{diag}\Lambda - PP^*)V^* - A\|_{\max}
    \le 10^{-12}\|A\|_{\max}` and :math:`\|V^*V - I\| \le 10^{-13}` for N <= 256
    (tested); for legs :math:`\mathrm{Re}\,\Lambda = -1/2` exactly (c is
    the closed form, added to a real :math:`i\omega`).
    Convention: the s4 code returns ``P`` with shape (rank, N/2) and
    ``V`` (N, N/2); here P has shape (N, rank) so that ``P @ P.conj().T``
    is the N x N term of the formula. s4 also clips the imaginary part of
    B (``B_clip=2.0``); refimpl does not.

    Examples
    --------
    >>> import numpy as np
    >>> Lam, P, B, V = nplr("legs", 4)
    >>> Lam.real
    array([-0.5, -0.5, -0.5, -0.5])
    >>> from refimpl.ssm import legs
    >>> A = legs(4)[0]
    >>> bool(np.allclose(V @ (np.diag(Lam) - P @ P.conj().T) @ V.conj().T, A, atol=1e-13))
    True
    """
    if not isinstance(measure, str) or measure not in NPLR_MEASURES:
        listed = ", ".join(map(repr, NPLR_MEASURES))
        raise ValueError(f"parameter 'measure' must be one of {listed}; got {measure!r}")
    N = check_int(N, "N", min_value=1)
    rank = check_int(rank, "rank", min_value=1)
    half = check_bool(half, "half")
    s4 = check_bool(s4, "s4")
    check_size((N, N), "N", itemsize=64)  # the dense A and its eigendecomposition
    check_size((N, rank), "rank", itemsize=16)
    A, B = _transition(measure, N, s4, params)
    A = np.asarray(A)
    B = np.asarray(B)
    n = A.shape[0]
    if half and np.iscomplexobj(A):
        raise ValueError(f"parameter 'half': measure {measure!r} gives a complex A; the conjugate half needs a real A")
    if half and n % 2:
        raise ValueError(f"parameter 'N': the conjugate half needs an even state size, got {n}")
    if measure == "legs":
        # A + P0 P0^T + I/2 is skew (derivations/s4_woodbury.py); "integer" is a non-unitary similarity of it
        P0 = np.sqrt(np.arange(n) + 0.5)[:, None]
        return nplr_from_matrix(A, B, rank, half=half, P=P0, shift=-0.5)
    return nplr_from_matrix(A, B, rank, half=half)

