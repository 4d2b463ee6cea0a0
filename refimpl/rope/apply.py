r"""Applying RoPE: the rotation of head vectors, both layouts, and its matrix."""
from __future__ import annotations

import numpy as np

from .._backend import pick
from .._gpu import device_module
from .._validation import check_choice, check_real, check_size
from . import _fast, _xp, reference
from ._xp import real_array
from .reference import LAYOUTS

__all__ = ["LAYOUTS", "apply", "layout_permutation", "rotation_matrix"]


def _check_inv_freq(inv_freq):
    return real_array(inv_freq, "inv_freq", ndim=1, min_size=1)


def _cupy_apply(x, positions, inv_freq, layout, attention_factor, out):
    return _xp.apply(device_module(), x, positions, inv_freq, layout, attention_factor, out=out)


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
        Queries or keys, e.g. ``(H, L, d)`` or ``(B, H, L, d)``; float32
        stays float32, anything else becomes float64.
    positions : array_like of int or float
        ``(L,)`` (shared), ``(B, L)`` with a 4-D ``x`` of shape ``(B, H, L, d)``
        (per-sequence positions, transformers' ``position_ids``, shared by the
        heads), or any shape broadcastable to ``x.shape[:-1]`` such as
        ``(B, 1, L)`` or ``(B, H, L)``. Non-integer positions are allowed (PI,
        ReRoPE).
    inv_freq : array_like, shape (h,)
        The frequencies, ``2 h <= d`` (from :func:`inv_freq` / :func:`scaled_inv_freq`).
    layout : {"half", "interleaved"}
    attention_factor : float, optional
        Multiplies cos and sin (YaRN's mscale); logits scale by its square.
    out : ndarray, optional
        C-contiguous array of ``x``'s shape and output dtype to write into
        (saves the allocation; must not overlap ``x``); a CuPy array on the
        ``"cupy"`` backend.
    backend : {"auto", "reference", "numba", "cupy"}
        ``"reference"`` (or ``"numpy"``): the definition
        ``refimpl/rope/reference.py`` (``x cos + rotate_half(x) sin``).
        ``"numba"`` (chosen by ``"auto"`` on the CPU): the fused kernel of
        ``refimpl/rope/_fast.py``. ``"cupy"`` (chosen by ``"auto"`` when ``x``, ``positions`` or
        ``inv_freq`` is a CuPy array): a fused CUDA kernel, one read of ``x``
        and one write, float64 angles and rotation, rounded once; returns a
        CuPy array (also for NumPy inputs with ``backend="cupy"``). See
        docs/gpu.md.

    Returns
    -------
    ndarray, shape of ``x``, dtype float32 for float32 ``x``, else float64.
        A coordinate whose rotation exceeds the dtype's range is ``inf``
        (only when ``attention_factor * |x|`` is near the top of the range,
        e.g. float32 pairs near 3.4e38).

    Raises
    ------
    ValueError
        Unknown ``layout``; ``2*len(inv_freq) > d``; ``positions`` not
        broadcastable to ``x.shape[:-1]``; NaN/Inf in ``x``, ``positions`` or
        ``inv_freq``; an angle ``n theta`` beyond the float64 range.

    Notes
    -----
    Accuracy: angles :math:`n\theta_i`, cos/sin and the rotation in float64,
    rounded once to the output dtype: each output coordinate is within about
    ``4 eps (|x_a| + |x_b|)`` of the exact rotation of the float64 angle
    (plus the angle's own rounding, ``|n \theta_i| eps``). Tested against
    transformers' ``apply_rotary_pos_emb`` and GPT-J's rotation (float64
    tensors) to 1e-12. The two layouts are the same map up to the fixed
    permutation :func:`layout_permutation`.
    numba (parallel, fused) and the reference agree to a few ulp (their
    cos/sin differ in the last bit); so does the CuPy kernel (CUDA
    ``sincos``, max 2 ulp; tested in the ``gpu`` tests).
    Low precision: a kernel that computes in bfloat16/float16 with cos/sin
    of float32 angles rounded to the dtype and one multiply-add per output
    stays within ``8u`` of the largest output (``u = 2**-8`` for bfloat16,
    ``2**-11`` for float16; the tolerances of the ``rope.apply`` case, derived in
    ``refimpl/rope/cases.py``).

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
    name, impl = pick(backend, x, positions, inv_freq, out, reference=reference.apply, numba=_fast.apply,
                      cupy=_cupy_apply)
    if name == "cupy":  # validates with xp = cupy: the same checks and messages (_xp.validate)
        return impl(x, positions, inv_freq, layout, attention_factor, out)
    # the numba kernel counts non-finite rows of x in its own pass; the reference checks first
    x, pos, th, layout, scale, res = _xp.validate(np, x, positions, inv_freq, layout, attention_factor, out,
                                                  finite_x=name == "reference")
    if name == "reference":
        with np.errstate(over="ignore"):  # an output beyond the dtype's range is inf (documented)
            res[...] = reference.apply(x.astype(np.float64, copy=False), pos, th, layout, scale)  # rounded once
        return res
    return impl(x, pos, th, layout, scale, res)


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
    check_size(d, "d")
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
    _xp.check_angles(np.array([m]), th)
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

