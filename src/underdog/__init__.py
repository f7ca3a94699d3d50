"""underdog: correct, fast, evidence-based training of classifiers on imbalanced data."""

from . import losses
from .counts import MultilabelCounts, class_counts, multilabel_counts
from .exceptions import (
    DataError,
    DivergenceError,
    InvalidParameterError,
    MissingDependencyError,
    ShapeError,
    UnderdogError,
)
from .losses import (
    AsymmetricLoss,
    BalancedSoftmaxLoss,
    BCEWithLogitsLoss,
    ClassBalancedLoss,
    CrossEntropyLoss,
    DeferredReweighting,
    FocalCrossEntropyLoss,
    LDAMLoss,
    LogitAdjustedLoss,
    SigmoidFocalLoss,
    asymmetric_loss_with_logits,
    balanced_softmax_cross_entropy,
    binary_cross_entropy_with_logits,
    class_balanced_loss,
    cross_entropy,
    focal_cross_entropy,
    ldam_cross_entropy,
    logit_adjusted_cross_entropy,
    sigmoid_focal_with_logits,
)
from .weights import binary_class_weight, class_weight, pos_weight, sample_weight

# isort: split
from . import _compat
from .metrics import evaluate, g_mean_score
from .pipeline.recipes import RECIPES, Recipe, get_recipe
from .posthoc import PostHoc, prior_correction, tune_threshold
from .samplers import ClassBalancedSampler, DistributedClassBalancedSampler
from .training import TrainEvent, TrainResult, fit, mlp

__version__ = "0.1.0"

_compat.install()  # the old import paths of moved modules (underdog.compare, ...)

__all__ = [
    "AsymmetricLoss",
    "BCEWithLogitsLoss",
    "BalancedSoftmaxLoss",
    "ClassBalancedLoss",
    "ClassBalancedSampler",
    "CrossEntropyLoss",
    "DataError",
    "DeferredReweighting",
    "DistributedClassBalancedSampler",
    "DivergenceError",
    "FocalCrossEntropyLoss",
    "InvalidParameterError",
    "LDAMLoss",
    "LogitAdjustedLoss",
    "MissingDependencyError",
    "MultilabelCounts",
    "PostHoc",
    "RECIPES",
    "Recipe",
    "ShapeError",
    "SigmoidFocalLoss",
    "TrainEvent",
    "TrainResult",
    "UnderdogError",
    "asymmetric_loss_with_logits",
    "balanced_softmax_cross_entropy",
    "binary_class_weight",
    "binary_cross_entropy_with_logits",
    "class_balanced_loss",
    "class_counts",
    "class_weight",
    "cross_entropy",
    "evaluate",
    "fit",
    "focal_cross_entropy",
    "g_mean_score",
    "get_recipe",
    "ldam_cross_entropy",
    "logit_adjusted_cross_entropy",
    "losses",
    "mlp",
    "multilabel_counts",
    "pos_weight",
    "prior_correction",
    "sample_weight",
    "sigmoid_focal_with_logits",
    "tune_threshold",
]
