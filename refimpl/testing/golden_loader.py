"""Standalone loader and checker for refimpl golden vectors (NumPy only).

``refimpl golden export DIR`` writes, per oracle case, ``<name>.npz`` (inputs
and float64 reference outputs) plus ``manifest.json`` (refimpl version,
parameters, tolerances, SHA-256 checksums), and copies this file into ``DIR``
as ``refimpl_golden.py``. A project that does not install refimpl (or numba,
SciPy, hypothesis) checks its kernels against the files with only NumPy::

    python golden/refimpl_golden.py golden --module my_project.kernels

or from its own tests::

    import refimpl_golden as rg
    report = rg.check_dir("golden", {"rope.apply": my_rope}, dtype="float32")
    assert report.passed, report.summary()

The candidate for case ``"rope.apply"`` is looked up in the module as
``REFIMPL_CANDIDATES["rope.apply"]`` (a dict the module may define) or as the
attribute ``rope_apply`` (dots become underscores). It is called exactly like
the refimpl function: arrays positionally, options by keyword.

Comparison rule (shared with :func:`refimpl.testing.check_against`): for each
output, ``max|actual - expected| <= atol + rtol * max|expected|`` (a
norm-wise test in the max norm; a case may instead declare the rule
"elementwise", ``|actual - expected| <= atol + rtol |expected|`` everywhere),
with ``(rtol, atol)`` from the manifest for the dtype under test. At a dtype below float64 the inputs are first rounded to
that dtype (float64 -> float32 -> bfloat16 with round-to-nearest-even, as
torch does), and the stored expected outputs for that dtype were computed in
float64 from exactly those rounded inputs, so only the candidate's own
arithmetic error is measured. The candidate must return the dtype under test
(``complex64`` for complex outputs at float32) and the expected shapes.

This file imports nothing but the standard library and NumPy; it must stay
that way (a test enforces it).
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import importlib
import json
import math
import os
import sys

import numpy as np

__all__ = [
    "DTYPES", "FORMAT", "FORMAT_VERSION", "GoldenError", "Outcome", "Report", "cast_inputs",
    "check_case", "check_dir", "compare_outputs", "expected_dtype", "find_candidates",
    "load_case", "load_manifest", "main", "round_bfloat16", "same_value", "to_numpy", "unaccepted_options",
]

FORMAT = "refimpl-golden"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"

#: dtype under test -> (real dtype name, complex dtype name or None).
DTYPES = {
    "float64": ("float64", "complex128"),
    "float32": ("float32", "complex64"),
    "float16": ("float16", None),
    "bfloat16": ("bfloat16", None),
}


class GoldenError(ValueError):
    """A golden-vector directory, manifest or file is missing, corrupt or misused."""


# --------------------------------------------------------------------------- arrays


def dtype_name(x):
    """The dtype of ``x`` as a plain name (``"float32"``, ``"bfloat16"``), or None."""
    dt = getattr(x, "dtype", None)
    if dt is None:
        return None
    return str(dt).replace("torch.", "")


def to_numpy(x):
    """NumPy view of a NumPy/torch/JAX/CuPy array; bfloat16 is widened to float32 (exactly)."""
    mod = type(x).__module__.split(".")[0]
    if mod == "torch":
        t = x.detach().cpu()
        if str(t.dtype) == "torch.bfloat16":
            t = t.float()
        return t.resolve_conj().numpy() if t.is_complex() else t.numpy()
    if mod == "cupy":
        return x.get()
    arr = np.asarray(x)
    if arr.dtype.name == "bfloat16":  # ml_dtypes / JAX
        arr = arr.astype(np.float32)
    return arr


def round_bfloat16(a):
    """Round to the nearest bfloat16 (ties to even), returned as float32.

    float64 input is first rounded to float32, as ``torch.Tensor.to(torch.bfloat16)``
    does for a float64 tensor. NaN stays NaN; values beyond the bfloat16 range
    become +-inf.
    """
    f = np.ascontiguousarray(a, dtype=np.float32)
    u = f.view(np.uint32).astype(np.uint64)
    rounded = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) << 16
    out = rounded.astype(np.uint32).view(np.float32).copy()
    out[np.isnan(f)] = np.nan
    return out.reshape(np.shape(a))


def expected_dtype(reference, dtype):
    """The dtype name a candidate must return for a float64 ``reference`` output at ``dtype``.

    Integer and boolean outputs (indices, permutations, masks) are exact at
    every dtype: the candidate returns the reference's own dtype.
    """
    real, cplx = DTYPES[dtype]
    kind = np.asarray(reference).dtype.kind
    if kind in "iub":
        return np.asarray(reference).dtype.name
    if np.iscomplexobj(reference):
        if cplx is None:
            raise GoldenError(f"dtype {dtype!r} has no complex counterpart; use float32 or float64")
        return cplx
    return real


def cast_inputs(args, kwargs, dtype, keep=()):
    """Round floating/complex arrays among ``args``/``kwargs`` to ``dtype``.

    ``args`` is a list of ``(name, value)``; ``kwargs`` a dict. Integer and
    boolean arrays, Python scalars, strings and the names in ``keep`` pass
    unchanged. bfloat16 values are returned as float32 arrays holding
    bfloat16-representable numbers (NumPy has no bfloat16). Complex inputs at
    bfloat16/float16 (no complex type of that width in NumPy or torch's CPU
    ops) have their real and imaginary parts rounded to the dtype and are
    returned as complex64: a kernel in that dtype holds the two parts apart.
    """
    if dtype not in DTYPES:
        raise GoldenError(f"parameter 'dtype' must be one of {', '.join(DTYPES)}; got {dtype!r}")

    def cast(name, v):
        if name in keep or not isinstance(v, np.ndarray):
            return v
        if v.dtype.kind == "c":
            _, cplx = DTYPES[dtype]
            if cplx is None:
                re, im = (round_bfloat16(p) if dtype == "bfloat16" else p.astype(np.float16).astype(np.float32)
                          for p in (v.real, v.imag))
                return (re + 1j * im).astype(np.complex64)
            return v.astype(cplx)
        if v.dtype.kind != "f":
            return v
        if dtype == "bfloat16":
            return round_bfloat16(v)
        return v.astype(dtype)

    return [(n, cast(n, v)) for n, v in args], {k: cast(k, v) for k, v in kwargs.items()}


# --------------------------------------------------------------------------- comparison


@dataclasses.dataclass
class Outcome:
    """Result of comparing one candidate call with the reference.

    ``ok`` is False on a value error beyond tolerance, a wrong shape, dtype
    or number of outputs, or an exception raised by the candidate; ``reason``
    then says which. ``max_abs`` is the largest absolute error, ``max_rel``
    the largest ``max|a-e| / max|e|`` over the outputs, ``ratio`` the largest
    error divided by the allowed ``atol + rtol max|e|`` (<= 1 passes).
    """

    ok: bool
    reason: str = ""
    max_abs: float = 0.0
    max_rel: float = 0.0
    ratio: float = 0.0
    actual: object = None


def _as_outputs(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


RULES = ("normwise", "elementwise")


def compare_outputs(expected, actual, dtype, rtol, atol, *, rule="normwise", check_dtype=True):
    """Compare a candidate's ``actual`` return value with the reference ``expected``.

    ``expected`` is the reference return value (one array or a tuple);
    returns an :class:`Outcome`. ``rule="normwise"``: ``max|a - e| <= atol +
    rtol max|e|`` per output; ``rule="elementwise"``: ``|a - e| <= atol +
    rtol |e|`` for every element (for outputs spanning many orders of
    magnitude, such as RoPE frequencies).
    """
    if rule not in RULES:
        raise GoldenError(f"parameter 'rule' must be one of {', '.join(RULES)}; got {rule!r}")
    exp = _as_outputs(expected)
    multi = isinstance(expected, (tuple, list))
    if multi and not isinstance(actual, (tuple, list)):
        return Outcome(False, f"wrong number of outputs: candidate returned one value, expected a tuple of {len(exp)}",
                       actual=actual)
    act = _as_outputs(actual) if multi else (actual,)
    if len(act) != len(exp):
        return Outcome(False, f"wrong number of outputs: candidate returned {len(act)}, expected {len(exp)}",
                       actual=actual)
    worst = Outcome(True, actual=actual)
    dtype_problem = None  # reported after the values, so a dtype slip is told apart from wrong numbers
    for j, (e, a) in enumerate(zip(exp, act)):
        label = f"output {j}" if multi else "output"
        e_arr = np.asarray(e)
        if check_dtype and isinstance(e, np.ndarray):
            want = expected_dtype(e_arr, dtype)
            got = dtype_name(a)
            if got is None:
                return Outcome(False, f"wrong dtype: {label} is a {type(a).__name__} without a dtype, expected an "
                                      f"array of dtype {want}", actual=actual)
            if got != want and dtype_problem is None:
                hint = ""
                if type(a).__module__.split(".")[0] in ("jax", "jaxlib") and want in ("float64", "complex128"):
                    hint = " (JAX computes in float32 unless jax.config.update('jax_enable_x64', True))"
                dtype_problem = f"wrong dtype: {label} has dtype {got}, expected {want}{hint}"
        try:
            a_arr = to_numpy(a)
        except Exception as exc:  # noqa: BLE001 - reported, not hidden
            return Outcome(False, f"{label}: cannot convert {type(a).__name__} to a NumPy array ({exc})",
                           actual=actual)
        if a_arr.shape != e_arr.shape:
            return Outcome(False, f"wrong shape: {label} has shape {a_arr.shape}, expected {e_arr.shape}",
                           actual=actual)
        if a_arr.dtype.kind not in "fciub":
            return Outcome(False, f"{label} has non-numeric dtype {a_arr.dtype}", actual=actual)
        if np.iscomplexobj(a_arr) and not np.iscomplexobj(e_arr):
            return Outcome(False, dtype_problem or f"wrong dtype: {label} is complex, expected a real array",
                           actual=actual)
        wide = np.complex128 if np.iscomplexobj(e_arr) or np.iscomplexobj(a_arr) else np.float64
        ea = e_arr.astype(wide)
        aa = a_arr.astype(wide)
        if ea.size == 0:
            continue
        finite = bool(np.all(np.isfinite(aa)))
        diff = np.abs(aa - ea) if finite else np.where(np.isfinite(aa), np.abs(aa - ea), np.inf)
        err = float(np.max(diff))
        mag = np.abs(ea)
        if rule == "normwise":
            scale = float(np.max(mag))
            allowed_el = np.full(diff.shape, atol + rtol * scale)
            rel = err / scale if scale > 0 else (0.0 if err == 0 else math.inf)
        else:
            allowed_el = atol + rtol * mag
            with np.errstate(divide="ignore", invalid="ignore"):
                rel = float(np.max(np.where(mag > 0, diff / np.where(mag > 0, mag, 1.0),
                                            np.where(diff > 0, np.inf, 0.0))))
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = np.where(allowed_el > 0, diff / np.where(allowed_el > 0, allowed_el, 1.0),
                              np.where(diff > 0, np.inf, 0.0))
        ratio = float(np.max(ratios))
        worst.max_abs = max(worst.max_abs, err)
        worst.max_rel = max(worst.max_rel, rel)
        worst.ratio = max(worst.ratio, ratio)
        if not ratio <= 1.0:
            if not finite:
                idx = tuple(int(i) for i in np.argwhere(~np.isfinite(aa))[0])
                why = f"non-finite value {_num(aa[idx])} at index {idx}"
            else:
                idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(ratios)), ratios.shape)) if ratios.ndim else ()
                why = f"worst at index {idx}: actual {_num(aa[idx])}, expected {_num(ea[idx])}"
            worst.ok = False
            if rule == "normwise":
                bound = f"max abs error {err:.3e} > {atol + rtol * float(np.max(mag)):.3e} (= atol {atol:g} + rtol " \
                        f"{rtol:g} * max|expected| {float(np.max(mag)):.3e})"
            else:
                bound = f"error exceeds atol {atol:g} + rtol {rtol:g} * |expected| elementwise (by a factor {ratio:.3g})"
            worst.reason = f"{label} out of tolerance: {bound}; {why}"
            if dtype_problem:
                worst.reason += f"; also {dtype_problem}"
            return worst
    if dtype_problem:
        worst.ok = False
        worst.reason = (f"{dtype_problem} (the values themselves agree: max abs error {worst.max_abs:.3e}, "
                        f"error/tolerance {worst.ratio:.3g})")
    return worst


def _num(x):
    """A plain Python number for messages (``-0.138`` rather than ``np.float64(-0.138)``)."""
    x = complex(x) if np.iscomplexobj(x) else float(x)
    return repr(x)


# --------------------------------------------------------------------------- files


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_manifest(directory):
    """Read and validate ``DIR/manifest.json``; returns the manifest dict."""
    path = os.path.join(directory, MANIFEST)
    if not os.path.isdir(directory):
        raise GoldenError(f"golden directory {directory!r} does not exist")
    if not os.path.isfile(path):
        raise GoldenError(f"no {MANIFEST} in {directory!r}: export one with `refimpl golden export {directory}`")
    try:
        with open(path, encoding="utf-8") as fh:
            manifest = json.load(fh)
    except json.JSONDecodeError as exc:
        raise GoldenError(f"{path} is not valid JSON ({exc})") from None
    if manifest.get("format") != FORMAT:
        raise GoldenError(f"{path} is not a refimpl golden manifest (format {manifest.get('format')!r})")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise GoldenError(f"{path} has format_version {manifest.get('format_version')!r}; this loader reads "
                          f"{FORMAT_VERSION}")
    return manifest


@dataclasses.dataclass
class Example:
    """One stored example: call arguments and the expected outputs per dtype."""

    index: int
    args: list
    kwargs: dict
    parameters: dict
    expected: dict  # dtype -> output (array or tuple)
    corner: bool = False  # one of the case's hard corners


def _decode_value(item, arrays):
    if "array" in item:
        return arrays[item["array"]]
    return item["value"]


def load_case(directory, name, manifest=None):
    """Load the examples of case ``name``; verifies the file's SHA-256 first.

    Returns ``(case_entry, examples)`` where ``case_entry`` is the manifest's
    entry for ``name`` and ``examples`` a list of :class:`Example`.
    """
    manifest = manifest or load_manifest(directory)
    cases = manifest["cases"]
    if name not in cases:
        raise GoldenError(f"case {name!r} is not in {os.path.join(directory, MANIFEST)}; it holds: "
                          f"{', '.join(sorted(cases))}")
    entry = cases[name]
    path = os.path.join(directory, entry["file"])
    if not os.path.isfile(path):
        raise GoldenError(f"{path} is missing (listed in the manifest for {name!r})")
    digest = _sha256(path)
    if digest != entry["sha256"]:
        raise GoldenError(f"checksum mismatch for {path}: sha256 {digest}, manifest says {entry['sha256']} "
                          "(the file was modified or truncated; re-export it)")
    examples = []
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    for k, ex in enumerate(entry["examples"]):
        args = [(a["name"], _decode_value(a, arrays)) for a in ex["args"]]
        kwargs = {a["name"]: _decode_value(a, arrays) for a in ex["kwargs"]}
        expected = {}
        for dt in entry["tolerances"]:
            outs = tuple(arrays[f"out/{dt}/{k}/{j}"] for j in range(ex["n_outputs"]))
            outs = tuple(o if o.ndim or not ex.get("scalar_outputs") or j not in ex["scalar_outputs"]
                         else o.item() for j, o in enumerate(outs))
            expected[dt] = outs if ex["tuple"] else outs[0]
        examples.append(Example(k, args, kwargs, dict(ex["parameters"]), expected, bool(ex.get("corner", False))))
    return entry, examples


# --------------------------------------------------------------------------- checking


_CONVERTERS = ("numpy", "torch", "jax")


def make_converter(convert, dtype):
    """Turn ``convert`` (None, "numpy", "torch", "jax" or a callable) into a callable on NumPy arrays."""
    if convert is None or convert == "numpy":
        return lambda a: a
    if callable(convert):
        return convert
    if convert == "torch":
        import torch

        def to_torch(a):
            t = torch.from_numpy(np.array(a, copy=True))
            return t.to(torch.bfloat16) if dtype == "bfloat16" and t.is_floating_point() else t

        return to_torch
    if convert == "jax":
        import jax.numpy as jnp

        def to_jax(a):
            return jnp.asarray(a, dtype=jnp.bfloat16) if dtype == "bfloat16" and a.dtype.kind == "f" else jnp.asarray(a)

        return to_jax
    raise GoldenError(f"parameter 'convert' must be a callable or one of {', '.join(_CONVERTERS)}; got {convert!r}")


def call_candidate(candidate, args, kwargs, convert, fixed=()):
    """Call ``candidate`` with converted arrays; the names in ``fixed`` are left out."""
    def conv(v):
        return convert(v) if isinstance(v, np.ndarray) else v

    pos = [conv(v) for n, v in args if n not in fixed]
    kw = {k: conv(v) for k, v in kwargs.items() if k not in fixed}
    return candidate(*pos, **kw)


@dataclasses.dataclass
class CaseReport:
    """Outcome of checking one case against the golden files.

    ``n_examples`` ran; ``skipped`` maps each reason (an option the
    candidate lacks held away from its default, a ``--fixed`` value) to the
    number of examples it left out. A case whose hard-corner examples were
    all skipped is ``incomplete``, and an incomplete case has not passed.
    """

    name: str
    dtype: str
    passed: bool
    n_examples: int
    max_abs: float
    max_rel: float
    ratio: float
    message: str = ""
    skipped: dict = dataclasses.field(default_factory=dict)
    n_corners: int = 0
    corners_run: int = 0

    @property
    def n_skipped(self):
        return sum(self.skipped.values())

    @property
    def incomplete(self):
        return self.n_corners > 0 and self.corners_run == 0

    @property
    def status(self):
        """"PASS", "FAIL" or "INCOMPLETE" (every hard corner skipped)."""
        if not self.passed:
            return "FAIL"
        return "INCOMPLETE" if self.incomplete else "PASS"

    def to_dict(self):
        """The report as a JSON-serialisable dict."""
        d = dataclasses.asdict(self)
        d.update(status=self.status, n_skipped=self.n_skipped)
        return d


@dataclasses.dataclass
class Report:
    """Outcome of :func:`check_dir`; truthy only when every checked case passed."""

    cases: list
    missing: list

    @property
    def passed(self):
        return bool(self.cases) and all(c.status == "PASS" for c in self.cases)

    def to_dict(self):
        """The report as a JSON-serialisable dict."""
        return {"passed": self.passed, "cases": [c.to_dict() for c in self.cases], "missing": list(self.missing)}

    def __bool__(self):
        return self.passed

    def summary(self):
        """A readable table of the results."""
        lines = [f"{'case':<32} {'dtype':<9} {'status':<10} {'ran':>4} {'skipped':>7} {'max abs err':>11} "
                 f"{'err/tol':>8}"]
        for c in self.cases:
            lines.append(f"{c.name:<32} {c.dtype:<9} {c.status:<10} {c.n_examples:>4} {c.n_skipped:>7} "
                         f"{c.max_abs:>11.2e} {c.ratio:>8.2g}")
            if c.message:
                lines.append(f"    {c.message}")
            for why, n in c.skipped.items():
                lines.append(f"    skipped {n}: {why}")
            if c.incomplete:
                lines.append(f"    all {c.n_corners} hard-corner examples were skipped: not a pass (give the "
                             "candidate the options above, or pin them with --fixed to check it as it is)")
        if self.missing:
            lines.append(f"not provided by the candidates (not checked): {', '.join(self.missing)}")
        return "\n".join(lines)


def same_value(v, d):
    """``v == d`` for option values (arrays compare unequal to scalars, never raise)."""
    if v is d:
        return True
    if isinstance(v, np.ndarray) or isinstance(d, np.ndarray):
        return False
    try:
        return bool(v == d)
    except Exception:  # noqa: BLE001
        return False


def unaccepted_options(candidate, defaults, fixed=()):
    """The options in ``defaults`` that ``candidate``'s signature lacks (none if it takes ``**kwargs``)."""
    import inspect

    try:
        params = inspect.signature(candidate).parameters
    except (TypeError, ValueError):
        return {}
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return {}
    return {n: d for n, d in defaults.items() if n not in params and n not in fixed}


def _skip_reason(example, fixed, auto=None):
    """Why ``example`` is left out (a string), ``None`` when it runs; KeyError for an unknown fixed name."""
    for k, d in (auto or {}).items():
        v = example.kwargs.get(k, d)
        if not same_value(v, d):
            return f"the candidate does not take {k!r}; these examples set it away from its default {d!r}"
    m = _matches(example, fixed)
    if m is None:
        raise KeyError(next(iter(fixed)))
    return None if m else f"--fixed {', '.join(f'{k}={v!r}' for k, v in fixed.items())} excludes them"


def _matches(example, fixed, auto=None):
    for k, d in (auto or {}).items():
        v = example.kwargs.get(k, d)
        if not same_value(v, d):
            return False
    values = dict(example.parameters)
    values.update({n: v for n, v in example.args if not isinstance(v, np.ndarray)})
    values.update({k: v for k, v in example.kwargs.items() if not isinstance(v, np.ndarray)})
    for k, want in fixed.items():
        if k not in values:
            return None
        if values[k] != want and str(values[k]) != str(want):
            return False
    return True


def check_case(directory, name, candidate, *, dtype="float64", convert=None, fixed=None, rtol=None, atol=None,
               manifest=None):
    """Check ``candidate`` against the stored examples of case ``name``.

    ``fixed`` (dict) keeps only the examples whose parameters have these
    values, and does not pass those parameters to the candidate (for a kernel
    that implements one layout, method ...). Returns a :class:`CaseReport`.
    """
    entry, examples = load_case(directory, name, manifest)
    if dtype not in entry["tolerances"]:
        raise GoldenError(f"case {name!r} has no stored outputs for dtype {dtype!r}; stored: "
                          f"{', '.join(entry['tolerances'])}")
    fixed = dict(fixed or {})
    known = sorted(set(entry.get("parameter_names", [])))
    auto = unaccepted_options(candidate, entry.get("defaults", {}), fixed)
    selected, skipped = [], {}
    for ex in examples:
        try:
            why = _skip_reason(ex, fixed, auto)
        except KeyError:
            raise GoldenError(f"parameter 'fixed': {name!r} has no parameter among {sorted(fixed)}; its parameters "
                              f"are: {', '.join(known)}") from None
        if why is None:
            selected.append(ex)
        else:
            skipped[why] = skipped.get(why, 0) + 1
    if not selected:
        raise GoldenError(f"no stored example of {name!r} has {fixed} (options the candidate lacks held at "
                          f"their defaults: {auto}); export more examples (--examples)")
    tol = entry["tolerances"][dtype]
    rtol = tol["rtol"] if rtol is None else rtol
    atol = tol["atol"] if atol is None else atol
    conv = make_converter(convert, dtype)
    keep = tuple(entry.get("keep_dtype", ()))
    rep = CaseReport(name, dtype, True, len(selected), 0.0, 0.0, 0.0, skipped=skipped,
                     n_corners=sum(ex.corner for ex in examples), corners_run=sum(ex.corner for ex in selected))
    for ex in selected:
        args, kwargs = cast_inputs(ex.args, ex.kwargs, dtype, keep)
        try:
            actual = call_candidate(candidate, args, kwargs, conv, set(fixed) | set(auto))
        except Exception as exc:  # noqa: BLE001 - the candidate's error is the finding
            out = Outcome(False, f"candidate raised {type(exc).__name__}: {exc}")
        else:
            out = compare_outputs(ex.expected[dtype], actual, dtype, rtol, atol, rule=entry.get("rule", "normwise"))
        rep.max_abs = max(rep.max_abs, out.max_abs)
        rep.max_rel = max(rep.max_rel, out.max_rel)
        rep.ratio = max(rep.ratio, out.ratio)
        if not out.ok and rep.passed:
            rep.passed = False
            rep.message = f"example {ex.index} {ex.parameters}: {out.reason}"
    return rep


def find_candidates(module, names):
    """Map case names to callables found in ``module`` (see the module docstring)."""
    table = getattr(module, "REFIMPL_CANDIDATES", None) or {}
    found = {}
    for n in names:
        fn = table.get(n) or getattr(module, n.replace(".", "_"), None)
        if fn is not None:
            if not callable(fn):
                raise GoldenError(f"{module.__name__}: candidate for {n!r} is not callable")
            found[n] = fn
    return found


def check_dir(directory, candidates, *, names=None, dtype="float64", convert=None, fixed=None):
    """Check a dict ``{case name: candidate}`` against every matching case in ``directory``.

    ``names`` restricts the cases. Returns a :class:`Report`.
    """
    manifest = load_manifest(directory)
    wanted = list(names) if names else sorted(manifest["cases"])
    unknown = [n for n in wanted if n not in manifest["cases"]]
    if unknown:
        raise GoldenError(f"case(s) {', '.join(unknown)} not in {directory!r}; it holds: "
                          f"{', '.join(sorted(manifest['cases']))}")
    reports, missing = [], []
    for n in wanted:
        if n not in candidates:
            missing.append(n)
            continue
        reports.append(check_case(directory, n, candidates[n], dtype=dtype, convert=convert, fixed=fixed,
                                  manifest=manifest))
    return Report(reports, missing)


def _parse_fixed(items):
    fixed = {}
    for item in items or ():
        if "=" not in item:
            raise GoldenError(f"--fixed takes KEY=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        try:
            fixed[k] = json.loads(v)
        except json.JSONDecodeError:
            fixed[k] = v
    return fixed


def add_check_arguments(parser):
    """The options of ``check`` (shared by this file's CLI and ``refimpl golden check``)."""
    parser.add_argument("directory", metavar="DIR", help="directory written by `refimpl golden export`")
    parser.add_argument("names", nargs="*", metavar="NAME", help="only these cases (default: all in DIR)")
    parser.add_argument("--module", required=True, help="importable module holding the candidates")
    parser.add_argument("--dtype", default="float64", choices=list(DTYPES), help="dtype under test")
    parser.add_argument("--convert", default="numpy", choices=list(_CONVERTERS),
                        help="array type the candidates take (default: numpy)")
    parser.add_argument("--fixed", action="append", metavar="KEY=VALUE",
                        help="only examples with this parameter value, not passed to the candidate (repeatable)")
    parser.add_argument("--json", metavar="FILE", help="also write the report as JSON")


def run_check(args, prog="refimpl_golden.py"):
    """Run ``check`` from parsed arguments; prints the report, returns an exit status."""
    try:
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        try:
            module = importlib.import_module(args.module)
        except ImportError as exc:
            raise GoldenError(f"cannot import --module {args.module!r}: {exc}") from None
        manifest = load_manifest(args.directory)
        names = args.names or sorted(manifest["cases"])
        cands = find_candidates(module, names)
        if not cands:
            raise GoldenError(f"module {args.module!r} provides no candidate for {', '.join(names)} "
                              "(define REFIMPL_CANDIDATES = {name: fn} or functions named like rope_apply)")
        report = check_dir(args.directory, cands, names=names, dtype=args.dtype, convert=args.convert,
                           fixed=_parse_fixed(args.fixed))
    except GoldenError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    print(report.summary())
    if getattr(args, "json", None):
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(report.to_dict(), fh, indent=2)
    return 0 if report.passed else 1


def main(argv=None):
    """``python refimpl_golden.py DIR --module user.module [NAME ...]``."""
    parser = argparse.ArgumentParser(prog="refimpl_golden.py",
                                     description="Check candidate kernels against refimpl golden vectors.")
    add_check_arguments(parser)
    return run_check(parser.parse_intermixed_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
