"""CuPy paths of attention and RoPE against the float64 NumPy oracle (need a CUDA GPU; skipped otherwise)."""
import numpy as np
import pytest

from refimpl.attention import attention, entropy_invariant_attention
from refimpl.rope import _xp as rope_xp
from refimpl.rope import apply, inv_freq
from refimpl.rope.apply import LAYOUTS

from ._util import host, require_cupy

pytestmark = pytest.mark.gpu
EPS = np.finfo(np.float64).eps


@pytest.fixture(scope="module")
def cp():
    return require_cupy()


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("use_mask", [False, True])
@pytest.mark.parametrize("n", [7, 300, 5000])
def test_attention_cupy_matches_numpy(cp, causal, use_mask, n):
    rng = np.random.default_rng(n)
    B, d, dv = 2, 16, 8
    q, k = (rng.standard_normal((B, n, d)) * 2 for _ in range(2))
    v = rng.standard_normal((B, n, dv))
    mask = None
    if use_mask:
        mask = rng.random((B, n, n)) < 0.5
        mask[..., np.arange(n), np.arange(n)] = True
    ref = attention(q, k, v, causal=causal, mask=mask, backend="numpy")
    got = attention(cp.asarray(q), cp.asarray(k), cp.asarray(v), causal=causal,
                    mask=None if mask is None else cp.asarray(mask))
    smax = d * np.max(np.abs(q)) * np.max(np.abs(k)) / np.sqrt(d)
    tol = 4 * (d + 8 + n) * EPS * (1 + smax) * np.max(np.abs(v))
    assert np.max(np.abs(host(got) - ref)) <= tol


def test_attention_cupy_blocks_cross_many_tiles(cp, monkeypatch):
    """Small blocks force the online-softmax rescaling path on the GPU."""
    from refimpl.attention import _xp

    monkeypatch.setattr(_xp, "BK", 64)
    monkeypatch.setattr(_xp, "BQ_MAX", 96)
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((700, 32)) * 3 for _ in range(3))
    ref = attention(q, k, v, causal=True, backend="numpy")
    got = host(attention(cp.asarray(q), cp.asarray(k), cp.asarray(v), causal=True))
    assert np.max(np.abs(got - ref)) <= 1e-11


def test_attention_cupy_weights_scale_and_numpy_input(cp):
    rng = np.random.default_rng(1)
    q = rng.standard_normal((3, 20, 8))
    k, v = rng.standard_normal((2, 3, 25, 8))
    scale = rng.uniform(0.1, 1.0, (3, 20))
    ref_o, ref_w = attention(q, k, v, scale=scale, causal=True, return_weights=True, backend="numpy")
    o, w = attention(q, k, v, scale=scale, causal=True, return_weights=True, backend="cupy")
    assert np.max(np.abs(host(o) - ref_o)) <= 1e-13
    assert np.max(np.abs(host(w) - ref_w)) <= 1e-13


def test_entropy_invariant_attention_cupy(cp):
    rng = np.random.default_rng(2)
    q, k, v = (rng.standard_normal((2, 600, 16)) for _ in range(3))
    for length in ("global", "per_query"):
        ref = entropy_invariant_attention(q, k, v, causal=True, length=length, backend="numpy")
        got = entropy_invariant_attention(cp.asarray(q), cp.asarray(k), cp.asarray(v), causal=True, length=length)
        assert np.max(np.abs(host(got) - ref)) <= 1e-12


def test_attention_cupy_bad_input(cp):
    q = cp.ones((5, 4))
    bad = q.copy()
    bad[2, 1] = cp.nan
    with pytest.raises(ValueError, match="'k'"):
        attention(q, bad, q)
    with pytest.raises(ValueError, match="'causal'"):
        attention(cp.ones((6, 4)), q, q, causal=True)
    with pytest.raises(ValueError, match="'backend'"):
        attention(q, q, q, backend="numba")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("pos_shape", [(33,), (2, 1, 33), (2, 3, 33)])
def test_rope_cupy_matches_numpy(cp, layout, dtype, fused, pos_shape):
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 3, 33, 20)).astype(dtype)
    pos = rng.uniform(-1e4, 1e5, pos_shape)
    th = inv_freq(16)  # partial rotary: 4 pass-through coordinates
    ref = apply(x, pos, th, layout, 1.3, backend="reference")
    got = rope_xp.apply(cp, cp.asarray(x), cp.asarray(pos), cp.asarray(th), layout, 1.3, fused=fused)
    assert got.dtype == dtype
    # cos/sin within 2 ulp of NumPy's, FMA contraction, one rounding into dtype (as the numba path)
    tol = (3 * np.finfo(dtype).eps + 8 * EPS) * 1.3 * np.max(np.abs(x.astype(np.float64)))
    assert np.max(np.abs(host(got).astype(np.float64) - ref)) <= tol


def test_rope_cupy_public_route_out_and_errors(cp):
    x = cp.asarray(np.random.default_rng(3).standard_normal((64, 128)).astype(np.float32))
    out = cp.empty_like(x)
    res = apply(x, cp.arange(64), inv_freq(128), out=out)
    assert res is out
    ref = apply(host(x), np.arange(64), inv_freq(128), backend="reference")
    assert np.max(np.abs(host(out) - ref)) <= 4 * np.finfo(np.float32).eps * float(cp.abs(x).max())
    x[3, 100] = cp.inf
    x[9, 0] = cp.nan
    with pytest.raises(ValueError, match="'x' must be finite; 2 row"):
        apply(x, cp.arange(64), inv_freq(128))
    with pytest.raises(ValueError, match="'out'"):
        apply(x, cp.arange(64), inv_freq(128), out=np.empty((64, 128), np.float32), backend="cupy")
