r"""Entropy of softmax attention and the log-n (entropy-invariant) scale, derived.

Posts: https://kexue.fm/archives/8823 (A), https://kexue.fm/archives/9034 (B),
https://kexue.fm/archives/9588 (C). This script derives, in SymPy,

1. the exact identity :math:`H = \log\sum_i e^{\lambda s_i} - \lambda\sum_i p_i s_i`
   from :math:`H = -\sum p_i\log p_i` (for symbolic n = 3 scores);
2. the two mean-field steps of (B) and that each errs downwards, so
   :math:`H \ge \log n - \lambda(s_{\max}-\bar s)` is an exact bound for
   :math:`\lambda \ge 0` (Jensen via :math:`e^x \ge 1 + x`, and
   :math:`\sum p_i s_i \le s_{\max}`);
3. :math:`dH/d\lambda = -\lambda\,\mathrm{Var}_p(s) \le 0`;
4. :math:`\mathrm{softmax}(t s) \propto \mathrm{softmax}(s)^t`;
5. the calibration :math:`\kappa\log 512/d = 1/\sqrt d \Rightarrow \kappa\log n/d = \log_{512}n/\sqrt d`,
   the JL route :math:`d_n/d = \log_{512} n` of (C), and :math:`\log_{512}2^k = k/9`;

and then compares each with refimpl.attention's numerics.
Run ``refimpl derive attention_entropy`` to print it.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from ._util import require, show

TOPIC = "attention"
N_SYM = 3

lam, t = sp.symbols("lambda t", positive=True)
s = sp.symbols(f"s1:{N_SYM + 1}", real=True)
x = sp.symbols("x", real=True)


def derive():
    """Derive the identities; return them as a dict of SymPy objects."""
    n = N_SYM
    Z = sum(sp.exp(lam * si) for si in s)
    p = [sp.exp(lam * si) / Z for si in s]
    # 1. exact identity: -sum p log p, with log p_i = lam s_i - log Z
    H_def = -sum(pi * sp.expand_log(sp.log(pi), force=True) for pi in p)
    H_id = sp.log(Z) - lam * sum(pi * si for pi, si in zip(p, s))
    identity = sp.simplify(H_def - H_id)
    # split log Z = log n + log mean e^{lam s}
    lme = sp.log(Z / n)
    split = sp.simplify(sp.expand_log(sp.log(n) + lme - sp.log(Z), force=True))
    # 2a. Jensen via e^x >= 1 + x: f(x) = e^x - 1 - x has f(0) = 0, f'(0) = 0, f'' = e^x > 0
    f = sp.exp(x) - 1 - x
    crit = sp.solve(sp.diff(f, x), x)
    jensen = {"f": f, "critical_points": crit, "f_at_crit": [f.subs(x, c) for c in crit],
              "f2": sp.diff(f, x, 2)}
    # summing e^{lam(s_i - sbar)} >= 1 + lam(s_i - sbar) over i: mean e^{lam(s - sbar)} >= 1
    sbar = sum(s) / n
    sum_lin = sp.simplify(sum(1 + lam * (si - sbar) for si in s) / n)
    # 2b. sum p_i s_i <= s_max: s_max - sum p s = sum p_i (s_max - s_i), each term >= 0 when p_i >= 0
    smax = sp.Symbol("s_max", real=True)
    gap = sp.simplify(smax - sum(pi * si for pi, si in zip(p, s)) - sum(pi * (smax - si) for pi, si in zip(p, s)))
    # 3. dH/dlam = -lam Var_p(s)
    Eps = sum(pi * si for pi, si in zip(p, s))
    Eps2 = sum(pi * si**2 for pi, si in zip(p, s))
    dH = sp.diff(H_id, lam)
    dH_claim = -lam * (Eps2 - Eps**2)
    dH_diff = sp.simplify(sp.expand(dH - dH_claim))
    # 4. softmax(t s) proportional to softmax(s)^t
    q1 = [sp.exp(si) / sum(sp.exp(sj) for sj in s) for si in s]
    pw = [qi**t for qi in q1]
    pw_norm = [w / sum(pw) for w in pw]
    st = [sp.exp(t * si) / sum(sp.exp(t * sj) for sj in s) for si in s]
    power = [sp.simplify(sp.powsimp(sp.expand_power_base(a - b, force=True), force=True)) for a, b in zip(pw_norm, st)]
    # 5. kappa calibration
    d, nn, kappa = sp.symbols("d n kappa", positive=True)
    kap = sp.solve(sp.Eq(kappa * sp.log(512) / d, 1 / sp.sqrt(d)), kappa)
    scale_E = sp.simplify(kap[0] * sp.log(nn) / d - sp.log(nn, 512) / sp.sqrt(d))
    # JL route (C): ideal key size d_n = c log n, calibrated d = c log 512
    c = sp.Symbol("c", positive=True)
    cal = sp.solve(sp.Eq(d, c * sp.log(512)), c)[0]
    jl_ratio = sp.simplify(cal * sp.log(nn) / d - sp.log(nn, 512))
    k = sp.Symbol("k", integer=True, positive=True)
    pow2 = sp.simplify(sp.expand_log(sp.log(2**k) / sp.log(512), force=True))
    return {"H_def": H_def, "H_identity": H_id, "identity_residual": identity, "split_residual": split,
            "jensen": jensen, "mean_linear": sum_lin, "pmax_gap_residual": gap, "dH": dH_claim,
            "dH_residual": dH_diff, "power_residual": power, "kappa": kap, "scale_E_residual": scale_E,
            "jl_ratio_residual": jl_ratio, "log512_2k": pow2}


def check():
    """Compare the derived identities with refimpl.attention; return the max numerical error."""
    from refimpl.attention import (attention, entropy, entropy_decomposition, entropy_invariant_attention,
                                   entropy_lower_bound, logn_factor, softmax)

    r = derive()
    require(r["identity_residual"] == 0, f"entropy identity residual {r['identity_residual']}")
    require(r["split_residual"] == 0, "log Z = log n + log mean e^{lam s} fails")
    j = r["jensen"]
    require(j["critical_points"] == [0] and j["f_at_crit"] == [0] and j["f2"] == sp.exp(x),
            "e^x - 1 - x is not minimised at 0 with value 0")
    require(r["mean_linear"] == 1, f"mean of 1 + lam(s - sbar) is {r['mean_linear']}, not 1")
    require(r["pmax_gap_residual"] == 0, "s_max - E_p s != sum p (s_max - s)")
    require(r["dH_residual"] == 0, f"dH/dlam + lam Var_p(s) = {r['dH_residual']}")
    require(all(e == 0 for e in r["power_residual"]), "softmax(t s) is not softmax(s)^t normalised")
    require(r["scale_E_residual"] == 0 and r["jl_ratio_residual"] == 0, "kappa calibration does not give log_512 n")
    require(sp.simplify(r["log512_2k"] - sp.Symbol("k", integer=True, positive=True) / 9) == 0, "log_512 2^k != k/9")

    worst = 0.0
    # numerics: identity and bound at exact rational scores (mpmath-free: SymPy evaluates to 30 digits)
    vals = {s[0]: sp.Rational(3, 2), s[1]: sp.Rational(-1, 3), s[2]: sp.Rational(5, 7), lam: sp.Rational(7, 4)}
    H_exact = float(sp.N(r["H_def"].subs(vals), 30))
    sv = np.array([1.5, -1 / 3, 5 / 7])
    a, b, c_ = entropy_decomposition(sv, 1.75)
    H_num = float(entropy(softmax(1.75 * sv)))
    for val in (float(a + b - c_), H_num):
        err = abs(val - H_exact) / abs(H_exact)
        require(err < 1e-14, f"entropy numerics differ from the exact value by {err:.2e}")
        worst = max(worst, err)
    lb = float(entropy_lower_bound(sv, 1.75))
    require(lb <= H_exact <= np.log(3), "lower bound / log n bound violated at the exact point")
    dH_exact = float(sp.N(r["dH"].subs(vals), 30))
    h = 1e-5
    fd = (float(entropy(softmax((1.75 + h) * sv))) - float(entropy(softmax((1.75 - h) * sv)))) / (2 * h)
    require(abs(fd - dH_exact) < 1e-8, f"dH/dlam finite difference {fd} vs derived {dH_exact}")
    # bound on random data
    rng = np.random.default_rng(0)
    S = rng.standard_normal((200, 37)) * 3
    for lv in (0.1, 1.0, 5.0):
        a, b, c_ = entropy_decomposition(S, lv)
        H = a + b - c_
        require(np.all(entropy_lower_bound(S, lv) <= H + 1e-12) and np.all(H <= np.log(37) + 1e-12),
                f"log n - lam(s_max - sbar) <= H <= log n fails at lam={lv}")
    # kappa: kappa log n / d == logn_factor(n) / sqrt(d)
    for dd in (16, 64, 128):
        kap = float(sp.N(r["kappa"][0].subs(sp.Symbol("d", positive=True), dd), 30))
        for n in (64, 512, 1000, 65536):
            err = abs(kap * np.log(n) / dd - logn_factor(n) / np.sqrt(dd)) / (logn_factor(n) / np.sqrt(dd))
            require(err < 4e-16, f"kappa form vs logn_factor: {err:.2e}")
            worst = max(worst, err)
    for kk in range(1, 21):
        require(logn_factor(2.0**kk) == kk / 9, f"log_512 2^{kk} != {kk}/9 exactly")
    q, k_, v = (rng.standard_normal((512, 8)) for _ in range(3))
    require(np.array_equal(entropy_invariant_attention(q, k_, v), attention(q, k_, v)),
            "entropy-invariant attention differs from plain attention at n = 512")
    return float(worst)


def main():
    """Print the derivation and run the checks."""
    r = derive()
    show("H = -sum p log p  (n = 3, p = softmax(lam s))", r["H_def"])
    show("equals  log Z - lam sum p s   (difference simplifies to)", r["identity_residual"])
    show("Jensen: f = e^x - 1 - x, critical point(s), f there, f''", [r["jensen"][k] for k in
                                                                      ("critical_points", "f_at_crit", "f2")])
    show("mean_i [1 + lam (s_i - sbar)]  (so mean e^{lam s} >= e^{lam sbar})", r["mean_linear"])
    show("s_max - E_p[s] - sum p_i (s_max - s_i)  (each term >= 0)", r["pmax_gap_residual"])
    show("dH/dlam = -lam Var_p(s); residual", r["dH_residual"])
    show("softmax(t s) - normalised softmax(s)^t", r["power_residual"])
    show("kappa from kappa log 512 / d = 1/sqrt(d)", r["kappa"])
    show("kappa log n / d - log_512 n / sqrt(d)", r["scale_E_residual"])
    show("JL (9588): d_n / d - log_512 n", r["jl_ratio_residual"])
    show("log_512 2^k", r["log512_2k"])
    print(f"\ncheck(): max numerical error {check():.2e}")


if __name__ == "__main__":
    main()
