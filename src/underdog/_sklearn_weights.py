"""The weights of :class:`underdog.sklearn.UnderdogClassifier`, and training with them.

``class_weight`` and ``sample_weight`` take labels of any type.
``class_weight`` is mapped from labels to class indices through ``classes_`` as
scikit-learn's ``compute_class_weight`` does (tested against it); each training row weighs
``sample_weight[i] * class_weight[y_i]`` in the loss. :func:`train_weighted` is
:func:`~underdog.pipeline.train_recipe` with those weights and early stopping on the
weighted validation score of :class:`RowWeights`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ._validation import check_real, describe, listed, message
from .exceptions import DataError, InvalidParameterError
from .pipeline.config import CompareConfig
from .pipeline.folds import Fold
from .pipeline.recipes import Recipe
from .pipeline.trainer import train_recipe
from .training import TrainResult
from .weights import class_weight as balanced_class_weight

__all__ = ["RowWeights", "class_weights", "row_weights", "train_weighted"]


def class_weights(
    class_weight: str | dict[Any, float] | None,
    classes: np.ndarray,
    encoded: np.ndarray,
    *,
    sample_weight: np.ndarray | None = None,
    owner: str,
) -> np.ndarray:
    """The weight of each class of ``classes``, float64 ``(C,)``.

    As scikit-learn's ``compute_class_weight(class_weight, classes=classes, y=y,
    sample_weight=sample_weight)`` (tested).

    Args:
        class_weight: None (ones), ``"balanced"`` (``N / (C * n_c)``, ``n_c`` the
            sample-weighted count of class ``c``) or ``{label: weight}``: classes left out
            weigh 1; keys that are no class are ignored when every class has a weight (a
            cross-validation fold may lack a class) and rejected otherwise (a typo).
        classes: the sorted class labels of any type (``classes_``).
        encoded: the labels as indices into ``classes``.
        sample_weight: per-row weights, counted by ``"balanced"``.
        owner: the estimator, for messages.

    Raises:
        InvalidParameterError: a weight that is not a finite number >= 0, or unknown keys
            while some class has no weight.
        DataError: a class whose rows all weigh 0 under ``"balanced"``.
    """
    num_classes = len(classes)
    if class_weight is None:
        return np.ones(num_classes)
    if isinstance(class_weight, str):  # "balanced", checked by the estimator
        counts = np.bincount(encoded, weights=sample_weight, minlength=num_classes)
        if not (counts > 0).all():
            raise DataError(
                message("sample_weight", f"{owner}.fit",
                        must="give each class a positive total with class_weight='balanced'",
                        got=f"a total of 0 for the classes {listed(classes[counts <= 0].tolist())}")
            )  # fmt: skip
        return balanced_class_weight(torch.as_tensor(counts), dtype=torch.float64).numpy()
    index = {label: i for i, label in enumerate(classes.tolist())}  # numpy scalars -> Python
    weights = np.ones(num_classes)
    unknown = []
    for key, value in class_weight.items():
        weight = check_real(value, name="class_weight", owner=owner, low=0.0)
        if key in index:
            weights[index[key]] = weight
        else:
            unknown.append(key)
    missing = [label for label in index if label not in class_weight]
    if unknown and missing:
        raise InvalidParameterError(
            message("class_weight", owner,
                    must="have classes of y as keys (a class left out weighs 1)",
                    got=f"the keys {listed(unknown)}, which are no class, and no weight for the "
                        f"classes {listed(missing)}")
        )  # fmt: skip
    return weights


@dataclass(frozen=True)
class RowWeights:
    """The weights of one ``fit``: per-row sample weights and per-class weights.

    Attributes:
        sample: ``sample_weight`` ``(N,)``, ones when not given.
        per_class: ``class_weight`` as a vector ``(C,)``, or None when not given.
        encoded: the labels as class indices ``(N,)``.
    """

    sample: np.ndarray
    per_class: np.ndarray | None
    encoded: np.ndarray

    def loss(self, rows: np.ndarray) -> np.ndarray:
        """The weights of ``rows`` in the loss: ``sample_weight * class_weight[y]``."""
        weights = self.sample[rows]
        if self.per_class is not None:
            weights = weights * self.per_class[self.encoded[rows]]
        return weights

    def monitor(self, rows: np.ndarray) -> Callable[[np.ndarray, np.ndarray], float]:
        """The early-stopping score of the validation rows ``rows``, higher is better.

        The accuracy with each row weighted as in the loss (:meth:`loss`), ties going to
        the lower cross-entropy weighted the same way. Without ``class_weight``, each row's
        accuracy weight is its sample weight over its class's total instead, so that the
        score is the (sample-weighted) balanced accuracy: with weights of 1, exactly
        :func:`~underdog.pipeline.validation_score`.
        """
        y_val = self.encoded[rows]
        loss_weight = self.loss(rows)
        hit_weight = loss_weight
        if self.per_class is None:
            totals = np.bincount(y_val, weights=loss_weight)
            hit_weight = loss_weight / totals[y_val].clip(min=1e-300)
        hit_total = max(float(hit_weight.sum()), 1e-300)
        loss_total = max(float(loss_weight.sum()), 1e-300)

        def score(logits: np.ndarray, y: np.ndarray) -> float:
            z = logits - logits.max(1, keepdims=True)
            ce = np.log(np.exp(z).sum(1)) - z[np.arange(len(y)), y]
            hits = logits.argmax(1) == y
            return (
                float(hit_weight @ hits) / hit_total - 1e-4 * float(loss_weight @ ce) / loss_total
            )

        return score


def row_weights(
    class_weight: str | dict[Any, float] | None,
    sample_weight: np.ndarray | None,
    *,
    classes: np.ndarray,
    encoded: np.ndarray,
    train: np.ndarray,
    owner: str,
) -> RowWeights | None:
    """The :class:`RowWeights` of checked ``sample_weight`` and ``class_weight``.

    None when both are None: the estimator then trains without weights.

    Raises:
        DataError: every training row (``train``) weighs 0.
    """
    if sample_weight is None and class_weight is None:
        return None
    per_class = None
    if class_weight is not None:
        per_class = class_weights(
            class_weight, classes, encoded, sample_weight=sample_weight, owner=owner
        )
    sample = np.ones(len(encoded)) if sample_weight is None else sample_weight
    weights = RowWeights(sample, per_class, encoded)
    if not weights.loss(train).any():
        raise DataError(
            message("sample_weight", f"{owner}.fit",
                    must="leave a positive weight (times its class weight) to some row that "
                         "the network trains on (outside the validation split)",
                    got=f"weights of 0 for those {len(train)} rows with class_weight="
                        f"{describe(class_weight)}")
        )  # fmt: skip
    return weights


def train_weighted(
    recipe: Recipe,
    fold: Fold,
    *,
    config: CompareConfig,
    num_classes: int,
    weights: RowWeights,
    train: np.ndarray,
    val: np.ndarray,
) -> TrainResult:
    """:func:`~underdog.pipeline.train_recipe` with per-row weights of the loss.

    Early stopping is on :meth:`RowWeights.monitor`; ``train`` and ``val`` are the rows of
    ``fold``'s training and validation parts.
    """
    return train_recipe(
        recipe, fold, config=config, num_classes=num_classes,
        sample_weight=weights.loss(train), monitor=weights.monitor(val),
    )  # fmt: skip
