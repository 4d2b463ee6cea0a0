r"""refimpl.rope.apply written once for an array namespace ``xp`` (NumPy or CuPy).

- :func:`validate`: the checks of ``apply`` (the NumPy path calls it with
  ``xp = numpy``, the CuPy path with ``xp = cupy``: one set of messages);
- :func:`position_rows`: which row of the position table each row of ``x`` uses;
- :func:`rotate`: the rotation of rows with a cos/sin table, in ``xp``;
- :func:`fused_kernel`: the CuPy fast path, one small CUDA ``RawKernel``. One
  thread per (row, pair) computes the angle ``pos * inv_freq[j]`` and its
  cos/sin in float64, rotates the pair in float64 and rounds once into the
  output: ``x`` is read once and ``out`` written once, non-finite entries
  are counted in the same pass (an atomic counter). Its cos/sin are CUDA's
  double-precision ``sincos`` (max 2 ulp) and products may be contracted
  into FMAs, so it agrees with ``reference.apply`` to a few ulp (the ``gpu``
  tests);
- :func:`apply`: the CuPy path of ``apply`` (``fused=False`` runs
  :func:`rotate` instead of the RawKernel, e.g. with ``xp = numpy``).
"""
from __future__ import annotations

import numpy as np

from .._validation import ArgumentTypeError, as_array, check_choice, check_real
from .reference import LAYOUTS


def real_array(x, name, xp=np, **kwargs):
    """:func:`refimpl._validation.as_array` that also refuses booleans (True is not a number here)."""
    if isinstance(x, (bool, np.bool_)):
        raise ArgumentTypeError(f"parameter '{name}' must hold real numbers, got bool {x!r}")
    try:
        dt = x.dtype if hasattr(x, "dtype") else np.asarray(x).dtype
    except Exception:  # ragged input: as_array names the parameter
        dt = None
    if dt == np.bool_:
        raise ArgumentTypeError(f"parameter '{name}' must hold real numbers, got a boolean array")
    return as_array(x, name, xp=xp, **kwargs)

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


def fused_kernel(cp, x2, table, th, scale, half_layout, out2, rowmap=None):
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


def _as_positions(positions, xp):
    if isinstance(positions, (str, bytes)) or positions is None:
        return as_array(positions, "positions", xp=xp)  # raises, naming the parameter
    try:
        arr = xp.asarray(positions)
    except Exception as exc:  # ragged lists
        raise TypeError(f"parameter 'positions' must be an array of integers or reals (not ragged): {exc}") from None
    dt = np.dtype(arr.dtype)
    if dt == np.bool_ or not (np.issubdtype(dt, np.integer) or np.issubdtype(dt, np.floating)):
        raise TypeError(f"parameter 'positions' must hold integers or real numbers, got dtype {dt}")
    if np.issubdtype(dt, np.integer) and arr.size and int(xp.abs(arr).max()) > 2**53:
        raise ValueError("parameter 'positions' must be below 2**53 in magnitude (exact in float64)")
    return as_array(arr, "positions", xp=xp)


def check_angles(positions, inv_freq, xp=np):
    """ValueError when some angle ``n theta`` leaves float64 (its cos/sin would be NaN)."""
    if positions.size and inv_freq.size:
        top = float(xp.abs(positions).max()) * float(xp.abs(inv_freq).max())
        if not top < np.finfo(np.float64).max:
            raise ValueError(f"parameters 'positions' and 'inv_freq': the angle max|n| max|theta| = {top:g} "
                             f"exceeds the float64 range")


def _broadcast_positions(pos, lead):
    """``pos`` reshaped to broadcast against ``lead`` = x.shape[:-1] (leading ones added).

    2-D positions with a 4-D ``x`` (B, H, L, d) are per-sequence positions
    (B, L) (transformers' ``position_ids``), shared by the H heads.
    """
    if pos.ndim == 2 and len(lead) == 3:
        if pos.shape[0] not in (1, lead[0]) or pos.shape[1] not in (1, lead[2]):
            raise ValueError(f"parameter 'positions' has shape {tuple(pos.shape)}; 2-D positions with x of shape "
                             f"(B, H, L, d) = {tuple(lead) + ('d',)} are per-sequence positions and must have shape (B, L) = ({lead[0]}, {lead[2]})")
        pos = pos.reshape(pos.shape[0], 1, pos.shape[1])
    if pos.ndim > len(lead):
        raise ValueError(f"parameter 'positions' has shape {tuple(pos.shape)}, which does not broadcast to "
                         f"x.shape[:-1] = {tuple(lead)}")
    shape = (1,) * (len(lead) - pos.ndim) + tuple(pos.shape)
    try:
        np.broadcast_shapes(shape, tuple(lead))
    except ValueError:
        raise ValueError(f"parameter 'positions' has shape {tuple(pos.shape)}, which does not broadcast to "
                         f"x.shape[:-1] = {tuple(lead)}") from None
    return pos.reshape(shape)


def validate(xp, x, positions, inv_freq, layout, attention_factor, out, *, finite_x=True):
    """The checks of ``apply``: ``(x, positions, inv_freq, layout, attention_factor, out)``.

    ``x`` becomes float32 (float32 input) or float64; ``positions`` float64,
    reshaped to broadcast against ``x.shape[:-1]``; ``out`` is the given
    array (checked) or a new one of x's shape and dtype.
    """
    layout = check_choice(layout, "layout", LAYOUTS)
    xa = real_array(x, "x", xp=xp, min_ndim=2, finite=finite_x, keep_float32=True)
    th = real_array(inv_freq, "inv_freq", xp=xp, ndim=1, min_size=1)
    d = xa.shape[-1]
    if 2 * th.shape[0] > d:
        raise ValueError(f"parameter 'inv_freq' has {th.shape[0]} pairs but x has only d={d} coordinates "
                         f"(need 2*len(inv_freq) <= d)")
    pos = _broadcast_positions(_as_positions(positions, xp), tuple(xa.shape[:-1]))
    check_angles(pos, th, xp)
    scale = check_real(attention_factor, "attention_factor")
    if out is None:
        return xa, pos, th, layout, scale, xp.empty(xa.shape, dtype=xa.dtype)
    if type(out).__module__.split(".")[0] != xp.__name__.split(".")[0] or tuple(out.shape) != tuple(xa.shape) \
            or out.dtype != xa.dtype or not out.flags.c_contiguous or not getattr(out.flags, "writeable", True):
        raise ValueError(f"parameter 'out' must be a writeable C-contiguous {np.dtype(xa.dtype).name} "
                         f"{xp.__name__} array of shape {tuple(xa.shape)}")
    if xp.may_share_memory(out, xa):
        raise ValueError("parameter 'out' must not overlap x")
    return xa, pos, th, layout, scale, out


def position_rows(pos, lead, xp=np):
    """Map ``pos`` (already shaped to broadcast against ``lead``) to ``(table, rowmap)``.

    Row r of x (flattened over ``lead``) uses ``table[rowmap[r]]``, or
    ``table[r % len(table)]`` when ``rowmap`` is None (positions shared by all
    leading batch axes, the common case: no index array is built).
    """
    shape = tuple(pos.shape)
    table = xp.ascontiguousarray(pos.reshape(-1))
    # the smallest k with shape[:k] all ones and shape[k:] == lead[k:]: a periodic row map
    for k in range(len(lead) + 1):
        if all(s == 1 for s in shape[:k]) and shape[k:] == tuple(lead[k:]):
            return table, None
    index = xp.arange(table.shape[0], dtype=xp.int64).reshape(shape)
    return table, xp.ascontiguousarray(xp.broadcast_to(index, tuple(lead)).reshape(-1))


def rotate(xp, x, pos, inv_freq, scale, half_layout, out, rowmap=None):
    """Rows of ``x`` (R, d) rotated into ``out`` (R, d) with a cos/sin table; returns the count of non-finite rows."""
    R, d = x.shape
    T = pos.shape[0]
    h = inv_freq.shape[0]
    ang = pos[:, None] * inv_freq[None, :]
    cos_t = xp.cos(ang) * scale
    sin_t = xp.sin(ang) * scale
    if rowmap is None:
        xv = x.reshape(R // T, T, d)
        ov = out.reshape(R // T, T, d)
    else:
        cos_t, sin_t = cos_t[rowmap], sin_t[rowmap]
        xv, ov = x, out
    if half_layout:
        x1 = xv[..., :h].astype(xp.float64)
        x2 = xv[..., h:2 * h].astype(xp.float64)
        ov[..., :h] = x1 * cos_t - x2 * sin_t
        ov[..., h:2 * h] = x2 * cos_t + x1 * sin_t
    else:
        x1 = xv[..., 0:2 * h:2].astype(xp.float64)
        x2 = xv[..., 1:2 * h:2].astype(xp.float64)
        ov[..., 0:2 * h:2] = x1 * cos_t - x2 * sin_t
        ov[..., 1:2 * h:2] = x2 * cos_t + x1 * sin_t
    if 2 * h < d:
        ov[..., 2 * h:] = xv[..., 2 * h:]
    return int(xp.count_nonzero(~xp.all(xp.isfinite(x), axis=1)))


def apply(xp, x, positions, inv_freq, layout="half", attention_factor=1.0, *, out=None, fused=True):
    """The CuPy path of ``apply`` for the namespace ``xp`` (``fused`` needs ``xp = cupy``)."""
    xa, pos, th, layout, scale, res = validate(xp, x, positions, inv_freq, layout, attention_factor, out,
                                               finite_x=False)
    d = xa.shape[-1]
    table, rowmap = position_rows(pos, tuple(xa.shape[:-1]), xp)
    x2 = xa.reshape(-1, d)
    if x2.shape[0]:
        run = fused_kernel if fused else rotate
        n_bad = run(xp, x2, table, th, scale, layout == "half", res.reshape(-1, d), rowmap)
        if n_bad:
            rows = int(xp.count_nonzero(~xp.all(xp.isfinite(x2), axis=1)))
            raise ValueError(f"parameter 'x' must be finite; {rows} row(s) contain NaN or Inf")
    return res
