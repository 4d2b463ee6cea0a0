r"""S4 and S4D: convolution kernels five ways, the Cauchy kernel, convolution and recurrence.

Sources: Su Jianlin, "重温SSM（三）：HiPPO的高效计算（S4）",
https://kexue.fm/archives/10162; Gu, Goel, Ré, "Efficiently Modeling Long
Sequences with Structured State Spaces" (S4), https://arxiv.org/abs/2111.00396;
Gu, Gupta, Goel, Ré, "On the Parameterization and Initialization of Diagonal
State Space Models" (S4D), https://arxiv.org/abs/2206.11893.

Conventions used throughout (see Notes of each function):

* the discrete system is :math:`x_k = \bar A x_{k-1} + \bar B u_k`,
  :math:`x_{-1}=0`, :math:`y_k = C^\top x_k` (``sum(C * x)``, **no complex
  conjugate**, as the state-spaces/s4 code contracts). Su writes
  :math:`C^*x`; pass ``C.conj()`` to get his convention.
* the kernel is :math:`K_j = C^\top \bar A^j \bar B`, :math:`j=0..L-1`, and
  :math:`y_k = \sum_{j=0}^{k} K_j u_{k-j}` (Su's text has :math:`u_{L-k}`
  where :math:`u_{L-1-k}` is meant; ERRATA.md).
* the trained :math:`\tilde C = (I - \bar A^L)^\top C` (s4 ``_setup_C``).
"""
from __future__ import annotations

import numbers

import numpy as np
import scipy.fft
import scipy.linalg

from .._backend import get_array_module, is_cupy_array, pick
from .._gpu import device_module, to_host
from .._validation import ArgumentTypeError, as_array, check_bool, check_choice, check_int, check_real, check_size
from . import _fast, _xp, reference

__all__ = [
    "KERNEL_METHODS", "DIAG_METHODS", "kernel", "kernel_dplr", "kernel_diag", "cauchy", "causal_conv", "scan",
    "ctilde_from_c", "c_from_ctilde", "dplr_discretize", "dplr_step", "dplr_scan",
]

#: ``method`` names of :func:`kernel`.
KERNEL_METHODS = ("naive", "generating")
#: ``method`` names of :func:`kernel_diag`.
DIAG_METHODS = ("zoh", "bilinear")


# ----------------------------------------------------------------------------- validation helpers
def _square(A, name):
    A = as_array(A, name, ndim=2, allow_complex=True)
    if A.shape[0] != A.shape[1] or A.shape[0] == 0:
        raise ValueError(f"parameter '{name}' must be a non-empty square matrix, got shape {A.shape}")
    return A


def _vec(x, name, n=None):
    x = as_array(x, name, ndim=1, allow_complex=True, min_size=1)
    if n is not None and x.shape[0] != n:
        raise ValueError(f"parameter '{name}' must have shape ({n},) to match the state size, got {x.shape}")
    return x


def _system(Ab, Bb, C):
    Ab = _square(Ab, "Ab")
    N = Ab.shape[0]
    return Ab, _vec(Bb, "Bb", N), _vec(C, "C", N)


def _length(L, rows=1):
    L = check_int(L, "L", min_value=1)
    check_size((rows, L), "L", itemsize=16)
    return L


def _finite(out, what, reason):
    """Return ``out``, or raise when finite inputs gave an inf/NaN (float64 overflow): never a silent inf."""
    xp = get_array_module(out)
    if not bool(xp.isfinite(xp.asarray(out)).all()):
        raise ValueError(f"{what} overflows float64 for these finite inputs ({reason})")
    return out


def _is_complex(*arrays):
    return any(np.iscomplexobj(a) for a in arrays)


def _matrix_power(Ab, L):
    """Ab^L by repeated squaring (diagonal when Ab is 1-D)."""
    if Ab.ndim == 1:
        return Ab ** L
    return np.linalg.matrix_power(Ab, L)


# ----------------------------------------------------------------------------- C-tilde
def _ab_any(Ab):
    Ab = as_array(Ab, "Ab", allow_complex=True)
    if Ab.ndim == 1:
        if Ab.shape[0] == 0:
            raise ValueError("parameter 'Ab' must be non-empty")
        return Ab
    return _square(Ab, "Ab")


def ctilde_from_c(Ab, C, L):
    r"""The trained :math:`\tilde C = (I - \bar A^L)^\top C` of the truncated generating function.

    At the L-th roots of unity :math:`z^L = 1`, so
    :math:`\mathcal G_L(z) = C^\top(I - z^L\bar A^L)(I - z\bar A)^{-1}\bar B
    = \tilde C^\top (I - z\bar A)^{-1}\bar B` (https://kexue.fm/archives/10162).

    Parameters
    ----------
    Ab : array_like, shape (N, N) or (N,)
        Discrete state matrix; a 1-D array is read as a diagonal.
    C : array_like, shape (N,)
    L : int
        Kernel length, ``L >= 1``.

    Returns
    -------
    ndarray, shape (N,)
        Real when ``Ab`` and ``C`` are real.

    Notes
    -----
    Accuracy: :math:`\bar A^L` by repeated squaring (``numpy.linalg.matrix_power``),
    relative error about :math:`\log_2 L\,\varepsilon\,\|\bar A\|^L`-scale;
    round trips with :func:`c_from_ctilde` to ``1e-12`` for stable ``Ab`` (tested).
    Convention: the transpose, not the conjugate transpose, as in s4
    ``_setup_C``; with Su's :math:`C^*` the factor is :math:`(I-\bar A^L)^*`.

    Examples
    --------
    >>> ctilde_from_c([0.5], [1.0], 2)   # (1 - 0.5**2) * 1
    array([0.75])
    """
    Ab = _ab_any(Ab)
    N = Ab.shape[0]
    C = _vec(C, "C", N)
    L = check_int(L, "L", min_value=1)
    with np.errstate(over="ignore", invalid="ignore"):
        P = _matrix_power(Ab, L)
        Ct = (1.0 - P) * C if Ab.ndim == 1 else C - P.T @ C
    return _finite(Ct, "ctilde_from_c", "Ab^L exceeds the float64 range: spectral radius above 1 or huge entries")


def c_from_ctilde(Ab, Ct, L):
    r"""Invert :func:`ctilde_from_c`: solve :math:`(I - \bar A^L)^\top C = \tilde C`.

    Parameters
    ----------
    Ab : array_like, shape (N, N) or (N,)
    Ct : array_like, shape (N,)
    L : int

    Returns
    -------
    ndarray, shape (N,)

    Raises
    ------
    ValueError
        Bad shapes, ``L < 1``, or :math:`I-\bar A^L` singular (an eigenvalue of
        ``Ab`` is an L-th root of unity).

    Notes
    -----
    Accuracy: one LU solve, error about :math:`\kappa(I-\bar A^L)\,\varepsilon`;
    for :math:`\rho(\bar A) < 1` and large L the matrix is close to I.
    This is s4's ``_setup_step`` direction.

    Examples
    --------
    >>> c_from_ctilde([0.5], [0.75], 2)
    array([1.])
    """
    Ab = _ab_any(Ab)
    N = Ab.shape[0]
    Ct = _vec(Ct, "Ct", N)
    L = check_int(L, "L", min_value=1)
    with np.errstate(over="ignore", invalid="ignore"):
        P = _matrix_power(Ab, L)
    _finite(P, "c_from_ctilde", "Ab^L exceeds the float64 range: spectral radius above 1 or huge entries")
    if Ab.ndim == 1:
        d = 1.0 - P
        if np.any(np.abs(d) <= 1e-14):
            raise ValueError("parameter 'Ab': I - Ab^L is singular (an eigenvalue of Ab is an L-th root of unity)")
        return Ct / d
    lam = np.linalg.eigvals(Ab)
    if np.min(np.abs(1.0 - lam ** L)) <= 1e-12:
        raise ValueError("parameter 'Ab': I - Ab^L is singular (an eigenvalue of Ab is an L-th root of unity)")
    with np.errstate(over="ignore", invalid="ignore"):
        C = np.linalg.solve((np.eye(N) - P).T, Ct)
    return _finite(C, "c_from_ctilde", "the solve with I - Ab^L exceeds the float64 range")


# ----------------------------------------------------------------------------- dense kernels
def _kernel_naive(Ab, Bb, C, L, dtype):
    K = np.empty(L, dtype=dtype)
    x = Bb.astype(dtype)
    AbT = Ab.astype(dtype)
    if dtype is np.complex128:
        # NumPy's own loops: the threaded BLAS zgemv at N ~ 64 was up to 7x slower on a loaded machine
        for j in range(L):
            K[j] = np.einsum("i,i->", C, x)
            x = np.einsum("ij,j->i", AbT, x)
        return K
    for j in range(L):
        K[j] = C @ x
        x = AbT @ x
    return K


def _kernel_generating(Ab, Bb, C, L, real):
    """ifft of G_L(omega) = Ct^T (I - omega Ab)^{-1} Bb via a complex Schur form (O(N^2) per node)."""
    Ct = C - _matrix_power(Ab, L).T @ C
    T, Z = scipy.linalg.schur(Ab.astype(np.complex128), output="complex")  # Ab = Z T Z^*
    b = Z.conj().T @ Bb
    c = Z.T @ Ct  # Ct^T Z
    count = L // 2 + 1 if real else L
    om = _xp.roots_of_unity(L, count)
    N = Ab.shape[0]
    # back substitution of (I - om T) x = b for all nodes at once, rows N-1 .. 0 (X[i] holds x_i at every node)
    X = np.empty((N, count), dtype=np.complex128)
    for i in range(N - 1, -1, -1):
        acc = np.full(count, b[i], dtype=np.complex128)
        if i + 1 < N:
            acc += om * np.einsum("j,jm->m", T[i, i + 1:], X[i + 1:])  # NumPy loops: a threaded BLAS gemv of
            # this (k, L) shape was 10x slower than the arithmetic on a loaded 2-core machine
        X[i] = acc / (1.0 - om * T[i, i])
    G = c @ X
    if real:
        return np.fft.irfft(G, n=L)
    return np.fft.ifft(G)


def kernel(Ab, Bb, C, L, method="naive"):
    r"""SSM convolution kernel :math:`K_j = C^\top \bar A^j \bar B`, :math:`j = 0..L-1`.

    ``method="naive"`` multiplies by :math:`\bar A` L times (the reference).
    ``method="generating"`` evaluates the truncated generating function at
    the L-th roots of unity :math:`\omega_l = e^{-2\pi i l/L}`,

    .. math::

        \mathcal G_L(\omega_l) = \sum_{j<L} K_j\omega_l^j
        = C^\top (I - \bar A^L)(I - \omega_l\bar A)^{-1}\bar B,

    and inverts the DFT (https://kexue.fm/archives/10162, "生成函数").
    The resolvent is applied through the complex Schur form
    :math:`\bar A = ZTZ^*` (one triangular solve, O(N^2), per node).

    Parameters
    ----------
    Ab : array_like, shape (N, N)
        Discrete state matrix (real or complex).
    Bb : array_like, shape (N,)
    C : array_like, shape (N,)
        Output vector, contracted without conjugation (:math:`C^\top x`).
    L : int
        Kernel length ``>= 1``.
    method : {"naive", "generating"}

    Returns
    -------
    ndarray, shape (L,)
        float64 when ``Ab``, ``Bb``, ``C`` are real, else complex128.

    Raises
    ------
    ValueError
        Non-square ``Ab``, ``Bb``/``C`` not of length N, ``L < 1``, unknown
        ``method``, non-finite entries.

    Notes
    -----
    Accuracy: ``"naive"`` has the forward error of L matrix-vector products,
    :math:`\lesssim jN\varepsilon\,\|C\|\|\bar A\|^j\|\bar B\|` at step j.
    ``"generating"`` agrees with it to ``1e-11`` relative to
    :math:`\max_j|K_j|` for the S4 systems tested (LegS, N <= 64,
    L <= 4096, dt in [1e-3, 1e-1]); its error grows with
    :math:`\max_l\|(I-\omega_l\bar A)^{-1}\|`, i.e. when an eigenvalue of
    :math:`\bar A` approaches the unit circle.
    Cost: naive O(L N^2); generating O(N^3 + L N^2 + L log L).

    Examples
    --------
    >>> kernel([[0.5]], [1.0], [2.0], 4)     # 2 * 0.5**j
    array([2.  , 1.  , 0.5 , 0.25])
    >>> bool(np.allclose(kernel([[0.5]], [1.0], [2.0], 4, method="generating"), [2, 1, 0.5, 0.25]))
    True
    """
    Ab, Bb, C = _system(Ab, Bb, C)
    L = _length(L)
    check_choice(method, "method", KERNEL_METHODS)
    real = not _is_complex(Ab, Bb, C)
    with np.errstate(over="ignore", invalid="ignore"):
        if method == "naive":
            K = _kernel_naive(Ab, Bb, C, L, np.float64 if real else np.complex128)
        else:
            K = _kernel_generating(Ab, Bb, C, L, real)
    return _finite(K, "kernel", "C^T Ab^j Bb exceeds the float64 range: spectral radius above 1, or huge entries")


# ----------------------------------------------------------------------------- Cauchy
def cauchy(v, z, w, *, conj=False, backend="auto"):
    r"""Cauchy matrix-vector product :math:`r_l = \sum_n \frac{v_n}{z_l - w_n}`.

    With ``conj=True`` the conjugate half is added,
    :math:`\sum_n \frac{v_n}{z_l-w_n} + \frac{\bar v_n}{z_l-\bar w_n}`, as
    state-spaces/s4 ``cauchy_naive`` does for a spectrum stored as one member
    of each conjugate pair.

    Parameters
    ----------
    v : array_like, shape (N,) or (H, N)
        Numerators (one row per channel).
    z : array_like, shape (L,)
        Nodes, shared by all channels.
    w : array_like, shape (N,) or (H, N)
        Poles; a 1-D ``w`` is shared by all channels.
    conj : bool, optional
    backend : {"auto", "reference", "numba", "cupy"}, optional
        ``"reference"`` (``"numpy"``): the definition, the plain sum
        (:func:`refimpl.ssm.reference.cauchy`, memory L N per channel);
        ``"numba"``: a kernel parallel over (channel, node) pairs (a serial
        build of the same kernel below :math:`2^{20}` terms);
        ``"cupy"`` (chosen by ``"auto"`` for CuPy input): a CUDA kernel with
        the numba kernel's arithmetic, one thread per (channel, node) pair;
        returns a CuPy array (docs/gpu.md).

    Returns
    -------
    ndarray, complex128, shape (L,) or (H, L)

    Raises
    ------
    ValueError
        Shapes that do not match, empty inputs, non-finite entries, a node
        equal to a pole (``z_l == w_n``), ``conj`` not a bool, or a result
        that overflows float64.

    Notes
    -----
    Accuracy: each term is formed as :math:`v\bar d/|d|^2`, :math:`d = z - w`
    (a few ulp), and summed, so the error is below about
    :math:`(N+4)\varepsilon\sum_n|v_n/(z_l-w_n)|`; the numba and CUDA
    kernels agree with the definition to that bound (the case table). The docstring of s4's
    ``src/models/functional/cauchy.py`` swaps the roles of z and w; the code
    computes the sum above.

    Examples
    --------
    >>> cauchy([1.0, 2.0], [0.0], [1.0, -1.0])   # 1/(0-1) + 2/(0+1)
    array([1.+0.j])
    """
    conj = check_bool(conj, "conj")
    name, impl = pick(backend, v, z, w, reference=reference.cauchy, numba=_fast.cauchy, cupy=_xp.cauchy_cupy)
    if name == "cupy":
        return impl(device_module(), v, z, w, conj)
    v = as_array(v, "v", allow_complex=True, dtype=np.complex128)
    z = as_array(z, "z", ndim=1, allow_complex=True, dtype=np.complex128, min_size=1)
    w = as_array(w, "w", allow_complex=True, dtype=np.complex128)
    if v.ndim not in (1, 2) or v.shape[-1] == 0:
        raise ValueError(f"parameter 'v' must have shape (N,) or (H, N) with N >= 1, got {v.shape}")
    squeeze = v.ndim == 1
    v2 = v[None, :] if squeeze else v
    if w.ndim == 1:
        if w.shape[0] != v2.shape[1]:
            raise ValueError(f"parameter 'w' must have shape ({v2.shape[1]},) or {v2.shape} to match 'v', got {w.shape}")
        w2 = np.broadcast_to(w, v2.shape)
    elif w.shape == v2.shape:
        w2 = w
    else:
        raise ValueError(f"parameter 'w' must have shape ({v2.shape[1]},) or {v2.shape} to match 'v', got {w.shape}")
    check_size((v2.shape[0], z.shape[0]), "z", itemsize=16)
    if name == "reference":
        check_size((z.shape[0], v2.shape[1]), "z", itemsize=16)  # one (L, N) temporary per channel
    w2 = np.ascontiguousarray(w2)
    poles = np.unique(w2) if not conj else np.unique(np.concatenate([w2.ravel(), w2.ravel().conj()]))
    if np.isin(z, poles).any():
        raise ValueError("parameter 'z' contains a node equal to a pole in 'w' (division by zero)")
    out = _finite(impl(v2, z, w2, conj), "cauchy", "a term v_n / (z_l - w_n) exceeds 1.8e308")
    return out[0] if squeeze else out


# ----------------------------------------------------------------------------- channels (H, N)
def _dt(dt):
    """dt > 0 as a scalar or one per channel: ``(array (H',), batched)``."""
    if isinstance(dt, np.ndarray) and dt.ndim == 0:
        dt = dt.item()
    if np.ndim(dt) == 0:
        return np.array([check_real(dt, "dt", low=0.0, low_open=True)]), False
    if np.asarray(dt).dtype == np.bool_:
        raise TypeError("parameter 'dt' must be a positive real number or an array of shape (H,), got booleans")
    d = as_array(dt, "dt", ndim=1, min_size=1)
    if np.any(d <= 0):
        raise ValueError(f"parameter 'dt' must be > 0 in every channel, got min {float(np.min(d))}")
    return d, True


def _channels(arrays, dt):
    """Validate ``{name: (N,) or (H, N)}`` and dt; broadcast to (H, N) and (H,).

    Returns ``(dict of (H, N) complex128, dt (H,), H, batched)``; a 1-D array
    (or a scalar dt) is shared by every channel.
    """
    out = {}
    for name, x in arrays.items():
        a = as_array(x, name, allow_complex=True, dtype=np.complex128).astype(np.complex128)
        if a.ndim not in (1, 2) or a.shape[-1] == 0:
            raise ValueError(f"parameter '{name}' must have shape (N,) or (H, N) with N >= 1, got {a.shape}")
        out[name] = a
    first = next(iter(out))
    N = out[first].shape[-1]
    for name, a in out.items():
        if a.shape[-1] != N:
            raise ValueError(f"parameter '{name}' must have N = {N} states (the last axis of '{first}'), "
                             f"got shape {a.shape}")
    d, dt_batched = _dt(dt)
    counts = {name: a.shape[0] for name, a in out.items() if a.ndim == 2}
    if dt_batched:
        counts["dt"] = d.shape[0]
    if len(set(counts.values())) > 1:
        raise ValueError(f"the channel counts H disagree: {counts}")
    H = next(iter(counts.values())) if counts else 1
    out = {name: np.ascontiguousarray(np.broadcast_to(a, (H, N))) for name, a in out.items()}
    return out, np.ascontiguousarray(np.broadcast_to(d, (H,))), H, bool(counts)


# ----------------------------------------------------------------------------- DPLR
def _dplr_inputs(Lambda, P, Q, B, name_c, Cv):
    Lambda = _vec(Lambda, "Lambda")
    N = Lambda.shape[0]
    P = as_array(P, "P", allow_complex=True)
    if P.ndim == 1:
        P = P[:, None]
    if P.ndim != 2 or P.shape[0] != N or P.shape[1] < 1:
        raise ValueError(f"parameter 'P' must have shape ({N},) or ({N}, r) with r >= 1, got {P.shape}")
    Q = as_array(Q, "Q", allow_complex=True)
    if Q.ndim == 1:
        Q = Q[:, None]
    if Q.shape != P.shape:
        raise ValueError(f"parameter 'Q' must have the shape of 'P' {P.shape}, got {Q.shape}")
    B = _vec(B, "B", N)
    Cv = _vec(Cv, name_c, N)
    return (Lambda.astype(np.complex128), P.astype(np.complex128), Q.astype(np.complex128),
            B.astype(np.complex128), Cv.astype(np.complex128))


def kernel_dplr(Lambda, P, Q, B, Ct, dt, L, *, half=False, backend="auto"):
    r"""S4 kernel of a diagonal-plus-low-rank system by Woodbury and Cauchy products.

    For :math:`A = \mathrm{diag}(\Lambda) - PQ^*` (P, Q of shape (N, r)) with
    bilinear discretisation, at the roots of unity :math:`\omega_l`,

    .. math::

        \mathcal G_L(\omega) = \tilde C^\top(I-\omega\bar A)^{-1}\bar B
        = \frac{2}{1+\omega}\Big[k_{00} - k_{01}(I_r + k_{11})^{-1}k_{10}\Big],
        \qquad g = \frac{2}{\Delta}\frac{1-\omega}{1+\omega},

    with the Cauchy sums :math:`k_{00} = \sum_n \frac{\Delta\tilde C_nB_n}{\Delta(g-\Lambda_n)}`,
    :math:`k_{01} = \sum_n\frac{\Delta \tilde C_nP_{n\cdot}}{\Delta(g-\Lambda_n)}`,
    :math:`k_{10} = \sum_n\frac{\Delta\bar Q_{n\cdot}^\top B_n}{\Delta(g-\Lambda_n)}`,
    :math:`k_{11} = \sum_n\frac{\Delta\bar Q_{n\cdot}^\top P_{n\cdot}}{\Delta(g-\Lambda_n)}`
    (Woodbury on :math:`gI - A = \mathrm{diag}(g-\Lambda) + PQ^*`; derivation
    in ``derivations/s4_woodbury.py``). Then :math:`K = \mathrm{IDFT}(\mathcal G_L)`.

    **The node** :math:`\omega = -1` (l = L/2, L even) is singular in this
    form (:math:`g = \infty`) but :math:`\mathcal G_L` is finite there:
    :math:`(I+\bar A) = 2(I-\tfrac\Delta2A)^{-1}`, so
    :math:`\mathcal G_L(-1) = \tfrac{\Delta}{2}\tilde C^\top B` exactly (the
    low-rank correction vanishes in the limit). refimpl uses that value at
    that node instead of relying on the rounding of :math:`1+\omega`.

    Parameters
    ----------
    Lambda : array_like, shape (N,) or (H, N)
        Diagonal part (complex), one row per channel (s4's layout); a 1-D
        array is shared by every channel.
    P, Q : array_like, shape (N,) or (N, r); (H, N) or (H, N, r) with a 2-D ``Lambda``
        Low-rank factors, :math:`A = \mathrm{diag}(\Lambda) - PQ^*`; for the
        HiPPO NPLR, ``Q = P``. Rank r = 1 uses the scalar form
        :math:`k_{00} - k_{01}k_{10}/(1+k_{11})`; r > 1 solves an r x r system per node.
    B : array_like, shape (N,) or (H, N)
        Continuous-time input vector in the same basis.
    Ct : array_like, shape (N,) or (H, N)
        The trained :math:`\tilde C = (I-\bar A^L)^\top C` (see
        :func:`ctilde_from_c`), contracted without conjugation.
    dt : float or array_like of shape (H,)
        Step :math:`\Delta > 0`, one per channel (s4's ``log_dt``) or shared.
    L : int
        Kernel length ``>= 1``.
    half : bool, optional
        ``False``: ``Lambda`` etc. describe the whole system; all L nodes are
        evaluated and the complex kernel is returned. ``True``: the arrays
        hold one member of each conjugate pair (the other member is the
        complex conjugate of every entry); the Cauchy sums are
        conjugate-extended, nodes ``0..L//2`` evaluated, and the real kernel
        of the full system is returned (``irfft``), as s4 ``SSMKernelDPLR`` does.
    backend : {"auto", "reference", "numba", "cupy"}, optional
        ``"reference"`` (``"numpy"``): the definition,
        :func:`refimpl.ssm.reference.kernel_dplr` (the Woodbury formula per
        node with plain Cauchy sums); ``"numba"``: the Cauchy sums by the
        numba kernel, the Woodbury combination and inverse FFT vectorised
        (``_xp.kernel_dplr``). ``"cupy"`` (chosen by
        ``"auto"`` when a parameter is a CuPy array): the parameters, O(N r),
        are validated on the host; the Cauchy sums, the Woodbury combination
        and the inverse FFT run on the GPU, and the kernel is a CuPy array.

    Returns
    -------
    ndarray, shape (L,), or (H, L) when any of Lambda, B, Ct is 2-D or dt is an array
        complex128 (``half=False``) or float64 (``half=True``); equal to a
        loop over the channels. s4's ``SSMKernelDPLR`` returns (C, H, L) with
        C output channels; this is its ``k[0]`` for one output channel.

    Raises
    ------
    ValueError
        Shape mismatches (the channel counts H must agree), ``dt <= 0``,
        ``L < 1`` or too large, a node where :math:`g = \Lambda_n` (the
        diagonal part is singular there), ``half`` not a bool, or a kernel
        beyond the float64 range.

    Notes
    -----
    Accuracy: agrees with ``kernel(..., "naive")`` of the dense discretised
    system to ``1e-10`` relative to :math:`\max|K|` for the LegS NPLR with
    N <= 64, L <= 4096, dt in [1e-3, 1e-1] (tested; typical 1e-13).
    Conventions: s4 evaluates ``cauchy(B*C*dt, g*dt, dt*Lambda)`` with
    ``Q = P.conj()`` stacked in; annotated-s4 ``kernel_DPLR`` contracts with
    ``C.conj()`` (Su's :math:`C^*`), refimpl with :math:`C^\top` like s4.

    Examples
    --------
    >>> import numpy as np
    >>> K = kernel_dplr([-1.0 + 0j], [0.0], [0.0], [1.0], [1.0], 0.1, 4)
    >>> Ab = (1 - 0.05) / (1 + 0.05); Bb = 0.1 / (1 + 0.05)
    >>> Ct = 1.0                                  # here C = Ct / (1 - Ab**4)
    >>> bool(np.allclose(K, Ct / (1 - Ab**4) * Bb * Ab ** np.arange(4)))
    True
    """
    half = check_bool(half, "half")
    name, impl = pick(backend, Lambda, P, Q, B, Ct, reference=reference.kernel_dplr, numba=_fast.kernel_dplr,
                      cupy=_kernel_dplr_cupy)
    if name == "cupy":  # the O(H N r) parameters are validated on the host; the O(H L N) work runs on the device
        Lambda, P, Q, B, Ct = (to_host(a) if is_cupy_array(a) else a for a in (Lambda, P, Q, B, Ct))
    ch, dt, H, batched = _channels({"Lambda": Lambda, "B": B, "Ct": Ct}, dt)
    lam_ndim = np.ndim(Lambda)
    N = ch["Lambda"].shape[1]
    factors = []
    for fname, F in (("P", P), ("Q", Q)):
        F = as_array(F, fname, allow_complex=True, dtype=np.complex128).astype(np.complex128)
        if F.ndim == lam_ndim:
            F = F[..., None]
        want = f"({N},) or ({N}, r)" if lam_ndim == 1 else f"({H}, {N}) or ({H}, {N}, r)"
        if F.ndim != lam_ndim + 1 or F.shape[-2] != N or F.shape[-1] < 1 or (lam_ndim == 2 and F.shape[0] != H):
            raise ValueError(f"parameter '{fname}' must have shape {want} (as 'Lambda' {np.shape(Lambda)}), "
                             f"got {F.shape}")
        factors.append(np.ascontiguousarray(np.broadcast_to(F, (H,) + F.shape[-2:])))
    P, Q = factors
    if Q.shape != P.shape:
        raise ValueError(f"parameter 'Q' must have the shape of 'P' {P.shape}, got {Q.shape}")
    L = _length(L, H)
    _check_nodes(ch["Lambda"], dt, L, half)
    K = impl(ch["Lambda"], P, Q, ch["B"], ch["Ct"], dt, L, half)
    K = _finite(K, "kernel_dplr", "|dt Lambda|, the Cauchy sums or the kernel exceed the float64 range")
    return K if batched else K[0]


def _kernel_dplr_cupy(Lambda, P, Q, B, Ct, dt, L, half):
    cp = device_module()
    return _xp.kernel_dplr(cp, lambda v, z, w, c: _xp.cauchy_raw(cp, v, z, w, c), Lambda, P, Q, B, Ct, dt, L, half)


def _check_nodes(Lambda, dt, L, half):
    """Raise when a node dt g = 2i tan(pi l / L) meets a pole dt Lambda_n (diag(g - Lambda) singular)."""
    w = (dt[:, None] * Lambda).ravel()
    poles = np.concatenate([w, w.conj()]) if half else w
    scale = 1e-13 * max(1.0, float(np.max(np.abs(poles))))
    near = poles[np.abs(poles.real) <= scale]  # the nodes are on the imaginary axis
    if near.size:
        count = L // 2 + 1 if half else L
        l = np.arange(count)
        l = l[2 * l != L]
        zr = 2j * np.tan(np.pi * l / L)
        if zr.size and np.min(np.abs(zr[:, None] - near[None, :])) <= scale:
            raise ValueError("parameter 'Lambda': a node g = 2/dt (1-w)/(1+w) coincides with an eigenvalue of the "
                             "diagonal part, so diag(g - Lambda) is singular (e.g. Lambda_n = 0 at w = 1)")


def _dplr_setup(Lambda, P, Q, B, dt):
    """D = (2/dt - Lambda)^-1, E = 2/dt + Lambda, R = (I_r + Q^* D P)^-1 (bilinear Woodbury pieces)."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        D = 1.0 / (2.0 / dt - Lambda)
        E = 2.0 / dt + Lambda
        M = np.eye(P.shape[1]) + Q.conj().T @ (D[:, None] * P)
    _finite(np.concatenate([D, E, M.ravel()]), "the bilinear DPLR step",
            "2/dt - Lambda is 0 or beyond the float64 range, or Q^* D P overflows")
    try:
        R = np.linalg.inv(M)
    except np.linalg.LinAlgError:
        raise ValueError("parameters 'P', 'Q': I_r + Q^* (2/dt - Lambda)^{-1} P is singular, so "
                         "I - dt/2 A is not invertible") from None
    return D, E, R


def _apply_A1(D, P, Q, R, s):
    """A1 s = D s - D P R Q^* D s, A1 = (2/dt) (I - dt/2 A)^{-1} (Woodbury)."""
    Ds = D * s
    return Ds - D * (P @ (R @ (Q.conj().T @ Ds)))


def dplr_discretize(Lambda, P, Q, B, dt):
    r"""Bilinear discretisation of :math:`A = \mathrm{diag}(\Lambda) - PQ^*` by Woodbury (dense result).

    :math:`I - \tfrac\Delta2A = \tfrac\Delta2(D^{-1} + PQ^*)` with
    :math:`D = (\tfrac2\Delta - \Lambda)^{-1}`, so
    :math:`A_1 := \tfrac2\Delta(I-\tfrac\Delta2 A)^{-1} = D - DP(I_r+Q^*DP)^{-1}Q^*D`,
    :math:`\bar A = A_1(\tfrac2\Delta + \Lambda - PQ^*)`, :math:`\bar B = 2A_1B`
    (https://kexue.fm/archives/10162; annotated-s4 ``discrete_DPLR``).

    Parameters
    ----------
    Lambda : array_like, shape (N,)
    P, Q : array_like, shape (N,) or (N, r)
    B : array_like, shape (N,)
    dt : float, > 0

    Returns
    -------
    Ab : ndarray, complex128, shape (N, N)
    Bb : ndarray, complex128, shape (N,)

    Notes
    -----
    Accuracy: equals ``discretize(diag(Lambda) - P Q^*, B, dt, "bilinear")``
    to ``1e-13`` relative (tested); intended for checks, the O(N) step is
    :func:`dplr_step`.

    Examples
    --------
    >>> Ab, Bb = dplr_discretize([-1.0], [0.0], [0.0], [1.0], 0.1)
    >>> round(float(Ab[0, 0].real), 12), round(float(Bb[0].real), 12)
    (0.904761904762, 0.095238095238)
    """
    Lambda, P, Q, B, _ = _dplr_inputs(Lambda, P, Q, B, "B", B)
    dt = check_real(dt, "dt", low=0.0, low_open=True)
    D, E, R = _dplr_setup(Lambda, P, Q, B, dt)
    N = Lambda.shape[0]
    A0 = np.diag(E) - P @ Q.conj().T
    Ab = np.column_stack([_apply_A1(D, P, Q, R, A0[:, j]) for j in range(N)])
    Bb = 2.0 * _apply_A1(D, P, Q, R, B)
    why = "2/dt, Lambda, P Q^* or the Woodbury inverse exceed the float64 range"
    return _finite(Ab, "dplr_discretize", why), _finite(Bb, "dplr_discretize", why)


def dplr_step(Lambda, P, Q, B, C, dt, x, u):
    r"""One O(N r) bilinear recurrent step of a DPLR system: returns ``(x_next, y)``.

    :math:`x_{k} = A_1\big[(\tfrac2\Delta+\Lambda)x_{k-1} - P(Q^*x_{k-1}) + 2Bu_k\big]`,
    :math:`y_k = C^\top x_k`, with :math:`A_1` applied by Woodbury as in
    :func:`dplr_discretize` (s4 ``_step_state_linear``).

    Parameters
    ----------
    Lambda, P, Q, B : as in :func:`dplr_discretize`
    C : array_like, shape (N,)
        Output vector (the true C, not C-tilde; convert with :func:`c_from_ctilde`).
    dt : float, > 0
    x : array_like, shape (N,)
        Current state.
    u : float or complex
        Input sample.

    Returns
    -------
    x_next : ndarray, complex128, shape (N,)
    y : complex

    Notes
    -----
    Accuracy: equals one step of the dense bilinear recurrence to ``1e-13``
    relative (tested via :func:`dplr_scan`).

    Examples
    --------
    >>> x, y = dplr_step([-1.0], [0.0], [0.0], [1.0], [1.0], 0.1, [0.0], 1.0)
    >>> round(float(y.real), 12)      # Bb = 0.1 / 1.05
    0.095238095238
    """
    Lambda, P, Q, B, C = _dplr_inputs(Lambda, P, Q, B, "C", C)
    dt = check_real(dt, "dt", low=0.0, low_open=True)
    x = _vec(x, "x", Lambda.shape[0]).astype(np.complex128)
    if isinstance(u, (bool, np.bool_)) or not isinstance(u, (numbers.Number, np.number)):
        raise ArgumentTypeError(f"parameter 'u' must be a finite scalar, got {type(u).__name__} {u!r}")
    if not np.isfinite(u):
        raise ValueError(f"parameter 'u' must be a finite scalar, got {u!r}")
    D, E, R = _dplr_setup(Lambda, P, Q, B, dt)
    s = E * x - P @ (Q.conj().T @ x) + 2.0 * B * u
    xn = _apply_A1(D, P, Q, R, s)
    y = complex(C @ xn)
    _finite(np.append(xn, y), "dplr_step", "the state or the output exceeds the float64 range")
    return xn, y


def dplr_scan(Lambda, P, Q, B, C, dt, u):
    r"""Run the O(N r) DPLR bilinear recurrence over a sequence (setup once): ``y`` of shape (L,).

    Same conventions as :func:`dplr_step`, starting from :math:`x_{-1}=0`;
    equals :func:`scan` of :func:`dplr_discretize` and the convolution with
    :func:`kernel_dplr` (after :func:`ctilde_from_c`) to ``1e-10`` relative (tested).

    Examples
    --------
    >>> y = dplr_scan([-1.0], [0.0], [0.0], [1.0], [1.0], 0.1, [1.0, 0.0])
    >>> bool(np.allclose(y, [0.1 / 1.05, 0.1 / 1.05 * 0.95 / 1.05]))
    True
    """
    Lambda, P, Q, B, C = _dplr_inputs(Lambda, P, Q, B, "C", C)
    dt = check_real(dt, "dt", low=0.0, low_open=True)
    u = as_array(u, "u", ndim=1, allow_complex=True, min_size=1)
    D, E, R = _dplr_setup(Lambda, P, Q, B, dt)
    Qh = Q.conj().T
    x = np.zeros(Lambda.shape[0], dtype=np.complex128)
    y = np.empty(u.shape[0], dtype=np.complex128)
    for k in range(u.shape[0]):
        s = E * x - P @ (Qh @ x) + 2.0 * B * u[k]
        x = _apply_A1(D, P, Q, R, s)
        y[k] = C @ x
    return _finite(y, "dplr_scan", "the state or the output exceeds the float64 range")


# ----------------------------------------------------------------------------- S4D
def kernel_diag(Lambda, B, C, dt, L, method="zoh", half=False, *, backend="auto"):
    r"""S4D kernel of a diagonal system by a Vandermonde product.

    .. math::

        K_j = \sum_n C_n\bar B_n\,\bar\lambda_n^{\,j},\qquad
        \text{zoh: } \bar\lambda = e^{\Delta\lambda},\ \bar B = \frac{e^{\Delta\lambda}-1}{\lambda}B;\quad
        \text{bilinear: } \bar\lambda = \frac{1+\Delta\lambda/2}{1-\Delta\lambda/2},\ \bar B = \frac{\Delta B}{1-\Delta\lambda/2}.

    The Vandermonde matrix is formed as :math:`\exp(j\log\bar\lambda_n)`
    (ZOH: :math:`\exp(j\Delta\lambda_n)`), as s4's ``log_vandermonde``.

    Parameters
    ----------
    Lambda : array_like, shape (N,) or (H, N)
        Continuous-time eigenvalues (complex; S4D-Lin: :math:`-\tfrac12 + i\pi n`),
        one row per channel (s4's layout); a 1-D array is shared by every channel.
    B, C : array_like, shape (N,) or (H, N)
    dt : float or array_like of shape (H,), > 0
        Step, one per channel (s4's ``log_dt``) or shared.
    L : int, >= 1
    method : {"zoh", "bilinear"}
    half : bool, optional
        ``False``: ``Lambda`` lists every eigenvalue, the complex sum is
        returned. ``True``: one member per conjugate pair, and
        :math:`2\,\mathrm{Re}` of the sum is returned (s4 ``SSMKernelDiag``).
    backend : {"auto", "reference", "cupy"}, optional
        ``"reference"`` (``"numpy"``, and ``"auto"`` on the CPU): the
        definition, :func:`refimpl.ssm.reference.kernel_diag` (powers of
        :math:`\bar\lambda`, one N x L Vandermonde matrix per channel);
        ``"cupy"`` (chosen by ``"auto"`` when ``Lambda``, ``B`` or ``C`` is a
        CuPy array): the O(H N) discretisation on the host, the
        ``exp(j log Abar)`` Vandermonde product on the GPU in chunks
        (``_xp.kernel_diag``); returns a CuPy array.

    Returns
    -------
    ndarray, shape (L,), or (H, L) when any of Lambda, B, C is 2-D or dt is an array
        complex128 (``half=False``) or float64 (``half=True``); equal to a
        loop over the channels.

    Raises
    ------
    ValueError
        Shape mismatches (the channel counts H must agree), ``dt <= 0``,
        ``L < 1`` or too large, unknown ``method``, (bilinear)
        :math:`\Delta\lambda = 2`, ``half`` not a bool, or a kernel beyond
        the float64 range (e.g. :math:`\mathrm{Re}\,\lambda > 0` with large L).

    Notes
    -----
    Accuracy: :math:`e^{\Delta\lambda}-1` uses ``expm1`` (no cancellation
    for small :math:`\Delta\lambda`; :math:`\lambda=0` gives :math:`\Delta`).
    Each power has relative error about :math:`j\varepsilon|\log\bar\lambda|`
    + a few ulp; the kernel equals ``kernel(diag(e^{dt Lambda}), ...)`` and
    the scipy ``expm``/``cont2discrete`` route to ``1e-12`` relative to
    :math:`\max|K|` (tested).

    Examples
    --------
    >>> K = kernel_diag([-1.0 + 0j], [1.0], [1.0], 0.5, 3)
    >>> bool(np.allclose(K, (1 - np.exp(-0.5)) * np.exp(-0.5 * np.arange(3))))
    True
    """
    half = check_bool(half, "half")
    check_choice(method, "method", DIAG_METHODS)
    name, impl = pick(backend, Lambda, B, C, reference=reference.kernel_diag, cupy=_kernel_diag_cupy)
    if name == "cupy":  # O(H N) parameters on the host, the O(H N L) Vandermonde product on the device
        Lambda, B, C = (to_host(a) if is_cupy_array(a) else a for a in (Lambda, B, C))
    ch, dt, H, batched = _channels({"Lambda": Lambda, "B": B, "C": C}, dt)
    L = _length(L, H)
    if name == "reference":
        check_size((ch["Lambda"].shape[1], L), "L", itemsize=16)  # one N x L Vandermonde matrix per channel
    if method == "bilinear" and np.any(1.0 - dt[:, None] * ch["Lambda"] / 2.0 == 0.0):
        raise ValueError("parameter 'Lambda': dt*Lambda_n = 2 makes the bilinear transform singular")
    with np.errstate(over="ignore", invalid="ignore"):
        K = impl(ch["Lambda"], ch["B"], ch["C"], dt, L, method, half)
    K = _finite(K, "kernel_diag", "dt Lambda, Bbar or Abar^(L-1) exceed the float64 range (Re Lambda > 0 "
                "grows like exp(dt Re Lambda L))")
    return K if batched else K[0]


def _kernel_diag_cupy(Lambda, B, C, dt, L, method, half):
    return _xp.kernel_diag(device_module(), Lambda, B, C, dt, L, method, half)


# ----------------------------------------------------------------------------- convolution and scan
def causal_conv(u, K, *, backend="auto"):
    r"""Causal convolution :math:`y_k = \sum_{j=0}^{k} K_j u_{k-j}` by FFT with zero padding.

    Both sequences are zero-padded to a fast length
    :math:`n \ge L_u + L_K - 1` (so the circular convolution equals the
    linear one), multiplied in the frequency domain, and the first
    :math:`L_u` outputs are kept (s4 ``FFTConv`` pads to ``l_kernel + L``).

    Parameters
    ----------
    u : array_like, shape (..., L_u)
        Input sequence(s); the last axis is time.
    K : array_like, shape (L_K,) or broadcastable (..., L_K)
        Kernel.
    backend : {"auto", "reference"}, optional
        ``"auto"``: FFT, O(n log n); ``"reference"`` (``"numpy"``): the
        definition, the direct sum (:func:`refimpl.ssm.reference.causal_conv`,
        O(L_u L_K)).

    Returns
    -------
    ndarray, shape of the broadcast (..., L_u)
        float64 when both are real, else complex128.

    Raises
    ------
    ValueError
        Empty or non-finite inputs, leading shapes that do not broadcast, or
        an output that overflows float64.

    Notes
    -----
    Accuracy: FFT convolution has error about
    :math:`\varepsilon\log_2 n\,\|K\|_2\|u\|_2` per output (absolute), not
    relative to each output; tested against the direct sum to
    ``1e-12 * ||K||_1 ||u||_inf``.

    Examples
    --------
    >>> causal_conv([1.0, 2.0, 3.0], [1.0, 0.5])
    array([1. , 2.5, 4. ])
    """
    check_choice(backend, "backend", ("auto", "reference", "numpy"))
    u = as_array(u, "u", min_ndim=1, allow_complex=True)
    K = as_array(K, "K", min_ndim=1, allow_complex=True)
    if u.shape[-1] == 0:
        raise ValueError("parameter 'u' must have at least one time step")
    if K.shape[-1] == 0:
        raise ValueError("parameter 'K' must have at least one entry")
    try:
        np.broadcast_shapes(u.shape[:-1], K.shape[:-1])
    except ValueError:
        raise ValueError(f"parameters 'u' {u.shape} and 'K' {K.shape} have leading shapes that do not broadcast") from None
    Lu, Lk = u.shape[-1], K.shape[-1]
    lead = np.broadcast_shapes(u.shape[:-1], K.shape[:-1])
    check_size(lead + (Lu + Lk,), "u", itemsize=16)
    if backend != "auto":
        y = reference.causal_conv(u, K)
    else:
        n = scipy.fft.next_fast_len(Lu + Lk - 1, real=True)
        if _is_complex(u, K):
            y = scipy.fft.ifft(scipy.fft.fft(u, n=n) * scipy.fft.fft(K, n=n), n=n)
        else:
            y = scipy.fft.irfft(scipy.fft.rfft(u, n=n) * scipy.fft.rfft(K, n=n), n=n)
        y = np.ascontiguousarray(y[..., :Lu])
    return _finite(y, "causal_conv", "the products K_j u_i or their sums exceed the float64 range")


def scan(Ab, Bb, C, u, *, backend="auto"):
    r"""Run the discrete SSM as a recurrence: :math:`x_k = \bar Ax_{k-1} + \bar Bu_k`, :math:`y_k = C^\top x_k`.

    Starts from :math:`x_{-1} = 0`, so :math:`y = ` ``causal_conv(u, kernel(Ab, Bb, C, len(u)))``.

    Parameters
    ----------
    Ab : array_like, shape (N, N)
    Bb, C : array_like, shape (N,)
    u : array_like, shape (L,)
    backend : {"auto", "reference", "numba"}, optional
        ``"reference"`` (``"numpy"``): the definition, the loop
        (:func:`refimpl.ssm.reference.scan`); ``"numba"``: the same loop
        compiled; ``"auto"``: numba when importable.

    Returns
    -------
    ndarray, shape (L,)
        float64 when all inputs are real, else complex128.

    Notes
    -----
    Accuracy: the forward error of L matrix-vector products (no
    cancellation beyond that of the system itself); the numba loop agrees
    with the definition to the case table's tolerance. Index convention: annotated-s4
    ``scan_SSM`` (:math:`y_k = \bar Cx_k` after consuming :math:`u_k`).

    Examples
    --------
    >>> scan([[0.5]], [1.0], [2.0], [1.0, 0.0, 0.0])
    array([2. , 1. , 0.5])
    """
    Ab, Bb, C = _system(Ab, Bb, C)
    u = as_array(u, "u", ndim=1, allow_complex=True, min_size=1)
    name, impl = pick(backend, Ab, reference=reference.scan, numba=_fast.scan)
    dtype = np.complex128 if _is_complex(Ab, Bb, C, u) else np.float64
    Ab, Bb, C, u = (np.ascontiguousarray(a, dtype=dtype) for a in (Ab, Bb, C, u))
    return _finite(impl(Ab, Bb, C, u), "scan", "the state or the output exceeds the float64 range")
