"""Benchmarks of refimpl.attention: exact causal attention at long lengths.

Causal attention, float64, n = 4k, 16k (d = 64 and 128) and 64k (d = 64):
the numba streaming kernel vs the reference definition (scores
materialised, where they fit) vs torch ``scaled_dot_product_attention`` on
CPU, against a GEMM floor: the 2 n^2 d flops that causal attention's two
matrix products need (half of QK^T and half of PV), run as square 1024^3
float64 GEMMs, i.e. at this machine's measured GEMM rate. The exponentials
are the one other unavoidable piece of work: a second floor row times
``np.exp`` over the n^2/2 visible scores (in place, in tiles that stay in
cache), shown for accounting; the "x floor" ratio is against the GEMM floor.

One float32 case (n = 4k, d = 64) times refimpl on float32 input (it
computes in float64) against torch's own float32 SDPA.

Peak memory: for each implementation, the first (warm-up) call is wrapped in
a resource-based measurement of the whole process: the kernel's peak-RSS
counter is reset (``/proc/self/clear_refs`` = 5, Linux >= 4.0) and the
reported figure is ``VmHWM - VmRSS`` read from ``/proc/self/status`` around
the call, i.e. the extra resident memory at the peak, counting NumPy, numba
and torch allocations alike (tracemalloc would miss numba's and torch's).
The inputs already exist before the call; the output (n x d) is included.
"""
from __future__ import annotations

import math

import numpy as np

from refimpl.attention import attention

from ._harness import Impl, Spec, case, optional_torch, reset_peak_rss

_GEMM = 1024


def _status(field):
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _measured(label, fn, memory, spec_box):
    """Wrap fn so that its first call records the extra peak RSS into memory[label]."""
    state = {"done": False}

    def wrapped():
        if state["done"]:
            return fn()
        state["done"] = True
        ok = reset_peak_rss()
        base = _status("VmRSS")
        out = fn()
        peak = _status("VmHWM")
        memory[label] = (peak - base) if (ok and base is not None and peak is not None) else None
        spec = spec_box.get("spec")
        if spec is not None:
            parts = []
            for k, v in memory.items():
                parts.append(f"{k} {v / 2**20:.0f} MiB" if v is not None else f"{k} n/a")
            spec.notes = spec_box["notes"] + " Extra peak RSS of the first call: " + "; ".join(parts) + "."
        return out

    return wrapped


def _gemm_floor(n, d):
    g = min(_GEMM, int(round((n * n * d) ** (1 / 3))))  # square GEMMs, 1024^3 at full sizes
    count = max(1, round(n * n * d / g**3))  # count * 2 g^3 = 2 n^2 d flops
    rng = np.random.default_rng(0)
    a = rng.standard_normal((g, g))
    b = rng.standard_normal((g, g))
    c = np.empty((g, g))

    def fn():
        for _ in range(count):
            np.matmul(a, b, out=c)
        return None

    label = f"floor: 2n^2d flops = {count}x GEMM {g}^3"
    return Impl(label, "floor", fn)


def _exp_floor(n, tile=1 << 15):
    """np.exp over n^2/2 float64 values, in place on a cache-sized tile (not part of the 'x floor' ratio)."""
    total = n * n // 2
    reps, rest = divmod(total, tile)
    buf = -np.random.default_rng(1).random(tile)
    work = np.empty(tile)

    def fn():
        for _ in range(reps):
            np.exp(buf, out=work)
        np.exp(buf[:rest], out=work[:rest])
        return None

    return Impl(f"floor part: np.exp of n^2/2 = {total:.3g} scores", "floor", fn, primary=False)


def _last_rows(out):
    return out[-64:]


def _causal_case(n_full, n_quick, numpy_ok, reps=None, d=64, eta=None, skip_why=None):
    def setup(quick):
        n = n_quick if quick else n_full
        rng = np.random.default_rng(n)
        q, k, v = (rng.standard_normal((n, d)) for _ in range(3))
        attention(q[:300], k[:300], v[:300], causal=True, backend="numba")  # JIT / cache load outside timing
        memory, box = {}, {}
        impls = [Impl("refimpl numba streaming", "refimpl",
                      _measured("numba", lambda: attention(q, k, v, causal=True, backend="numba"), memory, box),
                      jit=True)]
        if numpy_ok or quick:
            impls.append(Impl("refimpl numpy materialising", "refimpl",
                              _measured("numpy", lambda: attention(q, k, v, causal=True, backend="reference"),
                                        memory, box)))
        torch = optional_torch()
        ref = "refimpl numpy materialising" if (numpy_ok or quick) else "refimpl numba streaming"
        notes = ""
        if not (numpy_ok or quick):
            notes = skip_why or (
                f"NumPy materialising path and torch skipped: the n x n float64 scores alone need "
                f"{n * n * 8 / 2**30:.0f} GiB, and torch's float64 CPU SDPA materialises too "
                f"(about 24 n^2 bytes measured at n=16k, i.e. ~{24 * n * n / 2**30:.0f} GiB here).")
            torch = None
        compare = None
        if not (numpy_ok or quick):
            # correctness at full length: with bottom-right causal alignment the last 64 queries
            # alone see exactly the keys they see in the full problem (the reference definition, 64 x n scores)
            impls.append(Impl("refimpl numpy, last 64 query rows", "refimpl",
                              lambda: attention(q[-64:], k, v, causal=True, backend="reference")))
            ref = "refimpl numpy, last 64 query rows"
            compare = _last_rows
        if torch is not None:
            F = torch.nn.functional
            tq, tk, tv = (torch.from_numpy(a) for a in (q, k, v))
            F.scaled_dot_product_attention(tq[:300], tk[:300], tv[:300], is_causal=True)
            impls.append(Impl("torch SDPA CPU float64", "peer",
                              _measured("torch", lambda: F.scaled_dot_product_attention(
                                  tq, tk, tv, is_causal=True, scale=1 / math.sqrt(d)).numpy(), memory, box)))
            ref = "torch SDPA CPU float64"
        impls.append(_gemm_floor(n, d))
        impls.append(_exp_floor(n))
        spec = Spec(f"causal attention n={n}, d={d}, float64 (one head)", impls, reference=ref, rtol=1e-12,
                    compare=compare, notes=notes, reps=reps, size=f"n={n}, d={d}, float64", eta_s=eta)
        box["spec"] = spec
        box["notes"] = notes
        return spec

    return setup


case("attention.causal_4k")(_causal_case(4096, 128, True, eta=10))
case("attention.causal_4k_d128")(_causal_case(4096, 128, True, d=128, eta=15))
case("attention.causal_16k")(_causal_case(16384, 256, True, reps=1, eta=40))
case("attention.causal_16k_d128")(_causal_case(
    16384, 256, False, reps=1, d=128, eta=40,
    skip_why="NumPy materialising path and torch skipped to keep the full run short (about 10 s a call each "
             "here; attention.causal_16k times both at d = 64)."))
case("attention.causal_64k")(_causal_case(65536, 512, False, reps=1, eta=60))


@case("attention.causal_4k_float32")
def _causal_float32(quick):
    n, d = (256, 64) if quick else (4096, 64)
    rng = np.random.default_rng(n)
    q, k, v = (rng.standard_normal((n, d)).astype(np.float32) for _ in range(3))
    attention(q[:300], k[:300], v[:300], causal=True, backend="numba")
    impls = [Impl("refimpl numba streaming (float32 in, float64 math)", "refimpl",
                  lambda: attention(q, k, v, causal=True, backend="numba"), jit=True)]
    torch = optional_torch()
    ref = impls[0].label
    if torch is not None:
        F = torch.nn.functional
        tq, tk, tv = (torch.from_numpy(a) for a in (q, k, v))
        impls.append(Impl("torch SDPA CPU float32", "peer", lambda: F.scaled_dot_product_attention(
            tq, tk, tv, is_causal=True, scale=1 / math.sqrt(d)).numpy()))
    g = _gemm_floor(n, d)
    impls.append(g)
    # float32 inputs: refimpl's float64 result vs torch's float32 one differ by float32 rounding (case table: 2e-5)
    return Spec(f"causal attention n={n}, d={d}, float32 inputs (one head)", impls, reference=ref, rtol=2e-5,
                size=f"n={n}, d={d}, float32", eta_s=10,
                notes="the floor is the float64 GEMM floor; refimpl widens float32 inputs to float64")
