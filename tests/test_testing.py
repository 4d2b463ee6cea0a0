"""refimpl.testing: assert_close and the strategies."""
import numpy as np
import pytest
from hypothesis import given

from refimpl.testing import DEFAULT_TOLERANCES, assert_close, max_error
from refimpl.testing import head_dims, matrices, seq_lens, state_sizes, step_sizes, stable_diagonals


def test_assert_close_float64_default_passes_and_fails():
    x = np.linspace(1, 2, 5)
    assert_close(x * (1 + 5e-11), x)
    with pytest.raises(AssertionError, match="1 of 5 elements.*index \\(3,\\)"):
        y = x.copy()
        y[3] *= 1 + 1e-8
        assert_close(y, x)


def test_assert_close_uses_dtype_of_actual():
    x = np.linspace(1, 2, 5)
    assert_close((x * (1 + 3e-6)).astype(np.float32), x)  # float32 default rtol 1e-5
    with pytest.raises(AssertionError):
        assert_close(x * (1 + 3e-6), x)  # float64 default is tight


def test_assert_close_bfloat16_override():
    x = np.linspace(1, 2, 5)
    assert_close((x * (1 + 1e-2)).astype(np.float32), x, dtype="bfloat16")
    with pytest.raises(AssertionError):
        assert_close((x * (1 + 1e-2)).astype(np.float32), x)


def test_assert_close_shape_and_nan():
    with pytest.raises(AssertionError, match="shape mismatch"):
        assert_close(np.ones(3), np.ones((3, 1)))
    with pytest.raises(AssertionError, match="NaN mismatch"):
        assert_close(np.array([1.0, np.nan]), np.array([1.0, 1.0]))
    assert_close(np.array([1.0, np.nan]), np.array([1.0, np.nan]))


def test_assert_close_bad_dtype_and_tolerance():
    with pytest.raises(ValueError, match="'dtype'"):
        assert_close(np.ones(2), np.ones(2), dtype="float8")
    with pytest.raises(ValueError, match="'rtol'"):
        assert_close(np.ones(2), np.ones(2), rtol=-1, atol=0)


def test_assert_close_complex():
    z = np.array([1 + 1j, 2 - 1j])
    assert_close(z * (1 + 1e-12), z)
    with pytest.raises(AssertionError):
        assert_close(z + 1e-6j, z)


def test_max_error():
    assert max_error([1.0, 2.0], [1.0, 4.0]) == (2.0, 0.5)


def test_default_tolerances_documented():
    assert set(DEFAULT_TOLERANCES) >= {"float64", "float32", "bfloat16"}


@pytest.mark.peer
def test_assert_close_accepts_torch_bfloat16():
    torch = pytest.importorskip("torch")
    t = torch.tensor([1.0, 2.0, 3.0], dtype=torch.bfloat16)
    assert_close(t, np.array([1.0, 2.0, 3.0]))
    with pytest.raises(AssertionError, match="bfloat16"):
        assert_close(t, np.array([1.0, 2.1, 3.0]))


@given(matrices(5, 3, cond=1e6))
def test_matrices_have_requested_condition(M):
    s = np.linalg.svd(M, compute_uv=False)
    assert M.shape == (5, 3)
    assert abs(s[0] / s[-1] / 1e6 - 1) < 1e-6


@given(head_dims(), seq_lens(1, 64), state_sizes(2, 64, even=True), step_sizes(), stable_diagonals(4))
def test_scalar_strategies_respect_ranges(d, n, N, dt, lam):
    assert d % 2 == 0 and 2 <= d <= 256
    assert 1 <= n <= 64
    assert N % 2 == 0 and 2 <= N <= 64
    assert 1e-3 <= dt <= 1e-1
    assert lam.shape == (4,) and np.all(lam.real < 0)


# --- comparisons never pass by accident ---------------------------------------------------------


@pytest.mark.parametrize("kwargs", [{"rtol": float("nan")}, {"atol": float("nan"), "rtol": 0.0},
                                    {"rtol": -1.0}, {"atol": True}])
def test_assert_close_rejects_bad_tolerances(kwargs):
    from refimpl.testing import assert_close

    with pytest.raises((ValueError, TypeError), match="'rtol'|'atol'"):
        assert_close([1.0, 5.0], [1.0, 2.0], **kwargs)


def test_assert_close_order_and_desired_alias():
    from refimpl.testing import assert_close

    assert_close([1.0], desired=[1.0])
    with pytest.raises(AssertionError, match="actual 1.0, expected 1.1"):
        assert_close([1.0], [1.1])
    with pytest.raises(TypeError, match="not both"):
        assert_close([1.0], [1.0], desired=[1.0])


@pytest.mark.parametrize("actual,expected,match", [
    ([], [1.0, 2.5], "same shape"), (np.ones((3, 1)), np.full(3, 2.0), "same shape"),
    (None, [1.0], "'actual'"), ([1.0], "x", "'expected'"), ([], [], "empty")])
def test_max_error_refuses_what_it_cannot_measure(actual, expected, match):
    from refimpl.testing import max_error

    with pytest.raises((ValueError, TypeError), match=match):
        max_error(actual, expected)


def test_check_against_dtype_spellings_and_convert():
    torch = pytest.importorskip("torch")
    from refimpl.testing import check_against

    def matvec(v):
        n = np.arange(v.shape[0])
        r = np.sqrt(2 * n + 1.0)
        return ((-np.tril(np.outer(r, r), -1) - np.diag(n + 1.0)).astype(v.dtype)) @ v

    for dt in ("float32", np.float32, np.dtype("float32"), torch.float32):
        res = check_against("ssm.legs_matvec", matvec, dtype=dt, max_examples=3)
        assert res and res.dtype == "float32"
    with pytest.raises(ValueError, match="parameter 'convert'") as exc:
        check_against("ssm.legs_matvec", matvec, convert="tensorflow")
    assert type(exc.value) is ValueError
    with pytest.raises(ValueError, match="parameter 'dtype'"):
        check_against("ssm.legs_matvec", matvec, dtype="float8")


def test_failure_message_replays_and_counts_distinct_examples():
    from refimpl.testing import check_against

    def off(v, normalization="paper"):
        n = np.arange(v.shape[0])
        r = np.sqrt(2 * n + 1.0)
        return (-np.tril(np.outer(r, r), -1) - np.diag(n + 1.1)) @ v

    res = check_against("ssm.legs_matvec", off, max_examples=30)
    msg = res.message
    assert not res and msg.count("out of tolerance") == 1 and "np.float64(" not in msg
    assert res.n_examples == 1  # the first example fails; shrinking runs are not counted
    ns = {"candidate": off}
    exec(res.counterexample.snippet(res.name, res.dtype), ns)
    assert np.max(np.abs(ns["actual"] - ns["expected"])) > 1e-3  # the replay reproduces the failure
    d = res.to_dict()
    assert d["passed"] is False and "replay(" in d["counterexample"]["replay"]
