r"""HiPPO-LagT derived from the Laguerre functions and the translation warp.

In Su's framework (https://kexue.fm/archives/10114; see
``derivations/hippo_legt.py``) take the Laguerre functions
:math:`g_n(s)=L_n(s)e^{-s/2}` on :math:`[0,\infty)` (:math:`s` = time elapsed)
and the warp :math:`t_{\le T}(s)=T-s`, so :math:`\kappa=\partial_Tt/\partial_st=-1`
and

.. math::

    \frac{dc_n}{dT} = \big[-u\,g_n\big]_{s=0}^{s=\infty} + \int_0^\infty u\,g_n'\,ds
    = g_n(0)\,u(T) + \sum_k D_{nk}c_k,\qquad D_{nk}=\int_0^\infty g_n'g_k\,ds .

This script proves orthonormality, computes :math:`D` exactly and proves
:math:`g_n'=\sum_kD_{nk}g_k` with zero residual (so, unlike LegT, the LagT ODE
has no truncation error), and checks the ODE on a symbolic input
:math:`u(t)=e^{\mu t}`. It then compares :math:`A=D`, :math:`B=g(0)` with the
closed form :math:`A=I/2-\mathrm{tril}(\mathbf 1)`, :math:`B=\mathbf 1` and with
:func:`refimpl.ssm.lagt` and ``transition("lagt")``.

Run ``refimpl derive hippo_lagt`` to print it.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from ._util import require, show, sym_to_array

TOPIC = "ssm"
N_DERIVE = 7

s = sp.symbols("s", nonnegative=True)
T = sp.symbols("T", real=True)


def _int_exp(poly, a=1):
    """int_0^oo poly(s) exp(-a s) ds, exactly, from int_0^oo s^m exp(-a s) ds = m! / a^(m+1)."""
    a = sp.sympify(a)
    terms = sp.Poly(sp.expand(poly), s).terms()
    return sp.simplify(sum(coeff * sp.factorial(m) / a ** (m + 1) for (m,), coeff in terms))


def derive(N=N_DERIVE):
    """Derive LagT ``(A, B)`` from the Laguerre functions; return a dict.

    Every integral has the form int_0^oo p(s) exp(-s) ds with p a polynomial
    (g_m g_n = L_m L_n e^{-s}, g_n' g_k = (L_n' - L_n/2) L_k e^{-s}), which
    :func:`_int_exp` evaluates exactly.
    """
    warp = T - s
    kappa = sp.simplify(sp.diff(warp, T) / sp.diff(warp, s))
    Lp = [sp.expand(sp.laguerre(n, s)) for n in range(N)]
    g = [Lp[n] * sp.exp(-s / 2) for n in range(N)]
    gram = sp.Matrix(N, N, lambda m, n: _int_exp(Lp[m] * Lp[n]))
    D = sp.zeros(N, N)
    for n in range(N):
        dg_poly = sp.expand(sp.simplify(sp.diff(g[n], s) * sp.exp(s / 2)))  # g_n' = dg_poly e^{-s/2}
        require(sp.simplify(dg_poly - (sp.diff(Lp[n], s) - Lp[n] / 2)) == 0, "g_n' e^{s/2} != L_n' - L_n/2")
        for k in range(N):
            D[n, k] = _int_exp(dg_poly * Lp[k])
        residual = sp.expand(dg_poly - sum(D[n, k] * Lp[k] for k in range(N)))
        require(residual == 0, f"g_{n}' is not exactly a combination of the g_k: {residual}")
    B = sp.Matrix([-kappa * gn.subs(s, 0) for gn in g])  # boundary term at s=0 (the one at infinity vanishes)
    A = -kappa * D
    return {"N": N, "warp": warp, "kappa": kappa, "basis": g, "gram": gram, "D": D, "A": A, "B": B}


def _check_ode_on_exponential(d):
    """c(T) for u(t) = exp(mu t) (mu > 0, so the history integral converges) solves c' = A c + B u."""
    mu = sp.symbols("mu", positive=True)
    # c_n(T) = int_0^oo exp(mu (T - s)) L_n(s) exp(-s/2) ds = exp(mu T) int L_n exp(-(mu + 1/2) s) ds
    c = sp.Matrix([sp.exp(mu * T) * _int_exp(sp.laguerre(n, s), mu + sp.Rational(1, 2)) for n in range(d["N"])])
    residual = sp.simplify(sp.diff(c, T) - d["A"] * c - d["B"] * sp.exp(mu * T))
    require(residual == sp.zeros(d["N"], 1), f"LagT ODE fails on u = exp(mu t): {residual.T}")


def check():
    """Derivation = closed form = refimpl.ssm.lagt = transition('lagt'); return the max error."""
    from refimpl.ssm import lagt, transition

    d = derive()
    N = d["N"]
    # the moment formula used for every integral, against SymPy's own integration
    for n in range(3):
        for k in range(3):
            direct = sp.integrate(sp.expand(sp.diff(d["basis"][n], s) * d["basis"][k]), (s, 0, sp.oo))
            require(sp.simplify(direct - d["D"][n, k]) == 0, f"moment formula disagrees with integrate at {n},{k}")
    require(d["kappa"] == -1, f"kappa should be -1, got {d['kappa']}")
    require(d["gram"] == sp.eye(N), "Laguerre functions are not orthonormal")
    _check_ode_on_exponential(d)
    closed_A = sp.Matrix(N, N, lambda n, k: -1 if k < n else (sp.Rational(-1, 2) if k == n else 0))
    require(d["A"] == closed_A, f"derived A differs from I/2 - tril(1): {d['A']}")
    require(d["B"] == sp.ones(N, 1), f"derived B differs from 1: {d['B'].T}")
    A_r, B_r = lagt(N)
    A_s4, B_s4 = transition("lagt", N)
    err = max(np.max(np.abs(A_r - sym_to_array(d["A"]))), np.max(np.abs(B_r - 1.0)),
              np.max(np.abs(A_s4 - A_r)), np.max(np.abs(B_s4 - B_r)))
    require(err == 0.0, f"refimpl lagt differs from the derivation by {err:.2e}")
    return float(err)


def main():
    """Print the derivation for N = 4 and run the checks."""
    d = derive(4)
    show("warp t(s) = T - s (s = time elapsed), kappa", sp.Matrix([d["warp"], d["kappa"]]))
    show("Laguerre functions g_n(s) = L_n(s) exp(-s/2)", sp.Matrix(d["basis"]))
    show("Gram matrix int g_m g_n over [0, oo)", d["gram"])
    show("D_nk = int g_n' g_k  (g_n' = sum_k D_nk g_k exactly)", d["D"])
    show("A = D, B = g(0)", sp.Matrix.hstack(d["A"], d["B"]))
    err = check()
    print(f"\ncheck(): derived (N <= {N_DERIVE}) = I/2 - tril(1), B = 1 = refimpl lagt = transition('lagt'); "
          f"ODE exact on exp(mu t). max error {err:.2e}")


if __name__ == "__main__":
    main()
