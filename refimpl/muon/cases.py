"""The case table of refimpl.muon: one row per public function (see :mod:`refimpl.testing.cases`).

Peers are public code computing the same thing: torch.optim.Muon, KellerJordan's
``muon.py`` and MoonshotAI/Moonlight's ``toy_train.py`` (transcribed here in
torch, float64 unless the row says otherwise), the Polar Express repository's
``optimal_composition`` (its procedure written here in NumPy), scipy.linalg.polar.
"""
from __future__ import annotations

import contextlib
import math

import numpy as np

from ..testing.cases import Article, Case, Peer
from .design import (PE_CUSHION, SAFETY_MODES, cubic_equioscillation, fit_coefficients, kappa_to_abc,
                     optimal_odd_polynomial, polar_express_coefficients)
from .msign import msign
from .newton_schulz import COEFFICIENTS, EPS_MODES, NORMALIZATIONS, newton_schulz, scalar_map
from .optimizer import LAYOUTS, MOMENTUM_FORMS, SCALES, muon_scale, muon_step, muon_update

KELLER = (3.4445, -4.7750, 2.0315)
_PRESETS = ("keller",) + tuple(k for k in COEFFICIENTS if k != "keller")
A10996 = "https://kexue.fm/archives/10996"
A10592 = "https://kexue.fm/archives/10592"
A10922 = "https://kexue.fm/archives/10922"


# ------------------------------------------------------------------------------------------- peers (torch)

@contextlib.contextmanager
def _bf16_cast_as(torch, dtype):
    """Public code casts with ``.bfloat16()``; for a float64 run that cast is redirected to ``.to(dtype)``."""
    if dtype is None:
        yield
        return
    original = torch.Tensor.bfloat16
    torch.Tensor.bfloat16 = lambda self: self.to(dtype)
    try:
        yield
    finally:
        torch.Tensor.bfloat16 = original


def _keller_ns(torch, G, steps=5):
    """KellerJordan/Muon ``zeropower_via_newtonschulz5`` (transcribed): bf16 cast, transpose, Frobenius + 1e-7."""
    a, b, c = KELLER
    X = G.bfloat16()
    if G.size(-2) > G.size(-1):
        X = X.mT
    X = X / (X.norm(dim=(-2, -1), keepdim=True) + 1e-7)
    for _ in range(steps):
        A = X @ X.mT
        B = b * A + c * A @ A
        X = a * X + B @ X
    if G.size(-2) > G.size(-1):
        X = X.mT
    return X


def _peer_keller_ns(M):
    import torch

    with _bf16_cast_as(torch, None if M.dtype == torch.bfloat16 else M.dtype):
        return _keller_ns(torch, M)


def _peer_torch_ns(M):
    import torch
    from torch.optim import _muon

    with _bf16_cast_as(torch, None if M.dtype == torch.bfloat16 else M.dtype):
        return _muon._zeropower_via_newtonschulz(M, KELLER, 5, 1e-7)


def _peer_keller_update(G, state, *, momentum=0.95, nesterov=True):
    """KellerJordan/Muon ``muon_update`` (transcribed), Newton--Schulz in float64, on copies of the inputs."""
    import torch

    grad = torch.from_numpy(np.array(G, dtype=np.float64))
    buf = torch.from_numpy(np.array((state or {}).get("momentum_buffer", np.zeros_like(G)), dtype=np.float64))
    buf.lerp_(grad, 1 - momentum)
    update = grad.lerp_(buf, momentum) if nesterov else buf
    if update.ndim == 4:
        update = update.view(len(update), -1)
    with _bf16_cast_as(torch, torch.float64):
        update = _keller_ns(torch, update)
    update = update * max(1, grad.size(-2) / grad.size(-1)) ** 0.5
    return update.reshape(grad.shape)


def _peer_torch_step(W, G, state, *, lr, weight_decay=0.0, momentum=0.95, nesterov=True):
    """torch.optim.Muon's step function (``_single_tensor_muon``, adjust_lr_fn=None), Newton--Schulz in float64."""
    import torch
    from torch.optim import _muon

    p = torch.from_numpy(np.array(W, dtype=np.float64))
    g = torch.from_numpy(np.array(G, dtype=np.float64))
    buf = torch.from_numpy(np.array((state or {}).get("momentum_buffer", np.zeros_like(G)), dtype=np.float64))
    with _bf16_cast_as(torch, torch.float64):
        _muon._single_tensor_muon([p], [g], [buf], lr=lr, weight_decay=weight_decay, momentum=momentum,
                                  nesterov=nesterov, ns_coefficients=KELLER, ns_steps=5, eps=1e-7,
                                  adjust_lr_fn=None, has_complex=False)
    return p


def _peer_moonlight_step(W, G, state, *, lr, weight_decay=0.0, momentum=0.95, nesterov=True):
    """MoonshotAI/Moonlight ``Muon.step`` (transcribed): sum momentum, update scale 0.2 sqrt(max(A, B)),
    decoupled weight decay with the unscaled lr; Newton--Schulz (KellerJordan's) in float64."""
    import torch

    p = torch.from_numpy(np.array(W, dtype=np.float64))
    g = torch.from_numpy(np.array(G, dtype=np.float64))
    buf = torch.from_numpy(np.array((state or {}).get("momentum_buffer", np.zeros_like(G)), dtype=np.float64))
    buf.mul_(momentum).add_(g)
    g = g.add(buf, alpha=momentum) if nesterov else buf
    with _bf16_cast_as(torch, torch.float64):
        u = _keller_ns(torch, g)
    A, B = p.shape[:2]
    adjusted_lr = lr * 0.2 * math.sqrt(max(A, B))
    p.mul_(1 - lr * weight_decay)
    p.add_(u, alpha=-adjusted_lr)
    return p


def _peer_polar(M):
    import scipy.linalg

    side = "right" if M.shape[0] >= M.shape[1] else "left"
    return scipy.linalg.polar(M, side=side)[0]


def _peer_torch_svd(M):
    import torch

    U, _, Vh = torch.linalg.svd(M, full_matrices=False)
    return U @ Vh


def _peer_polyval(x, coefficients="keller", steps=None):
    """Each step as numpy.polyval of a x + b x^3 + c x^5 (powers, not Horner in x^2)."""
    C = np.asarray(COEFFICIENTS[coefficients])
    rows = np.tile(C, (5 if steps is None else steps, 1)) if C.ndim == 1 else C
    y = np.asarray(x, dtype=np.float64)
    for a, b, c in rows:
        y = np.polyval([c, 0.0, b, 0.0, a, 0.0], y)
    return y


def _official_quintic(l, u):
    """The Polar Express repository's ``optimal_quintic`` procedure (written here): four alternation points,
    interior points from the quadratic formula for the roots of p'(x) = a + 3 b x^2 + 5 c x^4."""
    if l / u >= 1 - 5e-6:
        return np.array([15 / 8 / u, -10 / 8 / u**3, 3 / 8 / u**5])
    q, r = (3 * l + u) / 4, (l + 3 * u) / 4
    E, old = np.inf, None
    while old is None or abs(old - E) > 1e-15:
        old = E
        pts = np.array([l, q, r, u])
        lhs = np.column_stack([pts, pts**3, pts**5, [1.0, -1.0, 1.0, -1.0]])
        a, b, c, E = np.linalg.solve(lhs, np.ones(4))
        disc = math.sqrt(9 * b * b - 20 * a * c)
        q, r = np.sqrt((-3 * b + np.array([-disc, disc])) / (10 * c))
    return np.array([a, b, c])


def _peer_official_composition(l=1e-3, u=1.0, steps=8, safety=1.01, cushion=PE_CUSHION):
    """``optimal_composition`` of github.com/NoahAmsel/PolarExpress: safety inside the loop, last row unshrunk."""
    f = lambda co, x: co[0] * x + co[1] * x**3 + co[2] * x**5  # noqa: E731
    out = []
    for t in range(steps):
        co = _official_quintic(max(l, cushion * u), u)
        if cushion * u > l:
            co = co * (2 / (f(co, l) + f(co, u)))
        if t < steps - 1:
            co = co / np.array([safety, safety**3, safety**5])
        out.append(co)
        l = f(co, l)
        u = 2 - l
        l = min(l, u)
    return np.array(out)


def _peer_official_quintic(l, u):
    co = _official_quintic(l, u)
    return co, 1.0 - (co[0] * l + co[1] * l**3 + co[2] * l**5)


def _peer_official_cubic(l, u):
    """The Polar Express repository's closed form ``optimal_cubic`` (alpha, beta form)."""
    alpha = math.sqrt(3 / (u * u + l * u + l * l))
    beta = 4 / (2 + l * u * (l + u) * alpha**3)
    a, b = 1.5 * alpha * beta, -0.5 * alpha**3 * beta
    return a, b, 1.0 - (a * l + b * l**3)


def _peer_kappa_expand(kappa, x1, x2):
    """Expand x + kappa x (x^2 - x1^2)(x^2 - x2^2) with numpy.polynomial: coefficients of x, x^3, x^5."""
    P = np.polynomial.Polynomial
    g = P([0, 1]) + kappa * P([0, 1]) * P([-x1 * x1, 0, 1]) * P([-x2 * x2, 0, 1])
    co = np.zeros(6)
    co[:g.coef.size] = g.coef
    return co[1], co[3], co[5]


# ------------------------------------------------------------------------------------------- generators

def _matrix(src, max_side=16):
    n = src.integer("n", 1, max_side)
    m = src.integer("m", 1, max_side)
    shape = (n, m) if not src.boolean("batched") else (2, n, m)
    scale = 10.0 ** src.real("log10_scale", -3.0, 3.0)  # NS and msign are scale invariant
    return src.normal("M", shape, scale=scale)


def _newton_schulz_inputs(src):
    M = _matrix(src)
    coefficients = src.choice("coefficients", _PRESETS)
    out = {"M": M, "coefficients": coefficients}
    if np.shape(COEFFICIENTS[coefficients]) == (3,):
        steps = src.choice("steps", (None, 1, 3, 8))
        if steps is not None:
            out["steps"] = steps
    out["normalization"] = src.choice("normalization", NORMALIZATIONS)
    out["transpose_tall"] = src.choice("transpose_tall", (True, False))
    out["eps_mode"] = src.choice("eps_mode", EPS_MODES)
    out["prescale"] = src.choice("prescale", (False, True))
    return out


def _msign_inputs(src):
    n = src.integer("n", 1, 12)
    m = src.integer("m", 1, 12)
    r = min(n, m)
    batch = 2 if src.boolean("batched") else 0
    kappa = 10.0 ** src.real("log10_kappa", 0.0, 3.0)
    scale = 10.0 ** src.real("log10_scale", -3.0, 3.0)
    g = src.rng("M")
    mats = []
    for _ in range(max(batch, 1)):
        u, _ = np.linalg.qr(g.standard_normal((n, r)))
        v, _ = np.linalg.qr(g.standard_normal((m, r)))
        s = np.logspace(0.0, -np.log10(kappa), r) if r > 1 else np.ones(1)
        mats.append(scale * (u * s) @ v.T)
    M = np.stack(mats) if batch else mats[0]
    return {"M": M, "method": src.choice("method", ("svd", "polar"))}


def _scalar_map_inputs(src):
    coefficients = src.choice("coefficients", _PRESETS)
    out = {"x": src.uniform("x", (src.integer("size", 1, 64),), 0.0, 1.0), "coefficients": coefficients}
    if np.shape(COEFFICIENTS[coefficients]) == (3,):
        out["steps"] = src.choice("steps", (None, 1, 3, 8))
    return out


def _interval(src):
    l = src.real("l", 1e-4, 0.9, log=True)
    return l, l * src.real("u_over_l", 1.0, 1.0 / l, log=True) if src.boolean("u_not_1") else 1.0


def _optimal_inputs(src):
    l, u = _interval(src)
    return {"l": l, "u": u, "degree": src.choice("degree", (5, 3, 7))}


def _cubic_inputs(src):
    l, u = _interval(src)
    return {"l": l, "u": u}


def _polar_inputs(src):
    l, u = _interval(src)
    return {"l": l, "u": u, "steps": src.integer("steps", 1, 10), "safety": src.real("safety", 1.0, 1.05),
            "cushion": src.choice("cushion", (PE_CUSHION, 0.1, 0.0, 0.02)),
            "degree": src.choice("degree", (5, 3)), "safety_mode": src.choice("safety_mode", SAFETY_MODES)}


def _kappa_inputs(src):
    return {"kappa": src.real("kappa", 0.1, 3.0), "x1": src.real("x1", 0.5, 1.2), "x2": src.real("x2", 0.8, 1.5)}


def _fit_inputs(src):
    return {"method": "kappa", "steps": src.integer("steps", 1, 6), "iterations": src.integer("iterations", 1, 100),
            "shape": np.array([src.integer("n", 2, 24), src.integer("m", 2, 24)]), "n_matrices": 1,
            "rng": src.integer("seed", 0, 1000)}


def _fit_reference(method, steps=5, **kw):
    return fit_coefficients(method, steps, backend="reference", **kw).coefficients


def _update_inputs(src):
    n = src.integer("n", 1, 12)
    m = src.integer("m", 1, 12)
    G = src.normal("G", (n, m))
    out = {"G": G, "state": None, "momentum": src.choice("momentum", (0.95, 0.0, 0.9, 0.5)),
           "nesterov": src.boolean("no_nesterov") is False}
    out["momentum_form"] = src.choice("momentum_form", MOMENTUM_FORMS)
    out["scale"] = src.choice("scale", SCALES)
    out["layout"] = src.choice("layout", LAYOUTS)
    out["ns_eps_mode"] = src.choice("ns_eps_mode", EPS_MODES)
    return out


def _step_inputs(src):
    n = src.integer("n", 1, 12)
    m = src.integer("m", 1, 12)
    out = {"W": src.normal("W", (n, m)), "G": src.normal("G", (n, m)), "state": None,
           "lr": src.real("lr", 1e-3, 0.1, log=True), "weight_decay": src.choice("weight_decay", (0.0, 0.1, 1.0)),
           "momentum": src.choice("momentum", (0.95, 0.0, 0.9)), "nesterov": src.boolean("no_nesterov") is False}
    out["momentum_form"] = src.choice("momentum_form", MOMENTUM_FORMS)
    out["scale"] = src.choice("scale", SCALES)
    out["ns_eps_mode"] = src.choice("ns_eps_mode", EPS_MODES)
    return out


def _muon_scale_inputs(src):
    shape = (src.integer("d0", 1, 4096), src.integer("d1", 1, 4096))
    if src.boolean("conv"):
        shape += (src.integer("kh", 1, 7), src.integer("kw", 1, 7))
    return {"shape": np.array(shape), "scale": src.choice("scale", SCALES), "layout": src.choice("layout", LAYOUTS)}


def _torch_adjust_lr(adjust_lr_fn):
    """torch.optim.Muon's lr factor for ``adjust_lr_fn`` (None: "original"; any other name: 1)."""
    def factor(shape):
        from torch.optim import _muon

        return _muon._adjust_lr(1.0, adjust_lr_fn, tuple(int(d) for d in shape))
    return factor


# ------------------------------------------------------------------------------------------- the table

# 10996's Polar Express table (safety 1, cushion PE_CUSHION), as printed but for the sign of b in row 6
# (printed +1.268; see ERRATA.md). Each entry is held to half a unit of its last printed digit.
_PE_TABLE = (("8.28721", "-23.5959", "17.3004"), ("4.10706", "-2.94785", "0.544843"),
             ("3.94869", "-2.9089", "0.551819"), ("3.31842", "-2.48849", "0.510049"),
             ("2.30065", "-1.6689", "0.418807"), ("1.8913", "-1.268", "0.376804"),
             ("1.875", "-1.25", "0.375"), ("1.875", "-1.25", "0.375"))


def _pe_row(t):
    return lambda: polar_express_coefficients(1e-3, 1.0, 8, 1.0, PE_CUSHION)[t]


_PE_TABLE_ARTICLES = tuple(
    Article(A10996, f"Polar Express table row {t + 1} (safety 1)" + (", sign of b corrected" if t == 5 else ""),
            _pe_row(t), tuple(float(v) for v in row),
            atol=np.array([0.5 * 10.0 ** -len(v.split(".")[1]) for v in row]))
    for t, row in enumerate(_PE_TABLE))

_NS_PIN = {"coefficients": "keller", "normalization": "frobenius", "prescale": False}
_TORCH_PIN = {**_NS_PIN, "eps_mode": "clamp", "batched": False}
_STEP_PIN = {"momentum_form": "ema", "scale": "keller", "ns_eps_mode": "clamp"}

CASES = [
    Case("muon.newton_schulz", newton_schulz, _newton_schulz_inputs,
         tol={"float64": (1e-8, 0.0), "float32": (5e-4, 0.0), "bfloat16": (0.2, 0.0), "float16": (0.05, 0.0)},
         why="M (n, m) or (2, n, m), n, m in [1, 16], N(0, s^2) with s log-uniform in [1e-3, 1e3], every preset "
             "(steps 1, 3, 8 for the triples), both normalisations, transpose_tall, every eps convention, "
             "prescale off (the public form, default) and on. A rounding error of size u in step t reaches the "
             "output times the slopes of the remaining steps (prod max|g_t'| ~ 3.4**5 = 480 for Keller's "
             "coefficients, more for 8-step schedules); norm-wise, the output's singular values are about 1. "
             "float64: 10 T u prod|g'| <= 1e-9; measured 4.5e-15 for KellerJordan's loop and 3.5e-15 for "
             "torch.optim.Muon's, both in float64: rtol 1e-8. float32 (u = 6e-8): measured 3e-7 (cubic) to 4e-6 (keller), 6e-5 (su_minmax); torch's "
             "algorithm 2.6e-6: rtol 5e-4. bfloat16 (u = 2**-8, float32 accumulation): measured 0.009 (cubic) to "
             "0.08 (keller; torch.optim.Muon's bf16 code 0.046, KellerJordan's loop in bf16 on torch CPU 0.081) "
             "and 0.1 (su_x3), i.e. about 20 u after the 5-step growth: rtol 0.2 = 51 u. float16 (u = 2**-11, "
             "8x smaller, but the growth in units of u is larger: measured 0.019 = 39 u for KellerJordan's loop "
             "in float16 on torch CPU, 0.0076 for torch.optim.Muon's addmm structure): rtol 0.05 = 100 u. "
             "A coefficient with its sign flipped changes the output by O(1). su_minmax can diverge in bfloat16 "
             "(torch.optim.Muon's own code too): pin 'coefficients' for a bf16 kernel.",
         fast=("cupy",),
         peers=(Peer("KellerJordan/Muon zeropower_via_newtonschulz5 (float64)", _peer_keller_ns, requires=("torch",),
                     convert="torch", why="the public loop at refimpl's defaults: nothing pinned", examples=40),
                Peer("KellerJordan/Muon zeropower_via_newtonschulz5 (bfloat16, torch CPU)", _peer_keller_ns,
                     requires=("torch",), convert="torch", dtype="bfloat16",
                     why="the bf16 program itself against the float64 reference at the bf16 tolerance"),
                Peer("KellerJordan/Muon zeropower_via_newtonschulz5 (float16, torch CPU)", _peer_keller_ns,
                     requires=("torch",), convert="torch", dtype="float16",
                     why="the loop run in float16 against the float64 reference at the float16 tolerance"),
                Peer("torch.optim.Muon _zeropower_via_newtonschulz (float64)", _peer_torch_ns, requires=("torch",),
                     convert="torch", fixed=_TORCH_PIN, why="2-D only, eps clamped", examples=40),
                Peer("torch.optim.Muon _zeropower_via_newtonschulz (bfloat16)", _peer_torch_ns, requires=("torch",),
                     convert="torch", dtype="bfloat16", fixed=_TORCH_PIN, why="torch's own bf16 iteration")),
         corners=({"n": 1, "m": 1, "log10_scale": -3.0},
                  {"n": 16, "m": 3, "coefficients": "keller", "transpose_tall": True})),
    Case("muon.msign", msign, _msign_inputs,
         tol={"float64": (1e-10, 0.0), "float32": (5e-4, 0.0)},
         why="full-rank M (n, m) or (2, n, m), n, m in [1, 12], singular values log-spaced from 1 to 1/kappa, "
             "kappa log-uniform in [1, 1e3], random orthogonal factors, scale in [1e-3, 1e3]; method svd or "
             "polar. The polar factor's condition number is about kappa: float64 kappa u = 2.2e-13, measured "
             "1.3e-14 for torch.linalg.svd (scipy.linalg.polar: 0 on the examples drawn): rtol 1e-10. float32: kappa u = 6e-5, measured 4e-6: rtol 5e-4.",
         peers=(Peer("scipy.linalg.polar", _peer_polar, requires=("scipy",), fixed={"batched": False},
                     why="the unitary polar factor (left for wide M)"),
                Peer("torch.linalg.svd U V^T", _peer_torch_svd, requires=("torch",), convert="torch"))),
    Case("muon.scalar_map", scalar_map, _scalar_map_inputs,
         tol={"float64": (1e-12, 0.0), "float32": (5e-4, 0.0)},
         why="x uniform in [0, 1], every preset; each step a few ulp, amplified by the slope of the remaining "
             "steps (<= 480 for keller, ~1e3 for 8-step schedules): 1e3 * 10 u = 2e-12 in float64 (measured "
             "6e-15 against numpy.polyval): rtol 1e-12; float32 the same growth times 6e-8: 5e-4.",
         peers=(Peer("numpy.polyval per step", _peer_polyval, requires=("numpy",)),)),
    Case("muon.optimal_odd_polynomial", optimal_odd_polynomial, _optimal_inputs,
         tol={"float64": (1e-9, 1e-14)},
         why="l log-uniform in [1e-4, 0.9], u = 1 or up to 1/l times l; degree 3, 5, 7. The exchange stops at "
             "|dE| <= 1e-15; the coefficients solve a Vandermonde-like system whose condition grows as l -> 0 "
             "(about 1e7 at l = 1e-4): 1e7 u = 2e-9 relative; measured 2e-11 against the Polar Express "
             "repository's quintic solver: rtol 1e-9 norm-wise per output. E is 0 for l = u and a few ulp "
             "near it (a difference of numbers near 1): atol 1e-14.",
         peers=(Peer("PolarExpress optimal_quintic (procedure written here)", _peer_official_quintic,
                     fixed={"degree": 5}),),
         article=(Article(A10996, "uncushioned first step f_1 on [1e-3, 1]: 8.4703, -25.1081, 18.6293, E 0.9915",
                          lambda: (*optimal_odd_polynomial(1e-3, 1.0)[0], optimal_odd_polynomial(1e-3, 1.0)[1]),
                          (8.4703, -25.1081, 18.6293, 0.9915), atol=5e-5),)),
    Case("muon.cubic_equioscillation", cubic_equioscillation, _cubic_inputs,
         tol={"float64": (1e-12, 1e-14)},
         why="closed form of a few operations, each <= 1 ulp, amplified by the cancellation in k (l^2 u + l u^2 "
             "+ 2 x1^3 > 0, no cancellation) and in E = 1 - f(l), a difference of numbers <= 1 (absolute "
             "error a few ulp; E is 0 for l = u): rtol 1e-12 on (a, b), atol 1e-14 on E. Measured "
             "7e-14 (relative to the tolerance: 0.07) against the repository's (alpha, beta) form.",
         peers=(Peer("PolarExpress optimal_cubic (closed form written here)", _peer_official_cubic),)),
    Case("muon.polar_express_coefficients", polar_express_coefficients, _polar_inputs,
         tol={"float64": (1e-6, 0.0)},
         why="l in [1e-4, 0.9], steps 1..10, safety in [1, 1.05], each cushion of the sources, degree 3 and 5, "
             "both safety modes. Each row is a Remez solution fed to the next interval. Near convergence the "
             "interval [l_t, u_t] is just wider than the switch to the Taylor step (l/u < 1 - 5e-6): the "
             "alternation points lie within 1e-5 of each other, the linear system's condition is ~1e10 and "
             "each coefficient is determined only to ~1e-7 relative (the polynomial's values to ~1e-15). "
             "Measured 2.9e-7 against the Polar Express repository's procedure (another exchange "
             "start, quadratic-formula critical points): rtol 1e-6 norm-wise.",
         peers=(Peer("PolarExpress optimal_composition (procedure written here)", _peer_official_composition,
                     fixed={"degree": 5, "safety_mode": "official", "u_not_1": False, "safety": 1.01,
                            "l": 1e-3},
                     why="the repository's configuration (l = 1e-3, u = 1, safety 1.01); its exchange fails "
                         "(negative discriminant) on the nearly degenerate intervals other starts reach"),),
         article=_PE_TABLE_ARTICLES),
    Case("muon.kappa_to_abc", kappa_to_abc, _kappa_inputs,
         tol={"float64": (1e-14, 0.0)},
         why="three products and sums, each <= 1 ulp: 4 u = 9e-16 relative to the largest coefficient; "
             "1e-14 with margin; measured 2.2e-16 against numpy.polynomial's expansion.",
         peers=(Peer("numpy.polynomial expansion", _peer_kappa_expand),),
         article=(Article(A10592, "(kappa, x1, x2) = (1.724, 0.935, 1.235) -> (a, b, c) = (3.297, -4.136, 1.724) "
                          "(printed from unrounded inputs; the rounded ones reproduce it to 3e-3)",
                          lambda: kappa_to_abc(1.724, 0.935, 1.235), (3.297, -4.136, 1.724), atol=3e-3),)),
    Case("muon.fit_coefficients", fit_coefficients, _fit_inputs, reference=_fit_reference,
         tol={"float64": (1e-9, 0.0)},
         why="method 'kappa' on one n x m Gaussian (n, m <= 24), 1..100 momentum-SGD iterations, T <= 6: the "
             "returned coefficients (a, b, c). The reference takes the gradient through (a, b, c) and the chain "
             "rule, the numba kernel directly in (kappa, x1, x2): rounding differences of 1e-16 grow with the "
             "iterations (measured 8e-16 over 20 examples of up to 100): rtol 1e-9. The min-max method (Adam on a top-k loss) has "
             "only its reference; tests/muon checks it reproduces the article.",
         article=(Article(A10922, "min-max Adam fit, T = 5 (float32 as the article's JAX run): "
                          "(3.3748, -4.6969, 2.1433)", lambda: fit_coefficients("minmax", 5).coefficients,
                          (3.3748, -4.6969, 2.1433), atol=5e-5),)),
    Case("muon.muon_scale", muon_scale, _muon_scale_inputs,
         tol={"float64": (1e-15, 0.0)},
         why="one square root of a ratio of exact integers (<= 1 ulp), times 0.2 for moonlight.",
         peers=tuple(Peer(f"torch.optim.Muon _adjust_lr(1, {fn!r}) for scale {s!r}", _torch_adjust_lr(fn),
                          requires=("torch",), fixed={"conv": False, "layout": "out_in", "scale": s})
                     for s, fn in (("keller", None), ("moonlight", "match_rms_adamw"), ("none", "none")))),
    Case("muon.muon_update", muon_update, _update_inputs,
         tol={"float64": (1e-8, 0.0)},
         why="G (n, m), n, m <= 12; state None (one step from a zero buffer: the first step, or the one after "
             "a momentum reset; golden files hold no state dicts, so steps with an earlier buffer are tested in "
             "tests/muon/test_optimizer.py, eight steps against the same three public steps); momentum "
             "0.95/0.9/0.5/0; Nesterov on/off; both momentum forms, every scale and layout, eps conventions. Exact arithmetic before Newton--Schulz (a few ulp), then its float64 "
             "error (see muon.newton_schulz: rtol 1e-8) times the shape scale, which the norm-wise rule divides "
             "out. Measured 5.9e-15 against KellerJordan's muon_update.",
         peers=(Peer("KellerJordan/Muon muon_update (transcribed, float64)", _peer_keller_update,
                     requires=("torch",), fixed={"momentum_form": "ema", "scale": "keller", "layout": "out_in",
                                                 "ns_eps_mode": "add"}),),
         corners=({"momentum": 0.0, "no_nesterov": True},)),
    Case("muon.muon_step", muon_step, _step_inputs,
         tol={"float64": (1e-8, 0.0)},
         why="W, G (n, m), n, m <= 12; lr in [1e-3, 0.1]; weight decay 0, 0.1, 1; state None (see "
             "muon.muon_update); momentum, Nesterov, momentum form, scale, eps convention drawn. W' = (1 - lr wd) W "
             "- lr O: the error of O (rtol 1e-8 of |O| <= scale) times lr is far below 1e-8 of |W'| ~ 1. "
             "Measured 1.8e-16 against torch.optim.Muon's step and Moonlight's step, Newton--Schulz in float64.",
         peers=(Peer("torch.optim.Muon step (float64 Newton-Schulz)", _peer_torch_step, requires=("torch",),
                     fixed=_STEP_PIN),
                Peer("MoonshotAI/Moonlight Muon.step (transcribed, float64)", _peer_moonlight_step,
                     requires=("torch",), fixed={"momentum_form": "sum", "scale": "moonlight",
                                                 "ns_eps_mode": "add"})),
         corners=({"momentum": 0.0, "weight_decay": 1.0},)),
]
