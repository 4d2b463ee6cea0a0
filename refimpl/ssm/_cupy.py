r"""The CuPy path of :func:`refimpl.ssm.cauchy` (and of the kernel routes built on it).

Two implementations of the Cauchy matrix-vector product
:math:`r_{hl} = \sum_n v_{hn}/(z_l - w_{hn})` (plus the conjugate half when
``conj``):

- :func:`cauchy_raw`: a small CUDA ``RawKernel``, one thread per
  (channel, node) pair summing over the N poles in registers, the arithmetic
  of the numba kernel (``v conj(d) / |d|^2``, float64). Memory O(H L + H N);
  the work is H L N divisions, compute bound. This is what pays: the
  broadcasting form moves 16 H L N bytes per temporary.
- :func:`cauchy_xp`: the broadcasting twin (``ssm._s4_kernels.cauchy_np``'s
  formula) for an array namespace ``xp``, in chunks of nodes so that one
  temporary stays below 2**24 complex entries. With ``xp = numpy`` it is
  tested on the CPU against the NumPy twin; on the GPU it is the fallback and
  the second route the ``gpu`` tests compare the RawKernel with.

The RawKernel runs only on a GPU (its source is compiled by NVRTC at first
use); it is checked against the float64 NumPy oracle by tests/gpu.
"""
from __future__ import annotations

import numpy as np

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
    """The broadcasting Cauchy twin for ``xp`` arrays (v, w (H, N) complex128, z (L,)), chunked over z.

    Same per-term arithmetic as ``_s4_kernels.cauchy_np`` (and the kernels);
    sums over n with ``xp.sum``.
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

    The device twin of the checks in ``ssm.s4.cauchy`` (same messages): v, w
    (H, N) complex128 C-contiguous, z (L,), no node equal to a pole.
    """
    from .._gpu import device_array

    v = device_array(v, "v", xp, allow_complex=True, dtype=np.complex128)
    z = device_array(z, "z", xp, ndim=1, allow_complex=True, dtype=np.complex128, min_size=1)
    w = device_array(w, "w", xp, allow_complex=True, dtype=np.complex128)
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
    """The CuPy path of ``ssm.cauchy``: validation, then the RawKernel (``raw``) or the chunked xp twin."""
    v2, z, w2, squeeze = cauchy_inputs_xp(xp, v, z, w, conj)
    out = cauchy_raw(xp, v2, z, w2, conj) if raw else cauchy_xp(xp, v2, z, w2, conj)
    return out[0] if squeeze else out
