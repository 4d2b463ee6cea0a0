"""The case table of refimpl.scaling: one row per public function (see :mod:`refimpl.testing.cases`).

The closed forms are their own definitions (``batch.py``); the Monte-Carlo's
definition is ``reference.nqm_samples``. Functions that return a result
object are compared through the tuple of arrays named in their row
(``reference=``), so a kernel under test returns that tuple.
"""
from __future__ import annotations

import math

import numpy as np

from ..testing.cases import Article, Case
from .batch import (
    b_noise, b_simple, fit_steps_examples, loss_decrease_sgd, loss_decrease_sign, optimal_lr_sgd, optimal_lr_sign,
    sign_moments, steps_examples_tradeoff, surge,
)
from .nqm import nqm_optimal_lr, nqm_train_to_target

ARTICLE = "https://kexue.fm/archives/10542"
F64_CLOSED = (1e-11, 0.0)


# --------------------------------------------------------------------------- generators

def _hessian(src, n, label="H"):
    """Symmetric positive definite, eigenvalues log-uniform in [0.1, 10] (cond <= 100); exactly symmetric."""
    rng = src.rng(label)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    H = (q * np.exp(rng.uniform(math.log(0.1), math.log(10.0), n))) @ q.T
    return (H + H.T) / 2


def _problem(src):
    """g (n,), H (n, n) SPD (a 1-D diagonal H is the same formula: tests/scaling), Sigma PSD (n, n) or a
    vector of variances."""
    n = src.integer("n", 1, 16)
    g = src.normal("g", (n,))
    H = _hessian(src, n)
    if src.choice("Sigma_kind", ("matrix", "diagonal")) == "matrix":
        F = src.normal("Sigma", (n, n))
        S = F @ F.T / n
        S = (S + S.T) / 2
    else:
        S = src.uniform("Sigma", (n,), 0.0, 2.0)
    return {"g": g, "H": H, "Sigma": S}


def _batches(src, label="B"):
    k = src.integer(f"n_{label}", 1, 8)
    return np.exp(src.uniform(label, (k,), 0.0, math.log(1e6)))


def _sgd_inputs(src):
    p = _problem(src)
    p["B"] = _batches(src)
    return p


def _b_simple_inputs(src):
    p = _problem(src)
    return {"g": p["g"], "Sigma": p["Sigma"]}


def _tradeoff_inputs(src):
    return {"S_min": src.real("S_min", 1.0, 1e6, log=True), "E_min": src.real("E_min", 1.0, 1e9, log=True),
            "B": _batches(src)}


def _fit_inputs(src):
    """(S, E) pairs near the hyperbola S = S_min + E_min / B (noise 2% of S_min), 3 to 12 batch sizes in [1, 1e6]."""
    s_min = src.real("S_min", 10.0, 1e5, log=True)
    e_min = s_min * src.real("b_noise", 1.0, 1e4, log=True)
    k = src.integer("n_B", 3, 12)
    B = np.geomspace(1.0, 1e6, k)
    S = s_min + e_min / B + 0.02 * s_min * src.normal("noise", (k,))
    return {"steps": S, "examples": B * S}


def _fit_ref(steps, examples):
    f = fit_steps_examples(steps, examples)
    return f.S_min, f.E_min, f.b_noise, f.residual_rms


def _sign_inputs(src, *, scalar_B=False):
    n = src.integer("n", 1, 16)
    g = src.normal("g", (n,))
    sigma = src.uniform("sigma", (n,), 0.0, 3.0)
    if src.boolean("some_sigma_zero"):          # deterministic coordinates: u_i = sign(g_i)
        sigma[: max(1, n // 3)] = 0.0
    out = {"g": g, "sigma": sigma}
    if not scalar_B:
        out["H"] = _hessian(src, n)
    out["B"] = src.real("B", 1.0, 1e6, log=True) if scalar_B else _batches(src)
    out["exact"] = src.choice("exact", (True, False))
    return out


def _sign_moments_ref(g, sigma, B, exact=True):
    m = sign_moments(g, sigma, B, exact=exact)
    return m.mean, m.second


def _surge_inputs(src):
    """Coupled Hessians (a surge when the coupling is strong) and plain SPD ones; kappa log-uniform in [0.1, 100]."""
    n = src.integer("n", 1, 16)
    g = src.normal("g", (n,))
    if src.choice("coupling", ("homogeneous", "random")) == "homogeneous":
        c = src.real("c", 0.0, 0.95)
        H = (1.0 - c) * np.eye(n) + c * np.outer(np.sign(g), np.sign(g))   # O = n (n-1) c > 0
    else:
        H = _hessian(src, n)
    return {"g": g, "H": H, "kappa": src.real("kappa", 0.1, 100.0, log=True)}


_SURGE_B = np.array([1.0, 7.0, 64.0, 1e4])


def _surge_ref(g, H, kappa):
    """Every field that is finite for every problem, and the curves at B = 1, 7, 64, 1e4."""
    s = surge(g, H, kappa)
    return (np.array([s.D, s.O, s.abs_g_sum, s.b_noise_2, s.delta_loss_max, s.eta_inf]),
            s.eta(_SURGE_B), s.delta_loss(_SURGE_B))


def _nqm_inputs(src):
    p = _problem(src)
    n = p["g"].shape[0]
    p["update"] = src.choice("update", ("sgd", "sign"))
    if p["update"] == "sign" and p["Sigma"].ndim == 2:   # the erf moments assume independent coordinates
        p["Sigma"] = np.diag(p["Sigma"]).copy()
    p["batch_sizes"] = _batches(src, "batch_sizes")
    p["n_samples"] = src.integer("n_samples", 2, max(2, 4000 // n))
    p["rng"] = src.integer("rng", 0, 2**31)
    return p


def _nqm_ref(g, H, Sigma, batch_sizes, **kw):
    r = nqm_optimal_lr(g, H, Sigma, batch_sizes, **{**kw, "backend": "reference"})
    return r.eta, r.stderr


def _train_inputs(src):
    n = src.integer("n", 1, 6)
    h = np.exp(src.uniform("H", (n,), math.log(0.1), 0.0))
    theta0 = src.normal("theta0", (n,)) / np.sqrt(h)
    L0 = 0.5 * theta0 @ (h * theta0)
    return {"theta0": theta0, "H": h, "Sigma": src.uniform("Sigma", (n,), 0.1, 2.0) * h,
            "batch_sizes": _batches(src, "batch_sizes")[:3],
            "target_loss": L0 * src.real("target_fraction", 0.01, 0.5, log=True),
            "update": src.choice("update", ("sgd", "sign")), "noise": src.choice("noise", ("constant", "scaled")),
            "n_runs": src.integer("n_runs", 2, 6), "rng": src.integer("rng", 0, 2**31)}


def _train_ref(theta0, H, Sigma, batch_sizes, target_loss, **kw):
    return nqm_train_to_target(theta0, H, Sigma, batch_sizes, target_loss, **kw).steps_per_run


# --------------------------------------------------------------------------- article numbers

def _pi_over_4():
    """c in erf(x) ~ x / sqrt(x^2 + c), read back from sign_moments(exact=False): x^2 (1/mu^2 - 1) at x = 1."""
    B = 2.0                                       # x = g / sigma sqrt(B / 2) = 1
    mu = float(sign_moments([1.0], [1.0], B, exact=False).mean[0])
    return 1.0 / (mu * mu) - 1.0


def _surge_relation():
    """1/B_noise2 - 1/B_noise for a problem with a surge, kappa = 2: the article's 4 / (pi kappa^2) = 1/pi."""
    s = surge(np.ones(5), np.eye(5) + 0.5 * (1 - np.eye(5)), 2.0)
    return 1.0 / s.b_noise_2 - 1.0 / s.b_noise


# --------------------------------------------------------------------------- the table

_WHY_SGD = ("g^T H g and Tr(Sigma H) are sums of n and n^2 products of inputs of size 1 with cond(H) <= 100: "
            "relative error about n kappa(H) u = 16 x 100 x 1.1e-16 = 1.8e-13 in float64, a positive sum in the "
            "denominator adds nothing: rtol 1e-11 (measured 4e-16); float32 inputs and arithmetic: "
            "1.8e-13 x 2^29 = 1e-4 (measured 2e-7 for a NumPy float32 port): rtol 5e-4")

CASES = [
    Case("scaling.b_noise", b_noise, inputs=lambda src: _problem(src),
         tol={"float64": F64_CLOSED, "float32": (5e-4, 0.0)}, rule="elementwise",
         why="B_noise = Tr(Sigma H) / g^T H g: " + _WHY_SGD,
         corners=({"n": 1}, {"Sigma_kind": "diagonal"})),
    Case("scaling.b_simple", b_simple, inputs=_b_simple_inputs,
         tol={"float64": (1e-13, 0.0), "float32": (1e-5, 0.0)}, rule="elementwise",
         why="Tr Sigma / g^T g: two sums of n <= 16 non-negative terms, no cancellation: relative error <= "
             "(n + 1) u = 1.9e-15 (float64; rtol 1e-13) and 1e-6 (float32; rtol 1e-5)"),
    Case("scaling.optimal_lr_sgd", optimal_lr_sgd, inputs=_sgd_inputs,
         tol={"float64": F64_CLOSED, "float32": (5e-4, 0.0)}, rule="elementwise",
         why="eta* = g^T g / (g^T H g + Tr(Sigma H) / B) for B log-uniform in [1, 1e6]: " + _WHY_SGD,
         corners=({"n": 1, "n_B": 1},),
         article=(Article(ARTICLE, "eta* -> eta_max = g'g / g'Hg as B -> infinity (eq. eta-opt): B = 1e300, "
                          "g = (1, 2), H = diag(2, 1)",
                          lambda: optimal_lr_sgd([1.0, 2.0], [2.0, 1.0], [1.0, 1.0], 1e300), 5.0 / 6.0,
                          rtol=1e-15),)),
    Case("scaling.loss_decrease_sgd", loss_decrease_sgd, inputs=_sgd_inputs,
         tol={"float64": F64_CLOSED, "float32": (5e-4, 0.0)}, rule="elementwise",
         why="(g^T g)^2 / (2 (g^T H g + Tr(Sigma H) / B)): the terms of optimal_lr_sgd, one more product: " + _WHY_SGD),
    Case("scaling.steps_examples_tradeoff", steps_examples_tradeoff, inputs=_tradeoff_inputs,
         tol={"float64": (1e-14, 0.0), "float32": (1e-6, 0.0)}, rule="elementwise",
         why="S = S_min + E_min / B and E = B S: one division, one sum of positives, one product: <= 3 u "
             "(6.7e-16 float64, 3.6e-7 float32); rtol 1e-14 and 1e-6",
         article=(Article(ARTICLE, "(S / S_min - 1)(E / E_min - 1) = 1 (eq. E-S), at S_min = 100, E_min = 6400, "
                          "B = 64",
                          lambda: float(np.prod(np.array(steps_examples_tradeoff(100.0, 6400.0, 64.0))
                                                / np.array([100.0, 6400.0]) - 1.0)), 1.0, rtol=1e-15),)),
    Case("scaling.fit_steps_examples", fit_steps_examples, inputs=_fit_inputs, reference=_fit_ref,
         tol={"float64": (1e-9, 0.0)},
         why="output (S_min, E_min, b_noise, residual_rms) of a 2-parameter least-squares fit with regressors "
             "(1, 1/B), 1/B spanning [1e-6, 1]: the condition number of X is about 1e3, so a backward-stable "
             "solver (QR, SVD, normal equations in float64 give 1e-16 x 1e6 at worst) agrees to 1e-10; rtol 1e-9"),
    Case("scaling.sign_moments", sign_moments, inputs=lambda src: _sign_inputs(src, scalar_B=True),
         reference=_sign_moments_ref,
         tol={"float64": (1e-14, 0.0), "float32": (1e-6, 0.0)},
         why="output (mean, second): erf of one ratio (a few ulp in scipy.special.erf, |erf| <= 1) or "
             "x / sqrt(x^2 + pi/4); the second moments are products of two means: normwise a few u "
             "(rtol 1e-14 float64, 1e-6 float32)",
         corners=({"some_sigma_zero": True}, {"exact": False}),
         article=(Article(ARTICLE, "the constant c = pi/4 of erf(x) ~ x / sqrt(x^2 + c) (slope 2/sqrt(pi) at 0)",
                          _pi_over_4, math.pi / 4, rtol=1e-14),)),
    Case("scaling.optimal_lr_sign", optimal_lr_sign, inputs=_sign_inputs,
         tol={"float64": (1e-11, 0.0), "float32": (5e-4, 0.0)}, rule="elementwise",
         why="sum mu_i g_i / (sum H_ii + sum_{i != j} mu_i mu_j H_ij): the numerator may cancel (signs of g "
             "with |mu| < 1), the denominator is Tr(E[u u^T] H) > 0 with cond(H) <= 100: relative error "
             "about n kappa(H) u as for optimal_lr_sgd: rtol 1e-11 (float64), 5e-4 (float32)",
         corners=({"some_sigma_zero": True, "n": 3}, {"exact": False})),
    Case("scaling.loss_decrease_sign", loss_decrease_sign, inputs=_sign_inputs,
         tol={"float64": (1e-11, 0.0), "float32": (5e-4, 0.0)}, rule="elementwise",
         why="(sum mu_i g_i)^2 / (2 Tr(E[u u^T] H)): the terms of optimal_lr_sign, squared numerator: as that row"),
    Case("scaling.surge", surge, inputs=_surge_inputs, reference=_surge_ref,
         tol={"float64": (1e-12, 0.0)},
         why="output (D, O, sum|g|, b_noise_2, delta_loss_max, eta_inf), eta(B), delta_loss(B) at B = 1, 7, 64, "
             "1e4 (the fields that are finite for every problem; beta_noise = sqrt(D/O), eta_max and b_noise "
             "follow from them). Sums of n^2 <= 256 signed entries of H of size <= 10: error <= 256 u max|H| "
             "relative to the normwise scale; rtol 1e-12",
         corners=({"coupling": "homogeneous", "c": 0.9}, {"n": 1}),
         article=(Article(ARTICLE, "1/B_noise2 - 1/B_noise = 4 / (pi kappa^2), at kappa = 2",
                          _surge_relation, 1.0 / math.pi, rtol=1e-13),)),
    Case("scaling.nqm_optimal_lr", nqm_optimal_lr, inputs=_nqm_inputs, reference=_nqm_ref,
         tol={"float64": (1e-9, 0.0)},
         why="output (eta, stderr) of the reference loop: sample s uses the s-th block of n normals of "
             "numpy.random.default_rng(rng), so a kernel fed the same normals computes the same sums. eta is a "
             "ratio of two sums of N <= 4000 terms (N u = 4.4e-13 relative); stderr comes from shifted second "
             "moments (no cancellation beyond the spread of the samples): rtol 1e-9. The numba and CuPy paths "
             "draw other streams and are checked statistically (scaling._checks), not here",
         corners=({"update": "sign"}, {"n_samples": 2})),
    Case("scaling.nqm_train_to_target", nqm_train_to_target, inputs=_train_inputs, reference=_train_ref,
         tol={"float64": (0.0, 1.0)},
         why="output steps_per_run (k, n_runs), integer step counts of the reference runs on "
             "numpy.random.default_rng(rng)'s normals: the same draws give the same counts, except that a loss "
             "within rounding of target_loss may stop one step earlier or later: atol 1 step"),
]
