"""Checks of refimpl.muon that are not about one function, run by ``refimpl verify``.

Per-function peers and article numbers are rows of ``cases.py``.
"""
from __future__ import annotations

import numpy as np

from ..verify import CheckSkipped, register
from .design import cubic_equioscillation, optimal_odd_polynomial
from .newton_schulz import COEFFICIENTS, newton_schulz, scalar_map
from .optimizer import muon_scale, muon_step
from ._precision import round_bf16


@register("muon", "muon.newton_schulz_vs_svd_scalar_map", tol=1e-12, kind="route", unit="max abs err",
          compared="newton_schulz (reference, every preset, both normalisations) vs U scalar_map(sigma/norm) V^T "
                   "from numpy.linalg.svd")
def _ns_vs_scalar_map():
    """Newton-Schulz (every preset, both normalisations) = U g(sigma/norm) V^T through the SVD."""
    rng = np.random.default_rng(12)
    worst = 0.0
    for shape in ((30, 20), (20, 30), (3, 25, 25)):
        M = rng.standard_normal(shape)
        U, s, Vt = np.linalg.svd(M, full_matrices=False)
        for name in COEFFICIENTS:
            for norm, p in (("frobenius", 2), ("su_improved", 8)):
                x = s / np.sum(s**p, axis=-1, keepdims=True) ** (1 / p)
                want = (U * scalar_map(x, name)[..., None, :]) @ Vt
                got = newton_schulz(M, name, eps=0.0, normalization=norm, backend="reference")
                worst = max(worst, float(np.max(np.abs(got - want))))
    return worst


@register("muon", "muon.cubic_closed_form_vs_remez", tol=1e-12, kind="route", unit="rel err",
          compared="cubic_equioscillation (closed form of 10996) vs optimal_odd_polynomial(degree=3) (Remez)")
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


@register("muon", "muon.bf16_rounding_vs_torch", tol=0.0, kind="peer", unit="mismatches",
          compared="round_bf16 (the rounding of every bf16 emulation) vs torch Tensor.bfloat16 on 1e5 bit patterns")
def _bf16_vs_torch():
    """round_bf16 vs torch's float32 -> bfloat16 on random bit patterns: number of mismatches."""
    torch = _torch()
    rng = np.random.default_rng(13)
    x = rng.integers(0, 2**32, 100_000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    got = round_bf16(x)
    want = torch.from_numpy(x.copy()).bfloat16().float().numpy()
    same = (got.view(np.uint32) == want.view(np.uint32)) | (np.isnan(got) & np.isnan(want))
    return float(np.sum(~same))


@register("muon", "muon.muon_step_bf16_vs_torch_optim_muon_ulps", tol=4.0, kind="peer", unit="bf16 ulp per step",
          compared="6 muon_step calls with ns_dtype='bfloat16' vs torch.optim.Muon (its own bf16 code)")
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
                if not rb <= 0.6 * rf:
                    raise RuntimeError(f"bf16 emulation not closer to torch than float64: {rb:.2e} vs {rf:.2e}")
                unit = steps * lr * muon_scale(shape, scale) * 2.0**-7
                worst = max(worst, float(np.max(np.abs(Wb - T))) / unit)
    return worst
