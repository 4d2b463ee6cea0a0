"""Softmax attention, entropy-invariant (log n) scaling and NoPE analysis.

Articles: https://kexue.fm/archives/8823, 9034, 9588, 10347. The JL-lemma
dimension bounds that motivate the scaling are in :mod:`refimpl.jl`.
"""
from . import nope
from .core import (
    LENGTH_MODES,
    EntropyVsLength,
    attention,
    entropy,
    entropy_decomposition,
    entropy_invariant_attention,
    entropy_lower_bound,
    entropy_vs_length,
    llama4_attention_scales,
    logn_factor,
    qwen_logn_factors,
    softmax,
    softmax_plus,
)

__all__ = [
    "LENGTH_MODES", "EntropyVsLength", "attention", "entropy", "entropy_decomposition",
    "entropy_invariant_attention", "entropy_lower_bound", "entropy_vs_length", "llama4_attention_scales",
    "logn_factor", "nope", "qwen_logn_factors", "softmax", "softmax_plus",
]
