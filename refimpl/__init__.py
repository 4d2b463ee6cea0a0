"""refimpl: reference implementations and derivations for modern deep-learning methods.

Subpackages, one per topic (see README.md): :mod:`refimpl.ssm`, and shared
pieces :mod:`refimpl.testing` (assert_close, hypothesis strategies) and
:mod:`refimpl.verify` (the registry behind ``refimpl verify``).
"""
from ._backend import BackendUnavailableError, available_backends
from ._validation import ArgumentTypeError

__version__ = "0.1.0"

__all__ = ["ArgumentTypeError", "BackendUnavailableError", "__version__", "available_backends"]
