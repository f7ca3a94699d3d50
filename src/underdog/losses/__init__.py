"""Losses for imbalanced classification: each a function holding the math and a Module.

One file per family (``cross_entropy``, ``binary``, ``focal``, ``class_balanced``,
``ldam``, ``logit_adjusted``, ``asymmetric``, ``global_mean``), the epoch schedules
(``schedules``), and helpers named for what they hold: ``_base`` (the Modules' base class
and constructors), ``_reduction`` (the one meaning of ``reduction``: ``"mean"`` is the
weighted mean ``sum_i l_i / sum_i e_i``, see ``docs/losses.md``), ``_checks`` (every shape
and target check), ``_softmax_kernel`` and ``_sigmoid_kernel`` (the autograd Functions).
"""

from .asymmetric import AsymmetricLoss, asymmetric_loss_with_logits
from .binary import (
    BCEWithLogitsLoss,
    MinorityLogitLoss,
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
from .ldam import LDAMLoss, ldam_cross_entropy, ldam_margins
from .logit_adjusted import (
    BalancedSoftmaxLoss,
    LogitAdjustedLoss,
    balanced_softmax_cross_entropy,
    log_prior,
    logit_adjusted_cross_entropy,
)
from .schedules import DeferredReweighting

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
    "MinorityLogitLoss",
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
