"""refimpl.rope.RopeConfig / config_inv_freq on the configs of real model families, against transformers.

The configs are written as the models' published config.json files state
them (``refimpl.rope.cases.MODEL_CONFIGS``, one comment per model there).
transformers computes in float32; its error bound for these configs is
derived in the ``rope.config_inv_freq`` case (rtol 1e-5).
"""
import math

import numpy as np
import pytest

from refimpl.rope import RopeConfig, _peer, config_inv_freq, inv_freq, scaled_inv_freq
from refimpl.rope.cases import MODEL_CONFIGS, PHI35_MINI


def rope_config(rope_scaling, **kw):
    return RopeConfig.from_dict(rope_scaling, **kw).kwargs()


def _kwargs(name):
    return {k: (dict(v) if isinstance(v, dict) else v) for k, v in MODEL_CONFIGS[name].items()}


@pytest.mark.peer
@pytest.mark.parametrize("seq_len", [None, 4096, 131072])
@pytest.mark.parametrize("name", list(MODEL_CONFIGS))
def test_published_configs_match_transformers(name, seq_len):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    kw = _kwargs(name)
    if seq_len is not None:
        kw["seq_len"] = seq_len
    ours, af = config_inv_freq(**kw)
    theirs, af_t = _peer.hf_config_inv_freq(**kw)
    assert ours.shape == theirs.shape
    assert np.max(np.abs(ours - theirs) / theirs) <= 1e-5
    assert af == pytest.approx(af_t, rel=1e-15, abs=0)


def test_llama31_reads_as_llama3():
    kw = rope_config(**_kwargs("llama-3.1"))
    assert kw == {"d": 128, "method": "llama3", "base": 500000.0, "factor": 8.0, "original_max_position": 8192.0,
                  "low_freq_factor": 1.0, "high_freq_factor": 4.0}


def test_llama4_scout_is_a_step_at_one_rotation():
    """factor 16, low = high = 1: pairs with fewer than one turn over 8192 positions are divided by 16."""
    th, af = config_inv_freq(**_kwargs("llama-4-scout"))
    base = inv_freq(128, 500000.0)
    r = 8192 * base / (2 * math.pi)
    assert af == 1.0
    np.testing.assert_array_equal(th[r > 1], base[r > 1])
    np.testing.assert_allclose(th[r < 1], base[r < 1] / 16, rtol=1e-15, atol=0)
    assert (r > 1).sum() == 35 and (r < 1).sum() == 29  # the step sits between pairs 34 and 35


def test_deepseek_mscale_ratio_and_qwen2_default_mscale():
    _, af_v2 = config_inv_freq(**_kwargs("deepseek-v2"))
    _, af_v3 = config_inv_freq(**_kwargs("deepseek-v3"))
    assert af_v2 == af_v3 == 1.0  # get_mscale(40, m) / get_mscale(40, m) with equal m
    _, af_q = config_inv_freq(**_kwargs("qwen2-yarn"))
    assert af_q == pytest.approx(0.1 * math.log(4.0) + 1.0, rel=1e-15)
    kw = rope_config(**_kwargs("deepseek-v2"))
    assert kw["ramp"] == "hf" and kw["mscale"] == kw["mscale_all_dim"] == 0.707 and kw["factor"] == 40.0


def test_phi35_long_and_short_factors_and_attention():
    short = rope_config(**_kwargs("phi-3.5-mini"), seq_len=4096)
    long = rope_config(**_kwargs("phi-3.5-mini"), seq_len=4097)
    assert short["ext_factors"] == PHI35_MINI["rope_scaling"]["short_factor"]
    assert long["ext_factors"] == PHI35_MINI["rope_scaling"]["long_factor"]
    assert short["factor"] == 32.0 and short["d"] == 96
    _, af = scaled_inv_freq(**long)
    assert af == pytest.approx(math.sqrt(1 + math.log(32) / math.log(4096)), rel=1e-15)


def test_default_linear_dynamic_and_partial_rotary():
    th, af = config_inv_freq(None, head_dim=64, rope_theta=1e4)
    np.testing.assert_array_equal(th, inv_freq(64))
    assert af == 1.0
    th, _ = config_inv_freq({"rope_type": "linear", "factor": 4.0}, head_dim=64)
    np.testing.assert_allclose(th, inv_freq(64) / 4, rtol=1e-15, atol=0)
    kw = rope_config({"type": "dynamic", "factor": 2.0}, head_dim=64, max_position_embeddings=2048, seq_len=4096)
    assert kw["seq_len"] == 4096 and kw["original_max_position"] == 2048
    kw = rope_config({"rope_type": "default", "rope_theta": 1e6, "partial_rotary_factor": 0.5}, head_dim=128)
    assert kw["d"] == 64 and kw["base"] == 1e6
    kw = rope_config({"type": "su", "short_factor": [1.0] * 8, "long_factor": [2.0] * 8}, head_dim=16,
                     max_position_embeddings=8192, original_max_position_embeddings=4096)
    assert kw["method"] == "longrope" and kw["factor"] == 2.0


def test_yarn_factor_defaults_to_the_length_ratio_and_mscale_needs_both():
    kw = rope_config({"rope_type": "yarn", "original_max_position_embeddings": 4096}, head_dim=64,
                     max_position_embeddings=16384)
    assert kw["factor"] == 4.0
    kw = rope_config({"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 4096, "mscale": 0.7},
                     head_dim=64)
    assert "mscale" not in kw  # transformers reads mscale only together with mscale_all_dim
    assert scaled_inv_freq(**kw)[1] == pytest.approx(0.1 * math.log(4) + 1, rel=1e-15)


BAD = [
    (TypeError, "'rope_scaling'", lambda: rope_config([("type", "yarn")], head_dim=64)),
    (ValueError, "unknown rope_type", lambda: rope_config({"rope_type": "ntk_by_parts"}, head_dim=64)),
    (ValueError, "'beta_fast' is not read", lambda: rope_config({"rope_type": "llama3", "beta_fast": 32}, head_dim=64)),
    (ValueError, "must agree", lambda: rope_config({"rope_type": "yarn", "type": "linear"}, head_dim=64)),
    (ValueError, "'max_position_embeddings'", lambda: rope_config({"type": "dynamic", "factor": 2.0}, head_dim=64)),
    (ValueError, "original_max_position_embeddings", lambda: rope_config({"type": "yarn", "factor": 2.0},
                                                                          head_dim=64)),
    (ValueError, "'low_freq_factor'", lambda: rope_config({"rope_type": "llama3", "factor": 8.0,
                                                           "original_max_position_embeddings": 8192}, head_dim=64)),
    (ValueError, "'rope_theta'", lambda: rope_config({"rope_type": "default", "rope_theta": 1e4}, head_dim=64,
                                                     rope_theta=5e5)),
    (ValueError, "'head_dim'", lambda: rope_config(None, head_dim=True)),
    (ValueError, "'factor'", lambda: config_inv_freq({"rope_type": "linear", "factor": 0.5}, head_dim=64)),
    (ValueError, "'ext_factors'", lambda: config_inv_freq({"type": "longrope", "short_factor": [1.0] * 3,
                                                           "long_factor": [1.0] * 3, "factor": 2.0,
                                                           "original_max_position_embeddings": 64}, head_dim=64)),
]


@pytest.mark.parametrize("exc, match, call", BAD)
def test_bad_config(exc, match, call):
    with pytest.raises(exc, match=match):
        call()


def test_json_text_reads_like_the_dict():
    import json

    for name in MODEL_CONFIGS:
        kw = _kwargs(name)
        text = dict(kw, rope_scaling=json.dumps(kw["rope_scaling"]))
        assert rope_config(**text) == rope_config(**kw)
    with pytest.raises(ValueError, match="'rope_scaling' is not valid JSON"):
        config_inv_freq('{"type": yarn}', head_dim=64)


def test_ropeconfig_fields_and_inv_freq():
    cfg = RopeConfig.from_dict(**_kwargs("deepseek-v3"))
    assert (cfg.d, cfg.method, cfg.base, cfg.factor) == (64, "yarn", 10000.0, 40.0)
    th, af = cfg.inv_freq()
    th2, af2 = scaled_inv_freq(**cfg.kwargs())
    assert np.array_equal(th, th2) and af == af2
