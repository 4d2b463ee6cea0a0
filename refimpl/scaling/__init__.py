"""Training dynamics: optimal learning rate versus batch size (SGD, SignSGD/Adam, the surge).

Article: https://kexue.fm/archives/10542 (after McCandlish et al.,
https://arxiv.org/abs/1812.06162, and Li et al., https://arxiv.org/abs/2405.14578).
Closed forms in :mod:`refimpl.scaling.batch`; the noisy quadratic model
simulator in :mod:`refimpl.scaling.nqm`.
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
