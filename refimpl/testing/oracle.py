r"""The oracle side of the case tables: :func:`check_against` and its helpers.

Every public refimpl function has a row in its topic's case table,
``refimpl/<topic>/cases.py`` (see :mod:`refimpl.testing.cases`): a name such
as ``"rope.apply"``, an input generator, the refimpl function and the
tolerance to hold per dtype, with its reasoning. :func:`check_against`
drives a user's kernel with that row's inputs and compares it with
refimpl's reference; :func:`register_oracle` adds a row for a function
outside refimpl::

    from refimpl.testing.oracle import register_oracle
    from my_project import my_legs_matvec

    @register_oracle("mine.legs_matvec", my_legs_matvec,
                     tolerances={"float64": (1e-13, 0.0), "float32": (2e-6, 0.0)})
    def _legs_matvec(src):
        n = src.integer("N", 1, 64)
        return {"v": src.normal("v", (n,))}

The generator receives a *source* with a few drawing methods
(:class:`Source`). The same generator serves two drivers:

- hypothesis (:func:`check_against`): each draw is a hypothesis draw, so a
  failure shrinks to the smallest sizes and simplest parameters; array
  contents come from a drawn seed (seed 0 after shrinking);
- a seeded NumPy generator (golden vectors, ``refimpl verify``): no
  hypothesis needed, and the same seed gives bit-identical inputs.

The keys of the returned dict are parameter names of the refimpl function;
parameters without a default are passed positionally (in signature order),
the others by keyword, to the reference and to the candidate alike.

Tolerances are norm-wise by default: an output passes when
``max|actual - expected| <= atol + rtol * max|expected|``; a case may
declare ``rule="elementwise"`` (``|actual - expected| <= atol + rtol
|expected|`` everywhere). :mod:`refimpl.testing.golden_loader` holds the one
comparison routine.
"""
from __future__ import annotations

import dataclasses
import inspect
import math

import numpy as np

from . import cases as _cases
from . import golden_loader as _gl
from .cases import Case, all_cases, case_names, get_case
from .sources import RngSource, Source, _HypothesisSource

__all__ = [
    "Counterexample", "OracleCase", "OracleResult", "RngSource", "Source", "check_against", "discover_oracles",
    "get_oracle", "oracle_names", "register_oracle", "replay", "run_examples",
]


# --------------------------------------------------------------------------- registry
# The case rows live in refimpl/<topic>/cases.py (see refimpl.testing.cases);
# these names are the oracle-side view of the same table.

OracleCase = Case


def register_oracle(name, func, *, tolerances, backends=(), keep_dtype=(), reference=None, rule="normwise",
                    why=None):
    """Decorator: add the input generator it decorates as case ``name`` (for code outside refimpl).

    Topic tables write :class:`~refimpl.testing.cases.Case` rows directly;
    this decorator builds the same row for a user's own function.
    """
    Case(name, func, lambda src: {}, tolerances, "", rule=rule)  # validate the row before decorating

    def deco(generate):
        case = Case(name, func, generate, tolerances, why if why is not None else (inspect.getdoc(generate) or ""),
                    fast=tuple(b for b in backends if b not in ("numpy", "reference")), reference=reference, keep_dtype=tuple(keep_dtype), rule=rule)
        _cases._add(case, f"{generate.__module__}.{generate.__qualname__}")
        return generate

    return deco


def discover_oracles():
    """Every case row, ``{name: Case}`` sorted by name."""
    return all_cases()


def oracle_names():
    """Sorted names of every case."""
    return case_names()


def get_oracle(name):
    """The :class:`~refimpl.testing.cases.Case` called ``name``; ValueError listing the known names otherwise."""
    return get_case(name)


# --------------------------------------------------------------------------- check_against


@dataclasses.dataclass
class Counterexample:
    """The (shrunk) failing example: inputs as NumPy arrays at the dtype under test."""

    inputs: dict
    drawn: dict
    reason: str
    expected: object = None
    actual: object = None
    hint: str = ""

    def __repr__(self):
        ins = ", ".join(f"{k}={_show(v)}" for k, v in self.inputs.items())
        return f"Counterexample({ins})"

    def snippet(self, name, dtype="float64", convert=None):
        """Python that replays this example (:func:`replay` rebuilds the inputs from the pinned draws)."""
        pins = ", ".join(f"{k!r}: {_plain(v)!r}" for k, v in self.drawn.items())
        dt = "" if dtype == "float64" else f", dtype={dtype!r}"
        return (f"from refimpl.testing.oracle import replay\n"
                f"args, kwargs, expected = replay({name!r}, {{{pins}}}{dt})\n"
                f"actual = candidate(*args, **kwargs)  # convert the arrays first if the candidate takes tensors")


def _plain(v):
    if isinstance(v, np.generic):
        return v.item()
    return v


def _show(v):
    if isinstance(v, np.ndarray):
        if v.size > 8:
            return f"<array shape={v.shape} dtype={v.dtype}>"
        return f"np.array({v.tolist()!r}, dtype=np.{v.dtype})"
    return repr(_plain(v))


@dataclasses.dataclass
class OracleResult:
    """What :func:`check_against` found. Truthy only when ``passed``.

    ``max_error`` is the largest absolute error seen over all examples and
    outputs, ``max_rel_error`` the largest norm-wise relative error
    ``max|a-e|/max|e|``, ``worst_ratio`` the largest error / allowed error
    (<= 1 passes). ``counterexample`` is None when passed.
    """

    name: str
    dtype: str
    passed: bool
    max_error: float
    max_rel_error: float
    worst_ratio: float
    n_examples: int
    rtol: float
    atol: float
    counterexample: Counterexample | None = None
    held_at_default: dict = dataclasses.field(default_factory=dict)
    convert: object = None

    def __bool__(self):
        return self.passed

    @property
    def message(self):
        """One paragraph describing the outcome; on failure, the reason once and a snippet that replays it."""
        head = (f"oracle {self.name!r} at {self.dtype}: {'passed' if self.passed else 'FAILED'} after "
                f"{self.n_examples} distinct examples; max abs error {self.max_error:.3e}, max rel error "
                f"{self.max_rel_error:.3e}, worst error/tolerance {self.worst_ratio:.3g} "
                f"(rtol={self.rtol:g}, atol={self.atol:g})")
        if self.held_at_default:
            held = ", ".join(f"{k}={_plain(v)!r}" for k, v in self.held_at_default.items())
            head += f"; options the candidate does not take were held at refimpl's defaults: {held}"
        if self.counterexample is None:
            return head
        cx = self.counterexample
        hint = f"\n  hint: {cx.hint}" if getattr(cx, "hint", "") else ""
        return (f"{head}\n  reason: {cx.reason}{hint}\n  smallest failing input: {cx!r}\n  replay it:\n    "
                + cx.snippet(self.name, self.dtype, self.convert).replace("\n", "\n    "))

    def to_dict(self):
        """The result as a JSON-serialisable dict (inputs of the counterexample as lists)."""
        d = {k: getattr(self, k) for k in ("name", "dtype", "passed", "max_error", "max_rel_error", "worst_ratio",
                                             "n_examples", "rtol", "atol")}
        d["held_at_default"] = {k: _plain(v) for k, v in self.held_at_default.items()}
        cx = self.counterexample
        d["counterexample"] = None if cx is None else {
            "reason": cx.reason, "drawn": {k: _plain(v) for k, v in cx.drawn.items()},
            "inputs": {k: (v.tolist() if isinstance(v, np.ndarray) else _plain(v)) for k, v in cx.inputs.items()
                       if not isinstance(v, np.ndarray) or v.size <= 4096},
            "replay": cx.snippet(self.name, self.dtype, self.convert)}
        return d

    def __repr__(self):
        return f"<OracleResult {self.message}>"

    __str__ = __repr__

    def raise_for_failure(self):
        """Raise AssertionError with :attr:`message` unless passed; returns self."""
        if not self.passed:
            raise AssertionError(self.message)
        return self


class _Failure(Exception):
    def __init__(self, cx):
        super().__init__(cx.reason)
        self.cx = cx


class OracleCaseError(RuntimeError):
    """An oracle case generated inputs that refimpl itself rejects (a bug in the case, not the candidate)."""


def evaluate(case, args, kwargs, candidate, dtype, convert, rtol, atol, fixed=()):
    """Run ``candidate`` on one example (already generated in float64) and compare.

    Returns ``(outcome, cast_args, cast_kwargs, expected)``.
    """
    cargs, ckwargs = _gl.cast_inputs(args, kwargs, dtype, case.keep_dtype)
    try:
        expected = case.call_reference(cargs, ckwargs)
    except (ValueError, TypeError) as exc:
        raise OracleCaseError(f"oracle {case.name!r} generated inputs that {case.qualname} rejects: {exc}") from exc
    try:
        actual = _gl.call_candidate(candidate, cargs, ckwargs, convert, fixed)
    except Exception as exc:  # noqa: BLE001 - the candidate's error is the finding
        return _gl.Outcome(False, f"candidate raised {type(exc).__name__}: {exc}"), cargs, ckwargs, expected
    return _gl.compare_outputs(expected, actual, dtype, rtol, atol, rule=case.rule), cargs, ckwargs, expected


def unaccepted_defaults(case, candidate, fixed=()):
    """Options of ``case`` that ``candidate`` cannot take, with refimpl's defaults.

    A candidate without, e.g., a ``layout`` parameter implements one layout:
    it is tested with ``layout`` held at refimpl's default, and not passed it.
    A candidate with ``**kwargs`` (or no inspectable signature) takes everything.
    """
    try:
        params = inspect.signature(candidate).parameters
    except (TypeError, ValueError):
        return {}
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return {}
    return {n: d for n, d in case.keyword_defaults().items() if n not in params and n not in fixed}


def _validate_fixed(case, fixed):
    if not fixed:
        return
    known = set()
    for seed in range(32):  # conditional draws (a method's own parameters) need a few samples
        src = RngSource([seed, 7], fixed)
        args, kwargs = case.sample(src)
        known |= set(src.drawn) | {n for n, _ in args} | set(kwargs)
        if set(fixed) <= known:
            return
    unknown = sorted(set(fixed) - known)
    if unknown:
        raise ValueError(f"parameter 'fixed': oracle {case.name!r} has no parameter {', '.join(map(repr, unknown))}; "
                         f"its parameters are: {', '.join(sorted(known))}")


def replay(name, drawn, dtype="float64"):
    """Rebuild one example of case ``name`` from its draws: ``(args, kwargs, expected)``.

    ``drawn`` is a counterexample's ``drawn`` dict (sizes, options and the
    seeds of the array contents); the inputs are rounded to ``dtype`` and
    ``expected`` is refimpl's float64 reference for exactly those inputs.
    Options the candidate was tested without are included: drop them from
    ``kwargs`` if the candidate does not take them.
    """
    case = get_oracle(name)
    dtype = dtype_name(dtype)
    args, kwargs = case.sample(RngSource(0, dict(drawn)))
    cargs, ckwargs = _gl.cast_inputs(args, kwargs, dtype, case.keep_dtype)
    return [v for _, v in cargs], dict(ckwargs), case.call_reference(cargs, ckwargs)


def dtype_name(dtype):
    """``"float32"`` from ``"float32"``, ``np.float32``, ``np.dtype("float32")`` or ``torch.float32``.

    Raises ValueError naming the parameter and the accepted dtypes.
    """
    if isinstance(dtype, str):
        name = dtype
    elif type(dtype).__module__.split(".")[0] == "torch":
        name = str(dtype).replace("torch.", "")
    else:
        try:
            name = np.dtype(dtype).name
        except TypeError:
            name = repr(dtype)
    if name not in _gl.DTYPES:
        raise ValueError(f"parameter 'dtype' must be one of {', '.join(_gl.DTYPES)} (a string, a NumPy or a torch "
                         f"dtype); got {dtype!r}")
    return name


def converter(convert, dtype):
    """The input converter for ``convert``; ValueError naming the parameter for an unknown one."""
    try:
        return _gl.make_converter(convert, dtype)
    except _gl.GoldenError as exc:
        raise ValueError(str(exc)) from None


def _explain_by_default(case, cx, held, dtype, rtol, atol):
    """If the failure goes away with a held boolean option flipped, say which and how to pin it."""
    if cx.actual is None or not held:
        return ""
    args = [(n, v) for n, v in cx.inputs.items() if n not in case.keyword_defaults()]
    for key, default in held.items():
        if not isinstance(default, bool):
            continue
        kwargs = {k: v for k, v in cx.inputs.items() if k in case.keyword_defaults()}
        kwargs[key] = not default
        try:
            other = case.call_reference(args, kwargs)
        except Exception:  # noqa: BLE001 - a hint only
            continue
        if _gl.compare_outputs(other, cx.actual, dtype, rtol, atol, rule=case.rule, check_dtype=False).ok:
            return (f"the candidate agrees with refimpl at {key}={not default!r}, while refimpl's default is "
                    f"{key}={default!r}; if that is the convention you port, pin it: fixed={{{key!r}: {not default!r}}}")
    return ""


def run_examples(case, candidate, *, n=6, dtype="float64", convert=None, fixed=None, rtol=None, atol=None):
    """``candidate`` on the first ``n`` deterministic examples of ``case`` (no hypothesis).

    The examples are those of the golden files (the corners first); options
    the candidate does not take are held at refimpl's defaults. Returns an
    :class:`OracleResult` (``counterexample`` is the first failing example).
    """
    fixed = dict(fixed or {})
    auto = unaccepted_defaults(case, candidate, fixed)
    if rtol is None or atol is None:
        drtol, datol = case.tolerance(dtype)
        rtol = drtol if rtol is None else float(rtol)
        atol = datol if atol is None else float(atol)
    dtype = dtype_name(dtype)
    conv = converter(convert, dtype)
    examples = case.examples(4 * n if auto else n, fixed)
    if auto:
        examples = [ex for ex in examples if all(k not in ex[1] or _gl.same_value(ex[1][k], d)
                                                 for k, d in auto.items())][:n]
    if not examples:
        raise ValueError(f"oracle {case.name!r}: no example has the options {auto} the candidate lacks at their defaults")
    stats = {"abs": 0.0, "rel": 0.0, "ratio": 0.0}
    cx = None
    for args, kwargs, drawn in examples:
        out, cargs, ckwargs, expected = evaluate(case, args, kwargs, candidate, dtype, conv, rtol, atol,
                                                 set(fixed) | set(auto))
        stats["abs"] = max(stats["abs"], out.max_abs)
        stats["rel"] = max(stats["rel"], out.max_rel)
        stats["ratio"] = max(stats["ratio"], out.ratio)
        if not out.ok and cx is None:
            inputs = dict(cargs)
            inputs.update(ckwargs)
            cx = Counterexample(inputs, dict(drawn), out.reason, expected, out.actual)
    return OracleResult(case.name, dtype, cx is None, stats["abs"], stats["rel"], stats["ratio"], len(examples),
                        rtol, atol, cx, auto, convert)


def check_against(name, candidate, *, dtype="float64", max_examples=100, convert=None, fixed=None,
                  rtol=None, atol=None, seed=None):
    r"""Drive ``candidate`` with the inputs of oracle ``name`` and compare with refimpl.

    ``candidate`` takes the same arguments as the refimpl function of the
    oracle (arrays positionally, options by keyword; see
    :func:`oracle_names` and ``refimpl golden list``) and may take and
    return torch or JAX arrays (``convert`` maps the NumPy inputs). Floating
    inputs are rounded to ``dtype`` and the reference is computed in float64
    from the rounded inputs, so only the candidate's own error counts. The
    first failure is shrunk by hypothesis to the smallest sizes and simplest
    parameters.

    Parameters
    ----------
    name : str
        Oracle name, e.g. ``"rope.apply"``.
    candidate : callable
        The implementation under test.
    dtype : {"float64", "float32", "float16", "bfloat16"}, optional
        Precision under test; the candidate must return this dtype (its
        complex counterpart for complex outputs). Each oracle lists the dtypes
        it has tolerances for.
    max_examples : int, optional
        Number of hypothesis examples.
    convert : None, "numpy", "torch", "jax" or callable, optional
        Maps each NumPy input array to the candidate's array type; "torch"
        uses ``torch.from_numpy`` (and bfloat16 at ``dtype="bfloat16"``).
        Outputs are converted back automatically (torch, JAX, CuPy, NumPy).
    fixed : dict, optional
        Pin drawn parameters (``{"layout": "half", "d": 64}``) for a kernel
        that implements one configuration; pinned function parameters are
        passed to the reference only, not to the candidate. Options that the
        candidate's signature does not have (and no ``**kwargs``) are pinned
        to refimpl's default the same way, and the result says so.
    rtol, atol : float, optional
        Override the oracle's tolerances for ``dtype``.
    seed : int, optional
        Random hypothesis search with this seed; by default the search is
        derandomised (the same examples on every run).

    Returns
    -------
    OracleResult
        ``passed``, ``max_error``, ``max_rel_error``, ``worst_ratio``,
        ``counterexample`` (shrunk; None when passed); truthy only when
        passed, so ``assert check_against(...)`` works in a test and shows
        the message on failure.

    Raises
    ------
    ValueError
        Unknown oracle ``name`` (the message lists the known ones), a
        ``dtype`` the oracle has no tolerance for, an unknown ``fixed`` key,
        ``max_examples < 1``.
    ImportError
        If hypothesis is not installed (``pip install refimpl[test]``).

    Notes
    -----
    Wrong output shapes or dtypes, a wrong number of outputs and exceptions
    raised by the candidate are failures like wrong values: they are shrunk
    and reported in ``counterexample.reason`` ("wrong dtype: output has dtype
    float64, expected float32"). Do not call this inside a hypothesis
    ``@given`` test (hypothesis does not nest).

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.testing import check_against
    >>> def my_matvec(v):                      # a correct O(N^2) LegS matvec
    ...     n = np.arange(v.shape[0])
    ...     r = np.sqrt(2 * n + 1.0)
    ...     A = -np.tril(np.outer(r, r), -1) - np.diag(n + 1.0)
    ...     return A @ v
    >>> bool(check_against("ssm.legs_matvec", my_matvec, max_examples=20))
    True
    >>> res = check_against("ssm.legs_matvec", lambda v: my_matvec(v).astype(np.float32), max_examples=5)
    >>> res.passed, "wrong dtype: output has dtype float32, expected float64" in res.counterexample.reason
    (False, True)
    """
    case = get_oracle(name)
    dtype = dtype_name(dtype)
    if rtol is None or atol is None:
        drtol, datol = case.tolerance(dtype)
        rtol = drtol if rtol is None else float(rtol)
        atol = datol if atol is None else float(atol)
    if not (math.isfinite(rtol) and math.isfinite(atol) and rtol >= 0 and atol >= 0):
        raise ValueError(f"parameters 'rtol'/'atol' must be finite and >= 0, got rtol={rtol}, atol={atol}")
    if isinstance(max_examples, bool) or not isinstance(max_examples, int) or max_examples < 1:
        raise ValueError(f"parameter 'max_examples' must be an integer >= 1, got {max_examples!r}")
    if not callable(candidate):
        raise TypeError(f"parameter 'candidate' must be callable, got {type(candidate).__name__}")
    fixed = dict(fixed or {})
    _validate_fixed(case, fixed)
    auto = unaccepted_defaults(case, candidate, fixed)
    skip = set(fixed) | set(auto)
    conv = converter(convert, dtype)
    try:
        import hypothesis
        from hypothesis import HealthCheck, Phase, Verbosity, assume, given, settings
        from hypothesis import strategies as st
    except ImportError:  # pragma: no cover - hypothesis is in refimpl[test]
        raise ImportError("check_against needs hypothesis: pip install 'refimpl[test]'") from None

    stats = {"n": 0, "abs": 0.0, "rel": 0.0, "ratio": 0.0, "failed": False}

    def body(data):
        src = _HypothesisSource(data, fixed, auto)
        args, kwargs = case.sample(src)
        for k, d in auto.items():  # an option the candidate lacks must sit at its default
            assume(k not in kwargs or _gl.same_value(kwargs[k], d))
        out, cargs, ckwargs, expected = evaluate(case, args, kwargs, candidate, dtype, conv, rtol, atol, skip)
        if not stats["failed"]:  # shrinking runs after the first failure are not new examples
            stats["n"] += 1
        stats["abs"] = max(stats["abs"], out.max_abs)
        stats["rel"] = max(stats["rel"], out.max_rel)
        stats["ratio"] = max(stats["ratio"], out.ratio)
        if not out.ok:
            stats["failed"] = True
            inputs = dict(cargs)
            inputs.update(ckwargs)
            raise _Failure(Counterexample(inputs, dict(src.drawn), out.reason, expected, out.actual))

    test = given(st.data())(body)
    test = settings(max_examples=max_examples, deadline=None, database=None, derandomize=seed is None,
                    suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet,
                    report_multiple_bugs=False, print_blob=False,
                    phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink))(test)
    if seed is not None:
        test = hypothesis.seed(seed)(test)
    cx = None
    try:
        test()
    except _Failure as exc:
        cx = exc.cx
        cx.hint = _explain_by_default(case, cx, auto, dtype, rtol, atol)
    if stats["n"] == 0:
        raise ValueError(f"oracle {name!r}: no example satisfied fixed={fixed} with the candidate's options "
                         f"held at their defaults {auto}; pass fixed= consistent with the candidate")
    return OracleResult(name, dtype, cx is None, stats["abs"], stats["rel"], stats["ratio"], stats["n"],
                        rtol, atol, cx, auto, convert)
