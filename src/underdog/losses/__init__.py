"""Losses for imbalanced classification: each a function holding the math and a Module.

Every loss follows one meaning of ``reduction`` (see :mod:`underdog.losses._common` and
``docs/losses.md``): ``"mean"`` is the weighted mean ``sum_i l_i / sum_i e_i``.
"""

from .asymmetric import AsymmetricLoss, asymmetric_loss_with_logits
from .binary import (
    BCEWithLogitsLoss,
    binary_cross_entropy_weight_sum,
    binary_cross_entropy_with_logits,
)
from .class_balanced import ClassBalancedLoss, class_balanced_loss, class_balanced_weight
from .cross_entropy import CrossEntropyLoss, cross_entropy, cross_entropy_weight_sum
from .focal import (
    FocalCrossEntropyLoss,
    SigmoidFocalLoss,
    focal_cross_entropy,
    sigmoid_focal_with_logits,
)
from .global_mean import GlobalMean
from .ldam import DeferredReweighting, LDAMLoss, ldam_cross_entropy, ldam_margins
from .logit_adjusted import (
    BalancedSoftmaxLoss,
    LogitAdjustedLoss,
    balanced_softmax_cross_entropy,
    log_prior,
    logit_adjusted_cross_entropy,
)

__all__ = [
    "AsymmetricLoss",
    "BCEWithLogitsLoss",
    "BalancedSoftmaxLoss",
    "ClassBalancedLoss",
    "CrossEntropyLoss",
    "DeferredReweighting",
    "FocalCrossEntropyLoss",
    "GlobalMean",
    "LDAMLoss",
    "LogitAdjustedLoss",
    "SigmoidFocalLoss",
    "asymmetric_loss_with_logits",
    "balanced_softmax_cross_entropy",
    "binary_cross_entropy_weight_sum",
    "binary_cross_entropy_with_logits",
    "class_balanced_loss",
    "class_balanced_weight",
    "cross_entropy",
    "cross_entropy_weight_sum",
    "focal_cross_entropy",
    "ldam_cross_entropy",
    "ldam_margins",
    "log_prior",
    "logit_adjusted_cross_entropy",
    "sigmoid_focal_with_logits",
]
