"""Johnson-Lindenstrauss dimension bounds, the word-vector entropy integral h_n.

Articles: https://kexue.fm/archives/7695, 8679, 8706, 8711, 9588.
"""
from .core import (
    ENTROPY_COEF_EXACT,
    GOLDEN_RATIO,
    MIN_DIM_RULES,
    entropy_min_dim,
    gaussian_projection,
    h_dim,
    h_dim_bessel,
    inner_product_tail_bound,
    laplace_constants,
    min_dim,
    norm_tail_bound,
    pairwise_distortion,
)

__all__ = [
    "ENTROPY_COEF_EXACT", "GOLDEN_RATIO", "MIN_DIM_RULES", "entropy_min_dim", "gaussian_projection", "h_dim",
    "h_dim_bessel", "inner_product_tail_bound", "laplace_constants", "min_dim", "norm_tail_bound",
    "pairwise_distortion",
]
