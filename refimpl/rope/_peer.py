"""The transformers peer for refimpl.rope (used by tests/rope and ``refimpl verify``).

Three routes for one configuration:

- :func:`refimpl_case`: ``refimpl.rope.scaled_inv_freq`` (float64, vectorised).
- :func:`hf_case`: transformers' own ``ROPE_INIT_FUNCTIONS`` through a
  ``LlamaConfig(rope_parameters=...)`` (transformers 5; float32 tensors).
- :func:`formula_case`: the formulas transformers implements, transcribed here
  element by element with Python's ``math`` in float64 (scalar loops, written
  independently of refimpl's vectorised code), so refimpl's float64 values can
  be checked at 1e-12 where transformers itself only has float32.

Tolerance against transformers (float32), derived from its operations:

- every method forms the exponent ``2i/d`` in float32 (relative error
  <= 2**-24), so ``base**x`` carries a relative error of up to
  ``x ln(base) 2**-24 <= ln(base) 2**-24``, plus the float32 ``pow``, ``1/``
  and ``/factor`` roundings (<= 0.5 ulp each, 4 ulp allowed):
  ``E0 = (ln(base) + 4) 2**-24``;
- YaRN blends ``interp*ramp + extrap*(1-ramp)``; the float32 ramp, ``1 -
  ramp`` and ``1 - extrap_factor`` are each rounded (<= 2**-24 absolute), and
  an absolute ramp error delta moves the result by ``delta (1 - 1/s) extrap``,
  i.e. by up to ``s delta`` relative: ``E0 + 2 s 2**-24``;
- llama3 blends the same way with ``smooth = (L/wavelen - lo)/(hi - lo)``,
  computed from the float32 ``inv_freq`` itself; the sensitivity of the
  result to a relative error e of ``inv_freq`` through ``smooth`` is at most
  ``1 + (s lo + hi)/(hi - lo)``, so ``E0 (1 + (s lo + hi)/(hi - lo)) + 2 s 2**-24``.

Measured worst cases over the grid are 4-7 (linear, dynamic, longrope), ~32
(yarn) and ~36 (llama3) units of 2**-24, inside these bounds (13-17, 77-81,
~240); a wrong formula gives errors of order 1e-2 or more.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from .frequencies import scaled_inv_freq

EPS32 = 2.0**-24

HF_NAMES = {"linear": "linear", "dynamic_ntk": "dynamic", "yarn": "yarn", "llama3": "llama3", "longrope": "longrope"}


def float32_rtol(case):
    """The relative tolerance against transformers' float32 inv_freq (module docstring)."""
    s = case["factor"]
    e0 = (math.log(case["base"]) + 4.0) * EPS32
    if case["method"] == "yarn":
        return e0 + 2.0 * s * EPS32
    if case["method"] == "llama3":
        lo, hi = case["params"]["low_freq_factor"], case["params"]["high_freq_factor"]
        return e0 * (1.0 + (s * lo + hi) / (hi - lo)) + 2.0 * s * EPS32
    return e0


def _longrope_factors(h, seed):
    rng = np.random.default_rng(seed)
    short = 1.0 + 0.05 * rng.random(h)
    long = np.sort(1.0 + 30.0 * rng.random(h))
    return short.tolist(), long.tolist()


def grid(quick=False):
    """The configurations compared with transformers: every method it implements.

    Head dims 64, 96, 128; partial rotary 1.0 and 0.5; factors 2..32; original
    lengths 2048, 4096, 8192; bases 1e4 and 5e5. ``quick`` keeps a subset.
    """
    head_dims = (64, 96, 128)
    partials = (1.0, 0.5)
    factors = (2.0, 4.0, 8.0, 16.0, 32.0) if not quick else (2.0, 8.0, 32.0)
    lengths = (2048, 4096, 8192) if not quick else (4096,)
    bases = (10000.0, 500000.0) if not quick else (10000.0,)
    cases = []
    for hd, pr, f, L, b in itertools.product(head_dims, partials, factors, lengths, bases):
        dim = int(hd * pr)
        common = {"head_dim": hd, "partial": pr, "factor": f, "L": L, "base": b, "dim": dim}
        cases.append(dict(common, method="linear", params={}))
        for seq in (L // 2, L, 3 * L):
            cases.append(dict(common, method="dynamic_ntk", params={"seq_len": seq}))
        cases.append(dict(common, method="yarn", params={}))
        cases.append(dict(common, method="yarn", params={"mscale": 0.707, "mscale_all_dim": 1.0}))
        cases.append(dict(common, method="yarn", params={"mscale": 1.0, "mscale_all_dim": 0.8,
                                                         "beta_fast": 16.0, "beta_slow": 2.0}))
        cases.append(dict(common, method="yarn", params={"truncate": False}))
        cases.append(dict(common, method="llama3", params={"low_freq_factor": 1.0, "high_freq_factor": 4.0}))
        short, long = _longrope_factors(dim // 2, hash((hd, pr, f, L)) % 2**32)
        for seq in (L, 2 * L):
            cases.append(dict(common, method="longrope", params={"short": short, "long": long, "seq_len": seq}))
    return cases


def refimpl_case(case):
    """``scaled_inv_freq`` for a grid case: (inv_freq float64, attention_factor)."""
    m, p, L = case["method"], dict(case["params"]), case["L"]
    kw = {}
    if m == "dynamic_ntk":
        kw = {"seq_len": p["seq_len"], "original_max_position": L}
    elif m == "yarn":
        kw = dict(p, ramp="hf", original_max_position=L)
    elif m == "llama3":
        kw = dict(p, original_max_position=L)
    elif m == "longrope":
        ext = p["long"] if p["seq_len"] > L else p["short"]
        kw = {"ext_factors": ext, "original_max_position": L}
    return scaled_inv_freq(case["dim"], m, base=case["base"], factor=case["factor"], **kw)


def hf_case(case):
    """transformers' own init function for a grid case: (inv_freq as float64 array, attention_factor)."""
    from transformers import LlamaConfig
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

    m, p, L = case["method"], dict(case["params"]), case["L"]
    rp = {"rope_type": HF_NAMES[m], "rope_theta": case["base"], "factor": case["factor"]}
    if case["partial"] != 1.0:
        rp["partial_rotary_factor"] = case["partial"]
    seq_len = None
    max_pos = L
    if m == "dynamic_ntk":
        seq_len = p["seq_len"]
    elif m == "yarn":
        rp.update(p, original_max_position_embeddings=L)
        max_pos = int(L * case["factor"])
    elif m == "llama3":
        rp.update(p, original_max_position_embeddings=L)
        max_pos = int(L * case["factor"])
    elif m == "longrope":
        rp.update(short_factor=p["short"], long_factor=p["long"], original_max_position_embeddings=L)
        max_pos = int(L * case["factor"])
        seq_len = p["seq_len"]
    hd = case["head_dim"]
    cfg = LlamaConfig(head_dim=hd, hidden_size=hd * 4, num_attention_heads=4, num_key_value_heads=4,
                      max_position_embeddings=max_pos, rope_parameters=rp)
    inv, af = ROPE_INIT_FUNCTIONS[HF_NAMES[m]](cfg, "cpu", seq_len=seq_len)
    return inv.detach().cpu().numpy().astype(np.float64), float(af)


def formula_case(case):
    """transformers' formulas, element by element in float64 with ``math`` (see module docstring)."""
    m, p, L, b, f, dim = case["method"], case["params"], case["L"], case["base"], case["factor"], case["dim"]
    h = dim // 2
    default = [1.0 / math.pow(b, (2 * i) / dim) for i in range(h)]
    if m == "linear":
        return np.array([t / f for t in default]), 1.0
    if m == "dynamic_ntk":
        seq = max(p["seq_len"], L)
        nb = b * math.pow(f * seq / L - (f - 1), dim / (dim - 2))
        return np.array([1.0 / math.pow(nb, (2 * i) / dim) for i in range(h)]), 1.0
    if m == "yarn":
        bf, bs = p.get("beta_fast", 32.0), p.get("beta_slow", 1.0)

        def corr(rot):
            return dim * math.log(L / (rot * 2 * math.pi)) / (2 * math.log(b))

        lo, hi = corr(bf), corr(bs)
        if p.get("truncate", True):
            lo, hi = math.floor(lo), math.ceil(hi)
        lo, hi = max(lo, 0), min(hi, dim - 1)
        if lo == hi:
            hi += 0.001
        out = []
        for i in range(h):
            ramp = min(max((i - lo) / (hi - lo), 0.0), 1.0)
            extrap = default[i]
            interp = default[i] / f
            out.append(interp * ramp + extrap * (1.0 - ramp))
        if p.get("mscale") and p.get("mscale_all_dim"):
            att = (0.1 * p["mscale"] * math.log(f) + 1) / (0.1 * p["mscale_all_dim"] * math.log(f) + 1)
        else:
            att = 0.1 * math.log(f) + 1 if f > 1 else 1.0
        return np.array(out), att
    if m == "llama3":
        lo, hi = p["low_freq_factor"], p["high_freq_factor"]
        out = []
        for t in default:
            wl = 2 * math.pi / t
            if wl < L / hi:
                out.append(t)
            elif wl > L / lo:
                out.append(t / f)
            else:
                sm = (L / wl - lo) / (hi - lo)
                out.append((1 - sm) * t / f + sm * t)
        return np.array(out), 1.0
    if m == "longrope":
        ext = p["long"] if p["seq_len"] > L else p["short"]
        att = math.sqrt(1 + math.log(f) / math.log(L)) if f > 1 else 1.0
        return np.array([1.0 / (ext[i] * math.pow(b, (2 * i) / dim)) for i in range(h)]), att
    raise ValueError(f"unknown method {m!r}")  # pragma: no cover


def compare_grid(route, quick=False):
    """Max relative error of refimpl vs ``route`` ("hf" in units of :func:`float32_rtol`, or "formula")."""
    worst_inv, worst_att = 0.0, 0.0
    for case in grid(quick):
        ours, af = refimpl_case(case)
        if route == "hf":
            theirs, af_t = hf_case(case)
            scale = float32_rtol(case)
        else:
            theirs, af_t = formula_case(case)
            scale = 1.0
        if ours.shape != theirs.shape:
            raise AssertionError(f"shape {ours.shape} vs {theirs.shape} for {case}")
        err = float(np.max(np.abs(ours - theirs) / np.abs(theirs))) / scale
        err_af = abs(af - af_t) / abs(af_t)
        if not np.isfinite(err):
            raise AssertionError(f"non-finite comparison for {case}")
        worst_inv, worst_att = max(worst_inv, err), max(worst_att, err_af)
    return worst_inv, worst_att


# --------------------------------------------------------------------------- peers of the case table
# Public code computing the same functions, called like the refimpl function (see refimpl/rope/cases.py).


class _quiet_transformers:
    """Silence transformers' RoPE config warnings (equal llama3 factors, a non-integer YaRN length ratio)
    while a peer builds its config; the values are what is compared."""

    def __enter__(self):
        import logging

        self._loggers = [logging.getLogger(n) for n in ("transformers.modeling_rope_utils",
                                                         "transformers.configuration_utils")]
        self._levels = [lg.level for lg in self._loggers]
        for lg in self._loggers:
            lg.setLevel(logging.ERROR)

    def __exit__(self, *exc):
        for lg, level in zip(self._loggers, self._levels):
            lg.setLevel(level)


def hf_scaled_inv_freq(method):
    """transformers' ``ROPE_INIT_FUNCTIONS[rope_type]`` called like ``scaled_inv_freq(d, **params)``
    with the method pinned (float32 inv_freq, returned as float64)."""

    def peer(d, base=10000.0, factor=None, **params):
        from transformers import LlamaConfig
        from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

        L = params.pop("original_max_position", None)
        seq_len = params.pop("seq_len", None)
        rp = {"rope_type": HF_NAMES[method], "rope_theta": float(base), "factor": factor}
        max_pos = 4096
        if method == "dynamic_ntk":
            max_pos = int(L)
        elif method == "longrope":
            ext = [float(v) for v in np.asarray(params.pop("ext_factors"))]
            rp.update(short_factor=ext, long_factor=ext)
        if method in ("yarn", "llama3", "longrope"):
            rp["original_max_position_embeddings"] = int(L)
            max_pos = int(L * (factor or 1.0)) + 1
        rp.update(params)
        with _quiet_transformers():
            cfg = LlamaConfig(head_dim=d, hidden_size=4 * d, num_attention_heads=4, num_key_value_heads=4,
                              max_position_embeddings=max_pos, rope_parameters=rp)
            inv, af = ROPE_INIT_FUNCTIONS[HF_NAMES[method]](cfg, "cpu", seq_len=seq_len)
        return inv.detach().numpy().astype(np.float64), float(af)

    return peer


def hf_config_inv_freq(rope_scaling, *, head_dim, rope_theta=None, max_position_embeddings=None,
                       original_max_position_embeddings=None, partial_rotary_factor=None, seq_len=None):
    """transformers on a model config holding ``rope_scaling`` (what its RotaryEmbedding computes at load)."""
    from transformers import LlamaConfig
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

    if isinstance(rope_scaling, str):
        import json

        rope_scaling = json.loads(rope_scaling)
    rp = dict(rope_scaling or {"rope_type": "default"})
    kind = rp.get("rope_type", rp.get("type", "default"))
    kind = "longrope" if kind == "su" else kind
    rp["rope_type"] = kind
    rp.setdefault("rope_theta", 10000.0 if rope_theta is None else float(rope_theta))
    if partial_rotary_factor is not None:
        rp.setdefault("partial_rotary_factor", partial_rotary_factor)
    extra = {}
    if original_max_position_embeddings is not None:
        extra["original_max_position_embeddings"] = original_max_position_embeddings
    with _quiet_transformers():
        cfg = LlamaConfig(head_dim=head_dim, hidden_size=4 * head_dim, num_attention_heads=4,
                          num_key_value_heads=4, max_position_embeddings=max_position_embeddings or 4096,
                          rope_parameters=rp, **extra)
    if kind == "default":
        d = int(head_dim * rp.get("partial_rotary_factor", 1.0))
        base = rp["rope_theta"]
        import torch

        inv = 1.0 / (base ** (torch.arange(0, d, 2, dtype=torch.int64).float() / d))
        return inv.numpy().astype(np.float64), 1.0
    with _quiet_transformers():
        inv, af = ROPE_INIT_FUNCTIONS[kind](cfg, "cpu", seq_len=seq_len)
    return inv.detach().numpy().astype(np.float64), float(af)
