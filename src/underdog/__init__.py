"""underdog: correct, fast, evidence-based training of classifiers on imbalanced data."""

from . import losses
from .counts import MultilabelCounts, class_counts, multilabel_counts
from .exceptions import DataError, InvalidParameterError, ShapeError, UnderdogError
from .losses import (
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    binary_cross_entropy_with_logits,
    cross_entropy,
)
from .weights import binary_class_weight, class_weight, pos_weight, sample_weight

# isort: split
from .adjust import PostHoc, prior_correction, tune_threshold
from .metrics import evaluate, g_mean_score
from .recipes import RECIPES, Recipe, get_recipe
from .samplers import ClassBalancedSampler, DistributedClassBalancedSampler
from .train import TrainEvent, TrainResult, fit, mlp

__version__ = "0.1.0"

__all__ = [
    "BCEWithLogitsLoss",
    "ClassBalancedSampler",
    "CrossEntropyLoss",
    "DataError",
    "DistributedClassBalancedSampler",
    "InvalidParameterError",
    "MultilabelCounts",
    "PostHoc",
    "RECIPES",
    "Recipe",
    "ShapeError",
    "TrainEvent",
    "TrainResult",
    "UnderdogError",
    "binary_class_weight",
    "binary_cross_entropy_with_logits",
    "class_counts",
    "class_weight",
    "cross_entropy",
    "evaluate",
    "fit",
    "g_mean_score",
    "get_recipe",
    "losses",
    "mlp",
    "multilabel_counts",
    "pos_weight",
    "prior_correction",
    "sample_weight",
    "tune_threshold",
]
