"""Muon: msign, Newton--Schulz iterations, coefficient design, the Muon optimizer.

Articles: https://kexue.fm/archives/10592, 10739, 10922, 10996, 11416.
"""
from .design import (PE_CUSHION, SAFETY_MODES, FitResult, cubic_equioscillation, fit_coefficients, kappa_to_abc,
                     optimal_odd_polynomial, polar_express_coefficients)
from .msign import MSIGN_METHODS, msign
from .newton_schulz import (COEFFICIENT_SOURCES, COEFFICIENTS, DTYPES, EPS_MODES, NORMALIZATIONS, newton_schulz,
                            scalar_map)
from .optimizer import LAYOUTS, MOMENTUM_FORMS, SCALES, muon_scale, muon_step, muon_update

__all__ = [
    "COEFFICIENTS", "COEFFICIENT_SOURCES", "DTYPES", "EPS_MODES", "NORMALIZATIONS", "MSIGN_METHODS", "LAYOUTS",
    "MOMENTUM_FORMS", "SCALES", "PE_CUSHION", "SAFETY_MODES", "FitResult",
    "msign", "newton_schulz", "scalar_map",
    "polar_express_coefficients", "optimal_odd_polynomial", "cubic_equioscillation", "fit_coefficients",
    "kappa_to_abc",
    "muon_update", "muon_step", "muon_scale",
]
