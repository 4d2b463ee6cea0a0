r"""Optimal learning rate versus batch size, derived (https://kexue.fm/archives/10542).

Every result is derived here from its definition before it is compared with
the article's closed form and with :mod:`refimpl.scaling`:

1. SGD. On the quadratic :math:`L(\theta)=\frac12\theta^\top H\theta` (so
   :math:`g=H\theta`), expand :math:`L(\theta-\eta(g+\varepsilon))-L(\theta)`
   symbolically, take the expectation by replacing noise monomials with
   their moments (:math:`\mathbb E\varepsilon=0`,
   :math:`\mathbb E\varepsilon_i\varepsilon_j=\Sigma_{ij}/B`), solve
   :math:`\partial_\eta=0`: this gives :math:`\eta^*`, :math:`\Delta L`,
   :math:`\eta_{\max}`, :math:`\mathcal B_{noise}`.
2. Steps/examples: total progress :math:`S\,\Delta L(B)=S_{\min}\Delta L_{\max}`
   gives :math:`S`, :math:`E=BS`, :math:`E_{\min}=\lim_{B\to0}E`, and the
   identity :math:`(S/S_{\min}-1)(E/E_{\min}-1)=1`.
3. Sign updates: :math:`\mathbb E\,\mathrm{sign}(g+\sigma z/\sqrt B)` by
   integrating the Gaussian density; the constant :math:`c` of
   :math:`x/\sqrt{x^2+c}` from matching the slope of erf at 0; the
   optimal rate from the first and second moments of the update.
4. Mean field and the surge: substitute :math:`\mu_i=\mathrm{sign}(g_i)\beta`,
   find the maximum over :math:`\beta`, invert :math:`\beta(B)`, simplify
   :math:`\Delta L`, derive :math:`\mathcal B_{noise-2}` and its relation to
   :math:`\mathcal B_{noise}`, and the small-batch limit (where the article
   has a typo).

Run ``refimpl derive batch_lr`` to print it.
"""
from __future__ import annotations

import itertools

import mpmath

import numpy as np
import sympy as sp

from ._util import require, show

TOPIC = "scaling"

eta, B = sp.symbols("eta B", positive=True)
N_SGD = 2
TOL = 1e-13  # relative; derived expressions are evaluated in 40-digit mpmath


def _expect(expr, eps, cov):
    """E over eps with E eps_i = 0, E eps_i eps_j = cov[i, j] (expr at most quadratic in eps)."""
    poly = sp.Poly(sp.expand(expr), *eps)
    out = 0
    for monom, coeff in poly.terms():
        deg = sum(monom)
        if deg == 0:
            out += coeff
        elif deg == 2:
            idx = [i for i, k in enumerate(monom) for _ in range(k)]
            out += coeff * cov[idx[0], idx[1]]
        elif deg == 1:
            continue
        else:
            raise ValueError("expectation implemented up to degree 2")
    return sp.simplify(out)


def derive_sgd(n=N_SGD):
    """eta*, Delta L, eta_max, B_noise for SGD on the quadratic, from the definition."""
    th = sp.Matrix(sp.symbols(f"theta0:{n}", real=True))
    eps = sp.symbols(f"e0:{n}", real=True)
    hs = {}
    H = sp.Matrix(n, n, lambda i, j: hs.setdefault((min(i, j), max(i, j)), sp.Symbol(f"h{min(i, j)}{max(i, j)}")))
    ss = {}
    S = sp.Matrix(n, n, lambda i, j: ss.setdefault((min(i, j), max(i, j)), sp.Symbol(f"s{min(i, j)}{max(i, j)}")))
    L = lambda x: (x.T * H * x)[0, 0] / 2  # noqa: E731
    g = H * th
    gt = g + sp.Matrix(eps)
    change = L(th - eta * gt) - L(th)
    phi = _expect(change, eps, S / B)                       # E L(theta - eta g_B) - L(theta)
    require(sp.degree(sp.expand(phi), eta) == 2, "expected loss is not quadratic in eta")
    eta_star = sp.solve(sp.diff(phi, eta), eta)
    require(len(eta_star) == 1, "stationary point not unique")
    eta_star = sp.simplify(eta_star[0])
    dL = sp.simplify(-phi.subs(eta, eta_star))
    gg = (g.T * g)[0, 0]
    gHg = (g.T * H * g)[0, 0]
    trSH = (S * H).trace()
    closed_eta = gg / (gHg + trSH / B)
    closed_dl = gg**2 / (2 * (gHg + trSH / B))
    eta_max = sp.limit(eta_star, B, sp.oo)
    b_noise = sp.simplify(trSH / gHg)
    return dict(g=g, H=H, S=S, phi=phi, eta_star=eta_star, delta_loss=dL, closed_eta=closed_eta,
                closed_dl=closed_dl, eta_max=eta_max, b_noise=b_noise, theta=th, gg=gg, gHg=gHg, trSH=trSH)


def derive_steps_examples():
    """S from total progress, E = B S, E_min = lim_{B->0} E, and the hyperbola identity."""
    S_min, dLmax, Bn = sp.symbols("S_min DeltaL_max B_noise", positive=True)
    dL = dLmax / (1 + Bn / B)
    S = sp.simplify(S_min * dLmax / dL)                   # steps x progress per step = total progress
    E = B * S
    E_min = sp.limit(E, B, 0)
    ident = sp.simplify((S / S_min - 1) * (E / E_min - 1))
    return dict(S=S, E=E, E_min=E_min, identity=ident, b_noise_from_fit=sp.simplify(E_min / S_min))


def derive_sign_mean():
    """E sign(t + z), z ~ N(0,1), t = g sqrt(B)/sigma, by integration; the erf approximation constant."""
    z = sp.Symbol("z", real=True)
    t = sp.Symbol("t", positive=True)
    phi = sp.exp(-z**2 / 2) / sp.sqrt(2 * sp.pi)
    mean = sp.simplify((sp.integrate(phi, (z, -t, sp.oo)) - sp.integrate(phi, (z, -sp.oo, -t))).rewrite(sp.erf))
    x, c = sp.symbols("x c", positive=True)
    slope_erf = sp.diff(sp.erf(x), x).subs(x, 0)
    slope_approx = sp.diff(x / sp.sqrt(x**2 + c), x).subs(x, 0)
    c_val = sp.solve(sp.Eq(slope_approx, slope_erf), c)
    require(len(c_val) == 1, "slope condition has no unique solution")
    g, sig = sp.symbols("g sigma", positive=True)
    xx = g / sig * sp.sqrt(B / 2)
    mu_approx = sp.simplify((x / sp.sqrt(x**2 + c_val[0])).subs(x, xx))
    return dict(mean=mean, slope_erf=slope_erf, c=c_val[0], mu_approx=mu_approx)


def derive_sign_lr(n=3):
    """eta* for an update with E u = mu, E u u^T = M (M_ii = 1, M_ij = mu_i mu_j), from the quadratic."""
    mu = sp.symbols(f"mu0:{n}", real=True)
    g = sp.symbols(f"g0:{n}", real=True)
    hs = {}
    H = sp.Matrix(n, n, lambda i, j: hs.setdefault((min(i, j), max(i, j)), sp.Symbol(f"h{min(i, j)}{max(i, j)}")))
    M = sp.Matrix(n, n, lambda i, j: 1 if i == j else mu[i] * mu[j])
    phi = -eta * sum(m * gi for m, gi in zip(mu, g)) + eta**2 / 2 * (M * H).trace()
    eta_star = sp.solve(sp.diff(phi, eta), eta)[0]
    article = sum(m * gi for m, gi in zip(mu, g)) / (
        sum(H[i, i] for i in range(n)) + sum(mu[i] * mu[j] * H[i, j] for i in range(n) for j in range(n) if i != j))
    return dict(eta_star=sp.simplify(eta_star), article=article, H=H, mu=mu, g=g,
                delta_loss=sp.simplify(-phi.subs(eta, eta_star)))


def derive_surge():
    """Mean field: eta(beta), its maximum, B at the maximum, Delta L and B_noise-2."""
    beta, A, D, O, kappa = sp.symbols("beta A D O kappa", positive=True)
    eta_b = beta * A / (D + beta**2 * O)
    crit = sp.solve(sp.diff(eta_b, beta), beta)
    require(len(crit) == 1, f"expected one critical beta, got {crit}")
    beta_n = crit[0]
    eta_max = sp.simplify(eta_b.subs(beta, beta_n))
    symmetric = eta_max / (sp.Rational(1, 2) * (beta_n / beta + beta / beta_n))
    bn = sp.Symbol("beta_n", positive=True)
    beta_of_B = (1 + sp.pi * kappa**2 / (2 * B)) ** sp.Rational(-1, 2)
    B_peak = sp.solve(sp.Eq(beta_of_B**2, bn**2), B)
    require(len(B_peak) == 1, "beta(B) = beta_noise has no unique solution")
    B_noise = sp.simplify(B_peak[0])
    dL = sp.simplify((beta**2 * A**2 / (2 * (D + beta**2 * O))).subs(beta, beta_of_B))
    # write Delta L as dL_max / (1 + B2 / B): dL_max = lim_{B->oo}, B2 from 1/dL linear in 1/B
    dL_max = sp.simplify(sp.limit(dL, B, sp.oo))
    inv = sp.simplify(dL_max / dL)            # = 1 + B2 / B
    B2 = sp.simplify(sp.expand((inv - 1) * B))
    return dict(eta_b=eta_b, beta_n=beta_n, eta_max=eta_max, symmetric=symmetric, B_noise=B_noise,
                delta_loss=dL, delta_loss_max=dL_max, B_noise_2=B2, beta=beta, A=A, D=D, O=O, kappa=kappa,
                bn=bn, beta_of_B=beta_of_B)


def derive_small_batch():
    """Leading term of beta A / D as B -> 0 (the square-root regime), vs the article's printed form."""
    A, D, kappa, sum_sigma = sp.symbols("A D kappa Sigma_sigma", positive=True)
    beta_of_B = (1 + sp.pi * kappa**2 / (2 * B)) ** sp.Rational(-1, 2)
    lead = sp.simplify(sp.limit(beta_of_B * A / D / sp.sqrt(B), B, 0) * sp.sqrt(B))
    article = sum_sigma / (kappa * D) * sp.sqrt(2 * B / sp.pi)
    return dict(lead=lead, article=article, A=A, D=D, kappa=kappa, sum_sigma=sum_sigma)


def derive():
    """All derived results (a dict of dicts)."""
    return dict(sgd=derive_sgd(), steps_examples=derive_steps_examples(), sign_mean=derive_sign_mean(),
                sign_lr=derive_sign_lr(), surge=derive_surge(), small_batch=derive_small_batch())


def _symbolic_checks(d):
    sgd = d["sgd"]
    require(sp.simplify(sgd["eta_star"] - sgd["closed_eta"]) == 0, "SGD eta* differs from g'g/(g'Hg + Tr(SH)/B)")
    require(sp.simplify(sgd["delta_loss"] - sgd["closed_dl"]) == 0, "SGD Delta L differs from the closed form")
    require(sp.simplify(sgd["eta_max"] - sgd["gg"] / sgd["gHg"]) == 0, "eta_max differs from g'g/g'Hg")
    require(sp.simplify(sgd["eta_star"] - sgd["eta_max"] / (1 + sgd["b_noise"] / B)) == 0,
            "eta* is not eta_max / (1 + B_noise/B)")
    se = d["steps_examples"]
    require(se["identity"] == 1, f"(S/S_min - 1)(E/E_min - 1) simplifies to {se['identity']}, not 1")
    require(sp.simplify(se["b_noise_from_fit"] - sp.Symbol("B_noise", positive=True)) == 0,
            "E_min / S_min is not B_noise")
    sm = d["sign_mean"]
    t = sp.Symbol("t", positive=True)
    require(sp.simplify(sm["mean"] - sp.erf(t / sp.sqrt(2))) == 0, "E sign(t + z) is not erf(t / sqrt 2)")
    require(sm["c"] == sp.pi / 4, f"slope-matching constant is {sm['c']}, not pi/4")
    g, sig = sp.symbols("g sigma", positive=True)
    require(sp.simplify(sm["mu_approx"] - (g / sig) / sp.sqrt(sp.pi / (2 * B) + (g / sig) ** 2)) == 0,
            "mu_i does not simplify to (g/s)/sqrt(pi/2B + (g/s)^2)")
    sl = d["sign_lr"]
    require(sp.simplify(sl["eta_star"] - sl["article"]) == 0, "sign eta* differs from the article's eq.")
    # mean field: mu_i = s_i beta turns the general formula into beta A / (D + beta^2 O), every sign pattern
    beta = sp.Symbol("beta", positive=True)
    a = sp.symbols("a0:3", positive=True)                    # |g_i|
    H = sl["H"]
    for signs in itertools.product((1, -1), repeat=3):
        sub = {sl["mu"][i]: signs[i] * beta for i in range(3)}
        sub.update({sl["g"][i]: signs[i] * a[i] for i in range(3)})
        D = sum(H[i, i] for i in range(3))
        O = sum(signs[i] * signs[j] * H[i, j] for i in range(3) for j in range(3) if i != j)
        mf = beta * sum(a) / (D + beta**2 * O)
        require(sp.simplify(sl["eta_star"].subs(sub) - mf) == 0, f"mean-field form fails for signs {signs}")
    su = d["surge"]
    A, D, O, kappa, bn = su["A"], su["D"], su["O"], su["kappa"], su["bn"]
    require(sp.simplify(su["beta_n"] - sp.sqrt(D / O)) == 0, "peak is not at beta = sqrt(D/O)")
    require(sp.simplify(su["eta_max"] - A / (2 * sp.sqrt(D * O))) == 0, "peak value is not A / (2 sqrt(DO))")
    require(sp.simplify(su["symmetric"] - su["eta_b"]) == 0, "surge identity eta = eta_max / (bn/b + b/bn)/2 fails")
    require(sp.simplify(su["B_noise"] - sp.pi * kappa**2 * bn**2 / (2 * (1 - bn**2))) == 0,
            "B_noise from beta(B) = beta_noise differs from pi k^2 bn^2 / (2 (1 - bn^2))")
    bn_val = sp.sqrt(D / O)
    em = A / (2 * sp.sqrt(D * O))
    require(sp.simplify(su["delta_loss_max"] - bn_val * em * A / (1 + bn_val**2)) == 0,
            "Delta L_max differs from beta_n eta_max sum|g| / (1 + beta_n^2)")
    require(sp.simplify(su["B_noise_2"] - sp.pi * kappa**2 * bn_val**2 / (2 * (1 + bn_val**2))) == 0,
            "B_noise-2 differs from pi k^2 bn^2 / (2 (1 + bn^2))")
    require(sp.simplify(su["B_noise_2"] - sp.pi * kappa**2 * D / (2 * (D + O))) == 0,
            "B_noise-2 differs from pi k^2 D / (2 (D + O))")
    rel = sp.simplify(1 / su["B_noise_2"] - 1 / su["B_noise"].subs(bn, bn_val))
    require(sp.simplify(rel - 4 / (sp.pi * kappa**2)) == 0, f"1/B_n2 - 1/B_n = {rel}, not 4/(pi kappa^2)")
    sb = d["small_batch"]
    require(sp.simplify(sb["lead"] - sb["A"] / (sb["kappa"] * sb["D"]) * sp.sqrt(2 * B / sp.pi)) == 0,
            "small-batch limit is not sum|g| / (kappa D) sqrt(2B/pi)")
    require(sp.simplify(sb["lead"] - sb["article"]) != 0, "the article's printed small-batch form should differ")


def check():
    """Symbolic identities, then refimpl.scaling against the derived formulas on random inputs."""
    from refimpl.scaling import (
        loss_decrease_sgd, optimal_lr_sgd, optimal_lr_sign, sign_moments, steps_examples_tradeoff, surge,
    )

    d = derive()
    _symbolic_checks(d)
    rng = np.random.default_rng(0)
    worst = 0.0

    def rel(a, b):
        return float(np.max(np.abs(np.asarray(a, float) - np.asarray(b, float)) / np.abs(np.asarray(b, float))))

    sgd = d["sgd"]
    syms = list(sgd["theta"]) + sorted(sgd["H"].free_symbols | sgd["S"].free_symbols, key=str) + [B]
    f_eta = sp.lambdify(syms, sgd["eta_star"], "mpmath")
    f_dl = sp.lambdify(syms, sgd["delta_loss"], "mpmath")
    for _ in range(20):
        th = rng.standard_normal(2)
        Ah = rng.standard_normal((2, 2))
        H = Ah @ Ah.T + 0.2 * np.eye(2)
        As = rng.standard_normal((2, 2))
        S = As @ As.T
        b = float(rng.uniform(1, 100))
        g = H @ th   # refimpl's input; the derivation is evaluated at theta = H^{-1} g in 40 digits
        with mpmath.workdps(40):
            th_mp = mpmath.lu_solve(mpmath.matrix(H.tolist()), mpmath.matrix(g.tolist()))
            vals = [mpmath.mpf(v) for v in (th_mp[0], th_mp[1], H[0, 0], H[0, 1], H[1, 1],
                                            S[0, 0], S[0, 1], S[1, 1], b)]
            want_eta, want_dl = float(f_eta(*vals)), float(f_dl(*vals))
        worst = max(worst, rel(optimal_lr_sgd(g, H, S, b), want_eta), rel(loss_decrease_sgd(g, H, S, b), want_dl))
    se = d["steps_examples"]
    S_min, dlm, Bn = sp.symbols("S_min DeltaL_max B_noise", positive=True)
    for s_min, bn_, b in ((10.0, 64.0, 8.0), (3.0, 0.5, 100.0)):
        S_r, E_r = steps_examples_tradeoff(s_min, bn_ * s_min, b)
        S_d = float(se["S"].subs({S_min: s_min, Bn: bn_, B: b}))
        worst = max(worst, rel(S_r, S_d), rel(E_r, b * S_d))
    c = float(d["sign_mean"]["c"])
    for gi, si, b in ((0.3, 1.2, 4.0), (-2.0, 0.5, 1.0), (1e-3, 3.0, 1e4)):
        x = gi / si * np.sqrt(b / 2)
        worst = max(worst, rel(sign_moments([gi], [si], b).mean[0],
                               float(sp.erf(sp.Float(gi * np.sqrt(b) / si, 30) / sp.sqrt(2)))),
                    rel(sign_moments([gi], [si], b, exact=False).mean[0], x / np.sqrt(x * x + c)))
    sl = d["sign_lr"]
    f_sign = sp.lambdify(list(sl["mu"]) + list(sl["g"]) + sorted(sl["H"].free_symbols, key=str), sl["eta_star"])
    for _ in range(10):
        g = rng.standard_normal(3)
        sig = rng.uniform(0.2, 2.0, 3)
        Ah = rng.standard_normal((3, 3))
        H = Ah @ Ah.T + 0.2 * np.eye(3)
        b = float(rng.uniform(1, 50))
        for exact in (True, False):
            mu = sign_moments(g, sig, b, exact=exact).mean
            hv = [H[0, 0], H[0, 1], H[0, 2], H[1, 1], H[1, 2], H[2, 2]]
            worst = max(worst, rel(optimal_lr_sign(g, sig, H, b, exact=exact), f_sign(*mu, *g, *hv)))
    su = d["surge"]
    for n, h, cc, kap in ((5, 1.0, 0.5, 2.0), (16, 1.0, 0.2, 4.0), (8, 2.0, 1.5, 3.0)):
        g = np.full(n, 0.5)
        H = (h - cc) * np.eye(n) + cc * np.ones((n, n))
        s = surge(g, H, kap)
        sub = {su["A"]: s.abs_g_sum, su["D"]: s.D, su["O"]: s.O, su["kappa"]: kap}
        bn_val = float(su["beta_n"].subs(sub))
        worst = max(worst, rel(s.beta_noise, bn_val), rel(s.eta_max, float(su["eta_max"].subs(sub))),
                    rel(s.b_noise, float(su["B_noise"].subs({su["kappa"]: kap, su["bn"]: bn_val}))),
                    rel(s.b_noise_2, float(su["B_noise_2"].subs(sub))),
                    rel(s.delta_loss_max, float(su["delta_loss_max"].subs(sub))))
        for b in (1.0, 7.0, 300.0):
            worst = max(worst, rel(s.eta(b), float(su["eta_b"].subs(sub).subs(su["beta"], su["beta_of_B"]).subs(
                {B: b, su["kappa"]: kap}))), rel(s.delta_loss(b), float(su["delta_loss"].subs(sub).subs(B, b))))
        sb = d["small_batch"]
        worst = max(worst, rel(s.eta_small_batch(2.0), float(sb["lead"].subs(
            {sb["A"]: s.abs_g_sum, sb["D"]: s.D, sb["kappa"]: kap, B: 2.0}))))
    require(worst < TOL, f"refimpl.scaling differs from the derivation by {worst:.3e}")
    return worst


def main():
    """Print the derivations and run the checks."""
    d = derive()
    sgd = d["sgd"]
    show("SGD: E L(theta - eta g_B) - L(theta) on L = theta'H theta/2 (n = 2), moments substituted", sgd["phi"])
    show("solving d/d eta = 0: eta*  (= g'g / (g'Hg + Tr(Sigma H)/B))", sp.factor(sgd["eta_star"]))
    show("B_noise = Tr(Sigma H) / g'Hg", sgd["b_noise"])
    se = d["steps_examples"]
    show("S from S * DeltaL(B) = S_min * DeltaL_max", se["S"])
    show("E_min = lim_{B->0} B S", se["E_min"])
    show("(S/S_min - 1)(E/E_min - 1)", se["identity"])
    sm = d["sign_mean"]
    show("E sign(t + z), z ~ N(0,1), by integrating the density", sm["mean"])
    show("c such that x/sqrt(x^2 + c) has the slope of erf at 0", sm["c"])
    show("mu = x/sqrt(x^2 + pi/4) at x = (g/sigma) sqrt(B/2)", sm["mu_approx"])
    show("sign update: eta* = mu'g / Tr(M H), M_ii = 1, M_ij = mu_i mu_j (n = 3)", d["sign_lr"]["eta_star"])
    su = d["surge"]
    show("mean field: eta(beta) = beta A / (D + beta^2 O)", su["eta_b"])
    show("d eta / d beta = 0 at beta_noise", su["beta_n"])
    show("peak value eta_max", su["eta_max"])
    show("B at which beta(B) = beta_noise", su["B_noise"])
    show("Delta L_max", su["delta_loss_max"])
    show("B_noise-2 (Delta L = Delta L_max / (1 + B_noise-2 / B))", su["B_noise_2"])
    sb = d["small_batch"]
    show("small-batch limit of beta A / D  (A = sum|g_i|, D = sum H_ii)", sb["lead"])
    show("the article prints instead (numerator sum sigma_i): a typo", sb["article"])
    print(f"\ncheck(): all identities hold; refimpl.scaling matches the derivation, max rel. error {check():.2e}")


if __name__ == "__main__":
    main()
