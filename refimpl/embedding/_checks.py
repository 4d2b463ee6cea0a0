"""Cross-checks of refimpl.embedding run by ``refimpl verify`` (the per-function peers are in cases.py)."""
from __future__ import annotations

import math

from ..verify import register
from .init_loss import expected_init_loss, simulate_init_loss, tied_init_loss

Z = 4.4172


@register("embedding", "embedding.bert_size_simulation_vs_expectation", tol=Z, kind="statistical", unit="z",
          compared="simulate_init_loss (500 pairs) vs expected_init_loss, n = 30522, d = 768")
def _bert_size():
    """n = 30522, d = 768, sigma = 1/sqrt(d) (tied) and 0.02 (untied): |sim - expected| / stderr.

    Also requires Su's log(e^{d sigma} + n - 1) to hold within its stated approximation
    (d sigma^2 / 2 plus the chi_d bias, 0.05 nats) of the simulated mean, and the untied loss to be
    log n within d sigma^2 / 2; a violation raises.
    """
    n, d = 30522, 768
    worst = 0.0
    for sigma, variant in ((d ** -0.5, "tied"), (0.02, "untied")):
        sim = simulate_init_loss(n, d, sigma, variant, rng=1, n_pairs=500)
        worst = max(worst, abs(sim.mean - expected_init_loss(n, d, sigma, variant)) / sim.stderr)
        su = tied_init_loss(n, d, sigma) if variant == "tied" else math.log(n)
        slack = Z * sim.stderr + d * sigma ** 2 / 2 + (0.05 if variant == "tied" else 0.0)
        if abs(sim.mean - su) > slack:
            raise RuntimeError(f"{variant}: simulated {sim.mean:.4f} vs Su's estimate {su:.4f} differ by more "
                               f"than the stated approximation {slack:.4f}")
    return worst
