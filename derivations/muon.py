r"""Muon: the Newton--Schulz coefficients and identities, derived in SymPy.

Sources: Su Jianlin, https://kexue.fm/archives/10592 (Taylor derivation,
:math:`\kappa` parameterisation), https://kexue.fm/archives/10739 (RMS of
msign), https://kexue.fm/archives/10996 (cubic equioscillation).

1. **Taylor.** :math:`\operatorname{msign}(M) = M(M^\top M)^{-1/2}`; expand the
   scalar :math:`t^{-1/2}` at :math:`t = 1` and put :math:`t = X^\top X`. The
   first-order truncation gives the cubic step :math:`(3/2, -1/2)`, the
   second-order one :math:`(15 - 10t + 3t^2)/8`, i.e. :math:`(15/8, -5/4, 3/8)`.
   Both polynomials :math:`g(x) = x\,p(x^2)` fix 1 with :math:`g'(1) = 0`
   (and :math:`g''(1) = 0` for the quintic).
2. **kappa.** Expanding :math:`g(x) = x + \kappa x(x^2-x_1^2)(x^2-x_2^2)` gives
   :math:`(a,b,c) = (1+\kappa x_1^2x_2^2, -\kappa(x_1^2+x_2^2), \kappa)`.
3. **Cubic equioscillation.** With :math:`f' = k(x^2-x_1^2)`,
   :math:`f = \int_0^x f'`, the conditions :math:`f(l) = f(u) = 1-E`,
   :math:`f(x_1) = 1+E` are solved for :math:`x_1^2, k, E`.
4. **RMS of msign.** :math:`\|U_rV_r^\top\|_F^2 = \operatorname{tr}(V_rU_r^\top U_rV_r^\top) = r`,
   proven symbolically on parametrised orthonormal factors, so
   :math:`\mathrm{RMS} = \sqrt{r/(nm)}`.

``check()`` compares each with refimpl: ``COEFFICIENTS``,
:func:`refimpl.muon.kappa_to_abc`, :func:`refimpl.muon.cubic_equioscillation`
and the Remez route, and :func:`refimpl.muon.msign` on low-rank matrices.
Run ``refimpl derive muon`` to print it.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from ._util import require, show

TOPIC = "muon"

t, x = sp.symbols("t x", real=True)
kappa, x1, x2 = sp.symbols("kappa x1 x2", positive=True)
l, u = sp.symbols("l u", positive=True)


def taylor_coefficients(order):
    """Coefficients of X, X(X^T X), X(X^T X)^2, ... from the Taylor polynomial of t^(-1/2) at t = 1."""
    poly = sp.expand(sp.series(t ** sp.Rational(-1, 2), t, 1, order + 1).removeO())
    coeffs = sp.Poly(poly, t).all_coeffs()[::-1]  # ascending powers of t
    return poly, [sp.nsimplify(c) for c in coeffs]


def kappa_abc():
    """(a, b, c) of g(x) = x + kappa x (x^2 - x1^2)(x^2 - x2^2), by expansion."""
    g = sp.expand(x + kappa * x * (x**2 - x1**2) * (x**2 - x2**2))
    P = sp.Poly(g, x)
    require(all(P.coeff_monomial(x**j) == 0 for j in (0, 2, 4)), "g is not odd")
    return g, (P.coeff_monomial(x), P.coeff_monomial(x**3), P.coeff_monomial(x**5))


def cubic_equioscillation_symbolic():
    """Solve f(l) = 1 - E, f(x1) = 1 + E, f(u) = 1 - E for f' = k (x^2 - x1^2)."""
    k, E, s = sp.symbols("k E s", real=True)  # s = x1^2
    f = sp.integrate(k * (x**2 - s), (x, 0, x))  # k (x^3/3 - s x)
    # f(l) = f(u) (both 1 - E): k != 0 and l != u give s
    s_sol = sp.solve(sp.cancel((f.subs(x, u) - f.subs(x, l)) / (k * (u - l))), s)
    require(len(s_sol) == 1, f"expected one solution for x1^2, got {s_sol}")
    s_val = sp.factor(s_sol[0])
    X1 = sp.sqrt(s_val)
    # f(l) + f(x1) = 2 gives k, then E = 1 - f(l)
    k_val = sp.solve(sp.Eq(f.subs(x, l) + f.subs(x, X1), 2).subs(s, s_val), k)[0]
    E_val = sp.simplify(1 - f.subs({x: l, s: s_val, k: k_val}))
    a_val = sp.simplify(-k_val * s_val)
    b_val = sp.simplify(k_val / 3)
    return {"x1_squared": s_val, "x1": X1, "k": k_val, "E": E_val, "a": a_val, "b": b_val, "f": f}


def _rotation(n, angles):
    """An n x n orthogonal matrix as a product of Givens rotations with symbolic angles."""
    R = sp.eye(n)
    it = iter(angles)
    for i in range(n):
        for j in range(i + 1, n):
            th = next(it)
            G = sp.eye(n)
            G[i, i], G[j, j], G[i, j], G[j, i] = sp.cos(th), sp.cos(th), -sp.sin(th), sp.sin(th)
            R = R * G
    return R


def msign_rms_squared(n, m, r):
    """sum_ij (U_r V_r^T)_ij^2 for symbolic orthogonal U (n x n), V (m x m): simplifies to r."""
    a = sp.symbols(f"a0:{n * (n - 1) // 2}", real=True)
    b = sp.symbols(f"b0:{m * (m - 1) // 2}", real=True)
    U, V = _rotation(n, a), _rotation(m, b)
    O = U[:, :r] * V[:, :r].T
    return sp.simplify(sp.trigsimp(sum(O[i, j] ** 2 for i in range(n) for j in range(m))))


def derive():
    """All symbolic results: Taylor polynomials, kappa map, cubic closed form, RMS identities."""
    p1, c1 = taylor_coefficients(1)
    p2, c2 = taylor_coefficients(2)
    g, abc = kappa_abc()
    cubic = cubic_equioscillation_symbolic()
    rms = {(n, m, r): msign_rms_squared(n, m, r) for (n, m) in ((2, 2), (3, 2), (2, 3)) for r in range(1, 3)}
    return {"taylor1": (p1, c1), "taylor2": (p2, c2), "kappa": (g, abc), "cubic": cubic, "rms": rms}


def check():
    """Compare the derivations with refimpl.muon; return the max numerical error."""
    from refimpl.muon import (COEFFICIENTS, cubic_equioscillation, kappa_to_abc, msign,
                              optimal_odd_polynomial)

    d = derive()
    worst = 0.0
    # 1. Taylor: exact rationals, and the fixed-point properties of g(x) = x p(x^2)
    c1, c2 = d["taylor1"][1], d["taylor2"][1]
    require(c1 == [sp.Rational(3, 2), sp.Rational(-1, 2)], f"first-order Taylor gives {c1}")
    require(c2 == [sp.Rational(15, 8), sp.Rational(-5, 4), sp.Rational(3, 8)], f"second-order Taylor gives {c2}")
    for coeffs in (c1, c2):
        gx = sum(c * x ** (2 * j + 1) for j, c in enumerate(coeffs))
        require(gx.subs(x, 1) == 1 and sp.diff(gx, x).subs(x, 1) == 0, f"g(1) != 1 or g'(1) != 0 for {coeffs}")
    gx2 = sum(c * x ** (2 * j + 1) for j, c in enumerate(c2))
    require(sp.diff(gx2, x, 2).subs(x, 1) == 0, "the second-order step should also have g''(1) = 0")
    require(np.array_equal(COEFFICIENTS["taylor2"], np.array([float(c) for c in c2])), "taylor2 preset differs")
    require(np.array_equal(COEFFICIENTS["cubic"], np.array([float(c) for c in c1] + [0.0])), "cubic preset differs")
    # 2. kappa parameterisation
    _, (a, b, c) = d["kappa"]
    require(sp.simplify(a - (1 + kappa * x1**2 * x2**2)) == 0 and sp.simplify(b + kappa * (x1**2 + x2**2)) == 0
            and sp.simplify(c - kappa) == 0, f"kappa expansion gives {(a, b, c)}")
    rng = np.random.default_rng(0)
    for _ in range(20):
        kv, v1, v2 = rng.uniform(0.1, 30), rng.uniform(0.3, 1.2), rng.uniform(0.3, 1.5)
        want = [float(e.subs({kappa: kv, x1: v1, x2: v2})) for e in (a, b, c)]
        got = kappa_to_abc(kv, v1, v2)
        worst = max(worst, max(abs(g_ - w_) / max(1.0, abs(w_)) for g_, w_ in zip(got, want)))
    # 3. cubic closed form: derived = the article's closed form = refimpl (closed form and Remez)
    cub = d["cubic"]
    x1c = sp.sqrt((l**2 + l * u + u**2) / 3)
    kc = -6 / (l**2 * u + l * u**2 + 2 * x1c**3)
    require(sp.simplify(cub["x1_squared"] - (l**2 + l * u + u**2) / 3) == 0, "x1 differs from the closed form")
    require(sp.simplify(cub["k"] - kc) == 0, "k differs from the closed form")
    for lv, uv in ((1e-3, 1.0), (0.1, 1.0), (0.3, 2.5), (0.9, 1.1)):
        sub = {l: lv, u: uv}
        want = [float(cub["a"].subs(sub)), float(cub["b"].subs(sub)), float(cub["E"].subs(sub))]
        got = cubic_equioscillation(lv, uv)
        coef, E = optimal_odd_polynomial(lv, uv, 3)
        for vals in (got, (*coef, E)):
            worst = max(worst, max(abs(g_ - w_) / max(1.0, abs(w_)) for g_, w_ in zip(vals, want)))
    # 4. RMS of msign: exact trace identity, then numerics on low-rank matrices
    for (n, m, r), val in d["rms"].items():
        require(sp.simplify(val - r) == 0, f"||U_r V_r^T||_F^2 = {val} for (n, m, r) = {(n, m, r)}")
    for n, m, r in ((7, 5, 1), (7, 5, 3), (4, 9, 4), (6, 6, 6)):
        M = rng.standard_normal((n, r)) @ rng.standard_normal((r, m))
        O = msign(M)
        worst = max(worst, abs(float(np.sqrt(np.mean(O * O))) - np.sqrt(r / (n * m))))
    require(worst <= 1e-12, f"numerical disagreement {worst:.3e}")
    return worst


def main():
    """Print the derivations and run the checks."""
    d = derive()
    p1, c1 = d["taylor1"]
    p2, c2 = d["taylor2"]
    show("t^(-1/2) at t = 1, first order (msign(M) = M (M^T M)^(-1/2), t = X^T X)", p1)
    show("  => X_{k+1} = a X + b X (X^T X): (a, b)", sp.Matrix([c1]))
    show("t^(-1/2) at t = 1, second order", p2)
    show("  => (a, b, c) of X, X(X^T X), X(X^T X)^2", sp.Matrix([c2]))
    g, abc = d["kappa"]
    show("g(x) = x + kappa x (x^2 - x1^2)(x^2 - x2^2), expanded", g)
    show("  => (a, b, c)", sp.Matrix([abc]))
    cub = d["cubic"]
    show("cubic: f = integral of k (x^2 - x1^2)", cub["f"])
    show("  f(l) = f(u)  =>  x1^2", cub["x1_squared"])
    show("  f(l) + f(x1) = 2  =>  k", sp.simplify(cub["k"]))
    show("  a = -k x1^2", cub["a"])
    show("  b = k / 3", cub["b"])
    for key, val in d["rms"].items():
        show(f"||U_r V_r^T||_F^2 for (n, m, r) = {key} (symbolic Givens factors)", val)
    err = check()
    print(f"\ncheck(): derivations = presets, kappa_to_abc, cubic_equioscillation, Remez, msign RMS; "
          f"max error {err:.2e}")


if __name__ == "__main__":
    main()
