"""The benchmark harness behind ``python -m bench``.

A *case* is a function decorated with :func:`case` that takes ``quick`` and
returns a :class:`Spec`: the implementations to time (refimpl paths, peers,
and a hardware floor for the same data size) and how to compare their
outputs. Everything runs in one process, after a warm-up call whose time is
reported separately (for numba paths it includes JIT compilation or the
cache load), and the median of repeated timings is printed with ratios
against the fastest peer and against the floor.
"""
from __future__ import annotations

import dataclasses
import datetime
import os
import platform
import statistics
import time

import numpy as np

__all__ = ["CASES", "Impl", "Spec", "case", "floor_copy", "floor_gemm", "machine_info", "run_case", "time_call"]

KINDS = ("refimpl", "peer", "floor")


@dataclasses.dataclass
class Impl:
    """One implementation in a case: ``fn()`` runs it once and returns its output."""

    label: str
    kind: str  # "refimpl" | "peer" | "floor"
    fn: object
    jit: bool = False  # its first call compiles (numba)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Impl.kind must be one of {KINDS}, got {self.kind!r}")


@dataclasses.dataclass
class Spec:
    """What a case runs: implementations, the output reference and tolerance."""

    description: str
    impls: list
    reference: str | None = None  # label whose output the others must match
    rtol: float = 1e-10
    atol: float = 0.0
    compare: object = None  # optional fn(output) -> ndarray before comparison
    notes: str = ""
    reps: int | None = None  # timed repetitions after the warm-up in a full run (None: the default policy)


@dataclasses.dataclass
class Row:
    """One timed implementation."""

    label: str
    kind: str
    median_s: float
    first_call_s: float
    reps: int
    max_rel_err: float | None = None
    vs_fastest_peer: float | None = None
    vs_floor: float | None = None


CASES = {}


def case(name):
    """Register a benchmark case: ``@case("topic.what")`` on ``def setup(quick) -> Spec``."""
    def deco(fn):
        if name in CASES:
            raise ValueError(f"bench case {name!r} registered twice")
        CASES[name] = fn
        return fn

    return deco


def time_call(fn, *, min_time=0.2, max_reps=30, min_reps=3):
    """Time ``fn`` after one warm-up call.

    Returns ``(first_call_s, median_s, reps, output)``. Fast functions are
    looped ``number`` times per repetition (as ``timeit.autorange``) so that
    a repetition lasts at least about 2 ms.
    """
    t0 = time.perf_counter()
    out = fn()
    first = time.perf_counter() - t0
    number = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        dt = time.perf_counter() - t0
        if dt >= 2e-3 or number >= 1 << 20:
            break
        number *= 4
    samples = [dt / number]
    spent = dt
    while (len(samples) < min_reps or spent < min_time) and len(samples) < max_reps:
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        dt = time.perf_counter() - t0
        spent += dt
        samples.append(dt / number)
    return first, statistics.median(samples), len(samples) * number, out


def _rel_err(a, b, atol):
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        return np.inf
    scale = max(float(np.max(np.abs(b), initial=0.0)), atol, 1e-300)
    return float(np.max(np.abs(a.astype(np.complex128) - b.astype(np.complex128)), initial=0.0) / scale)


def run_case(name, quick=False):
    """Run one case; return ``(spec, rows, ok)``."""
    spec = CASES[name](quick)
    rows, outputs = [], {}
    kw = dict(min_time=0.02, max_reps=5, min_reps=1) if quick else {}
    if spec.reps is not None and not quick:  # long cases (seconds per call) time fewer repetitions
        kw = dict(min_time=0.0, max_reps=spec.reps, min_reps=spec.reps)
    for impl in spec.impls:
        first, med, reps, out = time_call(impl.fn, **kw)
        rows.append(Row(impl.label, impl.kind, med, first, reps))
        outputs[impl.label] = out
    ok = True
    if spec.reference is not None:
        ref = outputs[spec.reference]
        conv = spec.compare or (lambda x: x)
        for row in rows:
            if row.kind == "floor":
                continue
            row.max_rel_err = _rel_err(conv(outputs[row.label]), conv(ref), spec.atol)
            if not row.max_rel_err <= spec.rtol:
                ok = False
    peers = [r.median_s for r in rows if r.kind == "peer"]
    floors = [r.median_s for r in rows if r.kind == "floor"]
    for row in rows:
        row.vs_fastest_peer = row.median_s / min(peers) if peers else None
        row.vs_floor = row.median_s / min(floors) if floors else None
    return spec, rows, ok


def _fmt_time(s):
    if s < 1e-6:
        return f"{s * 1e9:7.1f} ns"
    if s < 1e-3:
        return f"{s * 1e6:7.1f} us"
    if s < 1:
        return f"{s * 1e3:7.2f} ms"
    return f"{s:7.3f} s "


def format_rows(rows):
    """The table of one case as text."""
    head = f"  {'implementation':<34} {'kind':<8} {'median':>10} {'x fastest peer':>15} {'x floor':>9} " \
           f"{'first call':>11} {'max rel err':>11}"
    lines = [head]
    for r in rows:
        peer = "-" if r.vs_fastest_peer is None else f"{r.vs_fastest_peer:.3g}"
        floor = "-" if r.vs_floor is None else f"{r.vs_floor:.3g}"
        err = "-" if r.max_rel_err is None else f"{r.max_rel_err:.1e}"
        lines.append(f"  {r.label:<34} {r.kind:<8} {_fmt_time(r.median_s):>10} {peer:>15} {floor:>9} "
                     f"{_fmt_time(r.first_call_s):>11} {err:>11}")
    return "\n".join(lines)


def machine_info():
    """Machine, library versions and date for the results table."""
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info = {
        "date": datetime.date.today().isoformat(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    for mod in ("scipy", "numba", "torch"):
        try:
            info[mod] = __import__(mod).__version__
        except ImportError:
            info[mod] = "absent"
    return info


def floor_copy(nbytes, label=None):
    """A memory-copy floor: copy ``nbytes`` between two preallocated buffers."""
    n = max(1, int(nbytes) // 8)
    src = np.ones(n)
    dst = np.empty(n)

    def fn():
        np.copyto(dst, src)
        return None

    return Impl(label or f"floor: memcpy {nbytes / 2**20:.2f} MiB", "floor", fn)


def floor_gemm(m, n, k, dtype=np.float64, count=1, label=None):
    """A GEMM floor: ``count`` products of (m, k) by (k, n) matrices."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    c = np.empty((m, n), dtype=dtype)

    def fn():
        for _ in range(count):
            np.matmul(a, b, out=c)
        return None

    name = label or f"floor: {count}x GEMM {m}x{k}x{n} {np.dtype(dtype).name}"
    return Impl(name, "floor", fn)


def optional_torch():
    """``torch`` if importable (CPU), else ``None``."""
    try:
        import torch
    except ImportError:
        return None
    return torch
