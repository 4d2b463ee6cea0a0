r"""Moments behind the tied-embedding initial loss, derived (https://kexue.fm/archives/9698).

From the i.i.d. law of the entries (mean 0, variance :math:`\sigma^2`,
Gaussian where a fourth moment is needed) this script derives

1. :math:`\mathbb E w^2=\sigma^2` and :math:`\mathbb E w^4=3\sigma^4` by
   integrating against the Gaussian density;
2. :math:`\mathbb E\|w\|^2=d\sigma^2`, :math:`\mathbb E\|w\|^4=d\,\mathbb E w^4+d(d-1)\sigma^4`,
   :math:`\mathrm{Var}\|w\|^2=2d\sigma^4` and :math:`\mathbb E(w\cdot v)^2=d\sigma^4`:
   first by expanding the polynomials in :math:`d = 1..6` explicit
   coordinates and replacing every monomial by its moment (no shortcut),
   then for symbolic :math:`d` by linearity, the two agreeing;
3. with :math:`\sigma^2=1/d`: :math:`\mathrm{Var}\|w\|^2=2/d` and
   :math:`\mathbb E(w\cdot v)^2=1/d` -- the article prints :math:`1/d^3`
   for the latter (erratum);
4. the mean of a cross score :math:`\mathbb E e^{x}=e^{s^2/2}` for
   :math:`x\sim\mathcal N(0,s^2)` (used by ``expected_init_loss``), and
   the standard deviation that makes :math:`e^{d\sigma}=n`.

Run ``refimpl derive tied_embedding`` to print it.
"""
from __future__ import annotations

import itertools
import math

import mpmath
import numpy as np
import sympy as sp

from ._util import require, show

TOPIC = "embedding"
D_EXPLICIT = 6

sigma = sp.Symbol("sigma", positive=True)
d = sp.Symbol("d", positive=True, integer=True)
x = sp.Symbol("x", real=True)


def gaussian_moment(k):
    """E w^k for w ~ N(0, sigma^2), by integrating the density."""
    dens = sp.exp(-x**2 / (2 * sigma**2)) / (sigma * sp.sqrt(2 * sp.pi))
    return sp.simplify(sp.integrate(x**k * dens, (x, -sp.oo, sp.oo)))


def _expect_poly(expr, variables, moment):
    """E of a polynomial in independent variables with E v^k = moment(k)."""
    poly = sp.Poly(sp.expand(expr), *variables)
    return sp.expand(sum(c * sp.prod([moment(k) for k in m]) for m, c in poly.terms()))


def derive():
    """Moments (explicit small d and symbolic d), the erratum value, the MGF and sigma = log n / d."""
    m = {k: gaussian_moment(k) for k in range(5)}
    moment = lambda k: m[k]  # noqa: E731
    explicit = {}
    for dd in range(1, D_EXPLICIT + 1):
        w = sp.symbols(f"w0:{dd}", real=True)
        v = sp.symbols(f"v0:{dd}", real=True)
        norm2 = sum(wi**2 for wi in w)
        dot = sum(wi * vi for wi, vi in zip(w, v))
        e2 = _expect_poly(norm2, w, moment)
        e4 = _expect_poly(norm2**2, w, moment)
        explicit[dd] = dict(E_norm2=e2, E_norm4=e4, Var_norm2=sp.expand(e4 - e2**2),
                            E_dot=_expect_poly(dot, w + v, moment), E_dot2=_expect_poly(dot**2, w + v, moment))
    m4 = sp.Symbol("m4", positive=True)  # E w^4 for a general law, before specialising
    E_norm2 = d * m[2]
    E_norm4_general = d * m4 + d * (d - 1) * m[2] ** 2        # diagonal terms + the d(d-1) cross terms
    E_norm4 = E_norm4_general.subs(m4, m[4])
    Var_norm2 = sp.simplify(E_norm4 - E_norm2**2)
    E_dot2 = d * m[2] * m[2]                                    # cross terms vanish: E w_i = E v_i = 0
    unit = {sigma: 1 / sp.sqrt(d)}
    s = sp.Symbol("s", positive=True)
    mgf = sp.simplify(sp.integrate(sp.exp(x) * sp.exp(-x**2 / (2 * s**2)) / (s * sp.sqrt(2 * sp.pi)),
                                   (x, -sp.oo, sp.oo)).rewrite(sp.erf))
    n = sp.Symbol("n", positive=True)
    sigma_uniform = sp.solve(sp.Eq(sp.exp(d * sigma), n), sigma)
    return dict(moments=m, explicit=explicit, E_norm2=E_norm2, E_norm4_general=E_norm4_general,
                E_norm4=sp.expand(E_norm4), Var_norm2=Var_norm2, E_dot2=E_dot2,
                Var_norm2_unit=sp.simplify(Var_norm2.subs(unit)), E_dot2_unit=sp.simplify(E_dot2.subs(unit)),
                article_E_dot2_unit=1 / d**3, mgf=mgf, s=s, n=n, sigma_uniform=sigma_uniform,
                loss_at_uniform=sp.simplify(sp.log(sp.exp(d * sigma_uniform[0]) + n - 1)) if sigma_uniform else None)


def check():
    """Symbolic identities, then refimpl.embedding against the derived quantities."""
    from refimpl.embedding import expected_init_loss, init_std_for_uniform_loss, tied_init_loss

    r = derive()
    m = r["moments"]
    require(m[0] == 1 and m[1] == 0 and m[2] == sigma**2 and m[3] == 0 and m[4] == 3 * sigma**4,
            f"Gaussian moments wrong: {m}")
    for dd, e in r["explicit"].items():
        sub = {d: dd}
        require(sp.simplify(e["E_norm2"] - r["E_norm2"].subs(sub)) == 0, f"E|w|^2 fails at d={dd}")
        require(sp.simplify(e["E_norm4"] - r["E_norm4"].subs(sub)) == 0, f"E|w|^4 fails at d={dd}")
        require(sp.simplify(e["Var_norm2"] - 2 * dd * sigma**4) == 0, f"Var|w|^2 != 2 d sigma^4 at d={dd}")
        require(e["E_dot"] == 0, f"E w.v != 0 at d={dd}")
        require(sp.simplify(e["E_dot2"] - dd * sigma**4) == 0, f"E (w.v)^2 != d sigma^4 at d={dd}")
    require(sp.simplify(r["Var_norm2"] - 2 * d * sigma**4) == 0, "Var|w|^2 != 2 d sigma^4")
    require(sp.simplify(r["Var_norm2_unit"] - 2 / d) == 0, "Var|w|^2 at sigma^2 = 1/d is not 2/d")
    require(sp.simplify(r["E_dot2_unit"] - 1 / d) == 0, "E (w.v)^2 at sigma^2 = 1/d is not 1/d")
    require(sp.simplify(r["E_dot2_unit"] - r["article_E_dot2_unit"]) != 0, "article's 1/d^3 should differ")
    require(sp.simplify(r["mgf"] - sp.exp(r["s"] ** 2 / 2)) == 0, f"E e^x = {r['mgf']}, not e^(s^2/2)")
    n = r["n"]
    require(len(r["sigma_uniform"]) == 1 and sp.simplify(r["sigma_uniform"][0] - sp.log(n) / d) == 0,
            f"e^(d sigma) = n solved to {r['sigma_uniform']}")
    require(sp.simplify(r["loss_at_uniform"] - sp.log(2 * n - 1)) == 0, "loss at sigma = log n / d != log(2n-1)")
    worst = 0.0
    with mpmath.workdps(40):
        for nv, dd, sg in itertools.product((2, 1000, 30522), (1, 64, 768), (1e-3, 0.02, 0.5)):
            want = float(mpmath.log(mpmath.exp(mpmath.mpf(dd) * mpmath.mpf(sg)) + nv - 1))
            worst = max(worst, abs(tied_init_loss(nv, dd, sg) / want - 1))
        for nv, dd in ((30522, 768), (50257, 1024), (2, 1)):
            worst = max(worst, abs(init_std_for_uniform_loss(nv, dd) / float(mpmath.log(nv) / dd) - 1))
        # refined expectation, variants with a closed form: log n + s^2/2, log((n-1)e^{s^2/2} + e^{s^2})
        for nv, dd, sg in ((30522, 768, 0.02), (1000, 64, 0.125)):
            s2 = mpmath.mpf(dd) * mpmath.mpf(sg) ** 2
            worst = max(worst, abs(expected_init_loss(nv, dd, sg, "untied") / float(mpmath.log(nv) + s2 / 2) - 1),
                        abs(expected_init_loss(nv, dd, sg, "shuffle")
                            / float(mpmath.log((nv - 1) * mpmath.exp(s2 / 2) + mpmath.exp(s2))) - 1))
            # tied: E_chi log(e^{sqrt(d) sigma r} + (n-1) e^{s^2/2}) by mpmath quadrature of the chi density
            sc = mpmath.sqrt(dd) * mpmath.mpf(sg)
            lc = mpmath.log(nv - 1) + s2 / 2
            k = mpmath.mpf(dd)
            pdf = lambda t: mpmath.exp((k - 1) * mpmath.log(t) - t * t / 2 - (k / 2 - 1) * mpmath.log(2)  # noqa: E731
                                       - mpmath.loggamma(k / 2))
            mode = mpmath.sqrt(k - 1) if dd > 1 else mpmath.mpf(0)
            f = lambda t: pdf(t) * (mpmath.log(mpmath.exp(sc * t) + mpmath.exp(lc)))  # noqa: E731
            want = mpmath.quad(f, [0, max(mode - 10, 0), mode, mode + 10, mode + 40])
            worst = max(worst, abs(expected_init_loss(nv, dd, sg, "tied") / float(want) - 1))
    require(worst < 1e-9, f"refimpl.embedding differs from the derivation by {worst:.3e}")
    return worst


def main():
    """Print the derivation and run the checks."""
    r = derive()
    show("Gaussian moments E w^k, k = 0..4 (integrating the density)", sp.Matrix([r["moments"][k] for k in range(5)]))
    show("E|w|^2, d = 1..6 coordinates expanded", sp.Matrix([r["explicit"][k]["E_norm2"] for k in r["explicit"]]))
    show("Var|w|^2, d = 1..6", sp.Matrix([r["explicit"][k]["Var_norm2"] for k in r["explicit"]]))
    show("E (w.v)^2, d = 1..6", sp.Matrix([r["explicit"][k]["E_dot2"] for k in r["explicit"]]))
    show("E|w|^4 for a general law (m4 = E w^4)", r["E_norm4_general"])
    show("Var|w|^2 (Gaussian)", r["Var_norm2"])
    show("E (w.v)^2", r["E_dot2"])
    show("at sigma^2 = 1/d: Var|w|^2", r["Var_norm2_unit"])
    show("at sigma^2 = 1/d: E (w.v)^2  (the article prints 1/d^3: typo)", r["E_dot2_unit"])
    show("E e^x, x ~ N(0, s^2)", r["mgf"])
    show("sigma solving e^(d sigma) = n", r["sigma_uniform"][0])
    show("tied loss log(e^(d sigma) + n - 1) at that sigma", r["loss_at_uniform"])
    print(f"\ncheck(): moments, erratum value and refimpl.embedding agree; max rel. error {check():.2e}")


if __name__ == "__main__":
    main()
