"""Baselines: the scikit-learn and imbalanced-learn models a tabular user would otherwise pick.

``underdog compare --baselines NAMES`` fits them on the same folds and the same preprocessed
matrices as the recipes (each fold's whole training part, :attr:`Fold.x_train
<underdog.pipeline.folds.Fold.x_train>`: they have no use for a validation split), with
their default hyper-parameters and ``random_state`` the fold's model seed, and scores them
with the same metrics; ``benchmarks/bench_keel.py`` uses the same definitions. A baseline
is not a recipe: underdog does not train it, cannot save it as a model (``underdog train``
refuses its name), and its rows are marked as baselines in every table and report.

The two baselines of imbalanced-learn (``balanced-rf``, ``smote-logreg``) need it installed
(``pip install 'underdog[tables]'``); without it they are skipped by ``all`` (the caller
reports the skipped names once) and refused when named.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import check_option
from ..exceptions import DataError, MissingDependencyError
from ..training.forests import balanced_random_forest, imblearn_available
from .folds import Fold

__all__ = [
    "BASELINES",
    "Baseline",
    "baseline_names",
    "fit_baseline",
    "get_baseline",
    "resolve_baselines",
]


@dataclass(frozen=True)
class Baseline:
    """A scikit-learn-style estimator fit on each fold's training part.

    Attributes:
        name: the registry key, as typed after ``--baselines``.
        summary: one line saying what it is.
        build: ``build(seed, y_train) -> estimator`` with ``fit``, ``predict`` and
            ``predict_proba``.
        needs_imblearn: it needs imbalanced-learn.
    """

    name: str
    summary: str
    build: Callable[[int, np.ndarray], Any]
    needs_imblearn: bool = False

    @property
    def available(self) -> bool:
        """Whether its dependencies are installed."""
        return imblearn_available() or not self.needs_imblearn


def _logreg(seed: int, y: np.ndarray) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(class_weight="balanced", max_iter=2000, random_state=seed)


def _hgb(seed: int, y: np.ndarray) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(class_weight="balanced", random_state=seed)


def _smote_logreg(seed: int, y: np.ndarray) -> Any:
    from imblearn.over_sampling import SMOTE
    from imblearn.pipeline import make_pipeline
    from sklearn.linear_model import LogisticRegression

    # SMOTE needs k + 1 rows of a class to over-sample it: 5 neighbours unless the smallest
    # class has fewer rows; a class of one row is left as it is.
    counts = np.bincount(y)
    present = counts[counts > 0]
    strategy: Any = "auto"
    if present.min() < 2:
        strategy = {c: int(counts.max()) for c in np.flatnonzero(counts >= 2)}
    k = int(max(1, min(5, present[present >= 2].min() - 1)))
    return make_pipeline(
        SMOTE(sampling_strategy=strategy, k_neighbors=k, random_state=seed),
        LogisticRegression(max_iter=2000, random_state=seed),
    )


def _balanced_rf(seed: int, y: np.ndarray) -> Any:
    return balanced_random_forest(seed)


#: Every baseline, by name.
BASELINES: dict[str, Baseline] = {
    b.name: b
    for b in (
        Baseline(
            "logreg-balanced",
            'scikit-learn LogisticRegression(class_weight="balanced", max_iter=2000)',
            _logreg,
        ),
        Baseline(
            "hgb-balanced",
            'scikit-learn HistGradientBoostingClassifier(class_weight="balanced")',
            _hgb,
        ),
        Baseline(
            "balanced-rf",
            "imbalanced-learn BalancedRandomForestClassifier(n_estimators=100, "
            'sampling_strategy="all", replacement=True, bootstrap=False)',
            _balanced_rf,
            needs_imblearn=True,
        ),
        Baseline(
            "smote-logreg",
            "imbalanced-learn SMOTE (5 neighbours) then LogisticRegression, in an "
            "imbalanced-learn pipeline",
            _smote_logreg,
            needs_imblearn=True,
        ),
    )
}


def get_baseline(name: str) -> Baseline:
    """The baseline called ``name``.

    Raises:
        InvalidParameterError: an unknown name; the message lists the valid ones.
    """
    return BASELINES[check_option(name, name="name", owner="get_baseline", options=BASELINES)]


def baseline_names(spec: str | None) -> list[str]:
    """The names a baseline list (``--baselines``) spells, each once, unchecked.

    ``None`` or ``""``: none; ``"all"``: every one; else the names between commas.
    """
    text = "" if spec is None else spec.strip()
    if text == "all":
        return list(BASELINES)
    return list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))


def resolve_baselines(
    spec: str | None, *, rows: bool = True, name: str = "the data"
) -> tuple[list[Baseline], list[str]]:
    """``(baselines, skipped)``: a list's baselines, and those ``"all"`` skips.

    ``"all"`` skips the baselines that need imbalanced-learn when it is not installed.

    Args:
        spec: comma-separated names, ``"all"``, or ``None`` / ``""`` for none.
        rows: whether the data is a table of feature rows (baselines need one).
        name: the data's name, for messages.

    Raises:
        InvalidParameterError: an unknown name.
        DataError: baselines asked for on data that is not a table of features (a dataset of
            samples).
        MissingDependencyError: a baseline named that needs imbalanced-learn, which is not
            installed.
    """
    names = baseline_names(spec)
    chosen = [get_baseline(n) for n in names]
    if chosen and not rows:
        raise DataError(
            f"Baselines ({', '.join(names)}) need a table of feature rows: scikit-learn "
            f"models fit on its preprocessed matrix. Got a dataset of samples in {name} "
            "instead."
        )
    skipped = [b.name for b in chosen if not b.available]
    if skipped and spec is not None and spec.strip() != "all":
        raise MissingDependencyError(
            f"The baselines {', '.join(map(repr, skipped))} need imbalanced-learn: pip "
            "install 'underdog[tables]'."
        )
    return [b for b in chosen if b.available], skipped


def fit_baseline(baseline: Baseline, fold: Fold, *, num_classes: int) -> tuple[Any, Any]:
    """Fit ``baseline`` on ``fold``'s whole training part; ``(proba, y_pred)`` of its test part.

    ``proba``: ``(N, num_classes)`` float64 probabilities (0 for a class the training part
    lacks); ``y_pred``: the estimator's own decisions.

    Raises:
        DataError: the fold is not one of a table of features.
    """
    if not isinstance(fold.x, np.ndarray):
        raise DataError(
            f"The 'fold' parameter of fit_baseline must hold feature rows (a table). Got "
            f"{type(fold.x).__name__} instead."
        )
    y = fold.y_train
    estimator = baseline.build(fold.model_seed, y)
    estimator.fit(fold.x_train, y)
    proba = np.zeros((len(fold.y_test), num_classes))
    if len(fold.y_test):
        classes = np.asarray(estimator.classes_, dtype=int)
        proba[:, classes] = estimator.predict_proba(fold.x_test)
        y_pred = np.asarray(estimator.predict(fold.x_test), dtype=int)
    else:
        y_pred = np.zeros(0, dtype=int)
    return proba, y_pred
