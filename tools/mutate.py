#!/usr/bin/env python
"""Mutation testing of refimpl's numerical code: do the tests notice a wrong number?

    python tools/mutate.py [--n 100] [--seed 0] [--topic ssm ...] [--jobs 1]
                           [--timeout S] [--report tests/MUTATION.md]

The tool makes small, plausible mistakes ("mutants") in the computational
lines of ``refimpl/<topic>/*.py`` -- the reference definitions, the fast paths
and the public modules, as they are in the working tree -- and runs the
topic's tests against each mutant, one at a time:

========  ===========================================================
operator  mutation
========  ===========================================================
sign      ``a + b`` <-> ``a - b``, ``+=`` <-> ``-=``
unary     ``-x`` -> ``x`` (a unary minus dropped)
constant  ``2`` -> ``3``, ``0.5`` -> ``0.51`` (ints +1, floats +2 %)
index     a constant index or slice bound +1 in magnitude (``x[0]`` ->
          ``x[1]``, ``x[-1]`` -> ``x[-2]``), ``x[a:b]`` -> ``x[a + 1:b]``
          and ``x[a:b - 1]``
range     ``range(n)`` -> ``range(n - 1)``, ``range(a, b)`` ->
          ``range(a + 1, b)`` and ``range(a, b - 1)`` (also ``prange``)
compare   ``<`` <-> ``<=``, ``>`` <-> ``>=``
boolop    ``and`` <-> ``or``
minmax    ``max`` <-> ``min`` (also ``maximum``/``minimum``, ``amax``/
          ``amin``, ``argmax``/``argmin``, ``fmax``/``fmin``)
========  ===========================================================

Not mutated: docstrings, comments and strings, imports, decorators (numba
flags), annotations, ``raise``/``assert`` statements and ``if ...: raise``
guards, statements that call a validator (``as_array``, ``check_*``,
``_validate*``, ...), functions named ``_validate*``/``_check*``, and the
files that are the tests' own material (``cases.py`` and ``cases_*.py``,
``_checks.py``, ``_oracles.py``, ``_peer.py`` and ``_*_peer.py``). Floats below 1e-6 in magnitude (tolerances)
are left alone.

Every mutation is a token-level edit of one source line, so the rest of the
file keeps its form and the report shows a one-line diff. The sample is drawn
with ``random.Random(seed)`` from the sorted list of all sites, so the same
tree and seed give the same mutants.

Each mutant runs in a copy of the repository (the tracked and untracked,
non-ignored files, copied to a temporary directory; the user's checkout is
never written), with ``NUMBA_CACHE_DIR`` inside the copy, under ``nice``,
with a per-mutant timeout. Around each mutant the stale state is dropped: the
module's ``.pyc``, the numba cache of the module and of the topic modules
that import it (numba does not notice a change in a callee's file), and the
Hypothesis example database. The tests run:

1. ``python -m pytest -x -q -p no:cacheprovider <related> <extra>
   tests/test_cases.py tests/test_doctests.py -k "(not test_cases.py and not
   test_doctests.py) or <topic>."``: the topic's test files that name a
   function reaching the mutated line (through the topic's call graph, found
   by grep), the test files elsewhere that import the mutated module by name
   (``tests/gpu/test_xp_*`` for the array-namespace code), the case-table rows
   of the topic (fast path vs reference, peers, article numbers) and the
   docstring examples of the topic's modules, where those files exist;
2. if that passes, ``python -m pytest -x -q -p no:cacheprovider <the topic's
   other test files>``.

The first run is small, so a kill usually comes early; a survivor has
passed every test file of its topic. Outcomes: killed (by an assertion, or by
a crash such as IndexError or numba's TypingError, read from pytest's
traceback), timeout (counted as killed, reported apart), survived, or
equivalent: a survivor listed in ``tools/mutation_equivalent.toml`` (file,
original line, mutated line, reason), judged to change nothing observable.

Before the mutants of a topic, its tests run once unmutated in the copy (this
also fills the numba cache and gives the default timeout,
``max(120, 4 * baseline)`` seconds, with room for the load to rise); a topic
whose tests fail unmutated is not mutated. The report (markdown) is rewritten after every mutant, so an
interrupted run still leaves its partial result.

Slow (minutes per dozen mutants): not part of the test suite or CI.
``tests/test_mutate_tool.py`` tests the generator.
"""
from __future__ import annotations

import argparse
import ast
import datetime as _dt
import difflib
import io
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EQUIVALENT_FILE = Path(__file__).resolve().with_name("mutation_equivalent.toml")

#: Files of a topic package that are test material, not code under test: the case tables
#: (``cases.py``, ``cases_*.py``), the cross-checks, the legacy oracle tables and the
#: transcriptions of public code used as peers (``_peer.py``, ``_*_peer.py``).
SKIP_FILES = re.compile(r"^(cases(_\w+)?|_checks|_oracles|_?(\w+_)?peer)\.py$")
NOT_TOPICS = ("testing", "derivations", "figures")
#: Calls whose statement is validation (the whole statement is skipped).
VALIDATOR_CALL = re.compile(r"^(as_array|device_array|check_\w+|_check\w*|_validate\w*|validate\w*|_require\w*|"
                            r"warn|_warn\w*)$")
#: Functions that only validate (their body is skipped).
VALIDATOR_DEF = re.compile(r"^_?(validate|check|require)\w*$")
SKIP_KEYWORDS = {"stacklevel"}
MINMAX = {"max": "min", "min": "max", "maximum": "minimum", "minimum": "maximum", "amax": "amin",
          "amin": "amax", "argmax": "argmin", "argmin": "argmax", "fmax": "fmin", "fmin": "fmax",
          "nanmax": "nanmin", "nanmin": "nanmax"}
COMPARE_SWAP = {"<": "<=", "<=": "<", ">": ">=", ">=": ">"}
TINY_FLOAT = 1e-6
#: Exceptions that are a test's verdict, not a crash: pytest's and Hypothesis' failures and
#: derivations/_util.DerivationError (an AssertionError raised by a derivation's check()).
ASSERTION_NAMES = {"AssertionError", "Failed", "Flaky", "FlakyFailure", "MultipleFailures", "DerivationError"}
OPERATORS = ("sign", "unary", "constant", "index", "range", "compare", "boolop", "minmax")


# ---------------------------------------------------------------------------
# The mutation generator


@dataclass(frozen=True, order=True)
class Mutant:
    """One token-level edit: replace ``line[col:end]`` of 1-based ``lineno`` by ``new``."""

    path: str          # relative to the repository root, posix
    lineno: int
    col: int           # character (not byte) offsets in the line
    end: int
    new: str
    op: str = field(compare=False)
    function: str = field(compare=False, default="<module>")

    def apply(self, source: str) -> str:
        """The mutated source text."""
        lines = _split(source)
        line = lines[self.lineno - 1]
        lines[self.lineno - 1] = line[:self.col] + self.new + line[self.end:]
        return "".join(lines)

    def lines(self, source: str) -> tuple[str, str]:
        """(original line, mutated line), without the line end."""
        old = _split(source)[self.lineno - 1].rstrip("\r\n")
        return old, old[:self.col] + self.new + old[self.end:]

    def describe(self, source: str) -> str:
        old = _split(source)[self.lineno - 1][self.col:self.end]
        if not old:
            return f"{self.op}: insert {self.new.strip()!r}"
        return f"{self.op}: {old!r} -> {self.new!r}"


def _split(source: str) -> list[str]:
    """Lines with their ends, split where Python's tokenizer splits (not at form feeds or U+2028)."""
    return io.StringIO(source, newline="").readlines()


class _Sites:
    """Walks one module's AST and collects the mutation sites."""

    def __init__(self, source: str, path: str):
        self.source = source
        self.path = path
        self.lines = _split(source)
        self.tokens = [t for t in tokenize.generate_tokens(io.StringIO(source).readline)
                       if t.type in (tokenize.OP, tokenize.NAME, tokenize.NUMBER)]
        self.mutants: list[Mutant] = []
        self.stack: list[str] = []

    # positions: ast gives UTF-8 byte columns, tokenize gives characters
    def _char(self, lineno: int, byte_col: int) -> int:
        return len(self.lines[lineno - 1].encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))

    def _start(self, node) -> tuple[int, int]:
        return node.lineno, self._char(node.lineno, node.col_offset)

    def _end(self, node) -> tuple[int, int]:
        return node.end_lineno, self._char(node.end_lineno, node.end_col_offset)

    def _token(self, lo, hi, strings):
        """First token in [lo, hi) (positions) whose text is in ``strings``."""
        for t in self.tokens:
            if t.start >= hi:
                break
            if t.start >= lo and t.string in strings:
                return t
        return None

    def _add(self, lineno, col, end, new, op):
        self.mutants.append(Mutant(self.path, lineno, col, end, new, op, ".".join(self.stack) or "<module>"))

    def _swap_token(self, lo, hi, table, op):
        t = self._token(lo, hi, table)
        if t is not None and t.start[0] == t.end[0]:
            self._add(t.start[0], t.start[1], t.end[1], table[t.string], op)

    def _insert_after(self, node, text, op):
        lineno, col = self._end(node)
        simple = (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.Constant, ast.BinOp, ast.UnaryOp)
        if isinstance(node, ast.BinOp) and not isinstance(
                node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)):
            simple = ()
        if isinstance(node, simple):
            self._add(lineno, col, col, text, op)
        elif node.lineno == node.end_lineno:    # parenthesise: (expr) + 1
            s_line, s_col = self._start(node)
            old = self.lines[lineno - 1][s_col:col]
            self._add(lineno, s_col, col, f"({old}){text}", op)

    # statements ---------------------------------------------------------
    def module(self, tree):
        self.body(tree.body)

    def body(self, stmts):
        for s in stmts:
            self.stmt(s)

    def stmt(self, s):
        if isinstance(s, (ast.Import, ast.ImportFrom, ast.Raise, ast.Assert, ast.Global, ast.Nonlocal,
                          ast.Pass, ast.Break, ast.Continue)):
            return
        if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if VALIDATOR_DEF.match(s.name):
                return
            self.stack.append(s.name)
            for d in s.args.defaults + [d for d in s.args.kw_defaults if d is not None]:
                self.expr(d)
            self.body(s.body)
            self.stack.pop()
            return
        if isinstance(s, ast.ClassDef):
            self.stack.append(s.name)
            self.body(s.body)
            self.stack.pop()
            return
        if isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant):
            return                                                    # docstring
        targets = s.targets if isinstance(s, ast.Assign) else [s.target] if isinstance(s, ast.AugAssign) else []
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            return
        if isinstance(s, (ast.If, ast.While)):
            guard = s.body and all(isinstance(b, (ast.Raise, ast.Expr, ast.Assign)) for b in s.body) \
                and any(isinstance(b, ast.Raise) for b in s.body)
            main = isinstance(s, ast.If) and ast.unparse(s.test).startswith("__name__")
            if guard or main:
                if not main:
                    self.body(s.orelse)
                return
            if not _calls_validator(s.test):
                self.expr(s.test)
            self.body(s.body)
            self.body(s.orelse)
            return
        if isinstance(s, (ast.For, ast.AsyncFor)):
            if not _calls_validator(s.iter):
                self.expr(s.target)
                self.expr(s.iter)
            self.body(s.body)
            self.body(s.orelse)
            return
        if isinstance(s, (ast.With, ast.AsyncWith)):
            for item in s.items:
                if not _calls_validator(item.context_expr):
                    self.expr(item.context_expr)
            self.body(s.body)
            return
        if isinstance(s, ast.Try) or type(s).__name__ == "TryStar":
            self.body(s.body)
            for h in s.handlers:
                self.body(h.body)
            self.body(s.orelse)
            self.body(s.finalbody)
            return
        if isinstance(s, ast.Match):
            self.expr(s.subject)
            for case in s.cases:
                self.body(case.body)
            return
        if _calls_validator(s):
            return
        if isinstance(s, ast.AugAssign):
            if isinstance(s.op, (ast.Add, ast.Sub)):
                self._swap_token(self._end(s.target), self._start(s.value), {"+=": "-=", "-=": "+="}, "sign")
            self.expr(s.target)
            self.expr(s.value)
            return
        if isinstance(s, ast.AnnAssign):
            if s.value is not None:
                self.expr(s.value)
            return
        for child in ast.iter_child_nodes(s):
            if isinstance(child, ast.expr):
                self.expr(child)

    # expressions --------------------------------------------------------
    def expr(self, e, where="constant"):
        """``where``: the label a number directly here gets ("constant", "index" or "range")."""
        if e is None or isinstance(e, (ast.JoinedStr, ast.expr_context)):
            return
        if isinstance(e, ast.Constant):
            self.number(e, where)
            return
        if isinstance(e, ast.BinOp):
            if isinstance(e.op, (ast.Add, ast.Sub)):
                self._swap_token(self._end(e.left), self._start(e.right), {"+": "-", "-": "+"}, "sign")
            self.expr(e.left, where)
            self.expr(e.right, where)
            return
        if isinstance(e, ast.UnaryOp):
            if isinstance(e.op, ast.USub):
                lineno, col = self._start(e)
                t = self._token((lineno, col), (lineno, col + 1), {"-"})
                if t is not None:
                    self._add(lineno, col, col + 1, "", "unary")
            self.expr(e.operand, where)
            return
        if isinstance(e, ast.Compare):
            left = e.left
            for op_node, right in zip(e.ops, e.comparators):
                if isinstance(op_node, (ast.Lt, ast.LtE, ast.Gt, ast.GtE)):
                    self._swap_token(self._end(left), self._start(right), COMPARE_SWAP, "compare")
                left = right
            self.expr(e.left)
            for c in e.comparators:
                self.expr(c)
            return
        if isinstance(e, ast.BoolOp):
            for a, b in zip(e.values, e.values[1:]):
                self._swap_token(self._end(a), self._start(b), {"and": "or", "or": "and"}, "boolop")
            for v in e.values:
                self.expr(v)
            return
        if isinstance(e, ast.Call):
            name = _call_name(e)
            if name is not None and VALIDATOR_CALL.match(name):
                return
            if name in MINMAX:
                lineno, col = self._end(e.func)
                if e.func.end_lineno == e.func.lineno:
                    self._add(lineno, col - len(name), col, MINMAX[name], "minmax")
            if name in ("range", "prange") and not e.keywords:
                args = e.args
                if len(args) == 1 and not isinstance(args[0], ast.Constant):
                    self._insert_after(args[0], " - 1", "range")
                elif len(args) >= 2:
                    if not isinstance(args[0], ast.Constant):
                        self._insert_after(args[0], " + 1", "range")
                    if not isinstance(args[1], ast.Constant):
                        self._insert_after(args[1], " - 1", "range")
                self.expr(e.func)
                for a in args:
                    self.expr(a, "range")
                return
            self.expr(e.func)
            for a in e.args:
                self.expr(a)
            for k in e.keywords:
                if k.arg not in SKIP_KEYWORDS:
                    self.expr(k.value)
            return
        if isinstance(e, ast.Subscript):
            self.expr(e.value)
            self.index(e.slice)
            return
        if isinstance(e, ast.Lambda):
            self.expr(e.body)
            return
        for child in ast.iter_child_nodes(e):
            if isinstance(child, ast.expr):
                self.expr(child)
            elif isinstance(child, ast.comprehension):
                self.expr(child.iter)
                for cond in child.ifs:
                    self.expr(cond)

    def index(self, sl):
        if isinstance(sl, ast.Tuple):
            for elt in sl.elts:
                self.index(elt)
            return
        if isinstance(sl, ast.Slice):
            for bound, text in ((sl.lower, " + 1"), (sl.upper, " - 1")):
                if bound is None:
                    continue
                if not _is_number(bound):
                    self._insert_after(bound, text, "index")
                self.expr(bound, "index")
            self.expr(sl.step, "index")
            return
        self.expr(sl, "index")

    def number(self, e, where):
        v = e.value
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return
        if isinstance(v, float) and 0 < abs(v) < TINY_FLOAT:
            return
        lineno, col = self._start(e)
        t = self._token((lineno, col), (lineno, col + 1), _Anything())
        if t is None or t.type != tokenize.NUMBER or t.start[0] != t.end[0]:
            return
        self._add(lineno, t.start[1], t.end[1], _nudge(v, t.string), where)


class _Anything:
    def __contains__(self, item):
        return True


def _nudge(v, text=""):
    """2 -> 3, 0x7FFF -> 0x8000, 0.5 -> 0.51, 0.0 -> 0.01 (as a literal)."""
    if isinstance(v, int):
        if text[:2].lower() in ("0x", "0o", "0b"):
            new = format(v + 1, {"x": "x", "o": "o", "b": "b"}[text[1].lower()])
            return text[:2] + (new.upper() if text[2:].isupper() else new)
        return str(v + 1)
    new = v + 0.02 * abs(v) if v != 0 else 0.01
    text = f"{new:.6g}"
    if float(text) == v:
        text = repr(new)
    if not any(c in text for c in ".eEn"):
        text += ".0"
    return text


def _is_number(e):
    return isinstance(e, ast.Constant) or (isinstance(e, ast.UnaryOp) and isinstance(e.operand, ast.Constant))


def _call_name(call):
    f = call.func
    if isinstance(f, ast.Name):
        return f.id
    if isinstance(f, ast.Attribute):
        return f.attr
    return None


def _calls_validator(node):
    for n in ast.walk(node):
        if isinstance(n, ast.Call):
            name = _call_name(n)
            if name is not None and VALIDATOR_CALL.match(name):
                return True
    return False


def mutants_of_source(source: str, path: str = "<string>") -> list[Mutant]:
    """Every mutation site of one module, in source order."""
    tree = ast.parse(source)
    sites = _Sites(source, path)
    sites.module(tree)
    return sorted(set(sites.mutants))


def is_valid(mutant: Mutant, source: str) -> bool:
    """The mutant parses and differs from the original in its AST."""
    try:
        tree = ast.parse(mutant.apply(source))
    except SyntaxError:
        return False
    return ast.dump(tree) != ast.dump(ast.parse(source))


def sample(mutants, n, seed, sources):
    """``n`` valid mutants drawn with ``random.Random(seed)`` from the sorted sites."""
    order = sorted(mutants)
    random.Random(seed).shuffle(order)
    chosen = []
    for m in order:
        if len(chosen) == n:
            break
        if is_valid(m, sources[m.path]):
            chosen.append(m)
    return sorted(chosen)


def topics(root: Path = REPO) -> list[str]:
    pkg = root / "refimpl"
    return sorted(p.name for p in pkg.iterdir()
                  if p.is_dir() and (p / "__init__.py").exists() and p.name not in NOT_TOPICS
                  and not p.name.startswith("_"))


def topic_files(topic: str, root: Path = REPO) -> list[Path]:
    return sorted(p for p in (root / "refimpl" / topic).glob("*.py") if not SKIP_FILES.match(p.name))


def collect(topic_names, root: Path = REPO):
    """(all mutants, {path: source}) of the given topics."""
    mutants, sources = [], {}
    for t in topic_names:
        for f in topic_files(t, root):
            rel = f.relative_to(root).as_posix()
            sources[rel] = f.read_text(encoding="utf-8")
            mutants.extend(mutants_of_source(sources[rel], rel))
    return sorted(mutants), sources


# ---------------------------------------------------------------------------
# Equivalent mutants


def load_equivalent(path: Path = EQUIVALENT_FILE) -> dict:
    """{(file, original line, mutated line): reason} from the TOML list ``[[equivalent]]``."""
    if not path.exists():
        return {}
    import tomllib

    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {(e["file"], e["line"].strip(), e["mutant"].strip()): e["reason"] for e in data.get("equivalent", [])}


def equivalent_key(mutant: Mutant, source: str):
    old, new = mutant.lines(source)
    return mutant.path, old.strip(), new.strip()


# ---------------------------------------------------------------------------
# Running the tests


def classify(output: str) -> tuple[str, str]:
    """('assertion' | 'crash', detail) from pytest's output of a failed run.

    The exception type is read from the traceback's last location line
    (``path:line: ExcType``), else from the short summary (``FAILED id - ExcType: ...``).
    """
    test = None
    for line in output.splitlines():
        m = re.match(r"^(FAILED|ERROR) (\S+)", line)
        if m:
            test = m.group(2) if m.group(1) == "FAILED" else f"{m.group(2)} (collection or fixture)"
            break
    fatal = re.search(r"Fatal Python error: (\w[\w ]*)", output)
    if fatal:                                   # a segfault or abort in compiled code (numba, LAPACK)
        where = test or re.search(r"^  File \"(\S+)\", line \d+ in (test_\w+)", output, flags=re.M)
        if not isinstance(where, str):
            where = f"{where.group(1)}::{where.group(2)}" if where else "?"
        return "crash", f"{fatal.group(1)} in {where}"
    exc = None
    for line in output.splitlines():
        if line.startswith("=") and "short test summary" in line:
            break
        m = re.match(r"^\S+:\d+: ([A-Za-z_][\w.]*)$", line)
        if m:
            exc = m.group(1)
    if exc is None:
        for line in output.splitlines():
            m = re.match(r"^(?:FAILED|ERROR) \S+ - ([A-Za-z_][\w.]*)(:|$)", line) \
                or re.match(r"^E\s+([A-Za-z_][\w.]*(Error|Exception|Failure))\b", line)
            if m:
                exc = m.group(1)
                break
        else:
            if any(re.match(r"^(?:FAILED|ERROR) \S+ - assert", ln) or re.match(r"^E\s+assert ", ln)
                   for ln in output.splitlines()):
                exc = "AssertionError"
    where = test or "?"
    if exc is None:
        return "crash", f"no exception found (interpreter or collection failure) in {where}"
    name = exc.rsplit(".", 1)[-1]
    if name in ASSERTION_NAMES:
        return "assertion", where
    return "crash", f"{name} in {where}"


def copy_tree(dest: Path, root: Path = REPO):
    """Copy the tracked and untracked-but-not-ignored files of ``root`` to ``dest``."""
    out = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=root, check=True,
                         capture_output=True).stdout.decode()
    for rel in filter(None, out.split("\0")):
        src = root / rel
        if not src.is_file():
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest / rel)


def _drop_pyc(path: Path):
    for pyc in (path.parent / "__pycache__").glob(path.stem + ".*.pyc"):
        pyc.unlink()


def importers(root: Path, topic: str, module: str) -> set[str]:
    """The modules of a topic that import ``module`` (of the same topic), directly or not, and itself.

    numba's cache of a kernel is invalidated only when its own file changes; a
    kernel that calls a kernel of another file keeps the callee compiled in, so
    the cache of every importer is dropped with the mutated file's.
    """
    pkg = f"refimpl.{topic}"
    imports: dict[str, set[str]] = {}
    for f in (root / "refimpl" / topic).glob("*.py"):
        got = set()
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level == 1 or base == pkg or base.startswith(pkg + "."):
                    mod = base[len(pkg) + 1:] if base.startswith(pkg) else base
                    if mod:
                        got.add(mod.split(".")[0])
                    else:
                        got.update(a.name for a in node.names)
            elif isinstance(node, ast.Import):
                got.update(a.name.split(".")[2] for a in node.names if a.name.startswith(pkg + "."))
        imports[f.stem] = got
    reach, todo = {module}, [module]
    while todo:
        cur = todo.pop()
        for mod, deps in imports.items():
            if cur in deps and mod not in reach:
                reach.add(mod)
                todo.append(mod)
    return reach


def _drop_numba_cache(cache: Path, topic: str, modules):
    if not cache.exists():
        return
    for f in cache.rglob("*.nb[ic]"):
        # numba names the folder <source folder>_<hash of its path>, the files <module>.<function>-<line>...
        if f.parent.name.rsplit("_", 1)[0] == topic and f.name.split(".")[0] in modules:
            f.unlink()


def _related_tests(mutant: Mutant, root: Path, topic: str, graph) -> tuple[list[str], list[str], list[str]]:
    """Test files for a mutant: (related, rest, extra).

    ``related``: the topic's test files that name a function reaching the mutated
    line (or the module); ``rest``: the topic's other test files; ``extra``: test
    files elsewhere that import the mutated module by name.
    """
    module = Path(mutant.path).stem
    names = graph.reaching(mutant.function.split(".")[0], module)
    topic_tests = sorted((root / "tests" / topic).rglob("test_*.py"))
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(names))) + r")\b") if names else None
    related, rest = [], []
    for f in topic_tests:
        text = f.read_text(encoding="utf-8", errors="replace")
        (related if pattern is not None and pattern.search(text) else rest).append(f.relative_to(root).as_posix())
    imports = re.compile(rf"refimpl\.{topic}\.{re.escape(module)}\b|from refimpl\.{topic} import [^\n]*\b{re.escape(module)}\b")
    extra = []
    for f in sorted((root / "tests").rglob("test_*.py")):
        rel = f.relative_to(root).as_posix()
        if rel.startswith(f"tests/{topic}/") or rel == "tests/test_cases.py" or rel.endswith("test_mutate_tool.py"):
            continue
        if imports.search(f.read_text(encoding="utf-8", errors="replace")):
            extra.append(rel)
    return related, rest, extra


class _CallGraph:
    """Which functions of a topic reach a given one (by name, within the topic's modules)."""

    def __init__(self, root: Path, topic: str):
        self.refs: dict[str, set[str]] = {}
        for f in (root / "refimpl" / topic).glob("*.py"):
            tree = ast.parse(f.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
                    used |= {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}
                    self.refs.setdefault(node.name, set()).update(used - {node.name})

    def reaching(self, name: str, module: str) -> set[str]:
        if name == "<module>":
            return {module}
        seen, todo = {name}, [name]
        while todo:
            cur = todo.pop()
            for caller, used in self.refs.items():
                if cur in used and caller not in seen:
                    seen.add(caller)
                    todo.append(caller)
        return {s for s in seen if not s.startswith("_")} | {name, module}


@dataclass
class Result:
    mutant: Mutant
    outcome: str          # killed | survived | timeout | equivalent | skipped
    detail: str = ""
    seconds: float = 0.0
    reason: str = ""


_RUNNING: set = set()          # the pytest processes started by this run (killed on Ctrl-C)
_STOP = threading.Event()


def _run(cmd, cwd, env, timeout, nice):
    full = (["nice", "-n", str(nice)] if nice else []) + cmd
    # A process group of its own (killed whole on a timeout) in the tool's session: with Linux
    # autogroup scheduling, nice orders processes only within a session, so a new session per
    # run would compete at full weight with the user's other work.
    group = {"process_group": 0} if sys.version_info >= (3, 11) else {"start_new_session": True}
    proc = subprocess.Popen(full, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **group)
    _RUNNING.add(proc)
    try:
        out, _ = proc.communicate(timeout=timeout)
        return proc.returncode, out.decode(errors="replace")
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return None, ""
    finally:
        _RUNNING.discard(proc)


def _kill_running():
    for proc in list(_RUNNING):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_commands(related, rest, extra, topic, copy: Path):
    """The pytest command lines for one mutant, run in order until one fails.

    First the related test files, the other files importing the mutated module,
    the topic's case-table rows and the docstring examples of the topic's
    modules (``tests/test_cases.py tests/test_doctests.py -k "(not
    test_cases.py and not test_doctests.py) or <topic>."``: the other files
    run whole), in one process;
    then, if all pass, the topic's remaining test files. A kill usually comes
    in the first, smaller run; a survivor has passed every file of the topic.
    """
    py = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
    first = related + extra
    shared = [f for f in ("tests/test_cases.py", "tests/test_doctests.py") if (copy / f).exists()]
    if shared:
        # whole files, plus the rows of the shared files that name the topic ("ssm.kernel[numba]",
        # "test_docstring_examples[refimpl.ssm.hippo]")
        keep = " and ".join(f"not {Path(f).name}" for f in shared)
        first = first + shared + ["-k", f"({keep}) or {topic}."]
    cmds = [py + first] if first else []
    if rest:
        cmds.append(py + rest)
    return cmds


def run_tests(cmds, copy, env, deadline, nice):
    """('passed' | 'failed' | 'timeout', output)."""
    for cmd in cmds:
        if _STOP.is_set():
            return "failed", "interrupted"
        left = deadline - time.monotonic()
        if left <= 0:
            return "timeout", ""
        rc, out = _run(cmd, copy, env, left, nice)
        if rc is None:
            return "timeout", out
        if rc not in (0, 5):            # 5: nothing collected for this -k
            return "failed", out
    return "passed", ""


class Worker:
    def __init__(self, index, base: Path, args, log):
        self.copy = base / f"copy{index}"
        self.copy.mkdir(parents=True)
        copy_tree(self.copy)
        self.env = dict(os.environ, PYTHONPATH=str(self.copy), NUMBA_CACHE_DIR=str(self.copy / ".numba_cache"),
                        HYPOTHESIS_PROFILE="ci", PYTHONHASHSEED="0",
                        COLUMNS="400")
        self.args = args
        self.log = log
        self.baseline: dict[str, tuple[bool, float]] = {}
        self.claimed: set[str] = set()          # topics this worker runs (see _next)
        self.graphs: dict[str, _CallGraph] = {}
        where = subprocess.run([sys.executable, "-c", "import refimpl; print(refimpl.__file__)"], cwd=self.copy,
                               env=self.env, capture_output=True, text=True).stdout.strip()
        if not where.startswith(str(self.copy)):
            raise SystemExit(f"refimpl imports from {where!r}, not from the copy {self.copy}: check PYTHONPATH")

    def warm(self, topic):
        if topic not in self.baseline:
            _, files, _ = _related_tests(Mutant("", 0, 0, 0, "", "", "<module>"), self.copy, topic, _NoGraph())
            t0 = time.monotonic()
            status, out = run_tests(test_commands(files, [], [], topic, self.copy), self.copy, self.env,
                                    time.monotonic() + 1800, self.args.nice)
            self.baseline[topic] = (status == "passed", time.monotonic() - t0)
            self.log(f"baseline {topic}: {status} in {self.baseline[topic][1]:.0f} s" +
                     ("" if status == "passed" else "\n" + out[-3000:]))
        return self.baseline[topic]

    def run(self, mutant: Mutant, source: str) -> Result:
        topic = mutant.path.split("/")[1]
        ok, base = self.warm(topic)
        if not ok:
            return Result(mutant, "skipped", "the topic's tests fail without a mutant")
        timeout = self.args.timeout or max(120.0, 4.0 * base)
        graph = self.graphs.setdefault(topic, _CallGraph(self.copy, topic))
        related, rest, extra = _related_tests(mutant, self.copy, topic, graph)
        target = self.copy / mutant.path
        stale = importers(self.copy, topic, target.stem)
        cache = Path(self.env["NUMBA_CACHE_DIR"])
        t0 = time.monotonic()
        try:
            target.write_text(mutant.apply(source), encoding="utf-8")
            _drop_pyc(target)
            _drop_numba_cache(cache, topic, stale)
            shutil.rmtree(self.copy / ".hypothesis", ignore_errors=True)
            status, out = run_tests(test_commands(related, rest, extra, topic, self.copy), self.copy, self.env,
                                    time.monotonic() + timeout, self.args.nice)
        finally:
            target.write_text(source, encoding="utf-8")
            _drop_pyc(target)
            _drop_numba_cache(cache, topic, stale)
        dt = time.monotonic() - t0
        if status == "timeout":
            return Result(mutant, "timeout", f"> {timeout:.0f} s", dt)
        if status == "failed":
            kind, detail = classify(out)
            return Result(mutant, "killed", f"{kind}: {detail}", dt)
        return Result(mutant, "survived", "", dt)


class _NoGraph:
    def reaching(self, name, module):
        return set()


# ---------------------------------------------------------------------------
# The report


def _git(*args):
    try:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def write_report(path: Path, results, sources, meta, done):
    def count(o):
        return sum(r.outcome == o for r in results)

    killed, surv, equiv, tout, skipped = (count(o) for o in ("killed", "survived", "equivalent", "timeout",
                                                              "skipped"))
    by_assert = sum(r.outcome == "killed" and r.detail.startswith("assertion") for r in results)
    judged = killed + surv + tout
    rate = f"{100.0 * (killed + tout) / judged:.1f} %" if judged else "n/a"
    state = "complete" if done else f"**partial: {len(results)} of {meta['n']} mutants run so far**"
    lines = [
        "# Mutation testing",
        "",
        "Small plausible mistakes (a flipped sign, a nudged constant, an off-by-one bound, a swapped",
        "comparison, `and`/`or`, `max`/`min`) are put one at a time into the computational lines of",
        "`refimpl/<topic>/*.py`, and the topic's tests run against each. A surviving mutant is a",
        "mistake the tests would not notice. Generated by `tools/mutate.py` (its docstring says",
        "what is mutated and what is skipped); not part of CI (it is slow).",
        "",
        "Run it (about 10-30 minutes for 100 mutants on 2 cores; `--n 15` for a quick look):",
        "",
        "```bash",
        "nice -n 19 python tools/mutate.py --n 100 --seed 0 --report tests/MUTATION.md",
        "python tools/mutate.py --topic ssm --n 20 --list     # only print the sampled mutants",
        "```",
        "",
        "Survivors judged equivalent (no observable change) go in `tools/mutation_equivalent.toml`",
        "with the reason; the other survivors are gaps in the tests. A section `## Notes` at the end",
        "of this file is written by hand and kept when the tool rewrites the rest.",
        "",
        "## Run",
        "",
        f"- state: {state}",
        f"- command: `{meta['command']}`",
        f"- commit: `{meta['commit']}`{' (working tree with uncommitted changes)' if meta['dirty'] else ''}",
        f"- date: {meta['date']}",
        f"- wall time: {meta.get('wall') or _fmt_time(time.monotonic() - meta['t0'])}, {meta['jobs']} job(s),"
        f" per-mutant timeout {meta['timeout']}",
        f"- mutation sites: {meta['sites']} in {meta['files']} files of topics {', '.join(meta['topics'])};"
        f" sampled {meta['n']} with seed {meta['seed']}",
        "- baseline (unmutated) test time per topic: " +
        (", ".join(f"{t} {s:.0f} s{'' if ok else ' (FAILED: not mutated)'}"
                   for t, (ok, s) in sorted(meta["baseline"].items())) or "n/a"),
        "",
        "## Result",
        "",
        "| outcome | mutants |",
        "|---|---|",
        f"| killed | {killed} ({by_assert} by an assertion, {killed - by_assert} by a crash) |",
        f"| timeout (counted as killed) | {tout} |",
        f"| survived | {surv} |",
        f"| equivalent (judged, not counted) | {equiv} |",
    ]
    if skipped:
        lines.append(f"| not run (topic tests fail unmutated) | {skipped} |")
    lines += ["", f"**Kill rate over non-equivalent mutants: {rate}** ({killed + tout} of {judged}).", ""]
    per = {}
    for r in results:
        per.setdefault(r.mutant.path.split("/")[1], []).append(r)
    lines += ["| topic | run | killed | timeout | survived | equivalent |", "|---|---|---|---|---|---|"]
    for t in sorted(per):
        rs = per[t]
        lines.append(f"| {t} | {len(rs)} | " + " | ".join(str(sum(r.outcome == o for r in rs))
                                                         for o in ("killed", "timeout", "survived", "equivalent"))
                     + " |")
    lines += ["", "## Survivors (gaps in the tests)", ""]
    survivors = [r for r in results if r.outcome == "survived"]
    if not survivors:
        lines.append("None.")
    for r in survivors:
        lines += _mutant_block(r, sources)
    lines += ["", "## Equivalent mutants (judged; `tools/mutation_equivalent.toml`)", ""]
    eq = [r for r in results if r.outcome == "equivalent"]
    if not eq:
        lines.append("None.")
    for r in eq:
        lines += _mutant_block(r, sources, r.reason)
    stale = meta.get("stale", [])
    if stale:
        lines += ["", "Listed as equivalent but killed (the entry is wrong or stale):", ""]
        lines += [f"- `{r.mutant.path}:{r.mutant.lineno}` {r.mutant.describe(sources[r.mutant.path])}"
                  for r in stale]
    lines += ["", "## Killed and timed out", "",
              "| mutant | operator | function | outcome | by | seconds |", "|---|---|---|---|---|---|"]
    for r in results:
        if r.outcome in ("killed", "timeout"):
            m = r.mutant
            lines.append(f"| `{m.path}:{m.lineno}` | {m.op} | `{m.function}` | {r.outcome} | "
                         f"{r.detail.replace('|', '/')} | {r.seconds:.0f} |")
    notes = ""
    if path.exists():                       # a hand-written "## Notes" section is kept across runs
        old = path.read_text(encoding="utf-8")
        at = old.find("\n## Notes")
        if at >= 0:
            notes = old[at:]
    path.write_text("\n".join(lines) + "\n" + notes, encoding="utf-8")


def _mutant_block(r, sources, reason=None):
    m = r.mutant
    old, new = m.lines(sources[m.path])
    out = [f"### `{m.path}:{m.lineno}` in `{m.function}` ({m.describe(sources[m.path])})", ""]
    if reason:
        out += [f"Why equivalent: {reason}", ""]
    out += ["```diff", f"-{old}", f"+{new}", "```", ""]
    return out


def _fmt_time(s):
    return f"{int(s // 60)} min {int(s % 60)} s"


# ---------------------------------------------------------------------------


def rerender(log_path: Path, report: Path, chosen, sources, n_sites, names, args, equivalent):
    """Rewrite the report from a run's printed log, with the equivalent table as it is now."""
    by_key = {(m.path, m.lineno, m.describe(sources[m.path])): m for m in chosen}
    text = log_path.read_text(encoding="utf-8", errors="replace").replace("\0", "")
    results, baseline, stale = [], {}, []
    meta = dict(command="?", commit="?", dirty=False, date="?", wall=None, jobs="?", timeout="?")
    for line in text.splitlines():
        m = re.match(r"^\[\d+/\d+\] (\w+)\s+(\d+) s  (\S+):(\d+) (.+?)  (.*)$", line)
        if m:
            mutant = by_key.get((m.group(3), int(m.group(4)), m.group(5)))
            if mutant is None:
                raise SystemExit(f"{log_path}: {line!r} is not in this sample (same --n/--seed/--topic and tree?)")
            detail = m.group(6).strip()
            crash = re.match(r"^crash: (\w+) in (.*)$", detail)
            if crash and crash.group(1) in ASSERTION_NAMES:      # read by an older classification
                detail = f"assertion: {crash.group(2)}"
            r = Result(mutant, m.group(1), detail, float(m.group(2)))
            key = equivalent_key(mutant, sources[mutant.path])
            if r.outcome in ("survived", "equivalent"):
                r.outcome, r.reason = ("equivalent", equivalent[key]) if key in equivalent else ("survived", "")
            elif r.outcome in ("killed", "timeout") and key in equivalent:
                stale.append(r)
            results.append(r)
            continue
        m = re.match(r"^baseline (\w+): (\w+) in (\d+) s", line)
        if m:
            baseline.setdefault(m.group(1), (m.group(2) == "passed", float(m.group(3))))
        m = re.match(r"^commit (\w+)( \(dirty\))?; date (.*?); command (.*)$", line)
        if m:
            meta.update(commit=m.group(1), dirty=bool(m.group(2)), date=m.group(3), command=m.group(4))
        m = re.match(r"^wall time (.*?); report", line)
        if m:
            meta["wall"] = m.group(1)
    if report.exists():            # a log without the header lines: take them from the report it wrote
        old = report.read_text(encoding="utf-8")
        for key, pattern in (("command", r"^- command: `(.*)`$"), ("commit", r"^- commit: `(\w+)`"),
                             ("date", r"^- date: (.*)$"), ("wall", r"^- wall time: (.*?), (\S+) job"),
                             ("timeout", r"per-mutant timeout (.*)$")):
            m = re.search(pattern, old, flags=re.M)
            if m and meta.get(key) in ("?", None):
                meta[key] = m.group(1)
                if key == "wall":
                    meta["jobs"] = m.group(2)
        if "(working tree with uncommitted changes)" in old and meta["commit"] != "?":
            meta["dirty"] = True
    if meta["jobs"] == "?":
        m = re.search(r"--jobs[ =](\d+)", meta["command"])
        meta["jobs"] = m.group(1) if m else ("1" if meta["command"] != "?" else "?")
    results.sort(key=lambda r: r.mutant)
    meta.update(sites=n_sites, files=len(sources), topics=names, n=len(chosen), seed=args.seed,
                baseline=baseline, stale=stale, t0=time.monotonic(), wall=meta["wall"] or "?")
    write_report(report, results, sources, meta, done=len(results) == len(chosen))
    print(f"{len(results)} results from {log_path}; report: {report}")
    return 0


def _next(queue, worker, workers):
    """The next mutant for ``worker``: of a topic it has warmed, else of a topic no other worker is on.

    Each topic's tests run unmutated once per worker (the check and the numba
    warm-up), so workers keep to their topics where they can.
    """
    if not queue:
        return None

    def topic(m):
        return m.path.split("/")[1]

    busy = {t for w in workers if w is not worker for t in w.claimed}
    for pick in (lambda m: topic(m) in worker.claimed, lambda m: topic(m) not in busy, lambda m: True):
        left = [m for m in queue if pick(m)]
        if left:
            counts = {}
            for m in left:
                counts[topic(m)] = counts.get(topic(m), 0) + 1
            best = max(counts, key=lambda t: (counts[t], t))
            m = next(m for m in left if topic(m) == best)
            queue.remove(m)
            worker.claimed.add(topic(m))                    # other workers keep off it while they can
            return m
    return None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=100, help="number of mutants to sample (default 100)")
    ap.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    ap.add_argument("--topic", nargs="+", action="extend", default=None,
                    help="topics to mutate (default: every refimpl/<topic> package)")
    ap.add_argument("--jobs", type=int, default=1, help="mutants run at once, each in its own copy (default 1)")
    ap.add_argument("--timeout", type=float, default=None,
                    help="seconds per mutant (default: max(120, 4 x the topic's unmutated test time))")
    ap.add_argument("--nice", type=int, default=19, help="niceness of the test runs (default 19; 0: none)")
    ap.add_argument("--report", default="tests/MUTATION.md", help="markdown report (default tests/MUTATION.md)")
    ap.add_argument("--only", nargs="+", action="extend", default=None, metavar="PATH:LINE",
                    help="of the sample, run only the mutants on these lines (e.g. to recheck survivors)")
    ap.add_argument("--list", action="store_true", help="print the sampled mutants and exit")
    ap.add_argument("--from-log", metavar="LOG",
                    help="run nothing: rewrite --report from the printed log of a run with the same\n"
                         "--n/--seed/--topic (e.g. after judging survivors in mutation_equivalent.toml)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary copies (their path is printed)")
    args = ap.parse_args(argv)
    if args.n < 1 or args.jobs < 1:
        ap.error("--n and --jobs must be >= 1")
    names = args.topic or topics()
    unknown = sorted(set(names) - set(topics()))
    if unknown:
        ap.error(f"unknown topic(s) {unknown}; known: {topics()}")
    everything, sources = collect(names)
    chosen = sample(everything, args.n, args.seed, sources)
    if args.only:
        chosen = [m for m in chosen if f"{m.path}:{m.lineno}" in set(args.only)]
        if not chosen:
            ap.error("--only matches none of the sampled mutants (give PATH:LINE as the report prints it)")
    if args.list:
        for m in chosen:
            old, new = m.lines(sources[m.path])
            print(f"{m.path}:{m.lineno} [{m.op}] in {m.function}\n  - {old.strip()}\n  + {new.strip()}")
        print(f"{len(chosen)} of {len(everything)} sites")
        return 0
    equivalent = load_equivalent()
    report = (REPO / args.report) if not Path(args.report).is_absolute() else Path(args.report)
    if args.from_log:
        return rerender(Path(args.from_log), report, chosen, sources, len(everything), names, args, equivalent)
    lock = threading.Lock()

    def log(msg):
        with lock:
            print(msg, flush=True)

    meta = dict(command="python tools/mutate.py " + " ".join(argv if argv is not None else sys.argv[1:]),
                commit=_git("rev-parse", "HEAD"), dirty=bool(_git("status", "--porcelain", "--", "refimpl", "tests")),
                date=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), t0=time.monotonic(),
                jobs=args.jobs, timeout=f"{args.timeout:.0f} s" if args.timeout else "max(120 s, 4 x baseline)",
                sites=len(everything), files=len(sources), topics=names, n=len(chosen), seed=args.seed,
                baseline={}, stale=[])
    def _interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)       # also where a background shell started us ignoring it
    base = Path(tempfile.mkdtemp(prefix="refimpl-mutate-"))
    log(f"{len(chosen)} mutants of {len(everything)} sites; copies in {base}")
    log(f"commit {meta['commit']}{' (dirty)' if meta['dirty'] else ''}; date {meta['date']}; "
        f"command {meta['command']}")
    results: list[Result] = []
    queue = list(chosen)
    try:
        workers = [Worker(i, base, args, log) for i in range(args.jobs)]

        def work(w):
            while not _STOP.is_set():
                with lock:
                    m = _next(queue, w, workers)
                    if m is None:
                        return
                try:
                    r = w.run(m, sources[m.path])
                except Exception as exc:            # report it and go on with the next mutant
                    log(f"error running {m.path}:{m.lineno}: {exc!r}")
                    r = Result(m, "skipped", f"tool error: {exc!r}")
                if _STOP.is_set():
                    return
                key = equivalent_key(m, sources[m.path])
                if r.outcome == "survived" and key in equivalent:
                    r.outcome, r.reason = "equivalent", equivalent[key]
                with lock:
                    if r.outcome in ("killed", "timeout") and key in equivalent:
                        meta["stale"].append(r)
                    results.append(r)
                    results.sort(key=lambda x: x.mutant)
                    for wk in workers:
                        for t, v in wk.baseline.items():
                            meta["baseline"].setdefault(t, v)
                    write_report(report, results, sources, meta, done=False)
                    old, new = m.lines(sources[m.path])
                    print(f"[{len(results)}/{len(chosen)}] {r.outcome:9s} {r.seconds:5.0f} s  "
                          f"{m.path}:{m.lineno} {m.describe(sources[m.path])}  {r.detail}", flush=True)

        threads = [threading.Thread(target=work, args=(w,), daemon=True) for w in workers]
        for t in threads:
            t.start()
        try:
            while any(t.is_alive() for t in threads):
                for t in threads:
                    t.join(timeout=1.0)
        except KeyboardInterrupt:
            log("interrupted: stopping the running tests, the report keeps what is done")
            _STOP.set()
            _kill_running()
            for t in threads:
                t.join()
        write_report(report, results, sources, meta, done=len(results) == len(chosen))
        log(f"wall time {_fmt_time(time.monotonic() - meta['t0'])}; report: {report}")
    finally:
        if args.keep:
            log(f"copies kept in {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
