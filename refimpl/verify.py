"""The check registry behind ``refimpl verify``.

Three sources of checks, each row saying what it compared with what, the
measured value with its unit, and the bound:

- the case tables (``refimpl/<topic>/cases.py``): for every row, each fast
  path against the reference definition (*consistency*: the same method in
  other code, never counted as verification), each peer (*peer*: the public
  code users run) and each number an article prints (*article*);
- every module of the ``refimpl.derivations`` package (*derivation*: its
  ``check()`` compares SymPy-derived results with refimpl's numerics);
- named cross-checks registered with :func:`register` in
  ``refimpl/<topic>/_checks.py``: what is not about one function
  (*route*: quadrature vs recurrence, dense vs O(N), mpmath; *statistical*:
  Monte-Carlo vs closed form; *order*: a convergence slope).

A check function returns its measured value (a float in its ``unit``, or
``None`` for an exact/symbolic check) and raises on failure; with ``tol=``
the value is also compared with it. :class:`CheckSkipped` marks a check that
cannot run here (an optional peer is missing): reported as a skip, never a
pass.
"""
from __future__ import annotations

import dataclasses
import fnmatch
import importlib
import math
import pkgutil
import time
import traceback

__all__ = ["KINDS", "Check", "CheckResult", "CheckSkipped", "discover", "register", "run_checks", "select",
           "topics"]


class CheckSkipped(Exception):
    """Raised by a check that cannot run here (e.g. an optional peer is missing)."""


#: What a check compares, from the least to the most independent of refimpl's own code.
KINDS = {
    "consistency": "a fast path vs the reference definition (same method, other code)",
    "route": "an independent numerical route (quadrature vs recurrence, dense vs O(N), mpmath)",
    "statistical": "Monte-Carlo vs a closed form, in standard errors",
    "order": "an order of convergence, as a log-log slope",
    "derivation": "a SymPy derivation from the definition vs refimpl's numerics",
    "peer": "the public code users run (transformers, torch, scipy, scikit-learn, the original repositories)",
    "article": "a number the article prints",
}


@dataclasses.dataclass(frozen=True)
class Check:
    """One registered check: ``kind`` (see :data:`KINDS`), what it ``compared``, its ``unit``."""

    topic: str
    name: str
    func: object
    tol: float | None = None
    kind: str = "route"
    unit: str = ""
    compared: str = ""


@dataclasses.dataclass
class CheckResult:
    """The outcome of one check: status is "pass", "fail", "error" or "skip".

    ``max_error`` is the measured value in ``unit``; ``tol`` its bound.
    """

    topic: str
    name: str
    status: str
    max_error: float | None
    tol: float | None
    seconds: float
    message: str = ""
    kind: str = "route"
    unit: str = ""
    compared: str = ""

    @property
    def independent(self):
        """True for every kind but ``consistency``."""
        return self.kind != "consistency"

    def as_dict(self):
        """The result as a JSON-serialisable dict (non-finite values as strings)."""
        d = dataclasses.asdict(self)
        for k in ("max_error", "tol"):
            if isinstance(d[k], float) and not math.isfinite(d[k]):
                d[k] = str(d[k])
        d["independent"] = self.independent
        return d


_REGISTRY: dict[str, Check] = {}


def register(topic, name=None, *, tol=None, kind="route", unit="", compared=""):
    """Decorator: register ``func`` as the check ``name`` under ``topic``.

    ``kind`` is one of :data:`KINDS`; ``unit`` names what the returned
    number measures ("rel err", "ulp", "z", "slope", "err/bound");
    ``compared`` says what was compared with what.
    """
    if kind not in KINDS:
        raise ValueError(f"parameter 'kind' must be one of {', '.join(KINDS)}; got {kind!r}")

    def deco(func):
        full = name or func.__name__
        if full in _REGISTRY and _REGISTRY[full].func is not func:
            raise ValueError(f"check name {full!r} is registered twice")
        _REGISTRY[full] = Check(topic, full, func, tol, kind, unit, compared)
        return func

    return deco


def _topic_packages():
    import refimpl

    return [m.name for m in pkgutil.iter_modules(refimpl.__path__) if m.ispkg and not m.name.startswith("_")]


def _case_checks():
    """The checks of every case row: fast paths (consistency), peers, article numbers."""
    from .testing.cases import all_cases
    from .testing.oracle import run_examples

    out = []
    for case in all_cases().values():
        rtol, atol = case.tolerance("float64")
        for b in case.fast:
            def fast(_case=case, _b=b):
                from ._backend import available_backends

                if _b not in available_backends():
                    raise CheckSkipped(f"backend {_b!r} cannot run here")
                res = run_examples(_case, lambda *a, **k: _case.func(*a, **k, backend=_b), n=VERIFY_EXAMPLES)
                if not res.passed:
                    raise AssertionError(res.message)
                return res.max_rel_error
            out.append(Check(case.topic, f"{case.name}[{b}]", fast, rtol, "consistency", "rel err",
                             f"{b} path vs the reference definition, {VERIFY_EXAMPLES} examples"))
        for peer in case.peers:
            prtol = peer.tol[0] if peer.tol is not None else case.tolerance(peer.dtype)[0]

            def run_peer(_case=case, _peer=peer):
                missing = _peer.available()
                if missing is not None:
                    raise CheckSkipped(missing)
                prt, pat = _peer.tol if _peer.tol is not None else (None, None)
                res = run_examples(_case, _peer.func, n=min(_peer.examples, VERIFY_EXAMPLES), dtype=_peer.dtype,
                                   convert=_peer.convert, fixed=_peer.fixed, rtol=prt, atol=pat)
                if not res.passed:
                    raise AssertionError(res.message)
                return res.max_rel_error
            out.append(Check(case.topic, f"{case.name}[peer: {peer.name}]", run_peer, prtol, "peer", "rel err",
                             f"{peer.name} ({peer.dtype}) vs refimpl"))
        for art in case.article:
            def run_article(_art=art):
                err, ratio = _art.error()
                if not ratio <= 1.0:
                    raise AssertionError(f"refimpl differs from the printed value by {err:.3e} "
                                         f"(bound atol={_art.atol:g}, rtol={_art.rtol:g})")
                return err
            out.append(Check(case.topic, f"{case.name}[article: {art.what}]", run_article,
                             None, "article", "abs err", f"refimpl vs the number printed in {art.url}"))
    return out


#: Examples per case row in ``refimpl verify`` (the first deterministic ones: the corners, then defaults).
VERIFY_EXAMPLES = 6


def discover():
    """Every check: case rows, derivations and each ``refimpl.<topic>._checks``.

    Returns ``{name: Check}`` sorted by topic, kind and name.
    """
    for pkg in _topic_packages():
        try:
            importlib.import_module(f"refimpl.{pkg}._checks")
        except ModuleNotFoundError as exc:
            if exc.name != f"refimpl.{pkg}._checks":
                raise
    derivations = _derivations_package()
    if derivations is not None:
        for info in pkgutil.iter_modules(derivations.__path__):
            if info.name.startswith("_"):
                continue
            mod = importlib.import_module(f"{derivations.__name__}.{info.name}")
            topic = getattr(mod, "TOPIC", None)
            if topic is None or not hasattr(mod, "check"):
                raise RuntimeError(f"{derivations.__name__}.{info.name} must define TOPIC and check()")
            name = f"derivations.{info.name}"
            if name not in _REGISTRY:
                register(topic, name, kind="derivation", unit="",
                         compared=(inspect_first_line(mod.check) or "SymPy derivation vs refimpl's numerics"))(mod.check)
    checks = dict(_REGISTRY)
    for c in _case_checks():
        checks[c.name] = c
    order = list(KINDS)
    return dict(sorted(checks.items(), key=lambda kv: (kv[1].topic, order.index(kv[1].kind), kv[0])))


def inspect_first_line(func):
    """The first line of ``func``'s docstring, or ''."""
    doc = (func.__doc__ or "").strip()
    return doc.splitlines()[0].strip() if doc else ""


def _derivations_package():
    for name in ("refimpl.derivations", "derivations"):
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name not in (name, name.split(".")[0]):
                raise
    return None  # pragma: no cover - the derivations ship with refimpl


def topics():
    """The sorted list of topics that have at least one check."""
    return sorted({c.topic for c in discover().values()})


def _run_one(check):
    t0 = time.perf_counter()
    meta = dict(kind=check.kind, unit=check.unit, compared=check.compared)

    def result(status, err, message=""):
        return CheckResult(check.topic, check.name, status, err, check.tol, time.perf_counter() - t0, message, **meta)

    try:
        err = check.func()
        err = None if err is None else float(err)
        if check.tol is not None and (err is None or not err <= check.tol):
            return result("fail", err, f"measured {err} {check.unit} exceeds the bound {check.tol}")
        if err is not None and math.isnan(err):
            return result("fail", err, "the check measured NaN")
        return result("pass", err)
    except CheckSkipped as exc:
        return result("skip", None, str(exc))
    except AssertionError as exc:
        return result("fail", None, str(exc) or traceback.format_exc(limit=3))
    except Exception as exc:  # an error in a check is reported, not hidden
        return result("error", None, f"{type(exc).__name__}: {exc}")


def select(patterns=(), registry=None):
    """The checks matching ``patterns``: a topic, a check name, or a glob (``"rope.*"``).

    Raises ``ValueError`` naming the known topics when a pattern matches nothing.
    """
    registry = discover() if registry is None else registry
    if not patterns:
        return list(registry.values())
    known = sorted({c.topic for c in registry.values()})
    chosen, unknown = {}, []
    for pat in patterns:
        hits = [c for c in registry.values()
                if c.topic == pat or c.name == pat or fnmatch.fnmatchcase(c.name, pat)
                or c.name.startswith(pat + ".") or c.name.startswith(pat + "[")]
        if not hits:
            unknown.append(pat)
        for c in hits:
            chosen[c.name] = c
    if unknown:
        raise ValueError(f"unknown topic or check {', '.join(map(repr, unknown))}; known topics: {', '.join(known)} "
                         f"(refimpl verify --list shows every check)")
    return [c for c in registry.values() if c.name in chosen]


def run_checks(selected=(), *, on_result=None):
    """Run the checks matching ``selected`` (topics, check names or globs; all when empty).

    Raises ``ValueError`` before running anything if a selection matches nothing.
    ``on_result(result)`` is called after each check (for live printing).
    """
    results = []
    for check in select(tuple(selected)):
        res = _run_one(check)
        results.append(res)
        if on_result is not None:
            on_result(res)
    return results
