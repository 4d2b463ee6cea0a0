"""The benchmark harness behind ``python -m bench``.

A *case* is a function decorated with :func:`case` that takes ``quick`` and
returns a :class:`Spec`: the implementations to time (refimpl paths, peers,
and a hardware floor for the same data size) and how to compare their
outputs. Everything runs in one process, after a warm-up call whose time is
reported separately (for numba paths it includes JIT compilation or the
cache load), and the minimum, median and maximum of repeated timings are
printed with ratios against the fastest peer (median over median) and
against the floor (median over the floor's minimum: a floor is a physical
limit, so its best time over enough repetitions is the stable figure).
"""
from __future__ import annotations

import dataclasses
import datetime
import gc
import os
import platform
import re
import statistics
import time

import numpy as np

__all__ = ["CASES", "Impl", "Spec", "busy_warning", "case", "display_name", "floor_copy", "floor_gemm",
           "gemm_rate", "machine_info", "run_case", "time_call"]

KINDS = ("refimpl", "peer", "floor")


@dataclasses.dataclass
class Impl:
    """One implementation in a case: ``fn()`` runs it once and returns its output."""

    label: str
    kind: str  # "refimpl" | "peer" | "floor"
    fn: object
    jit: bool = False  # its first call compiles (numba)
    primary: bool = True  # a floor that the "x floor" ratio uses (False: shown for accounting only)

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
    size: str = ""  # the sizes of this run, e.g. "n=4096, d=64" (printed before the case starts)
    eta_s: float | None = None  # rough wall time of the case in a full run, when no earlier run is recorded


@dataclasses.dataclass
class Row:
    """One timed implementation."""

    label: str
    kind: str
    median_s: float
    first_call_s: float
    reps: int
    min_s: float = 0.0
    max_s: float = 0.0
    max_rel_err: float | None = None
    vs_fastest_peer: float | None = None
    vs_floor: float | None = None


CASES = {}


#: A floor's minimum is taken over at least this many timed repetitions (even in a case with ``reps``).
FLOOR_REPS = 5


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

    Returns ``(first_call_s, samples, reps, output)``: ``samples`` holds the
    time of one call in each timed repetition. Fast functions are looped
    ``number`` times per repetition (as ``timeit.autorange``) so that a
    repetition lasts at least about 2 ms.
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
    return first, samples, len(samples) * number, out


def _rel_err(a, b, atol):
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        return np.inf
    scale = max(float(np.max(np.abs(b), initial=0.0)), atol, 1e-300)
    return float(np.max(np.abs(a.astype(np.complex128) - b.astype(np.complex128)), initial=0.0) / scale)


def run_case(name, quick=False, spec=None):
    """Run one case (``spec``: its already built :class:`Spec`); return ``(spec, rows, ok)``."""
    if spec is None:
        spec = CASES[name](quick)
    kw = dict(min_time=0.02, max_reps=5, min_reps=1) if quick else {}
    if spec.reps is not None and not quick:  # long cases (seconds per call) time fewer repetitions
        kw = dict(min_time=0.0, max_reps=spec.reps, min_reps=spec.reps)
    conv = spec.compare or (lambda x: x)
    # the reference runs first and only its output is kept: every other output is compared with it and
    # dropped at once, so a case holds at most two outputs (a (4, 32, 4096, 128) float64 array is 512 MiB)
    order = sorted(range(len(spec.impls)), key=lambda i: spec.impls[i].label != spec.reference)
    rows, ref, ok = [None] * len(spec.impls), None, True
    for i in order:
        impl = spec.impls[i]
        ikw = dict(kw)
        if impl.kind == "floor" and not quick:  # the floor's best time needs repetitions to be stable
            ikw["min_reps"] = max(ikw.get("min_reps", 3), FLOOR_REPS)
            ikw["max_reps"] = max(ikw.get("max_reps", 30), FLOOR_REPS)
        first, samples, reps, out = time_call(impl.fn, **ikw)
        row = Row(impl.label, impl.kind, statistics.median(samples), first, reps, min(samples), max(samples))
        rows[i] = row
        if spec.reference is not None and impl.kind != "floor":
            if impl.label == spec.reference:
                ref = conv(out)
            row.max_rel_err = _rel_err(conv(out), ref, spec.atol)
            if not row.max_rel_err <= spec.rtol:
                ok = False
        del out
        gc.collect()
    peers = [r.median_s for r in rows if r.kind == "peer"]
    floors = [r.min_s for r, impl in zip(rows, spec.impls) if r.kind == "floor" and impl.primary]
    for row in rows:
        row.vs_fastest_peer = row.median_s / min(peers) if peers else None
        row.vs_floor = row.median_s / min(floors) if floors else None
    del ref
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
    """The table of one case as text (the label column as wide as the longest label)."""
    w = max([len("implementation")] + [len(r.label) for r in rows])
    k = max([len("kind")] + [len(r.kind) for r in rows])
    head = (f"  {'implementation':<{w}} {'kind':<{k}} {'min':>10} {'median':>10} {'max':>10} "
            f"{'x fastest peer':>14} {'x floor':>8} {'first call':>11} {'max rel err':>11}")
    lines = [head]
    for r in rows:
        peer = "-" if r.vs_fastest_peer is None else f"{r.vs_fastest_peer:.3g}"
        floor = "-" if r.vs_floor is None else f"{r.vs_floor:.3g}"
        err = "-" if r.max_rel_err is None else f"{r.max_rel_err:.1e}"
        lines.append(f"  {r.label:<{w}} {r.kind:<{k}} {_fmt_time(r.min_s):>10} {_fmt_time(r.median_s):>10} "
                     f"{_fmt_time(r.max_s):>10} {peer:>14} {floor:>8} {_fmt_time(r.first_call_s):>11} {err:>11}")
    return "\n".join(lines)


_SIZE_TAG = re.compile(r"_(L?\d+k|\d+x\d+(x\d+)*|batch\d+x\d+x\d+)(?=_|$)")


def display_name(name, quick):
    """The case name to print: in a ``--quick`` run the full-size tag (``_L64k``, ``_1024x4096``) is
    replaced by ``[quick]`` so that no label claims a size the run did not use."""
    if not quick:
        return name
    short, count = _SIZE_TAG.subn("", name)
    return f"{short}[quick]" if count else name


def gemm_rate(n=512, reps=7, dtype=np.float64):
    """The machine's GEMM rate now, in GFLOP/s: the best of ``reps`` (n, n) x (n, n) products."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    c = np.empty_like(a)
    np.matmul(a, b, out=c)
    best = np.inf
    for _ in range(reps):
        t0 = time.perf_counter()
        np.matmul(a, b, out=c)
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def busy_warning(load_start, load_end, rate_start, rate_end, cores=None):
    """The reasons to distrust a run's timings (empty when none): the load average above the core
    count at the start or the end, or the GEMM-rate probe at the end below 0.8x the one at the start."""
    cores = cores or os.cpu_count() or 1
    reasons = []
    for when, load in (("start", load_start), ("end", load_end)):
        if load is not None and load > cores:
            reasons.append(f"1-minute load average {load:.2f} at the {when} exceeds the {cores} cores")
    if rate_start and rate_end and rate_end < 0.8 * rate_start:
        reasons.append(f"GEMM rate fell from {rate_start:.1f} to {rate_end:.1f} GFLOP/s during the run")
    return reasons


def reset_peak_rss():
    """Reset the kernel's peak-RSS counter of this process (Linux: /proc/self/clear_refs = 5); True if done."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def peak_rss():
    """The process's peak resident memory in bytes since the last reset (VmHWM), else ru_maxrss, else None."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    except (ImportError, OSError):
        return None


def loadavg():
    """The 1-minute load average, or None where the OS has none."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


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
