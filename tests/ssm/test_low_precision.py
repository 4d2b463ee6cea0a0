"""The bfloat16/float16 tolerances of the ssm case table against torch implementations run in that dtype.

Each implementation below rounds the case's inputs to the dtype (real and
imaginary parts separately) and does all of its arithmetic in the dtype
with torch's own bf16/fp16 CPU ops (matmul, exp, cos/sin, tan, expm1,
conv1d, division); complex numbers are (real, imaginary) pairs because
neither NumPy nor torch's CPU ops have a complex bfloat16. Constant tables
that depend only on L (the S4 nodes, 2/(1 + omega), the DFT matrix) are
computed in float64 and rounded to the dtype once, as a kernel ships them:
evaluated in the dtype, 1 + omega near omega = -1 and tan near pi/2 would
lose ~L u and ~(L/pi)^2 u to cancellation. The reference is
refimpl's definition in float64 on the same rounded inputs. The error,
``max|got - ref|``, must stay below the row's ``atol + rtol max|ref|`` for
every drawn example; the worst ratio is printed (``pytest -s``), the number
quoted in the rows' ``why``.
"""
import math

import numpy as np
import pytest

from refimpl.testing.cases import get_case

torch = pytest.importorskip("torch")

DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16}
EXAMPLES = 40


# ----------------------------------------------------------------------------- complex pairs in the dtype
def _t(x, dt):
    return torch.as_tensor(np.ascontiguousarray(x)).to(dt)


def _pair(x, dt):
    x = np.asarray(x)
    return _t(x.real, dt), _t(x.imag if np.iscomplexobj(x) else np.zeros_like(x.real), dt)


def _round(x, dt):
    """x rounded to the dtype (real and imaginary parts), back in float64/complex128."""
    if isinstance(x, float):
        return float(torch.tensor(x).to(dt).double())
    if not isinstance(x, np.ndarray) or x.dtype.kind not in "fc":
        return x
    re, im = _pair(x, dt)
    out = re.double().numpy()
    return out + 1j * im.double().numpy() if x.dtype.kind == "c" else out


def cmul(a, b):
    return a[0] * b[0] - a[1] * b[1], a[0] * b[1] + a[1] * b[0]


def cdiv(a, b):
    d = b[0] * b[0] + b[1] * b[1]
    return (a[0] * b[0] + a[1] * b[1]) / d, (a[1] * b[0] - a[0] * b[1]) / d


def cadd(a, b):
    return a[0] + b[0], a[1] + b[1]


def csub(a, b):
    return a[0] - b[0], a[1] - b[1]


def conj(a):
    return a[0], -a[1]


def scale(a, s):
    return a[0] * s, a[1] * s


def _np(a):
    return a[0].double().numpy() + 1j * a[1].double().numpy()


def _dft_inverse(G, L, dt):
    """(1/L) sum_l G_l exp(2 pi i l j / L) as a matmul with a table in the dtype."""
    ang = 2 * math.pi * np.outer(np.arange(G[0].shape[-1]), np.arange(L)) / L
    E = (_t(np.cos(ang), dt), _t(np.sin(ang), dt))
    return scale((G[0] @ E[0] - G[1] @ E[1], G[0] @ E[1] + G[1] @ E[0]), 1.0 / L)


# ----------------------------------------------------------------------------- the implementations
def _lp_discretize(dt_, A, B, dt, method, alpha=None):
    two_d = B.ndim == 2
    A, B = _t(A, dt_), _t(B if two_d else B[:, None], dt_)
    N, m = A.shape[0], B.shape[1]
    h = torch.tensor(dt).to(dt_)
    I = torch.eye(N, dtype=dt_)
    if method == "zoh":  # Taylor series of the augmented matrix with scaling and squaring, all in the dtype
        M = torch.zeros((N + m, N + m), dtype=dt_)
        M[:N, :N], M[:N, N:] = A * h, B * h
        s = max(0, math.ceil(math.log2(max(float(M.double().abs().sum(0).max()), 1e-30))) + 1)
        M = M / (2 ** s)
        E, term = torch.eye(N + m, dtype=dt_), torch.eye(N + m, dtype=dt_)
        for k in range(1, 10):
            term = term @ M / k
            E = E + term
        for _ in range(s):
            E = E @ E
        Ab, Bb = E[:N, :N], E[:N, N:]
    else:
        a = {"forward_euler": 0.0, "bilinear": 0.5, "backward_euler": 1.0}.get(method, alpha)
        lhs, rhs = I - a * h * A, torch.cat([I + (1 - a) * h * A, h * B], dim=1)
        for k in range(N):  # Gauss-Jordan without pivoting: I - a dt A is diagonally dominant here
            rhs[k] = rhs[k] / lhs[k, k]
            lhs[k] = lhs[k] / lhs[k, k]
            for i in range(N):
                if i != k:
                    f = lhs[i, k].clone()
                    lhs[i] = lhs[i] - f * lhs[k]
                    rhs[i] = rhs[i] - f * rhs[k]
        Ab, Bb = rhs[:, :N], rhs[:, N:]
    Bb = Bb.double().numpy()
    return Ab.double().numpy(), (Bb if two_d else Bb[:, 0])


def _lp_kernel_diag(dt_, Lambda, B, C, dt, L, method="zoh", half=False):
    batched = Lambda.ndim == 2 or np.ndim(dt) == 1
    Lam2, B2, C2 = (np.atleast_2d(x) for x in (Lambda, B, C))
    dts = np.broadcast_to(np.atleast_1d(dt), (Lam2.shape[0],))
    out = []
    for h in range(Lam2.shape[0]):
        lam, b, c = _pair(Lam2[h], dt_), _pair(B2[h], dt_), _pair(C2[h], dt_)
        d = torch.tensor(float(dts[h])).to(dt_)
        x = scale(lam, d)
        j = torch.arange(L).to(dt_)
        if method == "zoh":
            ex = torch.exp(x[0])
            em1 = (torch.special.expm1(x[0]) * torch.cos(x[1]) - 2 * torch.sin(x[1] / 2) ** 2, ex * torch.sin(x[1]))
            Bb = cmul(cdiv(em1, lam), b)
            mag = torch.exp(x[0][:, None] * j[None, :])
            ph = x[1][:, None] * j[None, :]
            V = (mag * torch.cos(ph), mag * torch.sin(ph))
        else:
            one = torch.ones_like(x[0])
            den = (one - x[0] / 2, -x[1] / 2)
            Ab = cdiv((one + x[0] / 2, x[1] / 2), den)
            Bb = cdiv(scale(b, d), den)
            cols = [(one, torch.zeros_like(one))]
            for _ in range(1, L):
                cols.append(cmul(cols[-1], Ab))
            V = (torch.stack([c_[0] for c_ in cols], 1), torch.stack([c_[1] for c_ in cols], 1))
        coef = cmul(c, Bb)
        K = (coef[0] @ V[0] - coef[1] @ V[1], coef[0] @ V[1] + coef[1] @ V[0])
        out.append(2 * K[0].double().numpy() if half else _np(K))
    return np.array(out) if batched else out[0]


def _lp_kernel_dplr(dt_, Lambda, P, Q, B, Ct, dt, L, half=False):
    lam_nd = Lambda.ndim
    batched = lam_nd == 2 or np.ndim(dt) == 1
    Lam2, B2, C2 = (np.atleast_2d(x) for x in (Lambda, B, Ct))
    P2, Q2 = (x[..., None] if x.ndim == lam_nd else x for x in (P, Q))
    if lam_nd == 1:
        P2, Q2 = P2[None], Q2[None]
    dts = np.broadcast_to(np.atleast_1d(dt), (Lam2.shape[0],))
    r = P2.shape[-1]
    count = L // 2 + 1 if half else L
    l = np.arange(count)
    reg = 2 * l != L
    out = []
    for h in range(Lam2.shape[0]):
        d = torch.tensor(float(dts[h])).to(dt_)
        w = scale(_pair(Lam2[h], dt_), d)
        z = (torch.zeros(int(reg.sum()), dtype=dt_), _t(2 * np.tan(np.pi * l[reg] / L), dt_))  # node table
        left = [_pair(C2[h], dt_)] + [conj(_pair(Q2[h][:, i], dt_)) for i in range(r)]
        right = [_pair(B2[h], dt_)] + [_pair(P2[h][:, i], dt_) for i in range(r)]

        def csum(a, b):
            v = scale(cmul(a, b), d)
            zz = (z[0][:, None], z[1][:, None])
            t = cdiv((v[0][None, :], v[1][None, :]), csub(zz, (w[0][None, :], w[1][None, :])))
            if half:
                t = cadd(t, cdiv((v[0][None, :], -v[1][None, :]), csub(zz, (w[0][None, :], -w[1][None, :]))))
            return t[0].sum(1), t[1].sum(1)

        k = [[csum(a, b) for b in right] for a in left]
        if r == 1:
            res = csub(k[0][0], cdiv(cmul(k[0][1], k[1][0]), cadd((1 + k[1][1][0], k[1][1][1]), (0, 0))))
        else:  # 2 x 2 solve (I + k11) s = k10 by Cramer's rule
            a11, a12 = cadd((1 + k[1][1][0], k[1][1][1]), (0, 0)), k[1][2]
            a21, a22 = k[2][1], (1 + k[2][2][0], k[2][2][1])
            det = csub(cmul(a11, a22), cmul(a12, a21))
            s1 = cdiv(csub(cmul(k[1][0], a22), cmul(a12, k[2][0])), det)
            s2 = cdiv(csub(cmul(a11, k[2][0]), cmul(k[1][0], a21)), det)
            res = csub(k[0][0], cadd(cmul(k[0][1], s1), cmul(k[0][2], s2)))
        two_over = _pair(2.0 / (1.0 + np.exp(-2j * np.pi * l[reg] / L)), dt_)  # table 2 / (1 + omega)
        Gr = cmul(res, two_over)
        G = (torch.zeros(count, dtype=dt_), torch.zeros(count, dtype=dt_))
        G[0][torch.as_tensor(reg)], G[1][torch.as_tensor(reg)] = Gr
        if not reg.all():
            s = cmul(_pair(C2[h], dt_), _pair(B2[h], dt_))
            s = (s[0].sum(), s[1].sum())
            G[0][L // 2], G[1][L // 2] = (d / 2 * 2 * s[0], torch.zeros((), dtype=dt_)) if half else scale(s, d / 2)
        if half:  # Hermitian extension, then the real part of the inverse DFT
            idx = np.arange(L)
            src = np.where(idx < count, idx, L - idx)
            sign = torch.as_tensor(np.where(idx < count, 1.0, -1.0)).to(dt_)
            G = (G[0][src], G[1][src] * sign)
            out.append(_dft_inverse(G, L, dt_)[0].double().numpy())
        else:
            out.append(_np(_dft_inverse(G, L, dt_)))
    return np.array(out) if batched else out[0]


def _lp_scan(dt_, Ab, Bb, C, u):
    Ab, Bb, C, u = (_t(x, dt_) for x in (Ab, Bb, C, u))
    x = torch.zeros(Ab.shape[0], dtype=dt_)
    y = []
    for k in range(u.shape[0]):
        x = Ab @ x + Bb * u[k]
        y.append(C @ x)
    return torch.stack(y).double().numpy()


def _lp_causal_conv(dt_, u, K):
    u2 = _t(np.atleast_2d(u), dt_)[:, None, :]
    w = _t(K[::-1].copy(), dt_)[None, None, :]
    y = torch.nn.functional.conv1d(torch.nn.functional.pad(u2, (K.shape[0] - 1, 0)), w)[:, 0, :]
    y = y.double().numpy()
    return y if np.ndim(u) == 2 else y[0]


IMPLS = {"ssm.discretize": _lp_discretize, "ssm.kernel_diag": _lp_kernel_diag, "ssm.kernel_dplr": _lp_kernel_dplr,
         "ssm.scan": _lp_scan, "ssm.causal_conv": _lp_causal_conv}

@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("name", list(IMPLS))
def test_low_precision_tolerance_holds_for_torch_in_that_dtype(name, dtype):
    case = get_case(name)
    rtol, atol = case.tolerance(dtype)
    torch.set_num_threads(1)
    worst = 0.0
    for args, kwargs, drawn in case.examples(EXAMPLES):
        args = [(n, _round(v, DTYPES[dtype])) for n, v in args]
        kwargs = {k: _round(v, DTYPES[dtype]) for k, v in kwargs.items()}
        refs = case.call(args, kwargs)
        gots = IMPLS[name](DTYPES[dtype], *[v for _, v in args], **kwargs)
        refs, gots = (x if isinstance(x, tuple) else (x,) for x in (refs, gots))
        ratio = 0.0
        for got, ref in zip(gots, refs):
            assert np.shape(got) == np.shape(ref), drawn
            ratio = max(ratio, float(np.max(np.abs(got - ref))) / (atol + rtol * float(np.max(np.abs(ref)))))
        worst = max(worst, ratio)
    assert worst <= 1.0, (name, dtype, worst)
    print(f"{name} {dtype}: worst error / tolerance {worst:.3f}")
