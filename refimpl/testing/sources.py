"""What a case's input generator draws from: hypothesis (``check_against``) or a seeded NumPy generator."""
from __future__ import annotations

import math

import numpy as np

__all__ = ["RngSource", "Source"]




class Source:
    """What an input generator draws from. Every draw has a unique ``label``.

    Labels name the drawn quantities (``"N"``, ``"d"``, ``"layout"``); users
    can pin them with ``check_against(..., fixed={label: value})``. Array
    draws record the seed their contents came from.
    """

    def __init__(self, fixed=None, defaults=None):
        self.fixed = dict(fixed or {})
        self.defaults = dict(defaults or {})  # soft pins: used where the value is admissible
        self.drawn = {}

    def _soft(self, label, ok):
        return label in self.defaults and self.defaults[label] is not None and ok(self.defaults[label])

    def _record(self, label, value):
        if label in self.drawn:
            raise ValueError(f"oracle generator drew label {label!r} twice; labels must be unique")
        self.drawn[label] = value
        return value

    # subclasses implement _integer, _real, _choice, _seed
    def integer(self, label, low, high):
        """An integer in ``[low, high]`` (shrinks towards ``low``)."""
        if label in self.fixed:
            return self._record(label, int(self.fixed[label]))
        if self._soft(label, lambda v: isinstance(v, int) and low <= v <= high):
            return self._record(label, self.defaults[label])
        return self._record(label, int(self._integer(label, low, high)))

    def even(self, label, low, high):
        """An even integer in ``[low, high]`` (head sizes); shrinks towards the smallest."""
        if label in self.fixed:
            v = int(self.fixed[label])
            if v % 2:
                raise ValueError(f"parameter 'fixed': {label}={v} must be even")
            return self._record(label, v)
        if self._soft(label, lambda v: isinstance(v, int) and v % 2 == 0 and low <= v <= high):
            return self._record(label, self.defaults[label])
        return self._record(label, 2 * int(self._integer(label, (low + 1) // 2, high // 2)))

    def real(self, label, low, high, *, log=False):
        """A float in ``[low, high]``; ``log=True`` draws log-uniformly (needs ``0 < low``)."""
        if label in self.fixed:
            return self._record(label, float(self.fixed[label]))
        if self._soft(label, lambda v: isinstance(v, (int, float)) and low <= v <= high):
            return self._record(label, float(self.defaults[label]))
        if log:
            t = self._real(label, math.log(low), math.log(high))
            return self._record(label, float(min(max(math.exp(t), low), high)))
        return self._record(label, float(self._real(label, low, high)))

    def choice(self, label, options, *, follows=None):
        """One of ``options`` (shrinks towards the first).

        ``follows`` names the function option this choice shapes (e.g. a
        ``"scale_kind"`` choice that decides what ``scale`` will be): when that
        option is held at its default, the first option is taken, so list the
        kind that yields the default first.
        """
        options = tuple(options)
        if label not in self.fixed and follows is not None and follows in self.defaults:
            return self._record(label, options[0])
        if label in self.fixed:
            v = self.fixed[label]
            if v not in options:
                raise ValueError(f"parameter 'fixed': {label}={v!r} is not among {options}")
            return self._record(label, v)
        if label in self.defaults and self.defaults[label] in options:
            return self._record(label, self.defaults[label])
        return self._record(label, options[self._index(label, len(options))])

    def boolean(self, label):
        """True or False (shrinks towards False)."""
        return self.choice(label, (False, True))

    def rng(self, label):
        """A ``numpy.random.Generator`` seeded by a drawn seed (recorded under ``label``)."""
        seed = int(self.fixed[label]) if label in self.fixed else int(self._integer(label, 0, 2**32 - 1))
        self._record(label, seed)
        return np.random.default_rng(seed)

    def normal(self, label, shape, *, scale=1.0, complex=False):
        """Standard normal array of ``shape`` times ``scale`` (complex: independent real and imaginary parts)."""
        g = self.rng(label)
        x = g.standard_normal(shape)
        if complex:
            x = x + 1j * g.standard_normal(shape)
        return scale * x

    def uniform(self, label, shape, low, high):
        """Uniform array of ``shape`` on ``[low, high)``."""
        return self.rng(label).uniform(low, high, shape)


class RngSource(Source):
    """Draws from ``numpy.random.default_rng(seed)``: deterministic, no hypothesis."""

    def __init__(self, seed, fixed=None, defaults=None):
        super().__init__(fixed, defaults)
        self._g = np.random.default_rng(seed)

    def _integer(self, label, low, high):
        return int(self._g.integers(low, high + 1))

    def _real(self, label, low, high):
        return float(self._g.uniform(low, high))

    def _index(self, label, n):
        return int(self._g.integers(0, n))


class _HypothesisSource(Source):
    def __init__(self, data, fixed=None, defaults=None):
        super().__init__(fixed, defaults)
        self._data = data
        from hypothesis import strategies as st

        self._st = st

    def _integer(self, label, low, high):
        return self._data.draw(self._st.integers(low, high), label=label)

    def _real(self, label, low, high):
        return self._data.draw(self._st.floats(low, high, allow_nan=False, allow_infinity=False), label=label)

    def _index(self, label, n):
        return self._data.draw(self._st.integers(0, n - 1), label=label)


