r"""Discretisation rules: local error orders and the bilinear stability map, derived symbolically.

For :math:`x'=ax` (a scalar, or one eigenvalue of ``A``) and step :math:`\Delta`,
write :math:`z=\Delta a`. Each rule of https://kexue.fm/archives/10137 (and
the GBT of ``scipy.signal.cont2discrete``) multiplies the state by a
rational amplification factor :math:`R(z)`; the exact (ZOH) factor is
:math:`e^z`:

- forward Euler :math:`R=1+z`, backward Euler :math:`R=1/(1-z)`,
- bilinear :math:`R=(1+z/2)/(1-z/2)`, GBT :math:`R=(1+(1-\alpha)z)/(1-\alpha z)`.

The series of :math:`R(z)-e^z` gives the local error: :math:`O(z^2)` for the
Euler rules, so :math:`O(\Delta)` globally (``1/Delta`` steps), and
:math:`z^3/12+O(z^4)` for bilinear, :math:`O(\Delta^2)` globally; GBT is
second order only at :math:`\alpha=1/2`. With :math:`z=x+iy`,
:math:`|1+z/2|^2-|1-z/2|^2=2x`, so the bilinear map sends the open left
half-plane into the open unit disk and the imaginary axis onto the unit circle.
``check()`` compares these factors with :func:`refimpl.ssm.discretize` on
scalar systems and measures the global orders on a matrix system as the slope
of a log-log fit.

Run ``refimpl derive discretization`` to print it.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from ._util import require, show

TOPIC = "ssm"

z = sp.symbols("z")
alpha = sp.symbols("alpha", real=True)
x, y = sp.symbols("x y", real=True)

FACTORS = {
    "forward_euler": 1 + z,
    "backward_euler": 1 / (1 - z),
    "bilinear": (1 + z / 2) / (1 - z / 2),
    "gbt": (1 + (1 - alpha) * z) / (1 - alpha * z),
}


def derive(order=5):
    """Series of R(z) - exp(z) for each rule, and the bilinear modulus identity; return a dict."""
    series = {m: sp.series(R - sp.exp(z), z, 0, order).removeO() for m, R in FACTORS.items()}
    series = {m: sp.expand(sp.simplify(v)) for m, v in series.items()}
    leading = {}
    for m, v in series.items():
        poly = sp.Poly(v, z)
        k = min(mon[0] for mon in poly.monoms())
        leading[m] = (k, sp.factor(poly.coeff_monomial(z**k)))
    zz = x + sp.I * y
    modulus_gap = sp.simplify(sp.expand(sp.Abs(1 + zz / 2) ** 2 - sp.Abs(1 - zz / 2) ** 2))
    return {"series": series, "leading": leading, "modulus_gap": modulus_gap}


def order_slopes(dts=None, seed=0):
    """Global error at t = 1 vs the exact ZOH solution, and log-log slopes, per method."""
    from refimpl.ssm import discretize

    rng = np.random.default_rng(seed)
    N = 6
    Q = rng.standard_normal((N, N))
    A = -np.eye(N) + 0.5 * (Q - Q.T) - 0.2 * (Q @ Q.T) / N  # stable, non-normal
    B = rng.standard_normal(N)
    x0 = rng.standard_normal(N)
    dts = np.array([0.1, 0.05, 0.025, 0.0125, 0.00625]) if dts is None else np.asarray(dts)
    errs = {m: [] for m in ("forward_euler", "backward_euler", "bilinear")}
    for dt in dts:
        K = int(round(1.0 / dt))
        Ae, Be = discretize(A, B, dt, "zoh")
        xe = x0.copy()
        for _ in range(K):
            xe = Ae @ xe + Be  # u = 1: ZOH is exact
        for m in errs:
            Am, Bm = discretize(A, B, dt, m)
            xm = x0.copy()
            for _ in range(K):
                xm = Am @ xm + Bm
            errs[m].append(np.max(np.abs(xm - xe)))
    slopes = {m: float(np.polyfit(np.log(dts), np.log(e), 1)[0]) for m, e in errs.items()}
    return dts, errs, slopes


def check():
    """Factors = refimpl.discretize on scalars; orders 1, 1, 2; bilinear disk map. Return the max error."""
    from refimpl.ssm import discretize

    d = derive()
    require(d["leading"]["forward_euler"] == (2, sp.Rational(-1, 2)), f"forward: {d['leading']['forward_euler']}")
    require(d["leading"]["backward_euler"] == (2, sp.Rational(1, 2)), f"backward: {d['leading']['backward_euler']}")
    require(d["leading"]["bilinear"] == (3, sp.Rational(1, 12)), f"bilinear: {d['leading']['bilinear']}")
    k, coeff = d["leading"]["gbt"]
    require(k == 2 and sp.simplify(coeff - (alpha - sp.Rational(1, 2))) == 0, f"gbt: {d['leading']['gbt']}")
    require(sp.simplify(d["modulus_gap"] - 2 * x) == 0, f"|1+z/2|^2 - |1-z/2|^2 = {d['modulus_gap']}")
    worst = 0.0
    for a_val, dt in ((-2.0, 0.1), (-0.3 + 4j, 0.05), (1.5, 0.2)):
        zv = a_val * dt
        for m in ("forward_euler", "backward_euler", "bilinear"):
            want = complex(FACTORS[m].subs(z, sp.nsimplify(zv)))
            got = complex(discretize([[a_val]], [1.0], dt, m)[0][0, 0])
            worst = max(worst, abs(got - want) / abs(want))
        for al in (0.0, 0.3, 1.0):
            want = complex(FACTORS["gbt"].subs({z: sp.nsimplify(zv), alpha: sp.nsimplify(al)}))
            got = complex(discretize([[a_val]], [1.0], dt, "gbt", alpha=al)[0][0, 0])
            worst = max(worst, abs(got - want) / abs(want))
    require(worst <= 1e-15, f"discretize differs from R(z) by {worst:.2e}")
    _, _, slopes = order_slopes()
    for m, want in (("forward_euler", 1.0), ("backward_euler", 1.0), ("bilinear", 2.0)):
        require(abs(slopes[m] - want) < 0.1, f"{m}: log-log slope {slopes[m]:.3f}, expected {want}")
    return float(worst)


def main():
    """Print the series, the modulus identity, the measured orders, and run the checks."""
    d = derive()
    for m, v in d["series"].items():
        show(f"{m}: R(z) - exp(z) =", v)
    show("bilinear: |1 + z/2|^2 - |1 - z/2|^2 with z = x + i y", d["modulus_gap"])
    dts, errs, slopes = order_slopes()
    print("\nglobal error at t = 1 vs exact ZOH (6x6 stable non-normal A, u = 1):")
    print("  dt        " + "  ".join(f"{m:>15}" for m in errs))
    for i, dt in enumerate(dts):
        print(f"  {dt:<8.5f}  " + "  ".join(f"{errs[m][i]:15.3e}" for m in errs))
    print("  slope     " + "  ".join(f"{slopes[m]:15.3f}" for m in errs))
    err = check()
    print(f"\ncheck(): R(z) = refimpl.discretize on scalars (max rel. error {err:.1e}); orders 1, 1, 2; "
          "bilinear maps Re z < 0 into |R| < 1.")


if __name__ == "__main__":
    main()
