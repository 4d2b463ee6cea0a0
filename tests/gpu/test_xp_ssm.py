"""The CuPy Cauchy code run with ``xp = numpy``: the chunked xp product and the device-side validation."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl.ssm import _xp, cauchy, reference

EPS = np.finfo(np.float64).eps


@given(seed=st.integers(0, 2**32 - 1), H=st.integers(1, 4), N=st.integers(1, 9), L=st.integers(1, 40),
       chunk=st.integers(1, 50), conj=st.booleans())
@settings(max_examples=50)
def test_cauchy_xp_numpy_matches_the_definition(seed, H, N, L, chunk, conj):
    rng = np.random.default_rng(seed)
    v = rng.standard_normal((H, N)) + 1j * rng.standard_normal((H, N))
    w = -rng.uniform(0.1, 2, (H, N)) + 1j * rng.standard_normal((H, N))
    z = rng.standard_normal(L) * 0.1 + 1j * rng.standard_normal(L)
    got = _xp.cauchy_xp(np, v, z, w, conj, chunk=chunk)
    ref = reference.cauchy(v, z, w, conj)
    # documented bound: (N + 4) eps sum_n |v_n / (z_l - w_n)| (twice the terms with conj)
    bound = np.sum(np.abs(v[:, None, :] / (z[None, :, None] - w[:, None, :])), axis=-1) * (2 if conj else 1)
    assert np.all(np.abs(got - ref) <= 2 * (N + 4) * EPS * bound)


def test_cauchy_xp_default_chunk_bounds_temporaries():
    H, N = 4, 64
    chunk = max(1, _xp.CHUNK_ELEMENTS // (H * N))
    assert H * N * chunk <= _xp.CHUNK_ELEMENTS


BAD = [
    ("v", dict(v=np.ones((2, 2, 2))), ValueError),
    ("v", dict(v=np.ones(0)), ValueError),
    ("w", dict(w=np.ones(3)), ValueError),
    ("w", dict(w=np.ones((2, 2))), ValueError),
    ("z", dict(z=np.ones((2, 2))), ValueError),
    ("z", dict(z=np.array([2.0])), ValueError),
    ("z", dict(z=np.array([np.nan])), ValueError),
    ("v", dict(v=np.array(["a", "b"])), TypeError),
]


@pytest.mark.parametrize("param, change, exc", BAD, ids=[f"{p}-{i}" for i, (p, _, _) in enumerate(BAD)])
def test_xp_validation_matches_numpy_path(param, change, exc):
    args = dict(v=np.ones(2), z=np.array([0.5j, 1.0]), w=np.array([2.0, -1.0 + 0j]))
    args.update(change)
    with pytest.raises(exc, match=f"'{param}'") as want:
        cauchy(**args, backend="reference")
    with pytest.raises(exc) as got:
        _xp.cauchy_cupy(np, **args, conj=False, raw=False)
    assert str(got.value) == str(want.value)


def test_conj_pole_check():
    """With conj=True a node equal to the conjugate of a pole is also rejected."""
    with pytest.raises(ValueError, match="'z'"):
        _xp.cauchy_cupy(np, [1.0], [1.0 - 1.0j], [1.0 + 1.0j], True, raw=False)
    assert _xp.cauchy_cupy(np, [1.0], [1.0 - 1.0j], [1.0 + 1.0j], False, raw=False).shape == (1,)
