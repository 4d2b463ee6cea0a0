"""refimpl.testing.speed: the correctness gate, the sized inputs, the report and the command line.

No timing is asserted (the machine's speed is not the library's behaviour);
the tests check what is timed, what is refused and what is printed.
"""
import io
import textwrap

import numpy as np
import pytest

from refimpl.attention import attention
from refimpl.cli import main
from refimpl.testing import compare_speed
from refimpl.testing.speed import PRESETS, SpeedCheckError, sized_inputs


def _good(q, k, v, *, causal=False, scale=None):
    return attention(q, k, v, causal=causal, scale=scale, backend="reference")


def _wrong(q, k, v, *, causal=False, scale=None):
    return _good(q, k, v, causal=causal, scale=scale) * (1 + 1e-9)  # 1e-9 relative: above rtol 1e-12


def test_sized_inputs_pin_the_generator():
    case, pins, args, kwargs = sized_inputs("attention.attention", 96)
    q = dict(args)["q"]
    assert q.shape == (96, 64) and dict(args)["v"].shape == (96, 64)
    assert kwargs.get("causal") is True and pins["n_q"] == 96
    _, pins, args, _ = sized_inputs("attention.attention", {"layout": "nd", "n_q": 8, "n_k": 20, "d": 4, "d_v": 3})
    assert dict(args)["q"].shape == (8, 4) and dict(args)["k"].shape == (20, 4) and dict(args)["v"].shape == (20, 3)


def test_sized_inputs_errors_name_the_parameter():
    with pytest.raises(ValueError, match="parameter 'size'.*no sizing preset"):
        sized_inputs("attention.softmax", 10)
    with pytest.raises(TypeError, match="parameter 'size'"):
        sized_inputs("attention.attention", "big")
    with pytest.raises(TypeError, match="parameter 'size'"):
        sized_inputs("attention.attention", True)
    with pytest.raises(ValueError, match="parameter 'size' must be >= 1"):
        sized_inputs("attention.attention", 0)
    with pytest.raises(ValueError, match="parameter 'name'"):
        sized_inputs("attention.nope", 10)
    assert set(PRESETS) >= {"attention.attention", "muon.newton_schulz"}


def test_gate_refuses_a_wrong_kernel_before_timing():
    calls = []

    def wrong(q, k, v, *, causal=False, scale=None):
        calls.append(q.shape)
        return _wrong(q, k, v, causal=causal, scale=scale)

    with pytest.raises(SpeedCheckError, match="not timed.*correctness gate"):
        compare_speed("attention.attention", wrong, size=64, min_time=0.0, file=False)
    assert (64, 64) not in calls  # refused on the small examples: the sized input never ran


def test_gate_checks_the_sized_input_too():
    def wrong_when_long(q, k, v, *, causal=False, scale=None):
        out = _good(q, k, v, causal=causal, scale=scale)
        return out + 1e-6 if q.shape[-2] > 50 else out  # right on the small examples only

    with pytest.raises(SpeedCheckError, match="sized input"):
        compare_speed("attention.attention", wrong_when_long, size=64, min_time=0.0, file=False)


def test_report_has_the_ratio_lines():
    buf = io.StringIO()
    r = compare_speed("attention.attention", _good, size=64, min_time=0.0, file=buf)
    text = buf.getvalue()
    assert "candidate / refimpl fastest" in text and "candidate / floor" in text
    assert "x refimpl" in text and "x floor" in text and "correct: 6 examples" in text
    labels = [t.label for t in r.refimpl]
    assert "refimpl.attention.attention (backend='auto')" in labels
    assert r.x_refimpl > 0 and r.x_floor > 0 and r.floor_s > 0
    assert r.candidate.min_s <= r.candidate.median_s <= r.candidate.max_s and r.candidate.reps >= 3


def test_torch_cpu_candidate():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional

    def sdpa(q, k, v, *, causal=False, scale=None):
        nq, nk = q.shape[-2], k.shape[-2]
        mask = torch.ones(nq, nk, dtype=torch.bool).tril(nk - nq) if causal else None
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scale)

    r = compare_speed("attention.attention", sdpa, size=64, convert="torch", min_time=0.0, file=False)
    assert r.correctness.passed and r.x_refimpl > 0
    with pytest.raises(ValueError, match="parameter 'device'"):
        compare_speed("attention.attention", _good, size=64, device="cuda", min_time=0.0, file=False)


def test_command_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "mykernels.py").write_text(textwrap.dedent('''
        from refimpl.attention import attention

        def good(q, k, v, *, causal=False, scale=None):
            return attention(q, k, v, causal=causal, scale=scale, backend="reference")

        def wrong(q, k, v, *, causal=False, scale=None):
            return good(q, k, v, causal=causal, scale=scale) + 1e-6
    '''))
    monkeypatch.chdir(tmp_path)
    assert main(["compare-speed", "mykernels:good", "attention.attention", "--size", "48", "--min-time", "0"]) == 0
    out = capsys.readouterr().out
    assert "candidate / refimpl fastest" in out and "n_q=48" in out
    assert main(["compare-speed", "mykernels:good", "attention.attention", "--size",
                 "layout=nd,n_q=5,n_k=9,d=4,d_v=4,causal=true", "--min-time", "0"]) == 0
    assert "n_k=9" in capsys.readouterr().out
    assert main(["compare-speed", "mykernels:wrong", "attention.attention", "--size", "48"]) == 1
    assert "not timed" in capsys.readouterr().err
    assert main(["compare-speed", "mykernels", "attention.attention"]) == 2
    assert "MODULE:FUNC" in capsys.readouterr().err
    assert main(["compare-speed", "mykernels:good", "attention.attention", "--size", "big"]) == 2
    assert "--size" in capsys.readouterr().err
