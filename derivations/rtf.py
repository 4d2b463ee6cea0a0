r"""The RTF view: kernel index, rational generating function, companion form, stability lemma.

Su Jianlin, "重温SSM（四）：有理生成函数的新视角", https://kexue.fm/archives/10180
(and the convolution of https://kexue.fm/archives/10162).

1. Convolution index: unrolling :math:`x_k=\bar Ax_{k-1}+\bar Bu_k`,
   :math:`y_k = C^\top x_k` from :math:`x_{-1}=0` gives
   :math:`y_k=\sum_{j=0}^{k}K_ju_{k-j}` (Su writes :math:`u_{L-k}` for the last
   output, where :math:`u_{L-1-k}` is meant).
2. Rational form: :math:`\tilde C^\top(I-z\bar A)^{-1}\bar B\cdot\det(I-z\bar A)`
   is a polynomial of degree d-1, and, by :math:`\det(I+UV)=\det(I+VU)` with
   :math:`U = z(I-z\bar A)^{-1}\bar B`, :math:`V=\tilde C^\top`,
   :math:`z\,b(z) = \det(I-z\bar A+z\bar B\tilde C^\top)-\det(I-z\bar A)`.
3. Companion: :math:`\det(\lambda I - \bar A)` of Su's flipped companion
   matrix is :math:`\lambda^d + a_1\lambda^{d-1}+\dots+a_d`, and with
   :math:`\bar B=e_1`, :math:`\tilde C=b` its generating function is :math:`b(z)/a(z)`.
4. Stability lemma: for :math:`|z|>1`,
   :math:`|z^d+\sum a_iz^{d-i}|\ge|z|^d(1-\sum|a_i||z|^{-i})>|z|^d(1-\sum|a_i|)`,
   so :math:`\sum|a_i|<1` leaves no root outside the unit disk.

Run ``refimpl derive rtf`` to print it.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from ._util import require, show

TOPIC = "ssm"

z, lam = sp.symbols("z lambda")


def derive_convolution_index(L=4):
    """Unroll the recurrence symbolically: y_k as a combination of u_0..u_k with K_j = C^T A^j B coefficients."""
    a, b, c = sp.symbols("a b c")  # scalar system suffices for the index pattern
    u = sp.symbols(f"u0:{L}")
    x = 0
    ys = []
    for k in range(L):
        x = a * x + b * u[k]
        ys.append(sp.expand(c * x))
    K = [c * a**j * b for j in range(L)]
    conv = [sp.expand(sum(K[j] * u[k - j] for j in range(k + 1))) for k in range(L)]
    su = sp.expand(sum(K[k] * u[L - k] for k in range(1, L)))  # Su's index u_{L-k}: has no u_0 term at all
    return ys, conv, su, u


def derive_rational_form(d=3):
    """Generic d x d (Ab, Bb, Ct): numerator polynomial and the determinant identity."""
    Ab = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"a{i}{j}"))
    Bb = sp.Matrix(d, 1, lambda i, j: sp.Symbol(f"b{i}"))
    Ct = sp.Matrix(d, 1, lambda i, j: sp.Symbol(f"c{i}"))
    I = sp.eye(d)
    den = sp.expand((I - z * Ab).det())
    num = sp.expand((Ct.T * (I - z * Ab).adjugate() * Bb)[0])  # G * det = C^T adj(I - zA) B
    via_det = sp.expand((I - z * Ab + z * Bb * Ct.T).det() - den)
    return num, den, via_det, Ab


def derive_companion(d=4):
    """det(lambda I - companion(a)) and the transfer function of (companion(a), e_1, b), symbolic a, b."""
    a = sp.symbols(f"a1:{d + 1}")
    b = sp.symbols(f"b1:{d + 1}")
    M = sp.zeros(d, d)
    for j in range(d):
        M[0, j] = -a[j]
    for i in range(1, d):
        M[i, i - 1] = 1
    charpoly = sp.expand((lam * sp.eye(d) - M).det())
    e1 = sp.Matrix([1] + [0] * (d - 1))
    G = sp.simplify((sp.Matrix([b]) * (sp.eye(d) - z * M).inv() * e1)[0])
    target = sum(b[j] * z**j for j in range(d)) / (1 + sum(a[j] * z ** (j + 1) for j in range(d)))
    return M, charpoly, G, target, a, b


def derive_stability_bound(d=3):
    """Triangle-inequality bound |p(z)| >= |z|^d (1 - sum |a_i| |z|^-i), checked as an identity in |z| = R."""
    R = sp.Symbol("R", positive=True)
    s = sp.symbols(f"s1:{d + 1}", nonnegative=True)  # s_i = |a_i|
    lower = R**d - sum(s[i] * R ** (d - 1 - i) for i in range(d))
    # lower = R^d (1 - sum s_i R^-i) >= R^d (1 - sum s_i) when R > 1
    gap = sp.expand(lower - R**d * (1 - sum(s)))
    return lower, gap, R, s


def derive():
    return {
        "index": derive_convolution_index(4),
        "rational": derive_rational_form(3),
        "companion": derive_companion(4),
        "stability": derive_stability_bound(3),
    }


def check():
    """Identities exact; refimpl's rtf_from_ssm / rtf_kernel / companion agree with exact rational algebra."""
    from refimpl.ssm import causal_conv, companion, kernel, rtf_from_ssm, rtf_kernel, scan

    d = derive()
    ys, conv, su, u = d["index"]
    require(all(sp.expand(p - q) == 0 for p, q in zip(ys, conv)), "recurrence != causal convolution with index k-j")
    require(sp.expand(su).coeff(u[0]) == 0, "Su's u_{L-k} index should miss u_0 (an off-by-one)")
    num, den, via_det, Ab = d["rational"]
    nd = Ab.shape[0]
    require(sp.Poly(num, z).degree() <= nd - 1, "numerator degree exceeds d-1")
    require(sp.expand(via_det - z * num) == 0, "z b(z) != det(I - zA + z B C^T) - det(I - zA)")
    require(sp.expand(den - (sp.eye(nd) - z * Ab).det()) == 0, "denominator")
    M, charpoly, G, target, a, b = d["companion"]
    dd = len(a)
    require(sp.expand(charpoly - (lam**dd + sum(a[j] * lam ** (dd - 1 - j) for j in range(dd)))) == 0,
            "companion characteristic polynomial")
    require(sp.simplify(G - target) == 0, "companion transfer function != b(z)/a(z)")
    lower, gap, R, s = d["stability"]
    # gap = sum s_i (R^d - R^(d-1-i)) ... >= 0 for R >= 1: each term s_i R^(d-1-i) (R^(i+1) - 1) >= 0
    ds = len(s)
    require(sp.expand(gap - sum(s[i] * R ** (ds - 1 - i) * (R ** (i + 1) - 1) for i in range(ds))) == 0,
            "stability bound algebra")

    worst = 0.0
    # numerics: an exact rational 4-state system; a, b from SymPy vs rtf_from_ssm
    rng = np.random.default_rng(5)
    n = 4
    Aq = sp.Matrix(n, n, [sp.Rational(int(x), 10) for x in rng.integers(-3, 4, n * n)])
    Bq = sp.Matrix([sp.Rational(int(x), 3) for x in rng.integers(-3, 4, n)])
    Cq = sp.Matrix([sp.Rational(int(x), 7) for x in rng.integers(-3, 4, n)])
    den_q = sp.Poly(sp.expand((sp.eye(n) - z * Aq).det()), z).all_coeffs()[::-1]
    num_q = sp.Poly(sp.expand((Cq.T * (sp.eye(n) - z * Aq).adjugate() * Bq)[0]), z).all_coeffs()[::-1]
    a_exact = np.array([float(x) for x in den_q[1:]] + [0.0] * (n + 1 - len(den_q)))
    b_exact = np.array([float(x) for x in num_q] + [0.0] * (n - len(num_q)))
    A64, B64, C64 = (np.array(M_.evalf(), dtype=float).reshape(M_.shape) for M_ in (Aq, Bq, Cq))
    a_r, b_r = rtf_from_ssm(A64, B64[:, 0], C64[:, 0])
    err = max(float(np.max(np.abs(a_r - a_exact))), float(np.max(np.abs(b_r - b_exact))))
    require(err <= 1e-14, f"rtf_from_ssm vs exact coefficients: {err:.2e}")
    worst = max(worst, err)
    require(np.max(np.abs(np.linalg.eigvals(A64))) < 1, "test system should be stable")
    L = 64
    K0 = kernel(A64, B64[:, 0], C64[:, 0], L)
    a_L, b_L = rtf_from_ssm(A64, B64[:, 0], C64[:, 0], L=L)
    err = float(np.max(np.abs(rtf_kernel(a_L, b_L, L) - K0)) / np.max(np.abs(K0)))
    require(err <= 1e-13, f"rtf_kernel vs naive {err:.2e}")
    worst = max(worst, err)
    # companion charpoly numerically, and recurrence == convolution
    err = float(np.max(np.abs(np.poly(companion(a_exact))[1:] - a_exact)))
    require(err <= 1e-13, f"companion charpoly {err:.2e}")
    worst = max(worst, err)
    uu = np.sin(np.arange(L))
    y1 = scan(A64, B64[:, 0], C64[:, 0], uu)
    err = float(np.max(np.abs(y1 - causal_conv(uu, K0))) / np.max(np.abs(y1)))
    require(err <= 1e-13, f"scan vs causal_conv {err:.2e}")
    return max(worst, err)


def main():
    d = derive()
    ys, conv, su, u = d["index"]
    show("y_3 from the recurrence x_k = a x_{k-1} + b u_k, y_k = c x_k", ys[3])
    show("sum_{j<=3} K_j u_{3-j} with K_j = c a^j b", conv[3])
    show("Su's sum_k K_k u_{L-k} (L=4): shifted by one, no u_0", su)
    num, den, via_det, _ = d["rational"]
    show("det(I - z A) for generic 3x3 A: degree", sp.Poly(den, z).degree())
    show("C^T adj(I - zA) B: degree", sp.Poly(num, z).degree())
    show("det(I - zA + z B C^T) - det(I - zA) - z * numerator", sp.expand(via_det - z * num))
    M, charpoly, G, target, a, b = d["companion"]
    show("Su's companion matrix (d=4)", M)
    show("det(lambda I - companion)", charpoly)
    show("e_1-input, b-output transfer function", G)
    lower, gap, R, s = d["stability"]
    show("|z|=R: lower bound R^d - sum s_i R^(d-1-i) minus R^d (1 - sum s_i)  (>= 0 for R >= 1)", sp.factor(gap))
    print(f"\ncheck(): all identities exact; numerics max error {check():.2e}")


if __name__ == "__main__":
    main()
