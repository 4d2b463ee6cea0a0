"""Hypothesis strategies for the inputs refimpl's methods take.

Use them to drive your own kernel (or refimpl's) over many valid inputs::

    from hypothesis import given
    from refimpl.testing import head_dims, seq_lens

    @given(d=head_dims(), n=seq_lens(max_value=64))
    def test_my_rope(d, n): ...

Every strategy is deterministic under hypothesis' ``derandomize=True``
(refimpl's own ``ci`` profile). Matrix strategies draw a seed and build the
matrix with NumPy, so a failing example is reported as the seed plus sizes,
which is enough to rebuild it.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

__all__ = [
    "finite_arrays", "finite_vectors", "head_dims", "matrices", "positions", "seeds",
    "seq_lens", "square_matrices", "stable_diagonals", "state_sizes", "step_sizes",
]


def _as_strategy(value):
    return value if isinstance(value, st.SearchStrategy) else st.just(value)


def seeds():
    """Seeds for ``numpy.random.default_rng``: integers in [0, 2**32)."""
    return st.integers(min_value=0, max_value=2**32 - 1)


def finite_arrays(shape, *, dtype=np.float64, bound=1e3):
    """Arrays of ``shape`` with finite entries in ``[-bound, bound]``.

    ``shape`` may be a tuple or a strategy of tuples (e.g.
    ``hypothesis.extra.numpy.array_shapes()``).
    """
    elements = st.floats(-bound, bound, allow_nan=False, allow_infinity=False,
                         width=np.dtype(dtype).itemsize * 8 if np.dtype(dtype).kind == "f" else 64)
    return hnp.arrays(dtype=dtype, shape=shape, elements=elements)


def finite_vectors(n, *, bound=1e3, dtype=np.float64):
    """1-D arrays of length ``n`` (int or strategy) with entries in ``[-bound, bound]``."""
    return _as_strategy(n).flatmap(lambda k: finite_arrays((k,), dtype=dtype, bound=bound))


def state_sizes(min_value=1, max_value=64, *, even=False):
    """State sizes N for SSMs; ``even=True`` for conjugate-pair halving."""
    if even:
        return st.integers(max(1, (min_value + 1) // 2), max_value // 2).map(lambda k: 2 * k)
    return st.integers(min_value, max_value)


def head_dims(min_value=2, max_value=256):
    """Even attention head dimensions in ``[min_value, max_value]`` (RoPE needs even d)."""
    return st.integers((min_value + 1) // 2, max_value // 2).map(lambda k: 2 * k)


def seq_lens(min_value=1, max_value=512):
    """Sequence lengths in ``[min_value, max_value]``."""
    return st.integers(min_value, max_value)


def step_sizes(low=1e-3, high=1e-1):
    """Step sizes dt drawn log-uniformly from ``[low, high]`` (S4's init range by default)."""
    if not 0 < low <= high:
        raise ValueError(f"parameters 'low'/'high' must satisfy 0 < low <= high, got {low}, {high}")
    return st.floats(np.log(low), np.log(high)).map(lambda t: float(min(max(np.exp(t), low), high)))


def positions(n, *, max_position=65536, integer=True):
    """Token positions: ``n`` (int or strategy) sorted values in ``[0, max_position)``."""
    def build(k):
        if integer:
            return hnp.arrays(np.int64, (k,), elements=st.integers(0, max_position - 1)).map(np.sort)
        return hnp.arrays(np.float64, (k,), elements=st.floats(0, max_position, allow_nan=False)).map(np.sort)

    return _as_strategy(n).flatmap(build)


def _matrix_from_seed(seed, rows, cols, cond, dtype):
    rng = np.random.default_rng(seed)
    if cond is None:
        return rng.standard_normal((rows, cols)).astype(dtype)
    r = min(rows, cols)
    u, _ = np.linalg.qr(rng.standard_normal((rows, r)))
    v, _ = np.linalg.qr(rng.standard_normal((cols, r)))
    s = np.logspace(0.0, -np.log10(cond), r) if r > 1 else np.ones(1)
    return ((u * s) @ v.T).astype(dtype)


def matrices(rows, cols, *, cond=None, dtype=np.float64):
    """Real matrices of shape ``(rows, cols)``.

    ``rows``/``cols`` are ints or strategies. With ``cond=None`` entries are
    i.i.d. standard normal; with ``cond=c`` (float or strategy) the matrix is
    ``U diag(s) V^T`` with random orthonormal ``U, V`` and singular values
    log-spaced from 1 down to ``1/c``, so its 2-norm condition number is ``c``
    (to rounding).
    """
    @st.composite
    def build(draw):
        r = draw(_as_strategy(rows))
        c = draw(_as_strategy(cols))
        k = draw(_as_strategy(cond))
        seed = draw(seeds())
        return _matrix_from_seed(seed, r, c, k, dtype)

    return build()


def square_matrices(n, *, cond=None, dtype=np.float64):
    """Square ``(n, n)`` matrices; see :func:`matrices`."""
    @st.composite
    def build(draw):
        k = draw(_as_strategy(n))
        return draw(matrices(k, k, cond=cond, dtype=dtype))

    return build()


def stable_diagonals(n, *, max_real=1.0, max_imag=100.0):
    """Complex vectors of length ``n`` with real parts in ``[-max_real, -1e-3]``
    (strictly stable, as S4D's Lambda) and imaginary parts in ``[-max_imag, max_imag]``.
    """
    @st.composite
    def build(draw):
        k = draw(_as_strategy(n))
        rng = np.random.default_rng(draw(seeds()))
        re = -rng.uniform(1e-3, max_real, k)
        im = rng.uniform(-max_imag, max_imag, k)
        return re + 1j * im

    return build()
