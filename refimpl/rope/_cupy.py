r"""The CuPy path of :func:`refimpl.rope.apply`.

Two implementations of the same rotation, both on CuPy arrays:

- ``fused=True`` (the default): one small CUDA ``RawKernel``. One thread per
  (row, pair) computes the angle ``pos * inv_freq[j]`` and its cos/sin in
  float64, rotates the pair in float64 and rounds once into the output: ``x``
  is read once and ``out`` written once (the memory floor of the operation),
  no cos/sin table and no ``rotate_half`` copy. Non-finite entries of ``x``
  are counted in the same pass (an atomic counter).
- ``fused=False``: :func:`refimpl.rope._kernels.apply_rope_xp` with
  ``xp = cupy``, i.e. literally the NumPy twin's code on the GPU (a table of
  cos/sin per distinct position, then elementwise products).

The RawKernel cannot run without a GPU; it is compared with the NumPy
oracle by the ``gpu`` tests (tests/test_gpu.py). Its cos/sin are CUDA's
double-precision ``sincos`` (max 2 ulp) and its products may be contracted
into FMAs, so it agrees with the NumPy twin to a few ulp, as numba does.

Validation mirrors ``apply.apply`` (same checks, same messages) using
:func:`refimpl._gpu.device_array`; ``positions`` and ``inv_freq`` may be
host or device arrays.
"""
from __future__ import annotations

import numpy as np

from .._gpu import device_array
from .._validation import check_choice, check_real
from . import _kernels

_SOURCE = r"""
template <typename X>
__device__ __forceinline__ void rope_item(const X* __restrict__ x, X* __restrict__ out,
                                          const double* __restrict__ pos, const double* __restrict__ th,
                                          double scale, const long long* __restrict__ rowmap, int has_map,
                                          long long T, int h, int d, int half, long long idx,
                                          unsigned long long* nbad) {
    const int w = d - h;                 // h pairs + (d - 2h) pass-through coordinates per row
    const long long r = idx / w;
    const int j = (int)(idx - r * w);
    const X* xr = x + r * d;
    X* orow = out + r * d;
    if (j < h) {
        const long long t = has_map ? rowmap[r] : r % T;
        const double a = pos[t] * th[j];
        double s, c;
        sincos(a, &s, &c);
        c *= scale;
        s *= scale;
        const int ia = half ? j : 2 * j;
        const int ib = half ? j + h : 2 * j + 1;
        const double x1 = (double)xr[ia];
        const double x2 = (double)xr[ib];
        if (!isfinite(x1) || !isfinite(x2)) atomicAdd(nbad, 1ULL);
        orow[ia] = (X)(x1 * c - x2 * s);
        orow[ib] = (X)(x2 * c + x1 * s);
    } else {
        const int jj = 2 * h + (j - h);
        const X v = xr[jj];
        if (!isfinite((double)v)) atomicAdd(nbad, 1ULL);
        orow[jj] = v;
    }
}

#define ROPE_KERNEL(NAME, X)                                                                      \
extern "C" __global__ void NAME(const X* __restrict__ x, X* __restrict__ out,                    \
                                const double* __restrict__ pos, const double* __restrict__ th,   \
                                double scale, const long long* __restrict__ rowmap, int has_map, \
                                long long R, long long T, int h, int d, int half,                \
                                unsigned long long* nbad) {                                      \
    const long long total = R * (long long)(d - h);                                              \
    const long long stride = (long long)blockDim.x * gridDim.x;                                  \
    for (long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x; idx < total;          \
         idx += stride)                                                                          \
        rope_item<X>(x, out, pos, th, scale, rowmap, has_map, T, h, d, half, idx, nbad);         \
}

ROPE_KERNEL(rope_f64, double)
ROPE_KERNEL(rope_f32, float)
"""

_MODULE = None


def _module(cp):
    global _MODULE
    if _MODULE is None:
        _MODULE = cp.RawModule(code=_SOURCE, options=("--std=c++14",),
                               name_expressions=None)
    return _MODULE


def apply_rope_fused(cp, x2, table, th, scale, half_layout, out2, rowmap=None):
    """Run the fused RawKernel on CuPy arrays: ``x2``/``out2`` (R, d), ``table`` (T,) float64,
    ``th`` (h,) float64, ``rowmap`` (R,) int64 or None. Returns the number of non-finite entries."""
    R, d = x2.shape
    h = th.shape[0]
    fn = _module(cp).get_function("rope_f32" if x2.dtype == np.float32 else "rope_f64")
    nbad = cp.zeros(1, dtype=cp.uint64)
    rm = rowmap if rowmap is not None else cp.zeros(1, dtype=cp.int64)
    total = R * (d - h)
    threads = 256
    blocks = int(min(max(1, (total + threads - 1) // threads), 1 << 20))
    fn((blocks,), (threads,), (x2, out2, table, th, np.float64(scale), rm, np.int32(rowmap is not None),
                               np.int64(R), np.int64(table.shape[0]), np.int32(h), np.int32(d),
                               np.int32(bool(half_layout)), nbad))
    return int(nbad.get()[0])


def _as_positions_xp(positions, xp):
    arr = xp.asarray(positions)
    dt = np.dtype(arr.dtype)
    if dt == np.bool_ or not (np.issubdtype(dt, np.integer) or np.issubdtype(dt, np.floating)):
        raise TypeError(f"parameter 'positions' must hold integers or real numbers, got dtype {dt}")
    if np.issubdtype(dt, np.integer) and arr.size and int(xp.abs(arr).max()) > 2**53:
        raise ValueError("parameter 'positions' must be below 2**53 in magnitude (exact in float64)")
    return device_array(arr, "positions", xp)


def apply_xp(xp, x, positions, inv_freq, layout="half", attention_factor=1.0, *, out=None, fused=True):
    """The CuPy path of ``apply`` for the namespace ``xp`` (``fused`` needs ``xp = cupy``)."""
    from .apply import LAYOUTS, _position_rows

    layout = check_choice(layout, "layout", LAYOUTS)
    xa = device_array(x, "x", xp, min_ndim=2, finite=False, keep_float32=True)
    dtype = xa.dtype
    th = device_array(inv_freq, "inv_freq", xp, ndim=1, min_size=1)
    d = xa.shape[-1]
    if 2 * th.shape[0] > d:
        raise ValueError(f"parameter 'inv_freq' has {th.shape[0]} pairs but x has only d={d} coordinates "
                         f"(need 2*len(inv_freq) <= d)")
    pos = _as_positions_xp(positions, xp)
    scale = check_real(attention_factor, "attention_factor")
    lead = tuple(xa.shape[:-1])
    table, rowmap = _position_rows(pos, lead, xp)
    if out is None:
        res = xp.empty(xa.shape, dtype=dtype)
    else:
        if type(out).__module__.split(".")[0] != xp.__name__.split(".")[0] or tuple(out.shape) != tuple(xa.shape) \
                or out.dtype != dtype or not out.flags.c_contiguous:
            raise ValueError(f"parameter 'out' must be a writeable C-contiguous {np.dtype(dtype).name} "
                             f"{xp.__name__} array of shape {tuple(xa.shape)}")
        if xp.may_share_memory(out, xa):
            raise ValueError("parameter 'out' must not overlap x")
        res = out
    x2 = xa.reshape(-1, d)
    if x2.shape[0]:
        if fused:
            n_bad = apply_rope_fused(xp, x2, table, th, scale, layout == "half", res.reshape(-1, d), rowmap)
        else:
            n_bad = _kernels.apply_rope_xp(xp, x2, table, th, scale, layout == "half", res.reshape(-1, d), rowmap)
        if n_bad:
            rows = int(xp.count_nonzero(~xp.all(xp.isfinite(x2), axis=1)))
            raise ValueError(f"parameter 'x' must be finite; {rows} row(s) contain NaN or Inf")
    return res
