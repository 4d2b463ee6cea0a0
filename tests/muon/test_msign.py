"""msign by SVD, by the polar Newton iteration and by Newton-Schulz: identities and bad input."""
import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl.muon import msign
from refimpl.testing import matrices

EPS = np.finfo(np.float64).eps
dims = st.integers(1, 12)


def _orthogonal(rng, n):
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


@settings(max_examples=60)
@given(M=matrices(dims, dims))
def test_orthogonality_of_full_rank_result(M):
    O = msign(M)
    n, m = M.shape
    gram = O.T @ O if n >= m else O @ O.T
    assert np.max(np.abs(gram - np.eye(min(n, m)))) <= 50 * max(n, m) * EPS


@settings(max_examples=40)
@given(M=matrices(dims, dims), c=st.sampled_from([3.7, 1e-3, 1e-30, 1e-200, 2.0**-1000, 1e150]))
def test_scale_invariance_including_tiny_scales(M, c):
    """msign(cM) = msign(M) for every c > 0, far below any eps (c M kept in the normal float range); so is
    Newton--Schulz in its scale-invariant form (prescale=True)."""
    cM = c * M
    ref = msign(M)
    assert np.max(np.abs(msign(cM) - ref)) <= 1e-12 * max(1, np.linalg.cond(M))
    ns_ref = msign(M, "newton_schulz", coefficients="polar_express", prescale=True)
    ns = msign(cM, "newton_schulz", coefficients="polar_express", prescale=True)
    assert np.max(np.abs(ns - ns_ref)) <= 1e-9


@settings(max_examples=40)
@given(M=matrices(dims, dims), seed=st.integers(0, 2**32 - 1))
def test_orthogonal_equivariance(M, seed):
    """msign(U M V) = U msign(M) V for orthogonal U, V; Newton-Schulz too (the Frobenius norm is invariant)."""
    rng = np.random.default_rng(seed)
    n, m = M.shape
    U, V = _orthogonal(rng, n), _orthogonal(rng, m)
    lhs, rhs = msign(U @ M @ V), U @ msign(M) @ V
    assert np.max(np.abs(lhs - rhs)) <= 1e-11 * np.linalg.cond(M)
    for coeffs in ("keller", "you_t6"):
        lhs = msign(U @ M @ V, "newton_schulz", coefficients=coeffs, eps=0.0)
        rhs = U @ msign(M, "newton_schulz", coefficients=coeffs, eps=0.0) @ V
        assert np.max(np.abs(lhs - rhs)) <= 1e-11


@settings(max_examples=40)
@given(G=matrices(dims, dims), seed=st.integers(0, 2**32 - 1))
def test_trace_is_nuclear_norm_and_bounds_every_spectral_unit_phi(G, seed):
    """Tr(G^T msign G) = ||G||_* >= Tr(G^T Phi) whenever ||Phi||_2 <= 1 (steepest descent, 10592)."""
    rng = np.random.default_rng(seed)
    s = np.linalg.svd(G, compute_uv=False)
    nuc = float(np.sum(s))
    assert abs(np.trace(G.T @ msign(G)) - nuc) <= 1e-12 * nuc * G.size
    for _ in range(5):
        Phi = rng.standard_normal(G.shape)
        Phi /= np.linalg.norm(Phi, 2) * rng.uniform(1.0, 3.0)
        assert np.trace(G.T @ Phi) <= nuc * (1 + 1e-12)
    # the maximiser is attained only at msign: a perturbed unit-norm Phi is strictly worse
    P = msign(G) + 0.1 * rng.standard_normal(G.shape)
    P /= np.linalg.norm(P, 2)
    assert np.trace(G.T @ P) <= nuc * (1 + 1e-12)


@settings(max_examples=40)
@given(n=dims, m=dims, data=st.data())
def test_rank_deficient_rms_and_rank_handling(n, m, data):
    """msign = U_r V_r^T; nm RMS^2 = r (10739); singular values are r ones then zeros."""
    r = data.draw(st.integers(1, min(n, m)), label="rank")
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((n, r)) @ rng.standard_normal((r, m))
    O = msign(M)
    s = np.linalg.svd(O, compute_uv=False)
    assert np.max(np.abs(s[:r] - 1)) <= 1e-10 and np.max(np.abs(s[r:]), initial=0.0) <= 1e-10
    rms = np.sqrt(np.mean(O * O))
    assert abs(rms - np.sqrt(r / (n * m))) <= 1e-10
    # M = msign(M) (M^T M)^(1/2): the polar identity also holds for rank-deficient M
    w, V = np.linalg.eigh(M.T @ M)
    root = (V * np.sqrt(np.maximum(w, 0.0))) @ V.T
    assert np.max(np.abs(O @ root - M)) <= 1e-6 * max(1.0, np.max(np.abs(M)))


def test_special_cases():
    assert np.array_equal(msign(np.diag([2.0, -3.0, 0.5])), np.diag([1.0, -1.0, 1.0]))
    v = np.array([[3.0], [-4.0], [12.0]])
    assert np.allclose(msign(v), v / 13.0, rtol=0, atol=1e-15)
    assert np.allclose(msign(v.T), v.T / 13.0, rtol=0, atol=1e-15)
    assert np.array_equal(msign(np.zeros((3, 2))), np.zeros((3, 2)))  # rank 0


def test_transpose_and_batching(rng):
    M = rng.standard_normal((4, 3, 6, 5))
    for method in ("svd", "polar", "newton_schulz"):
        out = msign(M, method)
        loop = np.stack([np.stack([msign(M[i, j], method) for j in range(3)]) for i in range(4)])
        assert np.max(np.abs(out - loop)) <= 1e-13
        assert np.max(np.abs(msign(np.swapaxes(M, -1, -2), method) - np.swapaxes(out, -1, -2))) <= 1e-13


def test_shampoo_and_procrustes_identities(rng):
    """(G G^T)^(-1/4) G (G^T G)^(-1/4) = msign(G) (10592) and Procrustes argmin ||M - O||_F."""
    G = rng.standard_normal((7, 7))
    shampoo = np.linalg.inv(scipy.linalg.sqrtm(scipy.linalg.sqrtm(G @ G.T))).real @ G @ \
        np.linalg.inv(scipy.linalg.sqrtm(scipy.linalg.sqrtm(G.T @ G))).real
    assert np.max(np.abs(shampoo - msign(G))) <= 1e-10
    R, _ = scipy.linalg.orthogonal_procrustes(np.eye(7), G)
    assert np.max(np.abs(R - msign(G))) <= 1e-12


def test_svd_rtol_controls_rank():
    M = np.diag([1.0, 1e-9])
    assert np.array_equal(msign(M, rtol=1e-6), np.diag([1.0, 0.0]))
    assert np.array_equal(msign(M), np.eye(2))


def test_polar_rejects_rank_deficient():
    with pytest.raises(ValueError, match="'M'.*rank deficient"):
        msign(np.ones((3, 3)), "polar")


@pytest.mark.parametrize("kwargs, param", [
    (dict(M=np.ones(3)), "M"),
    (dict(M=5.0), "M"),
    (dict(M=np.zeros((0, 3))), "M"),
    (dict(M=np.array([[1.0, np.nan], [0.0, 1.0]])), "M"),
    (dict(M=np.array([[1.0, np.inf], [0.0, 1.0]])), "M"),
    (dict(M=np.eye(2), method="qr"), "method"),
    (dict(M=np.eye(2), method="svd", steps=3), "steps"),
    (dict(M=np.eye(2), method="polar", rtol=1e-3), "rtol"),
    (dict(M=np.eye(2), method="svd", rtol=-1.0), "rtol"),
    (dict(M=np.eye(2), method="newton_schulz", steps=0), "steps"),
    (dict(M=np.eye(2), method="newton_schulz", coefficients="kj"), "coefficients"),
])
def test_bad_input(kwargs, param):
    with pytest.raises(ValueError, match=f"'{param}'"):
        msign(**kwargs)


@settings(max_examples=30)
@given(M=matrices(dims, dims, cond=st.floats(1e3, 1e5)))
def test_svd_and_polar_routes_agree_when_ill_conditioned(M):
    assert np.max(np.abs(msign(M) - msign(M, "polar"))) <= 1e-9
