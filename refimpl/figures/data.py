"""Data behind each figure of ``refimpl figures``: plain arrays from refimpl's public functions.

Every function takes no argument, is deterministic (seeded where random) and
returns a ``dict`` of NumPy arrays (scalars as 0-d arrays), so that the data
can be saved next to the images and recomputed by the tests.
"""
from __future__ import annotations

import numpy as np

from .. import attention, embedding, jl, muon, rope, scaling, ssm

__all__ = [
    "rope_decay", "rope_scaling", "rope_rerope", "attention_entropy", "jl_h_dim", "nope_readback",
    "legs_reconstruction", "s4_kernel_routes", "nplr_spectra", "muon_scalar_map", "lr_vs_batch",
    "tied_init_loss",
]

#: h_n of https://kexue.fm/archives/7695 as printed there (numerical integration).
H_TABLE_ARTICLE = {32: -7.77471, 64: -15.4734, 96: -23.1726, 128: -30.8718, 256: -61.6692, 512: -123.264}
#: "n > 8.33 log N": the dimensions https://kexue.fm/archives/8711 prints for N = 512, 1e5, 5e6.
MIN_DIM_ARTICLE = {512: 52, 100_000: 96, 5_000_000: 128}


def _a(x):
    return np.asarray(x, dtype=float)


def rope_decay():
    """Su's long-range decay curve (https://kexue.fm/archives/8265) for d = 128 and several bases."""
    d = 128
    distances = np.arange(0, 4097, dtype=float)
    bases = np.array([1e4, 1e5, 1e6])
    curves = np.stack([rope.decay_curve(d, distances, base=b) for b in bases])
    return {"d": _a(d), "distances": distances, "bases": bases, "curves": curves,
            "article_m0": _a((d / 2 + 1) / 2)}


#: LongRoPE's factors come from a search per model; the figure uses a smooth
#: illustrative ramp from 1 to the factor (quadratic in the pair index).
def _longrope_factors(h, factor):
    return factor ** ((np.arange(h) / (h - 1)) ** 2)


ROPE_SCALING_METHODS = (
    ("linear", "PI (linear)", {}),
    ("ntk", "NTK-aware (bloc97)", {}),
    ("ntk_old", "NTK-RoPE-old (base x k)", {}),
    ("ntk_fixed", "NTK-RoPE-fixed", {}),
    ("ntk_mixed", "NTK-RoPE-mixed (b=0.625)", {"b": 0.625}),
    ("yarn", "YaRN, paper ramp", {"ramp": "rotations"}),
    ("yarn", "YaRN, transformers ramp", {"ramp": "hf"}),
    ("llama3", "Llama 3", {}),
    ("longrope", "LongRoPE (illustrative factors)", {}),
)


def rope_scaling():
    """theta_i / theta'_i per pair index for every extension scheme: d = 128, base 1e4, k = 8, L0 = 4096."""
    d, base, k, L0 = 128, 1e4, 8.0, 4096
    theta = rope.inv_freq(d, base)
    ratios = []
    for method, _, params in ROPE_SCALING_METHODS:
        p = dict(params)
        if method in ("yarn", "llama3"):
            p["original_max_position"] = L0
        if method == "longrope":
            p.update(ext_factors=_longrope_factors(d // 2, k), original_max_position=L0)
        th, _ = rope.scaled_inv_freq(d, method, base=base, factor=k, **p)
        ratios.append(theta / th)
    return {"d": _a(d), "base": _a(base), "factor": _a(k), "original_max_position": _a(L0),
            "index": np.arange(d // 2, dtype=float), "ratio": np.stack(ratios),
            "rotations": L0 * theta / (2 * np.pi)}


def rope_rerope():
    """ReRoPE / Leaky ReRoPE position maps (https://kexue.fm/archives/9708): last row and a small matrix."""
    L, w, k = 1024, 256, 16.0
    rows = np.stack([rope.relative_positions(L, "rope")[-1, ::-1],
                     rope.relative_positions(L, "rerope", window=w)[-1, ::-1],
                     rope.relative_positions(L, "leaky_rerope", window=w, factor=k)[-1, ::-1]])
    small = np.stack([rope.relative_positions(12, "rerope", window=4),
                      rope.relative_positions(12, "leaky_rerope", window=4, factor=4.0)])
    return {"L": _a(L), "window": _a(w), "factor": _a(k), "delta": np.arange(L, dtype=float), "rows": rows,
            "small": small, "small_window": _a(4), "small_factor": _a(4.0)}


def attention_entropy():
    """Attention entropy vs length, plain and log-n scaled, at logit scales c = 1 and c = 4 (seeded)."""
    out = {}
    for c in (1.0, 4.0):
        r = attention.entropy_vs_length(c, seed=0)
        tag = f"c{int(c)}"
        out["lengths"] = _a(r.lengths)
        out[f"plain_{tag}"] = _a(r.plain)
        out[f"logn_{tag}"] = _a(r.logn)
    out["base"] = _a(512)
    return out


def jl_h_dim():
    """h_n (https://kexue.fm/archives/7695) and n > 8.33 log N (https://kexue.fm/archives/8711)."""
    n = np.arange(4, 513, 4, dtype=float)
    table_n = np.array(sorted(H_TABLE_ARTICLE), dtype=float)
    N = np.geomspace(10, 1e8, 200)
    return {
        "n": n,
        "h_bessel": np.array([jl.h_dim_bessel(int(v)) for v in n]),
        "table_n": table_n,
        "table_quadrature": np.array([jl.h_dim(int(v)) for v in table_n]),
        "table_article": np.array([H_TABLE_ARTICLE[int(v)] for v in table_n]),
        "slope_exact": _a(-0.5 * np.log(jl.GOLDEN_RATIO)),
        "N": N, "min_dim": _a(jl.entropy_min_dim(N)),
        "article_N": np.array(sorted(MIN_DIM_ARTICLE), dtype=float),
        "article_min_dim": np.array([MIN_DIM_ARTICLE[v] for v in sorted(MIN_DIM_ARTICLE)], dtype=float),
    }


def nope_readback():
    """Position read back from MS of the uniform causal mean (https://kexue.fm/archives/10347), seeded."""
    r = attention.nope.position_readback(L=1024, d=256, trials=64, seed=0)
    return {"positions": _a(r.positions), "ms": _a(r.ms),
            "expected": _a(attention.nope.expected_mean_square(r.positions)),
            "recovered": _a(r.recovered), "slope": _a(r.slope), "intercept": _a(r.intercept)}


def _test_signal(L):
    t = np.arange(L) / L
    return np.sin(2 * np.pi * 3 * t) + 0.6 * np.sin(2 * np.pi * 11 * t ** 2) + 0.8 * (t > 0.6)


def legs_reconstruction():
    """LegS online memory (Su's bilinear recurrence) at several N, and LegT's sliding window."""
    L, window = 1000, 250
    u = _test_signal(L)
    s = (np.arange(L) + 0.5) / L
    Ns = np.array([8, 32, 128])
    legs_rec = np.stack([ssm.reconstruct(ssm.legs_recurrence(u, int(N), "su_bilinear")[-1], s, "legs")
                         for N in Ns])
    legs_proj = np.stack([ssm.reconstruct(ssm.project(u, int(N), "legs"), s, "legs") for N in Ns])
    offsets = np.arange(window) + 0.5
    legt = ssm.reconstruct(ssm.project(u, 32, "legt", window=float(window)), offsets, "legt",
                           window=float(window))
    return {"u": u, "t": np.arange(L) + 0.5, "Ns": Ns.astype(float), "legs": legs_rec, "legs_projection": legs_proj,
            "legt_t": L - window + offsets, "legt": legt, "legt_N": _a(32), "window": _a(window)}


S4_ROUTES = ("naive", "generating", "dplr_cauchy", "scan", "diagonal", "rtf")


def s4_kernel_routes():
    """The S4 kernel of bilinear-discretised HiPPO-LegS (N = 16) by six routes (https://kexue.fm/archives/10162)."""
    N, L, dt = 16, 256, 0.1
    A, B = ssm.legs(N)
    C = np.random.default_rng(0).standard_normal(N)
    Ab, Bb = ssm.discretize(A, B, dt, "bilinear")
    naive = ssm.kernel(Ab, Bb, C, L, "naive")
    generating = ssm.kernel(Ab, Bb, C, L, "generating")
    Lam, P, Bv, V = ssm.nplr("legs", N)
    Ct = ssm.ctilde_from_c(Ab, C, L)
    cauchy = ssm.kernel_dplr(Lam, P, P, Bv, V.T @ Ct, dt, L).real
    impulse = np.zeros(L)
    impulse[0] = 1.0
    recurrence = ssm.scan(Ab, Bb, C, impulse)
    w, W = np.linalg.eig(A)
    diag = ssm.kernel_diag(w, np.linalg.solve(W, B), W.T @ C, dt, L, "bilinear").real
    a, b = ssm.rtf_from_ssm(Ab, Bb, C, L=L)
    rtf = ssm.rtf_kernel(a, b, L)
    K = np.stack([naive, generating, cauchy, recurrence, diag, rtf]).real
    return {"N": _a(N), "dt": _a(dt), "j": np.arange(L, dtype=float), "K": K,
            "diff": np.abs(K - naive), "eig_cond": _a(np.linalg.cond(W))}


def nplr_spectra():
    """Eigenvalues Lambda of the normal part of every NPLR form (N = 64; fout: 65)."""
    out = {}
    for m in ssm.NPLR_MEASURES:
        N = 65 if m == "fout" else 64
        lam = ssm.nplr(m, N, rank=2 if m == "legt" else 1)[0]
        out[f"{m}_re"], out[f"{m}_im"] = lam.real.copy(), lam.imag.copy()
    return out


MUON_TRIPLE_STEPS = 5


def muon_scalar_map():
    """g_T(x) of every Newton--Schulz preset and Polar Express; singular values before/after (seeded)."""
    x = np.concatenate([[0.0], np.geomspace(1e-4, 1.0, 1200)])
    names = list(muon.COEFFICIENTS)
    maps, steps = [], []
    for name in names:
        c = np.asarray(muon.COEFFICIENTS[name])
        T = MUON_TRIPLE_STEPS if c.ndim == 1 else c.shape[0]
        maps.append(muon.scalar_map(x, name, steps=T))
        steps.append(T)
    pe5 = muon.polar_express_coefficients(steps=5)
    maps.append(muon.scalar_map(x, pe5))
    steps.append(5)
    M = np.random.default_rng(0).standard_normal((256, 128))
    sv0 = np.linalg.svd(M, compute_uv=False)
    before = sv0 / np.linalg.norm(M)
    after_keller = np.linalg.svd(muon.newton_schulz(M, "keller", eps=0.0), compute_uv=False)
    after_pe = np.linalg.svd(muon.newton_schulz(M, pe5, eps=0.0), compute_uv=False)
    return {"x": x, "maps": np.stack(maps), "steps": np.array(steps, dtype=float),
            "sv_before": before, "sv_keller": after_keller, "sv_polar_express5": after_pe}


MUON_LABELS = tuple(muon.COEFFICIENTS) + ("polar_express (5-step design)",)


def lr_vs_batch():
    """Optimal LR vs batch size: SGD and SignSGD (surge), closed forms and NQM Monte-Carlo (seeded)."""
    n, kappa = 16, 4.0
    g = np.full(n, 0.5)
    H = 0.8 * np.eye(n) + 0.2 * np.ones((n, n))
    sigma = kappa * g
    Sigma = np.diag(sigma ** 2)
    B = np.geomspace(1.0, 1e4, 241)
    mc_B = np.array([1.0, 4.0, 16.0, 64.0, 256.0, 2048.0])
    sgd_mc = scaling.nqm_optimal_lr(g, H, Sigma, mc_B, n_samples=20_000, rng=1)
    sign_mc = scaling.nqm_optimal_lr(g, H, sigma ** 2, mc_B, update="sign", n_samples=20_000, rng=2)
    s = scaling.surge(g, H, kappa)
    return {
        "B": B, "sgd": _a(scaling.optimal_lr_sgd(g, H, Sigma, B)),
        "sign": _a(scaling.optimal_lr_sign(g, sigma, H, B, exact=True)),
        "sign_mean_field": _a(scaling.optimal_lr_sign(g, sigma, H, B, exact=False)),
        "b_noise": _a(scaling.b_noise(g, H, Sigma)),
        "mc_B": mc_B, "sgd_mc": _a(sgd_mc.eta), "sgd_mc_stderr": _a(sgd_mc.stderr),
        "sign_mc": _a(sign_mc.eta), "sign_mc_stderr": _a(sign_mc.stderr),
        "surge_b_noise": _a(s.b_noise), "surge_eta_max": _a(s.eta_max), "surge_eta_inf": _a(s.eta_inf),
    }


def tied_init_loss():
    """Initial loss vs vocabulary size (d = 768), vs dimension and vs sigma (n = 30522).

    https://kexue.fm/archives/9698 (simulations seeded).
    """
    d = 768
    sigma = d ** -0.5
    n = np.geomspace(100, 1e6, 41)
    variants = embedding.VARIANTS
    expected = np.stack([[embedding.expected_init_loss(int(v), d, sigma, var) for v in n] for var in variants])
    su = np.array([embedding.tied_init_loss(int(v), d, sigma) for v in n])
    mc_n = np.array([1000.0, 10000.0])
    mc = np.full((len(variants), len(mc_n)), np.nan)
    mc_se = np.full_like(mc, np.nan)
    for a, var in enumerate(variants):
        for i, v in enumerate(mc_n):
            if var == "projection" and v > 1000:
                continue  # the projection variant's simulation is the slow one; one point is enough
            sim = embedding.simulate_init_loss(int(v), d, sigma, var, rng=i, n_pairs=200)
            mc[a, i], mc_se[a, i] = sim.mean, sim.stderr
    n_bert = 30522
    sigmas = np.geomspace(1e-3, 0.1, 41)
    dims = 2 * np.unique(np.round(np.geomspace(16, 2048, 22))).astype(int)  # even: shuffle swaps halves
    return {"d": _a(d), "sigma": _a(sigma), "n": n, "expected": expected, "su_tied": su,
            "mc_n": mc_n, "mc": mc, "mc_stderr": mc_se,
            "n_sweep": _a(n_bert), "sigmas": sigmas,
            "tied_vs_sigma": np.array([embedding.expected_init_loss(n_bert, d, float(v), "tied") for v in sigmas]),
            "su_vs_sigma": np.array([embedding.tied_init_loss(n_bert, d, float(v)) for v in sigmas]),
            "sigma_uniform": _a(embedding.init_std_for_uniform_loss(n_bert, d)),
            "dims": dims.astype(float),
            "expected_vs_d": np.array([[embedding.expected_init_loss(n_bert, int(k), k ** -0.5, var) for k in dims]
                                       for var in variants])}
