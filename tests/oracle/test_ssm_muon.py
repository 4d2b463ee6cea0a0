"""Oracle cases of the S4 kernels and Muon: deliberate mutants are caught, correct peers pass."""
import contextlib

import numpy as np
import pytest

from refimpl.testing import check_against


# ---------------------------------------------------------------- Cauchy / S4 kernels

def cauchy_naive(v, z, w, conj=False):
    """A correct broadcasting Cauchy product (what s4's cauchy_naive computes when conj=True)."""
    r = (v[..., None, :] / (z[:, None] - w[..., None, :])).sum(-1)
    if conj:
        r = r + (v.conj()[..., None, :] / (z[:, None] - w.conj()[..., None, :])).sum(-1)
    return r


def cauchy_missing_conjugate(v, z, w, conj=False):
    """Deliberately wrong: accepts conj but never adds the conjugate half."""
    return (v[..., None, :] / (z[:, None] - w[..., None, :])).sum(-1)


def test_cauchy_naive_passes():
    for dtype in ("float64", "float32"):
        res = check_against("ssm.cauchy", cauchy_naive, dtype=dtype, max_examples=60)
        assert res, res.message


def test_mutant_cauchy_missing_conjugate_half_is_caught():
    res = check_against("ssm.cauchy", cauchy_missing_conjugate, max_examples=60)
    assert not res and res.counterexample.inputs["conj"] is True
    assert res.counterexample.drawn["N"] == 1 and res.counterexample.drawn["L"] == 1
    # an s4-style kernel that always conjugate-extends, tested with conj pinned
    s4_style = lambda v, z, w: cauchy_naive(v, z, w, conj=True)  # noqa: E731
    assert check_against("ssm.cauchy", s4_style, fixed={"conj": True}, max_examples=40)
    bad = check_against("ssm.cauchy", lambda v, z, w: cauchy_missing_conjugate(v, z, w), fixed={"conj": True},
                        max_examples=40)
    assert not bad and bad.max_rel_error > 0.1


def s4d_kernel(Lambda, B, C, dt, L, method="zoh", half=False):
    """A correct S4D Vandermonde kernel in Lambda's precision (exp of j log lambda-bar, as s4)."""
    x = dt * Lambda
    if method == "zoh":
        log_lb, Bb = x, np.expm1(x) / Lambda * B
    else:
        log_lb, Bb = np.log((1 + x / 2) / (1 - x / 2)), dt * B / (1 - x / 2)
    j = np.arange(L, dtype=Lambda.real.dtype)
    K = (C * Bb) @ np.exp(log_lb[:, None] * j[None, :])
    return (2 * K.real) if half else K


def test_s4d_kernel_passes_and_a_bilinear_mixup_is_caught():
    for dtype in ("float64", "float32"):
        res = check_against("ssm.kernel_diag", s4d_kernel, dtype=dtype, max_examples=60)
        assert res, res.message
    bad = check_against("ssm.kernel_diag", lambda Lambda, B, C, dt, L, method="zoh", half=False:
                        s4d_kernel(Lambda, B, C, dt, L, "zoh", half), max_examples=60)
    assert not bad and bad.counterexample.inputs["method"] == "bilinear"


def dplr_dense(Lambda, P, Q, B, Ct, dt, L, half=False):
    """A correct dense route for the DPLR kernel: build A, bilinear, C from C-tilde, powers."""
    if P.ndim == 1:
        P, Q = P[:, None], Q[:, None]
    if half:  # the other member of each pair: conjugate every entry (the low-rank part couples both)
        Lambda, P, Q = (np.concatenate([a, a.conj()]) for a in (Lambda, P, Q))
        B, Ct = np.concatenate([B, B.conj()]), np.concatenate([Ct, Ct.conj()])
    A = np.diag(Lambda) - P @ Q.conj().T
    eye = np.eye(len(A), dtype=A.dtype)
    inv = np.linalg.inv(eye - dt / 2 * A)
    Ab, Bb = inv @ (eye + dt / 2 * A), (inv * dt) @ B
    C = np.linalg.solve((eye - np.linalg.matrix_power(Ab, L)).T, Ct)
    K, x = [], Bb
    for _ in range(L):
        K.append(C @ x)
        x = Ab @ x
    K = np.array(K)
    return K.real if half else K


def test_dplr_dense_route_passes_and_missing_conjugate_coupling_is_caught():
    for dtype in ("float64", "float32"):
        res = check_against("ssm.kernel_dplr", dplr_dense, dtype=dtype, max_examples=50)
        assert res, res.message

    def block_diagonal_half(Lambda, P, Q, B, Ct, dt, L, half=False):
        # wrong: treats the conjugate half as a separate system (drops the P Q^* cross terms)
        if not half:
            return dplr_dense(Lambda, P, Q, B, Ct, dt, L)
        return 2 * dplr_dense(Lambda, P, Q, B, Ct, dt, L).real

    res = check_against("ssm.kernel_dplr", block_diagonal_half, max_examples=50)
    assert not res and res.counterexample.inputs["half"] is True


# ---------------------------------------------------------------- Muon

KELLER = (3.4445, -4.7750, 2.0315)
PIN = {"coefficients": "keller", "eps_mode": "clamp", "normalization": "frobenius", "prescale": False,
       "batched": False}


@contextlib.contextmanager
def torch_ns_in(dtype):
    """torch.optim.Muon's Newton-Schulz, run in ``dtype``: its code casts with ``.bfloat16()``, which is
    redirected to ``.to(dtype)`` for float32/float64 runs (the arithmetic is otherwise torch's own)."""
    torch = pytest.importorskip("torch")
    from torch.optim import _muon

    if dtype == "bfloat16":
        yield _muon._zeropower_via_newtonschulz
        return
    original = torch.Tensor.bfloat16
    torch.Tensor.bfloat16 = lambda self: self.to(getattr(torch, dtype))
    try:
        yield _muon._zeropower_via_newtonschulz
    finally:
        torch.Tensor.bfloat16 = original


@pytest.mark.peer
@pytest.mark.parametrize("dtype", ["float64", "float32", "bfloat16"])
def test_torch_muon_newton_schulz_passes(dtype):
    with torch_ns_in(dtype) as ns:
        res = check_against("muon.newton_schulz", lambda M: ns(M, KELLER, 5, 1e-7), dtype=dtype, convert="torch",
                            fixed=PIN, max_examples=60)
    assert res, res.message
    assert res.held_at_default["transpose_tall"] is True and res.held_at_default["steps"] is None


@pytest.mark.peer
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_mutant_newton_schulz_coefficient_sign_flipped_is_caught(dtype):
    for flipped in [(-KELLER[0], KELLER[1], KELLER[2]), (KELLER[0], -KELLER[1], KELLER[2]),
                    (KELLER[0], KELLER[1], -KELLER[2])]:
        with torch_ns_in(dtype) as ns:
            res = check_against("muon.newton_schulz", lambda M: ns(M, flipped, 5, 1e-7), dtype=dtype,
                                convert="torch", fixed=PIN, max_examples=40)
        assert not res, flipped
        assert res.max_rel_error > 0.3


def ns_numpy(M):
    """KellerJordan's quintic iteration in M's precision (Frobenius normalisation, eps clamp)."""
    a, b, c = KELLER
    X = M.T if M.shape[0] > M.shape[1] else M
    X = X / max(np.linalg.norm(X), 1e-7)
    for _ in range(5):
        A = X @ X.T
        X = a * X + (b * A + c * A @ A) @ X
    return X.T if M.shape[0] > M.shape[1] else X


def test_numpy_newton_schulz_passes_and_sign_flip_is_caught_without_torch():
    for dtype in ("float64", "float32"):
        assert check_against("muon.newton_schulz", ns_numpy, dtype=dtype, fixed=PIN, max_examples=40)

    def flipped(M):
        global KELLER
        saved = KELLER
        KELLER = (saved[0], -saved[1], saved[2])
        try:
            with np.errstate(over="ignore", invalid="ignore"):  # the mutant diverges
                return ns_numpy(M)
        finally:
            KELLER = saved

    assert not check_against("muon.newton_schulz", flipped, fixed=PIN, max_examples=40)


@pytest.mark.peer
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_torch_svd_msign_passes(dtype):
    torch = pytest.importorskip("torch")

    def msign_svd(M):
        U, _, Vh = torch.linalg.svd(M, full_matrices=False)
        return U @ Vh

    res = check_against("muon.msign", msign_svd, dtype=dtype, convert="torch", max_examples=60)
    assert res, res.message
    assert res.held_at_default == {"method": "svd"}
    wrong = check_against("muon.msign", lambda M: msign_svd(M).mT, dtype=dtype, convert="torch", max_examples=30)
    assert not wrong
