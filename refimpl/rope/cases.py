"""The case table of refimpl.rope: one row per public function (see refimpl/testing/cases.py).

Peers are public code computing the same function: transformers
(``apply_rotary_pos_emb``, GPT-J's rotation, ``ROPE_INIT_FUNCTIONS``),
SciPy, NumPy's ``base_repr``, and transcriptions of Su's code and formulas
(https://github.com/bojone/rerope, https://kexue.fm/archives/8265).
"""
from __future__ import annotations

import json
import math

import numpy as np

from ..testing.cases import Article, Case, Peer
from . import _peer
from .analysis import abel_bound, beta_digits, decay_curve
from .apply import LAYOUTS, apply, layout_permutation, rotation_matrix
from .config import config_inv_freq
from .frequencies import inv_freq, rotations, scaled_inv_freq, yarn_correction_dim, yarn_get_mscale
from .rerope import logn_scale, relative_positions, rerope_decode_scores, rerope_scores

#: Largest position drawn for rope.apply (bounds the float32 angle error).
MAX_POSITION = 2048

U_BF16 = 2.0**-8   # unit roundoff of bfloat16 (8 significand bits)
U_FP16 = 2.0**-11  # unit roundoff of float16 (11 significand bits)
#: float32 angles n theta with n <= MAX_POSITION: |n theta| 2**-24 <= 1.2e-4 rad, which moves an output
#: by up to 1.2e-4 (|x_a| + |x_b|) <= 3.5e-4 max|x'| (|x_a| + |x_b| <= 2 max|x| <= 2 sqrt(2) max|x'|)
ANGLE_F32 = MAX_POSITION * 2.0**-24 * 2 * math.sqrt(2)


def _pairs(x, layout):
    """Complex pairs z_i = x_a + i x_b of the rotated part (an independent route for the peers)."""
    if layout == "interleaved":
        return x[..., 0::2] + 1j * x[..., 1::2]
    h = x.shape[-1] // 2
    return x[..., :h] + 1j * x[..., h:]


# --------------------------------------------------------------------------- apply

def _apply_inputs(src):
    d = src.even("d", 2, 64)
    L = src.integer("L", 1, 16)
    H = src.integer("H", 1, 3)
    base = src.real("base", 100.0, 1e6, log=True)
    pairs = d // 2 if not src.boolean("partial_rotary") else src.integer("rotary_pairs", 1, d // 2)
    if src.boolean("batched"):  # x (B, H, L, d): positions (L,) shared, or per-sequence (B, L) when pinned
        B = src.integer("B", 1, 3)
        x = src.normal("x", (B, H, L, d))
        # per-sequence positions (transformers' position_ids) only where pinned (a corner, or
        # check_against(..., fixed={"per_sequence": True})): kernels taking (L,) positions stay testable
        if "per_sequence" in src.fixed and src.boolean("per_sequence"):
            positions = src.rng("offsets").integers(0, MAX_POSITION - 16, (B, 1)) + np.arange(L, dtype=np.int64)
        else:
            positions = src.integer("offset", 0, MAX_POSITION - 16) + np.arange(L, dtype=np.int64)
    else:
        x = src.normal("x", (H, L, d))
        positions = src.integer("offset", 0, MAX_POSITION - 16) + np.arange(L, dtype=np.int64)
    return {"x": x, "positions": positions, "inv_freq": inv_freq(2 * pairs, base),
            "layout": src.choice("layout", LAYOUTS), "attention_factor": src.real("attention_factor", 0.5, 2.0)}


def _batched_torch(x, positions):
    """(x as a (B, H, L, d) tensor, position_ids (B, L), whether a batch axis was added)."""
    import torch

    x = torch.as_tensor(x)
    pos = torch.as_tensor(positions)
    added = x.dim() == 3
    if added:
        x = x[None]
    if pos.dim() == 1:
        pos = pos[None].expand(x.shape[0], -1)
    return x, pos, added


def _transformers_half(x, positions, inv_freq, attention_factor=1.0):
    """transformers' Llama ``apply_rotary_pos_emb`` (q * cos + rotate_half(q) * sin) with float64 cos/sin
    built as its RotaryEmbedding does (cat(freqs, freqs), times attention_scaling); partial rotary as
    Phi/NeoX: rotate ``x[..., :rotary_dim]``, pass the rest."""
    import torch
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

    xt, pos, added = _batched_torch(x, positions)
    th = torch.as_tensor(inv_freq, dtype=torch.float64)
    freqs = pos.to(torch.float64)[..., None] * th
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos() * attention_factor, emb.sin() * attention_factor
    rot = 2 * th.shape[0]
    q, _ = apply_rotary_pos_emb(xt[..., :rot], xt[..., :rot], cos, sin)
    out = torch.cat((q, xt[..., rot:]), dim=-1)
    return (out[0] if added else out).numpy()


def _gptj_interleaved(x, positions, inv_freq):
    """GPT-J's ``apply_rotary_pos_emb`` (rotate_every_two, repeat_interleave of sin/cos), float64; it has
    no attention factor. Its tensors are (B, L, H, d)."""
    import torch
    from transformers.models.gptj.modeling_gptj import apply_rotary_pos_emb

    xt, pos, added = _batched_torch(x, positions)
    th = torch.as_tensor(inv_freq, dtype=torch.float64)
    ang = pos.to(torch.float64)[..., None] * th
    rot = 2 * th.shape[0]
    xs = xt.transpose(1, 2)  # (B, L, H, d)
    r = apply_rotary_pos_emb(xs[..., :rot].contiguous(), ang.sin(), ang.cos())
    out = torch.cat((r, xs[..., rot:]), dim=-1).transpose(1, 2)
    return (out[0] if added else out).numpy()


def _torch_low_precision(x, positions, inv_freq, attention_factor=1.0):
    """The transformers forward in x's dtype (bfloat16/float16): angles and cos/sin in float32
    (times attention_scaling), cast to x's dtype, then q * cos + rotate_half(q) * sin in that dtype."""
    import torch
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

    xt, pos, added = _batched_torch(x, positions)
    th = torch.as_tensor(inv_freq).to(torch.float32)
    freqs = pos.to(torch.float32)[..., None] * th
    emb = torch.cat((freqs, freqs), dim=-1)
    cos = (emb.cos() * attention_factor).to(xt.dtype)
    sin = (emb.sin() * attention_factor).to(xt.dtype)
    rot = 2 * th.shape[0]
    q, _ = apply_rotary_pos_emb(xt[..., :rot], xt[..., :rot], cos, sin)
    out = torch.cat((q, xt[..., rot:]), dim=-1)
    return out[0] if added else out


_APPLY_WHY = f"""float64: angles n theta are one correctly rounded product, so the error is a few ulp of cos/sin
plus the angle's own rounding |n theta| u <= 2064 * 1.1e-16 = 2.3e-13 relative: rtol 1e-12.
float32: a float32 kernel rounds the angle in float32, |n theta| 2**-24 <= 1.2e-4 rad, which moves each
output by up to 1.2e-4 (|x_a| + |x_b|) <= 2.5e-4 max|x|: rtol 3e-4 (transformers in float32 measures 1.1e-4).
bfloat16 (u = 2**-8) and float16 (u = 2**-11): x is exact in the dtype; cos/sin of float32 angles are rounded
to the dtype (u each), x cos and rot(x) sin are rounded (u each) and so is their sum (u), so a coordinate is
off by at most u (2 |x_a cos| + 2 |x_b sin| + |x'|) <= u (2 (|x_a| + |x_b|) + |x'|) <= u (4 sqrt 2 + 1) max|x'|
(|x_a| + |x_b| <= 2 max|x| and max|x| <= sqrt 2 max|x'|, the pair norm being kept), under 8u, plus the float32
angle term {ANGLE_F32:.1e}: rtol 8u + {ANGLE_F32:.1e} = {8 * U_BF16 + ANGLE_F32:.4f} (bfloat16), {8 * U_FP16 + ANGLE_F32:.2e}
(float16). Measured (tests/rope/test_low_precision.py, 100 examples): torch's bfloat16 and float16 rotations 0.2 of that; a kernel
that rounds the angles to bfloat16 first is off by O(1). A layout swap or a wrong base is an O(1) error."""

_APPLY = Case(
    "rope.apply", apply, _apply_inputs,
    tol={"float64": (1e-12, 0.0), "float32": (3e-4, 0.0), "bfloat16": (8 * U_BF16 + ANGLE_F32, 0.0),
         "float16": (8 * U_FP16 + ANGLE_F32, 0.0)},
    why=_APPLY_WHY,
    fast=("numba", "cupy"),
    keep_dtype=("positions",),
    peers=(
        Peer("transformers Llama apply_rotary_pos_emb (rotate_half), float64", _transformers_half,
             requires=("torch", "transformers"), fixed={"layout": "half"},
             why="the same rotation written with rotate_half and cat(freqs, freqs); float64 cos/sin"),
        Peer("transformers GPT-J apply_rotary_pos_emb (rotate_every_two), float64", _gptj_interleaved,
             requires=("torch", "transformers"), fixed={"layout": "interleaved", "attention_factor": 1.0},
             why="interleaved pairs via repeat_interleave; GPT-J has no attention factor"),
        Peer("transformers forward in bfloat16 (float32 cos/sin cast to bfloat16)", _torch_low_precision,
             requires=("torch", "transformers"), convert="torch", dtype="bfloat16", fixed={"layout": "half"},
             why="torch's own bfloat16 ops; the case's bfloat16 tolerance"),
        Peer("transformers forward in float16 (float32 cos/sin cast to float16)", _torch_low_precision,
             requires=("torch", "transformers"), convert="torch", dtype="float16", fixed={"layout": "half"},
             why="torch's own float16 ops; the case's float16 tolerance"),
    ),
    corners=({"partial_rotary": True, "rotary_pairs": 1}, {"L": 1, "offset": MAX_POSITION - 16},
             {"batched": True, "per_sequence": True, "B": 3, "L": 16}),
)


# --------------------------------------------------------------------------- frequencies

def _inv_freq_inputs(src):
    return {"d": src.even("d", 2, 256), "base": src.real("base", 1.5, 1e7, log=True)}


def _transformers_default(d, base=10000.0):
    """transformers' default init: 1 / base ** (arange(0, d, 2) / d), here in float64 torch."""
    import torch

    return (1.0 / (base ** (torch.arange(0, d, 2, dtype=torch.int64).to(torch.float64) / d))).numpy()


_INV_FREQ = Case(
    "rope.inv_freq", inv_freq, _inv_freq_inputs,
    tol={"float64": (1e-13, 0.0)}, rule="elementwise",
    why="base ** (-(2i/d)) with the exponent exact to 0.5 ulp: (1 + ln base) eps relative, <= 3.8e-15 for "
        "base <= 1e7: rtol 1e-13 elementwise (the entries span base**-1 to 1).",
    peers=(Peer("transformers default init (1 / base ** (arange(0, d, 2) / d)), float64 torch",
                _transformers_default, requires=("torch",)),),
    corners=({"d": 2}, {"d": 256, "base": 1e7}),
)


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
        # Llama 4 Scout: low_freq_factor == high_freq_factor (a step, no smoothing band)
        p["high_freq_factor"] = lo if src.boolean("equal_factors") else lo + src.real("high_minus_low", 1.0, 8.0)
    elif method == "longrope":
        p["ext_factors"] = src.uniform("ext_factors", (d // 2,), 1.0, 10.0)
        p["original_max_position"] = src.integer("original_max_position", 512, 8192)
    return p


def _scaled_inputs(src):
    d = src.even("d", 4, 128)
    method = src.choice("method", ("linear", "ntk", "ntk_old", "ntk_fixed", "ntk_mixed", "dynamic_ntk", "yarn",
                                   "llama3", "longrope"))
    out = {"d": d, "method": method, "base": src.real("base", 100.0, 1e6, log=True),
           "factor": src.real("factor", 1.0, 32.0, log=True)}
    out.update(_scaled_params(src, method, d))
    return out


_HF_WHY = ("transformers computes in float32; its error, derived in refimpl/rope/_peer.py, is at most "
           "E0 (1 + (k lo + hi)/(hi - lo)) + 2k 2**-24 with E0 = (ln base + 4) 2**-24, 7.2e-5 in the drawn "
           "ranges: rtol 1e-4 elementwise")

_SCALED = Case(
    "rope.scaled_inv_freq", scaled_inv_freq, _scaled_inputs,
    documented={"original_max_position": {
        "float": "a real context length is accepted (it only enters ratios and logs)",
        "huge": "any finite length is valid: the frequencies are closed forms"}},
    tol={"float64": (1e-12, 0.0), "float32": (1e-4, 0.0)}, rule="elementwise",
    why="""(inv_freq, attention_factor) for every method, compared element by element (the frequencies
span base**-1 to 1). float64: closed forms, a few ulp times ln(base) (<= 14): rtol 1e-12.
float32: """ + _HF_WHY + """. An NTK exponent d/(d-1) instead of d/(d-2) moves the lowest frequency by
ln(k)/(d-1) relative (5.5e-3 at d = 128, k = 2). The discontinuous floor/ceil of YaRN's "hf" ramp can put a
float32 kernel on the other side of an integer: pin ``ramp`` when testing one.""",
    peers=tuple(
        Peer(f"transformers ROPE_INIT_FUNCTIONS[{_peer.HF_NAMES[m]!r}] (float32)", _peer.hf_scaled_inv_freq(m),
             requires=("torch", "transformers"), fixed=dict({"method": m}, **({"ramp": "hf"} if m == "yarn" else {})),
             tol=(1e-4, 0.0), why=_HF_WHY)
        for m in ("linear", "dynamic_ntk", "yarn", "llama3", "longrope")),
    corners=({"method": "llama3", "equal_factors": True}, {"method": "yarn", "factor": 1.01},
             {"method": "yarn", "yarn_mscale": True, "ramp": "hf"}, {"method": "dynamic_ntk", "seq_len": 1},
             {"method": "ntk", "d": 4}),
)


def _rotations_inputs(src):
    d = src.even("d", 2, 128)
    return {"inv_freq": inv_freq(d, src.real("base", 100.0, 1e6, log=True)),
            "length": src.real("length", 1.0, 1e6, log=True)}


def _rotations_via_wavelength(inv_freq, length):
    """Meta's llama3 apply_scaling reads rotations as old_context_len / wavelen, wavelen = 2 pi / freq."""
    return np.array([length / (2 * math.pi / t) for t in inv_freq])


_ROTATIONS = Case(
    "rope.rotations", rotations, _rotations_inputs,
    tol={"float64": (1e-14, 0.0)}, rule="elementwise",
    why="L theta / (2 pi): three roundings, 3 eps relative; the wavelength route another two: rtol 1e-14.",
    peers=(Peer("L / wavelen as in Meta's llama3 apply_scaling", _rotations_via_wavelength),),
)


def _correction_inputs(src):
    return {"num_rotations": src.real("num_rotations", 0.5, 64.0, log=True), "d": src.even("d", 2, 256),
            "base": src.real("base", 100.0, 1e6, log=True),
            "original_max_position": src.real("original_max_position", 256.0, 131072.0, log=True)}


def _hf_find_correction_dim(num_rotations, d, base, original_max_position):
    """transformers' find_correction_dim, transcribed."""
    return (d * math.log(original_max_position / (num_rotations * 2 * math.pi))) / (2 * math.log(base))


_CORRECTION = Case(
    "rope.yarn_correction_dim", yarn_correction_dim, _correction_inputs,
    tol={"float64": (1e-12, 1e-12)},
    why="d ln(L / (2 pi r)) / (2 ln b): a log of a ratio near 1 can lose digits, so an atol of 1e-12 (pair "
        "index units) beside rtol 1e-12.",
    peers=(Peer("transformers find_correction_dim (transcribed)", _hf_find_correction_dim),),
)


def _mscale_inputs(src):
    kind = src.choice("scale_kind", ("above_one", "near_one", "at_or_below_one"))
    if kind == "near_one":  # the threshold s <= 1: 0.1 ln s + 1 must start right above it
        s = 1.0 + src.real("excess", 1e-6, 0.05, log=True)
    elif kind == "at_or_below_one":
        s = src.real("scale_below", 0.01, 1.0)
    else:
        s = src.real("scale_above", 1.0, 64.0, log=True)
    return {"scale": s, "mscale": src.real("mscale", 0.1, 2.0)}


def _hf_get_mscale(scale, mscale=1.0):
    """transformers' get_mscale (YaRN), transcribed."""
    if scale <= 1:
        return 1.0
    return 0.1 * mscale * math.log(scale) + 1.0


_MSCALE = Case(
    "rope.yarn_get_mscale", yarn_get_mscale, _mscale_inputs,
    tol={"float64": (1e-15, 0.0)},
    why="0.1 m ln s + 1: a few roundings of a value near 1: rtol 1e-15. A threshold moved to s <= 1.02 is "
        "off by 0.1 ln 1.01 = 1e-3 at s = 1.01 (the near_one draws).",
    peers=(Peer("transformers get_mscale (transcribed)", _hf_get_mscale),),
    corners=({"scale_kind": "near_one", "excess": 0.01}, {"scale_kind": "at_or_below_one", "scale_below": 1.0}),
)


# --------------------------------------------------------------------------- the config reader

#: Published config.json values (rope part) of real model families.
MODEL_CONFIGS = {
    # meta-llama/Llama-3.1-8B: head_dim 128 (4096 / 32 heads), rope_theta 500000, 131072 positions
    "llama-3.1": dict(rope_scaling={"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                    "original_max_position_embeddings": 8192, "rope_type": "llama3"},
                      head_dim=128, rope_theta=500000.0, max_position_embeddings=131072),
    # meta-llama/Llama-4-Scout-17B-16E: equal low/high factors
    "llama-4-scout": dict(rope_scaling={"factor": 16.0, "high_freq_factor": 1.0, "low_freq_factor": 1.0,
                                        "original_max_position_embeddings": 8192, "rope_type": "llama3"},
                          head_dim=128, rope_theta=500000.0, max_position_embeddings=10485760),
    # Qwen/Qwen2-7B-Instruct model card's YaRN block: head_dim 128 (3584 / 28 heads), rope_theta 1e6
    "qwen2-yarn": dict(rope_scaling={"factor": 4.0, "original_max_position_embeddings": 32768, "type": "yarn"},
                       head_dim=128, rope_theta=1000000.0, max_position_embeddings=32768),
    # deepseek-ai/DeepSeek-V2: qk_rope_head_dim 64
    "deepseek-v2": dict(rope_scaling={"beta_fast": 32, "beta_slow": 1, "factor": 40, "mscale": 0.707,
                                      "mscale_all_dim": 0.707, "original_max_position_embeddings": 4096,
                                      "type": "yarn"},
                        head_dim=64, rope_theta=10000, max_position_embeddings=163840),
    # deepseek-ai/DeepSeek-V3: qk_rope_head_dim 64
    "deepseek-v3": dict(rope_scaling={"beta_fast": 32, "beta_slow": 1, "factor": 40, "mscale": 1.0,
                                      "mscale_all_dim": 1.0, "original_max_position_embeddings": 4096,
                                      "type": "yarn"},
                        head_dim=64, rope_theta=10000, max_position_embeddings=163840),
}


# microsoft/Phi-3.5-mini-instruct: head_dim 96 (3072 / 32 heads), LongRoPE factors of its config.json,
# original_max_position_embeddings outside rope_scaling, factor = 131072 / 4096
PHI35_MINI = dict(
    rope_scaling={"long_factor": [
        1.0800000429153442, 1.1100000143051147, 1.1399999856948853, 1.340000033378601, 1.5899999141693115,
        1.600000023841858, 1.6200000047683716, 2.620000123977661, 3.2300000190734863, 3.2300000190734863,
        4.789999961853027, 7.400000095367432, 7.700000286102295, 9.09000015258789, 12.199999809265137,
        17.670000076293945, 24.46000099182129, 28.57000160217285, 30.420001983642578, 30.840002059936523,
        32.590003967285156, 32.93000411987305, 42.320003509521484, 44.96000289916992, 50.340003967285156,
        50.45000457763672, 57.55000305175781, 57.93000411987305, 58.21000289916992, 60.1400032043457,
        62.61000442504883, 62.62000274658203, 62.71000289916992, 63.1400032043457, 63.1400032043457,
        63.77000427246094, 63.93000411987305, 63.96000289916992, 63.970001220703125, 64.02999877929688,
        64.06999969482422, 64.08000183105469, 64.12000274658203, 64.41000366210938, 64.4800033569336,
        64.51000213623047, 64.52999877929688, 64.83999633789062],
        "short_factor": [
        1.0, 1.0199999809265137, 1.0299999713897705, 1.0299999713897705, 1.0499999523162842,
        1.0499999523162842, 1.0499999523162842, 1.0499999523162842, 1.0499999523162842, 1.0699999332427979,
        1.0999999046325684, 1.1099998950958252, 1.1599998474121094, 1.1599998474121094, 1.1699998378753662,
        1.2899998426437378, 1.339999794960022, 1.679999828338623, 1.7899998426437378, 1.8199998140335083,
        1.8499997854232788, 1.8799997568130493, 1.9099997282028198, 1.9399996995925903, 1.9899996519088745,
        2.0199997425079346, 2.0199997425079346, 2.0199997425079346, 2.0199997425079346, 2.0199997425079346,
        2.0199997425079346, 2.0299997329711914, 2.0299997329711914, 2.0299997329711914, 2.0299997329711914,
        2.0299997329711914, 2.0299997329711914, 2.0299997329711914, 2.0299997329711914, 2.0299997329711914,
        2.0799996852874756, 2.0899996757507324, 2.189999580383301, 2.2199995517730713, 2.5899994373321533,
        2.729999542236328, 2.749999523162842, 2.8399994373321533],
        "type": "longrope"},
    head_dim=96, rope_theta=10000.0, max_position_embeddings=131072, original_max_position_embeddings=4096)
MODEL_CONFIGS["phi-3.5-mini"] = PHI35_MINI


def _config_inputs(src):
    name = src.choice("model", tuple(MODEL_CONFIGS))
    cfg = dict(MODEL_CONFIGS[name], rope_scaling=json.dumps(MODEL_CONFIGS[name]["rope_scaling"]))
    if name == "phi-3.5-mini":
        cfg["seq_len"] = src.choice("phi_seq_len", (4096, 131072))  # short_factor, then long_factor
    return cfg


_CONFIG_WHY = ("refimpl float64 vs transformers float32 on published configs: llama3 (k = 8, lo = 1, hi = 4) "
               "E0 (1 + (k lo + hi)/(hi - lo)) + 2k 2**-24 = 6.2e-6 with E0 = (ln 5e5 + 4) 2**-24; YaRN with "
               "k = 40: E0 + 80 2**-24 = 5.8e-6; LongRoPE E0 = 7.9e-7 (refimpl/rope/_peer.py): rtol 1e-5 "
               "elementwise. The configs are drawn as the JSON text of "
               "config.json (the golden files store text, not dicts).")

_CONFIG_INV_FREQ = Case(
    "rope.config_inv_freq", config_inv_freq, _config_inputs,
    documented={"rope_scaling": {"none": "None is a config without rope_scaling: the plain frequencies"},
                "max_position_embeddings": {"huge": "a number that only enters ratios: any finite value is valid"}},
    tol={"float64": (1e-12, 0.0), "float32": (1e-5, 0.0)}, rule="elementwise",
    why=_CONFIG_WHY,
    peers=(Peer("transformers ROPE_INIT_FUNCTIONS on the same config (float32)", _peer.hf_config_inv_freq,
                requires=("torch", "transformers"), tol=(1e-5, 0.0), examples=12, why=_CONFIG_WHY),),
    corners=tuple({"model": m} for m in MODEL_CONFIGS) + ({"model": "phi-3.5-mini", "phi_seq_len": 131072},),
)


# --------------------------------------------------------------------------- layouts and the matrix

_LAYOUT_PERM = Case(
    "rope.layout_permutation", layout_permutation, lambda src: {"d": src.even("d", 2, 512)},
    tol={"float64": (0.0, 0.0)},
    why="an integer permutation: exact (apply(x[..., P], 'half') == apply(x, 'interleaved')[..., P] is a "
        "property test in tests/rope/test_apply.py).",
)


def _rotation_matrix_inputs(src):
    d = src.even("d", 2, 32)
    return {"m": src.real("m", -1e4, 1e4), "inv_freq": inv_freq(d, src.real("base", 100.0, 1e6, log=True)),
            "layout": src.choice("layout", ("interleaved", "half"))}


def _block_diag_rotation(m, inv_freq):
    """R_m of kexue.fm/archives/8265 as scipy.linalg.block_diag of 2x2 rotations (interleaved)."""
    from scipy.linalg import block_diag

    return block_diag(*[np.array([[math.cos(m * t), -math.sin(m * t)], [math.sin(m * t), math.cos(m * t)]])
                        for t in inv_freq])


_ROTATION_MATRIX = Case(
    "rope.rotation_matrix", rotation_matrix, _rotation_matrix_inputs,
    tol={"float64": (1e-13, 0.0)},
    why="cos/sin of the float64 angle m theta: a few ulp of entries <= 1, plus math vs NumPy cos/sin of "
        "angles up to 1e4 (1 ulp each): rtol 1e-13.",
    peers=(Peer("scipy.linalg.block_diag of 2x2 rotations", _block_diag_rotation, requires=("scipy",),
                fixed={"layout": "interleaved"}),),
)


# --------------------------------------------------------------------------- ReRoPE

def _rerope_common(src):
    d = src.even("d", 2, 32)
    L = src.integer("L", 1, 24)
    out = {"inv_freq": inv_freq(d, src.real("base", 100.0, 1e5, log=True)),
           "window": float(src.integer("window", 1, 28))}
    if src.choice("leaky", (False, True), follows="factor"):
        out["factor"] = src.real("factor", 1.0, 16.0, log=True)
    out["layout"] = src.choice("layout", LAYOUTS)
    return d, L, out


def _rerope_inputs(src):
    d, L, out = _rerope_common(src)
    H = src.integer("H", 1, 2)
    out["q"] = src.normal("q", (H, L, d))
    out["k"] = src.normal("k", (H, L, d))
    out["method"] = src.choice("method", ("two_pass", "direct"))
    return out


def _su_rerope_scores(q, k, inv_freq, window, factor=None, *, layout="half"):
    """bojone/rerope's two passes (rerope_patch.py, leaky_rerope_patch.py) in complex form: pass 1 RoPE;
    pass 2 the query at w against raw keys (ReRoPE) or the query at pos + w (k - 1) and keys at pos, both
    linearly scaled by k (Leaky). Su's mask |i - j| < w is i - j < w on the causal part (i >= j); above the
    diagonal (removed by the causal mask) RoPE, as refimpl."""
    zq, zk = _pairs(q, layout), _pairs(k, layout)
    L = q.shape[-2]
    pos = np.arange(L, dtype=np.float64)

    def rot(z, p):
        return z * np.exp(1j * p[:, None] * inv_freq)

    def scores(a, b):
        return np.real(a @ np.conj(np.swapaxes(b, -1, -2)))

    a1 = scores(rot(zq, pos), rot(zk, pos))
    if factor is None:
        a2 = scores(rot(zq, np.full(L, window)), zk)
    else:
        a2 = scores(rot(zq, (pos + window * (factor - 1)) / factor), rot(zk, pos / factor))
    return np.where(pos[:, None] - pos[None, :] < window, a1, a2)


_RERO_WHY = ("a_ij sums d products of rotated coordinates: d u growth relative to sum |q||k|; float64: "
             "rtol 1e-12 of max|a| (sum |q||k| / max|a| <= sqrt(d) ~ 6 for Gaussian q, k). float32 kernels: "
             "angles |rho theta| <= 28 rad rounded (28 2**-24) and d = 32 float32 products: rtol 2e-5.")

_RERO_SCORES = Case(
    "rope.rerope_scores", rerope_scores, _rerope_inputs,
    tol={"float64": (1e-12, 0.0), "float32": (2e-5, 0.0)},
    why=_RERO_WHY,
    peers=(Peer("bojone/rerope two passes (transcribed, complex form)", _su_rerope_scores,
                fixed={"method": "two_pass"}),),
    corners=({"window": 1}, {"L": 1}, {"window": 28, "L": 24}, {"leaky": True, "factor": 1.0},
             {"leaky": True, "window": 3, "L": 24, "factor": 16.0}),
)


def _decode_inputs(src):
    d, L, out = _rerope_common(src)
    H = src.integer("H", 1, 2)
    out["q_last"] = src.normal("q_last", (H, d))
    out["k_cache_pre_rope"] = src.normal("k_cache_pre_rope", (H, L, d))
    return out


def _su_decode(q_last, k_cache_pre_rope, inv_freq, window, factor=None, *, layout="half"):
    """Su's decode (kexue.fm/archives/9708): keys cached before RoPE and rotated by
    max(j - i, -w) (ReRoPE, bojone/rerope: -(pos_last - pos).clip(max=window)) or
    max(j - i, (j - i + w)/k - w) (Leaky), in complex form."""
    L = k_cache_pre_rope.shape[-2]
    rel = np.arange(L, dtype=np.float64) - (L - 1)  # j - i
    ang = np.maximum(rel, -window) if factor is None else np.maximum(rel, (rel + window) / factor - window)
    zk = _pairs(k_cache_pre_rope, layout) * np.exp(1j * ang[:, None] * inv_freq)
    return np.real(np.sum(_pairs(q_last, layout)[..., None, :] * np.conj(zk), axis=-1))


_RERO_DECODE = Case(
    "rope.rerope_decode_scores", rerope_decode_scores, _decode_inputs,
    tol={"float64": (1e-12, 0.0), "float32": (2e-5, 0.0)},
    why=_RERO_WHY,
    peers=(Peer("Su's decode formula (bojone/rerope, transcribed, complex form)", _su_decode),),
    corners=({"L": 1}, {"window": 1, "L": 24}, {"leaky": True, "window": 2, "L": 24, "factor": 8.0}),
)


def _relative_inputs(src):
    method = src.choice("method", ("rope", "rerope", "leaky_rerope"))
    out = {"L": src.integer("L", 1, 40), "method": method}
    if method != "rope":
        out["window"] = src.real("window", 1.0, 40.0)
    if method == "leaky_rerope":
        out["factor"] = src.real("factor", 1.0, 64.0, log=True)
    return out


def _relative_loops(L, method="rope", window=None, factor=None):
    """The matrices of kexue.fm/archives/9708 entry by entry (RoPE above the diagonal)."""
    out = np.empty((L, L))
    for i in range(L):
        for j in range(L):
            t = i - j
            if method == "rope" or t < window:
                out[i, j] = t
            else:
                out[i, j] = window if method == "rerope" else window + (t - window) / factor
    return out


_RELATIVE = Case(
    "rope.relative_positions", relative_positions, _relative_inputs,
    tol={"float64": (1e-15, 0.0)},
    why="exact for RoPE/ReRoPE; Leaky: w + (t - w)/k, three roundings: rtol 1e-15.",
    peers=(Peer("kexue.fm/archives/9708 matrices, entry by entry", _relative_loops),),
    corners=({"method": "rerope", "window": 1.0}, {"method": "leaky_rerope", "factor": 1.0}, {"L": 1}),
)


def _logn_inputs(src):
    n = src.rng("n").integers(1, 10**6, src.integer("size", 1, 20))
    return {"n": n, "train_len": src.real("train_len", 2.0, 8192.0, log=True)}


def _su_logn(n, train_len):
    """bojone/rerope: clip(log(pos + 1) / log(training_length), min=1), with n = pos + 1."""
    pos = np.asarray(n, dtype=np.float64) - 1
    return np.clip(np.log(pos + 1) / np.log(train_len), 1, None)


_LOGN = Case(
    "rope.logn_scale", logn_scale, _logn_inputs,
    tol={"float64": (1e-15, 0.0)},
    why="a ratio of two logs: 2 ulp, max(1, .) exact: rtol 1e-15.",
    keep_dtype=("n",),
    peers=(Peer("bojone/rerope logn (transcribed)", _su_logn),),
)


# --------------------------------------------------------------------------- analysis

def _decay_inputs(src):
    return {"d": src.even("d", 2, 128), "distances": src.uniform("distances", (src.integer("n", 1, 12),), 0.0, 300.0),
            "base": src.real("base", 100.0, 1e5, log=True)}


def _su_decay_loops(d, distances, base=10000.0):
    """Su's Mathematica f[m] = Sum[Norm[Sum[Exp[I m theta[i]], {i, 0, j}]], {j, 0, d/2 - 1}] / (d/2)."""
    out = []
    for m in np.asarray(distances, dtype=float).ravel():
        S, tot = 0j, 0.0
        for i in range(d // 2):
            S += complex(math.cos(m * base ** (-2 * i / d)), math.sin(m * base ** (-2 * i / d)))
            tot += abs(S)
        out.append(tot / (d // 2))
    return np.array(out).reshape(np.shape(distances))


_DECAY = Case(
    "rope.decay_curve", decay_curve, _decay_inputs,
    tol={"float64": (1e-12, 0.0)},
    why="a cumulative sum of d/2 unit complex numbers and its mean: about d/2 ulp: rtol 1e-12 "
        "(checked against 30-digit mpmath in refimpl/rope/_checks.py).",
    peers=(Peer("Su's Mathematica formula (kexue.fm/archives/8265), scalar loops", _su_decay_loops),),
)


def _abel_inputs(src):
    d = src.even("d", 2, 64)
    return {"q": src.normal("q", (d,)), "k": src.normal("k", (d,)),
            "distance": src.uniform("distance", (src.integer("n", 1, 8),), -1000.0, 1000.0),
            "inv_freq": inv_freq(d, src.real("base", 100.0, 1e5, log=True)),
            "layout": src.choice("layout", ("interleaved", "half"))}


def _abel_loops(q, k, distance, inv_freq):
    """kexue.fm/archives/8265: h_i = q_[2i:2i+1] k*_[2i:2i+1], S_j = sum_{i<j} e^{i m theta_i}, h_{d/2} = 0."""
    h = [complex(q[2 * i], q[2 * i + 1]) * complex(k[2 * i], -k[2 * i + 1]) for i in range(len(inv_freq))]
    ex, bd = [], []
    for m in np.asarray(distance, dtype=float).ravel():
        e = [complex(math.cos(m * t), math.sin(m * t)) for t in inv_freq]
        ex.append(abs(sum(hi * ei for hi, ei in zip(h, e))))
        S, sums = 0j, 0.0
        for ei in e:
            S += ei
            sums += abs(S)
        bd.append(max(abs(b - a) for a, b in zip(h, h[1:] + [0j])) * sums)
    shape = np.shape(distance)
    return np.array(ex).reshape(shape), np.array(bd).reshape(shape)


_ABEL = Case(
    "rope.abel_bound", abel_bound, _abel_inputs,
    tol={"float64": (1e-12, 0.0)},
    why="sums of d/2 products of unit complex numbers with |h| ~ |q||k|: d u growth: rtol 1e-12.",
    peers=(Peer("kexue.fm/archives/8265 Abel summation, scalar loops", _abel_loops,
                fixed={"layout": "interleaved"}),),
)


def _digits_inputs(src):
    n = src.integer("n", 0, 10**9)
    if src.boolean("integer_base"):
        beta = src.integer("beta_int", 2, 36)
    else:
        beta = src.real("beta_real", 1.05, 40.0)
    return {"n": n, "beta": beta, "ndigits": src.integer("ndigits", 1, 12), "floor": src.boolean("floor")}


def _base_repr_digits(n, beta, ndigits):
    """numpy.base_repr's digits, the lowest ``ndigits``, most significant first."""
    s = np.base_repr(int(n), int(beta)).rjust(ndigits, "0")[-ndigits:]
    return np.array([float(int(c, 36)) for c in s])


_DIGITS = Case(
    "rope.beta_digits", beta_digits, _digits_inputs,
    documented={"n": {"float": "n is any real >= 0 (Su's 874.5 example); its digits are defined",
                      "huge": "a large n has ndigits digits like any other (n / beta^m is finite)"}},
    tol={"float64": (1e-12, 1e-12)},
    why="integer n and beta: exact integer arithmetic; otherwise n / beta**m and a mod, one rounding each; a "
        "digit is a floor, exact unless n / beta**m lands within rounding of an integer: atol 1e-12.",
    peers=(Peer("numpy.base_repr", _base_repr_digits, fixed={"integer_base": True, "floor": True}),),
    article=(Article("https://kexue.fm/archives/9675", "1749 in base 16 is [6, 13, 5]",
                     lambda: beta_digits(1749, 16, 3), [6, 13, 5]),
             Article("https://kexue.fm/archives/9675", "PI halves 1749: digits [8, 7, 4.5] (the last one "
                     "without the floor)", lambda: np.append(beta_digits(1749 / 2, 10, 3)[:2],
                                                              beta_digits(1749 / 2, 10, 3, floor=False)[-1]),
                     [8, 7, 4.5], atol=1e-12)),
    corners=({"n": 0}, {"ndigits": 1, "integer_base": True, "beta_int": 2}),
)


CASES = [_ABEL, _APPLY, _DIGITS, _CONFIG_INV_FREQ, _DECAY, _INV_FREQ, _LAYOUT_PERM, _LOGN, _RELATIVE,
         _RERO_DECODE, _RERO_SCORES, _ROTATION_MATRIX, _ROTATIONS, _SCALED, _CORRECTION, _MSCALE]
