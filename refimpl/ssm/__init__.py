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
from .nplr import NPLR_MEASURES, nplr  # noqa: E402
from .s4 import (DIAG_METHODS, KERNEL_METHODS, c_from_ctilde, cauchy, causal_conv, ctilde_from_c,  # noqa: E402
                 dplr_discretize, dplr_scan, dplr_step, kernel, kernel_diag, kernel_dplr, scan)
from .rtf import companion, rtf_from_ssm, rtf_kernel, rtf_to_ssm  # noqa: E402

__all__ += ["NPLR_MEASURES", "nplr"]
__all__ += ["DIAG_METHODS", "KERNEL_METHODS", "c_from_ctilde", "cauchy", "causal_conv", "ctilde_from_c",
            "dplr_discretize", "dplr_scan", "dplr_step", "kernel", "kernel_diag", "kernel_dplr", "scan"]
__all__ += ["companion", "rtf_from_ssm", "rtf_kernel", "rtf_to_ssm"]
from .hippo import (RANK_CORRECTION_MEASURES, fourier_decay, fourier_diag, glagt, legsd,  # noqa: E402
                    rank_correction, tlagt)
from .s4d import S4D_B_INITS, S4D_INITS, kernel_dss, s4_nplr, s4d_init  # noqa: E402

__all__ += ["RANK_CORRECTION_MEASURES", "fourier_decay", "fourier_diag", "glagt", "legsd", "rank_correction", "tlagt"]
__all__ += ["S4D_B_INITS", "S4D_INITS", "kernel_dss", "s4_nplr", "s4d_init"]
