"""Oracle cases of refimpl.muon (see :mod:`refimpl.testing.oracle`)."""
from __future__ import annotations

import numpy as np

from ..testing.oracle import register_oracle
from .msign import msign
from .newton_schulz import COEFFICIENTS, EPS_MODES, NORMALIZATIONS, newton_schulz

_PRESETS = ("keller",) + tuple(k for k in COEFFICIENTS if k != "keller")


def _matrix(src, max_side=16):
    n = src.integer("n", 1, max_side)
    m = src.integer("m", 1, max_side)
    shape = (n, m) if not src.boolean("batched") else (2, n, m)
    scale = 10.0 ** src.real("log10_scale", -3.0, 3.0)  # NS and msign are scale invariant
    return src.normal("M", shape, scale=scale)


@register_oracle("muon.newton_schulz", newton_schulz,
                 tolerances={"float64": (1e-8, 0.0), "float32": (5e-4, 0.0), "bfloat16": (0.2, 0.0)})
def _newton_schulz(src):
    """The NS iteration for M of shape (n, m) or (2, n, m), n, m in [1, 16], entries N(0, s^2) with
    s log-uniform in [1e-3, 1e3], every preset (``steps`` 1, 3 or 8 for the (3,) presets),
    both normalisations, both ``transpose_tall``, all eps conventions, ``prescale`` on/off.

    A rounding error of size u in step t reaches the output multiplied by the
    slopes of the remaining steps (at most prod_t max|g_t'|: about 3.4**5 = 480
    for Keller's coefficients, far more for 8-step schedules), so the bounds
    are per preset; the tolerances cover the worst preset with margin, norm-wise
    (the output's singular values are about 1). float64: 10 T u prod|g'| <= 1e-9;
    measured 6e-15 for torch.optim.Muon's algorithm run in float64: rtol 1e-8.
    float32 (u = 6e-8): measured (refimpl's float32 emulation, 80 examples per
    preset) 3e-7 (cubic) to 4e-6 (keller) and 6e-5 (su_minmax); torch's
    algorithm in float32 2.6e-6: rtol 5e-4. bfloat16 (u = 2**-8, products
    accumulated in float32 as torch.optim.Muon does): measured 0.009 (cubic)
    to 0.08 (keller; torch itself 0.05) and 0.1 (su_x3): rtol 0.2. Su's
    min-max triple ``su_minmax`` can diverge in bfloat16 (a singular value
    ends near 10; torch.optim.Muon's own bf16 code does the same), so pin
    ``coefficients`` when testing a bf16 kernel. A coefficient with its sign
    flipped changes the output by O(1) or makes it diverge.
    """
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
    out["prescale"] = src.choice("prescale", (True, False))
    return out


@register_oracle("muon.msign", msign, tolerances={"float64": (1e-10, 0.0), "float32": (5e-4, 0.0)})
def _msign(src):
    """msign(M) = U V^T for full-rank M (n, m) or (2, n, m), n, m in [1, 12], singular values
    log-spaced from 1 down to 1/kappa with kappa log-uniform in [1, 1e3], random
    orthogonal factors, an overall scale in [1e-3, 1e3]; method "svd" or "polar".

    The polar factor's condition number is about kappa (its perturbation is
    bounded by 2/(sigma_{r-1} + sigma_r) times that of M): float64
    kappa u = 2.2e-13, measured 1.3e-14 for torch.linalg.svd: rtol 1e-10
    (refimpl's docstring: tested to 1e-11 for kappa <= 1e3). float32:
    kappa u = 6e-5, measured 4e-6 for torch.linalg.svd: rtol 5e-4.
    """
    n = src.integer("n", 1, 12)
    m = src.integer("m", 1, 12)
    r = min(n, m)
    batch = (2,) if src.boolean("batched") else ()
    kappa = 10.0 ** src.real("log10_kappa", 0.0, 3.0)
    scale = 10.0 ** src.real("log10_scale", -3.0, 3.0)
    g = src.rng("M")
    mats = []
    for _ in range(batch[0] if batch else 1):
        u, _ = np.linalg.qr(g.standard_normal((n, r)))
        v, _ = np.linalg.qr(g.standard_normal((m, r)))
        s = np.logspace(0.0, -np.log10(kappa), r) if r > 1 else np.ones(1)
        mats.append(scale * (u * s) @ v.T)
    M = np.stack(mats) if batch else mats[0]
    return {"M": M, "method": src.choice("method", ("svd", "polar"))}
