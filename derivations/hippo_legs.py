r"""HiPPO-LegS derived from the Legendre basis and the scaled warp.

Su's framework (https://kexue.fm/archives/10114): for an orthonormal basis
:math:`g_n` on :math:`[a,b]` and a warp :math:`s\mapsto t_{\le T}(s)` onto the
history :math:`[0,T]`, the online coefficients
:math:`c_n(T)=\int_a^b u(t_{\le T}(s))\,g_n(s)\,ds` obey, after one
integration by parts with :math:`\kappa=\partial_T t_{\le T}/\partial_s t_{\le T}`,

.. math::

    \frac{d c_n}{dT} = \big[u(t_{\le T}(s))\,\kappa(s)\,g_n(s)\big]_{s=a}^{s=b}
    - \int_a^b u(t_{\le T}(s))\,\partial_s[\kappa(s) g_n(s)]\,ds .

For LegS, :math:`g_n=\sqrt{(2n+1)/2}\,P_n` on :math:`[-1,1]` and
:math:`t_{\le T}(s)=(s+1)T/2`. This script computes :math:`\kappa` from the
warp, the boundary term (which gives :math:`B`), and the inner products
:math:`M_{nk}=T\int_{-1}^1\partial_s[\kappa g_n]\,g_k\,ds` (which give
:math:`A=-M`), all exactly in SymPy; it proves that the expansion of
:math:`\partial_s[\kappa g_n]` in the basis is exact (so the ODE has no
truncation error), checks the ODE directly on a symbolic cubic input, proves
the Legendre identities the article uses, and only then compares with the
closed form and with :func:`refimpl.ssm.legs` and the O(N) algebra.

Run ``refimpl derive hippo_legs`` to print it.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from ._util import DerivationError, require, show, sym_to_array

TOPIC = "ssm"
N_DERIVE = 8
N_IDENTITIES = 12

s, t = sp.symbols("s t", real=True)
T = sp.symbols("T", positive=True)


def _chi(j):
    return 1 if j % 2 == 0 else 0


def legendre_identities(nmax=N_IDENTITIES):
    """Prove, as exact polynomial identities for ``n <= nmax``, the Legendre facts used.

    Returns the list of identity names; raises :class:`DerivationError` on failure.
    """
    P = [sp.legendre(n, t) for n in range(nmax + 2)]
    dP = [sp.diff(p, t) for p in P]
    zero = lambda e: sp.expand(e) == 0  # noqa: E731
    for n in range(nmax + 1):
        for m in range(n + 1):
            val = sp.integrate(P[m] * P[n], (t, -1, 1))
            want = sp.Rational(2, 2 * n + 1) if m == n else 0
            require(val == want, f"orthogonality fails for m={m}, n={n}: {val}")
        require(P[n].subs(t, 1) == 1 and P[n].subs(t, -1) == (-1) ** n, f"endpoint values fail for n={n}")
        if n >= 1:
            require(zero(dP[n + 1] - dP[n - 1] - (2 * n + 1) * P[n]), f"(r1) fails for n={n}")
        require(zero(dP[n + 1] - (n + 1) * P[n] - t * dP[n]), f"(r2) fails for n={n}")
        require(zero(dP[n + 1] - sum((2 * k + 1) * _chi(n - k) * P[k] for k in range(n + 1))),
                f"p'_(n+1) expansion fails for n={n}")
        require(zero(t * dP[n] - n * P[n] - sum((2 * n - 4 * j + 1) * P[n - 2 * j] for j in range(1, n // 2 + 1))),
                f"t p_n' expansion fails for n={n}")
        require(zero((t + 1) * dP[n] + (n + 1) * P[n] - sum((2 * k + 1) * P[k] for k in range(n + 1))),
                f"(t+1) p_n' expansion fails for n={n}")
    return [
        "orthogonality: int P_m P_n = 2/(2n+1) delta_mn",
        "endpoints: P_n(1) = 1, P_n(-1) = (-1)^n",
        "(r1) P'_(n+1) - P'_(n-1) = (2n+1) P_n",
        "(r2) P'_(n+1) = (n+1) P_n + t P'_n",
        "P'_(n+1) = sum_k (2k+1) chi_(n-k) P_k",
        "t P'_n = n P_n + (2n-3) P_(n-2) + (2n-7) P_(n-4) + ...",
        "(t+1) P'_n = -(n+1) P_n + sum_(k<=n) (2k+1) P_k",
    ]


def _rescale(A, B, lam):
    """c = Lambda c~  =>  t c~' = Lambda^-1 A Lambda c~ + Lambda^-1 B u."""
    L = sp.diag(*lam)
    return sp.simplify(L.inv() * A * L), sp.simplify(L.inv() * B)


def derive(N=N_DERIVE):
    """Derive LegS ``(A, B)`` for state size ``N`` from the basis and the warp.

    Returns a dict with the warp, ``kappa``, ``A``/``B`` in the ``"su"``,
    ``"paper"`` and ``"integer"`` normalisations (exact SymPy matrices) and the
    proven identities.
    """
    warp = (s + 1) * T / 2
    kappa = sp.simplify(sp.diff(warp, T) / sp.diff(warp, s))
    g = [sp.sqrt(sp.Rational(2 * n + 1, 2)) * sp.legendre(n, s) for n in range(N)]
    B = sp.zeros(N, 1)
    M = sp.zeros(N, N)
    for n in range(N):
        low = sp.simplify((kappa * g[n]).subs(s, -1))
        require(low == 0, f"boundary term at s=-1 should vanish for LegS, got {low}")
        B[n] = sp.simplify(T * (kappa * g[n]).subs(s, 1))  # coefficient of u(T)/T
        w = sp.expand(T * sp.diff(kappa * g[n], s))  # T d/ds[kappa g_n], a polynomial of degree n
        for k in range(N):
            M[n, k] = sp.nsimplify(sp.integrate(w * g[k], (s, -1, 1)))
        residual = sp.expand(w - sum(M[n, k] * g[k] for k in range(N)))
        require(residual == 0, f"expansion of d/ds[kappa g_{n}] in the basis is not exact: {residual}")
    A_su = -M
    A_paper, B_paper = _rescale(A_su, B, [sp.sqrt(2)] * N)
    A_int, B_int = _rescale(A_su, B, [sp.sqrt(sp.Rational(2, 2 * n + 1)) for n in range(N)])
    return {
        "N": N,
        "warp": warp,
        "kappa": kappa,
        "M": M,
        "su": (A_su, B),
        "paper": (A_paper, B_paper),
        "integer": (A_int, B_int),
        "basis": g,
    }


def _check_ode_on_cubic(d):
    """T c'(T) = A c(T) + B u(T) exactly, for a cubic u with symbolic coefficients."""
    a = sp.symbols("a0:4")
    u = lambda x: sum(a[j] * x**j for j in range(4))  # noqa: E731
    A, B = d["su"]
    c = sp.Matrix([sp.integrate(sp.expand(u(d["warp"]) * gn), (s, -1, 1)) for gn in d["basis"]])
    residual = sp.expand(T * sp.diff(c, T) - A * c - B * u(T))
    require(residual == sp.zeros(d["N"], 1), f"LegS ODE fails on a cubic input: {residual.T}")


def _closed_form(N, normalization):
    """The published closed forms, typed in here only to be compared with the derivation."""
    def a(n, k):
        if k > n:
            return 0
        if k == n:
            return -(n + 1)
        return -(2 * n + 1) if normalization == "integer" else -sp.sqrt((2 * n + 1) * (2 * k + 1))

    b = {"su": lambda n: sp.sqrt(2 * (2 * n + 1)), "paper": lambda n: sp.sqrt(2 * n + 1),
         "integer": lambda n: 2 * n + 1}[normalization]
    return sp.Matrix(N, N, a), sp.Matrix([b(n) for n in range(N)])


def check():
    """Compare the derivation with the closed forms and refimpl's numerics; return the max error."""
    from refimpl.ssm import legs, legs_matvec, legs_solve

    legendre_identities(N_IDENTITIES)
    d = derive(N_DERIVE)
    _check_ode_on_cubic(d)
    N = d["N"]
    A_su = d["su"][0]
    require(A_su.is_lower, "derived A is not lower triangular")
    lam = sp.symbols("lambda")
    require(sp.factor(A_su.charpoly(lam).as_expr()) == sp.prod([lam + n + 1 for n in range(N)]),
            "eigenvalues of the derived A are not exactly -1..-N")
    Dm = sp.diag(*[sp.sqrt(2 * n + 1) for n in range(N)])
    require(sp.simplify(Dm * d["paper"][0] * Dm.inv() - d["integer"][0]) == sp.zeros(N, N),
            "'integer' is not D A D^-1 of 'paper'")
    worst = 0.0
    for norm in ("su", "paper", "integer"):
        A_d, B_d = d[norm]
        A_c, B_c = _closed_form(N, norm)
        require(sp.simplify(A_d - A_c) == sp.zeros(N, N) and sp.simplify(B_d - B_c) == sp.zeros(N, 1),
                f"derived {norm} (A, B) differ from the closed form")
        A_num, B_num = sym_to_array(A_d), sym_to_array(B_d)
        for n in range(1, N + 1):
            A_r, B_r = legs(n, norm)
            err = max(np.max(np.abs(A_r - A_num[:n, :n]) / np.maximum(np.abs(A_num[:n, :n]), 1.0)),
                      np.max(np.abs(B_r - B_num[:n]) / np.abs(B_num[:n])))
            require(err <= 2.3e-16, f"legs({n}, {norm!r}) differs from the derivation by {err:.3e} (> 1 ulp)")
            worst = max(worst, float(err))
    # O(N) algebra against exact rational algebra (integer normalisation is rational).
    A_int = d["integer"][0]
    v_exact = sp.Matrix([sp.Rational((-1) ** k * (3 * k + 1), k + 2) for k in range(N)])
    v = np.array([float(x) for x in v_exact])
    mv_exact = sym_to_array(A_int * v_exact)
    for lam_val in (sp.Rational(3, 7), sp.Rational(5, 2), sp.Rational(-1, 11)):
        z_exact = sym_to_array((sp.eye(N) - lam_val * A_int).LUsolve(v_exact))
        for backend in ("numpy", "numba"):
            z = legs_solve(v, float(lam_val), normalization="integer", backend=backend)
            err = float(np.max(np.abs(z - z_exact)) / np.max(np.abs(z_exact)))
            require(err <= 1e-14, f"legs_solve(lam={lam_val}, {backend}) error {err:.3e}")
            worst = max(worst, err)
    for backend in ("numpy", "numba"):
        mv = legs_matvec(v, normalization="integer", backend=backend)
        err = float(np.max(np.abs(mv - mv_exact)) / np.max(np.abs(mv_exact)))
        require(err <= 1e-14, f"legs_matvec({backend}) error {err:.3e}")
        worst = max(worst, err)
    return worst


def main():
    """Print the derivation for N = 4 and run the checks."""
    d = derive(4)
    show("warp t(s) mapping [-1, 1] onto [0, T]", d["warp"])
    show("kappa = (dt/dT) / (dt/ds)", d["kappa"])
    show("orthonormal basis g_n(s) on [-1, 1]", sp.Matrix(d["basis"]))
    show("B_n = T * kappa(1) g_n(1)  (the boundary term at s=-1 vanishes since kappa(-1) = 0)", d["su"][1])
    show("M_nk = T * int_{-1}^{1} d/ds[kappa g_n] g_k ds   (A = -M)", d["M"])
    for norm in ("su", "paper", "integer"):
        show(f"A, B in the '{norm}' normalisation", sp.Matrix.hstack(*d[norm]))
    print("\n== Legendre identities proven for n <= %d:" % N_IDENTITIES)
    for line in legendre_identities():
        print("  -", line)
    err = check()
    print(f"\ncheck(): derivation (N <= {N_DERIVE}) = closed form = refimpl.ssm.legs; ODE exact on a cubic input; "
          f"eigenvalues -1..-N; O(N) matvec/solve vs exact rational algebra. max error {err:.2e}")


if __name__ == "__main__":
    main()
