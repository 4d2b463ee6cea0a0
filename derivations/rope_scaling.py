r"""The frequency-scaling conditions of RoPE extension schemes, solved in SymPy.

Derived here (https://kexue.fm/archives/9675, 9706, 9948; transformers):

1. NTK-aware (bloc97): solve :math:`n/(\beta\lambda)^{d/2-1} = (n/k)/\beta^{d/2-1}`
   for :math:`\lambda`, giving :math:`\lambda = k^{2/(d-2)}` and the new base
   :math:`b' = (\beta\lambda)^{d/2} = b\,k^{d/(d-2)}`; NTK-old's
   :math:`b' = bk` divides the lowest frequency by :math:`k^{1-2/d}` only.
2. NTK-mixed: solve the constraint :math:`\lambda_1\cdots\lambda_{d/2} = k`
   with :math:`\lambda_1\cdots\lambda_m = e^{a m^b}` for :math:`a`; show
   :math:`b=1` is NTK-fixed (:math:`\lambda_m = k^{2/d}`) and :math:`b \to 0`
   is PI (every frequency divided by k).
3. YaRN: invert the rotation count :math:`r(i) = L b^{-2i/d}/(2\pi)` for
   :math:`i`, which is transformers' ``find_correction_dim``.
4. The attention factor: the series of :math:`(1 + 0.1\ln s)^2` at
   :math:`s = 1` (:math:`1 + 0.2 \ln s + 0.01\ln^2 s`), and longrope's
   :math:`\sqrt{1 + \ln s/\ln L}` squared is :math:`\log(sL)/\log L`.
5. transformers' dynamic NTK base equals :math:`b` at :math:`L = L_{max}`,
   and with factor 1 it is :math:`b (L/L_{max})^{d/(d-2)}`.
6. llama3's smoothing is YaRN's :math:`\gamma` linear in the rotation
   count: :math:`L_0/\text{wavelen} = r`.

``check()`` compares each derived quantity with refimpl numerically.
"""
from __future__ import annotations

import math

import numpy as np
import sympy as sp

from ._util import require, show

TOPIC = "rope"

d, k, n, beta, lam, b, a, L, s, i, r, base = sp.symbols("d k n beta lambda b a L s i r base", positive=True)


def derive():
    """Solve each condition; return a dict of SymPy results."""
    out = {}
    # 1. NTK: lowest digit (m = d/2, exponent d/2 - 1) of base beta*lambda equals PI's
    cond = sp.Eq(n / (beta * lam) ** (d / 2 - 1), (n / k) / beta ** (d / 2 - 1))
    sols = sp.solve(cond, lam)
    require(len(sols) == 1, f"expected one positive lambda, got {sols}")
    out["ntk_lambda"] = sp.simplify(sols[0])
    beta_of_base = base ** (2 / d)
    out["ntk_base"] = sp.simplify(sp.powsimp(sp.expand_power_base((beta_of_base * out["ntk_lambda"]) ** (d / 2),
                                                                    force=True), force=True))
    # NTK-old base*k: the lowest frequency ratio theta/theta' = k^(2i/d) at i = d/2 - 1
    out["ntk_old_lowest_ratio"] = sp.simplify(k ** (2 * (d / 2 - 1) / d))
    # 2. NTK-mixed: prod_{m<=d/2} lambda_m = exp(a (d/2)^b) = k
    sol_a = sp.solve(sp.Eq(a * (d / 2) ** b, sp.log(k)), a)
    require(len(sol_a) == 1, f"expected one a, got {sol_a}")
    out["mixed_a"] = sol_a[0]
    mm = sp.symbols("m", positive=True)
    prod_m = sp.exp(out["mixed_a"] * mm ** b)  # lambda_1 ... lambda_m
    out["mixed_lambda_m_b1"] = sp.simplify(prod_m.subs(b, 1) / prod_m.subs(b, 1).subs(mm, mm - 1))
    out["mixed_prod_b0_limit"] = sp.limit(prod_m, b, 0, "+")
    # 3. YaRN: invert r(i) = L base^(-2i/d) / (2 pi)
    sol_i = [x for x in sp.solve(sp.Eq(r, L * base ** (-2 * i / d) / (2 * sp.pi)), i) if sp.im(x) == 0]
    require(len(sol_i) == 1, f"expected one real i, got {sol_i}")
    out["yarn_correction_dim"] = sp.simplify(sp.expand_log(sol_i[0], force=True))
    # 4. attention factors
    out["mscale_sq_series"] = sp.series((1 + sp.Rational(1, 10) * sp.log(s)) ** 2, s, 1, 3).removeO()
    out["mscale_sq_expanded"] = sp.expand((1 + sp.Rational(1, 10) * sp.log(s)) ** 2)
    out["longrope_sq"] = sp.simplify(sp.expand_log((sp.sqrt(1 + sp.log(s) / sp.log(L))) ** 2 - sp.log(s * L) / sp.log(L),
                                                   force=True))
    # 5. dynamic: b' = b (f L / Lmax - (f - 1))^(d/(d-2))
    f, Lmax = sp.symbols("f L_max", positive=True)
    dyn = base * (f * L / Lmax - (f - 1)) ** (d / (d - 2))
    out["dynamic_at_Lmax"] = sp.simplify(dyn.subs(L, Lmax))
    out["dynamic_f1"] = sp.simplify(dyn.subs(f, 1))
    # 6. llama3: L0 / wavelen with wavelen = 2 pi / theta equals the rotation count r = L0 theta / (2 pi)
    theta = sp.symbols("theta", positive=True)
    out["llama3_ratio_minus_r"] = sp.simplify(L / (2 * sp.pi / theta) - L * theta / (2 * sp.pi))
    return out


def check():
    """Compare the solved conditions with refimpl.rope; return the max relative error."""
    from refimpl.rope import inv_freq, scaled_inv_freq, yarn_correction_dim, yarn_get_mscale
    from refimpl.rope.frequencies import _llama3, _yarn

    r_ = derive()
    require(sp.simplify(r_["ntk_lambda"] - k ** (2 / (d - 2))) == 0, f"lambda = {r_['ntk_lambda']}")
    require(sp.simplify(sp.expand_log(sp.log(r_["ntk_base"]), force=True)
                        - sp.expand_log(sp.log(base * k ** (d / (d - 2))), force=True)) == 0,
            f"b' = {r_['ntk_base']}")
    require(sp.simplify(r_["mixed_lambda_m_b1"] - k ** (2 / d)) == 0, "mixed b=1 is not NTK-fixed")
    require(sp.simplify(r_["mixed_prod_b0_limit"] - k) == 0, "mixed b->0 is not PI")
    require(sp.simplify(r_["mscale_sq_series"] - (1 + sp.log(s) / 5 + sp.log(s) ** 2 / 100)) == 0 or
            sp.simplify(r_["mscale_sq_expanded"] - (1 + sp.log(s) / 5 + sp.log(s) ** 2 / 100)) == 0,
            "(1 + 0.1 ln s)^2 expansion")
    first_order = sp.series((1 + sp.Rational(1, 10) * sp.log(s)) ** 2, s, 1, 2).removeO()
    require(sp.simplify(first_order - (1 + (s - 1) / 5)) == 0, "first order is not 1 + 0.2 ln s")
    require(r_["longrope_sq"] == 0, "longrope factor^2 is not log(sL)/log L")
    require(r_["dynamic_at_Lmax"] == base, "dynamic base at L = L_max is not b")
    require(r_["llama3_ratio_minus_r"] == 0, "L/wavelen is not the rotation count")

    worst = 0.0

    def rel(x, y):
        return float(np.max(np.abs(np.asarray(x, float) - np.asarray(y, float)) / np.abs(np.asarray(y, float))))

    for dd in (8, 64, 128):
        for kk in (2.0, 8.0, 32.0):
            th0 = inv_freq(dd)
            subs = {d: dd, k: kk, base: 10000}
            # NTK from the solved base
            b_new = float(sp.N(r_["ntk_base"].subs(subs), 30))
            worst = max(worst, rel(scaled_inv_freq(dd, "ntk", factor=kk)[0], b_new ** (-np.arange(0, dd, 2) / dd)))
            worst = max(worst, rel(th0[-1] / scaled_inv_freq(dd, "ntk", factor=kk)[0][-1], kk))
            ratio_old = float(sp.N(r_["ntk_old_lowest_ratio"].subs(subs)))
            worst = max(worst, rel(th0[-1] / scaled_inv_freq(dd, "ntk_old", factor=kk)[0][-1], ratio_old))
            # mixed: a from the solved constraint
            for bb in (0.25, 0.625, 1.0):
                av = float(sp.N(r_["mixed_a"].subs({**subs, b: bb})))
                mmv = np.arange(1, dd // 2 + 1)
                worst = max(worst, rel(scaled_inv_freq(dd, "ntk_mixed", factor=kk, b=bb)[0],
                                       th0 * np.exp(-av * mmv ** bb)))
            worst = max(worst, rel(scaled_inv_freq(dd, "ntk_mixed", factor=kk, b=1.0)[0],
                                   scaled_inv_freq(dd, "ntk_fixed", factor=kk)[0]))
            worst = max(worst, rel(scaled_inv_freq(dd, "ntk_mixed", factor=kk, b=0.0)[0],
                                   scaled_inv_freq(dd, "linear", factor=kk)[0]))
            # YaRN correction dim: solved inverse vs refimpl, and r(i(r)) = r
            for LL in (2048, 8192):
                for rot in (1.0, 32.0):
                    i_sym = float(sp.N(r_["yarn_correction_dim"].subs({**subs, L: LL, r: rot}), 30))
                    i_ref = yarn_correction_dim(rot, dd, 10000.0, LL)
                    worst = max(worst, abs(i_sym - i_ref) / max(abs(i_sym), 1.0))
                    worst = max(worst, rel(LL * 10000.0 ** (-2 * i_ref / dd) / (2 * math.pi), rot))
                # llama3 == YaRN's rotation ramp with (beta_slow, beta_fast) = (lo, hi)
                for lo, hi in ((1.0, 4.0), (2.0, 16.0)):
                    a3 = _llama3(dd, 10000.0, kk, LL, lo, hi)[0]
                    y3 = _yarn(dd, 10000.0, kk, LL, beta_fast=hi, beta_slow=lo)[0]
                    worst = max(worst, rel(a3, y3))
        # attention factor series value
        for sv in (1.5, 8.0, 40.0):
            want = float(sp.N(r_["mscale_sq_expanded"].subs(s, sv)))
            worst = max(worst, rel(yarn_get_mscale(sv) ** 2, want))
            want_lr = math.log(sv * 4096) / math.log(4096)
            got_lr = scaled_inv_freq(8, "longrope", factor=sv, ext_factors=np.ones(4), original_max_position=4096)[1]
            worst = max(worst, rel(got_lr ** 2, want_lr))
    # dynamic at L = L_max and the factor-1 form
    for dd in (64, 128):
        worst = max(worst, rel(scaled_inv_freq(dd, "dynamic_ntk", factor=4.0, seq_len=100,
                                               original_max_position=4096)[0], inv_freq(dd)))
        b1 = float(sp.N(r_["dynamic_f1"].subs({base: 10000, L: 10000, sp.Symbol("L_max", positive=True): 4096,
                                               d: dd})))
        worst = max(worst, rel(scaled_inv_freq(dd, "dynamic_ntk", factor=1.0, seq_len=10000,
                                               original_max_position=4096)[0], inv_freq(dd, b1)))
    require(worst < 1e-12, f"refimpl differs from the derived forms by {worst:.3e}")
    return worst


def main():
    """Print the derivations and run the checks."""
    r_ = derive()
    show("NTK: solve n/(beta lambda)^(d/2-1) = (n/k)/beta^(d/2-1) for lambda", r_["ntk_lambda"])
    show("new base (beta lambda)^(d/2) with beta = base^(2/d)", r_["ntk_base"])
    show("NTK-old (b' = b k): lowest-frequency ratio", r_["ntk_old_lowest_ratio"])
    show("NTK-mixed: solve a (d/2)^b = log k for a", r_["mixed_a"])
    show("  b = 1: lambda_m = (prod to m)/(prod to m-1)", r_["mixed_lambda_m_b1"])
    show("  b -> 0: lambda_1...lambda_m ->", r_["mixed_prod_b0_limit"])
    show("YaRN: solve r = L base^(-2i/d)/(2 pi) for i (find_correction_dim)", r_["yarn_correction_dim"])
    show("(1 + 0.1 ln s)^2 =", r_["mscale_sq_expanded"])
    show("longrope: factor^2 - log(sL)/log(L)", r_["longrope_sq"])
    show("dynamic base at L = L_max", r_["dynamic_at_Lmax"])
    show("dynamic base with factor 1", r_["dynamic_f1"])
    print(f"\ncheck(): max relative error {check():.3e}")


if __name__ == "__main__":
    main()
