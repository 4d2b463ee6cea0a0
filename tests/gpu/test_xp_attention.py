"""The CuPy attention code run with ``xp = numpy``: the same source as the GPU path, checked on the CPU.

``refimpl/attention/_cupy.py`` is written once against an array namespace;
here its NumPy instantiation is compared with the NumPy oracle (the
materialising twin) and its validation with the NumPy path's.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl.attention import _cupy, _kernels, attention, entropy_invariant_attention

EPS = np.finfo(np.float64).eps


def _tol(q, k, scale, d, nk):
    """The documented bound: (d + 8 + n_k) eps (1 + max|s|) per unit of max|v| (as the numba twin test)."""
    smax = np.max(np.abs(scale)) * d * np.max(np.abs(q)) * np.max(np.abs(k))
    return 4 * (d + 8 + nk) * EPS * (1 + smax)


@given(seed=st.integers(0, 2**32 - 1), nq=st.integers(1, 40), extra=st.integers(0, 40),
       causal=st.booleans(), use_mask=st.booleans(), bq=st.integers(1, 17), bk=st.integers(1, 23))
@settings(max_examples=60)
def test_streaming_xp_numpy_matches_twin(seed, nq, extra, causal, use_mask, bq, bk):
    rng = np.random.default_rng(seed)
    nk = nq + extra
    B, d, dv = 2, 5, 3
    q = rng.standard_normal((B, nq, d)) * 3
    k = rng.standard_normal((B, nk, d)) * 3
    v = rng.standard_normal((B, nk, dv))
    scale = rng.uniform(0.1, 1.0, (B, nq))
    mask = None
    if use_mask:
        mask = rng.random((B, nq, nk)) < 0.5
        mask[..., np.arange(nq), np.arange(nq) + nk - nq] = True  # the diagonal key: visible under causal too
    off = nk - nq
    out, lse = _cupy.attention_stream_xp(np, q, k, v, scale, mask, causal, off, bq=bq, bk=bk)
    ref, lse_ref, _ = _kernels.attention_np(q, k, v, scale, mask, causal, off)
    tol = _tol(q, k, scale, d, nk)
    assert np.max(np.abs(out - ref)) <= tol * np.max(np.abs(v))
    assert np.max(np.abs(lse - lse_ref)) <= tol


def test_streaming_skips_invisible_key_blocks_under_causal(monkeypatch):
    """Causal: the first query block only multiplies the key blocks it can see."""
    calls = []
    real = np.matmul

    class Spy:
        def __getattr__(self, name):
            return getattr(np, name)

        @staticmethod
        def matmul(a, b):
            calls.append(b.shape[-1] if a.shape[-1] == 4 else None)
            return real(a, b)

    rng = np.random.default_rng(1)
    q, k, v = (rng.standard_normal((1, 64, 4)) for _ in range(3))
    sc = np.full((1, 64), 0.5)
    out, _ = _cupy.attention_stream_xp(Spy(), q, k, v, sc, None, True, 0, bq=16, bk=16)
    key_blocks = [c for c in calls if c is not None]
    assert len(key_blocks) == 1 + 2 + 3 + 4  # query block b sees key blocks 0..b
    ref, _, _ = _kernels.attention_np(q, k, v, sc, None, True, 0)
    assert np.max(np.abs(out - ref)) <= 1e-14


@pytest.mark.parametrize("kwargs", [
    {}, {"causal": True}, {"scale": 0.3}, {"scale": "per-row"}, {"mask": "random"},
    {"mask": "random", "causal": True}, {"return_weights": True}, {"causal": True, "return_weights": True},
])
def test_attention_xp_numpy_matches_public_numpy_backend(kwargs):
    rng = np.random.default_rng(7)
    q = rng.standard_normal((2, 3, 9, 4))
    k = rng.standard_normal((3, 12, 4))       # broadcast over the leading batch axis
    v = rng.standard_normal((1, 3, 12, 5))
    kw = dict(kwargs)
    if kw.get("scale") == "per-row":
        kw["scale"] = rng.uniform(0.2, 1.0, (2, 3, 9))
    if kw.get("mask") == "random":
        m = rng.random((9, 12)) < 0.5
        m[np.arange(9), np.arange(9) + 3] = True  # the diagonal key (bottom-right causal alignment)
        kw["mask"] = m
    got = _cupy.attention_xp(np, q, k, v, **kw)
    ref = attention(q, k, v, backend="numpy", **kw)
    if kw.get("return_weights"):
        assert np.max(np.abs(got[1] - ref[1])) <= 1e-14
        got, ref = got[0], ref[0]
    assert got.shape == ref.shape == (2, 3, 9, 5)
    assert np.max(np.abs(got - ref)) <= 1e-13


BAD = [
    ("q", dict(q=np.ones(3)), ValueError),
    ("k", dict(k=np.ones((5, 3))), ValueError),
    ("v", dict(v=np.ones((4, 2))), ValueError),
    ("q", dict(q=np.full((5, 2), np.nan)), ValueError),
    ("k", dict(k=np.full((5, 2), np.inf)), ValueError),
    ("q", dict(q=np.ones((5, 2), complex)), TypeError),
    ("causal", dict(causal=1), TypeError),
    ("scale", dict(scale=np.ones(4)), ValueError),
    ("scale", dict(scale=float("nan")), ValueError),
    ("mask", dict(mask=np.ones((5, 5), int)), TypeError),
    ("mask", dict(mask=np.ones((4, 5), bool)), ValueError),
    ("mask", dict(mask=np.zeros((5, 5), bool)), ValueError),
    ("causal", dict(q=np.ones((6, 2)), causal=True), ValueError),
    ("q', 'k', 'v", dict(q=np.ones((2, 5, 2)), k=np.ones((3, 5, 2))), ValueError),
]


@pytest.mark.parametrize("param, change, exc", BAD, ids=[f"{p}-{i}" for i, (p, _, _) in enumerate(BAD)])
def test_xp_validation_matches_numpy_path(param, change, exc):
    args = dict(q=np.ones((5, 2)), k=np.ones((5, 2)), v=np.ones((5, 2)))
    args.update(change)
    with pytest.raises(exc, match=f"'{param}'") as want:
        attention(**args, backend="numpy")
    with pytest.raises(exc) as got:
        _cupy.attention_xp(np, **args)
    assert str(got.value) == str(want.value)


def test_block_sizes_bound_the_score_block():
    bq, bk = _cupy.block_sizes(32, 65536, 65536)
    assert bk == _cupy.BK and 32 * bq * bk <= _cupy.BLOCK_ELEMENTS
    assert _cupy.block_sizes(1, 10, 7) == (10, 7)


def test_entropy_invariant_attention_scale_reaches_xp_path(monkeypatch):
    """The per-query log n scale computed by the public function is what the CuPy path gets."""
    rng = np.random.default_rng(3)
    q, k, v = (rng.standard_normal((40, 4)) for _ in range(3))
    ref = entropy_invariant_attention(q, k, v, causal=True, length="per_query", backend="numpy")
    scale = np.log2(np.arange(1, 41)) / 9 / 2.0
    got = _cupy.attention_xp(np, q, k, v, scale=scale, causal=True)
    assert np.max(np.abs(got - ref)) <= 1e-14
