r"""S4 algebra: Woodbury, the matrix geometric series, det(I+UV)=det(I+VU), NPLR of LegS, the z=-1 node.

Su Jianlin, "重温SSM（三）：HiPPO的高效计算（S4）", https://kexue.fm/archives/10162.
Each identity is *derived* (solved for, or expanded from its definition) in
SymPy on generic symbolic matrices, then compared with refimpl's numerics:

1. Woodbury: solve :math:`(M+UV^*)x=b` by eliminating :math:`y=V^*x`; the
   solution operator is the Woodbury formula (rank 1, generic symbols); any
   rank with noncommutative matrix symbols; exact rational instances of
   rank 2 and 3.
   Su's first display writes :math:`(UV)^k`; for non-square U, V that product
   does not exist, the Neumann series needs :math:`(UV^*M^{-1})^k`.
2. Matrix geometric series: :math:`(I-zA)\sum_{k<L}z^kA^k` telescopes to
   :math:`I-z^LA^L`, hence the truncated generating function and the trained
   :math:`\tilde C`; at :math:`z^L=1` the factor is :math:`I-A^L`.
3. :math:`\det(I+UV)=\det(I+VU)` for U (3x2), V (2x3), from the two block
   factorisations of :math:`\begin{psmallmatrix}I&-U\\V&I\end{psmallmatrix}`.
4. LegS is normal plus low rank: starting from the LegS matrix *derived* from
   the Legendre basis (``derivations/hippo_legs.py``), :math:`A+\tfrac12vv^\top+\tfrac12I`
   is skew-symmetric, :math:`v_n=\sqrt{2n+1}`.
5. Bilinear frequency form and the z = -1 node: :math:`(I-z\bar A)^{-1}\bar B =
   \tfrac{2}{1+z}(gI-A)^{-1}B`, :math:`g=\tfrac2\Delta\tfrac{1-z}{1+z}`; the limit
   at :math:`z\to-1` is :math:`\tfrac\Delta2 B` (the Woodbury correction
   vanishes there), the value ``kernel_dplr`` uses at that node.
6. Why not diagonalise A: :math:`|S_{d/3}| = (2d/3)!^2/(4d/3-1)!` behaves
   like :math:`d^{3/2}2^{-4d/3}` (Su writes :math:`\sqrt d`).

Run ``refimpl derive s4_woodbury`` to print it.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from ._util import require, show

TOPIC = "ssm"


def _generic(name, rows, cols):
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}{i}{j}"))


def derive_woodbury(n=3, r=1):
    """Solve (M + U V^T) x = b with M diagonal (generic symbols) by eliminating y = V^T x.

    Returns (derived solution operator, Woodbury formula, M + U V^T).
    """
    M = sp.diag(*[sp.Symbol(f"m{i}") for i in range(n)])
    U = _generic("u", n, r)
    V = _generic("v", n, r)
    b = _generic("b", n, 1)
    # x = M^-1 (b - U y) and y = V^T x  =>  (I + V^T M^-1 U) y = V^T M^-1 b: solve the r x r system for y
    Minv = M.inv()
    small = sp.eye(r) + V.T * Minv * U
    y = small.LUsolve(V.T * Minv * b)
    x = Minv * (b - U * y)
    op = sp.Matrix(n, n, lambda i, j: sp.diff(x[i], b[j]))  # x is linear in b: its matrix
    woodbury = Minv - Minv * U * small.adjugate() / small.det() * V.T * Minv
    return op, woodbury, M + U * V.T


def derive_woodbury_general():
    """Any rank: with noncommutative matrix symbols, (M + U V^T) W = I once V^T M^-1 U = S - I_r is substituted.

    S = I_r + V^T M^{-1} U is the r x r capacitance matrix; W is the Woodbury inverse.
    """
    n, r = sp.symbols("n r", integer=True, positive=True)
    M = sp.MatrixSymbol("M", n, n)
    U = sp.MatrixSymbol("U", n, r)
    V = sp.MatrixSymbol("V", n, r)
    S = sp.MatrixSymbol("S", r, r)
    W = M.I - M.I * U * S.I * V.T * M.I
    raw = sp.expand((M + U * V.T) * W).doit()
    reduced = sp.expand(raw.subs(V.T * M.I * U, S - sp.Identity(r))).doit()
    return raw, reduced, sp.Identity(n)


def woodbury_rational_instance(n=5, r=2, seed=0):
    """An exact instance: integer M (diagonal), U, V (n x r); the Woodbury formula vs the exact inverse."""
    rng = np.random.default_rng(seed)
    M = sp.diag(*[sp.Integer(int(x)) for x in rng.integers(2, 9, n)])
    U = sp.Matrix(n, r, [sp.Integer(int(x)) for x in rng.integers(-3, 4, n * r)])
    V = sp.Matrix(n, r, [sp.Integer(int(x)) for x in rng.integers(-3, 4, n * r)])
    Minv = M.inv()
    wb = Minv - Minv * U * (sp.eye(r) + V.T * Minv * U).inv() * V.T * Minv
    return wb, (M + U * V.T).inv()


def derive_geometric_series(L=5):
    """(I - zA) sum_{k<L} z^k A^k for a generic 2x2 A, expanded: the telescoped I - z^L A^L."""
    A = _generic("a", 2, 2)
    z = sp.Symbol("z")
    S = sp.zeros(2, 2)
    P = sp.eye(2)
    for k in range(L):
        S += z**k * P
        P = P * A
    lhs = sp.expand((sp.eye(2) - z * A) * S)
    rhs = sp.expand(sp.eye(2) - z**L * A**L)
    return lhs, rhs, A, z


def derive_det_identity():
    """det(I + UV) and det(I + VU) for U (3x2), V (2x3) via the block matrix [[I, -U], [V, I]]."""
    U = _generic("u", 3, 2)
    V = _generic("v", 2, 3)
    blk = sp.Matrix(sp.BlockMatrix([[sp.eye(3), -U], [V, sp.eye(2)]]))
    # eliminate the lower-left block: det = det(I_3) det(I_2 + V U); eliminate the upper-right: det(I_3 + U V) det(I_2)
    schur_1 = sp.eye(2) + V * U        # Schur complement of the I_3 block
    schur_2 = sp.eye(3) + U * V        # Schur complement of the I_2 block
    return sp.expand(blk.det()), sp.expand(schur_1.det()), sp.expand(schur_2.det())


def derive_legs_skew(N=8):
    """A (derived from the Legendre basis) + v v^T / 2 + I / 2, with v_n = sqrt(2n+1): its symmetric part."""
    from .hippo_legs import derive as derive_legs

    A = derive_legs(N)["paper"][0]
    v = sp.Matrix([sp.sqrt(2 * n + 1) for n in range(N)])
    S = sp.simplify(A + v * v.T / 2 + sp.eye(N) / 2)
    return A, v, S


def derive_bilinear_resolvent():
    """(I - z Ab)^{-1} Bb with Ab, Bb the bilinear discretisation of a generic 2x2 (A, B), and its z -> -1 limit."""
    A = _generic("a", 2, 2)
    B = _generic("b", 2, 1)
    z, dt = sp.symbols("z Delta", nonzero=True)
    I = sp.eye(2)
    Ab = (I - dt / 2 * A).inv() * (I + dt / 2 * A)
    Bb = (I - dt / 2 * A).inv() * dt * B
    lhs = (I - z * Ab).inv() * Bb
    g = 2 / dt * (1 - z) / (1 + z)
    rhs = 2 / (1 + z) * (g * I - A).inv() * B
    diff = sp.simplify(lhs - rhs)
    limit = sp.Matrix([sp.limit(sp.simplify(e), z, -1) for e in rhs])
    return diff, limit, dt, B


def derive_dplr_node_limit():
    """Rank-1 DPLR in Cauchy form: 2/(1+z) [k00 - k01 k10/(1+k11)] as z -> -1, two states (generic)."""
    z, dt = sp.symbols("z Delta")
    lam = sp.symbols("lambda0:2")
    p = sp.symbols("p0:2")
    q = sp.symbols("q0:2")
    b = sp.symbols("b0:2")
    c = sp.symbols("c0:2")
    g = 2 / dt * (1 - z) / (1 + z)
    k = lambda x, y: sum(x[n] * y[n] / (g - lam[n]) for n in range(2))  # noqa: E731
    main = 2 / (1 + z) * k(c, b)
    corr = 2 / (1 + z) * k(c, p) * k(q, b) / (1 + k(q, p))
    return sp.limit(main, z, -1), sp.limit(corr, z, -1), dt, b, c


def eigvec_prefactor():
    """|S_{d/3}| = (2m)!^2 / (4m-1)! with m = d/3 equals 4m / binomial(4m, 2m) exactly (gammasimp).

    With Wallis/Stirling, binomial(2n, n) ~ 4^n / sqrt(pi n), this is ~ 4 sqrt(2 pi) m^{3/2} 2^{-4m}:
    a d^{3/2} prefactor, not Su's sqrt(d). check() confirms the limit with exact log-gamma values.
    """
    m = sp.Symbol("m", positive=True, integer=True)
    S = sp.factorial(2 * m) ** 2 / sp.factorial(4 * m - 1)
    ident = sp.gammasimp(S / (4 * m / sp.binomial(4 * m, 2 * m)))
    return S, ident, 4 * sp.sqrt(2 * sp.pi)


def derive():
    """All symbolic results (see the module docstring)."""
    out = {}
    out["woodbury_r1"] = derive_woodbury(3, 1)
    out["woodbury_any_rank"] = derive_woodbury_general()
    out["woodbury_instances"] = [woodbury_rational_instance(5, r, r) for r in (2, 3)]
    out["geometric"] = derive_geometric_series(5)
    out["det"] = derive_det_identity()
    out["legs_skew"] = derive_legs_skew(8)
    out["bilinear"] = derive_bilinear_resolvent()
    out["dplr_limit"] = derive_dplr_node_limit()
    out["prefactor"] = eigvec_prefactor()
    return out


def check():
    """Symbolic identities hold exactly; refimpl's kernel_dplr/nplr agree with them numerically. Returns max error."""
    from refimpl.ssm import ctilde_from_c, discretize, kernel, kernel_dplr, legs, nplr

    d = derive()
    op, wb, Mfull = d["woodbury_r1"]
    require(all(sp.cancel(e) == 0 for e in op - wb), "Woodbury (rank 1) does not match the eliminated solution")
    require(all(sp.cancel(e) == 0 for e in Mfull * wb - sp.eye(3)), "Woodbury (rank 1) is not the inverse")
    raw, reduced, ident = d["woodbury_any_rank"]
    require(reduced == ident, f"Woodbury (any rank) does not reduce to I: {reduced}")
    for wb_r, inv_r in d["woodbury_instances"]:
        require(wb_r == inv_r, "Woodbury differs from the exact inverse on a rational instance")
    lhs, rhs, _, _ = d["geometric"]
    require(sp.simplify(lhs - rhs) == sp.zeros(2, 2), "geometric series does not telescope to I - z^L A^L")
    blk, det_vu, det_uv = d["det"]
    require(sp.expand(blk - det_vu) == 0 and sp.expand(det_uv - det_vu) == 0, "det(I+UV) != det(I+VU)")
    A, v, S = d["legs_skew"]
    require(sp.simplify(S + S.T) == sp.zeros(*S.shape), "LegS A + vv^T/2 + I/2 is not skew-symmetric")
    diff, limit, dt, B = d["bilinear"]
    require(diff == sp.zeros(2, 1), "bilinear resolvent identity fails")
    require(sp.simplify(limit - dt / 2 * B) == sp.zeros(2, 1), "z -> -1 limit is not (dt/2) B")
    main_lim, corr_lim, dt_s, b, c = d["dplr_limit"]
    require(sp.simplify(main_lim - dt_s / 2 * (c[0] * b[0] + c[1] * b[1])) == 0, "DPLR main term limit at z=-1")
    require(sp.simplify(corr_lim) == 0, "the Woodbury correction does not vanish at z=-1")
    _, ident, const = d["prefactor"]
    require(ident == 1, "|S_{d/3}| != 4m / binomial(4m, 2m)")

    worst = 0.0
    # numerics 1: the NPLR of LegS reproduces the derived skew part with P = v / sqrt(2)
    N = 8
    Lam, P, Bv, V = nplr("legs", N)
    A_num = np.array(A.evalf(30).tolist(), dtype=float)
    err = float(np.max(np.abs(V @ (np.diag(Lam) - P @ P.conj().T) @ V.conj().T - A_num)) / np.max(np.abs(A_num)))
    require(err <= 1e-13, f"nplr('legs') reconstruction error {err:.2e}")
    worst = max(worst, err)
    # numerics 2: kernel_dplr (Woodbury + Cauchy + exact z=-1 node) == naive powers; G(-1) == (dt/2) Ct^T B
    for L, dt_v in ((64, 0.05), (257, 0.01), (1024, 0.1)):
        A64, B64 = legs(N)
        C = np.cos(np.arange(N))
        Ab, Bb = discretize(A64, B64, dt_v, "bilinear")
        K0 = kernel(Ab, Bb, C, L)
        Abv, _ = discretize(np.diag(Lam) - P @ P.conj().T, Bv, dt_v, "bilinear")
        Ct = ctilde_from_c(Abv, V.T @ C, L)
        K = kernel_dplr(Lam, P, P, Bv, Ct, dt_v, L)
        err = float(np.max(np.abs(K - K0)) / np.max(np.abs(K0)))
        require(err <= 1e-11, f"kernel_dplr vs naive error {err:.2e} at L={L}")
        worst = max(worst, err)
        if L % 2 == 0:
            G = np.fft.fft(K)[L // 2]
            want = dt_v / 2 * (Ct @ Bv)
            err = float(abs(G - want) / np.max(np.abs(np.fft.fft(K))))
            require(err <= 1e-13, f"G(-1) differs from (dt/2) Ct^T B by {err:.2e}")
            worst = max(worst, err)
    # numerics 3: the prefactor: |S| / (m^{3/2} 2^{-4m}) -> 4 sqrt(2 pi), via log-gamma in 40 digits
    import mpmath

    with mpmath.workdps(40):
        ratios = []
        for mm in (10, 1000, 100000):
            logS = 2 * mpmath.loggamma(2 * mm + 1) - mpmath.loggamma(4 * mm)
            ratios.append(float(mpmath.exp(logS - 1.5 * mpmath.log(mm) + 4 * mm * mpmath.log(2))))
    target = float(const)
    errs = [abs(r / target - 1) for r in ratios]
    require(errs[2] < errs[1] < errs[0] and errs[2] < 1e-5, f"d^(3/2) prefactor not confirmed: {ratios} vs {target}")
    return worst


def main():
    d = derive()
    op, wb, _ = d["woodbury_r1"]
    show("Woodbury, rank 1, derived by eliminating y = V^T x; entry (0, 1) of (M + u v^T)^{-1}", sp.simplify(op[0, 1]))
    raw, reduced, _ = d["woodbury_any_rank"]
    show("any rank, noncommutative: (M + U V^T)(M^-1 - M^-1 U S^-1 V^T M^-1) =", raw)
    show("  with V^T M^-1 U = S - I_r (S = I_r + V^T M^-1 U):", reduced)
    show("Su's (UV)^k: for U (3x1), V (3x1) the product U V is undefined; the series needs (U V^*)^k")
    lhs, rhs, A, z = d["geometric"]
    show("(I - zA) sum_{k<5} z^k A^k  ==  I - z^5 A^5  (entry (0,0), expanded, first terms)",
         sp.Add(*sp.Add.make_args(rhs[0, 0])[:4]))
    blk, dvu, duv = d["det"]
    show("det(I_2 + V U) for U 3x2, V 2x3 (equals det(I_3 + U V) and the block determinant)",
         sp.factor(dvu) if len(str(dvu)) < 400 else sp.Symbol(f"<polynomial with {len(sp.Add.make_args(dvu))} terms>"))
    A, v, S = d["legs_skew"]
    show("LegS: A + v v^T/2 + I/2 (A derived from the Legendre basis), N=8: skew-symmetric", S[:4, :4])
    diff, limit, dt, B = d["bilinear"]
    show("(I - z Ab)^{-1} Bb - 2/(1+z) (g I - A)^{-1} B", diff)
    show("limit z -> -1 of 2/(1+z) (g I - A)^{-1} B", limit)
    main_l, corr_l, *_ = d["dplr_limit"]
    show("z -> -1: main Cauchy term -> ", main_l)
    show("z -> -1: Woodbury correction -> ", corr_l)
    S_, ident, const = d["prefactor"]
    show("|S_{d/3}| = (2m)!^2/(4m-1)! divided by 4m/binomial(4m, 2m)  (m = d/3)", ident)
    show("so |S_{d/3}| / (m^{3/2} 2^{-4m}) -> (Wallis: binomial(2n,n) ~ 4^n/sqrt(pi n))", const)
    print(f"\ncheck(): identities exact; nplr/kernel_dplr numerics max error {check():.2e}")


if __name__ == "__main__":
    main()
