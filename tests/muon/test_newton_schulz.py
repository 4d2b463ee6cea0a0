"""Newton-Schulz: the scalar-map reduction, presets, eps conventions, precisions, bad input."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl.muon import COEFFICIENT_SOURCES, COEFFICIENTS, newton_schulz, scalar_map
from refimpl.muon._precision import round_bf16
from refimpl.testing import matrices

EPS = np.finfo(np.float64).eps
dims = st.integers(1, 10)
presets = st.sampled_from(sorted(COEFFICIENTS))


def _svd_route(M, norm):
    """U g(sigma / norm(sigma)) V^T computed through the SVD."""
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    return U, s / norm(s), Vt


@settings(max_examples=60)
@given(M=matrices(dims, dims, cond=st.floats(1.0, 30.0)), name=presets)
def test_output_is_scalar_map_of_normalised_singular_values(M, name):
    """NS(M) = U g(Sigma/||M||_F) V^T: same singular vectors, singular values mapped by scalar_map."""
    U, x, Vt = _svd_route(M, lambda s: np.sqrt(np.sum(s * s)))
    want = (U * scalar_map(x, name)) @ Vt
    got = newton_schulz(M, name, eps=0.0)
    # rounding of each product is amplified by at most the slope of the remaining steps (<= prod a_t)
    slope = np.prod(np.abs(COEFFICIENTS[name].reshape(-1, 3)[:, 0])) ** (5 if COEFFICIENTS[name].ndim == 1 else 1)
    assert np.max(np.abs(got - want)) <= 100 * max(M.shape) * EPS * slope


@settings(max_examples=40)
@given(M=matrices(dims, dims, cond=st.floats(1.0, 30.0)))
def test_su_improved_normalisation_uses_schatten8_norm(M):
    """The improved first step rescales by (sum sigma^8)^(1/8): singular values start at sigma / ||sigma||_8."""
    U, x, Vt = _svd_route(M, lambda s: np.sum(s**8) ** 0.125)
    want = (U * scalar_map(x, "keller")) @ Vt
    got = newton_schulz(M, normalization="su_improved", eps=0.0)
    assert np.max(np.abs(got - want)) <= 1e-9
    # and it never starts smaller than the Frobenius one: sigma/||s||_8 >= sigma/||s||_2
    assert np.all(x >= _svd_route(M, lambda s: np.sqrt(np.sum(s * s)))[1] * (1 - 1e-14))


def test_su_improved_helps_small_singular_values(rng):
    """10922: for 100x100 Gaussians the improved start raises the smallest output singular value."""
    wins = 0
    for _ in range(5):
        M = rng.standard_normal((100, 100))
        s0 = np.linalg.svd(newton_schulz(M), compute_uv=False)
        s1 = np.linalg.svd(newton_schulz(M, normalization="su_improved"), compute_uv=False)
        wins += s1[-1] > s0[-1]
    assert wins >= 4


@settings(max_examples=30)
@given(M=matrices(dims, dims), c=st.sampled_from([1e-3, 1e-9, 1e-30, 2.0**-900, 1e100]), k=st.integers(-900, 900))
def test_scale_invariance_survives_eps(M, c, k):
    """With prescale=True, NS(cM) = NS(M) for tiny c too (Emerging-Optimizers#230): an exact power of two.

    Small matrices (||M||_F < 1) are all brought to norm [1, 2) by a power of two: bitwise equal for
    power-of-two ratios, whatever eps. Other c with eps = 0: to rounding. Other c with eps > 0: eps
    perturbs X0 by a relative <= eps (norm >= 1 after the prescale), never more, however small c is.
    """
    small = M / (4.0 * np.linalg.norm(M))
    for mode in ("add", "clamp", "add_squared"):
        eps = 1e-20 if mode == "add_squared" else 1e-7
        ref = newton_schulz(small, eps=eps, eps_mode=mode, prescale=True)
        assert np.array_equal(newton_schulz(2.0 ** -abs(k) * small, eps=eps, eps_mode=mode, prescale=True), ref)
        assert np.max(np.abs(newton_schulz(c * M, eps=eps, eps_mode=mode, prescale=True) - ref)) <= 1e-5
    ref0 = newton_schulz(M, eps=0.0)
    assert np.max(np.abs(newton_schulz(c * M, eps=0.0, prescale=True) - ref0)) <= 1e-12


def test_gh_emerging_optimizers_230_public_eps_breaks_scale_invariance(rng):
    """Without the prescale (the default, the public form), ||M||_F << eps shrinks the output as in the
    public code (the reported bug); prescale=True keeps it."""
    M = rng.standard_normal((8, 8))
    M /= np.linalg.norm(M)
    tiny = 1e-12 * M  # ||tiny||_F = 1e-12 << eps = 1e-7
    public = newton_schulz(tiny)
    ours = newton_schulz(tiny, prescale=True)
    assert np.max(np.abs(ours - newton_schulz(M))) <= 1e-5  # the eps effect stays <= 2 eps relative in X0
    assert np.linalg.norm(public) < 0.1 * np.linalg.norm(ours)  # X0 ~ 1e-5 M: five steps (slope <= 3.4445**5) cannot recover


@settings(max_examples=30)
@given(M=matrices(dims, dims))
def test_transpose_tall_changes_only_rounding(M):
    a = newton_schulz(M, "you_t6", transpose_tall=True)
    b = newton_schulz(M, "you_t6", transpose_tall=False)
    assert np.max(np.abs(a - b)) <= 1e-11
    assert np.max(np.abs(newton_schulz(M.T) - newton_schulz(M).T)) <= 1e-12


def test_eps_modes_match_their_formulas(rng):
    M = rng.standard_normal((5, 7))
    f = np.linalg.norm(M)
    eps = 0.3 * f  # a large eps makes the three conventions distinguishable
    for mode, den in (("add", f + eps), ("clamp", max(f, eps)), ("add_squared", np.sqrt(f * f + eps))):
        U, sv, Vt = np.linalg.svd(M, full_matrices=False)
        want = (U * scalar_map(sv / den, "taylor2")) @ Vt
        got = newton_schulz(M, "taylor2", eps=eps, eps_mode=mode, prescale=False)
        assert np.max(np.abs(got - want)) <= 1e-13, mode


def test_zero_matrix_maps_to_zero():
    for eps in (0.0, 1e-7):
        assert np.array_equal(newton_schulz(np.zeros((3, 4)), eps=eps), np.zeros((3, 4)))


def test_batched_equals_loop(rng):
    M = rng.standard_normal((3, 2, 6, 4))
    out = newton_schulz(M, "polar_express")
    loop = np.array([[newton_schulz(M[i, j], "polar_express") for j in range(2)] for i in range(3)])
    assert np.max(np.abs(out - loop)) <= 1e-13
    # each matrix is normalised on its own: scaling one does not change the others
    M2 = M.copy()
    M2[0, 0] *= 1e6
    assert np.max(np.abs(newton_schulz(M2, "polar_express") - out)) <= 1e-12


def test_precisions(rng):
    M = rng.standard_normal((32, 48))
    ref = newton_schulz(M)
    f32 = newton_schulz(M, dtype="float32")
    bf = newton_schulz(M, dtype="bfloat16")
    assert f32.dtype == np.float32 and bf.dtype == np.float32
    assert np.array_equal(round_bf16(bf), bf)  # the emulation returns exact bfloat16 values
    assert 1e-9 < np.max(np.abs(f32 - ref)) <= 1e-4
    assert 1e-4 < np.max(np.abs(bf - ref)) <= 0.1  # bf16 unit roundoff 2**-8, amplified by NS
    assert np.array_equal(newton_schulz(M, dtype=np.float32), f32)
    assert np.array_equal(newton_schulz(M, dtype="float64"), ref)


def test_keller_band_and_convergent_schedules(rng):
    """KJ's quintic does not converge to 1: singular values stay in the scalar-map band (spec sec. 3)."""
    M = rng.standard_normal((256, 128))
    s = np.linalg.svd(M, compute_uv=False)
    x = s / np.linalg.norm(s)
    out = np.linalg.svd(newton_schulz(M, eps=0.0), compute_uv=False)
    grid = np.linspace(x.min(), 1.0, 20001)
    band = scalar_map(grid, "keller")
    assert band.min() - 1e-9 <= out.min() and out.max() <= band.max() + 1e-9
    assert 0.6 < out.min() and out.max() < 1.25
    assert np.max(np.abs(scalar_map(x, "polar_express") - 1)) < 0.02
    # the Taylor schedule converges to 1 at a fixed point with zero slope: g(1) = 1, g'(1) = 0
    a, b, c = COEFFICIENTS["taylor2"]
    assert abs(a + b + c - 1) <= EPS and abs(a + 3 * b + 5 * c) <= 4 * EPS


def test_presets_have_sources_and_shapes():
    shapes = {"cubic": (3,), "taylor2": (3,), "keller": (3,), "su_minmax": (3,), "you_t6": (6, 3), "su_x": (6, 3),
              "su_x2": (6, 3), "su_x3": (5, 3), "polar_express": (8, 3), "dion": (5, 3)}
    assert set(COEFFICIENTS) == set(shapes) == set(COEFFICIENT_SOURCES)
    for name, shape in shapes.items():
        assert COEFFICIENTS[name].shape == shape
        assert not COEFFICIENTS[name].flags.writeable
    assert COEFFICIENTS["you_t6"][0, 0] == 3955 / 1024
    assert np.all(COEFFICIENTS["polar_express"][:, 1] < 0)


def test_schedule_steps_rules(rng):
    M = rng.standard_normal((4, 4))
    assert np.array_equal(newton_schulz(M, "you_t6"), newton_schulz(M, "you_t6", steps=6))
    assert np.array_equal(newton_schulz(M, COEFFICIENTS["keller"], steps=3),
                          newton_schulz(M, np.tile(COEFFICIENTS["keller"], (3, 1))))
    assert np.array_equal(newton_schulz(M), newton_schulz(M, "keller", steps=5))
    x = np.linspace(0.01, 1, 7)
    assert np.array_equal(scalar_map(x, COEFFICIENTS["polar_express"][:3]),
                          scalar_map(scalar_map(x, COEFFICIENTS["polar_express"][:2]),
                                     COEFFICIENTS["polar_express"][2], steps=1))


def test_improved_first_step_bf16_runs(rng):
    M = rng.standard_normal((16, 24))
    out = newton_schulz(M, normalization="su_improved", dtype="bfloat16", eps=1e-20, eps_mode="add_squared")
    ref = newton_schulz(M, normalization="su_improved", eps=0.0)
    assert np.max(np.abs(out - ref)) <= 0.1


@pytest.mark.peer
def test_bf16_emulation_against_torch_newton_schulz(rng):
    """Same bf16 input: the emulation equals torch.optim.Muon's bf16 NS up to rare 1-ulp flips.

    The products agree bitwise (float32 accumulation, one rounding per addmm); differences come only from
    a different float32 summation order in MKL, which flips a bf16 rounding now and then; a flipped
    element differs by a few bf16 ulps (2**-7 at 1) after the remaining steps.
    """
    torch = pytest.importorskip("torch")
    muon_mod = pytest.importorskip("torch.optim._muon")
    zp = getattr(muon_mod, "_zeropower_via_newtonschulz", None)
    if zp is None:
        pytest.skip("torch.optim._muon has no _zeropower_via_newtonschulz")
    exact, ratios = 0, []
    for i in range(12):
        G = rng.standard_normal([(32, 96), (64, 32), (50, 50)][i % 3]).astype(np.float32)
        T = zp(torch.from_numpy(G), (3.4445, -4.7750, 2.0315), 5, 1e-7).float().numpy()
        E = newton_schulz(G.astype(np.float64), dtype="bfloat16", eps_mode="clamp")
        F = newton_schulz(G.astype(np.float64))
        exact += np.array_equal(T, E)
        assert np.max(np.abs(T - E)) <= 4 * 2.0**-7  # a few bf16 ulps at 1
        rms_e, rms_f = np.sqrt(np.mean((T - E) ** 2)), np.sqrt(np.mean((T - F) ** 2))
        assert rms_e <= 0.6 * rms_f  # the emulation is always much closer to torch than float64 is
        ratios.append(rms_e / rms_f)
    assert exact >= 3
    assert np.median(ratios) <= 0.1


@pytest.mark.parametrize("kwargs, param", [
    (dict(M=np.ones(4)), "M"),
    (dict(M=np.full((2, 2), np.nan)), "M"),
    (dict(M=np.array([[np.inf, 0.0], [0.0, 1.0]])), "M"),
    (dict(M=np.eye(2), steps=0), "steps"),
    (dict(M=np.eye(2), steps=-3), "steps"),
    (dict(M=np.eye(2), coefficients="you_t6", steps=5), "steps"),
    (dict(M=np.eye(2), coefficients=np.ones((4, 2))), "coefficients"),
    (dict(M=np.eye(2), coefficients=np.ones(4)), "coefficients"),
    (dict(M=np.eye(2), coefficients=np.ones((0, 3))), "coefficients"),
    (dict(M=np.eye(2), coefficients=np.ones((2, 3, 3))), "coefficients"),
    (dict(M=np.eye(2), coefficients=[1.0, np.nan, 0.0]), "coefficients"),
    (dict(M=np.eye(2), coefficients="keler"), "coefficients"),
    (dict(M=np.eye(2), eps=-1e-7), "eps"),
    (dict(M=np.eye(2), normalization="spectral"), "normalization"),
    (dict(M=np.eye(2), eps_mode="max"), "eps_mode"),
    (dict(M=np.eye(2), dtype="float16"), "dtype"),
    (dict(M=np.eye(2), dtype=np.int32), "dtype"),
    (dict(M=np.eye(2), dtype="bogus"), "dtype"),
    (dict(M=np.eye(2), steps=2**64), "steps"),
    (dict(M=np.eye(2), steps=True), "steps"),
    (dict(M=np.eye(2), prescale="no"), "prescale"),
    (dict(M=np.eye(2), transpose_tall=1), "transpose_tall"),
    (dict(M=[[1.0, 2.0], [3.0]]), "M"),
    (dict(M=np.zeros((0, 3))), "M"),
    (dict(M=np.eye(2), backend="numba"), "backend"),
    (dict(M=np.eye(2), backend="gpu"), "backend"),
])
def test_bad_input(kwargs, param):
    with pytest.raises(ValueError, match=f"'{param}'"):
        newton_schulz(**kwargs)


@pytest.mark.parametrize("kwargs, param", [
    (dict(x=[0.5, np.nan]), "x"),
    (dict(x=0.5, steps=0), "steps"),
    (dict(x=0.5, coefficients="nope"), "coefficients"),
    (dict(x=0.5, steps=2**64), "steps"),
    (dict(x="0.5"), "x"),
])
def test_scalar_map_bad_input(kwargs, param):
    with pytest.raises(ValueError, match=f"'{param}'"):
        scalar_map(**kwargs)


def test_batched_loop_path_equals_single_calls(rng):
    """Stacks of matrices with n*n*m >= 32**3 run as a loop of 2-D calls: identical to calling one by one."""
    M = rng.standard_normal((3, 40, 48))
    for dtype in (None, "float32"):
        out = newton_schulz(M, "su_x3", dtype=dtype, normalization="su_improved")
        for i in range(3):
            assert np.array_equal(out[i], newton_schulz(M[i], "su_x3", dtype=dtype, normalization="su_improved"))


@pytest.mark.peer
def test_bf16_keller_emulation_against_torch_running_kellers_loop(rng):
    """dtype="bfloat16_keller" vs KellerJordan's zeropower_via_newtonschulz5 run by torch in bf16 on CPU.

    Same bf16 input; torch rounds each tensor operation to bf16 (matmuls accumulate in float32). The
    emulation follows that structure; a different float32 summation order flips a rounding now and
    then, which the remaining steps carry to a few bf16 ulps at most. The addmm emulation ("bfloat16")
    has another rounding structure and is measurably farther from Keller's loop.
    """
    torch = pytest.importorskip("torch")
    from refimpl.muon.cases import _keller_ns

    ratios, exact = [], 0
    for i in range(12):
        G = rng.standard_normal([(32, 96), (64, 32), (50, 50)][i % 3]).astype(np.float32)
        T = _keller_ns(torch, torch.from_numpy(G)).float().numpy()
        K = newton_schulz(G.astype(np.float64), dtype="bfloat16_keller")
        A = newton_schulz(G.astype(np.float64), dtype="bfloat16")
        F = newton_schulz(G.astype(np.float64))
        assert K.dtype == np.float32 and np.array_equal(round_bf16(K), K)
        exact += np.array_equal(T, K)
        assert np.max(np.abs(T - K)) <= 4 * 2.0**-7
        rms = lambda Z: np.sqrt(np.mean((T - Z) ** 2))  # noqa: E731
        assert rms(K) <= 0.6 * rms(F)
        ratios.append((rms(K), rms(A)))
    assert exact >= 3
    assert np.median([k for k, _ in ratios]) < np.median([a for _, a in ratios])


def test_huge_inputs_raise_or_are_prescaled(rng):
    """||M||_F^2 beyond the working precision's range: an error naming 'M' (the public code would return
    0 or NaN silently); with prescale=True the power-of-two rescaling makes it exact and finite."""
    M = rng.standard_normal((30, 40))
    ref = newton_schulz(M, dtype="float32")
    for c in (1e30, 1e200):
        assert np.max(np.abs(newton_schulz(c * M, dtype="float32", prescale=True) - ref)) <= 1e-4
        for dtype in ("float32", "bfloat16", "bfloat16_keller"):
            with pytest.raises(ValueError, match="'M'.*prescale=True"):
                newton_schulz(c * M, dtype=dtype)
    with pytest.raises(ValueError, match="'M'.*prescale=True"):
        newton_schulz(1e200 * M)
    assert np.max(np.abs(newton_schulz(1e150 * M, eps=0.0) - newton_schulz(M, eps=0.0))) <= 1e-12


def test_auto_path_agrees_with_reference(rng):
    """backend="auto" on NumPy runs the tuned arrangement (_fast.py); backend="reference" KellerJordan's loop."""
    for shape in ((7, 5), (3, 40, 48), (2, 2, 9, 33)):
        M = rng.standard_normal(shape)
        for norm in ("frobenius", "su_improved"):
            for dtype, tol in ((None, 1e-12), ("float32", 5e-5)):
                a = newton_schulz(M, "su_x", normalization=norm, dtype=dtype)
                r = newton_schulz(M, "su_x", normalization=norm, dtype=dtype, backend="reference")
                assert a.dtype == r.dtype and np.max(np.abs(a.astype(np.float64) - r)) <= tol


def test_stack_modes_agree_with_reference(rng):
    """Every way the tuned path runs a stack (threads over the batch, a loop, one batched call) is the
    reference iteration on each matrix, and keeps the stack's shape and order."""
    from refimpl.muon import _fast
    from refimpl.muon.newton_schulz import resolve_coefficients

    M = rng.standard_normal((5, 40, 36))
    M[2] *= 100.0  # matrices of different scales: a mix-up of the order would show
    sched = resolve_coefficients("keller", None)
    ref = newton_schulz(M, backend="reference")
    for mode in ("threads", "loop", "batched"):
        for dt, tol in ((np.float64, 1e-12), (np.float32, 5e-5)):
            out = _fast.newton_schulz_numpy(M, sched, 1e-7, "frobenius", "add", True, False, dt, mode=mode)
            assert out.shape == M.shape and out.dtype == dt
            err = np.max(np.abs(out.astype(np.float64) - ref))
            assert err <= tol, (mode, dt, err)


def test_default_is_kellerjordans_form(rng):
    """At the defaults the result is KellerJordan's zeropower_via_newtonschulz5 (in float64): X0 = M/(||M||+1e-7)."""
    for shape in ((1, 1), (5, 3), (3, 5)):
        M = 1e-3 * rng.standard_normal(shape)
        a, b, c = 3.4445, -4.7750, 2.0315
        X = M.T if M.shape[0] > M.shape[1] else M
        X = X / (np.linalg.norm(X) + 1e-7)
        for _ in range(5):
            A = X @ X.T
            X = a * X + (b * A + c * A @ A) @ X
        X = X.T if M.shape[0] > M.shape[1] else X
        assert np.max(np.abs(newton_schulz(M) - X)) <= 1e-13


@pytest.mark.parametrize("x", [3.0, -2.5, [0.5, 40.0]])
def test_scalar_map_outside_its_domain_raises(x):
    with pytest.raises(ValueError, match="'x'.*overflows"):
        scalar_map(x, "keller", steps=8)
    assert np.isfinite(scalar_map(1.2, "keller"))
