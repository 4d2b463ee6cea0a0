"""The CuPy attention code run with ``xp = numpy``: the same source as the GPU path, checked on the CPU.

``refimpl/attention/_xp.py`` is written once against an array namespace;
here its NumPy instantiation is compared with the definition
(``refimpl/attention/reference.py``) and its validation with the reference path's.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl.attention import _xp, attention, entropy_invariant_attention, reference

EPS = np.finfo(np.float64).eps


def _tol(q, k, scale, d, nk):
    """The documented bound: (d + 8 + n_k) eps (1 + max|s|) per unit of max|v|."""
    smax = np.max(np.abs(scale)) * d * np.max(np.abs(q)) * np.max(np.abs(k))
    return 4 * (d + 8 + nk) * EPS * (1 + smax)


@given(seed=st.integers(0, 2**32 - 1), nq=st.integers(1, 40), extra=st.integers(0, 40),
       causal=st.booleans(), use_mask=st.booleans(), bq=st.integers(1, 17), bk=st.integers(1, 23))
@settings(max_examples=60)
def test_streaming_xp_numpy_matches_reference(seed, nq, extra, causal, use_mask, bq, bk):
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
    out, lse = _xp.attention_stream_xp(np, q, k, v, scale, mask, causal, off, bq=bq, bk=bk)
    ref, w = reference.attention(q, k, v, scale, mask, causal, return_weights=True)
    tol = _tol(q, k, scale, d, nk)
    assert np.max(np.abs(out - ref)) <= tol * np.max(np.abs(v))
    # the log-sum-exp reproduces the reference weights: exp(s - lse) = a
    w_xp = np.exp(_xp.masked_scores(np, q, k, scale, mask, causal) - lse[..., None])
    assert np.max(np.abs(w_xp - w)) <= tol


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
    out, _ = _xp.attention_stream_xp(Spy(), q, k, v, sc, None, True, 0, bq=16, bk=16)
    key_blocks = [c for c in calls if c is not None]
    assert len(key_blocks) == 1 + 2 + 3 + 4  # query block b sees key blocks 0..b
    ref, _ = reference.attention(q, k, v, sc, None, True)
    assert np.max(np.abs(out - ref)) <= 1e-14


@pytest.mark.parametrize("kwargs", [
    {}, {"causal": True}, {"scale": 0.3}, {"scale": "per-row"}, {"mask": "random"},
    {"mask": "random", "causal": True}, {"return_weights": True}, {"causal": True, "return_weights": True},
])
def test_attention_xp_numpy_matches_public_reference_backend(kwargs):
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
    got = _xp.attention_xp(np, q, k, v, **kw)
    ref = attention(q, k, v, backend="reference", **kw)
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
def test_xp_validation_matches_reference_path(param, change, exc):
    args = dict(q=np.ones((5, 2)), k=np.ones((5, 2)), v=np.ones((5, 2)))
    args.update(change)
    with pytest.raises(exc, match=f"'{param}'") as want:
        attention(**args, backend="reference")
    with pytest.raises(exc) as got:
        _xp.attention_xp(np, **args)
    assert str(got.value) == str(want.value)


def test_block_sizes_bound_the_score_block():
    bq, bk = _xp.block_sizes(32, 65536, 65536)
    assert bk == _xp.BK and 32 * bq * bk <= _xp.BLOCK_ELEMENTS
    assert _xp.block_sizes(1, 10, 7) == (10, 7)


def test_entropy_invariant_attention_scale_reaches_xp_path(monkeypatch):
    """The per-query log n scale computed by the public function is what the CuPy path gets."""
    rng = np.random.default_rng(3)
    q, k, v = (rng.standard_normal((40, 4)) for _ in range(3))
    ref = entropy_invariant_attention(q, k, v, causal=True, length="per_query", backend="reference")
    scale = np.log2(np.arange(1, 41)) / 9 / 2.0
    got = _xp.attention_xp(np, q, k, v, scale=scale, causal=True)
    assert np.max(np.abs(got - ref)) <= 1e-14
