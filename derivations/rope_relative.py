r"""RoPE's relative-position identity, the ReRoPE/Leaky ReRoPE pass-2 identities, and Abel summation.

Derived here, with symbolic angles (https://kexue.fm/archives/8265, 9708):

1. From the block matrix :math:`\mathcal R_m = \mathrm{diag}(\rho(m\theta_i))`
   with :math:`\rho(\phi)` the 2x2 rotation, expand
   :math:`\mathcal R_m^\top\mathcal R_n` with the angle-addition formulas and
   obtain :math:`\mathcal R_{n-m}` entry by entry (symbolic :math:`m, n,
   \theta_i`, ``d = 6``), plus :math:`\mathcal R_m^\top\mathcal R_m = I`.
2. ReRoPE pass 2: :math:`(\mathcal R_w q)^\top k = q^\top\mathcal R_{-w}k`,
   so the article's :math:`q^\top\mathcal R_w k` has the wrong sign (erratum);
   Leaky pass 2: :math:`(\mathcal R_{(i-w)/k+w}q)^\top(\mathcal R_{j/k}k) =
   q^\top\mathcal R_{(j-i+w)/k-w}k`, and Su's code placement
   (``q`` at ``pos + w(k-1)``, linear scaling by ``k``) gives the same relative
   position :math:`w + (i-j-w)/k`.
3. Abel summation by parts for ``d/2 = 4`` pairs with symbolic complex
   :math:`h_i` and unit phases: :math:`\sum h_i(S_{i+1}-S_i) = -\sum
   S_{i+1}(h_{i+1}-h_i)` with :math:`h_{d/2}=0`, :math:`S_0=0`.

``check()`` then compares with refimpl: ``rotation_matrix`` products,
``rerope_scores`` vs the identity-based scores, ``abel_bound``.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from ._util import require, show

TOPIC = "rope"
D = 6


def _rot(phi):
    return sp.Matrix([[sp.cos(phi), -sp.sin(phi)], [sp.sin(phi), sp.cos(phi)]])


def rope_matrix(m, thetas):
    """The interleaved block-diagonal R_m with symbolic angles."""
    return sp.diag(*[_rot(m * t) for t in thetas])


def derive():
    """Return the derived identities as a dict of SymPy objects (each difference simplifies to 0)."""
    m, n, w, kk, i, j = sp.symbols("m n w k i j", real=True)
    thetas = sp.symbols(f"theta0:{D // 2}", positive=True)
    Rm, Rn = rope_matrix(m, thetas), rope_matrix(n, thetas)
    product = (Rm.T * Rn).applyfunc(lambda e: sp.simplify(sp.expand_trig(sp.trigsimp(e))))
    target = rope_matrix(n - m, thetas)
    rel_diff = (product - target).applyfunc(lambda e: sp.simplify(sp.expand_trig(e) - 0))
    rel_diff = rel_diff.applyfunc(lambda e: sp.simplify(sp.expand(sp.expand_trig(e))))
    orth = (Rm.T * Rm).applyfunc(sp.simplify)
    # ReRoPE / Leaky pass 2: (R_a q)^T (R_b k) = q^T R_(b-a) k, by the identity above
    # ReRoPE: a = w, b = 0. Substitute into the derived product and read off the angle of block 0.
    pass2 = r_pass2 = (rope_matrix(w, thetas).T * rope_matrix(0, thetas)).applyfunc(sp.simplify)
    rerope_exponent = -w if pass2 == rope_matrix(-w, thetas) else None
    leaky_exponent = sp.simplify(j / kk - ((i - w) / kk + w))     # a = (i-w)/k + w, b = j/k
    su_code_rel = sp.simplify((i + w * (kk - 1)) / kk - j / kk)   # code: q at pos + w(k-1), all / k
    # Abel summation by parts with h_(d/2) = 0, S_0 = 0
    H = D // 2
    h = list(sp.symbols(f"h0:{H}")) + [sp.Integer(0)]
    e = sp.symbols(f"e0:{H}")
    S = [sp.Integer(0)]
    for t in range(H):
        S.append(S[-1] + e[t])
    lhs = sum(h[t] * (S[t + 1] - S[t]) for t in range(H))
    rhs = -sum(S[t + 1] * (h[t + 1] - h[t]) for t in range(H))
    return {
        "product": product, "target": target, "relative_difference": rel_diff, "orthogonality": orth,
        "rerope_pass2": r_pass2, "rerope_pass2_exponent": rerope_exponent, "leaky_pass2_exponent": leaky_exponent,
        "leaky_rel_from_su_code": su_code_rel, "abel_lhs": lhs, "abel_rhs": rhs,
        "abel_difference": sp.expand(lhs - rhs), "symbols": (m, n, w, kk, i, j, thetas),
    }


def check():
    """Verify the identities exactly, then refimpl's numerics against them; return the max error."""
    from refimpl.rope import abel_bound, inv_freq, relative_positions, rerope_scores, rotation_matrix

    r = derive()
    m, n, w, kk, i, j, thetas = r["symbols"]
    require(r["relative_difference"] == sp.zeros(D, D), "R_m^T R_n != R_(n-m)")
    require(r["orthogonality"] == sp.eye(D), "R_m is not orthogonal")
    require(sp.simplify(r["leaky_pass2_exponent"] - ((j - i + w) / kk - w)) == 0,
            "Leaky pass-2 exponent is not (j - i + w)/k - w")
    # relative position rho with score q^T R_(-rho) k:  rho = -exponent
    require(sp.simplify(-r["leaky_pass2_exponent"] - (w + (i - j - w) / kk)) == 0, "Leaky rho != w + (i-j-w)/k")
    require(sp.simplify(r["leaky_rel_from_su_code"] - (w + (i - j - w) / kk)) == 0, "Su's code placement differs")
    require(sp.limit(w + (i - j - w) / kk, kk, sp.oo) == w, "Leaky -> ReRoPE as k -> oo fails")
    require(sp.simplify((w + (i - j - w) / kk).subs(kk, 1) - (i - j)) == 0, "Leaky with k = 1 is not RoPE")
    require(r["rerope_pass2"] == rope_matrix(-w, thetas), "ReRoPE pass 2 (R_w q)^T k is not q^T R_(-w) k")
    require(r["rerope_pass2"] != rope_matrix(w, thetas), "the article's q^T R_w k would be right")
    require(r["abel_difference"] == 0, "Abel summation by parts fails")

    rng = np.random.default_rng(0)
    th = inv_freq(D, 100.0)
    worst = 0.0
    # numeric: rotation_matrix products (group law) at random real positions
    for _ in range(5):
        a, b = rng.uniform(-50, 50, 2)
        for layout in ("interleaved", "half"):
            err = np.max(np.abs(rotation_matrix(a, th, layout).T @ rotation_matrix(b, th, layout)
                                - rotation_matrix(b - a, th, layout)))
            require(err < 1e-13, f"rotation_matrix group law error {err:.2e}")
            worst = max(worst, float(err))
        sym = r["target"].subs({m: a, n: b}).subs(dict(zip(thetas, th)))
        err = np.max(np.abs(np.array(sym.evalf(), dtype=float) - rotation_matrix(b - a, th)))
        worst = max(worst, float(err))
    # numeric: ReRoPE scores from the identity q_i^T R_(-rho_ij) k_j, rho from relative_positions
    L, win, fac = 9, 3, 2.5
    q, k = rng.standard_normal((2, L, D))
    for factor, method in ((None, "rerope"), (fac, "leaky_rerope")):
        rho = relative_positions(L, method, window=win, factor=factor)
        ref = np.array([[q[a] @ rotation_matrix(-rho[a, b], th) @ k[b] for b in range(L)] for a in range(L)])
        got = rerope_scores(q, k, th, win, factor, layout="interleaved")
        err = float(np.max(np.abs(got - ref)))
        require(err < 1e-12, f"rerope_scores({method}) differs from q^T R_(-rho) k by {err:.2e}")
        worst = max(worst, err)
    # numeric: the Abel identity and bound through refimpl.abel_bound
    qv, kv = rng.standard_normal((2, D))
    h = (qv[0::2] + 1j * qv[1::2]) * np.conj(kv[0::2] + 1j * kv[1::2])
    for dist in (0.0, 3.0, 40.0):
        ph = np.exp(1j * dist * th)
        S = np.concatenate([[0], np.cumsum(ph)])
        hh = np.append(h, 0)
        lhs = np.sum(h * ph)
        rhs = -np.sum(S[1:] * (hh[1:] - hh[:-1]))
        exact, bound = abel_bound(qv, kv, dist, th)
        err = max(abs(lhs - rhs), abs(abs(lhs) - float(exact)))
        require(err < 1e-13 and bound >= exact, f"Abel identity/bound fails at distance {dist}")
        worst = max(worst, float(err))
    return worst


def main():
    """Print the derivation and run the checks."""
    r = derive()
    show("R_m^T R_n (d = 6, symbolic angles), simplified", r["product"][:2, :2])
    show("equals R_(n-m); difference", r["relative_difference"][:2, :2])
    show("ReRoPE pass 2: R_w^T R_0 (first block) -- a rotation by -w theta_0, i.e. q^T R_(-w) k",
         r["rerope_pass2"][:2, :2])
    show("Leaky pass 2 exponent j/k - ((i-w)/k + w) =", r["leaky_pass2_exponent"])
    show("Su's code placement: relative position =", r["leaky_rel_from_su_code"])
    show("Abel: sum h_i (S_(i+1) - S_i)", r["abel_lhs"])
    show("    = -sum S_(i+1) (h_(i+1) - h_i); difference", r["abel_difference"])
    print(f"\ncheck(): max numerical error {check():.3e}")


if __name__ == "__main__":
    main()
