"""Bad input never passes silently: a fuzz of a function's parameters, driven by its case row.

For one case (:mod:`refimpl.testing.cases`), :func:`fuzz_case` takes a valid
example from the row's generator and makes one parameter at a time bad, in
each class that applies to its value:

=============  ==============================================================
value          bad classes
=============  ==============================================================
float array    ``nan`` (one element NaN), ``inf``, ``str``, ``ragged`` (a
               ragged nested list), ``none`` (unless None is the default)
float          ``nan``, ``inf``, ``str`` (``"0.3"``), ``bool``, ``none``
int            ``float`` (2.5), ``str``, ``bool``, ``huge`` (2**64), ``none``
bool flag      ``str`` (``"no"``), ``int`` (2), ``none``
str option     ``unknown`` (``"bogus"``), ``int`` (3)
=============  ==============================================================

A seed (``seed``, ``rng``) gets neither ``huge`` nor ``none``: ``check_rng``
takes any non-negative integer and None (a fresh generator).

The outcome must be a ``ValueError`` or ``TypeError`` whose message names the
parameter, or a result the row documents (``Case.documented``:
``{parameter: {class: reason}}``). Anything else is reported: a call that
returns, another exception, or a message that names no parameter. Huge
sizes are only ever refused by the pre-allocation checks: a function that
tried to allocate would fail here with numpy's MemoryError, which names no
parameter.
"""
from __future__ import annotations

import dataclasses
import inspect
import re

import numpy as np

__all__ = ["BAD_CLASSES", "Finding", "bad_values", "fuzz_case"]

BAD_CLASSES = ("nan", "inf", "str", "ragged", "none", "bool", "float", "int", "huge", "unknown")


@dataclasses.dataclass(frozen=True)
class Finding:
    """One bad call and what happened: ``ok`` when it raised cleanly (or as documented)."""

    case: str
    parameter: str
    klass: str
    ok: bool
    outcome: str


def _is_seed(name):
    return "seed" in name or name == "rng"


def bad_values(name, value, default):
    """``[(class, bad value)]`` for parameter ``name`` whose valid value is ``value``."""
    out = []
    none_ok = default is None
    if isinstance(value, (bool, np.bool_)):
        out += [("str", "no"), ("int", 2)]
    elif isinstance(value, (int, np.integer)):
        out += [("float", 2.5), ("str", "3"), ("bool", True)]
        if not _is_seed(name):
            out.append(("huge", 2**64))
    elif isinstance(value, (float, np.floating)):
        out += [("nan", float("nan")), ("inf", float("inf")), ("str", "0.3"), ("bool", True)]
    elif isinstance(value, str):
        out += [("unknown", "bogus-option"), ("int", 3)]
    elif isinstance(value, np.ndarray) and value.dtype.kind in "fc" and value.size:
        nan = value.copy()
        nan.flat[0] = np.nan
        inf = value.copy()
        inf.flat[0] = np.inf
        out += [("nan", nan), ("inf", inf), ("str", "abc"), ("ragged", [[1.0, 2.0], [3.0]])]
    else:
        return []
    if not none_ok and not _is_seed(name):     # check_rng takes None for a fresh generator: not bad
        out.append(("none", None))
    return out


def _names(message, name):
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", message) is not None


def fuzz_case(case, *, example=0):
    """Every bad value of every parameter of ``case``'s function: a list of :class:`Finding`."""
    args, kwargs, _ = case.examples(example + 1)[example]
    params = inspect.signature(case.func).parameters
    documented = getattr(case, "documented", {}) or {}
    values = dict(args)
    values.update(kwargs)
    findings = []
    for pname, valid in values.items():
        default = params[pname].default if pname in params else inspect.Parameter.empty
        for klass, bad in bad_values(pname, valid, None if default is None else default):
            call_args = [(n, bad if n == pname else v) for n, v in args]
            call_kwargs = {k: (bad if k == pname else v) for k, v in kwargs.items()}
            why_ok = documented.get(pname, {}).get(klass)
            try:
                with np.errstate(all="ignore"):
                    result = case.func(*[v for _, v in call_args], **call_kwargs)
            except (ValueError, TypeError) as exc:
                msg = str(exc)
                ok = _names(msg, pname) or why_ok is not None
                findings.append(Finding(case.name, pname, klass, ok,
                                        f"{type(exc).__name__}: {msg[:200]}" + ("" if ok else "  <- names no parameter "
                                                                                 f"'{pname}'")))
            except Exception as exc:  # noqa: BLE001 - the finding
                findings.append(Finding(case.name, pname, klass, why_ok is not None,
                                        f"{type(exc).__name__}: {str(exc)[:200]}"))
            else:
                desc = "returned " + _describe(result)
                findings.append(Finding(case.name, pname, klass, why_ok is not None,
                                        desc if why_ok is None else f"{desc} (documented: {why_ok})"))
    return findings


def _describe(result):
    try:
        arr = np.abs(np.asarray(result if not isinstance(result, tuple) else result[0]).astype(complex))
        if arr.size and not np.all(np.isfinite(arr)):
            return f"a result with NaN/inf (shape {arr.shape})"
        return f"a result of shape {arr.shape}"
    except (TypeError, ValueError):
        return f"a {type(result).__name__}"
