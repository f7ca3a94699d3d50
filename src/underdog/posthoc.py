"""Post-hoc corrections of a trained classifier: prior correction and tuned thresholds.

Both change only how logits become decisions, so they apply to a model trained with the
plain loss.

**Prior correction** (logit adjustment at prediction time, Menon et al., 2021): with class
priors ``π_c`` (training-fold frequencies),

    z'_c = z_c - tau * log(π_c),        ŷ = argmax_c z'_c,   p' = softmax(z')

With ``tau = 1`` this turns ``p(y | x)`` estimated under the training priors into the
posterior under uniform priors, i.e. the Bayes rule for balanced error.

**Threshold** (binary): predict the minority class ``m`` when ``p_m(x) >= t``, with ``t``
chosen on the validation split to maximise the chosen metric (candidates: up to 200
quantiles of the validation scores, plus 0.5; ties go to the threshold nearest 0.5). For
more than two classes the same idea uses one threshold per class, ``t_c ∝ π_c ** tau``,
i.e. the prior correction above with ``tau`` tuned on the validation split over
``0, 0.1, ..., 2``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validation import check_option
from .metrics import LABEL_METRICS, label_metric

__all__ = ["PostHoc", "prior_correction", "softmax", "tune_posthoc", "tune_threshold"]

KINDS = ("none", "threshold", "prior-correction")
TUNABLE = (*LABEL_METRICS, "minority_f1")


def softmax(logits: Any) -> np.ndarray:
    """Row-wise softmax of a ``(N, C)`` array, computed stably in float64."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    result: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return result


def prior_correction(logits: Any, priors: Any, *, tau: float = 1.0) -> np.ndarray:
    """``logits - tau * log(priors)``: logits for balanced decisions.

    Example:
        >>> prior_correction([[0.0, 0.0]], [0.9, 0.1]).round(3).tolist()
        [[0.105, 2.303]]
    """
    priors = np.asarray(priors, dtype=np.float64)
    result: np.ndarray = np.asarray(logits, dtype=np.float64) - tau * np.log(priors / priors.sum())
    return result


def _tuning_metric(metric: str) -> str:
    return metric if metric in TUNABLE else "balanced_accuracy"


def tune_threshold(
    scores: Any, y_true: Any, *, minority: int, metric: str = "balanced_accuracy"
) -> float:
    """The threshold ``t`` on the minority-class probability that maximises ``metric``.

    ``metric`` is one of the label metrics; threshold-free metrics (``roc_auc``,
    ``average_precision``) tune balanced accuracy instead.
    """
    scores = np.asarray(scores, dtype=np.float64)
    y_true = np.asarray(y_true)
    metric = _tuning_metric(metric)
    majority = 1 - minority
    quantiles = np.quantile(scores, np.linspace(0, 1, 200)) if len(scores) else np.zeros(0)
    candidates = np.unique(np.concatenate([quantiles, [0.5]]))
    best, best_t = -np.inf, 0.5
    for t in candidates:
        y_pred = np.where(scores >= t, minority, majority)
        value = label_metric(metric, y_true, y_pred, num_classes=2, minority=minority)
        if value > best or (value == best and abs(t - 0.5) < abs(best_t - 0.5)):
            best, best_t = value, float(t)
    return best_t


@dataclass(frozen=True)
class PostHoc:
    """A post-hoc decision rule, stored with a model as plain data.

    Attributes:
        kind: ``"none"`` (argmax), ``"threshold"`` or ``"prior-correction"``.
        priors: training class frequencies ``(C,)`` (used by prior correction and by the
            multiclass threshold).
        tau: the prior-correction strength.
        threshold: the binary threshold on the minority-class probability.
        minority: the minority class index (binary).
    """

    kind: str = "none"
    priors: tuple[float, ...] | None = None
    tau: float = 1.0
    threshold: float | None = None
    minority: int | None = None

    def __post_init__(self) -> None:
        check_option(self.kind, name="kind", owner="PostHoc", options=KINDS)

    def apply(self, logits: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(proba, y_pred)`` of logits ``(N, C)`` under this rule."""
        if self.kind == "threshold" and self.threshold is not None:
            minority = int(self.minority or 0)  # a threshold always comes with its class
            proba = softmax(np.asarray(logits, dtype=np.float64))
            y_pred = np.where(proba[:, minority] >= self.threshold, minority, 1 - minority)
            return proba, y_pred
        proba = softmax(self.corrected(logits))
        return proba, proba.argmax(1)

    def corrected(self, logits: Any) -> np.ndarray:
        """Logits ``(N, C)`` after this rule's prior correction, as float64.

        Unchanged for ``"none"`` and for a tuned threshold, which moves the decision only.
        """
        values: np.ndarray = np.asarray(logits, dtype=np.float64)
        if self.kind == "none" or (self.kind == "threshold" and self.threshold is not None):
            return values
        return prior_correction(values, self.priors, tau=self.tau)

    def to_dict(self) -> dict[str, Any]:
        """The rule as plain JSON data (:meth:`from_dict` reads it back)."""
        return {
            "kind": self.kind,
            "priors": None if self.priors is None else list(self.priors),
            "tau": self.tau,
            "threshold": self.threshold,
            "minority": self.minority,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PostHoc:
        """The rule that :meth:`to_dict` wrote."""
        priors = data.get("priors")
        return cls(
            kind=data["kind"],
            priors=None if priors is None else tuple(float(p) for p in priors),
            tau=float(data.get("tau", 1.0)),
            threshold=data.get("threshold"),
            minority=data.get("minority"),
        )


def tune_posthoc(
    kind: str,
    val_logits: Any,
    y_val: Any,
    *,
    counts: Any,
    metric: str = "balanced_accuracy",
) -> PostHoc:
    """Fit the post-hoc rule ``kind`` from training ``counts`` and validation logits."""
    check_option(kind, name="kind", owner="tune_posthoc", options=KINDS)
    counts = np.asarray(counts, dtype=np.float64)
    priors = tuple(float(p) for p in np.maximum(counts, 0.5) / counts.sum())
    minority = int(counts.argmin())
    if kind == "none":
        return PostHoc()
    if kind == "prior-correction":
        return PostHoc(kind=kind, priors=priors, tau=1.0)
    logits = np.asarray(val_logits, dtype=np.float64)
    y_val = np.asarray(y_val)
    if len(y_val) == 0:  # nothing to tune on: the untuned rule
        if len(counts) == 2:
            return PostHoc(kind=kind, priors=priors, threshold=0.5, minority=minority)
        return PostHoc(kind=kind, priors=priors, tau=0.0)
    if len(counts) == 2:
        t = tune_threshold(softmax(logits)[:, minority], y_val, minority=minority, metric=metric)
        return PostHoc(kind=kind, priors=priors, threshold=t, minority=minority)
    metric = _tuning_metric(metric)
    best, best_tau = -np.inf, 0.0
    for tau in np.round(np.arange(0.0, 2.01, 0.1), 2):
        y_pred = prior_correction(logits, priors, tau=tau).argmax(1)
        value = label_metric(metric, y_val, y_pred, num_classes=len(counts), minority=minority)
        if value > best:
            best, best_tau = value, float(tau)
    return PostHoc(kind=kind, priors=priors, tau=best_tau)
