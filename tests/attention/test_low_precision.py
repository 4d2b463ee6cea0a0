"""The bfloat16/float16 tolerances of the attention case: torch's kernels pass, wrong kernels fail.

A tolerance that a wrong kernel passes checks nothing: each test here runs
``check_against("attention.attention", ...)`` and asserts the outcome both
ways.
"""
import math

import pytest

from refimpl.testing import check_against, get_oracle

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.peer

EXAMPLES = 100


def sdpa_math(q, k, v, *, scale=None, causal=False, mask=None, enable_gqa=False):
    """The case table's torch SDPA peer, run on torch's math backend."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    from refimpl.attention.cases import _torch_sdpa

    with sdpa_kernel(SDPBackend.MATH):
        return _torch_sdpa(q, k, v, scale=scale, causal=causal, mask=mask, enable_gqa=enable_gqa)


def bf16_accumulating(q, k, v, *, scale=None, causal=False, mask=None, enable_gqa=False):
    """Wrong on purpose: scores rounded to bf16 before the max-subtraction, row sum and P V summed in bf16."""
    bf = torch.bfloat16
    if enable_gqa:
        r = q.shape[-3] // k.shape[-3]
        k, v = k.repeat_interleave(r, -3), v.repeat_interleave(r, -3)
    nq, nk = q.shape[-2], k.shape[-2]
    sc = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    if not isinstance(sc, float):
        q, sc = (q * sc.to(q.dtype)[..., None]).to(bf), 1.0
    s = (q.float() @ k.float().transpose(-1, -2) * sc).to(bf)
    vis = torch.ones(nq, nk, dtype=torch.bool)
    if causal:
        vis = vis.tril(nk - nq)
    if mask is not None:
        vis = vis & mask
    s = s.masked_fill(~vis, float("-inf"))
    p = torch.exp(s - s.amax(-1, keepdim=True)).to(bf)
    vb = v.to(bf)
    row = torch.zeros(p.shape[:-1], dtype=bf)
    acc = torch.zeros(p.shape[:-1] + (v.shape[-1],), dtype=bf)
    for j in range(nk):
        row = row + p[..., j]
        acc = acc + p[..., j, None] * vb[..., j:j + 1, :]
    return acc / row[..., None]


def scale_dropped(q, k, v, *, scale=None, causal=False, mask=None, enable_gqa=False):
    """Wrong on purpose: forgets the 1/sqrt(d) (or the given) scale."""
    ones = None if scale is None or isinstance(scale, float) else torch.ones_like(scale)
    return sdpa_math(q, k, v, scale=1.0 if ones is None else ones, causal=causal, mask=mask, enable_gqa=enable_gqa)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_torch_sdpa_math_backend_passes_the_low_precision_tolerance(dtype):
    res = check_against("attention.attention", sdpa_math, dtype=dtype, convert="torch", max_examples=EXAMPLES)
    assert res, res.message
    assert res.worst_ratio < 0.6  # measured 0.3-0.4: the tolerance is not tight against a correct kernel


@pytest.mark.parametrize("kernel", [bf16_accumulating, scale_dropped])
def test_wrong_bfloat16_kernels_fail(kernel):
    res = check_against("attention.attention", kernel, dtype="bfloat16", convert="torch", max_examples=EXAMPLES)
    assert not res.passed
    assert "out of tolerance" in res.counterexample.reason


def test_low_precision_tolerances_follow_unit_roundoff():
    """rtol = 3u and atol = u/2 of each format (the derivation in the case's why)."""
    case = get_oracle("attention.attention")
    for dtype, u in (("bfloat16", 2.0**-8), ("float16", 2.0**-11)):
        rtol, atol = case.tolerance(dtype)
        assert rtol == pytest.approx(3 * u, rel=0.03) and atol == pytest.approx(u / 2, rel=0.03)
    assert "bfloat16" in case.why and "n_k" in case.why
