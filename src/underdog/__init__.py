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

__version__ = "0.1.0"

__all__ = [
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "DataError",
    "InvalidParameterError",
    "MultilabelCounts",
    "ShapeError",
    "UnderdogError",
    "binary_class_weight",
    "binary_cross_entropy_with_logits",
    "class_counts",
    "class_weight",
    "cross_entropy",
    "losses",
    "multilabel_counts",
    "pos_weight",
    "sample_weight",
]
