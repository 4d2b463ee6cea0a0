r"""Read a transformers-style ``rope_scaling`` dict into :func:`scaled_inv_freq`'s arguments.

Model repositories state their RoPE scaling in ``config.json``, e.g. Llama 3.1's
``{"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
"high_freq_factor": 4.0, "original_max_position_embeddings": 8192}``.
:func:`config_inv_freq` and :class:`RopeConfig` map such a dict (transformers' ``rope_scaling``, or its
v5 ``rope_parameters``) onto refimpl's names, reading each key the way
transformers' ``ROPE_INIT_FUNCTIONS`` (``modeling_rope_utils.py``) reads it.
"""
from __future__ import annotations

import dataclasses
import json
import numbers

from .._validation import check_int, check_real, check_size
from .frequencies import scaled_inv_freq

__all__ = ["RopeConfig", "config_inv_freq"]

#: rope_type -> (refimpl method, keys that type reads besides rope_type/type/rope_theta/partial_rotary_factor)
_TYPES = {
    "default": ("linear", ()),
    "linear": ("linear", ("factor",)),
    "dynamic": ("dynamic_ntk", ("factor",)),
    "yarn": ("yarn", ("factor", "original_max_position_embeddings", "beta_fast", "beta_slow", "mscale",
                      "mscale_all_dim", "attention_factor", "truncate")),
    "llama3": ("llama3", ("factor", "original_max_position_embeddings", "low_freq_factor", "high_freq_factor")),
    "longrope": ("longrope", ("factor", "original_max_position_embeddings", "short_factor", "long_factor",
                              "attention_factor")),
}
_ALIASES = {"su": "longrope"}  # Phi-3's first configs wrote "su" for LongRoPE


def _real_or_none(value, name, **kw):
    return None if value is None else check_real(value, name, **kw)


def _merge(name, in_dict, given, default):
    """A value that may sit in the dict (transformers v5) or come as a keyword; both must agree."""
    if in_dict is not None and given is not None and in_dict != given:
        raise ValueError(f"parameter {name!r} is {given!r} but the config dict says {in_dict!r}; pass one")
    return in_dict if in_dict is not None else (given if given is not None else default)


def _read(rope_scaling, *, head_dim, rope_theta=None, max_position_embeddings=None,
          original_max_position_embeddings=None, partial_rotary_factor=None, seq_len=None):
    """The reader behind :class:`RopeConfig` and :func:`config_inv_freq`: ``scaled_inv_freq`` kwargs."""
    if isinstance(rope_scaling, (str, bytes)):
        try:
            rope_scaling = json.loads(rope_scaling)
        except ValueError as exc:
            raise ValueError(f"parameter 'rope_scaling' is not valid JSON: {exc}") from None
    if rope_scaling is None:
        rope_scaling = {"rope_type": "default"}
    if not isinstance(rope_scaling, dict):
        raise TypeError(f"parameter 'rope_scaling' must be a dict (a config's rope_scaling), its JSON text or None, "
                        f"got {type(rope_scaling).__name__}")
    cfg = dict(rope_scaling)
    kind = cfg.pop("rope_type", None)
    legacy = cfg.pop("type", None)
    if kind is not None and legacy is not None and kind != legacy:
        raise ValueError(f"parameter 'rope_scaling' has rope_type={kind!r} and type={legacy!r}; they must agree")
    kind = _ALIASES.get(kind or legacy or "default", kind or legacy or "default")
    if kind not in _TYPES:
        raise ValueError(f"parameter 'rope_scaling': unknown rope_type {kind!r}; known: {', '.join(_TYPES)}")
    method, keys = _TYPES[kind]
    base = _merge("rope_theta", cfg.pop("rope_theta", None), rope_theta, 10000.0)
    prf = _merge("partial_rotary_factor", cfg.pop("partial_rotary_factor", None), partial_rotary_factor, 1.0)
    unused = sorted(set(cfg) - set(keys))
    if unused:
        raise ValueError(f"parameter 'rope_scaling': key {unused[0]!r} is not read by rope_type {kind!r} "
                         f"(it reads: {', '.join(keys) or 'nothing'})")
    head_dim = check_int(head_dim, "head_dim", min_value=2)
    check_size(head_dim, "head_dim")
    prf = check_real(prf, "partial_rotary_factor", low=0.0, high=1.0, low_open=True)
    d = int(head_dim * prf)
    max_pos = None if max_position_embeddings is None else check_int(max_position_embeddings,
                                                                         "max_position_embeddings", min_value=1)
    seq = None if seq_len is None else check_int(seq_len, "seq_len", min_value=1)
    out = {"d": d, "method": method, "base": check_real(base, "rope_theta")}
    factor = _real_or_none(cfg.get("factor"), "factor")
    if kind == "default":
        out["factor"] = 1.0
        return out
    if kind == "linear":
        out["factor"] = factor
        return out
    if kind == "dynamic":
        if max_pos is None:
            raise ValueError("rope_type 'dynamic' needs parameter 'max_position_embeddings' (its reference length)")
        out.update(factor=factor, seq_len=max_pos if seq is None else seq, original_max_position=max_pos)
        return out
    orig = original_max_position_embeddings if original_max_position_embeddings is not None \
        else cfg.get("original_max_position_embeddings", max_pos)
    if orig is None:
        raise ValueError(f"rope_type {kind!r} needs 'original_max_position_embeddings' (in the dict or as a "
                         f"parameter) or parameter 'max_position_embeddings'")
    orig = check_real(orig, "original_max_position_embeddings", low=0.0, low_open=True)
    if factor is None and kind in ("yarn", "longrope"):
        if max_pos is None:
            raise ValueError(f"rope_type {kind!r} without 'factor' needs parameter 'max_position_embeddings' "
                             f"(factor = max_position_embeddings / original_max_position_embeddings)")
        factor = max_pos / orig
    out["factor"] = factor
    out["original_max_position"] = orig
    if kind == "llama3":
        for key in ("low_freq_factor", "high_freq_factor"):
            if key not in cfg:
                raise ValueError(f"rope_type 'llama3' needs key {key!r} in parameter 'rope_scaling'")
            out[key] = check_real(cfg[key], key)
        return out
    if kind == "yarn":
        out["ramp"] = "hf"
        out["beta_fast"] = cfg.get("beta_fast") or 32.0  # transformers: `or 32`, `or 1`
        out["beta_slow"] = cfg.get("beta_slow") or 1.0
        if cfg.get("truncate") is not None:
            out["truncate"] = cfg["truncate"]
        if cfg.get("attention_factor") is not None:
            out["attention_factor"] = cfg["attention_factor"]
        elif cfg.get("mscale") and cfg.get("mscale_all_dim"):  # transformers uses them only when both are set
            out["mscale"], out["mscale_all_dim"] = cfg["mscale"], cfg["mscale_all_dim"]
        return out
    # longrope
    for key in ("short_factor", "long_factor"):
        if key not in cfg:
            raise ValueError(f"rope_type {kind!r} needs key {key!r} in parameter 'rope_scaling'")
    out["ext_factors"] = cfg["long_factor"] if seq is not None and seq > orig else cfg["short_factor"]
    if factor is not None and factor < 1.0 and isinstance(factor, numbers.Real):
        # transformers returns attention factor 1 for factor <= 1; refimpl's factor must be >= 1
        raise ValueError(f"parameter 'rope_scaling': longrope factor must be >= 1, got {factor}")
    if cfg.get("attention_factor") is not None:
        out["attention_factor"] = cfg["attention_factor"]
    return out


@dataclasses.dataclass(frozen=True)
class RopeConfig:
    """A model's RoPE scaling read from its transformers-style ``rope_scaling`` dict.

    ``RopeConfig.from_dict(rope_scaling, head_dim=..., ...)`` reads the dict
    (see :func:`config_inv_freq` for the keys and the table of types);
    :meth:`kwargs` gives :func:`scaled_inv_freq`'s keyword arguments and
    :meth:`inv_freq` the ``(inv_freq, attention_factor)`` they produce.

    Examples
    --------
    >>> cfg = RopeConfig.from_dict({"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
    ...                             "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
    ...                            head_dim=128, rope_theta=500000.0)
    >>> cfg.method, cfg.d, cfg.base, cfg.factor, cfg.params
    ('llama3', 128, 500000.0, 8.0, {'original_max_position': 8192.0, 'low_freq_factor': 1.0, 'high_freq_factor': 4.0})
    >>> sorted(cfg.kwargs())
    ['base', 'd', 'factor', 'high_freq_factor', 'low_freq_factor', 'method', 'original_max_position']
    """

    d: int
    method: str
    base: float
    factor: float | None
    params: dict

    @classmethod
    def from_dict(cls, rope_scaling, *, head_dim, rope_theta=None, max_position_embeddings=None,
                  original_max_position_embeddings=None, partial_rotary_factor=None, seq_len=None):
        """Read ``rope_scaling`` (a dict, its JSON text or None); parameters as :func:`config_inv_freq`."""
        kw = _read(rope_scaling, head_dim=head_dim, rope_theta=rope_theta,
                   max_position_embeddings=max_position_embeddings,
                   original_max_position_embeddings=original_max_position_embeddings,
                   partial_rotary_factor=partial_rotary_factor, seq_len=seq_len)
        d, method, base, factor = kw.pop("d"), kw.pop("method"), kw.pop("base"), kw.pop("factor")
        return cls(d, method, base, factor, kw)

    def kwargs(self):
        """The keyword arguments of :func:`scaled_inv_freq` (a new dict)."""
        return dict(d=self.d, method=self.method, base=self.base, factor=self.factor, **self.params)

    def inv_freq(self):
        """``scaled_inv_freq(**self.kwargs())``: ``(inv_freq, attention_factor)``."""
        return scaled_inv_freq(**self.kwargs())


def config_inv_freq(rope_scaling, *, head_dim, rope_theta=None, max_position_embeddings=None,
                    original_max_position_embeddings=None, partial_rotary_factor=None, seq_len=None):
    r"""``(inv_freq, attention_factor)`` of a transformers-style ``rope_scaling`` dict.

    The values transformers' ``ROPE_INIT_FUNCTIONS`` computes for a model
    whose ``config.json`` holds ``"rope_scaling": cfg`` (refimpl in float64,
    transformers in float32); :class:`RopeConfig` gives the
    :func:`scaled_inv_freq` arguments that produce them.

    ==============  ===============  ==================================================================
    ``rope_type``   method           keys read (as transformers reads them)
    ==============  ===============  ==================================================================
    ``default``     ``linear``       none (factor 1: plain RoPE)
    ``linear``      ``linear``       ``factor``
    ``dynamic``     ``dynamic_ntk``  ``factor``; ``original_max_position`` = ``max_position_embeddings``,
                                     ``seq_len`` (default ``max_position_embeddings``)
    ``yarn``        ``yarn``         ``factor`` (default ``max_position_embeddings / original``),
                                     ``original_max_position_embeddings``, ``beta_fast`` (32),
                                     ``beta_slow`` (1), ``mscale`` and ``mscale_all_dim`` (used only when
                                     both are non-zero), ``attention_factor``, ``truncate``;
                                     ``ramp="hf"``
    ``llama3``      ``llama3``       ``factor``, ``low_freq_factor``, ``high_freq_factor``,
                                     ``original_max_position_embeddings``
    ``longrope``    ``longrope``     ``short_factor``/``long_factor`` (``long_factor`` when
    (``su``)                         ``seq_len > original``), ``factor`` (default
                                     ``max_position_embeddings / original``), ``attention_factor``
    ==============  ===============  ==================================================================

    Parameters
    ----------
    rope_scaling : dict, str or None
        The dict, or its JSON text as ``config.json`` writes it; the type is
        its ``"rope_type"`` or ``"type"`` key. ``None`` (no scaling in the
        config) reads as ``{"rope_type": "default"}``. A key the type does not
        read is an error.
    head_dim : int
        The head dimension (``hidden_size // num_attention_heads`` when the
        config has no ``head_dim``; DeepSeek's ``qk_rope_head_dim``).
    rope_theta : float, optional
        The base (``config.json``'s ``rope_theta``), default 10000; may also
        sit in the dict (transformers v5 ``rope_parameters``).
    max_position_embeddings : int, optional
        ``config.json``'s value; needed by ``dynamic`` and where ``factor`` or
        ``original_max_position_embeddings`` is missing.
    original_max_position_embeddings : int, optional
        Where a config keeps it outside ``rope_scaling`` (Phi-3); it wins over
        the dict's value, as in transformers.
    partial_rotary_factor : float, optional
        Rotary share of the head, ``d = int(head_dim * partial_rotary_factor)``.
    seq_len : int, optional
        The current length, for ``dynamic`` and LongRoPE's long/short choice.

    Returns
    -------
    inv_freq : ndarray, shape (d/2,), float64
    attention_factor : float

    Raises
    ------
    ValueError
        Unknown type, a key the type does not read, a missing length,
        ``factor < 1``, factor lists of the wrong length.
    TypeError
        ``rope_scaling`` not a dict (or None).

    Notes
    -----
    Differences from transformers, all on input it would accept: it only
    warns on ``factor < 1``, which raises here; ``llama3`` with
    ``low_freq_factor == high_freq_factor`` (Llama 4 Scout) is a step
    function here as in Meta's ``apply_scaling``, where transformers makes a
    pair that sits exactly on the boundary NaN (0/0).
    Tested on the published configs of Llama 3.1, Llama 4 Scout, Qwen2 (YaRN),
    Phi-3 (LongRoPE) and DeepSeek-V2/V3 (YaRN with mscale) against
    transformers (``tests/rope/test_config.py``).

        Examples
    --------
    >>> th, af = config_inv_freq({"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768},
    ...                          head_dim=128, rope_theta=1e6)
    >>> th.shape, round(af, 12)  # Qwen2's YaRN: attention factor 0.1 ln 4 + 1
    ((64,), 1.138629436112)
    """
    return RopeConfig.from_dict(rope_scaling, head_dim=head_dim, rope_theta=rope_theta,
                                max_position_embeddings=max_position_embeddings,
                                original_max_position_embeddings=original_max_position_embeddings,
                                partial_rotary_factor=partial_rotary_factor, seq_len=seq_len).inv_freq()


