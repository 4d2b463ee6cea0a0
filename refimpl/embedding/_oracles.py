"""Oracle cases of refimpl.embedding (see :mod:`refimpl.testing.oracle`)."""
from __future__ import annotations

from ..testing.oracle import register_oracle
from .init_loss import tied_init_loss


@register_oracle("embedding.tied_init_loss", tied_init_loss, rule="elementwise",
                 tolerances={"float64": (1e-13, 0.0), "float32": (1e-6, 0.0)})
def _tied_init_loss(src):
    """log(exp(d sigma) + n - 1) for n_vocab in [1, 256000], d in [1, 8192], sigma log-uniform
    in [1e-4, 1] (so d sigma reaches 8192, where a naive exp overflows even in float64).

    A stable evaluation (logaddexp) is a few ulp: float64 rtol 1e-13; a
    float32 result is one rounding of a value >= log(n) or >= d sigma away from 0
    except for n = 1, d sigma -> 0 (then the value is d sigma itself, still
    relative): 8 ulp of float32, rtol 1e-6.
    """
    return {"n_vocab": src.integer("n_vocab", 1, 256000), "d": src.integer("d", 1, 8192),
            "sigma": src.real("sigma", 1e-4, 1.0, log=True)}
