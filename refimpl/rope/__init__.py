"""RoPE as a base-beta encoding: frequencies of every extension scheme, the rotation, ReRoPE, the decay bound.

Sources: https://kexue.fm/archives/8265, 9675, 9706, 9708, 9948; conventions of
HF transformers' ``modeling_rope_utils.py`` (v5). See docs/rope.md.
"""
from .analysis import abel_bound, beta_digits, decay_curve
from .apply import LAYOUTS, apply, layout_permutation, rotation_matrix
from .config import RopeConfig, config_inv_freq
from .frequencies import METHODS, inv_freq, rotations, scaled_inv_freq, yarn_correction_dim, yarn_get_mscale
from .rerope import logn_scale, relative_positions, rerope_decode_scores, rerope_scores

__all__ = [
    "LAYOUTS", "METHODS", "RopeConfig", "abel_bound", "apply", "beta_digits", "config_inv_freq", "decay_curve",
    "inv_freq", "layout_permutation", "logn_scale", "relative_positions", "rerope_decode_scores", "rerope_scores",
    "rotation_matrix", "rotations", "scaled_inv_freq", "yarn_correction_dim", "yarn_get_mscale",
]
