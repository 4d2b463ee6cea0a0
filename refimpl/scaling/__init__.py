"""Training dynamics: optimal learning rate versus batch size (SGD, SignSGD/Adam, the surge).

Article: https://kexue.fm/archives/10542 (after McCandlish et al.,
https://arxiv.org/abs/1812.06162, and Li et al., https://arxiv.org/abs/2405.14578).
Closed forms in :mod:`refimpl.scaling.batch` (each its own definition); the
noisy quadratic model simulator in :mod:`refimpl.scaling.nqm`, whose
definition is the sample loop of :mod:`refimpl.scaling.reference` (fast
paths: ``_fast.py`` numba, ``_xp.py`` CuPy). Case table: ``cases.py``.
"""
from .batch import (
    SignMoments,
    StepsExamplesFit,
    Surge,
    b_noise,
    b_simple,
    fit_steps_examples,
    loss_decrease_sgd,
    loss_decrease_sign,
    optimal_lr_sgd,
    optimal_lr_sign,
    sign_moments,
    steps_examples_tradeoff,
    surge,
)
from .nqm import NQMOptimalLR, NQMTraining, nqm_optimal_lr, nqm_train_to_target

__all__ = [
    "NQMOptimalLR", "NQMTraining", "SignMoments", "StepsExamplesFit", "Surge",
    "b_noise", "b_simple", "fit_steps_examples", "loss_decrease_sgd", "loss_decrease_sign",
    "nqm_optimal_lr", "nqm_train_to_target", "optimal_lr_sgd", "optimal_lr_sign", "sign_moments",
    "steps_examples_tradeoff", "surge",
]
