r"""The definitions of refimpl.muon: plain NumPy, each equation above its code.

``backend="reference"`` runs these. The fast paths (``_fast.py``: numba and
the tuned NumPy arrangement; ``_xp.py``: the batched code CuPy runs) are
tested against them. Inputs arrive validated by the public functions.

References
----------
.. [KJ] K. Jordan, https://github.com/KellerJordan/Muon, ``muon.py``
   (``zeropower_via_newtonschulz5``)
.. [10592] Su Jianlin, https://kexue.fm/archives/10592
.. [10922] Su Jianlin, https://kexue.fm/archives/10922
"""
from __future__ import annotations

import numpy as np

__all__ = ["denominator", "kappa_loss_grad", "kappa_sgd", "msign_svd", "newton_schulz", "prescale", "scale_nu"]

_EPS64 = np.finfo(np.float64).eps


# ---------------------------------------------------------------------------------------- Newton--Schulz

def denominator(norm, sumsq, eps, eps_mode, xp=np, rnd=None):
    r"""The normaliser of :math:`X_0 = M / d` under each public eps convention.

    ``"add"``: :math:`d = \|M\|_F + \epsilon` (KellerJordan, Moonlight, optax);
    ``"clamp"``: :math:`d = \max(\|M\|_F, \epsilon)` (torch.optim.Muon);
    ``"add_squared"``: :math:`d = \sqrt{\|M\|_F^2 + \epsilon}` (Su's code).
    ``d = 0`` (a zero matrix with eps = 0) becomes 1, so msign(0) = 0.
    ``rnd`` rounds each intermediate (the bf16 emulation); ``xp`` is NumPy or CuPy.
    """
    r = (lambda z: z) if rnd is None else rnd
    if eps_mode == "add":
        den = r(norm + eps)
    elif eps_mode == "clamp":
        den = xp.maximum(norm, norm.dtype.type(eps))
    else:  # add_squared
        den = r(xp.sqrt(r(sumsq + eps)))
    return xp.where(den == 0, 1, den).astype(norm.dtype)


def scale_nu(s4, eps, eps_mode, dtype, xp=np, rnd=None):
    r"""Su's improved first step: :math:`\nu = \|(X_0X_0^\top)^2\|_F^{1/4}` from ``s4`` = its squared norm, eps applied."""
    r = (lambda z: z) if rnd is None else rnd
    nu = r(xp.sqrt(xp.sqrt(xp.sqrt(s4))))
    if eps_mode == "add":
        nu = r(nu + eps)
    elif eps_mode == "clamp":
        nu = xp.maximum(nu, dtype.type(eps))
    else:
        nu = r(xp.sqrt(xp.sqrt(xp.sqrt(r(s4 + eps)))))
    return xp.where(nu == 0, 1, nu).astype(dtype)


def prescale(M, xp=np):
    r"""``M`` times the power of two that puts :math:`\|M\|_F` in [1, 2) (exact), for the matrices
    with :math:`\|M\|_F < 1` or :math:`\max|M| \ge 2^{40}`; other matrices are returned as they are."""
    amax = xp.max(xp.abs(M), axis=(-2, -1), keepdims=True)
    _, e = xp.frexp(amax)  # amax = m 2^e, m in [0.5, 1)
    M1 = xp.ldexp(M, -e)
    f1 = xp.sqrt(xp.sum(M1 * M1, axis=(-2, -1), keepdims=True))  # ||M||_F = f1 2^e
    _, e2 = xp.frexp(f1)
    keep = ((f1 * 2.0**e >= 1.0) & (amax < 2.0**40)) | (amax == 0)
    shift = xp.where(keep, 0, 1 - e2 - e).astype(e.dtype)
    if not bool(xp.any(shift)):
        return M
    return xp.ldexp(M, shift)


def newton_schulz(G, sched, eps, normalization, eps_mode, transpose_tall, use_prescale, dtype):
    r"""KellerJordan's loop [KJ]_, written plainly, with refimpl's options.

    .. math::

        X_0 = G / (\|G\|_F + \epsilon), \qquad A = X X^\top,\qquad
        X \leftarrow a X + (b A + c A^2) X \quad\text{for each row } (a, b, c) \text{ of ``sched``}.

    ``G`` (..., n, m) float64; computed in ``dtype`` (float64 or float32).
    """
    X = prescale(G) if use_prescale else G
    X = X.astype(dtype)
    mT = lambda Z: np.swapaxes(Z, -1, -2)  # noqa: E731
    tall = transpose_tall and X.shape[-2] > X.shape[-1]
    if tall:  # iterate on the wide side: the Gram matrix A is the small one
        X = mT(X)
    sumsq = np.sum(X * X, axis=(-2, -1), keepdims=True)
    X = X / denominator(np.sqrt(sumsq), sumsq, eps, eps_mode)  # X_0 = G / (||G||_F + eps)
    for t, (a, b, c) in enumerate(sched):
        a, b, c = (X.dtype.type(v) for v in (a, b, c))
        A = X @ mT(X)  # A = X X^T
        AA = A @ A
        if t == 0 and normalization == "su_improved":
            # [10922]: divide by nu = ||A^2||_F^(1/4) = ||sigma||_8 / ||sigma||_2 before the first step
            nu = scale_nu(np.sum(AA * AA, axis=(-2, -1), keepdims=True), eps, eps_mode, X.dtype)
            X, A, AA = X / nu, A / nu**2, AA / nu**4
        B = b * A + c * AA  # B = b A + c A^2
        X = a * X + B @ X  # X = a X + B X
    if tall:
        X = mT(X)
    return np.ascontiguousarray(X)


# ---------------------------------------------------------------------------------------- msign

def msign_svd(M, rtol=None):
    r""":math:`\operatorname{msign}(M) = U_{[:, :r]} V_{[:, :r]}^\top` from ``numpy.linalg.svd``.

    The rank :math:`r` counts singular values above ``rtol * sigma_max``
    (default ``max(n, m) * eps``, as ``numpy.linalg.matrix_rank``).
    """
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    tol = (max(M.shape[-2:]) * _EPS64 if rtol is None else rtol) * s[..., :1]
    keep = (s > tol).astype(np.float64)  # 1 on the first r singular values, 0 after
    return (U * keep[..., None, :]) @ Vt


# ---------------------------------------------------------------------------------------- the kappa fit

def kappa_loss_grad(p, data, T):
    r"""Loss :math:`\frac1N\sum_i (x_{T,i} - 1)^2` of Su's :math:`\kappa` map [10592]_ and its gradient.

    .. math::

        g(x) = x + \kappa x (x^2 - x_1^2)(x^2 - x_2^2) = a x + b x^3 + c x^5,\quad
        (a, b, c) = (1 + \kappa x_1^2 x_2^2,\ -\kappa(x_1^2 + x_2^2),\ \kappa).

    The gradient is taken in :math:`(a, b, c)` by forward differentiation of
    :math:`x_{t+1} = a x_t + b x_t^3 + c x_t^5`, then mapped to
    :math:`(\kappa, x_1, x_2)` by the Jacobian of the map above (chain rule).
    Returns ``(loss, grad)`` with ``grad`` of shape (3,).
    """
    kappa, x1, x2 = p
    a, b, c = 1.0 + kappa * x1**2 * x2**2, -kappa * (x1**2 + x2**2), kappa
    x = np.array(data, dtype=np.float64)
    dx = np.zeros((3,) + x.shape)  # d x_t / d(a, b, c)
    for _ in range(T):
        slope = a + 3.0 * b * x**2 + 5.0 * c * x**4  # g'(x_t)
        dx = slope * dx + np.stack([x, x**3, x**5])
        x = a * x + b * x**3 + c * x**5
    r = x - 1.0
    loss = np.mean(r * r)
    grad_abc = 2.0 * np.mean(r * dx, axis=1)
    # d(a, b, c) / d(kappa, x1, x2)
    J = np.array([[x1**2 * x2**2, 2.0 * kappa * x1 * x2**2, 2.0 * kappa * x1**2 * x2],
                  [-(x1**2 + x2**2), -2.0 * kappa * x1, -2.0 * kappa * x2],
                  [1.0, 0.0, 0.0]])
    return float(loss), grad_abc @ J


def kappa_sgd(p0, data, T, lr, beta, iterations):
    r"""Momentum SGD of [10592]_: :math:`u \leftarrow \beta u + \nabla L(p)`, :math:`p \leftarrow p - \eta u`."""
    p = np.array(p0, dtype=np.float64)
    u = np.zeros(3)
    for _ in range(iterations):
        _, g = kappa_loss_grad(p, data, T)
        u = beta * u + g
        p = p - lr * u
    return p
