r"""The Muon optimizer step, functionally: momentum, Nesterov, msign, shape scale, weight decay.

Sources: Su Jianlin, https://kexue.fm/archives/10592 (update rule),
https://kexue.fm/archives/10739 (weight decay, update-RMS matching 0.2),
https://kexue.fm/archives/11416 (the four scale variants, layouts);
KellerJordan/Muon ``muon.py``, MoonshotAI/Moonlight ``toy_train.py``,
``torch.optim.Muon``.
"""
from __future__ import annotations

import math

import numpy as np

from .._validation import ArgumentTypeError, as_array, check_bool, check_choice, check_int, check_real
from .newton_schulz import EPS_MODES, _check_dtype, newton_schulz, resolve_coefficients

__all__ = ["MOMENTUM_FORMS", "SCALES", "LAYOUTS", "muon_scale", "muon_step", "muon_update"]

#: ``momentum_form`` values: EMA (KellerJordan, torch) or running sum (Moonlight, Su's formula).
MOMENTUM_FORMS = ("ema", "sum")
#: ``scale`` values (the four variants of 11416).
SCALES = ("keller", "moonlight", "mup", "none")
#: ``layout`` values: ``"out_in"`` is torch ``nn.Linear.weight`` (d_out, d_in); ``"in_out"`` is ``x @ W`` (d_in, d_out).
LAYOUTS = ("out_in", "in_out")


def _dims(shape, layout):
    """(d_out, d_in) of a weight; extra axes are folded into d_in (conv kernels)."""
    if layout == "out_in":  # (d_out, d_in, *kernel): torch Linear / Conv
        return shape[0], math.prod(shape[1:])
    return shape[-1], math.prod(shape[:-1])  # (*kernel, d_in, d_out): x @ W, Keras/JAX conv


def muon_scale(shape, scale="keller", layout="out_in"):
    r"""The factor that multiplies :math:`\operatorname{msign}` in each Muon variant [11416].

    =============  =========================================  ===================================
    ``scale``      factor                                     who
    =============  =========================================  ===================================
    ``"none"``     1                                          Su's naive form [10592]
    ``"keller"``   :math:`\sqrt{\max(1, d_{out}/d_{in})}`     KellerJordan/Muon, torch ``"original"``
    ``"mup"``      :math:`\sqrt{d_{out}/d_{in}}`              spectral muP
    ``"moonlight"`` :math:`0.2\sqrt{\max(d_{out}, d_{in})}`   Moonlight, torch ``"match_rms_adamw"``
    =============  =========================================  ===================================

    ``moonlight`` makes the update RMS 0.2 for a full-rank update (RMS of
    msign is :math:`1/\sqrt{\max(n,m)}`, [10739]), so AdamW's lr and weight
    decay can be reused.

    Parameters
    ----------
    shape : tuple of int
        Weight shape, at least 2-D.
    scale : {"keller", "moonlight", "mup", "none"}
    layout : {"out_in", "in_out"}
        ``"out_in"``: torch ``(d_out, d_in, *kernel)``; ``"in_out"``:
        ``(*kernel, d_in, d_out)`` for ``y = x @ W``. Kernel axes count as inputs.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Fewer than 2 axes, a zero axis, unknown ``scale``/``layout``.

    Examples
    --------
    >>> muon_scale((1024, 256), "keller")          # torch Linear 256 -> 1024
    2.0
    >>> muon_scale((256, 1024), "keller", "in_out") # the same layer stored as x @ W
    2.0
    >>> round(muon_scale((1024, 256), "moonlight"), 6)   # 0.2 * sqrt(1024)
    6.4
    """
    check_choice(scale, "scale", SCALES)
    check_choice(layout, "layout", LAYOUTS)
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__len__"):
        raise ArgumentTypeError(f"parameter 'shape' must be a tuple of integers, got {shape!r}")
    shape = tuple(check_int(s, "shape") for s in shape)
    if len(shape) < 2 or min(shape) < 1:
        raise ValueError(f"parameter 'shape' must have at least 2 non-zero axes, got {shape}")
    d_out, d_in = _dims(shape, layout)
    if scale == "none":
        return 1.0
    if scale == "keller":
        return math.sqrt(max(1.0, d_out / d_in))
    if scale == "mup":
        return math.sqrt(d_out / d_in)
    return 0.2 * math.sqrt(max(d_out, d_in))


def _as_matrix(X, layout):
    """View a >= 2-D weight/gradient as the (d_out, d_in) or (d_in, d_out) matrix Muon orthogonalises."""
    if X.ndim == 2:
        return X
    if layout == "out_in":
        return X.reshape(X.shape[0], -1)
    return X.reshape(-1, X.shape[-1])


def muon_update(G, state, *, momentum=0.95, nesterov=True, momentum_form="ema", scale="keller",
                layout="out_in", ns_coefficients="keller", ns_steps=None, ns_dtype=None, ns_eps=1e-7,
                ns_eps_mode="add", prescale=False):
    r"""One Muon direction: momentum, (Nesterov), msign by Newton--Schulz, shape scale.

    .. math::

        B_t = \beta B_{t-1} + (1-\beta) G_t \ \ (\text{ema})\quad\text{or}\quad
        B_t = \beta B_{t-1} + G_t \ \ (\text{sum}),

        O_t = s(\text{shape})\;\mathrm{NS}\big(\text{nesterov}\ ?\ \beta B_t + (1-\beta) G_t\ (\text{ema}),\
        \beta B_t + G_t\ (\text{sum})\ :\ B_t\big).

    EMA and sum buffers differ by a positive factor, which the Frobenius
    normalisation removes, so both forms give the same direction (to eps).

    **Where not to use Muon** [11416]_, [KJ]_: only on the weight matrices of
    hidden dense layers (dense input). Use AdamW for embeddings (sparse rows:
    better seen as many vectors), the final classifier / LM head, biases,
    norm gains and other vectors or scalars (for a vector msign degenerates
    to sign or l2 normalisation). Convolution kernels are flattened to
    ``(d_out, d_in * kh * kw)`` (``layout="out_in"``) and scaled with that
    ``d_in`` (KellerJordan/Muon#63 scaled by the 4-D tensor's last two axes).
    Newton--Schulz must see the whole logical matrix (FSDP/ZeRO shards break it:
    KellerJordan/Muon#45, Moonlight#27).

    Parameters
    ----------
    G : array_like, shape (d_out, d_in, ...) or (..., d_in, d_out)
        The gradient, at least 2-D, finite.
    state : dict or None
        Per-parameter state, updated in place: ``state["momentum_buffer"]``
        (float64, shape of ``G``; zeros when absent, so pass ``{}`` first).
        None: a single step from a zero buffer, nothing kept.
    momentum : float in [0, 1)
    nesterov : bool
    momentum_form : {"ema", "sum"}
        ``"ema"``: torch.optim.Muon, KellerJordan (``lerp``); ``"sum"``:
        Moonlight and Su's formula.
    scale : {"keller", "moonlight", "mup", "none"}
        See :func:`muon_scale`.
    layout : {"out_in", "in_out"}
    ns_coefficients, ns_steps, ns_dtype, ns_eps, ns_eps_mode, prescale
        ``coefficients``, ``steps``, ``dtype``, ``eps``, ``eps_mode``,
        ``prescale`` of :func:`newton_schulz` (Frobenius normalisation).
        torch.optim.Muon is ``ns_dtype="bfloat16", ns_eps_mode="clamp"``;
        KellerJordan's ``muon.py`` is ``ns_dtype="bfloat16_keller"`` with
        the defaults; ``prescale=False`` (default) is the public form.

    Notes on the published variants: KellerJordan/Muon and
    torch.optim.Muon (``adjust_lr_fn=None``) are the defaults (EMA momentum,
    Nesterov, ``scale="keller"``); torch's ``"match_rms_adamw"`` is
    ``scale="moonlight"``; MoonshotAI/Moonlight's example (``toy_train.py``) is
    ``momentum_form="sum", scale="moonlight"`` with :func:`muon_step`'s
    decoupled weight decay (for 2-D weights; it takes the first two axes of
    a conv kernel as (A, B) where refimpl folds the kernel axes into d_in).

    Returns
    -------
    ndarray, shape of ``G``
        The scaled direction before the learning rate (float64; values of
        ``ns_dtype`` precision when set).

    Raises
    ------
    ValueError
        ``G`` not at least 2-D, empty or non-finite, ``momentum`` outside
        [0, 1), a buffer of another shape in ``state``, unknown option names,
        ``ns_steps`` too large to allocate.
    TypeError
        ``nesterov``/``prescale`` not a bool, ``state`` not a dict.

    Notes
    -----
    Accuracy: exact arithmetic up to the Newton--Schulz approximation, which
    dominates: the result is :math:`s\,U g(\Sigma/\|\cdot\|_F)V^\top`, not
    :math:`s\,UV^\top` (singular values in KJ's band around 1, so a scaled
    update is not orthogonal: Moonlight#22). Use ``msign`` for exact tests.

    References
    ----------
    .. [11416] Su Jianlin, https://kexue.fm/archives/11416
    .. [KJ] https://github.com/KellerJordan/Muon

    Examples
    --------
    >>> st = {}
    >>> O = muon_update(np.diag([2.0, 1.0]), st, ns_coefficients="polar_express", scale="none")
    >>> np.round(O, 2)                                    # msign(diag) = I
    array([[1., 0.],
           [0., 1.]])
    >>> np.round(st["momentum_buffer"], 2)               # EMA: 0.05 * G
    array([[0.1 , 0.  ],
           [0.  , 0.05]])
    """
    G = as_array(G, "G")
    if G.ndim < 2:
        raise ValueError(f"parameter 'G' must be at least 2-dimensional (Muon orthogonalises matrices; use AdamW "
                         f"for vectors and scalars), got shape {G.shape}")
    if G.size == 0:
        raise ValueError(f"parameter 'G' must have no zero-length axis, got shape {G.shape}")
    beta = check_real(momentum, "momentum", low=0.0, high=1.0, high_open=True)
    nesterov = check_bool(nesterov, "nesterov")
    prescale = check_bool(prescale, "prescale")
    check_choice(momentum_form, "momentum_form", MOMENTUM_FORMS)
    factor = muon_scale(G.shape, scale, layout)
    resolve_coefficients(ns_coefficients, ns_steps, name="ns_coefficients", steps_name="ns_steps")
    _check_dtype(ns_dtype, "ns_dtype")
    check_real(ns_eps, "ns_eps", low=0.0)
    check_choice(ns_eps_mode, "ns_eps_mode", EPS_MODES)
    if state is not None and not isinstance(state, dict):
        raise TypeError(f"parameter 'state' must be a dict (pass {{}} on the first step) or None, "
                        f"got {type(state).__name__}")
    buf = None if state is None else state.get("momentum_buffer")
    if buf is None:
        buf = np.zeros_like(G)
    else:
        buf = as_array(buf, "state['momentum_buffer']")
        if buf.shape != G.shape:
            raise ValueError(f"parameter 'state' holds a momentum_buffer of shape {buf.shape}, but 'G' has shape "
                             f"{G.shape}")
    if momentum_form == "ema":
        buf = beta * buf + (1.0 - beta) * G
        direction = beta * buf + (1.0 - beta) * G if nesterov else buf
    else:
        buf = beta * buf + G
        direction = beta * buf + G if nesterov else buf
    if state is not None:
        state["momentum_buffer"] = buf
    O = newton_schulz(_as_matrix(direction, layout), ns_coefficients, ns_steps, eps=ns_eps, dtype=ns_dtype,
                      eps_mode=ns_eps_mode, prescale=prescale)
    return factor * np.asarray(O, dtype=np.float64).reshape(G.shape)


def muon_step(W, G, state, *, lr, weight_decay=0.0, **options):
    r"""One Muon step with decoupled weight decay: :math:`W \leftarrow (1-\eta\lambda)W - \eta\,O_t`.

    :math:`O_t` is :func:`muon_update` (``options`` are its keyword
    arguments). As torch.optim.Muon, KellerJordan and Moonlight, the decay uses
    the unscaled ``lr`` and the shape scale multiplies the update only.

    Weight-decay bound [10739]_: if :math:`\eta\lambda \le 1` and
    :math:`\|O_t\| \le 1` in some norm, :math:`\|W_t\| \le \max(\|W_{t-1}\|, 1/\lambda)`,
    so :math:`\|W_t\|_2 \le \max(\|W_0\|_2, 1/\lambda)` for unscaled exact msign.

    Parameters
    ----------
    W : array_like, shape of ``G``
        Current weights (finite).
    G : array_like
        Gradient at ``W``.
    state : dict or None
        As in :func:`muon_update`; pass ``{}`` on the first step.
    lr : float >= 0
    weight_decay : float >= 0
    **options
        Keyword arguments of :func:`muon_update`.

    Returns
    -------
    ndarray
        The new weights, float64 (``W`` is not modified).

    Raises
    ------
    ValueError
        ``lr < 0``, ``weight_decay < 0``, ``W``/``G`` shapes differ, and the
        errors of :func:`muon_update`.

    References
    ----------
    .. [10739] Su Jianlin, https://kexue.fm/archives/10739

    Examples
    --------
    >>> W = np.eye(2)
    >>> W1 = muon_step(W, np.diag([2.0, 1.0]), {}, lr=0.1, weight_decay=0.5,
    ...                ns_coefficients="polar_express", scale="none")
    >>> np.round(W1, 2)                                # 0.95 * I - 0.1 * I
    array([[0.85, 0.  ],
           [0.  , 0.85]])
    """
    lr = check_real(lr, "lr", low=0.0)
    weight_decay = check_real(weight_decay, "weight_decay", low=0.0)
    W = as_array(W, "W")
    G = as_array(G, "G")
    if W.shape != G.shape:
        raise ValueError(f"parameters 'W' and 'G' must have the same shape, got {W.shape} and {G.shape}")
    O = muon_update(G, state, **options)
    return (1.0 - lr * weight_decay) * W - lr * O
