"""Oracle cases of refimpl.rope (see :mod:`refimpl.testing.oracle`)."""
from __future__ import annotations

import numpy as np

from ..testing.oracle import register_oracle
from .apply import LAYOUTS, apply
from .frequencies import inv_freq, scaled_inv_freq

#: Largest position drawn for rope.apply (bounds the float32 angle error).
MAX_POSITION = 2048


@register_oracle("rope.apply", apply, backends=("numpy", "numba"),
                 tolerances={"float64": (1e-12, 0.0), "float32": (3e-4, 0.0)})
def _apply(src):
    """Rotate x of shape (H, L, d), H in [1, 3], L in [1, 16], d even in [2, 64], positions
    ``offset + arange(L)`` with offset in [0, 2048), inv_freq of a base log-uniform in
    [100, 1e6] (or partial rotary: fewer pairs than d/2), either layout, attention_factor.

    float64: angles n theta are one correctly rounded product in any sane
    implementation, so the error is a few ulp of cos/sin plus the angle's own
    rounding |n theta| u <= 2064 * 1.1e-16 = 2.3e-13 relative: rtol 1e-12.
    float32: a float32 kernel rounds the angle in float32, |n theta| 2**-24
    <= 1.2e-4 radians, which moves each output by up to 1.2e-4 (|x_a| + |x_b|)
    <= 2.5e-4 max|x|: rtol 3e-4 (transformers in float32 measures 1.1e-4).
    A layout swap or a wrong base is an O(1) error.
    """
    d = src.even("d", 2, 64)
    L = src.integer("L", 1, 16)
    H = src.integer("H", 1, 3)
    base = src.real("base", 100.0, 1e6, log=True)
    pairs = d // 2 if not src.boolean("partial_rotary") else src.integer("rotary_pairs", 1, d // 2)
    offset = src.integer("offset", 0, MAX_POSITION - 16)
    return {
        "x": src.normal("x", (H, L, d)),
        "positions": offset + np.arange(L, dtype=np.int64),
        "inv_freq": inv_freq(2 * pairs, base),
        "layout": src.choice("layout", LAYOUTS),
        "attention_factor": src.real("attention_factor", 0.5, 2.0),
    }


def _scaled_params(src, method, d):
    p = {}
    if method == "ntk_mixed":
        p["b"] = src.real("b", 0.3, 0.9)
    elif method == "dynamic_ntk":
        p["original_max_position"] = src.integer("original_max_position", 256, 8192)
        p["seq_len"] = src.integer("seq_len", 1, 65536)
    elif method == "yarn":
        p["original_max_position"] = src.integer("original_max_position", 512, 8192)
        p["beta_fast"] = src.real("beta_fast", 16.0, 64.0)
        p["beta_slow"] = src.real("beta_slow", 0.5, 4.0)
        p["ramp"] = src.choice("ramp", ("rotations", "hf"))
        if src.boolean("yarn_mscale"):
            p["mscale"] = src.real("mscale", 0.5, 1.5)
            p["mscale_all_dim"] = src.real("mscale_all_dim", 0.5, 1.5)
    elif method == "llama3":
        p["original_max_position"] = src.integer("original_max_position", 512, 8192)
        lo = src.real("low_freq_factor", 0.5, 2.0)
        p["low_freq_factor"] = lo
        p["high_freq_factor"] = lo + src.real("high_minus_low", 1.0, 8.0)
    elif method == "longrope":
        p["ext_factors"] = src.uniform("ext_factors", (d // 2,), 1.0, 10.0)
        p["original_max_position"] = src.integer("original_max_position", 512, 8192)
    return p


@register_oracle("rope.scaled_inv_freq", scaled_inv_freq, rule="elementwise",
                 tolerances={"float64": (1e-12, 0.0), "float32": (1e-4, 0.0)})
def _scaled_inv_freq(src):
    """``(inv_freq, attention_factor)`` for every method, d even in [4, 128], base log-uniform in
    [100, 1e6], factor log-uniform in [1, 32], method parameters in their usual ranges.

    Compared element by element (the frequencies span base**-1 to 1).
    float64: closed forms, a few ulp times ln(base) (<= 14): rtol 1e-12.
    float32: a float32 kernel's error, derived in refimpl/rope/_peer.py, is
    E0 = (ln(base) + 4) 2**-24 for the plain forms, E0 + 2k 2**-24 for YaRN and
    E0 (1 + (k lo + hi)/(hi - lo)) + 2k 2**-24 for llama3, whose worst case in
    the drawn ranges (k = 32, lo = 2, hi - lo = 1) is 7.2e-5: rtol 1e-4. An NTK
    exponent d/(d-1) instead of d/(d-2) moves the lowest frequency by
    ln(k)/(d-1) relative (5.5e-3 at d = 128, k = 2): caught at either dtype
    once k > 1.01.
    The discontinuous floor/ceil of YaRN's "hf" ramp can put a float32 kernel
    on the other side of an integer: pin ``ramp`` when testing one.
    """
    d = src.even("d", 4, 128)
    method = src.choice("method", ("linear", "ntk", "ntk_old", "ntk_fixed", "ntk_mixed", "dynamic_ntk", "yarn",
                                   "llama3", "longrope"))
    out = {"d": d, "method": method, "base": src.real("base", 100.0, 1e6, log=True),
           "factor": src.real("factor", 1.0, 32.0, log=True)}
    out.update(_scaled_params(src, method, d))
    return out
