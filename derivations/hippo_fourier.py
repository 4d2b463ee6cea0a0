r"""FouT (both endpoint closures) and FouS derived from the Fourier basis; the FouT endpoint problem.

Basis :math:`e_n(s)=e^{2i\pi ns}` on :math:`[0,1]`,
:math:`c_n=\int_0^1u(t_{\le T}(s))\overline{e_n(s)}ds`, :math:`|n|\le M`
(Su, https://kexue.fm/archives/10114 and https://kexue.fm/archives/10137).

FouT, warp :math:`t(s)=sw+T-w`, :math:`\kappa=1/w`: Su's integration by parts
gives :math:`c_n'=\kappa[u(T)\bar e_n(1)-u(T-w)\bar e_n(0)]-\kappa\sum_kP_{nk}c_k`
with :math:`P_{nk}=\int_0^1\partial_s\bar e_n\,e_k\,ds` (computed here), and
the unknown :math:`u(T-w)` must be closed with the coefficients:

- the article: :math:`u(T-w)\approx\sum_kc_k\,e_k(0)` (the series at :math:`s=0`);
- the midpoint form: at :math:`s=0` the (periodic) Fourier series converges to
  :math:`\tfrac12[u(T-w)+u(T)]`, so :math:`u(T-w)\approx2\sum_kc_k-u(T)`.

The script proves the endpoint problem exactly: for :math:`u(s)=s` and
:math:`u(s)=s^2` on the window (:math:`u(T-w)=0`, :math:`u(T)=1`) the partial
sums at :math:`s=0` equal (or tend to) :math:`1/2`, not :math:`0`, for every
:math:`M`; the midpoint closure returns :math:`0`. ``check()`` then shows the
consequence numerically: integrating the article's FouT leaves a coefficient
error that does not shrink with :math:`M`, the midpoint form's error does.

FouS, warp :math:`t(s)=sT`: :math:`c_n'=\frac1T[u(T)-c_n]+\frac{2i\pi n}{T}\int_0^1u\,s\,\bar e_n`,
and :math:`s=\sum_k\sigma_ke_k(s)` with :math:`\sigma_k=\int_0^1s\,\bar e_k` (computed),
so :math:`\int u\,s\,\bar e_n=\sum_k\sigma_kc_{n-k}`; truncating to :math:`|n-k|\le M`
gives :math:`A_{nm}=-\delta_{nm}+2i\pi n\,\sigma_{n-m}`, :math:`B_n=1`.

Run ``refimpl derive hippo_fourier`` to print it.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from ._util import require, show, sym_to_array

TOPIC = "ssm"
M_DERIVE = 3

s = sp.symbols("s", real=True)
T, w = sp.symbols("T w", positive=True)
kk = sp.symbols("k", integer=True, positive=True)
Msym = sp.symbols("M", integer=True, positive=True)


def _e(n):
    return sp.exp(2 * sp.pi * sp.I * n * s)


_UNIT_INTEGRALS = {}


def _int_unit_exp(m):
    """int_0^1 exp(2 i pi m s) ds for an integer m (exact; cached)."""
    if m not in _UNIT_INTEGRALS:
        _UNIT_INTEGRALS[m] = sp.simplify(sp.integrate(sp.exp(2 * sp.pi * sp.I * m * s), (s, 0, 1)))
    return _UNIT_INTEGRALS[m]


def _inner(f, n):
    """int_0^1 f(s) conj(e_n(s)) ds, exactly."""
    return sp.simplify(sp.integrate(sp.expand(f * sp.exp(-2 * sp.pi * sp.I * n * s)), (s, 0, 1)))


def _sigma(K):
    """sigma_k = int_0^1 s conj(e_k) ds for |k| <= K: one symbolic integral for integer k != 0, plus k = 0."""
    knz = sp.symbols("k_nz", integer=True, nonzero=True)
    general = sp.simplify(_inner(s, knz))
    out = {0: _inner(s, 0)}
    for k in range(1, K + 1):
        out[k] = sp.simplify(general.subs(knz, k))
        out[-k] = sp.simplify(general.subs(knz, -k))
    return out


def _p_entry(a, b):
    """P_ab = int_0^1 d/ds[conj e_a] e_b ds: differentiate, factor out exp(2 i pi (b-a) s), integrate."""
    prod = sp.diff(sp.exp(-2 * sp.pi * sp.I * a * s), s) * _e(b)
    coeff = sp.simplify(prod / sp.exp(2 * sp.pi * sp.I * (b - a) * s))
    require(not coeff.has(s), f"P_{a}{b}: integrand is not a multiple of exp(2 i pi (b-a) s)")
    return sp.simplify(coeff * _int_unit_exp(b - a))


def derive(M=M_DERIVE):
    """Derive FouT (both closures, symbolic ``w``) and FouS for frequencies |n| <= M; return a dict."""
    ns = list(range(-M, M + 1))
    K = len(ns)
    warp = s * w + T - w
    kappa = sp.simplify(sp.diff(warp, T) / sp.diff(warp, s))
    P = sp.Matrix(K, K, lambda a, b: _p_entry(ns[a], ns[b]))
    e1 = sp.Matrix([sp.simplify(sp.exp(-2 * sp.pi * sp.I * n * s).subs(s, 1)) for n in ns])  # conj e_n(1)
    e0 = sp.Matrix([sp.exp(-2 * sp.pi * sp.I * n * s).subs(s, 0) for n in ns])              # conj e_n(0)
    ek0 = sp.Matrix([_e(n).subs(s, 0) for n in ns])                                          # e_k(0)
    # c' = kappa e1 u(T) - kappa e0 u(T-w) - kappa P c
    A_su = sp.simplify(-kappa * P - kappa * e0 * ek0.T)          # u(T-w) ~ sum_k c_k e_k(0)
    B_su = sp.simplify(kappa * e1)
    A_mid = sp.simplify(-kappa * P - 2 * kappa * e0 * ek0.T)     # u(T-w) ~ 2 sum_k c_k e_k(0) - u(T)
    B_mid = sp.simplify(kappa * e1 + kappa * e0)
    # FouS: sigma_k = int s conj(e_k)
    sigma = _sigma(2 * M)
    A_fs = sp.Matrix(K, K, lambda a, b: (-1 if a == b else 0) + 2 * sp.pi * sp.I * ns[a] * sigma[ns[a] - ns[b]])
    A_fs = sp.simplify(A_fs)
    B_fs = sp.ones(K, 1)
    return {"M": M, "n": ns, "warp": warp, "kappa": kappa, "P": P, "su": (A_su, B_su), "midpoint": (A_mid, B_mid),
            "sigma": sigma, "fous": (A_fs, B_fs)}


def endpoint_problem():
    """Exact partial sums at s = 0 for u(s) = s and u(s) = s^2 (u(0) = 0, u(1) = 1).

    Returns a dict of the symbolic coefficients, the partial sum for general M
    (u = s) and the limit M -> oo (u = s^2) of the article's closure and of the
    midpoint closure.
    """
    out = {}
    c1 = {0: _inner(s, 0), "k": sp.simplify(_inner(s, kk))}
    c1["-k"] = sp.simplify(_inner(s, -kk))
    partial1 = sp.simplify(c1[0] + sp.Sum(c1["k"] + c1["-k"], (kk, 1, Msym)).doit())
    c2 = {0: _inner(s**2, 0), "k": sp.simplify(_inner(s**2, kk)), "-k": sp.simplify(_inner(s**2, -kk))}
    partial2 = c2[0] + sp.Sum(sp.simplify(c2["k"] + c2["-k"]), (kk, 1, Msym))
    limit2 = sp.simplify(c2[0] + sp.Sum(sp.simplify(c2["k"] + c2["-k"]), (kk, 1, sp.oo)).doit())
    out.update(c_s=c1, partial_sum_s=partial1, c_s2=c2, partial_sum_s2=partial2, limit_s2=limit2,
               su_closure_s=partial1, midpoint_closure_s=sp.simplify(2 * partial1 - 1),
               su_closure_s2=limit2, midpoint_closure_s2=sp.simplify(2 * limit2 - 1))
    return out


def _ode_error(M, endpoint):
    """Max coefficient error of the FouT ODE (exact ZOH steps) against quadrature, smooth input, w = 1."""
    from refimpl.ssm import discretize, fout, project

    dt, Tend = 2e-3, 2.0
    t = (np.arange(int(round(Tend / dt))) + 0.5) * dt
    us = np.cos(t) + 0.5 * np.sin(3 * t)
    A, B = fout(M, 1.0, endpoint=endpoint)
    Ab, Bb = discretize(A, B, dt, "zoh")
    x = np.zeros(2 * M + 1, dtype=complex)
    for v in us:
        x = Ab @ x + Bb * v
    return float(np.max(np.abs(x - project(us, 2 * M + 1, "fout", dt=dt, times=Tend))))


def check():
    """Derivations = closed forms = refimpl fout/fous; the endpoint problem; return the max error."""
    from refimpl.ssm import fous, fout

    d = derive()
    M = d["M"]
    K = 2 * M + 1
    ns = d["n"]
    require(d["kappa"] == 1 / w, f"kappa should be 1/w, got {d['kappa']}")
    for k in (1, -2):
        require(sp.simplify(_inner(s, k) - d["sigma"][k]) == 0, f"sigma_{k} specialisation differs from integrate")
    require(d["P"] == sp.diag(*[-2 * sp.pi * sp.I * n for n in ns]), "P should be diag(-2 i pi n)")
    D = sp.diag(*[2 * sp.pi * sp.I * n / w for n in ns])
    one = sp.ones(K, K)
    require(sp.simplify(d["su"][0] - (D - one / w)) == sp.zeros(K, K), "FouT (su) A differs from the closed form")
    require(sp.simplify(d["su"][1] - sp.ones(K, 1) / w) == sp.zeros(K, 1), "FouT (su) B differs")
    require(sp.simplify(d["midpoint"][0] - (D - 2 * one / w)) == sp.zeros(K, K), "FouT (midpoint) A differs")
    require(sp.simplify(d["midpoint"][1] - 2 * sp.ones(K, 1) / w) == sp.zeros(K, 1), "FouT (midpoint) B differs")
    closed_fs = sp.Matrix(K, K, lambda a, b: sp.I * sp.pi * ns[a] - 1 if a == b else -sp.Rational(ns[a], ns[a] - ns[b]))
    require(sp.simplify(d["fous"][0] - closed_fs) == sp.zeros(K, K), "FouS A differs from the closed form")
    ep = endpoint_problem()
    require(ep["partial_sum_s"] == sp.Rational(1, 2), f"partial sum for u=s: {ep['partial_sum_s']}")
    require(ep["limit_s2"] == sp.Rational(1, 2), f"limit for u=s^2: {ep['limit_s2']}")
    require(ep["midpoint_closure_s"] == 0 and ep["midpoint_closure_s2"] == 0, "midpoint closure should give u(0)=0")
    worst = 0.0
    for w_val in (1.0, 2.0, 0.5):
        for endpoint in ("su", "midpoint"):
            A_num = sym_to_array(d[endpoint][0].subs(w, sp.nsimplify(w_val)), dtype=np.complex128)
            A_r = fout(M, w_val, endpoint=endpoint)[0]
            err = float(np.max(np.abs(A_r - A_num) / np.abs(A_num)))
            require(err <= 4.5e-16, f"fout({M}, {w_val}, {endpoint!r}) differs from the derivation by {err:.2e}")
            worst = max(worst, err)
    A_fs = sym_to_array(d["fous"][0], dtype=np.complex128)
    err = float(np.max(np.abs(fous(M)[0] - A_fs) / np.maximum(np.abs(A_fs), 1e-300)))
    require(err <= 4.5e-16, f"fous differs from the derivation by {err:.2e}")
    worst = max(worst, err)
    e_su = [_ode_error(m, "su") for m in (2, 8)]
    e_mid = [_ode_error(m, "midpoint") for m in (2, 8)]
    require(e_su[1] > 0.9 * e_su[0] and e_su[1] > 0.1, f"FouT (su) error should not shrink with M: {e_su}")
    require(e_mid[1] < 0.5 * e_mid[0], f"FouT (midpoint) error should fall with M: {e_mid}")
    return worst


def main():
    """Print the derivation for M = 1 and the endpoint problem, then run the checks."""
    d = derive(1)
    show("FouT warp t(s) = s w + T - w, kappa", sp.Matrix([d["warp"], d["kappa"]]))
    show("P_nk = int d/ds conj(e_n) e_k", d["P"])
    show("FouT, article's closure u(T-w) ~ sum c_k: A | B", sp.Matrix.hstack(*d["su"]))
    show("FouT, midpoint closure u(T-w) ~ 2 sum c_k - u(T): A | B", sp.Matrix.hstack(*d["midpoint"]))
    show("sigma_k = int_0^1 s conj(e_k) ds, k = -2..2", sp.Matrix([d["sigma"][k] for k in range(-2, 3)]))
    show("FouS: A | B", sp.Matrix.hstack(*d["fous"]))
    ep = endpoint_problem()
    show("u(s) = s: c_0, c_k, c_-k", sp.Matrix([ep["c_s"][0], ep["c_s"]["k"], ep["c_s"]["-k"]]))
    show("sum_{|k|<=M} c_k for u = s (every M)  [u(0) = 0, u(1) = 1]", ep["partial_sum_s"])
    show("u(s) = s^2: lim_M sum_{|k|<=M} c_k", ep["limit_s2"])
    show("midpoint closure 2 sum c_k - u(1) for u = s and u = s^2",
         sp.Matrix([ep["midpoint_closure_s"], ep["midpoint_closure_s2"]]))
    err = check()
    e_su = [_ode_error(m, "su") for m in (2, 4, 8)]
    e_mid = [_ode_error(m, "midpoint") for m in (2, 4, 8)]
    print("\nFouT coefficient error of the integrated ODE vs quadrature (u = cos t + sin(3t)/2, w = 1), M = 2, 4, 8:")
    print("  article (su):", ", ".join(f"{e:.3e}" for e in e_su))
    print("  midpoint    :", ", ".join(f"{e:.3e}" for e in e_mid))
    print(f"\ncheck(): derived FouT/FouS (M <= {M_DERIVE}) = closed forms = refimpl; endpoint problem proven. "
          f"max error {err:.2e}")


if __name__ == "__main__":
    main()
