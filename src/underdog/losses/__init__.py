"""Losses for imbalanced classification: each a function holding the math and a Module.

Every loss follows one meaning of ``reduction`` (see :mod:`underdog.losses._common` and
``docs/losses.md``): ``"mean"`` is the weighted mean ``sum_i l_i / sum_i e_i``.
"""

from .binary import (
    BCEWithLogitsLoss,
    binary_cross_entropy_weight_sum,
    binary_cross_entropy_with_logits,
)
from .cross_entropy import CrossEntropyLoss, cross_entropy, cross_entropy_weight_sum
from .global_mean import GlobalMean

__all__ = [
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "GlobalMean",
    "binary_cross_entropy_weight_sum",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "cross_entropy_weight_sum",
]
