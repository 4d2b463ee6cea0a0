"""State space models: HiPPO matrices, discretisation, LegS memory, S4, S4D, RTF.

Articles: https://kexue.fm/archives/10114, 10137, 10162, 10180.
"""
from .discretization import DISCRETIZATIONS, discretize
from .hippo import LEGS_NORMALIZATIONS, legs, legs_matvec, legs_solve

__all__ = ["DISCRETIZATIONS", "discretize", "LEGS_NORMALIZATIONS", "legs", "legs_matvec", "legs_solve"]
