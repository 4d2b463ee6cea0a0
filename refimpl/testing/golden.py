"""Golden vectors: export the oracle cases to ``.npz`` files plus a JSON manifest.

``refimpl golden export DIR [NAME ...]`` calls :func:`export`; the files are
read by :mod:`refimpl.testing.golden_loader` (NumPy only), which is also
copied into ``DIR`` as ``refimpl_golden.py`` for projects that do not install
refimpl.

Layout of ``DIR``:

- ``<name>.npz``: arrays ``in/<k>/<arg>`` (float64 inputs of example k) and
  ``out/<dtype>/<k>/<j>`` (output j, computed in float64 from the inputs
  rounded to ``dtype``), for each dtype the case has a tolerance for;
- ``manifest.json``: format version, refimpl and NumPy versions, and per case
  the refimpl function, the tolerances, each example's parameters and
  argument layout, and the file's SHA-256;
- ``refimpl_golden.py``: the standalone loader.

Regeneration is bit-identical: example k of case ``name`` is drawn from
``numpy.random.default_rng([crc32(name), k])``; the zip members carry a fixed
timestamp; the JSON is written with a fixed key order; nothing records the
time. Each file is written to a temporary name in ``DIR`` and renamed into
place only after every file was written, the manifest last, so an export that
fails leaves the previous state (and never a half-written manifest).
"""
from __future__ import annotations

import io
import json
import os
import shutil
import zipfile

import numpy as np

from . import golden_loader as _gl
from .oracle import discover_oracles, get_oracle

__all__ = ["DEFAULT_EXAMPLES", "export", "write_npz"]

#: Examples per case written by default.
DEFAULT_EXAMPLES = 16

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def write_npz(path, arrays):
    """Write ``arrays`` (dict name -> ndarray) as an uncompressed ``.npz`` with fixed zip metadata.

    ``numpy.savez`` stamps each member with the current time, so two exports
    would differ; this writes byte-identical files for identical arrays.
    """
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for key in arrays:
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asarray(arrays[key], order="C"), allow_pickle=False)  # keeps 0-d
            info = zipfile.ZipInfo(key + ".npy", date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())


def _plain(v, where):
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v)
    if v is None or isinstance(v, str):
        return v
    raise TypeError(f"{where}: cannot store {type(v).__name__} in a golden manifest "
                    "(use arrays, numbers, strings, booleans or None)")


def _encode_case(case, n_examples):
    """Arrays and manifest entry of one case."""
    arrays = {}
    entry_examples = []
    for k, (args, kwargs, drawn) in enumerate(case.examples(n_examples + len(case.corners))):
        enc = {"args": [], "kwargs": []}
        params = {}
        for group, items in (("args", args), ("kwargs", list(kwargs.items()))):
            for n, v in items:
                if isinstance(v, np.ndarray):
                    key = f"in/{k}/{n}"
                    arrays[key] = v
                    enc[group].append({"name": n, "array": key})
                else:
                    pv = _plain(v, f"oracle {case.name!r} input {n!r}")
                    enc[group].append({"name": n, "value": pv})
                    params[n] = pv
        for label, v in drawn.items():
            params.setdefault(label, _plain(v, f"oracle {case.name!r} draw {label!r}"))
        n_out, is_tuple, scalars = None, None, []
        for dt in case.tolerances:
            cargs, ckwargs = _gl.cast_inputs(args, kwargs, dt, case.keep_dtype)
            out = case.call_reference(cargs, ckwargs)
            outs = _gl._as_outputs(out)
            is_tuple = isinstance(out, (tuple, list))
            n_out = len(outs)
            for j, o in enumerate(outs):
                a = np.asarray(o)
                if a.dtype.kind not in "fcib":
                    raise TypeError(f"oracle {case.name!r} output {j} has dtype {a.dtype}; cannot store it")
                if not isinstance(o, np.ndarray) and j not in scalars:
                    scalars.append(j)
                arrays[f"out/{dt}/{k}/{j}"] = a
        entry_examples.append({"parameters": params, **enc, "n_outputs": n_out, "tuple": is_tuple,
                               "scalar_outputs": scalars, "corner": k < len(case.corners)})
    names = set()
    for ex in entry_examples:
        names.update(ex["parameters"])
        names.update(a["name"] for a in ex["args"] + ex["kwargs"])
    entry = {
        "file": f"{case.name}.npz",
        "sha256": None,
        "function": case.qualname,
        "tolerances": {dt: {"rtol": r, "atol": a} for dt, (r, a) in case.tolerances.items()},
        "rule": case.rule,
        "tolerance_rule": ("max|actual - expected| <= atol + rtol * max|expected|, per output"
                           if case.rule == "normwise" else "|actual - expected| <= atol + rtol * |expected|, per element"),
        "keep_dtype": list(case.keep_dtype),
        "defaults": {k: v for k, v in case.keyword_defaults().items()
                     if v is None or isinstance(v, (bool, int, float, str))},
        "parameter_names": sorted(names),
        "description": case.description,
        "examples": entry_examples,
    }
    return arrays, entry


def _check_writable(directory):
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        raise _gl.GoldenError(f"cannot create export directory {directory!r}: {exc.strerror or exc}") from None
    if not os.path.isdir(directory):
        raise _gl.GoldenError(f"export directory {directory!r} is not a directory")
    probe = os.path.join(directory, f".refimpl-write-test-{os.getpid()}")
    try:
        with open(probe, "wb"):
            pass
        os.remove(probe)
    except OSError as exc:
        raise _gl.GoldenError(f"export directory {directory!r} is not writable: {exc.strerror or exc}") from None


def export(directory, names=None, *, n_examples=DEFAULT_EXAMPLES):
    """Write golden vectors for the oracle cases ``names`` (default: all) into ``directory``.

    Returns the manifest dict. Raises :class:`~refimpl.testing.golden_loader.GoldenError`
    (a ValueError) for a directory that cannot be created or written, and
    ValueError for an unknown case name (listing the known ones).
    """
    from .. import __version__

    if not isinstance(n_examples, int) or n_examples < 1:
        raise ValueError(f"parameter 'n_examples' must be an integer >= 1, got {n_examples!r}")
    cases = discover_oracles()
    selected = [get_oracle(n) for n in names] if names else list(cases.values())
    _check_writable(directory)
    manifest = {
        "format": _gl.FORMAT,
        "format_version": _gl.FORMAT_VERSION,
        "refimpl_version": __version__,
        "numpy_version": np.__version__,
        "generator": "refimpl golden export",
        "n_examples": n_examples,
        "seeds": "example k of case NAME: numpy.random.default_rng([zlib.crc32(NAME), k])",
        "cases": {},
    }
    pending = []  # (tmp, final)
    tag = f".tmp-{os.getpid()}"
    try:
        for case in selected:
            arrays, entry = _encode_case(case, n_examples)
            final = os.path.join(directory, entry["file"])
            tmp = final + tag
            pending.append((tmp, final))
            write_npz(tmp, arrays)
            entry["sha256"] = _gl._sha256(tmp)
            manifest["cases"][case.name] = entry
        loader_final = os.path.join(directory, "refimpl_golden.py")
        pending.append((loader_final + tag, loader_final))
        shutil.copyfile(_gl.__file__, loader_final + tag)
        man_final = os.path.join(directory, _gl.MANIFEST)
        pending.append((man_final + tag, man_final))
        with open(man_final + tag, "w", encoding="utf-8", newline="\n") as fh:
            json.dump(manifest, fh, indent=1, allow_nan=False)
            fh.write("\n")
        for tmp, final in pending:  # the manifest is the last rename
            os.replace(tmp, final)
        pending = []
    except OSError as exc:
        raise _gl.GoldenError(f"writing golden vectors to {directory!r} failed: {exc}") from None
    finally:
        for tmp, _ in pending:
            if os.path.exists(tmp):
                os.remove(tmp)
    return manifest
