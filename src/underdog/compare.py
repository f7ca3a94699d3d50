"""Compare recipes on one table: recipes x folds x seeds, the same folds for every recipe.

For each seed ``s`` the table's folds come from :meth:`~underdog.data.Table.folds`
(stratified k-fold, or the dataset's own protocol). In each fold:

1. a validation split (``val_fraction`` of each class, stratified) is carved from the
   training part; it drives early stopping and tunes post-hoc rules;
2. the :class:`~underdog.data.Preprocessor` is fit on the training part only;
3. each recipe builds its loss from the class counts of the rows it trains on, trains an
   MLP with :func:`~underdog.train.fit` (early stopping on validation balanced accuracy,
   ties broken by the lower cross-entropy) and is scored on the test part with
   :func:`~underdog.metrics.evaluate`.

Recipes that reuse another's model (post-hoc rules on ``none``) reuse the trained model.

The same steps are public for one fold at a time, so that a benchmark can run recipes (and
other estimators) on exactly the folds and preprocessing of a comparison, one process per
fold: :func:`prepare_fold` builds a :class:`Fold` from train / test indices (validation
split, preprocessing fit on the training part, class counts) and :func:`run_fold` trains
and scores recipes on it.

Each recipe's difference to ``none`` is tested with the corrected resampled paired t-test of
Nadeau and Bengio (2003) over the ``folds x seeds`` pairs: with differences ``d_i``,
``t = mean(d) / sqrt((1/n + n_test/n_train) * var(d))`` on ``n - 1`` degrees of freedom. The
correction accounts for overlapping training sets, which make the plain paired t-test
far too optimistic.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from .data.tables import Table
from .folds import (
    CompareConfig,
    Fold,
    Progress,
    RunResult,
    prepare_fold,
    run_fold,
    run_recipe,
    train_recipe,
    validation_score,
)
from .metrics import BINARY_METRICS, LABEL_METRICS
from .recipes import RECIPES, Recipe

__all__ = [
    "CompareConfig",
    "Comparison",
    "Fold",
    "Progress",
    "RunResult",
    "compare",
    "paired_test",
    "prepare_fold",
    "run_fold",
    "train_recipe",
    "validation_score",
]


@dataclass(frozen=True)
class Comparison:
    """Everything a comparison produced; :mod:`underdog.report` renders it.

    Frozen: :meth:`summary` (which runs the paired tests) is computed once, on first use,
    and kept; :func:`dataclasses.replace` gives a new comparison with its own summary.
    """

    table: Table
    recipes: list[Recipe]
    config: CompareConfig
    runs: list[RunResult]
    train_counts: np.ndarray
    test_counts: np.ndarray
    minority: int
    seconds: float
    sizes: tuple[float, float] = (0.0, 0.0)
    recipe_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def metrics(self) -> tuple[str, ...]:
        return LABEL_METRICS + (BINARY_METRICS if self.table.num_classes == 2 else ())

    def values(self, recipe: str, metric: str) -> np.ndarray:
        """The metric over (seed, fold) pairs, in a fixed order."""
        runs = sorted((r for r in self.runs if r.recipe == recipe), key=lambda r: (r.seed, r.fold))
        return np.array([r.scalars[metric] for r in runs], dtype=float)

    def per_class(self, recipe: str, name: str) -> np.ndarray:
        """Mean over runs of a per-class metric, ``(C,)``."""
        return np.mean([r.per_class[name] for r in self.runs if r.recipe == recipe], axis=0)

    def pooled(self, recipe: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(y_true, proba, y_pred)`` concatenated over all runs of ``recipe``."""
        runs = [r for r in self.runs if r.recipe == recipe]
        return (
            np.concatenate([r.y_true for r in runs]),
            np.concatenate([r.proba for r in runs]),
            np.concatenate([r.y_pred for r in runs]),
        )

    def summary(self) -> list[dict[str, Any]]:
        """One dict per recipe, best first by ``config.metric``: mean / std of every metric,
        the mean difference to ``none`` and its paired-test p-value.

        Computed once per comparison; each call returns a fresh copy, free to modify.
        """
        return copy.deepcopy(self._summary)

    @cached_property
    def _summary(self) -> list[dict[str, Any]]:
        reference = self.values("none", self.config.metric)
        rows = []
        for recipe in self.recipes:
            row: dict[str, Any] = {"recipe": recipe.name, "summary": recipe.summary}
            for metric in self.metrics:
                v = self.values(recipe.name, metric)
                row[metric] = {"mean": _nanmean(v), "std": _nanstd(v)}
            mine = self.values(recipe.name, self.config.metric)
            if recipe.name == "none":
                row["delta"], row["p_value"] = 0.0, None
            else:
                row["delta"] = _nanmean(mine - reference)
                row["p_value"] = paired_test(mine, reference, test_train_ratio=self.ratio)
            row["seconds"] = self.recipe_seconds.get(recipe.name, 0.0)
            rows.append(row)
        key = self.config.metric
        rows.sort(key=lambda r: -r[key]["mean"] if np.isfinite(r[key]["mean"]) else np.inf)
        return rows

    @property
    def ratio(self) -> float:
        train, test = self.sizes
        return test / train if train else 0.0

    @property
    def best(self) -> str:
        return self._summary[0]["recipe"]


def _nanmean(v: np.ndarray) -> float:
    v = np.asarray(v, dtype=float)
    return float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")


def _nanstd(v: np.ndarray) -> float:
    v = np.asarray(v, dtype=float)
    return float(np.nanstd(v, ddof=1)) if np.isfinite(v).sum() > 1 else 0.0


def paired_test(a: Sequence[float], b: Sequence[float], *, test_train_ratio: float) -> float:
    """Two-sided p-value of the Nadeau-Bengio corrected paired t-test of ``a - b``.

    ``test_train_ratio = 0`` gives the ordinary paired t-test. Returns 1.0 when every
    difference is 0, and ``nan`` for fewer than two pairs.
    """
    from scipy import stats

    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    d = d[np.isfinite(d)]
    n = len(d)
    if n < 2:
        return float("nan")
    mean, var = d.mean(), d.var(ddof=1)
    if var == 0:
        return 1.0 if mean == 0 else 0.0
    t = mean / np.sqrt((1.0 / n + test_train_ratio) * var)
    return float(2 * stats.t.sf(abs(t), df=n - 1))


def compare(
    table: Table,
    recipes: Sequence[Recipe],
    *,
    config: CompareConfig | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> Comparison:
    """Run every recipe on the same folds of ``table``; see the module docstring.

    ``none``, the reference of the paired tests, is added first when missing; a recipe
    named twice runs once.
    """
    config = config or CompareConfig()
    unique = {r.name: r for r in recipes}
    recipes = [RECIPES["none"], *unique.values()] if "none" not in unique else list(unique.values())
    num_classes = table.num_classes
    config.check(num_classes=num_classes)
    for recipe in recipes:
        recipe.check(num_classes=num_classes, name=table.name)
    started = time.perf_counter()

    splits = [
        prepare_fold(table, train, test, seed=seed, fold=fold, config=config)
        for seed in range(config.seeds)
        for fold, (train, test) in enumerate(table.folds(config.folds, seed=seed))
    ]

    # The class rarest where the models train (for digits-lt the tail of its long-tailed
    # training sets, not of the balanced whole table): the positive class of binary metrics.
    train_counts = np.mean([np.bincount(s.y_train, minlength=num_classes) for s in splits], 0)
    minority = int(np.argmin(train_counts))

    runs: list[RunResult] = []
    trained: list[dict] = [{} for _ in splits]  # per fold: the models by training key
    recipe_seconds: dict[str, float] = {}
    for r_index, recipe in enumerate(recipes):
        recipe_start = time.perf_counter()
        for s_index, split in enumerate(splits):
            state = Progress(recipe.name, r_index, len(recipes), s_index, len(splits), 0,
                             config.epochs)  # fmt: skip
            runs.append(
                run_recipe(
                    recipe,
                    split,
                    trained[s_index],
                    config=config,
                    num_classes=num_classes,
                    minority=minority,
                    progress=progress,
                    state=state,
                )  # fmt: skip
            )
        recipe_seconds[recipe.name] = time.perf_counter() - recipe_start
    mean_train = float(np.mean([len(s.y) + len(s.y_val) for s in splits]))
    mean_test = float(np.mean([len(s.y_test) for s in splits]))
    return Comparison(
        table=table,
        recipes=list(recipes),
        config=config,
        runs=runs,
        train_counts=train_counts,
        test_counts=np.mean([np.bincount(s.y_test, minlength=num_classes) for s in splits], 0),
        minority=minority,
        seconds=time.perf_counter() - started,
        sizes=(mean_train, mean_test),
        recipe_seconds=recipe_seconds,
    )
