r"""Applying RoPE: the rotation of head vectors, both layouts, and its matrix."""
from __future__ import annotations

import numpy as np

from .._backend import resolve_backend
from .._validation import as_array, check_choice, check_real
from . import _kernels

__all__ = ["LAYOUTS", "apply", "layout_permutation", "rotation_matrix"]

LAYOUTS = ("half", "interleaved")


def _check_inv_freq(inv_freq):
    th = as_array(inv_freq, "inv_freq", ndim=1, min_size=1)
    return th


def _as_positions(positions):
    try:
        arr = np.asarray(positions)
    except Exception as exc:  # pragma: no cover
        raise TypeError(f"parameter 'positions' must be array-like: {exc}") from None
    if arr.dtype == np.bool_ or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"parameter 'positions' must hold integers or real numbers, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.integer) and arr.size and np.max(np.abs(arr)) > 2**53:
        raise ValueError("parameter 'positions' must be below 2**53 in magnitude (exact in float64)")
    return as_array(arr, "positions")


def _position_rows(pos, lead):
    """Map ``pos`` (broadcastable to ``lead``) to ``(table, rowmap)``.

    Row r of x (flattened over ``lead``) uses ``table[rowmap[r]]``, or
    ``table[r % len(table)]`` when ``rowmap`` is None (positions shared by all
    leading batch axes, the common case: no index array is built).
    """
    if pos.ndim > len(lead):
        raise ValueError(f"parameter 'positions' has shape {pos.shape}, which does not broadcast to "
                         f"x.shape[:-1] = {tuple(lead)}")
    shape = (1,) * (len(lead) - pos.ndim) + pos.shape
    try:
        np.broadcast_shapes(shape, tuple(lead))
    except ValueError:
        raise ValueError(f"parameter 'positions' has shape {pos.shape}, which does not broadcast to "
                         f"x.shape[:-1] = {tuple(lead)}") from None
    table = np.ascontiguousarray(pos.reshape(-1))
    # the smallest k with shape[:k] all ones and shape[k:] == lead[k:]: a periodic row map
    for k in range(len(lead) + 1):
        if all(s == 1 for s in shape[:k]) and tuple(shape[k:]) == tuple(lead[k:]):
            return table, None
    index = np.arange(table.shape[0], dtype=np.int64).reshape(shape)
    return table, np.ascontiguousarray(np.broadcast_to(index, tuple(lead)).reshape(-1))


def apply(x, positions, inv_freq, layout="half", attention_factor=1.0, *, out=None, backend="auto"):
    r"""Rotate head vectors by RoPE: pair :math:`i` at position :math:`n` turns by :math:`n\theta_i`.

    .. math::

        \begin{pmatrix}x'_{a}\\ x'_{b}\end{pmatrix} = s
        \begin{pmatrix}\cos n\theta_i & -\sin n\theta_i\\ \sin n\theta_i & \cos n\theta_i\end{pmatrix}
        \begin{pmatrix}x_{a}\\ x_{b}\end{pmatrix},

    with the pair :math:`(a, b) = (i, i + h)` for ``layout="half"``
    (transformers ``rotate_half``: Llama, NeoX) or :math:`(2i, 2i+1)` for
    ``layout="interleaved"`` (RoFormer, Su [1]_, GPT-J ``rotate_every_two``),
    :math:`h` = ``len(inv_freq)`` and :math:`s` = ``attention_factor`` (applied
    to cos and sin, as transformers does). Coordinates ``2h..d-1`` pass
    through unchanged (partial rotary, as transformers' ``q[..., :rotary_dim]``).

    Parameters
    ----------
    x : array_like, shape (..., seq, d)
        Queries or keys; float32 stays float32, anything else becomes float64.
    positions : array_like of int or float
        Shape broadcastable to ``x.shape[:-1]``, e.g. ``(seq,)`` or
        ``(batch, 1, seq)``. Non-integer positions are allowed (PI, ReRoPE).
    inv_freq : array_like, shape (h,)
        The frequencies, ``2 h <= d`` (from :func:`inv_freq` / :func:`scaled_inv_freq`).
    layout : {"half", "interleaved"}
    attention_factor : float, optional
        Multiplies cos and sin (YaRN's mscale); logits scale by its square.
    out : ndarray, optional
        C-contiguous array of ``x``'s shape and output dtype to write into
        (saves the allocation; must not overlap ``x``).
    backend : {"auto", "numba", "numpy"}

    Returns
    -------
    ndarray, shape of ``x``, dtype float32 for float32 ``x``, else float64.

    Raises
    ------
    ValueError
        Unknown ``layout``; ``2*len(inv_freq) > d``; ``positions`` not
        broadcastable to ``x.shape[:-1]``; NaN/Inf in ``x``, ``positions`` or
        ``inv_freq``.

    Notes
    -----
    Accuracy: angles :math:`n\theta_i`, cos/sin and the rotation in float64,
    rounded once to the output dtype: each output coordinate is within about
    ``4 eps (|x_a| + |x_b|)`` of the exact rotation of the float64 angle
    (plus the angle's own rounding, ``|n \theta_i| eps``). Tested against
    transformers' ``apply_rotary_pos_emb`` and GPT-J's rotation (float64
    tensors) to 1e-12. The two layouts are the same map up to the fixed
    permutation :func:`layout_permutation`.
    numba (parallel, fused) and NumPy agree to a few ulp (their cos/sin
    differ in the last bit).

    References
    ----------
    .. [1] Su Jianlin, https://kexue.fm/archives/8265

    Examples
    --------
    >>> apply([[1.0, 0.0]], [1], [np.pi / 2], layout="interleaved").round(12)
    array([[0., 1.]])
    >>> apply([[[1.0, 0.0, 0.0, 0.0]]] * 2, [[0], [1]], [np.pi / 2, 0.0]).round(12)
    array([[[1., 0., 0., 0.]],
    <BLANKLINE>
           [[0., 0., 1., 0.]]])
    """
    layout = check_choice(layout, "layout", LAYOUTS)
    xa = np.asarray(x)
    dtype = np.float32 if xa.dtype == np.float32 else np.float64
    xa = as_array(xa, "x", dtype=dtype, min_ndim=2, finite=False)  # finiteness: checked by the kernel pass
    th = _check_inv_freq(inv_freq)
    d = xa.shape[-1]
    if 2 * th.shape[0] > d:
        raise ValueError(f"parameter 'inv_freq' has {th.shape[0]} pairs but x has only d={d} coordinates "
                         f"(need 2*len(inv_freq) <= d)")
    pos = _as_positions(positions)
    scale = check_real(attention_factor, "attention_factor")
    lead = xa.shape[:-1]
    table, rowmap = _position_rows(pos, lead)
    backend = resolve_backend(backend, xa)
    x2 = xa.reshape(-1, d)
    if out is None:
        res = np.empty(xa.shape, dtype=dtype)
    else:
        if not isinstance(out, np.ndarray) or out.shape != xa.shape or out.dtype != dtype \
                or not out.flags.c_contiguous or not out.flags.writeable:
            raise ValueError(f"parameter 'out' must be a writeable C-contiguous {np.dtype(dtype).name} array of "
                             f"shape {xa.shape}")
        if np.may_share_memory(out, xa):
            raise ValueError("parameter 'out' must not overlap x")
        res = out
    if x2.shape[0]:
        fn = _kernels.apply_rope_nb if backend == "numba" else _kernels.apply_rope_np
        n_bad = fn(x2, table, th, scale, layout == "half", res.reshape(-1, d), rowmap)
        if n_bad:
            raise ValueError(f"parameter 'x' must be finite; {n_bad} row(s) contain NaN or Inf")
    return res


def layout_permutation(d):
    """The permutation ``P`` with ``x_half = x_interleaved[..., P]`` (shape (d,)).

    Pair ``i`` sits at ``(2i, 2i+1)`` interleaved and at ``(i, i + d/2)`` half,
    so ``apply(x[..., P], layout="half") == apply(x, layout="interleaved")[..., P]``.

    Examples
    --------
    >>> layout_permutation(6)
    array([0, 2, 4, 1, 3, 5])
    """
    from .frequencies import _check_d

    d = _check_d(d)
    return np.concatenate([np.arange(0, d, 2), np.arange(1, d, 2)])


def rotation_matrix(m, inv_freq, layout="interleaved"):
    r"""The dense RoPE matrix :math:`\mathcal R_m` (shape (d, d), d = 2 len(inv_freq)).

    .. math::

        \mathcal R_m = \mathrm{diag}\Big(\begin{pmatrix}\cos m\theta_i&-\sin m\theta_i\\
        \sin m\theta_i&\cos m\theta_i\end{pmatrix}\Big)_{i=0}^{d/2-1}

    in the interleaved layout ([1]_); ``layout="half"`` places pair ``i`` on
    rows/columns ``(i, i + d/2)``. Orthogonal, :math:`\mathcal R_m^\top
    \mathcal R_n = \mathcal R_{n-m}` (``derivations/rope_relative.py``), and
    ``rotation_matrix(m, th) @ x == apply(x, m, th)``.

    Parameters
    ----------
    m : float
        Position (any real number).
    inv_freq : array_like, shape (h,)
    layout : {"interleaved", "half"}

    Returns
    -------
    ndarray, shape (2h, 2h), float64; each entry a correctly rounded-ish
    cos/sin of the float64 angle (a few ulp).

    Examples
    --------
    >>> rotation_matrix(1.0, [np.pi / 2]).round(12)
    array([[ 0., -1.],
           [ 1.,  0.]])
    """
    layout = check_choice(layout, "layout", LAYOUTS)
    m = check_real(m, "m")
    th = _check_inv_freq(inv_freq)
    h = th.shape[0]
    c, s = np.cos(m * th), np.sin(m * th)
    R = np.zeros((2 * h, 2 * h))
    a = np.arange(h) * 2 if layout == "interleaved" else np.arange(h)
    b = a + 1 if layout == "interleaved" else a + h
    R[a, a] = c
    R[a, b] = -s
    R[b, a] = s
    R[b, b] = c
    return R

