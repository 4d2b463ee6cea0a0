"""The CuPy RoPE code run with ``xp = numpy`` (the non-fused variant is the NumPy twin's own code)."""
import numpy as np
import pytest

from refimpl.rope import _cupy, _kernels, apply, inv_freq
from refimpl.rope.apply import LAYOUTS


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("pos_shape", [(7,), (2, 1, 7), (2, 3, 7)])
def test_apply_xp_numpy_equals_numpy_backend(layout, dtype, pos_shape):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 7, 12)).astype(dtype)
    pos = rng.integers(0, 5000, pos_shape)
    th = inv_freq(10)  # partial rotary: coordinates 10, 11 pass through
    got = _cupy.apply_xp(np, x, pos, th, layout, 0.8, fused=False)
    ref = apply(x, pos, th, layout, 0.8, backend="numpy")
    assert got.dtype == ref.dtype == dtype
    assert np.array_equal(got, ref)  # the same function on the same arrays


def test_apply_xp_out_argument():
    x = np.random.default_rng(0).standard_normal((6, 8))
    out = np.empty_like(x)
    res = _cupy.apply_xp(np, x, np.arange(6), inv_freq(8), out=out, fused=False)
    assert res is out and np.array_equal(out, apply(x, np.arange(6), inv_freq(8), backend="numpy"))
    with pytest.raises(ValueError, match="'out'"):
        _cupy.apply_xp(np, x, np.arange(6), inv_freq(8), out=np.empty((6, 7)), fused=False)
    with pytest.raises(ValueError, match="'out'"):
        _cupy.apply_xp(np, x, np.arange(6), inv_freq(8), out=x, fused=False)


def test_twin_is_the_xp_function():
    """apply_rope_np delegates to apply_rope_xp with numpy: one source for the CPU twin and the GPU path."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 8))
    a, b = np.empty_like(x), np.empty_like(x)
    n1 = _kernels.apply_rope_np(x, np.arange(3.0), inv_freq(8), 1.0, True, a)
    n2 = _kernels.apply_rope_xp(np, x, np.arange(3.0), inv_freq(8), 1.0, True, b)
    assert n1 == n2 == 0 and np.array_equal(a, b)


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
def test_xp_validation_matches_numpy_path(param, change, exc):
    args = dict(x=np.ones((5, 8)), positions=np.arange(5), inv_freq=inv_freq(8))
    args.update(change)
    with pytest.raises(exc, match=f"'{param}'") as want:
        apply(**args, backend="numpy")
    with pytest.raises(exc) as got:
        _cupy.apply_xp(np, **args, fused=False)
    assert str(got.value) == str(want.value)
