"""The check registry behind ``refimpl verify``.

Two kinds of check run:

- every module of the :mod:`derivations` package (its ``check()`` compares the
  SymPy-derived results with refimpl's numerics and raises on mismatch), and
- cross-checks registered with :func:`register` in ``refimpl/<topic>/_checks.py``
  (a second numerical route, mpmath, or a peer library such as scipy or
  transformers).

A check function returns its maximum error (a float, or ``None`` when the
check is exact/symbolic) and raises on failure; with ``tol=`` given to
:func:`register`, the returned error is also compared with it. Raising
:class:`CheckSkipped` marks a check skipped (an optional peer is absent).
"""
from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import time
import traceback

__all__ = ["Check", "CheckResult", "CheckSkipped", "discover", "register", "run_checks", "topics"]


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
    """The outcome of one check: status is "pass", "fail", "error" or "skip"."""

    topic: str
    name: str
    status: str
    max_error: float | None
    tol: float | None
    seconds: float
    message: str = ""

    def as_dict(self):
        """The result as a JSON-serialisable dict."""
        return dataclasses.asdict(self)


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


def discover():
    """Import every derivation module and every ``refimpl.<topic>._checks``.

    Returns the registry (name -> :class:`Check`), sorted by topic and name.
    """
    for pkg in _topic_packages():
        try:
            importlib.import_module(f"refimpl.{pkg}._checks")
        except ModuleNotFoundError as exc:
            if exc.name != f"refimpl.{pkg}._checks":
                raise
    try:
        import derivations
    except ModuleNotFoundError:  # pragma: no cover - derivations ship with refimpl
        derivations = None
    if derivations is not None:
        for info in pkgutil.iter_modules(derivations.__path__):
            if info.name.startswith("_"):
                continue
            mod = importlib.import_module(f"derivations.{info.name}")
            topic = getattr(mod, "TOPIC", None)
            if topic is None or not hasattr(mod, "check"):
                raise RuntimeError(f"derivations.{info.name} must define TOPIC and check()")
            register(topic, f"derivations.{info.name}")(mod.check)
    return dict(sorted(_REGISTRY.items(), key=lambda kv: (kv[1].topic, kv[0])))


def topics():
    """The sorted list of topics that have at least one check."""
    return sorted({c.topic for c in discover().values()})


def _run_one(check):
    t0 = time.perf_counter()
    try:
        err = check.func()
        seconds = time.perf_counter() - t0
        err = None if err is None else float(err)
        if check.tol is not None and (err is None or not err <= check.tol):
            return CheckResult(check.topic, check.name, "fail", err, check.tol, seconds,
                               f"max error {err} exceeds tolerance {check.tol}")
        return CheckResult(check.topic, check.name, "pass", err, check.tol, seconds)
    except CheckSkipped as exc:
        return CheckResult(check.topic, check.name, "skip", None, check.tol, time.perf_counter() - t0, str(exc))
    except AssertionError as exc:
        return CheckResult(check.topic, check.name, "fail", None, check.tol, time.perf_counter() - t0,
                           str(exc) or traceback.format_exc(limit=3))
    except Exception as exc:  # an error in a check is reported, not hidden
        return CheckResult(check.topic, check.name, "error", None, check.tol, time.perf_counter() - t0,
                           f"{type(exc).__name__}: {exc}")


def run_checks(selected_topics=(), *, on_result=None):
    """Run the checks of ``selected_topics`` (all when empty).

    Raises ``ValueError`` naming the known topics if one is unknown.
    ``on_result(result)`` is called after each check (for live printing).
    """
    registry = discover()
    known = sorted({c.topic for c in registry.values()})
    unknown = [t for t in selected_topics if t not in known]
    if unknown:
        raise ValueError(f"unknown topic(s) {', '.join(unknown)}; known topics: {', '.join(known)}")
    results = []
    for check in registry.values():
        if selected_topics and check.topic not in selected_topics:
            continue
        res = _run_one(check)
        results.append(res)
        if on_result is not None:
            on_result(res)
    return results
