r"""Array-namespace code of refimpl.ssm, run by NumPy and CuPy alike (``xp``).

- :func:`cauchy_xp`: the Cauchy product
  :math:`r_{hl} = \sum_n v_{hn}/(z_l - w_{hn})` (plus the conjugate half
  when ``conj``) by broadcasting, in chunks of nodes so that one temporary
  stays below 2**24 complex entries; the CuPy fallback and the second route
  the ``gpu`` tests compare the RawKernel with.
- :func:`cauchy_raw`: a small CUDA ``RawKernel``, one thread per
  (channel, node) pair summing over the N poles in registers (the
  arithmetic of the numba kernel, ``v conj(d) / |d|^2``, float64); memory
  O(H L + H N), compute bound. Runs only on a GPU (compiled by NVRTC at
  first use).
- :func:`kernel_dplr`: the Woodbury combination of the Cauchy sums and the
  inverse FFT of :func:`refimpl.ssm.reference.kernel_dplr`, for the numba
  path (``xp = numpy``) and the CuPy path.
- :func:`kernel_diag`: the Vandermonde product of
  :func:`refimpl.ssm.reference.kernel_diag` as ``exp(j log Abar)`` in
  chunks (s4's ``log_vandermonde``), for the CuPy path.

Each is tested against the definition in :mod:`refimpl.ssm.reference`.
"""
from __future__ import annotations

import numpy as np

from .._validation import as_array

#: complex entries of one broadcast temporary in :func:`cauchy_xp`
CHUNK_ELEMENTS = 1 << 24

_SOURCE = r"""
extern "C" __global__ void cauchy_c128(const double* __restrict__ v, const double* __restrict__ z,
                                       const double* __restrict__ w, double* __restrict__ out,
                                       long long H, long long L, int N, int conj) {
    // v, w: (H, N) complex128; z: (L,) complex128; out: (H, L) complex128 (interleaved re, im)
    const long long total = H * L;
    const long long stride = (long long)blockDim.x * gridDim.x;
    for (long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x; idx < total; idx += stride) {
        const long long h = idx / L;
        const long long l = idx - h * L;
        const double zr = z[2 * l], zi = z[2 * l + 1];
        const double* vh = v + 2 * h * N;
        const double* wh = w + 2 * h * N;
        double acc_r = 0.0, acc_i = 0.0;
        for (int n = 0; n < N; ++n) {
            const double vr = vh[2 * n], vi = vh[2 * n + 1];
            const double dr = zr - wh[2 * n];
            const double di = zi - wh[2 * n + 1];
            const double inv = 1.0 / (dr * dr + di * di);
            acc_r += (vr * dr + vi * di) * inv;      // v / d = v conj(d) / |d|^2
            acc_i += (vi * dr - vr * di) * inv;
            if (conj) {                              // conj(v) / (z - conj(w))
                const double di2 = zi + wh[2 * n + 1];
                const double inv2 = 1.0 / (dr * dr + di2 * di2);
                acc_r += (vr * dr - vi * di2) * inv2;
                acc_i += (-vi * dr - vr * di2) * inv2;
            }
        }
        out[2 * idx] = acc_r;
        out[2 * idx + 1] = acc_i;
    }
}
"""

_MODULE = None


def _module(cp):
    global _MODULE
    if _MODULE is None:
        _MODULE = cp.RawModule(code=_SOURCE)
    return _MODULE


def cauchy_raw(cp, v, z, w, conj):
    """RawKernel Cauchy product on CuPy complex128 C-contiguous arrays: v, w (H, N), z (L,) -> (H, L)."""
    H, N = v.shape
    L = z.shape[0]
    out = cp.empty((H, L), dtype=cp.complex128)
    threads = 256
    blocks = int(min(max(1, (H * L + threads - 1) // threads), 1 << 20))
    _module(cp).get_function("cauchy_c128")((blocks,), (threads,),
                                            (v, z, w, out, np.int64(H), np.int64(L), np.int32(N),
                                             np.int32(bool(conj))))
    return out


def cauchy_xp(xp, v, z, w, conj, *, chunk=None):
    """The broadcasting Cauchy product for ``xp`` arrays (v, w (H, N) complex128, z (L,)), chunked over z.

    Same per-term arithmetic as the numba and CUDA kernels; sums over n with ``xp.sum``.
    """
    H, N = v.shape
    L = z.shape[0]
    if chunk is None:
        chunk = max(1, CHUNK_ELEMENTS // max(1, H * N))
    out = xp.empty((H, L), dtype=xp.complex128)
    vr = v.real[:, None, :]
    vi = v.imag[:, None, :]
    wr = w.real[:, None, :]
    wi = w.imag[:, None, :]
    for l0 in range(0, L, chunk):
        zz = z[l0:l0 + chunk]
        dr = zz.real[None, :, None] - wr
        di = zz.imag[None, :, None] - wi
        inv = 1.0 / (dr * dr + di * di)
        re = (vr * dr + vi * di) * inv
        im = (vi * dr - vr * di) * inv
        if conj:
            di2 = zz.imag[None, :, None] + wi
            inv2 = 1.0 / (dr * dr + di2 * di2)
            re = re + (vr * dr - vi * di2) * inv2
            im = im + (-vi * dr - vr * di2) * inv2
        out[:, l0:l0 + chunk] = xp.sum(re, axis=-1) + 1j * xp.sum(im, axis=-1)
    return out


def cauchy_inputs_xp(xp, v, z, w, conj):
    """Validate and shape the arguments of ``cauchy`` as ``xp`` arrays: ``(v2, z, w2, squeeze)``.

    The device-side form of the checks in ``ssm.s4.cauchy`` (same messages): v, w
    (H, N) complex128 C-contiguous, z (L,), no node equal to a pole.
    """
    v = as_array(v, "v", xp=xp, allow_complex=True, dtype=np.complex128)
    z = as_array(z, "z", xp=xp, ndim=1, allow_complex=True, dtype=np.complex128, min_size=1)
    w = as_array(w, "w", xp=xp, allow_complex=True, dtype=np.complex128)
    if v.ndim not in (1, 2) or v.shape[-1] == 0:
        raise ValueError(f"parameter 'v' must have shape (N,) or (H, N) with N >= 1, got {tuple(v.shape)}")
    squeeze = v.ndim == 1
    v2 = v[None, :] if squeeze else v
    if w.ndim == 1:
        if w.shape[0] != v2.shape[1]:
            raise ValueError(f"parameter 'w' must have shape ({v2.shape[1]},) or {tuple(v2.shape)} to match 'v', "
                             f"got {tuple(w.shape)}")
        w2 = xp.broadcast_to(w, v2.shape)
    elif w.shape == v2.shape:
        w2 = w
    else:
        raise ValueError(f"parameter 'w' must have shape ({v2.shape[1]},) or {tuple(v2.shape)} to match 'v', "
                         f"got {tuple(w.shape)}")
    w2 = xp.ascontiguousarray(w2.astype(xp.complex128))
    v2 = xp.ascontiguousarray(v2.astype(xp.complex128))
    z = xp.ascontiguousarray(z.astype(xp.complex128))
    # the node/pole check runs on the host (sort-based np.isin, no L x H N temporary); z and w are small
    wh = w2.get() if hasattr(w2, "get") else np.asarray(w2)
    zh = z.get() if hasattr(z, "get") else np.asarray(z)
    poles = np.unique(wh) if not conj else np.unique(np.concatenate([wh.ravel(), wh.ravel().conj()]))
    if np.isin(zh, poles).any():
        raise ValueError("parameter 'z' contains a node equal to a pole in 'w' (division by zero)")
    return v2, z, w2, squeeze


def cauchy_cupy(xp, v, z, w, conj, *, raw=True):
    """The CuPy path of ``ssm.cauchy``: validation, then the RawKernel (``raw``) or :func:`cauchy_xp`."""
    v2, z, w2, squeeze = cauchy_inputs_xp(xp, v, z, w, conj)
    out = cauchy_raw(xp, v2, z, w2, conj) if raw else cauchy_xp(xp, v2, z, w2, conj)
    return out[0] if squeeze else out


def roots_of_unity(L, count=None):
    """omega_l = exp(-2 pi i l / L) for l < count (NumPy), exact at l = 0, L/4, L/2, 3L/4."""
    count = L if count is None else count
    l = np.arange(count)
    om = np.exp(-2j * np.pi * l / L)
    om[l == 0] = 1.0  # exact nodes where the rounding of 2 pi l / L would leave ~1e-16 residues
    if L % 2 == 0:
        om[l == L // 2] = -1.0
    if L % 4 == 0:
        om[l == L // 4] = -1j
        om[l == 3 * L // 4] = 1j
    return om


def kernel_dplr(xp, cauchy, Lambda, P, Q, B, Ct, dt, L, half):
    """:func:`refimpl.ssm.reference.kernel_dplr` on host arrays (Lambda, B, Ct (H, N); P, Q (H, N, r); dt (H,)).

    The Cauchy sums of all channels go to ``cauchy(v, z, w, conj)`` (``xp``
    arrays, v, w (rows, N), z (M,)) in one call, at the dt-scaled nodes
    ``dt g = 2 (1 - omega) / (1 + omega) = 2i tan(pi l / L)`` with poles
    ``dt Lambda`` and numerators times ``dt``; the Woodbury combination and
    the inverse FFT run in ``xp``. Returns ``(H, L)``.
    """
    H, N, r = P.shape
    count = L // 2 + 1 if half else L
    om = roots_of_unity(L, count)
    l = np.arange(count)
    minus_one = (L % 2 == 0) & (l == L // 2)
    regular = ~minus_one
    zr = 2j * np.tan(np.pi * l[regular] / L)
    w = dt[:, None] * Lambda                                           # (H, N)
    left = np.concatenate([Ct[:, None, :], np.swapaxes(Q.conj(), 1, 2)], axis=1)   # (H, 1 + r, N)
    right = np.concatenate([B[:, None, :], np.swapaxes(P, 1, 2)], axis=1)          # (H, 1 + r, N)
    v = left[:, :, None, :] * right[:, None, :, :] * dt[:, None, None, None]       # (H, 1 + r, 1 + r, N)
    rows = (1 + r) * (1 + r)
    wv = np.ascontiguousarray(np.repeat(w, rows, axis=0))
    k = cauchy(xp.asarray(np.ascontiguousarray(v.reshape(H * rows, N))), xp.asarray(zr), xp.asarray(wv), half)
    k = k.reshape(H, 1 + r, 1 + r, -1)
    k00, k01, k10, k11 = k[:, 0, 0], k[:, 0, 1:], k[:, 1:, 0], k[:, 1:, 1:]   # (H, M), (H, r, M), (H, r, M), (H, r, r, M)
    if r == 1:
        res = k00 - k01[:, 0] * k10[:, 0] / (1.0 + k11[:, 0, 0])
    else:
        Mr = xp.moveaxis(k11, -1, 1) + xp.eye(r)                          # (H, M, r, r)
        sol = xp.linalg.solve(Mr, xp.moveaxis(k10, -1, 1)[..., None])[..., 0]   # (H, M, r)
        res = k00 - xp.einsum("hjm,hmj->hm", k01, sol)
    G = xp.empty((H, count), dtype=xp.complex128)
    G[:, xp.asarray(np.flatnonzero(regular))] = res * 2.0 / (1.0 + xp.asarray(om[regular]))
    if minus_one.any():
        s = np.sum(Ct * B, axis=1)
        G[:, L // 2] = xp.asarray(0.5 * dt * (2.0 * s.real if half else s))   # exact limit (dt/2) Ct^T B
    if half:
        return xp.fft.irfft(G, n=L, axis=-1)
    return xp.fft.ifft(G, axis=-1)


def kernel_diag(xp, Lambda, B, C, dt, L, method, half):
    """:func:`refimpl.ssm.reference.kernel_diag` (host arrays (H, N), dt (H,)): the O(H N)
    discretisation on the host, the Vandermonde product ``exp(j log Abar)`` in ``xp`` in chunks of j."""
    H, N = Lambda.shape
    x = dt[:, None] * Lambda
    if method == "zoh":
        with np.errstate(invalid="ignore", divide="ignore"):
            Bb = np.where(Lambda == 0, dt[:, None], np.expm1(x) / np.where(Lambda == 0, 1.0, Lambda)) * B
        logA = x
    else:
        den = 1.0 - x / 2.0
        Bb = dt[:, None] * B / den
        with np.errstate(divide="ignore"):
            logA = np.log((1.0 + x / 2.0) / den)  # -inf where Abar = 0: then only K_0 gets that term
    coef = xp.asarray(C * Bb)
    zero_pole = xp.asarray(np.isneginf(logA.real))[:, :, None]
    logA = xp.asarray(logA)
    j = xp.arange(L, dtype=xp.float64)
    K = xp.zeros((H, L), dtype=xp.complex128)
    step = max(1, (1 << 22) // max(N * H, 1))  # bound the H x N x chunk Vandermonde block
    for s0 in range(0, L, step):
        jj = j[s0:s0 + step]
        with np.errstate(invalid="ignore"):
            Vm = xp.exp(logA[:, :, None] * jj[None, None, :])
        if method == "bilinear":
            Vm = xp.where((jj == 0)[None, None, :], 1.0, Vm)
            Vm = xp.where(zero_pole & (jj > 0)[None, None, :], 0.0, Vm)
        K[:, s0:s0 + step] = xp.einsum("hn,hnj->hj", coef, Vm)
    return 2.0 * K.real if half else K
