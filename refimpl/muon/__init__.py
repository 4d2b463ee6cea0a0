"""Muon: msign, Newton--Schulz iterations, coefficient design, the Muon optimizer.

Articles: https://kexue.fm/archives/10592, 10739, 10922, 10996, 11416.
"""
from .msign import MSIGN_METHODS, msign
from .optimizer import LAYOUTS, MOMENTUM_FORMS, SCALES, muon_scale, muon_step, muon_update
from .newton_schulz import (COEFFICIENT_SOURCES, COEFFICIENTS, EPS_MODES, NORMALIZATIONS, newton_schulz,
                            scalar_map)

__all__ = ["COEFFICIENTS", "COEFFICIENT_SOURCES", "EPS_MODES", "MSIGN_METHODS", "NORMALIZATIONS", "msign", "LAYOUTS",
           "MOMENTUM_FORMS", "SCALES", "muon_scale", "muon_step", "muon_update",
           "newton_schulz", "scalar_map"]
