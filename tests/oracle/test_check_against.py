"""check_against on the ssm oracles: correct candidates pass, wrong ones are caught and shrunk."""
import numpy as np
import pytest
import scipy.linalg
import scipy.signal

from refimpl.ssm import legs
from refimpl.testing import OracleResult, check_against, oracle_names


def dense_matvec(v):
    """A correct O(N^2) LegS matvec in v's dtype (a different summation order than refimpl)."""
    n = np.arange(v.shape[0])
    r = np.sqrt(2 * n + 1.0)
    A = (-np.tril(np.outer(r, r), -1) - np.diag(n + 1.0)).astype(v.dtype)
    return A @ v


def dense_solve(v, lam):
    M = np.eye(len(v)) - lam * legs(len(v))[0]
    return scipy.linalg.solve_triangular(M.astype(v.dtype), v, lower=True)


_C2D = {"zoh": "zoh", "bilinear": "bilinear", "forward_euler": "euler", "backward_euler": "backward_diff",
        "gbt": "gbt"}


def c2d(A, B, dt, method, alpha=None):
    """scipy.signal.cont2discrete as a candidate for ssm.discretize."""
    B2 = B if B.ndim == 2 else B[:, None]
    Ab, Bb, *_ = scipy.signal.cont2discrete((A, B2, np.eye(len(A)), 0), dt, method=_C2D[method],
                                            alpha=0.5 if alpha is None else alpha)
    return Ab.astype(A.dtype), (Bb if B.ndim == 2 else Bb[:, 0]).astype(A.dtype)


def test_registry_has_the_ssm_cases():
    assert {"ssm.legs_matvec", "ssm.legs_solve", "ssm.discretize"} <= set(oracle_names())


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,candidate", [("ssm.legs_matvec", dense_matvec), ("ssm.legs_solve", dense_solve),
                                            ("ssm.discretize", c2d)])
def test_correct_peers_pass(name, candidate, dtype):
    res = check_against(name, candidate, dtype=dtype, max_examples=40)
    assert isinstance(res, OracleResult)
    assert res, res.message
    assert res.passed and res.counterexample is None and res.n_examples >= 40
    assert 0 <= res.max_rel_error <= res.rtol  # 0: a candidate may be the definition itself (dense solve)
    assert res.worst_ratio <= 1.0


def test_result_is_falsy_and_shrunk_for_a_wrong_candidate():
    def off_by_one_diagonal(v):  # uses -n instead of -(n+1) on the diagonal
        n = np.arange(v.shape[0])
        r = np.sqrt(2 * n + 1.0)
        return (-np.tril(np.outer(r, r), -1) - np.diag(n * 1.0)) @ v

    res = check_against("ssm.legs_matvec", off_by_one_diagonal, max_examples=30)
    assert not res
    assert not res.passed and res.max_error > 0.01
    cx = res.counterexample
    assert cx.drawn["N"] == 1 and cx.drawn["v"] == 0  # shrunk to the smallest size and seed 0
    assert cx.inputs["v"].shape == (1,)
    np.testing.assert_array_equal(cx.expected, -cx.inputs["v"])
    assert "out of tolerance" in cx.reason
    with pytest.raises(AssertionError, match="smallest failing input"):
        res.raise_for_failure()
    assert "FAILED" in repr(res)


def test_options_the_candidate_lacks_are_held_at_defaults():
    res = check_against("ssm.legs_matvec", dense_matvec, max_examples=10)
    assert res.held_at_default == {"normalization": "paper"}
    assert "held at refimpl's defaults: normalization='paper'" in res.message
    # a candidate that takes the option gets every normalisation, and must handle it
    seen = set()

    def with_norm(v, normalization="paper"):
        seen.add(normalization)
        return dense_matvec(v)  # ignores the option: wrong for "integer"

    res = check_against("ssm.legs_matvec", with_norm, max_examples=60)
    assert not res and res.counterexample.inputs["normalization"] == "integer"
    assert seen == {"paper", "su", "integer"}


def test_fixed_pins_parameters_and_is_not_passed():
    calls = []

    def zoh_only(A, B, dt):
        calls.append(A.shape[0])
        return c2d(A, B, dt, "zoh")

    res = check_against("ssm.discretize", zoh_only, fixed={"method": "zoh", "N": 3}, max_examples=15)
    assert res, res.message
    assert set(calls) == {3}


def test_wrong_dtype_shape_count_and_exceptions_are_reported():
    res = check_against("ssm.legs_matvec", lambda v: dense_matvec(v.astype(np.float64)), dtype="float32",
                        max_examples=5)
    assert not res and res.counterexample.reason.startswith("wrong dtype: output has dtype float64, expected float32 (the values themselves agree")
    res = check_against("ssm.legs_matvec", lambda v: dense_matvec(v)[:-1] if len(v) > 3 else dense_matvec(v),
                        max_examples=50)
    assert not res and res.counterexample.reason == "wrong shape: output has shape (3,), expected (4,)"
    res = check_against("ssm.discretize", lambda A, B, dt, method, alpha=None: c2d(A, B, dt, method, alpha)[0],
                        max_examples=5)
    assert not res and "candidate returned one value, expected a tuple of 2" in res.counterexample.reason
    res = check_against("ssm.legs_solve", lambda v, lam: 1 / 0, max_examples=5)
    assert not res and res.counterexample.reason == "candidate raised ZeroDivisionError: division by zero"
    res = check_against("ssm.legs_matvec", lambda v: dense_matvec(v) * np.nan, max_examples=5)
    assert not res and "non-finite value" in res.counterexample.reason


def test_complex_output_for_real_reference_is_a_dtype_error():
    res = check_against("ssm.legs_matvec", lambda v: dense_matvec(v) + 0j, max_examples=3)
    assert not res and "complex128, expected float64" in res.counterexample.reason


def test_unknown_name_lists_known_oracles():
    with pytest.raises(ValueError, match=r"unknown oracle 'ssm.legs_matvek'; known oracles: .*ssm\.legs_matvec"):
        check_against("ssm.legs_matvek", dense_matvec)


@pytest.mark.parametrize("kwargs,match", [
    ({"dtype": "float8"}, "'dtype'"),
    ({"dtype": "bfloat16"}, "'dtype': oracle 'ssm.legs_matvec' has tolerances for float64, float32"),
    ({"max_examples": 0}, "'max_examples'"),
    ({"fixed": {"layout": "half"}}, "'fixed': oracle 'ssm.legs_matvec' has no parameter 'layout'; its parameters"),
    ({"fixed": {"normalization": "bogus"}}, "'fixed': normalization='bogus' is not among"),
    ({"rtol": -1.0, "atol": 0.0}, "'rtol'/'atol'"),
    ({"convert": "tensorflow"}, "'convert'"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        check_against("ssm.legs_matvec", dense_matvec, **kwargs)


def test_non_callable_candidate():
    with pytest.raises(TypeError, match="'candidate'"):
        check_against("ssm.legs_matvec", np.ones(3))


def test_rtol_override_and_bfloat16_with_explicit_tolerance():
    # bfloat16 emulated with float32 arrays holding bf16 values: the candidate must say bfloat16,
    # so a NumPy candidate fails on dtype, which is the documented behaviour.
    res = check_against("ssm.legs_matvec", dense_matvec, dtype="bfloat16", rtol=0.05, atol=0.0, max_examples=3)
    assert not res and "expected bfloat16" in res.counterexample.reason
    tight = check_against("ssm.legs_matvec", dense_matvec, dtype="float32", rtol=1e-9, atol=0.0, max_examples=30)
    assert not tight  # float32 arithmetic cannot meet a float64-level tolerance


def test_deterministic_by_default_and_seedable():
    a = check_against("ssm.legs_solve", dense_solve, max_examples=20)
    b = check_against("ssm.legs_solve", dense_solve, max_examples=20)
    assert a.max_error == b.max_error and a.n_examples == b.n_examples
    c = check_against("ssm.legs_solve", dense_solve, max_examples=20, seed=5)
    assert c.passed


@pytest.mark.peer
def test_torch_candidate_float32_and_the_matrix_exp_bug():
    torch = pytest.importorskip("torch")

    def torch_discretize(A, B, dt, method, alpha=None):
        I = torch.eye(A.shape[0], dtype=A.dtype)
        B2 = B if B.ndim == 2 else B[:, None]
        if method == "zoh":
            n, m = B2.shape
            M = torch.zeros(n + m, n + m, dtype=A.dtype)
            M[:n, :n] = A * dt
            M[:n, n:] = B2 * dt
            E = torch.matrix_exp(M)
            Ab, Bb = E[:n, :n], E[:n, n:]
        else:
            a = {"bilinear": 0.5, "forward_euler": 0.0, "backward_euler": 1.0}.get(method, alpha)
            L = I - a * dt * A
            Ab, Bb = torch.linalg.solve(L, I + (1 - a) * dt * A), torch.linalg.solve(L, dt * B2)
        return Ab, (Bb if B.ndim == 2 else Bb[:, 0])

    res = check_against("ssm.discretize", torch_discretize, dtype="float32", convert="torch", max_examples=60)
    assert res, res.message
    # In float64, torch.matrix_exp's degree-8 Taylor branch had a wrong coefficient
    # (pytorch/pytorch#196592): about 1e-10 relative error, far above float64 round-off.
    probe = torch.matrix_exp(torch.tensor([[0.0, -0.04], [0.04, 0.0]], dtype=torch.float64))
    if abs(probe[1, 0].item() - np.sin(0.04)) > 1e-13:
        res64 = check_against("ssm.discretize", torch_discretize, convert="torch", max_examples=60)
        assert not res64 and res64.counterexample.inputs["method"] == "zoh"
        assert 1e-12 < res64.max_rel_error < 1e-8


def test_register_oracle_validates_and_rejects_duplicates(monkeypatch):
    from refimpl.testing import oracle
    from refimpl.ssm import legs_matvec

    from refimpl.testing import cases

    monkeypatch.setattr(cases, "_CASES", dict(oracle.discover_oracles()))
    with pytest.raises(ValueError, match="'name' must look like 'topic.function'"):
        oracle.register_oracle("nodot", legs_matvec, tolerances={"float64": (1e-12, 0.0)})
    with pytest.raises(ValueError, match="'tol': unknown dtype 'float8'"):
        oracle.register_oracle("x.y", legs_matvec, tolerances={"float64": (1e-12, 0.0), "float8": (1, 0)})
    with pytest.raises(ValueError, match="with a 'float64' entry"):
        oracle.register_oracle("x.y", legs_matvec, tolerances={"float32": (1e-5, 0.0)})
    with pytest.raises(ValueError, match="'rule'"):
        oracle.register_oracle("x.y", legs_matvec, tolerances={"float64": (1e-12, 0.0)}, rule="ulp")
    with pytest.raises(ValueError, match="appears twice"):
        oracle.register_oracle("ssm.legs_matvec", legs_matvec, tolerances={"float64": (1e-12, 0.0)})(
            lambda src: {"v": src.normal("v", (3,))})

    @oracle.register_oracle("x.bad_generator", legs_matvec, tolerances={"float64": (1e-12, 0.0)})
    def bad(src):
        return {"w": src.normal("w", (3,))}

    with pytest.raises(TypeError, match=r"generated \['w'\] which refimpl.ssm.legs_matvec does not take"):
        check_against("x.bad_generator", legs_matvec)

    @oracle.register_oracle("x.invalid_inputs", legs_matvec, tolerances={"float64": (1e-12, 0.0)})
    def invalid(src):
        return {"v": np.full(3, np.nan)}

    with pytest.raises(oracle.OracleCaseError, match="generated inputs that refimpl.ssm.legs_matvec rejects"):
        check_against("x.invalid_inputs", legs_matvec, max_examples=2)
