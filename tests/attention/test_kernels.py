"""numba streaming kernel vs its materialising NumPy twin (small sizes: also run with NUMBA_DISABLE_JIT=1)."""
import numpy as np
import pytest

from refimpl.attention import _kernels

pytestmark = pytest.mark.twin


def test_exp_kernel_within_one_ulp_of_numpy():
    x = np.concatenate([-np.linspace(0.0, 708.0, 2001), -np.logspace(-16, 0, 50), [0.0, -np.inf, -800.0]])
    out = np.empty_like(x)
    _kernels.exp_nonpos_nb(x, out, np.empty(x.size, dtype=np.int64), x.size)
    ok = x >= -708.0
    ref = np.exp(x[ok])
    assert np.max(np.abs(out[ok] - ref) / np.spacing(ref)) <= 1.0
    assert out[-1] == 0.0 and out[-2] == 0.0 and out[-3] == 1.0


@pytest.mark.parametrize("nq, nk, causal, use_mask, parallel", [
    (5, 5, False, False, False), (70, 300, True, False, False), (70, 300, False, True, True),
    (3, 260, True, True, True),
])
def test_streaming_matches_twin(nq, nk, causal, use_mask, parallel):
    rng = np.random.default_rng(nq * 1000 + nk)
    B, d, dv = 2, 6, 3
    q = rng.standard_normal((B, nq, d)) * 3
    k = rng.standard_normal((B, nk, d)) * 3
    v = rng.standard_normal((B, nk, dv))
    scale = rng.uniform(0.1, 1.0, (B, nq))
    mask = None
    if use_mask:
        mask = rng.random((B, nq, nk)) < 0.6
        mask[..., -1] = True
    off = nk - nq
    out, lse = _kernels.attention_nb(q, k, v, scale, mask, causal, off, parallel=parallel)
    ref, lse_ref, _ = _kernels.attention_np(q, k, v, scale, mask, causal, off)
    smax = np.max(np.abs(scale)) * 9 * d * np.max(np.abs(q)) * np.max(np.abs(k)) / 9
    tol = 4 * (d + 8 + nk) * np.finfo(float).eps * (1 + smax)
    assert np.max(np.abs(out - ref)) <= tol * np.max(np.abs(v))
    assert np.max(np.abs(lse - lse_ref)) <= tol
