"""Oracle cases of rope and attention: deliberate mutants are caught, the public peers pass."""
import math

import numpy as np
import pytest

from refimpl.rope import apply, inv_freq, scaled_inv_freq
from refimpl.testing import check_against


# ---------------------------------------------------------------- RoPE mutants

def rope_swapped_layout(x, positions, inv_freq, layout="half", attention_factor=1.0):
    """Deliberately wrong: rotates with the other layout than the one asked for."""
    other = "interleaved" if layout == "half" else "half"
    return apply(x, positions, inv_freq, layout=other, attention_factor=attention_factor)


def rope_numpy(x, positions, inv_freq):
    """A correct NumPy RoPE in the 'half' (rotate_half) layout, in x's dtype."""
    h = inv_freq.shape[0]
    ang = positions[:, None].astype(x.dtype) * inv_freq[None, :]
    cos, sin = np.cos(ang), np.sin(ang)
    a, b, rest = x[..., :h], x[..., h:2 * h], x[..., 2 * h:]
    return np.concatenate([a * cos - b * sin, b * cos + a * sin, rest], axis=-1)


def test_correct_numpy_rope_passes_both_dtypes():
    for dtype in ("float64", "float32"):
        res = check_against("rope.apply", rope_numpy, dtype=dtype, max_examples=60)
        assert res, res.message
        assert res.held_at_default == {"layout": "half", "attention_factor": 1.0}


def test_mutant_rope_layout_swapped_is_caught():
    res = check_against("rope.apply", rope_swapped_layout, max_examples=50)
    assert not res
    assert res.counterexample.drawn["d"] == 4  # d = 2 has one pair, where the layouts coincide
    assert res.max_rel_error > 0.1


def test_mutant_rope_interleaved_kernel_claiming_half_is_caught_in_float32():
    def interleaved(x, positions, inv_freq):
        return apply(x, positions, inv_freq, layout="interleaved").astype(x.dtype)

    res = check_against("rope.apply", interleaved, dtype="float32", max_examples=50)
    assert not res and "out of tolerance" in res.counterexample.reason


def ntk_wrong_exponent(d, *, base=10000.0, factor=None):
    """Deliberately wrong NTK-aware frequencies: base exponent d/(d-1) instead of d/(d-2)."""
    new_base = base * factor ** (d / (d - 1.0))
    return new_base ** (-np.arange(0, d, 2, dtype=np.float64) / d), 1.0


def ntk_correct(d, *, base=10000.0, factor=None):
    new_base = base * factor ** (d / (d - 2.0))
    return new_base ** (-np.arange(0, d, 2, dtype=np.float64) / d), 1.0


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_mutant_ntk_exponent_is_caught(dtype):
    def as_dtype(fn):
        def candidate(d, base=10000.0, factor=None):
            th, af = fn(d, base=base, factor=factor)
            return th.astype(dtype), af
        return candidate

    fixed = {"method": "ntk"}  # the candidates implement one method: pinned, and not passed to them
    good = check_against("rope.scaled_inv_freq", as_dtype(ntk_correct), dtype=dtype, fixed=fixed, max_examples=60)
    assert good, good.message
    bad = check_against("rope.scaled_inv_freq", as_dtype(ntk_wrong_exponent), dtype=dtype, fixed=fixed,
                        max_examples=60)
    assert not bad and bad.max_rel_error > 1e-3
    assert bad.counterexample.inputs["method"] == "ntk" and bad.counterexample.inputs["factor"] > 1.0


@pytest.mark.peer
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_transformers_rope_passes(dtype):
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

    def hf_rope(x, positions, inv_freq):
        # cos/sin built as LlamaRotaryEmbedding.forward does (freqs = positions * inv_freq, doubled),
        # in x's dtype, then transformers' own apply_rotary_pos_emb (rotate_half layout)
        freqs = positions[:, None].to(x.dtype) * inv_freq[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        q, _ = apply_rotary_pos_emb(x[None], x[None], emb.cos()[None], emb.sin()[None])
        return q[0]

    res = check_against("rope.apply", hf_rope, dtype=dtype, convert="torch", fixed={"partial_rotary": False},
                        max_examples=60)
    assert res, res.message


@pytest.mark.peer
def test_transformers_rotary_embedding_is_float32_only():
    """LlamaRotaryEmbedding computes cos/sin in float32 even for float64 inputs: fine at float32,
    about 1e-8 off at float64 (the oracle reports it, with the smallest example)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from transformers import LlamaConfig
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding, apply_rotary_pos_emb

    def hf_module_rope(x, positions, inv_freq):
        d = x.shape[-1]
        emb = LlamaRotaryEmbedding(LlamaConfig(hidden_size=d, num_attention_heads=1, head_dim=d))
        emb.inv_freq = inv_freq.to(torch.float32)
        cos, sin = emb(x, positions[None])
        q, _ = apply_rotary_pos_emb(x[None], x[None], cos.to(x.dtype), sin.to(x.dtype))
        return q[0]

    fixed = {"partial_rotary": False}
    assert check_against("rope.apply", hf_module_rope, dtype="float32", convert="torch", fixed=fixed,
                         max_examples=40)
    res64 = check_against("rope.apply", hf_module_rope, convert="torch", fixed=fixed, max_examples=40)
    # float32 angles pos * inv_freq are off by up to |pos| * 2^-24 rad: small, but far above float64's tolerance
    assert not res64 and 1e-10 < res64.max_rel_error < 1e-3


@pytest.mark.peer
@pytest.mark.parametrize("method,fixed", [
    ("linear", {}), ("dynamic_ntk", {}), ("llama3", {}), ("yarn", {"ramp": "hf"}),
])
def test_transformers_scaled_inv_freq_passes_float32(method, fixed):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from refimpl.rope._peer import hf_case

    def hf(d, base=10000.0, factor=None, **p):
        p.pop("ramp", None)
        L = p.pop("original_max_position", 4096)
        case = {"method": method, "params": p, "L": L, "base": base, "factor": factor, "dim": d, "head_dim": d,
                "partial": 1.0}
        inv, af = hf_case(case)
        return inv.astype(np.float32), af

    res = check_against("rope.scaled_inv_freq", hf, dtype="float32", fixed=dict(fixed, method=method),
                        max_examples=25)
    assert res, res.message


# ---------------------------------------------------------------- attention

def attention_naive(q, k, v, scale=None, causal=False, mask=None):
    """A correct dense attention in NumPy (bottom-right causal alignment), in q's dtype."""
    d = q.shape[-1]
    lam = (1.0 / math.sqrt(d)) if scale is None else scale
    lam = np.asarray(lam, dtype=q.dtype)
    s = (q @ np.swapaxes(k, -1, -2)) * (lam[..., None] if lam.ndim else lam)
    nq, nk = s.shape[-2:]
    allowed = np.ones((nq, nk), bool)
    if causal:
        allowed = np.tril(allowed, nk - nq)
    if mask is not None:
        allowed = allowed & mask
    s = np.where(allowed, s, -np.inf)
    w = np.exp(s - s.max(-1, keepdims=True))
    return (w / w.sum(-1, keepdims=True)) @ v


def test_naive_attention_passes_and_top_left_causal_is_caught():
    for dtype in ("float64", "float32"):
        res = check_against("attention.attention", attention_naive, dtype=dtype, max_examples=60)
        assert res, res.message

    def top_left(q, k, v, scale=None, causal=False, mask=None):
        if causal:
            nq, nk = q.shape[-2], k.shape[-2]
            m = np.tril(np.ones((nq, nk), bool))
            mask = m if mask is None else mask & m
        return attention_naive(q, k, v, scale=scale, mask=mask)

    res = check_against("attention.attention", top_left, max_examples=60)
    assert not res and res.counterexample.inputs["causal"] is True
    assert res.counterexample.drawn["n_q"] < res.counterexample.drawn["n_k"]


def test_mutant_scale_ignored_is_caught():
    res = check_against("attention.attention", lambda q, k, v, scale=None: attention_naive(q, k, v), max_examples=60)
    assert not res and res.counterexample.drawn["scale_kind"] == "scalar"


@pytest.mark.peer
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_torch_sdpa_with_scale_passes(dtype):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    def sdpa(q, k, v, scale=None, causal=False, mask=None):
        if causal:  # refimpl aligns the last query with the last key; torch's is_causal aligns top-left
            nq, nk = q.shape[-2], k.shape[-2]
            cm = torch.ones(nq, nk, dtype=torch.bool).tril(nk - nq)
            mask = cm if mask is None else mask & cm
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scale)

    res = check_against("attention.attention", sdpa, dtype=dtype, convert="torch", fixed={"scale_kind": "scalar"},
                        max_examples=80)
    assert res, res.message
    assert res.held_at_default == {"return_weights": False, "enable_gqa": False}


@pytest.mark.peer
def test_torch_sdpa_is_causal_with_fewer_queries_is_caught():
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    res = check_against("attention.attention", lambda q, k, v, scale=None, causal=False:
                        F.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=scale),
                        convert="torch", fixed={"scale_kind": "scalar", "mask_kind": "none"}, max_examples=60)
    assert not res
    cx = res.counterexample
    assert cx.inputs["causal"] is True and cx.drawn["n_q"] == 1 and cx.drawn["n_k"] == 2
