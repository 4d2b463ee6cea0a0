"""The public surface: every public function has a case row, every fast path a reference, no import circles."""
import ast
import importlib
import inspect
import pathlib

import numpy as np
import pytest

import refimpl
from refimpl.testing.cases import all_cases, topic_packages

ROOT = pathlib.Path(refimpl.__file__).parent


def public_functions():
    """``(topic, name, function)`` for every function in a topic's ``__all__``."""
    out = []
    for topic in topic_packages():
        mod = importlib.import_module(f"refimpl.{topic}")
        for name in getattr(mod, "__all__", ()):
            obj = getattr(mod, name)
            if inspect.isfunction(obj):
                out.append((topic, name, obj))
    return out


FUNCS = public_functions()


def test_surface_is_not_empty():
    assert len(FUNCS) > 50


@pytest.mark.parametrize("topic,name,func", FUNCS, ids=[f"{t}.{n}" for t, n, _ in FUNCS])
def test_public_function_has_a_case_row(topic, name, func):
    rows = [c for c in all_cases().values() if c.func is func]
    assert rows, f"refimpl.{topic}.{name} has no row in refimpl/{topic}/cases.py"


BACKENDED = [(n, c) for n, c in all_cases().items() if "backend" in inspect.signature(c.func).parameters]


@pytest.mark.parametrize("name", [n for n, _ in BACKENDED])
def test_fast_paths_have_a_reference(name):
    case = all_cases()[name]
    args, kwargs, _ = case.examples(1)[0]
    ref = case.call(args, kwargs, backend="reference")  # raises if backend="reference" is not taken
    alias = case.call(args, kwargs, backend="numpy")  # the old name selects the same definition
    assert _leaves(ref) == _leaves(alias), f"{name}: backend 'numpy' does not select the reference definition"


def _leaves(x):
    """The numbers of a result (arrays, tuples, result objects) as one list, NaN made comparable."""
    if isinstance(x, (tuple, list)):
        return [y for e in x for y in _leaves(e)]
    if hasattr(x, "__dict__") and not isinstance(x, np.ndarray):
        return [y for k, v in sorted(vars(x).items()) if not callable(v) and k != "seconds"  # wall time
                for y in _leaves(v)]
    try:
        arr = np.asarray(x, dtype=complex).ravel()
    except (TypeError, ValueError):
        return [repr(x)]
    return [("nan" if np.isnan(v) else v) for v in arr.tolist()]


# --------------------------------------------------------------------------- import graph


def _module_name(path):
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _resolve(current, is_pkg, level, module):
    if level == 0:
        return module
    base = current.split(".")
    if not is_pkg:
        base = base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def import_graph():
    """``{module: {imported refimpl modules}}``, counting imports inside functions too."""
    files = {_module_name(p): p for p in ROOT.rglob("*.py")}
    graph = {}
    for mod, path in files.items():
        is_pkg = path.name == "__init__.py"
        edges = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                target = _resolve(mod, is_pkg, node.level, node.module or "")
                targets = [f"{target}.{a.name}" if f"{target}.{a.name}" in files else target for a in node.names]
            else:
                continue
            for t in targets:
                while t and t not in files:
                    t = t.rpartition(".")[0]
                if t and t != mod and t.startswith("refimpl") and not mod.startswith(t + "."):
                    edges.add(t)
        graph[mod] = edges
    return graph


def _cycles(graph):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_cycle_finder_finds_a_planted_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_circles():
    cycles = _cycles(import_graph())
    assert not cycles, "import circles (module-level or inside functions): " + "; ".join(" <-> ".join(c) for c in cycles)


def test_topic_code_never_imports_the_test_machinery():
    graph = import_graph()
    bad = [(m, t) for m, ts in graph.items() for t in ts
           if m.count(".") >= 1 and m.split(".")[1] in topic_packages() and not m.endswith((".cases", "._checks"))
           and (t.startswith("refimpl.testing") or t == "refimpl.verify")]
    assert not bad, f"topic code calling up into the test machinery: {bad}"
