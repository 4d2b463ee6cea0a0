"""Tests that close gaps found by mutation testing (tests/MUTATION.md, "Survivors").

Each test names the mutant it kills in its docstring.
"""
import numpy as np
import pytest

from refimpl.ssm import fous


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
@pytest.mark.parametrize("M", [0, 1, 3])
def test_fous_has_no_negative_zero_entries(M, dtype):
    """Kills hippo.py:576 (``... - 0.0`` for ``... + 0.0`` in ``fous``).

    Row n = 0 of FouS is the running mean, c_0' = (u - c_0) / t
    (https://kexue.fm/archives/10137): its only
    non-zero entry is -1 on the diagonal, and the off-diagonal entries -0/(0 - k) are
    zeros, stored as +0.0 (the documented example prints ``0.``, not ``-0.``). A -0.0
    would print differently and flip the sign of 1/A or of atan2 on that entry.
    (M = 0 has no such zeros; it only checks the row.)"""
    A, B = fous(M, dtype=dtype)
    assert A.dtype == dtype
    row0 = A[M]
    expected = np.zeros(2 * M + 1, dtype=dtype)
    expected[M] = -1.0
    np.testing.assert_array_equal(row0, expected)
    zeros = A.real == 0
    assert not np.any(np.signbit(A.real[zeros])), "FouS has -0.0 entries in its real part"
    assert not np.any(np.signbit(A.imag[A.imag == 0])), "FouS has -0.0 entries in its imaginary part"
    assert zeros.sum() == 2 * M    # exactly the off-diagonal entries of row 0
