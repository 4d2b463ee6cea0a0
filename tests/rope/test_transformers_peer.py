"""refimpl.rope against HF transformers (v5): every rope init function it has, and apply_rotary_pos_emb.

Tolerances: transformers builds inv_freq in float32; refimpl.rope._peer.float32_rtol
derives the bound from its operations (exponent rounding ln(base) 2**-24, the blend
roundings amplified by the factor for yarn/llama3). refimpl's float64 values are
checked separately against the same formulas transcribed in float64, at 1e-12.
"""
import math

import numpy as np
import pytest

from refimpl.rope import _peer, apply, scaled_inv_freq

GRID = _peer.grid()
METHODS = sorted({c["method"] for c in GRID})


def _cases(method):
    return [c for c in GRID if c["method"] == method]


@pytest.mark.parametrize("method", METHODS)
def test_float64_values_match_the_transformers_formulas_in_float64(method):
    """No peer needed: the formulas are transcribed element by element with math in float64."""
    for case in _cases(method):
        ours, af = _peer.refimpl_case(case)
        ref, af_ref = _peer.formula_case(case)
        assert np.max(np.abs(ours - ref) / ref) <= 1e-12, case
        assert af == pytest.approx(af_ref, rel=1e-15, abs=0), case


@pytest.mark.peer
@pytest.mark.parametrize("method", METHODS)
def test_inv_freq_and_attention_factor_match_transformers(method):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    for case in _cases(method):
        ours, af = _peer.refimpl_case(case)
        theirs, af_t = _peer.hf_case(case)
        assert ours.shape == theirs.shape == (case["dim"] // 2,), case
        err = np.max(np.abs(ours - theirs) / theirs)
        assert err <= _peer.float32_rtol(case), (case, err / _peer.EPS32)
        # the attention factor is a Python float in transformers: same formula, same float64 rounding
        assert af == pytest.approx(af_t, rel=2**-52, abs=0), case


def test_grid_covers_the_issue():
    assert {c["head_dim"] for c in GRID} == {64, 96, 128}
    assert {c["partial"] for c in GRID} == {1.0, 0.5}
    assert {c["factor"] for c in GRID} == {2.0, 4.0, 8.0, 16.0, 32.0}
    assert len({c["L"] for c in GRID}) >= 3
    assert set(METHODS) == {"linear", "dynamic_ntk", "yarn", "llama3", "longrope"}
    yarn = _cases("yarn")
    assert any("mscale" in c["params"] for c in yarn) and any(not c["params"] for c in yarn)


def test_tolerance_is_far_below_a_real_difference():
    """A wrong ramp (paper's vs transformers') is 1e5x the float32 tolerance: the peer test has teeth."""
    case = dict(method="yarn", base=10000.0, factor=8.0, params={})
    a = scaled_inv_freq(128, "yarn", factor=8.0, original_max_position=4096, ramp="rotations")[0]
    b = scaled_inv_freq(128, "yarn", factor=8.0, original_max_position=4096, ramp="hf")[0]
    assert np.max(np.abs(a - b) / b) > 1e4 * _peer.float32_rtol(case)


@pytest.mark.peer
def test_transformers_llama_rotary_embedding_module_end_to_end():
    """LlamaRotaryEmbedding (float32 cos/sin from its own inv_freq) vs refimpl in float64: float32 accuracy."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from transformers import LlamaConfig
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding, apply_rotary_pos_emb

    cfg = LlamaConfig(head_dim=64, hidden_size=256, num_attention_heads=4, num_key_value_heads=4,
                      max_position_embeddings=8192,
                      rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0,
                                       "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                       "original_max_position_embeddings": 1024})
    emb = LlamaRotaryEmbedding(cfg)
    S = 64
    x = torch.from_numpy(np.random.default_rng(13).standard_normal((1, 2, S, 64)).astype(np.float32))
    pos = torch.arange(S)[None]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: torch's cos/sin of the whole table on one code path
    try:
        cos, sin = emb(x, pos)
        ref, _ = apply_rotary_pos_emb(x, x, cos, sin)
    finally:
        torch.set_num_threads(threads)
    # the peer's own float32 arithmetic first: its cos/sin within a few ulp of the float64 cos/sin of
    # its float32 angles (pos * inv_freq, rounded as transformers rounds them), else the peer is at fault
    ang = (pos[..., None].float() * emb.inv_freq.float()).double().numpy()
    ang = np.concatenate([ang, ang], axis=-1)
    for name, got, exact in (("cos", cos, np.cos(ang)), ("sin", sin, np.sin(ang))):
        bad = np.abs(got.double().numpy() - exact * emb.attention_scaling) > 4 * 2**-24
        assert not bad.any(), (f"transformers' float32 {name} table is off by more than 4 eps32 at "
                               f"(batch, position, column) {np.argwhere(bad)[:5].tolist()}: a torch/peer glitch, "
                               f"not refimpl (threads={threads})")
    th, af = scaled_inv_freq(64, "llama3", base=500000.0, factor=8.0, original_max_position=1024)
    ours = apply(x.numpy().astype(np.float64), np.arange(S), th, "half", af)
    # float32 angles: position * inv_freq rounded (|angle| eps32) plus cos/sin/product roundings
    tol = (S * 2**-24 * 4 + 8 * 2**-24) * math.sqrt(2) * np.max(np.abs(x.numpy()))
    err = np.abs(ours - ref.numpy())
    assert np.max(err) <= tol, (np.max(err), tol, np.argwhere(err > tol)[:5].tolist())
