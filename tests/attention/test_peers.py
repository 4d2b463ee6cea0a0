"""refimpl.attention against torch.nn.functional.scaled_dot_product_attention (float64)."""
import math

import numpy as np
import pytest

from refimpl.attention import attention, entropy_invariant_attention

pytestmark = pytest.mark.peer


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("scale", [None, 0.05, 1.3])
@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_matches_torch_sdpa(causal, scale, backend):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(7)
    q, k = (rng.standard_normal((2, 4, 130, 16)) for _ in range(2))
    v = rng.standard_normal((2, 4, 130, 8))
    ref = F.scaled_dot_product_attention(*(torch.from_numpy(a) for a in (q, k, v)), is_causal=causal,
                                         scale=scale).numpy()
    out = attention(q, k, v, scale=scale, causal=causal, backend=backend)
    np.testing.assert_allclose(out, ref, rtol=0, atol=2e-14 * np.max(np.abs(v)))


def test_torch_bottom_right_mask_and_logn():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(8)
    q = rng.standard_normal((20, 8))
    k = rng.standard_normal((50, 8))
    v = rng.standard_normal((50, 3))
    br = np.arange(50)[None, :] <= np.arange(20)[:, None] + 30  # bottom-right causal, as refimpl's causal=True
    t = [torch.from_numpy(a) for a in (q, k, v)]
    ref = F.scaled_dot_product_attention(*t, attn_mask=torch.from_numpy(br)).numpy()
    np.testing.assert_allclose(attention(q, k, v, causal=True), ref, rtol=0, atol=2e-14)
    fac = math.log(50) / math.log(512)
    ref = F.scaled_dot_product_attention(*t, scale=fac / math.sqrt(8)).numpy()
    np.testing.assert_allclose(entropy_invariant_attention(q, k, v), ref, rtol=0, atol=2e-14)
