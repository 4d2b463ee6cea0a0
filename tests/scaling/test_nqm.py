"""refimpl.scaling.nqm: Monte-Carlo optimal learning rates on the noisy quadratic model.

Statistical tolerances come from the estimator's own confidence interval:
calls use ``confidence=CONF`` (two-sided, z = 4.42), so with the ~100
comparisons below a false failure has probability < 1e-3 -- and every test is
seeded, hence deterministic.
"""
import math

import numba
from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest

from refimpl.scaling import (
    b_noise, b_simple, nqm_optimal_lr, nqm_train_to_target, optimal_lr_sgd, optimal_lr_sign, surge,
)

CONF = 0.99999
Z = 4.4172  # norm.ppf(0.5 + CONF / 2)
EPS = np.finfo(np.float64).eps


def problem(seed, n, *, dense_h=True, dense_sigma=True):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n))
    H = A @ A.T / n + 0.3 * np.eye(n) if dense_h else rng.uniform(0.3, 2.0, n)
    C = rng.standard_normal((n, n))
    S = C @ C.T / n if dense_sigma else rng.uniform(0.1, 2.0, n)
    g = rng.standard_normal(n)
    return g, H, S


def within_ci(res, want):
    """Every closed-form value lies in the CONF interval (or, if the draws are all equal, to rounding)."""
    tol = np.maximum(res.ci_high - res.eta, 64 * EPS * np.abs(want))
    return np.abs(res.eta - want) <= tol


@pytest.mark.parametrize("backend", ["numba", "reference"])
@pytest.mark.parametrize("dense_h,dense_sigma", [(True, True), (False, False), (True, False), (False, True)])
def test_sgd_monte_carlo_matches_the_closed_form(backend, dense_h, dense_sigma):
    g, H, S = problem(11, 6, dense_h=dense_h, dense_sigma=dense_sigma)
    B = np.array([1, 3, 10, 100, 1000.0])
    res = nqm_optimal_lr(g, H, S, B, n_samples=40_000, rng=1, confidence=CONF, backend=backend)
    want = optimal_lr_sgd(g, H, S, B)
    assert np.all(within_ci(res, want)), ((res.eta - want) / res.stderr)
    assert np.all(res.stderr > 0) and np.all(res.ci_low < res.eta)


@pytest.mark.parametrize("backend", ["numba", "reference"])
def test_sign_monte_carlo_matches_the_exact_erf_formula(backend):
    g, H, var = problem(12, 7, dense_sigma=False)
    B = np.array([1, 4, 16, 256.0])
    res = nqm_optimal_lr(g, H, var, B, update="sign", n_samples=40_000, rng=2, confidence=CONF, backend=backend)
    want = optimal_lr_sign(g, np.sqrt(var), H, B)
    assert np.all(within_ci(res, want)), ((res.eta - want) / res.stderr)
    # the elementary approximation is a different number, further than the interval here
    approx = optimal_lr_sign(g, np.sqrt(var), H, B, exact=False)
    assert np.any(~within_ci(res, approx))


def test_sgd_lr_increases_linearly_then_saturates_in_simulation():
    g, H, S = problem(13, 5)
    bn = b_noise(g, H, S)
    eta_max = (g @ g) / (g @ H @ g)
    B = np.array([1.0, 2.0, 4.0, 1e6])
    res = nqm_optimal_lr(g, H, S, B, n_samples=40_000, rng=3, confidence=CONF)
    d = np.diff(res.eta)
    assert np.all(d > Z * np.hypot(res.stderr[1:], res.stderr[:-1]))     # significantly increasing
    assert abs(res.eta[-1] - eta_max) <= res.ci_high[-1] - res.eta[-1] + eta_max / (1 + 1e6 / bn) * bn / 1e6


def test_b_noise_fitted_from_simulation_equals_b_simple_when_H_is_isotropic():
    """1/eta* = (1 + B_noise/B)/eta_max is linear in 1/B: two simulated points give B_noise."""
    n = 8
    rng = np.random.default_rng(4)
    g = rng.standard_normal(n)
    S = rng.uniform(0.2, 3.0, n)
    H = 2.5 * np.eye(n)
    assert b_noise(g, H, S) == pytest.approx(b_simple(g, S), rel=8 * n * EPS)
    B = np.array([2.0, 64.0])
    res = nqm_optimal_lr(g, H, S, B, n_samples=100_000, rng=5, confidence=CONF)
    draws = np.random.default_rng(6).normal(res.eta, res.stderr, size=(200_000, 2))
    inv = 1.0 / draws
    slope = (inv[:, 0] - inv[:, 1]) / (1 / B[0] - 1 / B[1])
    intercept = inv[:, 0] - slope / B[0]
    fitted = slope / intercept
    lo, hi = np.quantile(fitted, [(1 - CONF) / 2, (1 + CONF) / 2])
    assert lo <= b_simple(g, S) <= hi


@pytest.mark.parametrize("backend", ["numba", "reference"])
def test_surge_rises_then_falls_where_predicted(backend):
    n, kappa = 16, 4.0
    g = np.full(n, 0.5)
    H = 0.8 * np.eye(n) + 0.2 * np.ones((n, n))  # beta_noise = sqrt(16/48) < 1
    s = surge(g, H, kappa)
    assert s.has_surge
    sig = kappa * g
    grid = np.geomspace(1.0, s.b_noise * 64, 801)
    peak = grid[np.argmax(optimal_lr_sign(g, sig, H, grid))]
    assert 0.5 * s.b_noise < peak < s.b_noise          # exact-erf peak just below the mean-field B_noise
    B = np.array([1.0, peak, peak * 16])
    res = nqm_optimal_lr(g, H, sig**2, B, update="sign", n_samples=40_000, rng=7, confidence=CONF,
                         backend=backend)
    assert np.all(within_ci(res, optimal_lr_sign(g, sig, H, B)))
    rise = res.eta[1] - res.eta[0]
    fall = res.eta[1] - res.eta[2]
    assert rise > Z * math.hypot(res.stderr[1], res.stderr[0])
    assert fall > Z * math.hypot(res.stderr[1], res.stderr[2])


def test_no_surge_in_simulation_when_beta_noise_at_least_one():
    n, kappa = 6, 2.0
    g = np.full(n, 0.5)
    H = 0.9 * np.eye(n) + 0.1 * np.ones((n, n))   # D/O = 6/3: beta_noise = sqrt(2)
    s = surge(g, H, kappa)
    assert not s.has_surge
    B = np.geomspace(1, 4096, 7)
    res = nqm_optimal_lr(g, H, (kappa * g) ** 2, B, update="sign", n_samples=40_000, rng=8, confidence=CONF)
    d = np.diff(res.eta)
    se = np.hypot(res.stderr[1:], res.stderr[:-1])
    assert np.all(d >= -Z * se)                      # never significantly decreasing
    assert res.eta[-1] - res.eta[0] > Z * math.hypot(res.stderr[-1], res.stderr[0])
    exact = optimal_lr_sign(g, kappa * g, H, np.geomspace(1, 1e7, 400))
    assert np.all(np.diff(exact) >= -4 * EPS * exact[1:]) and exact[-1] > exact[0]  # flat where erf rounds to 1


def test_numba_and_reference_agree_statistically():
    g, H, S = problem(14, 5, dense_h=False, dense_sigma=False)
    B = np.array([1.0, 8.0, 64.0])
    for update in ("sgd", "sign"):
        a = nqm_optimal_lr(g, H, S, B, update=update, n_samples=30_000, rng=9, backend="numba")
        b = nqm_optimal_lr(g, H, S, B, update=update, n_samples=30_000, rng=9, backend="reference")
        assert np.all(np.abs(a.eta - b.eta) <= Z * np.hypot(a.stderr, b.stderr))


def test_reproducible_and_independent_of_thread_count():
    g, H, S = problem(15, 4, dense_h=False, dense_sigma=False)
    r1 = nqm_optimal_lr(g, H, S, [2.0, 16.0], update="sign", n_samples=20_000, rng=10, backend="numba")
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        r2 = nqm_optimal_lr(g, H, S, [2.0, 16.0], update="sign", n_samples=20_000, rng=10, backend="numba")
    finally:
        numba.set_num_threads(old)
    np.testing.assert_array_equal(r1.eta, r2.eta)
    np.testing.assert_array_equal(r1.stderr, r2.stderr)
    r3 = nqm_optimal_lr(g, H, S, [2.0, 16.0], update="sign", n_samples=20_000, rng=11, backend="numba")
    assert not np.array_equal(r1.eta, r3.eta)


@pytest.mark.parametrize("update", ["sgd", "sign"])
def test_estimate_is_the_argmin_of_the_sampled_loss(update):
    """Naive route: evaluate L(theta - eta u) = 1/2 (theta - eta u)^T H (theta - eta u) on a grid of eta.

    The NumPy backend draws its normals in order from ``default_rng(seed)``,
    so the same draws can be regenerated here.
    """
    g, H, S = problem(16, 4, dense_sigma=False)
    theta = np.linalg.solve(H, g)
    B, N = 5.0, 2000
    res = nqm_optimal_lr(g, H, S, [B], update=update, n_samples=N, rng=12, backend="reference")
    Zs = np.random.default_rng(12).standard_normal((N, 4))
    X = g + Zs * np.sqrt(S / B)
    U = X if update == "sgd" else np.sign(X)
    L0 = 0.5 * theta @ H @ theta
    etas = np.linspace(0.9, 1.1, 2001) * res.eta[0]
    losses = np.empty(etas.size)
    for k, eta in enumerate(etas):
        T = theta - eta * U                                            # (N, n): the updated points
        losses[k] = 0.5 * np.mean(np.einsum("si,ij,sj->s", T, H, T)) - L0
    k = np.argmin(losses)
    assert 0 < k < etas.size - 1
    assert abs(etas[k] - res.eta[0]) <= (etas[1] - etas[0])
    np.testing.assert_allclose(res.loss_change(etas[::100]), losses[::100], rtol=1e-9, atol=1e-12 * abs(L0))


def test_training_runs_follow_the_steps_examples_law():
    """With B_noise held constant along training (noise="scaled") the fitted E_min/S_min recovers it.

    The hyperbola S = S_min + E_min/B assumes the continuum limit (many small
    steps); with tens of steps it holds approximately (spec section 8 (5)),
    so this is a model check to a factor, not a statistical one.
    """
    n, kap = 20, 100.0
    h = np.geomspace(1, 1 / kap, n)
    theta0 = np.random.default_rng(0).standard_normal(n) / np.sqrt(h)
    L0 = 0.5 * theta0 @ (h * theta0)
    bs = np.array([1, 2, 4, 8, 16, 32, 64, 128.0])
    tr = nqm_train_to_target(theta0, h, h, bs, 1e-2 * L0, noise="scaled", n_runs=16, rng=1)
    assert tr.b_noise_start == pytest.approx(tr.b_noise_end, rel=1e-9)
    assert np.all(tr.examples[1:] > tr.examples[:-1] - Z * (bs[1:] * tr.steps_stderr[1:] + bs[:-1] * tr.steps_stderr[:-1]))
    assert tr.steps[0] > tr.steps[-1] + Z * math.hypot(tr.steps_stderr[0], tr.steps_stderr[-1])
    fit = tr.fit()
    assert 0.5 * tr.b_noise_start < fit.b_noise < 2.0 * tr.b_noise_start
    # constant noise: B_noise grows along training; the fit lands between its start and end values
    tr2 = nqm_train_to_target(theta0, h, 0.01 * h, bs, 1e-2 * L0, noise="constant", n_runs=16, rng=2)
    assert tr2.b_noise_start < tr2.fit().b_noise < tr2.b_noise_end


def test_training_with_sign_updates_and_fixed_lr():
    h = np.array([1.0, 0.5, 0.25])
    theta0 = np.array([1.0, -2.0, 3.0])
    tr = nqm_train_to_target(theta0, h, [0.5, 0.5, 0.5], [1, 16], 0.05, update="sign", n_runs=4, rng=3)
    assert np.all(tr.steps > 0) and tr.steps[0] >= tr.steps[1]
    tr = nqm_train_to_target(theta0, h, [0.5, 0.5, 0.5], [1, 16], 0.05, lr=0.5, n_runs=4, rng=3)
    assert np.all(tr.steps_per_run >= 1)
    with pytest.raises(RuntimeError, match="max_steps"):
        nqm_train_to_target(theta0, h, [0.5, 0.5, 0.5], [1], 1e-6, lr=1e-4, n_runs=2, max_steps=5, rng=0)


# ------------------------------------------------------------------------- bad input

G, H2, S2 = [1.0, 2.0], [1.0, 2.0], [1.0, 1.0]


@pytest.mark.parametrize("kwargs,param", [
    (dict(batch_sizes=[0.5]), "'batch_sizes'"),
    (dict(batch_sizes=[]), "'batch_sizes'"),
    (dict(H=[[1.0, 2.0], [2.0, 1.0]]), "'H'"),
    (dict(Sigma=[1.0, -1.0]), "'Sigma'"),
    (dict(update="adam"), "'update'"),
    (dict(n_samples=1), "'n_samples'"),
    (dict(confidence=1.0), "'confidence'"),
    (dict(confidence=0.0), "'confidence'"),
    (dict(backend="cuda"), "'backend'"),
    (dict(rng=-1), "'rng'"),
    (dict(g=[0.0, 0.0]), "'g'"),
])
def test_nqm_bad_input(kwargs, param):
    args = dict(g=G, H=H2, Sigma=S2, batch_sizes=[1.0, 4.0], n_samples=100)
    args.update(kwargs)
    with pytest.raises(ValueError, match=param):
        nqm_optimal_lr(args.pop("g"), args.pop("H"), args.pop("Sigma"), args.pop("batch_sizes"), **args)


@pytest.mark.parametrize("kwargs,param", [
    (dict(target_loss=100.0), "'target_loss'"),
    (dict(target_loss=0.0), "'target_loss'"),
    (dict(lr=-1.0), "'lr'"),
    (dict(lr="best"), "'lr'"),
    (dict(noise="white"), "'noise'"),
    (dict(n_runs=1), "'n_runs'"),
    (dict(batch_sizes=[0.0]), "'batch_sizes'"),
    (dict(update="sign", Sigma=[[1.0, 0.5], [0.5, 1.0]]), "'Sigma'"),
])
def test_training_bad_input(kwargs, param):
    args = dict(theta0=[1.0, 1.0], H=H2, Sigma=S2, batch_sizes=[1.0, 4.0], target_loss=0.1, n_runs=2)
    args.update(kwargs)
    with pytest.raises(ValueError, match=param):
        nqm_train_to_target(args.pop("theta0"), args.pop("H"), args.pop("Sigma"), args.pop("batch_sizes"),
                            args.pop("target_loss"), **args)


@pytest.mark.peer
def test_torch_adam_first_step_is_the_sign_update():
    """The article's premise for modelling Adam by SignSGD, checked against torch.optim.Adam (eps=0)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(20)
    for betas, steps in (((0.9, 0.999), 1), ((0.0, 0.0), 4)):
        p = torch.zeros(30, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.Adam([p], lr=0.05, betas=betas, eps=0.0)
        for _ in range(steps):
            grad = rng.standard_normal(30)
            before = p.detach().clone()
            p.grad = torch.from_numpy(grad)
            opt.step()
            np.testing.assert_allclose((before - p.detach()).numpy(), 0.05 * np.sign(grad), rtol=1e-14, atol=0)


@pytest.mark.parametrize("call,param", [
    (lambda: nqm_optimal_lr([1e300, 1.0], H2, S2, [1.0]), "'g'"),
    (lambda: nqm_optimal_lr(G, H2, [1e300, 1.0], [1.0]), "'Sigma'"),
    (lambda: nqm_optimal_lr(G, [1e300, 1.0], S2, [1.0]), "'H'"),
    (lambda: nqm_optimal_lr([1e-170, 1e-170], H2, S2, [1.0]), "underflow"),
    (lambda: nqm_optimal_lr(G, H2, S2, [1.0], n_samples=2**64), "'n_samples'"),
    (lambda: nqm_train_to_target([1e300, 1.0], H2, S2, [1.0], 0.1), "'theta0'"),
    (lambda: nqm_train_to_target([1.0, 1.0], H2, S2, [1.0], 0.1, n_runs=2**62), "'n_runs'"),
])
def test_extreme_magnitudes_and_sizes_raise_naming_the_parameter(call, param):
    """Finite inputs whose statistics overflow or underflow float64 are refused, never a silent NaN or inf."""
    with pytest.raises(ValueError, match=param):
        call()


@pytest.mark.parametrize("kwargs,param", [
    (dict(n_samples=True), "'n_samples'"), (dict(n_samples=100.0), "'n_samples'"),
    (dict(rng=True), "'rng'"), (dict(rng=1.5), "'rng'"), (dict(rng="0"), "'rng'"),
])
def test_nqm_type_errors(kwargs, param):
    with pytest.raises(TypeError, match=param):
        nqm_optimal_lr(G, H2, S2, [1.0], **{"n_samples": 100, **kwargs})


@pytest.mark.parametrize("eta", [float("nan"), None, "0.3", [0.1, float("inf")]])
def test_loss_change_validates_eta(eta):
    res = nqm_optimal_lr(G, H2, S2, [1.0, 4.0], n_samples=100, rng=0)
    with pytest.raises((TypeError, ValueError), match="'eta'"):
        res.loss_change(eta)


def test_loss_change_broadcasts_and_is_the_sampled_quadratic():
    res = nqm_optimal_lr(G, H2, S2, [1.0, 4.0], n_samples=1000, rng=0)
    etas = np.array([[0.0], [0.5], [1.0]])
    want = -etas * res.mean_a + 0.5 * etas ** 2 * res.mean_b
    np.testing.assert_array_equal(res.loss_change(etas), want)
    assert np.all(res.loss_change(res.eta) <= res.loss_change(res.eta * 1.01))


def test_steps_stderr_is_the_sample_standard_error_over_runs():
    """steps_stderr = std(steps_per_run, ddof=1) / sqrt(n_runs), exactly (ddof=1: the unbiased variance)."""
    tr = nqm_train_to_target([1.0, -2.0, 0.5], [1.0, 0.5, 0.2], [1.0, 1.0, 1.0], [1, 4, 16], 1e-2,
                             n_runs=5, rng=4)
    assert tr.steps_per_run.shape == (3, 5)
    assert np.any(tr.steps_per_run.std(axis=1) > 0)        # the runs differ, so ddof matters
    want = tr.steps_per_run.std(axis=1, ddof=1) / math.sqrt(5)
    np.testing.assert_array_equal(tr.steps_stderr, want)
    np.testing.assert_array_equal(tr.steps, tr.steps_per_run.mean(axis=1))
    np.testing.assert_array_equal(tr.examples, tr.batch_sizes * tr.steps)


def test_boolean_batch_sizes_and_lr_are_refused():
    with pytest.raises(TypeError, match="'batch_sizes'"):
        nqm_optimal_lr(G, H2, S2, [True, 4.0], n_samples=10)
    with pytest.raises(TypeError, match="'lr'"):
        nqm_train_to_target([1.0, 1.0], H2, S2, [1.0], 0.1, lr=True)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 6), seed=st.integers(0, 2**32 - 1), update=st.sampled_from(["sgd", "sign"]),
       backend=st.sampled_from(["reference", "numba"]))
def test_noiseless_model_gives_the_exact_line_search(n, seed, update, backend):
    """Sigma = 0: every sample is the noiseless update u0, so eta = u0.g / u0^T H u0 to rounding, stderr 0."""
    g, H, _ = problem(seed, n)
    res = nqm_optimal_lr(g, H, np.zeros(n), [1.0, 7.0], update=update, n_samples=50, rng=seed, backend=backend)
    u0 = g if update == "sgd" else np.sign(g)
    want = (u0 @ g) / (u0 @ H @ u0)
    np.testing.assert_allclose(res.eta, want, rtol=8 * n * EPS, atol=0)
    np.testing.assert_array_equal(res.stderr, 0.0)
