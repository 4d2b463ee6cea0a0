"""The CuPy RoPE code (refimpl/rope/_xp.py) run with ``xp = numpy``: the xp rotation vs the reference."""
import numpy as np
import pytest

from refimpl.rope import _xp, apply, inv_freq
from refimpl.rope.apply import LAYOUTS

EPS = np.finfo(np.float64).eps


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("pos_shape", [(7,), (2, 7), (2, 1, 7), (2, 3, 7)])
def test_apply_xp_numpy_equals_reference(layout, dtype, pos_shape):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 7, 12)).astype(dtype)
    pos = rng.integers(0, 5000, pos_shape)
    th = inv_freq(10)  # partial rotary: coordinates 10, 11 pass through
    got = _xp.apply(np, x, pos, th, layout, 0.8, fused=False)
    ref = apply(x, pos, th, layout, 0.8, backend="reference")
    assert got.dtype == ref.dtype == dtype
    # the same float64 operations on a cos/sin table vs on broadcast arrays: equal up to the output rounding
    tol = 4 * np.finfo(dtype).eps * np.max(np.abs(x.astype(np.float64)))
    assert np.max(np.abs(got.astype(np.float64) - ref)) <= tol


def test_apply_xp_out_argument():
    x = np.random.default_rng(0).standard_normal((6, 8))
    out = np.empty_like(x)
    res = _xp.apply(np, x, np.arange(6), inv_freq(8), out=out, fused=False)
    assert res is out
    assert np.max(np.abs(out - apply(x, np.arange(6), inv_freq(8), backend="reference"))) <= 4 * EPS * np.max(np.abs(x))
    with pytest.raises(ValueError, match="'out'"):
        _xp.apply(np, x, np.arange(6), inv_freq(8), out=np.empty((6, 7)), fused=False)
    with pytest.raises(ValueError, match="'out'"):
        _xp.apply(np, x, np.arange(6), inv_freq(8), out=x, fused=False)


BAD = [
    ("layout", dict(layout="rotate"), ValueError),
    ("x", dict(x=np.ones(8)), ValueError),
    ("x", dict(x=np.ones((5, 8), complex)), TypeError),
    ("inv_freq", dict(inv_freq=inv_freq(10)), ValueError),
    ("inv_freq", dict(inv_freq=np.array([np.nan, 1.0])), ValueError),
    ("positions", dict(positions=np.arange(4)), ValueError),
    ("positions", dict(positions=np.array([2.0**60] * 5).astype(np.int64)), ValueError),
    ("positions", dict(positions=np.ones(5, bool)), TypeError),
    ("positions", dict(positions=np.array([0, 1, np.inf, 3, 4])), ValueError),
    ("attention_factor", dict(attention_factor=np.inf), ValueError),
    ("x", dict(x=np.where(np.eye(5, 8) > 0, np.nan, 1.0)), ValueError),
]


@pytest.mark.parametrize("param, change, exc", BAD, ids=[f"{p}-{i}" for i, (p, _, _) in enumerate(BAD)])
def test_xp_validation_matches_the_cpu_paths(param, change, exc):
    """One validate() for every namespace: the same messages as the numba path."""
    args = dict(x=np.ones((5, 8)), positions=np.arange(5), inv_freq=inv_freq(8))
    args.update(change)
    with pytest.raises(exc, match=f"'{param}'") as want:
        apply(**args, backend="numba")
    with pytest.raises(exc) as got:
        _xp.apply(np, **args, fused=False)
    assert str(got.value) == str(want.value)
