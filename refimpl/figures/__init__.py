"""``refimpl figures``: the articles' pictures, reproduced from the oracle.

Each figure is a pair: a data function in :mod:`refimpl.figures.data`
(arrays from refimpl's public functions, deterministic) and a plot function
in :mod:`refimpl.figures.plot` (matplotlib, Agg backend). :data:`FIGURES`
is the registry; :func:`make` writes the images and ``data.json``, a
summary of every array behind them (used by the tests to check that the
committed gallery is what the command makes today). See docs/figures.md.
Matplotlib is needed only to plot: ``pip install "refimpl[plots]"``.
"""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["FIGURES", "FORMATS", "INSTALL_HINT", "Figure", "MissingMatplotlib", "add_arguments", "make", "run",
           "summarize"]

FORMATS = ("png", "svg", "pdf")
INSTALL_HINT = 'install the plots extra (pip install "refimpl[plots]")'


class MissingMatplotlib(ImportError):
    """Raised by :func:`make` when matplotlib is not installed."""


@dataclass(frozen=True)
class Figure:
    """One figure: ``data()`` returns its arrays, ``plot(data)`` a matplotlib Figure."""

    name: str
    topic: str
    title: str
    articles: tuple
    data: Callable
    plot: Callable


def _fig(name, topic, title, *articles):
    return Figure(name, topic, title, tuple(f"https://kexue.fm/archives/{a}" for a in articles),
                  _lazy("data", name, name), _lazy("plot", f"plot_{name}", f"plot_{name}"))


def _lazy(module, attr, qualname):
    """The function ``refimpl.figures.<module>.<attr>``, imported on first call (keeps ``refimpl --help`` fast)."""
    def call(*args):
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{module}"), attr)(*args)

    call.__name__ = call.__qualname__ = qualname
    return call


FIGURES = {f.name: f for f in (
    _fig("rope_decay", "rope", "RoPE long-range decay bound vs distance, several bases", 8265, 9675),
    _fig("rope_scaling", "rope", "Per-dimension scale of PI, NTK variants, YaRN, Llama 3, LongRoPE", 9675, 9706, 9948),
    _fig("rope_rerope", "rope", "ReRoPE and Leaky ReRoPE position maps", 9708),
    _fig("attention_entropy", "attention", "Attention entropy vs length, with and without log-n scaling", 8823, 9034),
    _fig("jl_h_dim", "jl", "h_n and the bound n > 8.33 log N with the articles' numbers", 7695, 8711),
    _fig("nope_readback", "attention", "NoPE: position read back from the variance", 10347),
    _fig("legs_reconstruction", "ssm", "LegS online reconstruction at several N, LegT's window", 10114, 10137),
    _fig("s4_kernel_routes", "ssm", "The S4 kernel six ways and their differences", 10162, 10180),
    _fig("nplr_spectra", "ssm", "Eigenvalues of the NPLR normal parts", 10162),
    _fig("muon_scalar_map", "muon", "Newton-Schulz scalar maps and singular values", 10592, 10922, 10996, 11416),
    _fig("lr_vs_batch", "scaling", "Optimal learning rate vs batch size: SGD and the sign surge", 10542),
    _fig("tied_init_loss", "embedding", "Initial loss vs vocabulary size for tied-embedding variants", 9698),
)}


def summarize(data):
    """A small JSON-able summary of a figure's arrays: shape and four weighted sums each (NaN-aware)."""
    out = {}
    for key, value in data.items():
        a = np.asarray(value, dtype=float)
        flat = a.ravel()
        ok = np.isfinite(flat)
        w = np.linspace(1.0, 2.0, flat.size) if flat.size > 1 else np.ones(1)
        v = np.where(ok, flat, 0.0)
        out[key] = {"shape": list(a.shape), "nonfinite": int((~ok).sum()),
                    "sum": float(v.sum()), "abs_sum": float(np.abs(v).sum()),
                    "weighted_sum": float((w * v).sum()), "square_sum": float((v * v).sum())}
    return out


def _matplotlib():
    try:
        import matplotlib
    except ImportError:
        raise MissingMatplotlib(f"matplotlib is not installed: {INSTALL_HINT}") from None
    matplotlib.use("Agg")
    return matplotlib


def _save(fig, path, fmt):
    import matplotlib.pyplot as plt

    meta = {"png": {"Software": None}, "svg": {"Date": None}, "pdf": {"CreationDate": None, "ModDate": None}}[fmt]
    if fmt == "png":
        import io

        from PIL import Image

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90, metadata=meta)
        buf.seek(0)
        # a 256-colour palette keeps the committed gallery small
        Image.open(buf).convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    else:
        fig.savefig(path, format=fmt, metadata=meta)
    plt.close(fig)


def make(names=None, out="figures", fmt="png", *, on_figure=None):
    """Compute and write the named figures (default: all) into ``out``; returns the written paths.

    Also writes ``out/data.json`` (updated, not replaced, when only some
    figures are made): :func:`summarize` of each figure's data.

    Raises
    ------
    ValueError
        Unknown figure name or format.
    MissingMatplotlib
        matplotlib is not installed.
    """
    if isinstance(names, str):
        names = [names]
    names = list(FIGURES) if not names else list(names)
    unknown = [n for n in names if not isinstance(n, str) or n not in FIGURES]
    if unknown:
        raise ValueError(f"unknown figure {', '.join(map(repr, unknown))}; known: {', '.join(FIGURES)}")
    if fmt not in FORMATS:
        raise ValueError(f"parameter 'fmt' must be one of {', '.join(FORMATS)}, got {fmt!r}")
    _matplotlib()
    os.makedirs(out, exist_ok=True)
    summary_path = os.path.join(out, "data.json")
    summary = {}
    if os.path.exists(summary_path):
        with open(summary_path) as fh:
            summary = json.load(fh)
    paths = []
    for name in names:
        f = FIGURES[name]
        d = f.data()
        path = os.path.join(out, f"{name}.{fmt}")
        _save(f.plot(d), path, fmt)
        summary[name] = summarize(d)
        paths.append(path)
        if on_figure is not None:
            on_figure(name, path)
    with open(summary_path, "w") as fh:
        json.dump({k: summary[k] for k in sorted(summary)}, fh, indent=1, sort_keys=True)
        fh.write("\n")
    return paths


# --- the ``refimpl figures`` subcommand (refimpl.cli calls add_arguments and run) ---


def add_arguments(sub):
    """Add ``figures [NAME ...] [--out DIR] [--format png|svg|pdf] [--list]`` to the ``refimpl`` subparsers."""
    p = sub.add_parser("figures", help="reproduce the articles' figures from the oracle (needs matplotlib)",
                       description="Reproduce the articles' figures from the oracle; see docs/figures.md.")
    p.add_argument("names", nargs="*", metavar="NAME", help="only these figures (default: all; see --list)")
    p.add_argument("--out", default="figures", metavar="DIR", help="output directory (default: figures)")
    p.add_argument("--format", default="png", choices=FORMATS, help="image format (default: png)")
    p.add_argument("--list", action="store_true", help="list the figures and their articles")
    return p


def run(args):
    """Run ``refimpl figures``; returns the exit status (2: unknown name, 1: matplotlib missing)."""
    if args.list:
        for f in FIGURES.values():
            print(f"{f.name:<20} {f.topic:<10} {f.title}  ({', '.join(f.articles)})")
        return 0
    unknown = [n for n in args.names if n not in FIGURES]
    if unknown:
        print(f"refimpl figures: unknown figure {', '.join(unknown)} (see refimpl figures --list)", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    try:
        paths = make(args.names or None, args.out, args.format,
                     on_figure=lambda name, path: print(f"{path}  ({time.perf_counter() - t0:.1f} s)", flush=True))
    except MissingMatplotlib:
        print(f"refimpl figures: matplotlib is not installed; {INSTALL_HINT}", file=sys.stderr)
        return 1
    except OSError as exc:  # --out is a file, not writable, ...
        print(f"refimpl figures: cannot write to --out {args.out!r}: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(paths)} figure{'' if len(paths) == 1 else 's'} and data.json to {args.out}")
    return 0
