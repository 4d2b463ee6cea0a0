"""``python -m bench --scaling [CASE|all]``: how each hot path's time grows with its size.

Each sweep times one refimpl path at a few sizes (best of a few calls after
a warm-up), fits ``log t = p log size + c`` by least squares and prints the
fitted exponent ``p`` next to the one the algorithm should have. A fitted
exponent well above the expected one means a hidden quadratic (or worse)
term; well below means the sizes are still in the overhead regime. The
sizes are small so that ``--scaling all`` runs in a few minutes.
"""
from __future__ import annotations

import dataclasses
import sys
import time

import numpy as np


@dataclasses.dataclass
class Sweep:
    name: str
    what: str  # the size variable and the expected law
    sizes: tuple
    expected: float
    make: object  # make(size) -> fn() running the path once


def _attention(n):
    from refimpl.attention import attention

    rng = np.random.default_rng(n)
    q, k, v = (rng.standard_normal((n, 64)) for _ in range(3))
    return lambda: attention(q, k, v, causal=True, backend="numba")


def _legs_recurrence_L(L, N=64):
    from refimpl.ssm import legs_recurrence

    u = np.random.default_rng(L).standard_normal(L)
    out = np.empty((L, N))
    return lambda: legs_recurrence(u, N, "su_bilinear", backend="numba", out=out)


def _legs_recurrence_N(N, L=4096):
    return _legs_recurrence_L(L, N)


def _cauchy(L, H=16, Nh=32):
    from refimpl.ssm import cauchy, nplr

    rng = np.random.default_rng(L)
    v = rng.standard_normal((H, Nh)) + 1j * rng.standard_normal((H, Nh))
    w = np.ascontiguousarray(np.exp(rng.uniform(-7, -2, H))[:, None] * nplr("legs", 2 * Nh, half=True)[0][None, :])
    z = np.exp(-2j * np.pi * np.arange(L // 2 + 1) / L)
    return lambda: cauchy(v, z, w, conj=True, backend="numba")


def _s4_dplr(L, N=64, dt=0.01):
    from refimpl.ssm import ctilde_from_c, discretize, kernel_dplr, nplr

    Lam, P, Bv, V = nplr("legs", N)
    Abv, _ = discretize(np.diag(Lam) - P @ P.conj().T, Bv, dt, "bilinear")
    Ct = ctilde_from_c(Abv, V.T @ np.random.default_rng(12).standard_normal(N), L)
    Lh, Ph, Bh, _ = nplr("legs", N, half=True)
    return lambda: kernel_dplr(Lh, Ph, Ph, Bh, Ct[: N // 2], dt, L, half=True)


def _rtf(L, d=64):
    from refimpl.ssm import rtf_kernel

    rng = np.random.default_rng(14)
    a = rng.standard_normal(d)
    a *= 0.9 / np.sum(np.abs(a))
    b = rng.standard_normal(d)
    return lambda: rtf_kernel(a, b, L)


def _rope(S, B=1, H=8, D=128):
    from refimpl.rope import apply, inv_freq

    x = np.random.default_rng(0).standard_normal((B, H, S, D)).astype(np.float32)
    pos, th, out = np.arange(S), inv_freq(D), np.empty_like(x)
    return lambda: apply(x, pos, th, "half", out=out, backend="numba")


def _ns(n):
    from refimpl.muon import newton_schulz

    M = np.random.default_rng(n).standard_normal((n, n))
    return lambda: newton_schulz(M)


SWEEPS = {s.name: s for s in (
    Sweep("attention", "causal attention, d=64: time ~ n^2", (1024, 2048, 4096, 8192), 2.0, _attention),
    Sweep("legs_recurrence_L", "LegS recurrence, N=64: time ~ L N, L varies", (8192, 16384, 32768, 65536), 1.0,
          _legs_recurrence_L),
    Sweep("legs_recurrence_N", "LegS recurrence, L=4096: time ~ L N, N varies", (64, 128, 256, 512), 1.0,
          _legs_recurrence_N),
    Sweep("cauchy", "Cauchy sums, H=16, N=64: time ~ N L, L varies", (2048, 4096, 8192, 16384), 1.0, _cauchy),
    Sweep("s4_kernel_dplr", "S4 DPLR kernel (Cauchy route), N=64: time ~ L N + L log L", (1024, 4096, 16384, 65536),
          1.0, _s4_dplr),
    Sweep("s4_kernel_rtf", "RTF kernel (FFT route), d=64: time ~ L log L", (4096, 16384, 65536, 262144), 1.0, _rtf),
    Sweep("rope", "rope.apply float32 with out=, (1, 8, S, 128): time ~ bytes", (1024, 2048, 4096, 8192), 1.0, _rope),
    Sweep("newton_schulz", "Newton-Schulz, n x n float64: time ~ n^3", (128, 256, 512, 1024), 3.0, _ns),
)}


def _best(fn, reps, min_time=0.05):
    fn()
    best, spent, k = np.inf, 0.0, 0
    while k < reps or spent < min_time and k < 50:
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best, spent, k = min(best, dt), spent + dt, k + 1
    return best


def fit_exponent(sizes, times):
    """Least-squares slope of log(time) against log(size)."""
    x, y = np.log(np.asarray(sizes, float)), np.log(np.asarray(times, float))
    return float(np.polyfit(x, y, 1)[0])


def run_sweep(sweep, quick=False, reps=3):
    sizes = sweep.sizes[:2] if quick else sweep.sizes
    times = []
    for n in sizes:
        fn = sweep.make(n)
        times.append(_best(fn, 1 if quick else reps))
        del fn
    return sizes, times, fit_exponent(sizes, times)


def main(which, quick=False):
    names = list(SWEEPS) if which == "all" else [which]
    unknown = [n for n in names if n not in SWEEPS]
    if unknown:
        print(f"unknown scaling case {unknown[0]!r}; known: all, {', '.join(SWEEPS)}", file=sys.stderr)
        return 2
    print(f"{'case':<18} {'law':<58} {'sizes':<28} {'best times':<40} {'fitted':>6} {'expected':>8}")
    for name in names:
        sw = SWEEPS[name]
        if sys.stdout.isatty():
            print(f"{name:<18} {sw.what:<58} ...", end="\r", flush=True)
        sizes, times, p = run_sweep(sw, quick)
        ts = ", ".join(f"{t * 1e3:.3g}" for t in times) + " ms"
        print(f"{name:<18} {sw.what:<58} {', '.join(map(str, sizes)):<28} {ts:<40} {p:>6.2f} {sw.expected:>8.2f}")
    print("fitted: the least-squares slope of log(best time) on log(size); expected: the algorithm's exponent "
          "in that size (L log L counts as 1)")
    return 0
