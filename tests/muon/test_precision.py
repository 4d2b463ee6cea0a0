"""bfloat16 rounding used by the bf16 emulation."""
from fractions import Fraction

import numpy as np
import pytest

from refimpl.muon._precision import round_bf16


def _bf16_neighbours(v):
    """All bfloat16 values near float64 v (truncated pattern and its neighbours), exactly."""
    f = np.array([v], dtype=np.float32).view(np.uint32)[0] & np.uint32(0xFFFF0000)
    out = []
    for d in (-2, -1, 0, 1, 2):
        bits = (int(f) + d * 0x10000) % 2**32
        q = np.array([bits], dtype=np.uint32).view(np.float32)[0]
        if np.isfinite(q):
            out.append(float(q))
    return out


def _nearest_even(v):
    cands = _bf16_neighbours(v)
    def key(q):
        lsb = int(np.array([q], dtype=np.float32).view(np.uint32)[0] >> 16) & 1
        return abs(Fraction(q) - Fraction(v)), lsb
    return min(cands, key=key)


def test_float64_single_rounding_matches_exact_nearest_even(rng):
    x = rng.standard_normal(400) * np.exp(rng.uniform(-80, 80, 400))
    # exact ties and near-ties: bf16 midpoints and values one float64 ulp away from them
    mids = np.array([1 + 2.0**-8, 1 + 3 * 2.0**-8, -(2 + 2.0**-7), 3.0 * 2.0**-100 * (1 + 2.0**-8)])
    x = np.concatenate([x, mids, np.nextafter(mids, 0), np.nextafter(mids, 10)])
    got = round_bf16(x)
    want = np.array([_nearest_even(v) for v in x], dtype=np.float32)
    assert np.array_equal(got, want)


def test_no_double_rounding_through_float32():
    v = 1 + 2.0**-8 + 2.0**-30  # just above a bf16 tie; float32 rounding would land on the tie
    assert float(np.float32(v)) == 1 + 2.0**-8
    assert float(round_bf16(np.array([v]))[0]) == 1 + 2.0**-7  # single rounding goes up
    assert float(round_bf16(np.array([v], dtype=np.float32))[0]) == 1.0  # the float32 tie goes to even


def test_special_values():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 3.4e38, -3.4e38, 1e-40, 2.0**-133, 2.0**-134 * 1.5])
    for arr in (x, x.astype(np.float32)):
        r = round_bf16(arr)
        assert r.dtype == np.float32
        assert r[0] == 0 and np.signbit(r[1])
        assert r[2] == np.inf and r[3] == -np.inf and np.isnan(r[4])
        assert r[5] == np.inf and r[6] == -np.inf  # beyond the largest bf16 (about 3.39e38)
        assert np.array_equal(round_bf16(r), r, equal_nan=True)  # idempotent
    assert round_bf16(np.array([2.0**-133]))[0] == np.float32(2.0**-133)  # smallest subnormal
    assert round_bf16(np.array([2.0**-134]))[0] == 0.0  # tie to even (zero)


@pytest.mark.peer
def test_float32_rounding_bitwise_equal_to_torch(rng):
    torch = pytest.importorskip("torch")
    bits = rng.integers(0, 2**32, 200_000, dtype=np.uint64).astype(np.uint32)
    x = bits.view(np.float32)
    got = round_bf16(x)
    want = torch.from_numpy(x.copy()).bfloat16().float().numpy()
    same = (got.view(np.uint32) == want.view(np.uint32)) | (np.isnan(got) & np.isnan(want))
    assert np.all(same)
