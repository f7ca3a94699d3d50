"""Imbalance metrics, computed by scikit-learn.

Every metric here is higher-is-better. For true labels ``y`` and predictions ``ŷ`` over
classes ``0 .. C-1`` with per-class recall ``r_c``:

- ``balanced_accuracy`` = ``mean_c r_c`` (:func:`sklearn.metrics.balanced_accuracy_score`);
- ``macro_f1``: unweighted mean of per-class F1 (:func:`sklearn.metrics.f1_score`);
- ``g_mean`` = ``(prod_c r_c) ** (1 / C)``, the geometric mean of per-class recall, with
  ``r_c`` from :func:`sklearn.metrics.recall_score`; 0 as soon as one class is never found;
- ``mcc``: Matthews correlation coefficient (multiclass form, ``matthews_corrcoef``);
- binary problems only, with the minority class as positive: ``roc_auc``
  (``roc_auc_score``), ``average_precision`` (``average_precision_score``) and
  ``minority_f1`` (F1 of the minority class), from the probability of the minority class.

Per-class ``precision``, ``recall`` and ``f1`` come from
:func:`sklearn.metrics.precision_recall_fscore_support` (``zero_division=0``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validation import check_option

__all__ = [
    "BINARY_METRICS",
    "LABEL_METRICS",
    "METRICS",
    "evaluate",
    "g_mean_score",
    "label_metric",
]

LABEL_METRICS = ("balanced_accuracy", "macro_f1", "g_mean", "mcc")
BINARY_METRICS = ("roc_auc", "average_precision", "minority_f1")
METRICS = LABEL_METRICS + BINARY_METRICS


def g_mean_score(y_true: Any, y_pred: Any, *, labels: Any = None) -> float:
    """Geometric mean of the per-class recall (scikit-learn's ``recall_score``).

    Example:
        >>> g_mean_score([0, 0, 1, 1], [0, 1, 1, 1])
        0.7071067811865476
    """
    from sklearn.metrics import recall_score

    recall = recall_score(y_true, y_pred, labels=labels, average=None, zero_division=0)
    if np.any(recall == 0):
        return 0.0
    return float(np.exp(np.mean(np.log(recall))))


def label_metric(name: str, y_true: Any, y_pred: Any, *, num_classes: int, minority: int) -> float:
    """One metric of :data:`LABEL_METRICS` (or ``minority_f1``) from hard predictions."""
    from sklearn import metrics

    check_option(name, name="name", owner="label_metric", options=(*LABEL_METRICS, "minority_f1"))
    labels = list(range(num_classes))
    if name == "balanced_accuracy":
        return float(metrics.balanced_accuracy_score(y_true, y_pred))
    if name == "macro_f1":
        return float(
            metrics.f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
        )
    if name == "g_mean":
        return g_mean_score(y_true, y_pred, labels=labels)
    if name == "mcc":
        return float(metrics.matthews_corrcoef(y_true, y_pred))
    return float(  # minority_f1
        metrics.f1_score(y_true, y_pred, labels=[minority], average="macro", zero_division=0)
    )


def evaluate(
    y_true: Any,
    proba: Any,
    *,
    y_pred: Any = None,
    minority: int | None = None,
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """All metrics of one set of predictions.

    Args:
        y_true: int class indices ``(N,)``.
        proba: class probabilities ``(N, C)``.
        y_pred: hard predictions ``(N,)``; defaults to ``proba.argmax(1)``. Post-hoc
            decision rules (a tuned threshold) pass their own.
        minority: the positive class of the binary metrics; defaults to the rarer class
            of ``y_true``.

    Returns:
        ``(scalars, per_class)``: ``scalars`` maps each name of :data:`LABEL_METRICS`
        (plus :data:`BINARY_METRICS` when ``C == 2``) to a float; ``per_class`` maps
        ``"precision"``, ``"recall"``, ``"f1"`` to arrays ``(C,)``.
    """
    from sklearn import metrics

    y_true = np.asarray(y_true)
    proba = np.asarray(proba, dtype=float)
    num_classes = proba.shape[1]
    if y_pred is None:
        y_pred = proba.argmax(1)
    if minority is None:
        minority = int(np.bincount(y_true, minlength=num_classes).argmin())
    scalars = {
        name: label_metric(name, y_true, y_pred, num_classes=num_classes, minority=minority)
        for name in LABEL_METRICS
    }
    if num_classes == 2:
        positive = y_true == minority
        score = proba[:, minority]
        both = 0 < positive.sum() < len(positive)
        scalars["roc_auc"] = float(metrics.roc_auc_score(positive, score)) if both else np.nan
        scalars["average_precision"] = (
            float(metrics.average_precision_score(positive, score)) if both else np.nan
        )
        scalars["minority_f1"] = label_metric(
            "minority_f1", y_true, y_pred, num_classes=2, minority=minority
        )
    precision, recall, f1, _ = metrics.precision_recall_fscore_support(
        y_true, y_pred, labels=list(range(num_classes)), zero_division=0
    )
    return scalars, {"precision": precision, "recall": recall, "f1": f1}
