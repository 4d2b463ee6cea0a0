"""refimpl: reference implementations and derivations for modern deep-learning methods.

refimpl is a golden oracle: each method has one plain reference definition
(``refimpl/<topic>/reference.py``, NumPy that reads like the article's
equation), fast paths checked against it, and a case table
(``refimpl/<topic>/cases.py``) that drives the tests, ``refimpl verify``,
:func:`refimpl.testing.check_against` and the golden files.

Topics
------
:mod:`refimpl.ssm`
    HiPPO matrices (LegS, LegT, LagT, Fourier, ...), discretisations, the
    LegS memory, NPLR/DPLR forms, S4/S4D kernels, RTF.
:mod:`refimpl.rope`
    RoPE as a base-beta encoding: frequencies and every long-context
    scaling (PI, NTK, YaRN, Llama-3, LongRoPE), the fused rotation, ReRoPE,
    the long-range decay bound.
:mod:`refimpl.attention`
    Exact attention (streaming online softmax), entropy-invariant (log-n)
    attention, entropy analysis, NoPE.
:mod:`refimpl.jl`
    Johnson-Lindenstrauss dimension rules and bounds.
:mod:`refimpl.muon`
    msign, Newton-Schulz with every published coefficient schedule, their
    design (Polar Express, min-max fits), the Muon update and step.
:mod:`refimpl.scaling`
    Batch size vs learning rate: closed forms, the surge, the noisy
    quadratic model Monte-Carlo.
:mod:`refimpl.embedding`
    Initial loss of tied and untied embeddings.

Shared pieces: :mod:`refimpl.testing` (``check_against``, ``assert_close``,
golden files, hypothesis strategies), :mod:`refimpl.verify` (the checks
behind ``refimpl verify``) and :mod:`refimpl.derivations` (SymPy
derivations; ``refimpl derive``).
"""
import importlib.abc as _abc
import importlib.util as _util
import os as _os
import sys as _sys

from ._backend import BackendUnavailableError, available_backends
from ._validation import ArgumentTypeError

__version__ = "0.1.0"

__all__ = ["ArgumentTypeError", "BackendUnavailableError", "__version__", "available_backends"]


class _CheckoutDerivations(_abc.MetaPathFinder):
    """Finds ``refimpl.derivations`` in the top-level ``derivations/`` folder of a source checkout.

    An installed refimpl has the folder mapped to ``refimpl.derivations`` by
    pyproject.toml; this finder gives a checkout used in place (tests run
    from the repository root) the same name.
    """

    def __init__(self, folder):
        self.folder = folder

    def find_spec(self, name, path=None, target=None):
        if name != "refimpl.derivations":
            return None
        return _util.spec_from_file_location(name, _os.path.join(self.folder, "__init__.py"),
                                             submodule_search_locations=[self.folder])


_folder = _os.path.join(_os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))), "derivations")
if _os.path.isfile(_os.path.join(_folder, "__init__.py")) and not any(
        isinstance(f, _CheckoutDerivations) for f in _sys.meta_path):
    _sys.meta_path.append(_CheckoutDerivations(_folder))
