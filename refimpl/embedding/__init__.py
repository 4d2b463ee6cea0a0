"""Tied output embeddings: the initial loss and its fixes (https://kexue.fm/archives/9698)."""
from .init_loss import (
    VARIANTS,
    InitLossSimulation,
    expected_init_loss,
    init_std_for_uniform_loss,
    simulate_init_loss,
    tied_init_loss,
)

__all__ = ["VARIANTS", "InitLossSimulation", "expected_init_loss", "init_std_for_uniform_loss",
           "simulate_init_loss", "tied_init_loss"]
