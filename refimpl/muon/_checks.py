"""Cross-checks of refimpl.muon run by ``refimpl verify`` (second routes, published numbers, peers)."""
from __future__ import annotations

import numpy as np
import scipy.linalg

from ..verify import CheckSkipped, register
from .design import PE_CUSHION, cubic_equioscillation, optimal_odd_polynomial, polar_express_coefficients
from .msign import msign
from .newton_schulz import newton_schulz, scalar_map
from .optimizer import muon_scale, muon_step
from ._precision import round_bf16


def _conditioned(rng, n, m, cond):
    r = min(n, m)
    U, _ = np.linalg.qr(rng.standard_normal((n, r)))
    V, _ = np.linalg.qr(rng.standard_normal((m, r)))
    return (U * np.logspace(0, -np.log10(cond), r)) @ V.T


@register("muon", "muon.msign_svd_and_polar_vs_scipy_polar", tol=1e-11)
def _msign_vs_scipy():
    """msign by SVD and by the QR + scaled Newton route vs scipy.linalg.polar (cond <= 1e3)."""
    rng = np.random.default_rng(11)
    worst = 0.0
    for n, m in ((40, 40), (60, 25), (25, 60), (1, 9), (9, 1)):
        M = _conditioned(rng, n, m, 1e3)
        Q = scipy.linalg.polar(M, side="right" if n >= m else "left")[0]
        worst = max(worst, float(np.max(np.abs(msign(M) - Q))), float(np.max(np.abs(msign(M, "polar") - Q))))
    return worst


@register("muon", "muon.newton_schulz_vs_svd_scalar_map", tol=1e-12)
def _ns_vs_scalar_map():
    """Newton-Schulz (every preset, both normalisations) = U g(sigma/norm) V^T through the SVD."""
    from .newton_schulz import COEFFICIENTS

    rng = np.random.default_rng(12)
    worst = 0.0
    for shape in ((30, 20), (20, 30), (3, 25, 25)):
        M = rng.standard_normal(shape)
        U, s, Vt = np.linalg.svd(M, full_matrices=False)
        for name in COEFFICIENTS:
            for norm, p in (("frobenius", 2), ("su_improved", 8)):
                x = s / np.sum(s**p, axis=-1, keepdims=True) ** (1 / p)
                want = (U * scalar_map(x, name)[..., None, :]) @ Vt
                got = newton_schulz(M, name, eps=0.0, normalization=norm)
                worst = max(worst, float(np.max(np.abs(got - want))))
    return worst


@register("muon", "muon.polar_express_vs_article_table_half_units", tol=1.0)
def _pe_table():
    """Polar Express (safety 1) vs the 10996 table, in units of half the last printed digit (b6 sign fixed)."""
    table = [("8.28721", "-23.5959", "17.3004"), ("4.10706", "-2.94785", "0.544843"),
             ("3.94869", "-2.9089", "0.551819"), ("3.31842", "-2.48849", "0.510049"),
             ("2.30065", "-1.6689", "0.418807"), ("1.8913", "-1.268", "0.376804"),
             ("1.875", "-1.25", "0.375"), ("1.875", "-1.25", "0.375")]
    C = polar_express_coefficients(1e-3, 1.0, steps=8, safety=1.0, cushion=PE_CUSHION)
    worst = 0.0
    for t, row in enumerate(table):
        for j, text in enumerate(row):
            half = 0.5 * 10.0 ** -len(text.split(".")[1])
            worst = max(worst, abs(C[t, j] - float(text)) / half)
    coef, E = optimal_odd_polynomial(1e-3, 1.0)  # the article's uncushioned f_1 and E
    for got, text in zip((*coef, E), ("8.4703", "-25.1081", "18.6293", "0.9915")):
        worst = max(worst, abs(got - float(text)) / (0.5 * 10.0 ** -len(text.split(".")[1])))
    return worst


@register("muon", "muon.cubic_closed_form_vs_remez", tol=1e-12)
def _cubic():
    """Degree-3 Remez exchange vs the closed form of 10996 on several intervals."""
    worst = 0.0
    for l, u in ((1e-3, 1.0), (0.05, 1.0), (0.2, 3.0), (0.7, 1.3)):
        a, b, E = cubic_equioscillation(l, u)
        coef, E2 = optimal_odd_polynomial(l, u, 3)
        worst = max(worst, abs(a - coef[0]) / abs(a), abs(b - coef[1]) / abs(b), abs(E - E2))
    return worst


def _torch():
    try:
        import torch
    except ImportError:
        raise CheckSkipped("torch not installed") from None
    return torch


@register("muon", "muon.bf16_rounding_vs_torch", tol=0.0)
def _bf16_vs_torch():
    """round_bf16 vs torch's float32 -> bfloat16 on random bit patterns: number of mismatches."""
    torch = _torch()
    rng = np.random.default_rng(13)
    x = rng.integers(0, 2**32, 100_000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    got = round_bf16(x)
    want = torch.from_numpy(x.copy()).bfloat16().float().numpy()
    same = (got.view(np.uint32) == want.view(np.uint32)) | (np.isnan(got) & np.isnan(want))
    return float(np.sum(~same))


@register("muon", "muon.muon_step_bf16_vs_torch_optim_muon_ulps", tol=4.0)
def _muon_vs_torch():
    """muon_step (bf16 emulation) vs torch.optim.Muon, 6 steps, each adjust_lr_fn and Nesterov setting.

    Returns max |W_refimpl - W_torch| / (steps * lr * scale * 2**-7): bf16 ulps (at 1) of Newton-Schulz
    output per step. Raises if the bf16 emulation is not closer to torch than float64 refimpl is.
    """
    torch = _torch()
    if not hasattr(torch.optim, "Muon"):
        raise CheckSkipped("torch.optim.Muon not available")
    rng = np.random.default_rng(14)
    lr, wd, steps, worst = 0.02, 0.1, 6, 0.0
    for adjust, scale in ((None, "keller"), ("original", "keller"), ("match_rms_adamw", "moonlight")):
        for nesterov in (True, False):
            for shape in ((48, 32), (24, 64)):
                W0 = (0.1 * rng.standard_normal(shape)).astype(np.float32)
                p = torch.nn.Parameter(torch.from_numpy(W0.copy()))
                opt = torch.optim.Muon([p], lr=lr, weight_decay=wd, nesterov=nesterov, adjust_lr_fn=adjust)
                Wb, Wf, sb, sf = W0.astype(np.float64), W0.astype(np.float64), {}, {}
                for _ in range(steps):
                    G = rng.standard_normal(shape).astype(np.float32)
                    p.grad = torch.from_numpy(G.copy())
                    opt.step()
                    kw = dict(lr=lr, weight_decay=wd, nesterov=nesterov, scale=scale)
                    Wb = muon_step(Wb, G, sb, ns_dtype="bfloat16", ns_eps_mode="clamp", **kw)
                    Wf = muon_step(Wf, G, sf, **kw)
                T = p.detach().numpy().astype(np.float64)
                rb, rf = np.sqrt(np.mean((Wb - T) ** 2)), np.sqrt(np.mean((Wf - T) ** 2))
                assert rb <= 0.6 * rf, f"bf16 emulation not closer to torch than float64: {rb:.2e} vs {rf:.2e}"
                unit = steps * lr * muon_scale(shape, scale) * 2.0**-7
                worst = max(worst, float(np.max(np.abs(Wb - T))) / unit)
    return worst
