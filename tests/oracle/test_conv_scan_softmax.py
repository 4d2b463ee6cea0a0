"""Oracle cases ssm.causal_conv, ssm.scan and attention.softmax: direct routes pass, classic slips are caught."""
import numpy as np
import pytest

from refimpl.testing import check_against


def conv_direct(u, K):
    y = np.zeros(u.shape, dtype=np.result_type(u, K))
    for k in range(u.shape[-1]):
        j = np.arange(min(k + 1, K.shape[0]))
        y[..., k] = (K[j] * u[..., k - j]).sum(-1)
    return y


def scan_loop(Ab, Bb, C, u):
    x = np.zeros(Bb.shape[0], Ab.dtype)
    ys = []
    for uk in u:
        x = Ab @ x + Bb * uk
        ys.append(C @ x)
    return np.array(ys, dtype=Ab.dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_direct_routes_pass(dtype):
    assert check_against("ssm.causal_conv", conv_direct, dtype=dtype, max_examples=50)
    assert check_against("ssm.scan", scan_loop, dtype=dtype, max_examples=50)


def test_flipped_kernel_and_off_by_one_scan_are_caught():
    res = check_against("ssm.causal_conv", lambda u, K: conv_direct(u, K[::-1].copy()), max_examples=50)
    assert not res and res.counterexample.drawn["L_K"] == 2

    def scan_output_before_update(Ab, Bb, C, u):  # y_k = C x_{k-1}: the other index convention
        x = np.zeros(Bb.shape[0])
        ys = []
        for uk in u:
            ys.append(C @ x)
            x = Ab @ x + Bb * uk
        return np.array(ys)

    res = check_against("ssm.scan", scan_output_before_update, max_examples=50)
    assert not res and res.counterexample.drawn["L"] == 1


def test_softmax_without_max_subtraction_overflows_in_float32():
    naive = lambda x, axis=-1: np.exp(x) / np.exp(x).sum(axis, keepdims=True)  # noqa: E731
    with np.errstate(over="ignore", invalid="ignore"):
        res = check_against("attention.softmax", naive, dtype="float32", max_examples=100)
    assert not res and "non-finite" in res.counterexample.reason
    stable = lambda x, axis=-1: (lambda e: e / e.sum(axis, keepdims=True))(np.exp(x - x.max(axis, keepdims=True)))  # noqa: E731,E501
    assert check_against("attention.softmax", stable, dtype="float32", max_examples=100)


@pytest.mark.peer
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_torch_softmax_passes(dtype):
    torch = pytest.importorskip("torch")
    res = check_against("attention.softmax", lambda x, axis=-1: torch.softmax(x, dim=axis), dtype=dtype,
                        convert="torch", max_examples=60)
    assert res, res.message
