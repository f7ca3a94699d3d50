"""What a comparison produced, and its summary with the paired tests.

One :class:`RunResult` per recipe (or baseline), fold and repeat, and the
:class:`Comparison` that summarises them with the paired tests (:func:`paired_test`).

Each recipe's difference to ``none`` is tested with the corrected resampled paired t-test of
Nadeau and Bengio (2003) over the ``folds x seeds`` pairs: with differences ``d_i``,
``t = mean(d) / sqrt((1/n + n_test/n_train) * var(d))`` on ``n - 1`` degrees of freedom. The
correction accounts for overlapping training sets, which make the plain paired t-test
far too optimistic.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..data import Table
from ..metrics import BINARY_METRICS, LABEL_METRICS
from .baselines import Baseline
from .config import CompareConfig
from .recipes import Recipe

__all__ = ["Comparison", "RunResult", "paired_test"]


@dataclass
class RunResult:
    """One recipe (or baseline: ``recipe`` holds its name) on one fold of one seed."""

    recipe: str
    seed: int
    fold: int
    scalars: dict[str, float]
    per_class: dict[str, np.ndarray]
    y_true: np.ndarray
    proba: np.ndarray
    y_pred: np.ndarray
    best_epoch: int
    seconds: float


@dataclass(frozen=True)
class Comparison:
    """Everything a comparison produced; :mod:`underdog.report` renders it.

    Frozen: :meth:`summary` (which runs the paired tests) is computed once, on first use,
    and kept; :func:`dataclasses.replace` gives a new comparison with its own summary.
    ``baselines`` are the scikit-learn models fit beside the recipes (their runs carry
    their names); the summary marks their rows ``"kind": "baseline"``.
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
    baselines: list[Baseline] = field(default_factory=list)

    @property
    def methods(self) -> list[Recipe | Baseline]:
        """The recipes, then the baselines."""
        return [*self.recipes, *self.baselines]

    def kind(self, name: str) -> str:
        """``"baseline"`` for one of the comparison's baselines, else ``"recipe"``."""
        return "baseline" if any(b.name == name for b in self.baselines) else "recipe"

    @property
    def metrics(self) -> tuple[str, ...]:
        """The metrics scored: the label metrics, and the binary ones for two classes."""
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
        """One dict per recipe and baseline, best first by ``config.metric``.

        Each holds its ``kind`` (``"recipe"`` or ``"baseline"``), mean / std of every metric,
        the mean difference to ``none`` and its paired-test p-value.

        Computed once per comparison; each call returns a fresh copy, free to modify.
        """
        return copy.deepcopy(self._summary)

    @cached_property
    def _summary(self) -> list[dict[str, Any]]:
        reference = self.values("none", self.config.metric)
        rows = []
        for recipe in self.methods:
            row: dict[str, Any] = {"recipe": recipe.name, "kind": self.kind(recipe.name),
                                   "summary": recipe.summary}  # fmt: skip
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
        """Test rows per training row of the folds (0 without training rows)."""
        train, test = self.sizes
        return test / train if train else 0.0

    @property
    def best(self) -> str:
        """The name of the best recipe or baseline by the comparison's metric."""
        return self._summary[0]["recipe"]


def _nanmean(v: np.ndarray) -> float:
    v = np.asarray(v, dtype=float)
    return float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")


def _nanstd(v: np.ndarray) -> float:
    v = np.asarray(v, dtype=float)
    return float(np.nanstd(v, ddof=1)) if np.isfinite(v).sum() > 1 else 0.0


def paired_test(a: ArrayLike, b: ArrayLike, *, test_train_ratio: float) -> float:
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
