r"""Time a kernel against refimpl: :func:`compare_speed` (``refimpl compare-speed``).

A speed figure means something only for a correct kernel and next to a
limit, so :func:`compare_speed` does three things in order:

1. **correctness first**: the candidate runs on the case's deterministic
   examples (:func:`refimpl.testing.oracle.run_examples`, the tolerance of
   :func:`~refimpl.testing.check_against`) and on the sized input it is
   about to be timed on; a candidate that fails either is refused
   (:class:`SpeedCheckError`) and never timed;
2. **timing**: the candidate, and refimpl's own paths (the default and each
   fast backend that runs here), on the same input, after a warm-up call
   (which includes JIT compilation, CUDA context start...), repeated until
   ``min_time`` has passed; calls on a GPU synchronise the device before the
   clock stops (``torch.cuda.synchronize()`` for torch tensors on CUDA,
   ``cupy.cuda.Device().synchronize()`` for CuPy arrays);
3. **ratios**, as ``python -m bench`` prints them: candidate / refimpl's
   fastest path (median over median) and candidate / hardware floor (median
   over the floor). The floor is the larger of a compute floor (the case's
   flop count at this machine's measured float64 GEMM rate) and a memory
   floor (the bytes of the inputs and outputs at the measured copy rate).

The input is the case row's generator (``refimpl/<topic>/cases.py``) with its
drawn labels pinned: ``size`` is either a dict of pins (``{"n_q": 4096,
"n_k": 4096, "d": 64}``) or, for the cases in :data:`PRESETS`, one number
that the preset turns into pins (attention: the sequence length). Options
the candidate does not take are held at refimpl's defaults.
"""
from __future__ import annotations

import dataclasses
import statistics
import sys
import time

import numpy as np

from .cases import get_case
from .oracle import converter, dtype_name, evaluate, run_examples, unaccepted_defaults
from .sources import RngSource

__all__ = ["PRESETS", "SpeedCheckError", "SpeedResult", "compare_speed", "sized_inputs"]


@dataclasses.dataclass(frozen=True)
class Preset:
    """How one number sizes a case: ``pins(n)`` -> drawn labels; ``flops(pins)`` its arithmetic (or None)."""

    what: str
    default: int
    pins: object
    flops: object = None


def _attention_flops(p):
    nq, nk, d, dv = p["n_q"], p["n_k"], p["d"], p["d_v"]
    full = 2.0 * nq * nk * (d + dv)
    return full / 2 if p.get("causal") and nq == nk else full


def _ns_flops(p):
    n, m = sorted((p["n"], p["m"]))
    steps = 5
    return steps * (2.0 * n * n * m + 2.0 * n**3 + 2.0 * n * n * m) * (2 if p.get("batched") else 1)


#: Sizing presets: ``size=n`` means these pins (other labels keep the case's defaults).
PRESETS = {
    "attention.attention": Preset(
        "one head, sequence length n = n_q = n_k, d = d_v = 64, causal", 4096,
        lambda n: {"layout": "nd", "n_q": int(n), "n_k": int(n), "d": 64, "d_v": 64, "causal": True,
                   "mask_kind": "none", "scale_kind": "default", "return_weights": False},
        _attention_flops),
    "muon.newton_schulz": Preset(
        "one n x n matrix, Keller's 5 steps", 1024,
        lambda n: {"n": int(n), "m": int(n), "batched": False, "coefficients": "keller", "steps": None,
                   "log10_scale": 0.0},
        _ns_flops),
    "rope.apply": Preset(
        "x (4, n, 128): 4 heads of n positions", 4096,
        lambda n: {"H": 4, "L": int(n), "d": 128, "partial_rotary": False}),
    "ssm.legs_matvec": Preset("N = n", 4096, lambda n: {"N": int(n)}),
}


class SpeedCheckError(AssertionError):
    """The candidate is not correct: :func:`compare_speed` refuses to time it."""


@dataclasses.dataclass
class Timing:
    """The timings of one implementation: min/median/max over ``reps`` calls, and the first call apart."""

    label: str
    min_s: float
    median_s: float
    max_s: float
    first_call_s: float
    reps: int


@dataclasses.dataclass
class SpeedResult:
    """What :func:`compare_speed` measured; ``x_refimpl`` / ``x_floor`` are the candidate's ratios."""

    name: str
    pins: dict
    dtype: str
    candidate: Timing
    refimpl: list
    floor_s: float
    floor_what: str
    correctness: object  # the OracleResult of the examples
    sized_error_ratio: float

    @property
    def fastest_refimpl(self):
        return min(self.refimpl, key=lambda t: t.median_s) if self.refimpl else None

    @property
    def x_refimpl(self):
        f = self.fastest_refimpl
        return self.candidate.median_s / f.median_s if f else None

    @property
    def x_floor(self):
        return self.candidate.median_s / self.floor_s if self.floor_s else None

    def report(self):
        """The table and the ratio lines, as ``python -m bench`` prints them."""
        pins = ", ".join(f"{k}={v!r}" for k, v in self.pins.items())
        rows = [self.candidate] + list(self.refimpl)
        w = max(len("implementation"), max(len(r.label) for r in rows), len("floor: " + self.floor_what))
        fast = self.fastest_refimpl
        lines = [f"compare-speed {self.name} at {self.dtype}, {pins}",
                 f"  correct: {self.correctness.n_examples} examples and the timed input within the case's "
                 f"tolerance (rtol={self.correctness.rtol:g}, atol={self.correctness.atol:g}; worst error/tolerance "
                 f"{max(self.correctness.worst_ratio, self.sized_error_ratio):.3g})",
                 f"  {'implementation':<{w}} {'min':>10} {'median':>10} {'max':>10} {'x refimpl':>10} "
                 f"{'x floor':>8} {'first call':>11}"]
        for r in rows:
            xr = f"{r.median_s / fast.median_s:.3g}" if fast else "-"
            xf = f"{r.median_s / self.floor_s:.3g}" if self.floor_s else "-"
            lines.append(f"  {r.label:<{w}} {_fmt(r.min_s):>10} {_fmt(r.median_s):>10} {_fmt(r.max_s):>10} "
                         f"{xr:>10} {xf:>8} {_fmt(r.first_call_s):>11}")
        lines.append(f"  {'floor: ' + self.floor_what:<{w}} {'':>10} {_fmt(self.floor_s):>10}")
        if fast:
            lines.append(f"  candidate / refimpl fastest ({fast.label}): {self.x_refimpl:.3g}x "
                         f"({'faster' if self.x_refimpl < 1 else 'slower'})")
        lines.append(f"  candidate / floor: {self.x_floor:.3g}x")
        return "\n".join(lines)


def _fmt(s):
    if s < 1e-3:
        return f"{s * 1e6:7.1f} us"
    if s < 1:
        return f"{s * 1e3:7.2f} ms"
    return f"{s:7.3f} s "


def sized_inputs(name, size=None, fixed=None):
    """``(case, pins, args, kwargs)``: the case's generator with its drawn labels pinned to ``size``.

    ``size`` is a dict of pins, a number (for a case in :data:`PRESETS`) or
    None (the preset's default size). Options not pinned are held at
    refimpl's defaults.
    """
    case = get_case(name)
    preset = PRESETS.get(name)
    if isinstance(size, dict):
        pins = dict(size)
    elif size is None or (isinstance(size, (int, np.integer)) and not isinstance(size, bool)):
        if preset is None:
            raise ValueError(f"parameter 'size': case {name!r} has no sizing preset; pass a dict of its drawn "
                             f"labels, e.g. size={{'n': 512}} (presets: {', '.join(PRESETS)})")
        n = preset.default if size is None else int(size)
        if n < 1:
            raise ValueError(f"parameter 'size' must be >= 1, got {n}")
        pins = preset.pins(n)
    else:
        raise TypeError(f"parameter 'size' must be an int, a dict of pins or None, got {type(size).__name__}")
    pins.update(fixed or {})
    src = RngSource(case.seed(0), pins, case.keyword_defaults())
    args, kwargs = case.sample(src)
    return case, pins, args, kwargs


def _sync_for(values):
    """A function that waits for the device the values live on (a no-op on the CPU)."""
    syncs = []
    for v in values:
        mod = type(v).__module__.split(".")[0]
        if mod == "torch" and getattr(v, "is_cuda", False):
            import torch

            syncs.append(torch.cuda.synchronize)
            break
        if mod == "cupy":
            import cupy

            syncs.append(lambda: cupy.cuda.Device().synchronize())
            break
    return (lambda: [s() for s in syncs]) if syncs else (lambda: None)


def _time(label, fn, sync, min_time, max_reps=50, min_reps=3):
    t0 = time.perf_counter()
    fn()
    sync()
    first = time.perf_counter() - t0
    samples, spent = [], 0.0
    while (len(samples) < min_reps or spent < min_time) and len(samples) < max_reps:
        t0 = time.perf_counter()
        fn()
        sync()
        dt = time.perf_counter() - t0
        samples.append(dt)
        spent += dt
    return Timing(label, min(samples), statistics.median(samples), max(samples), first, len(samples))


def _gemm_rate(n=1024, reps=5):
    a = np.random.default_rng(0).standard_normal((n, n))
    c = np.empty_like(a)
    np.matmul(a, a, out=c)
    best = min(_best(lambda: np.matmul(a, a, out=c)) for _ in range(reps))
    return 2.0 * n**3 / best


def _copy_rate(nbytes=1 << 27, reps=5):
    src = np.ones(nbytes // 8)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    best = min(_best(lambda: np.copyto(dst, src)) for _ in range(reps))
    return 2.0 * src.nbytes / best  # read + write


def _best(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _nbytes(values):
    return sum(int(np.asarray(v).nbytes) for v in values if isinstance(v, np.ndarray))


def _device_converter(convert, dtype, device):
    if convert == "cupy":
        import cupy

        return cupy.asarray
    conv = converter(convert, dtype)
    if device is None or device == "cpu":
        return conv
    if convert != "torch":
        raise ValueError(f"parameter 'device': {device!r} needs convert='torch' (or convert='cupy' for a CuPy "
                         f"kernel); got convert={convert!r}")

    def to_device(a):
        return conv(a).to(device)

    return to_device


def compare_speed(name, candidate, *, size=None, convert=None, device=None, dtype="float64", fixed=None,
                  min_time=1.0, examples=6, file=None):
    """Check ``candidate`` against oracle ``name``, then time it against refimpl and the hardware floor.

    Parameters
    ----------
    name : str
        A case name (``"attention.attention"``; see :func:`refimpl.testing.oracle_names`).
    candidate : callable
        Called like the refimpl function (arrays positionally, options by
        keyword), on inputs converted by ``convert``.
    size : int, dict or None
        The timed input: a dict pins the case's drawn labels
        (``{"n_q": 4096, "n_k": 4096, "d": 64}``); a number is the preset
        size of a case in :data:`PRESETS`; None is the preset's default.
    convert : None, "torch", "jax", "cupy" or callable
        How NumPy inputs become the candidate's (as in ``check_against``).
    device : str, optional
        With ``convert="torch"``: where the tensors go (``"cuda"``); the
        timing then synchronises the device after each call.
    dtype : str
        The dtype under test (inputs rounded to it, its tolerance).
    fixed : dict, optional
        Labels the candidate implements one value of (as in ``check_against``).
    min_time : float
        Seconds of timed calls per implementation (at least 3 calls).
    examples : int
        Deterministic examples of the correctness gate.
    file : file-like, optional
        Where the report goes (default stdout); None-like ``False`` prints nothing.

    Returns
    -------
    SpeedResult

    Raises
    ------
    SpeedCheckError
        The candidate fails the correctness gate (it is not timed).
    ValueError
        Unknown case, or a ``size`` the case cannot take.

    Notes
    -----
    The reference runs once at the chosen size (for the correctness check
    of the timed input): attention's reference materialises the n x n
    scores, so keep n at a size whose scores fit in memory (16k: 2 GiB).
    """
    dtype = dtype_name(dtype)
    fixed = dict(fixed or {})
    case, pins, args, kwargs = sized_inputs(name, size, fixed)
    conv = _device_converter(convert, dtype, device)
    gate = run_examples(case, candidate, n=examples, dtype=dtype, convert=conv, fixed=fixed)
    if not gate.passed:
        raise SpeedCheckError("the candidate is not timed: it fails the correctness gate\n" + gate.message)
    auto = unaccepted_defaults(case, candidate, fixed)
    rtol, atol = case.tolerance(dtype)
    outcome, cargs, ckwargs, _ = evaluate(case, args, kwargs, candidate, dtype, conv, rtol, atol,
                                          set(fixed) | set(auto))
    if not outcome.ok:
        raise SpeedCheckError(f"the candidate is not timed: on the sized input ({pins}) it fails: {outcome.reason}")
    skip = set(fixed) | set(auto)
    cpos = [conv(v) if isinstance(v, np.ndarray) else v for n, v in cargs if n not in skip]
    ckw = {k: (conv(v) if isinstance(v, np.ndarray) else v) for k, v in ckwargs.items() if k not in skip}
    sync = _sync_for(cpos + list(ckw.values()))
    cand = _time("candidate", lambda: candidate(*cpos, **ckw), sync, min_time)
    del cpos, ckw
    # refimpl's paths on the same (dtype-rounded) input
    pos = [v for _, v in cargs]
    refimpl_rows = []
    backends = [None]
    if case._takes_backend():
        backends = ["auto"] + [b for b in case.fast if b != "cupy"]
    for b in backends:
        kw = dict(ckwargs) if b is None else dict(ckwargs, backend=b)
        try:
            case.func(*pos, **kw)
        except Exception:  # noqa: BLE001 - a backend that cannot run here (numba absent) is left out
            continue
        label = case.qualname + ("" if b is None else f" (backend={b!r})")
        refimpl_rows.append(_time(label, lambda kw=kw: case.func(*pos, **kw), lambda: None, min_time))
    if "cupy" in case.fast and convert == "cupy":
        import cupy

        gpos = [cupy.asarray(v) if isinstance(v, np.ndarray) else v for v in pos]
        gkw = {k: (cupy.asarray(v) if isinstance(v, np.ndarray) else v) for k, v in ckwargs.items()}
        refimpl_rows.append(_time(f"{case.qualname} (backend='cupy')",
                                  lambda: case.func(*gpos, **gkw, backend="cupy"), _sync_for(gpos), min_time))
    # the floor: compute (flops at the GEMM rate) or memory (bytes at the copy rate), whichever is larger
    preset = PRESETS.get(name)
    out = case.call(cargs, ckwargs)
    nbytes = _nbytes(pos + list(ckwargs.values())) + _nbytes(out if isinstance(out, (tuple, list)) else [out])
    mem_s = nbytes / _copy_rate()
    floor_s, floor_what = mem_s, f"move {nbytes / 2**20:.3g} MiB at the measured copy rate"
    if preset is not None and preset.flops is not None:
        flops = preset.flops(pins)
        gemm_s = flops / _gemm_rate()
        if gemm_s > mem_s:
            floor_s, floor_what = gemm_s, f"{flops / 1e9:.3g} GFLOP at the measured float64 GEMM rate"
    result = SpeedResult(name, pins, dtype, cand, refimpl_rows, floor_s, floor_what, gate, outcome.ratio)
    if file is not False:
        print(result.report(), file=file or sys.stdout)
    return result


# --------------------------------------------------------------------------- the command line
def _value(text):
    """A pin's value from the command line: int, float, true/false/none, else the string."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "none":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _pins(text, what):
    """``"4096"`` -> 4096; ``"n_q=4096,d=64"`` -> a dict."""
    if "=" not in text:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{what} must be an integer or label=value pairs separated by commas, "
                             f"got {text!r}") from None
    out = {}
    for part in text.split(","):
        key, sep, val = part.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{what}: {part!r} is not label=value")
        out[key.strip()] = _value(val.strip())
    return out


def _load_candidate(target):
    import importlib
    import os

    mod_name, sep, attr = target.partition(":")
    if not sep or not mod_name or not attr:
        raise ValueError(f"the candidate must be given as MODULE:FUNC (e.g. mykernels:attention), got {target!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # the user's module in the current folder
    obj = importlib.import_module(mod_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"{target} is not callable")
    return obj


def cli_main(argv):
    """``refimpl compare-speed MODULE:FUNC CASE [--size N|label=value,...] [--convert torch] [--device cuda]``."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="refimpl compare-speed",
        description="Check a kernel against a refimpl case, then time it against refimpl's fastest path and "
                    "the hardware floor (a wrong kernel is refused, never timed).")
    parser.add_argument("candidate", metavar="MODULE:FUNC", help="the kernel, importable from the current folder")
    parser.add_argument("case", metavar="CASE", help="a case name, e.g. attention.attention (refimpl golden list)")
    parser.add_argument("--size", default=None,
                        help=f"a number (cases with a preset: {', '.join(PRESETS)}) or label=value pins, e.g. "
                             f"n_q=4096,n_k=4096,d=64")
    parser.add_argument("--convert", default=None, help="numpy (default), torch, jax or cupy")
    parser.add_argument("--device", default=None, help="with --convert torch: cpu (default) or cuda")
    parser.add_argument("--dtype", default="float64", help="float64 (default), float32, bfloat16, float16")
    parser.add_argument("--fixed", default=None, help="label=value pins of what the kernel implements")
    parser.add_argument("--min-time", type=float, default=1.0, help="seconds of timed calls per row (default 1)")
    args = parser.parse_args(argv)
    try:
        size = None if args.size is None else _pins(args.size, "--size")
        fixed = None if args.fixed is None else _pins(args.fixed, "--fixed")
        if fixed is not None and not isinstance(fixed, dict):
            raise ValueError("--fixed takes label=value pairs")
        candidate = _load_candidate(args.candidate)
        compare_speed(args.case, candidate, size=size, convert=args.convert, device=args.device, dtype=args.dtype,
                      fixed=fixed, min_time=args.min_time)
    except SpeedCheckError as exc:
        print(f"refimpl compare-speed: {exc}", file=sys.stderr)
        return 1
    except (ValueError, TypeError, ImportError, AttributeError) as exc:
        print(f"refimpl compare-speed: error: {exc}", file=sys.stderr)
        return 2
    return 0
