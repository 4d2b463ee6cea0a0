"""Oracle cases of refimpl.ssm (see :mod:`refimpl.testing.oracle`).

Tolerances are norm-wise, ``max|actual - expected| <= atol + rtol max|expected|``,
and hold for any backward-stable implementation (dense matmul, LAPACK solve,
``torch.matrix_exp``), not only for refimpl's own summation order; each
generator's docstring gives the reasoning and the measured errors of such
peers.
"""
from __future__ import annotations

import numpy as np

from ..testing.oracle import register_oracle
from .discretization import discretize
from .hippo import legs, legs_matvec, legs_solve

try:  # the S4 kernels (refimpl.ssm.s4) may be absent on an older tree
    from .s4 import causal_conv, cauchy, kernel_diag, kernel_dplr, scan
except ImportError:  # pragma: no cover
    causal_conv = cauchy = kernel_diag = kernel_dplr = scan = None

_NORMALIZATIONS = ("paper", "su", "integer")


@register_oracle("ssm.legs_matvec", legs_matvec, backends=("numpy", "numba"),
                 tolerances={"float64": (1e-12, 0.0), "float32": (1e-4, 0.0)})
def _legs_matvec(src):
    """``A v`` with the LegS matrix, N in [1, 64], v standard normal.

    Row n is a length-n dot product: forward error <= 2 N u (|A||v|)_n, and
    for these v ``max(|A||v|) <= 8 max|A v|`` (measured; sqrt(N) growth), so
    the norm-wise bound is 2*64*8 u: 2.3e-13 (float64), 1.2e-4 (float32).
    Measured for a dense ``A @ v``: 4e-16 and 3e-7. rtol 1e-12 / 1e-4.
    """
    n = src.integer("N", 1, 64)
    return {"v": src.normal("v", (n,)), "normalization": src.choice("normalization", _NORMALIZATIONS)}


@register_oracle("ssm.legs_solve", legs_solve, backends=("numpy", "numba"),
                 tolerances={"float64": (1e-12, 0.0), "float32": (1e-4, 0.0)})
def _legs_solve(src):
    """Solve ``(I - lam A) z = v``, N in [1, 64], lam log-uniform in [1e-3, 30].

    For lam >= 0 the solve is well conditioned relative to max|z| (refimpl's
    docstring: about 10 N u, tested against a dense triangular solve), so the
    bound is 10*64 u = 1.4e-13 (float64) and 7.6e-5 (float32); rtol 1e-12 / 1e-4.
    Measured for ``scipy.linalg.solve_triangular``: 5e-16 and 5e-7.
    """
    n = src.integer("N", 1, 64)
    return {"v": src.normal("v", (n,)), "lam": src.real("lam", 1e-3, 30.0, log=True),
            "normalization": src.choice("normalization", _NORMALIZATIONS)}


_METHODS = ("zoh", "bilinear", "forward_euler", "backward_euler", "gbt")


@register_oracle("ssm.discretize", discretize, tolerances={"float64": (1e-12, 0.0), "float32": (2e-5, 0.0)})
def _discretize(src):
    """``(Ab, Bb)`` for N in [1, 16], A = LegS or a random stable matrix, B of shape (N,) or (N, 2).

    dt is log-uniform in [1e-3, 0.1], so ||dt A||_2 <= 1.7 and I - alpha dt A
    has condition number below 20: a backward-stable solve or a Pade/Taylor
    ``expm`` is accurate to a few kappa u relative to max|Ab|, i.e. ~1e-14
    (float64) and ~1e-6 (float32). Measured: scipy.signal.cont2discrete 2e-16,
    ``torch.linalg.solve``/``torch.matrix_exp`` in float32 3e-7.
    rtol 1e-12 / 2e-5. (torch 2.13's float64 ``matrix_exp`` fails this case by
    2e-10 on a 2x2 augmented ZOH matrix: its degree-8 Taylor branch has a
    wrong coefficient, pytorch/pytorch#196592.)
    """
    n = src.integer("N", 1, 16)
    if src.choice("A_kind", ("legs", "random")) == "legs":
        A = legs(n)[0]
    else:
        A = src.normal("A", (n, n), scale=1.0 / np.sqrt(n)) - 1.5 * np.eye(n)
    m = src.choice("inputs", (1, 2))
    B = src.normal("B", (n,) if m == 1 else (n, m))
    method = src.choice("method", _METHODS)
    out = {"A": A, "B": B, "dt": src.real("dt", 1e-3, 0.1, log=True), "method": method}
    if method == "gbt":
        out["alpha"] = src.real("alpha", 0.0, 1.0)
    return out


def _stable(src, label, n, max_imag=30.0):
    """Complex eigenvalues with real part in [-1, -0.05] and imaginary part in [-max_imag, max_imag]."""
    g = src.rng(label)
    return -g.uniform(0.05, 1.0, n) + 1j * g.uniform(-max_imag, max_imag, n)


if cauchy is not None:
    @register_oracle("ssm.cauchy", cauchy, backends=("numpy", "numba"),
                     tolerances={"float64": (1e-11, 0.0), "float32": (2e-4, 0.0)})
    def _cauchy(src):
        """r_l = sum_n v_n / (z_l - w_n) (+ the conjugate half with conj=True), v (N,) or (H, N)
        complex normal, poles w with Re in [-1, -0.05], |Im| <= 30, nodes z on the imaginary
        axis |Im| <= 40 (as S4's nodes g = 2/dt (1-omega)/(1+omega)), N, L in [1, 32], H in [1, 3].

        Error <= (N' + 4) u sum_n |v_n/(z_l - w_n)| with N' <= 64 terms (refimpl's
        docstring); for these inputs the sum is at most 20 max|r| (measured over
        3000 examples), so float64 68 * 20 u = 3e-13 relative to max|r|: rtol 1e-11
        leaves room for any summation order (a naive NumPy sum measures 6e-16).
        float32: 68 * 20 * 6e-8 = 8e-5: rtol 2e-4 (naive complex64: 2.3e-7).
        Dropping the conjugate half changes r by O(1).
        """
        N = src.integer("N", 1, 32)
        L = src.integer("L", 1, 32)
        H = src.integer("H", 1, 3) if src.boolean("channels") else None
        shape = (N,) if H is None else (H, N)
        return {"v": src.normal("v", shape, complex=True), "z": 1j * src.uniform("z", (L,), -40.0, 40.0),
                "w": _stable(src, "w", N), "conj": src.choice("conj", (False, True))}

    @register_oracle("ssm.kernel_diag", kernel_diag,
                     tolerances={"float64": (1e-11, 0.0), "float32": (5e-4, 0.0)})
    def _kernel_diag(src):
        """S4D kernel K_j = sum_n C_n Bb_n lambdab_n^j, N in [1, 32], L in [1, 64], Lambda with
        Re in [-1, -0.05], |Im| <= 30 (or S4D-Lin -1/2 + i pi n), B, C complex normal, dt
        log-uniform in [1e-3, 0.1], ZOH or bilinear, full spectrum or half (2 Re).

        Each power lambdab^j has relative error about j u |dt Lambda| + a few ulp
        (refimpl's docstring), |dt Lambda| <= 3 here, so up to 64 * 3 u per term;
        the N-term sum can cancel, sum_n |C_n Bb_n| / max|K| up to about 10 for
        these sizes: float64 2e-12 (measured 1e-13): rtol 1e-11; float32
        (u = 6e-8) 1.2e-4 (measured 6e-5 for a complex64 NumPy port with
        repeated powers): rtol 5e-4.
        """
        N = src.integer("N", 1, 32)
        if src.choice("Lambda_kind", ("random", "s4d_lin")) == "s4d_lin":
            Lam = -0.5 + 1j * np.pi * np.arange(N)
        else:
            Lam = _stable(src, "Lambda", N)
        return {"Lambda": Lam, "B": src.normal("B", (N,), complex=True), "C": src.normal("C", (N,), complex=True),
                "dt": src.real("dt", 1e-3, 0.1, log=True), "L": src.integer("L", 1, 64),
                "method": src.choice("method", ("zoh", "bilinear")), "half": src.choice("half", (False, True))}

    @register_oracle("ssm.kernel_dplr", kernel_dplr, backends=("numpy", "numba"),
                     tolerances={"float64": (1e-10, 0.0), "float32": (2e-3, 0.0)})
    def _kernel_dplr(src):
        """S4 kernel of A = diag(Lambda) - P Q^* (bilinear, Woodbury + Cauchy, inverse FFT),
        N in [1, 16], rank 1 or 2, L in [1, 64], Lambda with Re in [-1, -0.05], |Im| <= 30,
        P, Q complex normal times 0.3 (Q = P as in the HiPPO NPLR, or independent), B, Ct
        complex normal, dt log-uniform in [1e-3, 0.1]; full spectrum or half (real kernel).

        refimpl's stated accuracy is 1e-10 relative to max|K| against the dense
        route (typical 1e-13; the dense route measures 7e-12 here): float64 rtol
        1e-10. In float32 the Woodbury correction 1/(1 + k11), the C-tilde
        solve and the inverse FFT each lose up to a condition number times u;
        the dense route in complex64 measures 1.6e-4: rtol 2e-3.
        """
        N = src.integer("N", 1, 16)
        r = src.integer("rank", 1, 2)
        P = src.normal("P", (N, r), scale=0.3, complex=True)
        Q = P if src.choice("Q_kind", ("equal_P", "independent")) == "equal_P" else src.normal(
            "Q", (N, r), scale=0.3, complex=True)
        if r == 1:
            P, Q = P[:, 0], Q[:, 0]
        return {"Lambda": _stable(src, "Lambda", N), "P": P, "Q": Q, "B": src.normal("B", (N,), complex=True),
                "Ct": src.normal("Ct", (N,), complex=True), "dt": src.real("dt", 1e-3, 0.1, log=True),
                "L": src.integer("L", 1, 64), "half": src.choice("half", (False, True))}


if causal_conv is not None:
    @register_oracle("ssm.causal_conv", causal_conv, tolerances={"float64": (1e-12, 0.0), "float32": (5e-5, 0.0)})
    def _causal_conv(src):
        """y_k = sum_{j<=k} K_j u_{k-j} for u (L_u,) or (H, L_u), K (L_K,), L_u, L_K in [1, 64], H in [1, 3].

        FFT convolution has absolute error about u log2(n) ||K||_2 ||u||_2 (refimpl's
        docstring), n <= 128; relative to max|y| (about ||K||_2 max|u|) that is
        7 u sqrt(L_u) <= 56 u: float64 1.2e-14, rtol 1e-12; float32 3.4e-6, rtol 5e-5.
        A direct sum is more accurate than both.
        """
        Lu = src.integer("L_u", 1, 64)
        LK = src.integer("L_K", 1, 64)
        shape = (Lu,) if not src.boolean("channels") else (src.integer("H", 1, 3), Lu)
        return {"u": src.normal("u", shape), "K": src.normal("K", (LK,))}

    @register_oracle("ssm.scan", scan, backends=("numpy", "numba"),
                     tolerances={"float64": (1e-11, 0.0), "float32": (1e-4, 0.0)})
    def _scan(src):
        """y_k = C x_k, x_k = Ab x_{k-1} + Bb u_k (x_{-1} = 0) for the bilinear LegS system or a
        random contraction (||Ab||_2 <= 0.95), N in [1, 16], L in [1, 64].

        The system is stable, so rounding errors do not grow: each step adds
        about N u relative to the state, and the output sums at most L of them:
        float64 16 * 64 u = 2.3e-13 relative to max|y|, rtol 1e-11 (for
        cancellation in C x); float32 6e-5, rtol 1e-4.
        """
        N = src.integer("N", 1, 16)
        if src.choice("system", ("legs", "random")) == "legs":
            A, B = legs(N)
            Ab, Bb = discretize(A, B, src.real("dt", 1e-3, 0.1, log=True), "bilinear")
        else:
            M = src.normal("Ab", (N, N))
            Ab = 0.95 * M / max(np.linalg.norm(M, 2), 1e-300)
            Bb = src.normal("Bb", (N,))
        return {"Ab": Ab, "Bb": Bb, "C": src.normal("C", (N,)), "u": src.normal("u", (src.integer("L", 1, 64),))}
