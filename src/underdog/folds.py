"""One fold of a comparison: settings, preparation, training and scoring.

:func:`prepare_fold` builds a :class:`Fold` from train / test indices of a table (a
validation split carved per class from the training part, the
:class:`~underdog.data.Preprocessor` fit on the training part only, the class counts of the
rows the model trains on); :func:`run_fold` trains every recipe on it
(:func:`train_recipe`: an MLP with :func:`~underdog.train.fit`, early stopping on
:func:`validation_score`) and scores it on the test part with
:func:`~underdog.metrics.evaluate`. :func:`~underdog.compare.compare` runs them over every
fold and seed; benchmarks call them directly, one process per fold.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ._validation import check_device, check_int, check_int_sequence, check_option, check_real
from .adjust import tune_posthoc
from .counts import class_counts
from .data.tables import Preprocessor, Table
from .metrics import BINARY_METRICS, LABEL_METRICS, evaluate
from .networks import mlp, predict_logits
from .recipes import Recipe
from .train import fit, validation_split

__all__ = [
    "CompareConfig",
    "Fold",
    "Progress",
    "fit_posthoc",
    "RunResult",
    "prepare_fold",
    "run_fold",
    "run_recipe",
    "train_recipe",
    "validation_score",
]


@dataclass(frozen=True)
class CompareConfig:
    """Settings of a comparison (the CLI's options, with the same defaults).

    The training options (``epochs``, ``batch_size``, ``lr``, ``weight_decay``,
    ``patience``, ``eval_batch_size``, ``num_threads``, ``device``) are passed to
    :func:`~underdog.train.fit`; ``eval_batch_size=None`` evaluates the validation split in
    batches of ``batch_size`` rows, ``num_threads=None`` leaves PyTorch's thread setting
    alone and ``device=None`` trains on the CPU. ``hidden`` is the MLP's hidden layer sizes
    (empty: a linear model).
    """

    folds: int = 5
    seeds: int = 1
    metric: str = "balanced_accuracy"
    hidden: tuple[int, ...] = (128,)
    dropout: float = 0.1
    lr: float = 1e-3
    weight_decay: float = 1e-4
    epochs: int = 200
    batch_size: int = 64
    patience: int = 20
    val_fraction: float = 0.2
    num_threads: int | None = 1
    device: str | torch.device | None = None
    eval_batch_size: int | None = None

    def check(self, *, num_classes: int) -> None:
        owner = "compare"
        check_int(self.folds, name="folds", owner=owner, low=2)
        check_int(self.seeds, name="seeds", owner=owner, low=1)
        metrics = LABEL_METRICS + (BINARY_METRICS if num_classes == 2 else ())
        check_option(self.metric, name="metric", owner=owner, options=metrics)
        check_int(self.epochs, name="epochs", owner=owner, low=1)
        check_int(self.batch_size, name="batch_size", owner=owner, low=1)
        if self.eval_batch_size is not None:
            check_int(self.eval_batch_size, name="eval_batch_size", owner=owner, low=1)
        check_int(self.patience, name="patience", owner=owner, low=1)
        check_real(self.val_fraction, name="val_fraction", owner=owner, low=0, high=0.9)
        check_real(self.lr, name="lr", owner=owner, low=0, closed="neither")
        check_real(self.weight_decay, name="weight_decay", owner=owner, low=0)
        check_real(self.dropout, name="dropout", owner=owner, low=0, high=1, closed="left")
        check_int_sequence(self.hidden, name="hidden", owner=owner, low=1)
        if self.num_threads is not None:
            check_int(self.num_threads, name="num_threads", owner=owner, low=1)
        check_device(self.device, name="device", owner=owner)


@dataclass(frozen=True)
class Progress:
    """A progress report: recipe ``recipe_index`` of ``recipes``, run ``run`` of ``runs``
    (seeds x folds), epoch ``epoch`` of ``epochs``; ``epoch == 0`` when a run starts."""

    recipe: str
    recipe_index: int
    recipes: int
    run: int
    runs: int
    epoch: int
    epochs: int


@dataclass
class RunResult:
    """One recipe on one fold of one seed."""

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


@dataclass
class Fold:
    """One fold of one seed, prepared as :func:`compare` trains on it.

    Attributes:
        seed, fold: which repetition and which fold.
        x, y: the rows the models train on (the training part less its validation split),
            preprocessed.
        x_val, y_val: the validation split of the training part (early stopping, post-hoc
            tuning).
        x_test, y_test: the test part.
        counts: int64 class counts of ``y`` (what the recipes' losses are built from).
        preprocessor: the :class:`~underdog.data.Preprocessor` fit on the training part
            (``x`` and ``x_val`` together).
        test_index: the test rows' indices into the table.
    """

    seed: int
    fold: int
    x: np.ndarray
    y: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    counts: Any
    preprocessor: Preprocessor
    test_index: np.ndarray

    @property
    def x_train(self) -> np.ndarray:
        """The whole training part (``x`` then ``x_val``), for estimators without a
        validation split."""
        return np.concatenate([self.x, self.x_val])

    @property
    def y_train(self) -> np.ndarray:
        return np.concatenate([self.y, self.y_val])

    @property
    def model_seed(self) -> int:
        """The seed of model initialisation, shuffling, sampling and dropout."""
        return self.seed * 1000 + self.fold


def prepare_fold(
    table: Table,
    train: np.ndarray,
    test: np.ndarray,
    *,
    seed: int,
    fold: int,
    config: CompareConfig | None = None,
) -> Fold:
    """Carve the validation split from ``train``, fit the preprocessing on ``train`` only
    and transform the three parts, as :func:`compare` does for fold ``fold`` of ``seed``.

    ``train`` and ``test`` are row indices, normally one pair of
    ``table.folds(k, seed=seed)``.
    """
    config = config or CompareConfig()
    fit_pos, val_pos = validation_split(
        table.labels[train], fraction=config.val_fraction, seed=seed * 1000 + fold
    )
    pre = Preprocessor.fit(table.features.iloc[train])
    x_train = pre.transform(table.features.iloc[train])
    y_train = table.labels[train]
    return Fold(
        seed=seed,
        fold=fold,
        x=x_train[fit_pos],
        y=y_train[fit_pos],
        x_val=x_train[val_pos],
        y_val=y_train[val_pos],
        x_test=pre.transform(table.features.iloc[test]),
        y_test=table.labels[test],
        counts=class_counts(y_train[fit_pos], num_classes=table.num_classes, distributed=False),
        preprocessor=pre,
        test_index=np.asarray(test),
    )


def run_fold(
    recipes: Sequence[Recipe],
    fold: Fold,
    *,
    num_classes: int,
    minority: int,
    config: CompareConfig | None = None,
) -> list[RunResult]:
    """Train and score each recipe on one prepared fold, as :func:`compare` does.

    Recipes sharing a trained model (post-hoc rules on ``none``) train it once; ``minority``
    is the positive class of the binary metrics (:func:`compare` uses the rarest class of
    the whole table). Returns one :class:`RunResult` per recipe, in order.
    """
    config = config or CompareConfig()
    trained: dict[str, tuple[Any, int, float]] = {}
    return [
        run_recipe(
            recipe, fold, trained, config=config, num_classes=num_classes, minority=minority
        )  # fmt: skip
        for recipe in recipes
    ]


def run_recipe(
    recipe: Recipe,
    fold: Fold,
    trained: dict[str, tuple[Any, int, float]],
    *,
    config: CompareConfig,
    num_classes: int,
    minority: int,
    progress: Callable[[Progress], None] | None = None,
    state: Progress | None = None,
) -> RunResult:
    """Train (unless ``trained``, the fold's cache by training key, has the model) and score
    one recipe on one fold; recipes that reuse another's model take it from the cache."""
    start = time.perf_counter()
    if progress is not None and state is not None:
        progress(state)  # also for a recipe that reuses a trained model
    if recipe.training_key not in trained:
        trained[recipe.training_key] = _train_one(
            recipe.trainer, fold, config, num_classes, progress, state
        )
    model, best_epoch, train_seconds = trained[recipe.training_key]
    seconds = time.perf_counter() - start + (train_seconds if recipe.base else 0)
    return _score(
        recipe, model, fold, config=config, minority=minority, best_epoch=best_epoch,
        seconds=seconds,
    )  # fmt: skip


def fit_posthoc(recipe: Recipe, model: Any, fold: Fold, *, config: CompareConfig) -> Any:
    """``recipe``'s post-hoc decision rule, tuned on the fold's validation split."""
    return tune_posthoc(
        recipe.posthoc,
        predict_logits(model, fold.x_val),
        fold.y_val,
        counts=fold.counts.numpy(),
        metric=config.metric,
    )


def _score(
    recipe: Recipe,
    model: Any,
    fold: Fold,
    *,
    config: CompareConfig,
    minority: int,
    best_epoch: int,
    seconds: float,
) -> RunResult:
    """Fit ``recipe``'s post-hoc rule on the validation split and score the test part."""
    rule = fit_posthoc(recipe, model, fold, config=config)
    proba, y_pred = rule.apply(predict_logits(model, fold.x_test))
    scalars, per_class = evaluate(fold.y_test, proba, y_pred=y_pred, minority=minority)
    return RunResult(
        recipe=recipe.name,
        seed=fold.seed,
        fold=fold.fold,
        scalars=scalars,
        per_class=per_class,
        y_true=fold.y_test,
        proba=proba.astype(np.float32),
        y_pred=y_pred,
        best_epoch=best_epoch,
        seconds=seconds,
    )


def validation_score(logits: np.ndarray, y: np.ndarray) -> float:
    """Validation balanced accuracy, ties broken by the lower cross-entropy."""
    from sklearn.metrics import balanced_accuracy_score

    z = logits - logits.max(1, keepdims=True)
    ce = float(np.mean(np.log(np.exp(z).sum(1)) - z[np.arange(len(y)), y]))
    return float(balanced_accuracy_score(y, logits.argmax(1))) - 1e-4 * ce


def train_recipe(
    recipe: Recipe,
    x: np.ndarray,
    y: np.ndarray,
    *,
    x_val: np.ndarray,
    y_val: np.ndarray,
    counts: Any,
    num_classes: int,
    config: CompareConfig,
    seed: int,
    callbacks: Sequence[Callable[[Any], None]] = (),
) -> Any:
    """Train the MLP of ``config`` with ``recipe`` (loss from ``counts``, sampler, epoch
    hook) and early stopping on :func:`validation_score`; returns the
    :class:`~underdog.train.TrainResult`."""
    model = mlp(x.shape[1], num_classes, hidden=config.hidden, dropout=config.dropout, seed=seed)
    loss = recipe.loss(counts)
    hook = None
    if recipe.on_epoch_start is not None:
        on_epoch_start = recipe.on_epoch_start

        def hook(epoch: int, epochs: int) -> None:
            on_epoch_start(loss, epoch, epochs)

    return fit(
        model,
        x,
        y,
        loss=loss,
        sampler=recipe.make_sampler(y, seed=seed),
        x_val=x_val,
        y_val=y_val,
        epochs=config.epochs,
        batch_size=config.batch_size,
        eval_batch_size=config.eval_batch_size,
        lr=config.lr,
        weight_decay=config.weight_decay,
        patience=config.patience,
        monitor=validation_score,
        on_epoch_start=hook,
        callbacks=callbacks,
        seed=seed,
        num_threads=config.num_threads,
        device=config.device,
    )


def _train_one(
    recipe: Recipe,
    split: Fold,
    config: CompareConfig,
    num_classes: int,
    progress: Callable[[Progress], None] | None,
    state: Progress | None,
) -> tuple[Any, int, float]:
    start = time.perf_counter()
    callbacks = []
    if progress is not None and state is not None:

        def report(event: Any) -> None:
            progress(
                Progress(
                    state.recipe, state.recipe_index, state.recipes, state.run, state.runs,
                    event.epoch, event.epochs,
                )
            )  # fmt: skip

        callbacks.append(report)
    result = train_recipe(
        recipe,
        split.x,
        split.y,
        x_val=split.x_val,
        y_val=split.y_val,
        counts=split.counts,
        num_classes=num_classes,
        config=config,
        seed=split.model_seed,
        callbacks=callbacks,
    )
    return result.model, result.best_epoch, time.perf_counter() - start
