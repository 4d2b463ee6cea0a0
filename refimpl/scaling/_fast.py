"""Fast path of refimpl.scaling: the numba Monte-Carlo kernels of the noisy quadratic model.

The definition is :func:`refimpl.scaling.reference.nqm_sums` (a plain loop
over samples drawing from NumPy's Generator); these kernels compute the same
sums faster and are checked against it: on the same normals to rounding
(``nqm_sums_from_normals_nb``), and with their own generator statistically.

Random numbers. The kernels draw their own normals so that nothing of size
(samples, n) is ever stored: a counter-based SplitMix64 stream per chunk of
samples (so results do not depend on the number of threads) feeds Marsaglia
and Tsang's 128-layer ziggurat (G. Marsaglia, W. W. Tsang, "The Ziggurat
Method for Generating Random Variables", J. Stat. Softw. 5(8), 2000,
https://doi.org/10.18637/jss.v005.i08). The layer index and the value are
taken from disjoint bits of one 64-bit word (Doornik 2005 pointed out the
correlation when they share bits). ``normals_nb`` exposes the stream that
chunk ``c`` of ``nqm_sums_nb`` consumes.

Reductions. For each sample ``x = g + L z`` (noisy batch gradient), the
update ``u = x`` (SGD) or ``sign(x)`` and the two quadratic-model statistics
``a = u.g`` and ``b = u.H u`` are formed; a chunk returns the count and the
shifted sums of a, b, a^2, b^2, a b (shift = the noiseless values, which
keeps the variances free of cancellation). ``nqm_sums_from_normals_nb``
does the same from given normals.
"""
from __future__ import annotations

import math

import numpy as np

from .._numba import njit, prange
from ._common import is_diagonal
from .reference import noise_factor

# ----------------------------------------------------------------------------- SplitMix64

_GAMMA = 0x9E3779B97F4A7C15
_C1 = 0xBF58476D1CE4E5B9
_C2 = 0x94D049BB133111EB
_STREAM_KEY = 0xD1B54A32D192ED03

U_GAMMA = np.uint64(_GAMMA)
U_C1 = np.uint64(_C1)
U_C2 = np.uint64(_C2)
U_KEY = np.uint64(_STREAM_KEY)
U30 = np.uint64(30)
U27 = np.uint64(27)
U31 = np.uint64(31)
U32 = np.uint64(32)
U11 = np.uint64(11)
U127 = np.uint64(127)
U1 = np.uint64(1)

# ----------------------------------------------------------------------------- ziggurat tables

_R = 3.442619855899        # start of the tail (128 layers)
_V = 9.91256303526217e-3   # area of each layer
_M1 = 2147483648.0         # 2^31


def _ziggurat_tables():
    """Marsaglia-Tsang tables: kn (acceptance thresholds), wn (x scale), fn (density at edges)."""
    kn = np.zeros(128, dtype=np.int64)
    wn = np.zeros(128)
    fn = np.zeros(128)
    dn = tn = _R
    q = _V / math.exp(-0.5 * dn * dn)
    kn[0] = int((dn / q) * _M1)
    kn[1] = 0
    wn[0] = q / _M1
    wn[127] = dn / _M1
    fn[0] = 1.0
    fn[127] = math.exp(-0.5 * dn * dn)
    for i in range(126, 0, -1):
        dn = math.sqrt(-2.0 * math.log(_V / dn + math.exp(-0.5 * dn * dn)))
        kn[i + 1] = int((dn / tn) * _M1)
        tn = dn
        fn[i] = math.exp(-0.5 * dn * dn)
        wn[i] = dn / _M1
    return kn, wn, fn


KN, WN, FN = _ziggurat_tables()
_INV_R = 1.0 / _R
_TWO_M53 = 2.0 ** -53


# ----------------------------------------------------------------------------- numba generator

@njit(cache=True, nogil=True, fastmath=False)
def _mix_nb(z):
    z = (z ^ (z >> U30)) * U_C1
    z = (z ^ (z >> U27)) * U_C2
    return z ^ (z >> U31)


@njit(cache=True, nogil=True, fastmath=False)
def stream_state_nb(seed, stream):
    """Initial SplitMix64 state of stream ``stream`` under ``seed`` (both uint64)."""
    return _mix_nb(seed ^ _mix_nb((stream + U1) * U_KEY))


@njit(cache=True, nogil=True, fastmath=False)
def _next_nb(state):
    """One SplitMix64 step: returns (new_state, 64-bit output)."""
    state = state + U_GAMMA
    return state, _mix_nb(state)


@njit(cache=True, nogil=True, fastmath=False)
def _uniform_nb(state):
    """A uniform in (0, 1) from 53 bits: ((w >> 11) + 0.5) 2^-53."""
    state, w = _next_nb(state)
    return state, ((w >> U11) + 0.5) * _TWO_M53


@njit(cache=True, nogil=True, fastmath=False)
def _hz_iz(w):
    """Signed 32-bit value from the high word, layer index from the low 7 bits."""
    hi = np.int64(w >> U32)
    if hi >= 2147483648:
        hi -= 4294967296
    return hi, np.int64(w & U127)


@njit(cache=True, nogil=True, fastmath=False)
def _normal_nb(state):
    """One standard normal (ziggurat); returns (new_state, z)."""
    state, w = _next_nb(state)
    hz, iz = _hz_iz(w)
    if abs(hz) < KN[iz]:
        return state, hz * WN[iz]
    while True:  # the rare slow path ("nfix" in Marsaglia and Tsang)
        x = hz * WN[iz]
        if iz == 0:  # tail beyond R: Marsaglia's exponential rejection
            while True:
                state, u1 = _uniform_nb(state)
                state, u2 = _uniform_nb(state)
                x = -math.log(u1) * _INV_R
                y = -math.log(u2)
                if y + y >= x * x:
                    break
            return state, (_R + x) if hz > 0 else -(_R + x)
        state, u = _uniform_nb(state)
        if FN[iz] + u * (FN[iz - 1] - FN[iz]) < math.exp(-0.5 * x * x):
            return state, x
        state, w = _next_nb(state)
        hz, iz = _hz_iz(w)
        if abs(hz) < KN[iz]:
            return state, hz * WN[iz]


@njit(cache=True, nogil=True, fastmath=False)
def normals_nb(seed, stream, out):
    """Fill ``out`` (1-D float64) with the normals of stream ``stream`` under ``seed``."""
    state = stream_state_nb(np.uint64(seed), np.uint64(stream))
    for k in range(out.shape[0]):
        state, v = _normal_nb(state)
        out[k] = v


# ----------------------------------------------------------------------------- NQM statistics

SGD = 0
SIGN = 1
N_STATS = 6  # count, sum da, sum db, sum da^2, sum db^2, sum da db
CHUNK = 4096  # samples per chunk of nqm_sums_nb (one random stream each)


@njit(cache=True, nogil=True, fastmath=False)
def _update_nb(x, kind, u):
    for i in range(x.shape[0]):
        if kind == SGD:
            u[i] = x[i]
        else:
            u[i] = np.float64(x[i] > 0.0) - np.float64(x[i] < 0.0)


@njit(cache=True, nogil=True, fastmath=False)
def _ab_nb(u, g, hdiag, Hfull, h_dense):
    """a = u.g and b = u^T H u (H diagonal: hdiag; dense: Hfull)."""
    n = u.shape[0]
    a = 0.0
    b = 0.0
    for i in range(n):
        a += u[i] * g[i]
    if h_dense:
        for i in range(n):
            t = 0.0
            for j in range(n):
                t += Hfull[i, j] * u[j]
            b += u[i] * t
    else:
        for i in range(n):
            b += hdiag[i] * u[i] * u[i]
    return a, b


@njit(cache=True, nogil=True, fastmath=False)
def _noisy_gradient_nb(z, g, sdiag, Lfull, l_dense, x):
    """x = g + L z with L = diag(sdiag) or the square factor Lfull (L L^T = covariance)."""
    n = g.shape[0]
    if l_dense:
        for i in range(n):
            t = 0.0
            for j in range(n):
                t += Lfull[i, j] * z[j]
            x[i] = g[i] + t
    else:
        for i in range(n):
            x[i] = g[i] + sdiag[i] * z[i]


@njit(cache=True, nogil=True, fastmath=False)
def _accumulate_nb(a, b, a0, b0, acc):
    da = a - a0
    db = b - b0
    acc[0] += 1.0
    acc[1] += da
    acc[2] += db
    acc[3] += da * da
    acc[4] += db * db
    acc[5] += da * db


@njit(cache=True, nogil=True, fastmath=False, parallel=True)
def nqm_sums_nb(g, sdiag, Lfull, l_dense, hdiag, Hfull, h_dense, kind, a0, b0,
                n_samples, chunk, seed, out):
    """Statistics of ``n_samples`` noisy updates, drawn in chunks of ``chunk`` samples.

    Chunk ``c`` uses stream ``c`` of ``seed``; ``out`` has shape
    (n_chunks, N_STATS) and row ``c`` receives that chunk's sums.
    """
    n = g.shape[0]
    n_chunks = out.shape[0]
    for c in prange(n_chunks):
        z = np.empty(n)
        x = np.empty(n)
        u = np.empty(n)
        acc = np.zeros(N_STATS)
        state = stream_state_nb(np.uint64(seed), np.uint64(c))
        start = c * chunk
        stop = min(start + chunk, n_samples)
        for _ in range(start, stop):
            if not (l_dense or h_dense):
                # fused O(n) path: same operations as the general path, no buffers
                a = 0.0
                b = 0.0
                for i in range(n):
                    state, v = _normal_nb(state)
                    xi = g[i] + sdiag[i] * v
                    if kind == SGD:
                        ui = xi
                    else:  # branch-free sign (the signs are unpredictable)
                        ui = np.float64(xi > 0.0) - np.float64(xi < 0.0)
                    a += ui * g[i]
                    b += hdiag[i] * ui * ui
            else:
                for i in range(n):
                    state, v = _normal_nb(state)
                    z[i] = v
                _noisy_gradient_nb(z, g, sdiag, Lfull, l_dense, x)
                _update_nb(x, kind, u)
                a, b = _ab_nb(u, g, hdiag, Hfull, h_dense)
            _accumulate_nb(a, b, a0, b0, acc)
        for k in range(N_STATS):
            out[c, k] = acc[k]


@njit(cache=True, nogil=True, fastmath=False)
def nqm_sums_from_normals_nb(Z, g, sdiag, Lfull, l_dense, hdiag, Hfull, h_dense, kind, a0, b0, out):
    """As one chunk of :func:`nqm_sums_nb`, with the normals given as rows of ``Z``."""
    n = g.shape[0]
    x = np.empty(n)
    u = np.empty(n)
    acc = np.zeros(N_STATS)
    for r in range(Z.shape[0]):
        _noisy_gradient_nb(Z[r], g, sdiag, Lfull, l_dense, x)
        _update_nb(x, kind, u)
        a, b = _ab_nb(u, g, hdiag, Hfull, h_dense)
        _accumulate_nb(a, b, a0, b0, acc)
    for k in range(N_STATS):
        out[k] = acc[k]


def nqm_sums(g, H, Sigma, B, update, a0, b0, n_samples, rng):
    """The N_STATS shifted sums of ``n_samples`` noisy updates at batch size ``B`` (numba).

    ``H`` and ``Sigma`` are dense validated (n, n) matrices; a diagonal one
    takes the O(n) per-sample path. The kernel's seed is drawn from ``rng``.
    """
    kind = SGD if update == "sgd" else SIGN
    h_dense = not is_diagonal(H)
    l_dense = not is_diagonal(Sigma)
    empty = np.zeros((1, 1))
    sd = np.sqrt(np.diag(Sigma) / B)
    Lf = np.ascontiguousarray(noise_factor(Sigma) / math.sqrt(B)) if l_dense else empty
    Hf = np.ascontiguousarray(H) if h_dense else empty
    hdiag = np.ascontiguousarray(np.diag(H))
    out = np.zeros((-(-n_samples // CHUNK), N_STATS))
    seed = int(rng.integers(0, 2 ** 63))
    nqm_sums_nb(g, sd, Lf, l_dense, hdiag, Hf, h_dense, kind, a0, b0, n_samples, CHUNK, seed, out)
    return out.sum(axis=0)
