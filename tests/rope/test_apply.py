"""refimpl.rope.apply: the rotation, both layouts, batching, bad input (numba vs reference: the case table)."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from refimpl.rope import apply, inv_freq, layout_permutation, rotation_matrix, scaled_inv_freq
from refimpl.rope import _fast
from refimpl.testing import finite_arrays, head_dims, seeds

EPS = np.finfo(np.float64).eps
LAYOUTS = ["half", "interleaved"]
BACKENDS = ["numba", "reference"]


def _x(seed, shape, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def pair_norms(x, layout):
    h = x.shape[-1] // 2
    if layout == "half":
        return np.hypot(x[..., :h], x[..., h:])
    return np.hypot(x[..., 0::2], x[..., 1::2])


@pytest.mark.parametrize("layout", LAYOUTS)
@given(d=head_dims(2, 64), L=st.integers(1, 20), seed=seeds(), integer=st.booleans())
def test_norm_preservation(layout, d, L, seed, integer):
    x = _x(seed, (2, L, d))
    pos = np.random.default_rng(seed).integers(0, 100000, L) if integer else np.random.default_rng(seed).uniform(
        -1e5, 1e5, L)
    y = apply(x, pos, inv_freq(d), layout)
    # each pair keeps its length (the rotation is orthogonal)
    np.testing.assert_allclose(pair_norms(y, layout), pair_norms(x, layout), rtol=6 * EPS, atol=1e-300)


@pytest.mark.parametrize("layout", LAYOUTS)
@given(d=head_dims(2, 32), seed=seeds(), m=st.floats(-1e4, 1e4), n=st.floats(-1e4, 1e4))
def test_group_law_and_inverse(layout, d, seed, m, n):
    th = inv_freq(d)
    x = _x(seed, (3, d))
    both = apply(apply(x, [n], th, layout), [m], th, layout)
    once = apply(x, [m + n], th, layout)
    # angle error: (|m| + |n|) theta eps from the float64 sums, per coordinate times |x|
    tol = 8 * EPS * (1 + abs(m) + abs(n)) * np.max(np.abs(x))
    assert np.max(np.abs(both - once)) <= tol
    back = apply(apply(x, [m], th, layout), [-m], th, layout)
    assert np.max(np.abs(back - x)) <= 8 * EPS * (1 + abs(m)) * np.max(np.abs(x))
    assert np.array_equal(apply(x, [0], th, layout), x)


@given(d=head_dims(2, 32), seed=seeds(), m=st.floats(-1e4, 1e4), n=st.floats(-1e4, 1e4))
def test_relative_identity(d, seed, m, n):
    """<R_m q, R_n k> = q^T R_(n-m) k, and is invariant under a common shift."""
    th = inv_freq(d)
    q, k = _x(seed, (2, d))
    lhs = apply(q[None], [m], th, "interleaved")[0] @ apply(k[None], [n], th, "interleaved")[0]
    rhs = q @ rotation_matrix(n - m, th) @ k
    tol = 16 * EPS * (1 + abs(m) + abs(n)) * np.sum(np.abs(q)) * np.max(np.abs(k))
    assert abs(lhs - rhs) <= tol


@given(d=head_dims(2, 64), seed=seeds(), L=st.integers(1, 10))
def test_layouts_are_the_same_map_up_to_a_permutation(d, seed, L):
    th = inv_freq(d)
    P = layout_permutation(d)
    x = _x(seed, (L, d))
    pos = np.arange(L) * 37.5
    assert np.array_equal(apply(x[:, P], pos, th, "half"), apply(x, pos, th, "interleaved")[:, P])


@pytest.mark.parametrize("layout", LAYOUTS)
@given(d=head_dims(2, 64), seed=seeds(), k=st.floats(1.0, 64.0))
def test_pi_equals_dividing_positions(layout, d, seed, k):
    th = inv_freq(d)
    x = _x(seed, (7, d))
    pos = np.arange(7) * 1000.0
    a = apply(x, pos, scaled_inv_freq(d, "linear", factor=k)[0], layout)
    b = apply(x, pos / k, th, layout)
    assert np.max(np.abs(a - b)) <= 8 * EPS * (1 + 6000) * np.max(np.abs(x))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_rotation_matrix_equals_apply(layout):
    th = scaled_inv_freq(16, "ntk", factor=4.0)[0]
    x = _x(1, (5, 16))
    pos = np.array([0.0, 1.0, 2.5, -7.0, 12345.0])
    ref = np.stack([rotation_matrix(p, th, layout) @ xi for p, xi in zip(pos, x)])
    np.testing.assert_allclose(apply(x, pos, th, layout), ref, rtol=0, atol=8 * EPS * np.max(np.abs(x)))
    R = rotation_matrix(3.0, th, layout)
    np.testing.assert_allclose(R.T @ R, np.eye(16), atol=4 * EPS)


def test_integer_and_float_positions_agree_and_attention_factor():
    th = inv_freq(32)
    x = _x(2, (2, 3, 9, 32))
    a = apply(x, np.arange(9), th)
    b = apply(x, np.arange(9, dtype=np.float64), th)
    assert np.array_equal(a, b)
    np.testing.assert_allclose(apply(x, np.arange(9), th, attention_factor=1.5), 1.5 * a, rtol=0,
                               atol=8 * EPS * np.max(np.abs(x)))


@pytest.mark.parametrize("backend", BACKENDS)
def test_batched_and_per_batch_positions(backend):
    """positions broadcast against x.shape[:-1]: shared (seq,), per batch (B, 1, seq), and fully general."""
    th = inv_freq(16)
    B, H, S = 3, 2, 5
    x = _x(3, (B, H, S, 16))
    pos_b = np.arange(B * S).reshape(B, 1, S) * 3.0
    y = apply(x, pos_b, th, backend=backend)
    for b in range(B):
        for h in range(H):
            np.testing.assert_array_equal(y[b, h], apply(x[b, h], pos_b[b, 0], th, backend=backend))
    full = np.random.default_rng(0).uniform(0, 100, (B, H, S))
    y = apply(x, full, th, backend=backend)
    np.testing.assert_array_equal(y[1, 1], apply(x[1, 1], full[1, 1], th, backend=backend))
    y_shared = apply(x, np.arange(S), th, backend=backend)
    np.testing.assert_array_equal(y_shared[2, 1], apply(x[2, 1], np.arange(S), th, backend=backend))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_partial_rotary_passes_the_rest_through(layout):
    th = inv_freq(8)
    x = _x(4, (6, 12))
    y = apply(x, np.arange(6), th, layout, attention_factor=2.0)
    assert np.array_equal(y[:, 8:], x[:, 8:])
    np.testing.assert_allclose(y[:, :8], apply(x[:, :8], np.arange(6), th, layout, attention_factor=2.0), rtol=0,
                               atol=0)


def test_float32_in_float32_out_rounded_once():
    th = inv_freq(16)
    x = _x(5, (4, 16), np.float32)
    y = apply(x, np.arange(4), th)
    assert y.dtype == np.float32
    ref = apply(x.astype(np.float64), np.arange(4), th)
    assert np.array_equal(y, ref.astype(np.float32))
    assert apply(x.astype(np.int64), np.arange(4), th).dtype == np.float64


@pytest.mark.parametrize("backend", BACKENDS)
def test_out_argument(backend):
    x = _x(7, (2, 5, 8), np.float32)
    out = np.empty_like(x)
    y = apply(x, np.arange(5), inv_freq(8), out=out, backend=backend)
    assert y is out and np.array_equal(out, apply(x, np.arange(5), inv_freq(8), backend=backend))
    for bad in (np.empty((2, 5, 8)), np.empty((2, 5, 6), np.float32), x):
        with pytest.raises(ValueError, match="'out'"):
            apply(x, np.arange(5), inv_freq(8), out=bad, backend=backend)


BAD = [
    ("'positions'", lambda: apply(np.ones((4, 8)), np.arange(5), inv_freq(8))),
    ("'positions'", lambda: apply(np.ones((2, 4, 8)), np.ones((3, 4)), inv_freq(8))),
    ("'positions'", lambda: apply(np.ones((4, 8)), np.ones((2, 2, 4)), inv_freq(8))),
    ("'positions'", lambda: apply(np.ones((4, 8)), [0, 1, np.nan, 3], inv_freq(8))),
    ("'positions'", lambda: apply(np.ones((4, 8)), [0, 1, np.inf, 3], inv_freq(8))),
    ("'x'", lambda: apply(np.ones(8), [0], inv_freq(8))),
    ("'x'", lambda: apply(np.full((1, 8), np.nan), [0], inv_freq(8))),
    ("'inv_freq'", lambda: apply(np.ones((4, 6)), np.arange(4), inv_freq(8))),
    ("'inv_freq'", lambda: apply(np.ones((4, 8)), np.arange(4), [1.0, np.nan])),
    ("'layout'", lambda: apply(np.ones((4, 8)), np.arange(4), inv_freq(8), "neox")),
    ("'attention_factor'", lambda: apply(np.ones((4, 8)), np.arange(4), inv_freq(8), "half", np.nan)),
    ("'backend'", lambda: apply(np.ones((4, 8)), np.arange(4), inv_freq(8), backend="torch")),
    ("'layout'", lambda: rotation_matrix(1.0, inv_freq(8), "rows")),
    ("'d'", lambda: layout_permutation(7)),
    ("'d'.*bytes", lambda: layout_permutation(2**64)),  # returned [] before
    ("'positions'.*per-sequence", lambda: apply(np.ones((2, 3, 4, 8)), np.ones((3, 4)), inv_freq(8))),
    ("'positions'.*per-sequence", lambda: apply(np.ones((2, 3, 4, 8)), np.ones((2, 5)), inv_freq(8))),
]


@pytest.mark.parametrize("match, call", BAD)
def test_bad_input(match, call):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("where", [(0, 1, 3), (1, 2, 0), (1, 0, 9)])  # rotated coords and a pass-through one
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_x_is_rejected_by_the_kernel_pass(backend, where, bad):
    x = np.ones((2, 3, 10))
    x[where] = bad
    with pytest.raises(ValueError, match="'x'"):
        apply(x, np.arange(3), inv_freq(8), backend=backend)
    assert _fast.apply_rope_nb(x.reshape(-1, 10), np.arange(3.0), inv_freq(8), 1.0, True, np.empty((6, 10))) == 1


def test_bad_position_dtype():
    with pytest.raises(TypeError, match="'positions'"):
        apply(np.ones((2, 4)), np.array([True, False]), inv_freq(4))


@given(x=finite_arrays((3, 6)))
def test_any_finite_input_rotates_finitely(x):
    y = apply(x, [0, 1, 2], inv_freq(6))
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(pair_norms(y, "half"), pair_norms(x, "half"), rtol=6 * EPS, atol=1e-300)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_batched_apply_equals_a_loop_over_the_batch(backend, layout):
    """x (B, H, L, d) with positions (L,) or per-sequence (B, L) == apply on each (H, L, d) slice."""
    rng = np.random.default_rng(11)
    B, H, L, d = 3, 4, 7, 20
    x = rng.standard_normal((B, H, L, d))
    th = inv_freq(16)  # partial rotary: the last 4 coordinates pass through
    per_seq = rng.integers(0, 4000, (B, 1)) + np.arange(L)
    for positions in (np.arange(L) + 11, per_seq, per_seq + 0.5):
        y = apply(x, positions, th, layout, 1.25, backend=backend)
        for b in range(B):
            pos_b = positions if positions.ndim == 1 else positions[b]
            np.testing.assert_array_equal(y[b], apply(x[b], pos_b, th, layout, 1.25, backend=backend))
    assert np.array_equal(apply(x, per_seq, th, layout, backend=backend),
                          apply(x, per_seq[:, None, :], th, layout, backend=backend))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_reference_is_the_rotation_of_each_pair(layout):
    """reference.apply against the complex form z' = s z e^{i n theta} of each pair (an independent route)."""
    rng = np.random.default_rng(12)
    x = rng.standard_normal((5, 9, 14))
    th = inv_freq(12, 500.0)
    pos = rng.uniform(-3000, 3000, 9)
    y = apply(x, pos, th, layout, 0.8, backend="reference")
    h = th.shape[0]
    a, b = (np.arange(h), np.arange(h) + h) if layout == "half" else (2 * np.arange(h), 2 * np.arange(h) + 1)
    z = 0.8 * (x[..., a] + 1j * x[..., b]) * np.exp(1j * pos[:, None] * th)
    # angles up to 3000 rad: |n theta| eps of angle error, times |x_a| + |x_b|
    tol = 4 * 3000 * EPS * np.max(np.abs(x))
    assert np.max(np.abs(y[..., a] - z.real)) <= tol and np.max(np.abs(y[..., b] - z.imag)) <= tol
    assert np.array_equal(y[..., 2 * h:], x[..., 2 * h:])


def test_per_sequence_positions_numba_vs_reference_through_the_case():
    """The case draws (B, L) positions where pinned: the numba path agrees with the reference there."""
    from refimpl.testing import check_against

    res = check_against("rope.apply", lambda *a, **k: apply(*a, **k, backend="numba"), max_examples=25,
                        fixed={"batched": True, "per_sequence": True})
    assert res, res.message


@pytest.mark.parametrize("call", [
    lambda: apply(np.ones((2, 4), bool), [0, 1], inv_freq(4)),
    lambda: apply(np.ones((2, 4)), [0, 1], [True, False]),
    lambda: apply(np.ones((2, 4)), [0, 1], inv_freq(4), attention_factor=True),
    lambda: apply(np.ones((2, 4)), [0, 1], inv_freq(4), "half", "1.0"),
], ids=["x", "inv_freq", "attention_factor", "attention_factor_str"])
def test_booleans_and_strings_are_not_numbers(call):
    with pytest.raises(TypeError):
        call()


@pytest.mark.parametrize("backend", BACKENDS)
def test_angle_overflow_raises_and_output_overflow_is_inf(backend):
    """n theta beyond float64 would make cos/sin NaN: an error; an output beyond the dtype is inf (documented)."""
    with pytest.raises(ValueError, match="'positions' and 'inv_freq'.*float64"):
        apply(np.ones((1, 2)), [1e300], [1e300], backend=backend)
    y = apply(np.array([[3e38, 3e38]], np.float32), [1], [np.pi / 4], backend=backend)
    assert y.dtype == np.float32 and np.isinf(y[0, 1]) and np.isfinite(y[0, 0])  # |x'_b| = 4.2e38
    with pytest.raises(ValueError, match="'positions' and 'inv_freq'"):
        rotation_matrix(1e300, [1e300])
