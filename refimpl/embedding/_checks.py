"""Cross-checks of refimpl.embedding run by ``refimpl verify``."""
from __future__ import annotations

import math

import numpy as np

from ..verify import CheckSkipped, register
from .init_loss import expected_init_loss, pair_losses, simulate_init_loss, tied_init_loss

Z = 4.4172


@register("embedding", "embedding.bert_size_simulation_vs_expectation", tol=Z)
def _bert_size():
    """n = 30522, d = 768, sigma = 1/sqrt(d) (tied) and 0.02 (untied): |sim - expected| / stderr.

    Also asserts Su's log(e^{d sigma} + n - 1) within its stated approximation (d sigma^2 / 2 + chi_d bias).
    """
    n, d = 30522, 768
    worst = 0.0
    for sigma, variant in ((d ** -0.5, "tied"), (0.02, "untied")):
        sim = simulate_init_loss(n, d, sigma, variant, rng=1, n_pairs=500)
        worst = max(worst, abs(sim.mean - expected_init_loss(n, d, sigma, variant)) / sim.stderr)
        if variant == "tied":
            assert abs(sim.mean - tied_init_loss(n, d, sigma)) <= Z * sim.stderr + d * sigma**2 / 2 + 0.05
        else:
            assert abs(sim.mean - math.log(n)) <= Z * sim.stderr + d * sigma**2 / 2
    return worst


@register("embedding", "embedding.torch_rms_norm_cross_entropy_peer", tol=1e-12)
def _torch_peer():
    """Pair losses vs torch: F.rms_norm (eps=0) then tied logits, F.cross_entropy (per pair)."""
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        raise CheckSkipped("torch not installed") from None
    rng = np.random.default_rng(2)
    n, d = 700, 48
    W = rng.standard_normal((n, d)) * 0.1
    I = rng.choice(n, 200, replace=False)
    J = (I + rng.integers(1, n, 200)) % n
    ours = pair_losses(W, W, I, J, "tied")
    Wt = torch.from_numpy(W)
    h = F.rms_norm(Wt[torch.from_numpy(I)], (d,), eps=0.0)
    theirs = F.cross_entropy(h @ Wt.T, torch.from_numpy(J), reduction="none").numpy()
    return float(np.max(np.abs(ours - theirs) / np.abs(theirs)))
