"""The bfloat16/float16 tolerances of the rope.apply case have teeth and room.

The case states rtol 8u + (float32 angle term) with u = 2**-8 (bfloat16) or
2**-11 (float16), derived in refimpl/rope/cases.py. torch's own low-precision
rotation (transformers' forward: float32 cos/sin cast to the dtype, one
multiply-add) must pass it; a kernel that rounds the angles ``pos * inv_freq``
to bfloat16 before cos/sin must fail it.
"""
import pytest

from refimpl.rope.cases import _torch_low_precision
from refimpl.testing import check_against

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")


def _rotate_bf16_angles(x, positions, inv_freq, attention_factor=1.0):
    """Wrong on purpose: the angles are rounded to bfloat16 before cos/sin (|angle| 2**-9 radians off)."""
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

    xt = x if x.dim() == 4 else x[None]
    pos = positions if positions.dim() == 2 else positions[None].expand(xt.shape[0], -1)
    freqs = (pos.to(torch.bfloat16)[..., None] * inv_freq.to(torch.bfloat16)).to(torch.bfloat16)
    emb = torch.cat((freqs, freqs), dim=-1).float()
    cos = (emb.cos() * attention_factor).to(torch.bfloat16)
    sin = (emb.sin() * attention_factor).to(torch.bfloat16)
    rot = 2 * inv_freq.shape[0]
    q, _ = apply_rotary_pos_emb(xt[..., :rot], xt[..., :rot], cos, sin)
    out = torch.cat((q, xt[..., rot:]), dim=-1)
    return out if x.dim() == 4 else out[0]


def test_bf16_angles_fail_the_bf16_tolerance():
    res = check_against("rope.apply", _rotate_bf16_angles, dtype="bfloat16", convert="torch",
                        fixed={"layout": "half"}, max_examples=50)
    assert not res.passed
    assert res.worst_ratio > 5  # O(1) errors, not a marginal miss


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_torch_low_precision_rotation_passes_with_room(dtype):
    res = check_against("rope.apply", _torch_low_precision, dtype=dtype, convert="torch",
                        fixed={"layout": "half"}, max_examples=100)
    assert res.passed, res.message
    assert 0.05 < res.worst_ratio < 0.9, res.message  # the tolerance is used, and not by a hair
