r"""The case tables: one :class:`Case` per public function.

Each topic keeps its table in ``refimpl/<topic>/cases.py`` as a list
``CASES``. One row says how to draw inputs for the function, which
tolerance to hold per dtype and why, which fast paths must agree with the
reference definition, which public code (peers) computes the same thing,
and which numbers the article prints. Everything that checks refimpl or a
user's kernel reads the same rows:

- the tests (``tests/test_cases.py``): fast paths vs the reference, peers;
- ``refimpl verify``: the same comparisons, reported by kind;
- :func:`refimpl.testing.check_against` and the ``refimpl_oracle`` fixture;
- ``refimpl golden export/check``.

A row reads like this::

    Case("ssm.legs_matvec", legs_matvec, inputs=_legs_matvec_inputs,
         tol={"float64": (1e-12, 0.0), "float32": (1e-4, 0.0)},
         why="row n is a length-n dot product: 2 N u growth ...",
         fast=("numba",),
         peers=(Peer("dense A @ v", _dense_matvec),))

The generator ``inputs(src)`` draws from a :class:`~refimpl.testing.oracle.Source`
(hypothesis under ``check_against``, a seeded NumPy generator for golden
files and ``refimpl verify``) and returns ``{parameter: value}``; arrays go
positionally and options by keyword, in the function's signature order.
"""
from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import zlib
from typing import Callable

import numpy as np

from .sources import RngSource

__all__ = ["Article", "Case", "Peer", "all_cases", "case_names", "get_case"]

#: Tolerance dtypes a case may list.
DTYPES = ("float64", "float32", "float16", "bfloat16")
RULES = ("normwise", "elementwise")

#: Keyword parameters that select how, not what, a function computes: never drawn or pinned.
NOT_OPTIONS = ("backend", "out")


@dataclasses.dataclass(frozen=True)
class Peer:
    """Public code that computes the same function: an independent check.

    ``func`` is called like the case's function (arrays positionally,
    options by keyword) on the inputs ``convert`` maps (None: NumPy;
    ``"torch"``: torch tensors) and returns the same outputs. ``fixed`` pins
    the drawn labels to what the peer implements. ``requires`` lists the
    modules it needs: without them the peer is reported as skipped, never
    as passed. ``tol`` overrides the case's tolerances (say why in ``why``).
    """

    name: str
    func: Callable
    requires: tuple = ()
    convert: object = None
    fixed: dict = dataclasses.field(default_factory=dict)
    dtype: str = "float64"
    tol: tuple | None = None
    why: str = ""
    examples: int = 10

    def available(self):
        """``None`` when every required module imports, else the reason it cannot run."""
        for mod in self.requires:
            try:
                importlib.import_module(mod)
            except ImportError:
                return f"{mod} is not installed"
        return None


@dataclasses.dataclass(frozen=True)
class Article:
    """A number an article prints, and refimpl's value for it.

    ``compute()`` returns refimpl's value; ``expected`` is the printed one;
    the check passes when ``|value - expected| <= atol + rtol |expected|``
    elementwise (``atol`` is usually half a unit in the last printed digit).
    """

    url: str
    what: str
    compute: Callable
    expected: object
    rtol: float = 0.0
    atol: float = 0.0

    def error(self):
        """``(max abs error, bound ratio)`` of refimpl's value against the printed one."""
        got = np.asarray(self.compute(), dtype=float)
        want = np.asarray(self.expected, dtype=float)
        if got.shape != want.shape:
            raise ValueError(f"article check {self.what!r}: refimpl gives shape {got.shape}, "
                             f"the article prints {want.shape}")
        err = np.abs(got - want)
        bound = self.atol + self.rtol * np.abs(want)
        ratio = float(np.max(np.where(bound > 0, err / np.where(bound > 0, bound, 1), np.where(err > 0, np.inf, 0))))
        return float(np.max(err)), ratio


@dataclasses.dataclass(frozen=True)
class Case:
    """One row of a case table: see the module docstring.

    Attributes
    ----------
    name : str
        ``"<topic>.<function>"``.
    func : callable
        The public refimpl function.
    inputs : callable
        ``inputs(src) -> dict`` of parameter values.
    tol : dict
        dtype -> ``(rtol, atol)``; ``"float64"`` is required.
    why : str
        The reasoning behind the tolerances (error growth, measured errors).
    fast : tuple of str
        The fast backends (``"numba"``, ``"cupy"``) compared with the reference.
    reference : callable, optional
        The definition; by default ``func(..., backend="reference")`` when
        ``func`` takes ``backend``, else ``func`` itself.
    peers : tuple of Peer
    article : tuple of Article
    corners : tuple of dict
        Pins of drawn labels for the hard corners (``{"n_q_lt_n_k": True}``);
        each corner is among the deterministic examples.
    keep_dtype : tuple of str
        Inputs never rounded to the dtype under test (positions, sizes).
    rule : {"normwise", "elementwise"}
    documented : dict
        ``{parameter: {bad class: reason}}``: bad inputs (see
        :mod:`refimpl.testing.fuzz`) whose result is documented rather than
        an error, e.g. ``{"x": {"inf": "inf in, inf out: the docstring says so"}}``.
    """

    name: str
    func: Callable
    inputs: Callable
    tol: dict
    why: str
    fast: tuple = ()
    reference: Callable | None = None
    peers: tuple = ()
    article: tuple = ()
    corners: tuple = ()
    keep_dtype: tuple = ()
    rule: str = "normwise"
    documented: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.name, str) or "." not in self.name:
            raise ValueError(f"parameter 'name' must look like 'topic.function', got {self.name!r}")
        if self.rule not in RULES:
            raise ValueError(f"parameter 'rule' must be one of {', '.join(RULES)}; got {self.rule!r}")
        if not isinstance(self.tol, dict) or "float64" not in self.tol:
            raise ValueError(f"case {self.name!r}: parameter 'tol' must be a dict with a 'float64' entry, "
                             f"got {self.tol!r}")
        clean = {}
        for dt, pair in self.tol.items():
            if dt not in DTYPES:
                raise ValueError(f"case {self.name!r}: parameter 'tol': unknown dtype {dt!r}; known: {', '.join(DTYPES)}")
            try:
                r, a = (float(v) for v in pair)
            except (TypeError, ValueError):
                raise ValueError(f"case {self.name!r}: parameter 'tol': {dt} needs (rtol, atol), got {pair!r}") from None
            if not (np.isfinite(r) and np.isfinite(a) and r >= 0 and a >= 0):
                raise ValueError(f"case {self.name!r}: parameter 'tol': {dt} needs finite (rtol, atol) >= 0, got {pair!r}")
            clean[dt] = (r, a)
        object.__setattr__(self, "tol", clean)
        if not callable(self.func) or not callable(self.inputs):
            raise TypeError(f"case {self.name!r}: 'func' and 'inputs' must be callable")
        for b in self.fast:
            if b not in ("numba", "cupy"):
                raise ValueError(f"case {self.name!r}: parameter 'fast' takes 'numba' and 'cupy', got {b!r}")

    # ----------------------------------------------------------------- names used by the drivers
    @property
    def topic(self):
        """The part of the name before the first dot."""
        return self.name.split(".", 1)[0]

    @property
    def qualname(self):
        """``module.function`` of the refimpl function (its public module)."""
        mod = getattr(self.func, "__module__", "?")
        public = mod.rsplit(".", 1)[0] if mod.count(".") >= 2 else mod
        return f"{public}.{getattr(self.func, '__name__', '?')}"

    @property
    def description(self):
        """The tolerance reasoning (``why``)."""
        return self.why

    @property
    def tolerances(self):
        """dtype -> ``(rtol, atol)`` (``tol``)."""
        return self.tol

    @property
    def backends(self):
        """The fast backends (``fast``)."""
        return self.fast

    @property
    def generate(self):
        """The input generator (``inputs``)."""
        return self.inputs

    # ----------------------------------------------------------------- drawing and calling
    def sample(self, source):
        """Draw one example: ``(args, kwargs)`` with ``args`` a list of ``(name, value)``."""
        inputs = self.inputs(source)
        if not isinstance(inputs, dict):
            raise TypeError(f"case {self.name!r}: the generator must return a dict, got {type(inputs).__name__}")
        params = inspect.signature(self.func).parameters
        var_kw = any(p.kind is p.VAR_KEYWORD for p in params.values())
        unknown = [k for k in inputs if k not in params and not var_kw]
        if unknown:
            raise TypeError(f"case {self.name!r}: generated {unknown} which {self.qualname} does not take")
        args = [(n, inputs[n]) for n, p in params.items()
                if n in inputs and p.default is inspect.Parameter.empty and p.kind in (
                    p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        pos = {n for n, _ in args}
        return args, {k: v for k, v in inputs.items() if k not in pos}

    def keyword_defaults(self):
        """``{name: default}`` of the function's options (``backend`` and ``out`` excluded)."""
        params = inspect.signature(self.func).parameters
        return {n: p.default for n, p in params.items()
                if p.default is not inspect.Parameter.empty and n not in NOT_OPTIONS}

    def _takes_backend(self):
        try:
            return "backend" in inspect.signature(self.func).parameters
        except (TypeError, ValueError):  # pragma: no cover
            return False

    def call(self, args, kwargs, backend=None):
        """Run refimpl on one example: the reference, or the fast path ``backend``."""
        pos = [v for _, v in args]
        if backend is None:
            if self.reference is not None:
                return self.reference(*pos, **kwargs)
            if self._takes_backend():
                return self.func(*pos, **kwargs, backend="reference")
            return self.func(*pos, **kwargs)
        return self.func(*pos, **kwargs, backend=backend)

    def call_reference(self, args, kwargs):
        """The reference result in float64 (rounded inputs are widened exactly first)."""
        return self.call([(n, _widen(v)) for n, v in args], {k: _widen(v) for k, v in kwargs.items()})

    def tolerance(self, dtype):
        """``(rtol, atol)`` for ``dtype``; ValueError listing the dtypes this case has."""
        if dtype not in self.tol:
            raise ValueError(f"parameter 'dtype': oracle {self.name!r} has tolerances for "
                             f"{', '.join(self.tol)}; got {dtype!r} (or pass rtol= and atol=)")
        return self.tol[dtype]

    def seed(self, index):
        """The seed of deterministic example ``index``: depends only on the name and the index."""
        return [zlib.crc32(self.name.encode()), int(index)]

    def examples(self, n, fixed=None):
        """``n`` deterministic examples ``(args, kwargs, drawn)``.

        The corners come first (each with ``fixed`` on top, every option it
        does not pin held at its default), then even
        examples hold every option at refimpl's default (a kernel that
        implements only the default has those to check against) and odd
        ones draw every option.
        """
        out = []
        defaults = self.keyword_defaults()
        pins = [dict(c) for c in self.corners]
        for k in range(n):
            if k < len(pins):
                # a corner pins what makes it hard and holds every other option at its default, so that
                # a kernel without optional outputs (return_weights, ...) still runs the hard inputs
                pin = {**pins[k], **(fixed or {})}
                src = RngSource(self.seed(k), pin, defaults)
            else:
                src = RngSource(self.seed(k), fixed, defaults if k % 2 == 0 else None)
            args, kwargs = self.sample(src)
            out.append((args, kwargs, src.drawn))
        return out


def _widen(v):
    if isinstance(v, np.ndarray) and v.dtype.kind == "f" and v.dtype != np.float64:
        return v.astype(np.float64)
    if isinstance(v, np.ndarray) and v.dtype.kind == "c" and v.dtype != np.complex128:
        return v.astype(np.complex128)
    return v


_CASES: dict[str, Case] = {}
_DISCOVERED = False


def _add(case, where):
    if not isinstance(case, Case):
        raise TypeError(f"{where}: CASES must hold Case rows, got {type(case).__name__}")
    old = _CASES.get(case.name)
    if old is not None and old is not case:
        raise ValueError(f"case name {case.name!r} appears twice ({where})")
    _CASES[case.name] = case


def topic_packages():
    """The names of refimpl's topic packages."""
    import refimpl

    return [m.name for m in pkgutil.iter_modules(refimpl.__path__) if m.ispkg and not m.name.startswith("_")
            and m.name not in ("testing", "derivations", "figures")]


def all_cases():
    """Every case row: ``{name: Case}`` sorted by name (imports each ``refimpl.<topic>.cases``)."""
    global _DISCOVERED
    if not _DISCOVERED:
        for pkg in topic_packages():
            modname = f"refimpl.{pkg}.cases"
            try:
                mod = importlib.import_module(modname)
            except ModuleNotFoundError as exc:
                if exc.name != modname:
                    raise
                continue
            for case in getattr(mod, "CASES", ()):
                _add(case, modname)
        _DISCOVERED = True
    return dict(sorted(_CASES.items()))


def case_names():
    """Sorted names of every case."""
    return list(all_cases())


def get_case(name):
    """The :class:`Case` called ``name``; ValueError listing the known names otherwise."""
    cases = all_cases()
    if not isinstance(name, str) or name not in cases:
        raise ValueError(f"parameter 'name': unknown oracle {name!r}; known oracles: {', '.join(cases)}")
    return cases[name]
