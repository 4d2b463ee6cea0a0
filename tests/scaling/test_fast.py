"""refimpl.scaling._fast: the numba kernels against the reference on the same normals, the chunk streams,
and the quality of the kernels' normal generator."""
import numpy as np
import pytest
from scipy import stats

from refimpl.scaling import _fast as K
from refimpl.scaling import _xp, reference

EPS = np.finfo(np.float64).eps


def _normals(seed, stream, count):
    out = np.empty(count)
    with np.errstate(over="ignore"):  # uint64 wrap-around warns when the JIT is disabled
        K.normals_nb(seed, stream, out)
    return out


def test_generator_is_standard_normal():
    """Chi-square on 200 equiprobable bins and tail frequency, 10^6 draws (seeded, so deterministic)."""
    z = _normals(2024, 1, 1_000_000)
    edges = stats.norm.ppf(np.linspace(0, 1, 201)[1:-1])
    counts = np.bincount(np.searchsorted(edges, z), minlength=200)
    chi2 = np.sum((counts - z.size / 200) ** 2 / (z.size / 200))
    assert stats.chi2.sf(chi2, 199) > 1e-4
    p_tail = 2 * stats.norm.sf(3.442619855899)
    k = np.sum(np.abs(z) > 3.442619855899)
    assert abs(k - z.size * p_tail) < 5 * np.sqrt(z.size * p_tail)
    assert abs(z.mean()) < 5 / np.sqrt(z.size)
    assert abs(z.var() - 1) < 5 * np.sqrt(2 / z.size)
    # streams are distinct and uncorrelated
    w = _normals(2024, 2, 1_000_000)
    assert abs(np.corrcoef(z, w)[0, 1]) < 5 / np.sqrt(z.size)


def _inputs(seed, n, dense_l, dense_h):
    rng = np.random.default_rng(seed)
    g = rng.standard_normal(n)
    sd = rng.uniform(0.1, 2.0, n)
    A = rng.standard_normal((n, n))
    L = A / np.sqrt(n) if dense_l else np.zeros((1, 1))
    C = rng.standard_normal((n, n))
    Hf = C @ C.T / n + np.eye(n) if dense_h else np.zeros((1, 1))
    hd = np.diag(Hf).copy() if dense_h else rng.uniform(0.5, 2.0, n)
    return g, sd, L, hd, Hf


class _Replay:
    """Hands the rows of ``Z`` to the reference loop as its ``rng.standard_normal(n)`` draws."""

    def __init__(self, Z):
        self._rows = iter(Z)

    def standard_normal(self, n):
        return next(self._rows)


@pytest.mark.parametrize("kind", [K.SGD, K.SIGN])
@pytest.mark.parametrize("dense_l,dense_h", [(False, False), (True, False), (False, True), (True, True)])
def test_sums_kernel_equals_the_reference_on_the_same_normals(kind, dense_l, dense_h):
    """The kernel's per-sample algebra is the reference's: fed the same normals, the sums agree to rounding."""
    n, N = 7, 300
    g, sd, L, hd, Hf = _inputs(1, n, dense_l, dense_h)
    Z = np.random.default_rng(2).standard_normal((N, n))
    a0, b0 = 0.3, 1.7
    out = np.zeros(K.N_STATS)
    K.nqm_sums_from_normals_nb(Z, g, sd, L, dense_l, hd, Hf, dense_h, kind, a0, b0, out)
    H = Hf if dense_h else np.diag(hd)
    a, b = reference.nqm_samples(g, H, L if dense_l else np.diag(sd), "sgd" if kind == K.SGD else "sign", N,
                                 _Replay(Z))
    ref = _xp.shifted_sums(np, a, b, a0, b0)
    # per-sample a, b: dot products of length <= n^2 (error <= n^2 eps |terms|); sums of N of them
    scale = np.array([1.0, np.abs(a - a0).sum(), np.abs(b - b0).sum(), ((a - a0) ** 2).sum(),
                      ((b - b0) ** 2).sum(), np.abs((a - a0) * (b - b0)).sum()])
    assert out[0] == ref[0] == N
    assert np.all(np.abs(out - ref) <= 4 * (n * n + N) * EPS * scale), (out - ref) / scale


@pytest.mark.parametrize("kind", [K.SGD, K.SIGN])
@pytest.mark.parametrize("dense", [False, True])
def test_fused_parallel_kernel_equals_chunkwise_sums_of_its_own_stream(kind, dense):
    """Chunk c of nqm_sums_nb consumes exactly normals_nb(seed, c): the fused path is the per-sample path."""
    n, N, chunk, seed = 5, 250, 100, 77
    g, sd, L, hd, Hf = _inputs(3, n, dense, dense)
    out = np.zeros((3, K.N_STATS))
    with np.errstate(over="ignore"):
        K.nqm_sums_nb(g, sd, L, dense, hd, Hf, dense, kind, 0.1, 0.2, N, chunk, seed, out)
    for c in range(3):
        m = min(chunk, N - c * chunk)
        Z = _normals(seed, c, m * n).reshape(m, n)
        ref = np.zeros(K.N_STATS)
        K.nqm_sums_from_normals_nb(Z, g, sd, L, dense, hd, Hf, dense, kind, 0.1, 0.2, ref)
        np.testing.assert_array_equal(out[c], ref)
