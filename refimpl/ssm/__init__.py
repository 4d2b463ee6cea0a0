"""State space models: HiPPO matrices, discretisation, LegS memory, S4, S4D, RTF.

Articles: https://kexue.fm/archives/10114, 10137, 10162, 10180.
"""
from .discretization import DISCRETIZATIONS, discretize
from .hippo import LEGS_NORMALIZATIONS, legs, legs_matvec, legs_solve
from .hippo import (FOUT_ENDPOINTS, HIPPO_MEASURES, LEGT_NORMALIZATIONS, LMU_CONVENTIONS, TRANSITION_MEASURES,
                    fourier_complex_to_real, fous, fout, hippo, lagt, legt, lmu, transition)

__all__ = ["DISCRETIZATIONS", "discretize", "LEGS_NORMALIZATIONS", "legs", "legs_matvec", "legs_solve"]
__all__ += ["FOUT_ENDPOINTS", "HIPPO_MEASURES", "LEGT_NORMALIZATIONS", "LMU_CONVENTIONS", "TRANSITION_MEASURES",
            "fourier_complex_to_real", "fous", "fout", "hippo", "lagt", "legt", "lmu", "transition"]
from .memory import LEGS_RECURRENCES, PROJECT_MEASURES, legs_eigvec, legs_recurrence, project, reconstruct

__all__ += ["LEGS_RECURRENCES", "PROJECT_MEASURES", "legs_eigvec", "legs_recurrence", "project", "reconstruct"]
