r"""HiPPO-LegT and the LMU form derived from the Legendre basis and the sliding-window warp.

Su's framework (https://kexue.fm/archives/10114): with an orthonormal basis
:math:`g_n` on :math:`[a,b]` and a warp :math:`s\mapsto t_{\le T}(s)`, the
coefficients :math:`c_n(T)=\int_a^b u(t_{\le T}(s))g_n(s)ds` obey

.. math::

    \frac{dc_n}{dT} = \big[u\,\kappa\,g_n\big]_{s=a}^{s=b} - \int_a^b u\,\partial_s[\kappa g_n]\,ds,
    \qquad \kappa = \frac{\partial_T t_{\le T}}{\partial_s t_{\le T}} .

For LegT, :math:`g_n=\sqrt{(2n+1)/2}P_n` on :math:`[-1,1]` and
:math:`t_{\le T}(s)=(s+1)w/2+T-w`. This script computes :math:`\kappa`, the two
boundary terms, and the exact expansion :math:`g_n' = \sum_{k<n} D_{nk} g_k`
(SymPy inner products; the residual is proven zero), then closes the system
with the only approximation of LegT, :math:`u(T-w)\approx\sum_k c_k g_k(-1)`
(the truncated series at the old end of the window). That gives

.. math:: A_{nk} = -\kappa\,[g_n(-1)g_k(-1) + D_{nk}],\qquad B_n=\kappa\,g_n(1),

which is then compared with the closed form (``"su"`` normalisation), and
rescaled by :math:`c_n=\lambda_n\tilde c_n` to the paper form
(:math:`\lambda_n=\sqrt2`) and the LMU form; the script shows each rescaling
is a similarity (same characteristic polynomial) and that the article's
factor :math:`\lambda_n=2/\sqrt{2n+1}` does not give the stated LMU ``B``
(it needs :math:`\sqrt{2/(2n+1)}`). It also checks the identity
:math:`2\chi_{n-1-k}+(-1)^{n-k}=1` (:math:`k<n`) that the article uses, and
that the LegT ODE is exact for polynomial inputs of degree < N.

Run ``refimpl derive hippo_legt`` to print it.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from ._util import require, show, sym_to_array

TOPIC = "ssm"
N_DERIVE = 7

s = sp.symbols("s", real=True)
T, w = sp.symbols("T w", positive=True)


def _int_poly(expr, lo=-1, hi=1):
    """Exact integral over [lo, hi] of a polynomial in s (coefficients may be symbolic)."""
    P = sp.Poly(sp.expand(expr), s).integrate()
    return sp.expand(P.as_expr().subs(s, hi) - P.as_expr().subs(s, lo))


def _rescale(A, B, lam):
    L = sp.diag(*lam)
    return sp.simplify(L.inv() * A * L), sp.simplify(L.inv() * B)


def derive(N=N_DERIVE):
    """Derive LegT ``(A, B)`` (symbolic window ``w``) and its rescalings; return a dict."""
    warp = (s + 1) * w / 2 + T - w
    kappa = sp.simplify(sp.diff(warp, T) / sp.diff(warp, s))
    g = [sp.sqrt(sp.Rational(2 * n + 1, 2)) * sp.legendre(n, s) for n in range(N)]
    D = sp.zeros(N, N)
    for n in range(N):
        dg = sp.expand(sp.diff(g[n], s))
        for k in range(N):
            D[n, k] = sp.nsimplify(_int_poly(dg * g[k]))
        residual = sp.expand(dg - sum(D[n, k] * g[k] for k in range(N)))
        require(residual == 0, f"g_{n}' is not exactly a combination of g_k: {residual}")
    gm1 = sp.Matrix([gn.subs(s, -1) for gn in g])
    gp1 = sp.Matrix([gn.subs(s, 1) for gn in g])
    # dc/dT = kappa [u(T) g(1) - u(T-w) g(-1)] - kappa D c,  u(T-w) ~ g(-1)^T c
    A = sp.simplify(-kappa * (gm1 * gm1.T + D))
    B = sp.simplify(kappa * gp1)
    A_paper, B_paper = _rescale(A, B, [sp.sqrt(2)] * N)
    A_lmu, B_lmu = _rescale(A, B, [sp.sqrt(sp.Rational(2, 2 * n + 1)) for n in range(N)])
    A_su_fac, B_su_fac = _rescale(A, B, [2 / sp.sqrt(2 * n + 1) for n in range(N)])
    return {"N": N, "warp": warp, "kappa": kappa, "basis": g, "D": D, "g(-1)": gm1, "g(1)": gp1,
            "su": (A, B), "paper": (A_paper, B_paper), "lmu": (A_lmu, B_lmu),
            "lmu_with_articles_lambda": (A_su_fac, B_su_fac)}


def _closed_form(N, form):
    """The article's closed forms, typed in only to be compared with the derivation."""
    def sign(n, k):
        return 1 if k < n else (-1) ** (n - k)

    if form == "lmu":
        A = sp.Matrix(N, N, lambda n, k: -(2 * n + 1) * sign(n, k) / w)
        B = sp.Matrix([(2 * n + 1) / w for n in range(N)])
    else:
        A = sp.Matrix(N, N, lambda n, k: -sp.sqrt((2 * n + 1) * (2 * k + 1)) * sign(n, k) / w)
        B = sp.Matrix([(sp.sqrt(2 * (2 * n + 1)) if form == "su" else sp.sqrt(2 * n + 1)) / w for n in range(N)])
    return A, B


def _check_exact_for_polynomials(d, degree=3):
    """For u a polynomial of degree < N the closure u(T-w) = sum c_k g_k(-1) is exact, so is the ODE."""
    a = sp.symbols(f"a0:{degree + 1}")
    u = lambda x: sum(a[j] * x**j for j in range(degree + 1))  # noqa: E731
    A, B = d["su"]
    c = sp.Matrix([_int_poly(u(d["warp"]) * gn) for gn in d["basis"]])
    residual = sp.simplify(sp.expand(sp.diff(c, T) - A * c - B * u(T)))
    require(residual == sp.zeros(d["N"], 1), f"LegT ODE fails on a degree-{degree} input: {residual.T}")


def check():
    """Derivation = closed forms = refimpl (legt, lmu, transition); return the max numerical error."""
    from refimpl.ssm import legt, lmu, transition

    for n in range(12):
        for k in range(n):
            chi = 1 if (n - 1 - k) % 2 == 0 else 0
            require(2 * chi + (-1) ** (n - k) == 1, f"2 chi_(n-1-k) + (-1)^(n-k) != 1 at n={n}, k={k}")
    d = derive()
    N = d["N"]
    g = d["basis"]
    for n in range(3):  # the polynomial integration helper against SymPy's integrate
        for k in range(3):
            direct = sp.integrate(sp.diff(g[n], s) * g[k], (s, -1, 1))
            require(sp.simplify(direct - d["D"][n, k]) == 0, f"_int_poly disagrees with integrate at {n},{k}")
    require(d["kappa"] == 2 / w, f"kappa should be 2/w, got {d['kappa']}")
    _check_exact_for_polynomials(d, 3)
    for form in ("su", "paper", "lmu"):
        A_d, B_d = d[form]
        A_c, B_c = _closed_form(N, form)
        require(sp.simplify(A_d - A_c) == sp.zeros(N, N), f"derived LegT A ({form}) differs from the closed form")
        require(sp.simplify(B_d - B_c) == sp.zeros(N, 1), f"derived LegT B ({form}) differs from the closed form")
    # every rescaling is a similarity: same characteristic polynomial
    x = sp.symbols("x")
    cp = sp.expand(d["su"][0].charpoly(x).as_expr())
    for form in ("paper", "lmu", "lmu_with_articles_lambda"):
        require(sp.expand(d[form][0].charpoly(x).as_expr() - cp) == 0, f"{form} is not similar to su")
    # the article's lambda_n = 2/sqrt(2n+1): same A as LMU, but B is (2n+1)/(sqrt(2) w)
    A_a, B_a = d["lmu_with_articles_lambda"]
    require(sp.simplify(A_a - d["lmu"][0]) == sp.zeros(N, N), "article's lambda should give the LMU A")
    require(sp.simplify(B_a - d["lmu"][1] / sp.sqrt(2)) == sp.zeros(N, 1),
            "article's lambda should give B/sqrt(2) (erratum)")
    worst = 0.0
    for w_val in (1.0, 2.0, 0.7):
        for form, fn in (("su", lambda n: legt(n, w_val, normalization="su")),
                         ("paper", lambda n: legt(n, w_val)), ("lmu", lambda n: lmu(n, w_val))):
            A_num = sym_to_array(d[form][0].subs(w, sp.nsimplify(w_val)))
            B_num = sym_to_array(d[form][1].subs(w, sp.nsimplify(w_val)))
            A_r, B_r = fn(N)
            err = max(np.max(np.abs(A_r - A_num) / np.maximum(np.abs(A_num), 1e-300)),
                      np.max(np.abs(B_r - B_num) / np.abs(B_num)))
            require(err <= 4.5e-16, f"refimpl {form} (w={w_val}) differs from the derivation by {err:.2e}")
            worst = max(worst, float(err))
    A_s4, B_s4 = transition("legt", N)
    A_2 = sym_to_array(d["paper"][0].subs(w, 2))
    err = float(np.max(np.abs(A_s4 - A_2)))
    require(err <= 1e-14, f"transition('legt') is not LegT with window 2: {err:.2e}")
    return max(worst, err)


def main():
    """Print the derivation for N = 4 and run the checks."""
    d = derive(4)
    show("warp t(s) mapping [-1, 1] onto [T-w, T]", d["warp"])
    show("kappa = (dt/dT) / (dt/ds)", d["kappa"])
    show("g_n(1) and g_n(-1) (boundary terms)", sp.Matrix.hstack(d["g(1)"], d["g(-1)"]))
    show("D_nk = int g_n' g_k  (g_n' = sum_k D_nk g_k exactly)", d["D"])
    show("closure u(T-w) ~ sum_k c_k g_k(-1);  A = -kappa (g(-1) g(-1)^T + D),  B = kappa g(1)", None)
    for form in ("su", "paper", "lmu"):
        show(f"A, B ({form})", sp.Matrix.hstack(*d[form]))
    show("with the article's lambda_n = 2/sqrt(2n+1): B (compare the LMU B above)", d["lmu_with_articles_lambda"][1])
    err = check()
    print(f"\ncheck(): derived (N <= {N_DERIVE}) = closed forms = refimpl legt/lmu; rescalings are similarities; "
          f"ODE exact on cubic inputs; transition('legt') = window 2. max error {err:.2e}")


if __name__ == "__main__":
    main()
