"""Training one recipe on one fold: the one function ``compare`` and ``train`` share.

:func:`train_recipe` trains the MLP of a :class:`CompareConfig` with the loss, sampler and
schedule of the recipe whose model the recipe uses (its ``base``, when it has one: post-hoc
recipes use the model of ``none``), with early stopping on :func:`validation_score`;
:func:`fit_posthoc` tunes the recipe's post-hoc decision rule on the fold's validation
split.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..posthoc import PostHoc, tune_posthoc
from ..samplers import ClassBalancedSampler
from ..training import TrainEvent, TrainResult, fit, predict_logits
from .config import CompareConfig
from .factories import build_model, load_factory
from .folds import Fold
from .recipes import Recipe

__all__ = ["fit_posthoc", "model_arguments", "train_recipe", "validation_score"]


def validation_score(logits: np.ndarray, y: np.ndarray) -> float:
    """Validation balanced accuracy, ties broken by the lower cross-entropy.

    The balanced accuracy (the mean recall of the classes present in ``y``) is computed
    here with numpy, equal to scikit-learn's ``balanced_accuracy_score`` (tested): it runs
    after every epoch, and importing ``sklearn.metrics`` alone takes over a second.
    """
    z = logits - logits.max(1, keepdims=True)
    ce = float(np.mean(np.log(np.exp(z).sum(1)) - z[np.arange(len(y)), y]))
    classes = int(max(logits.shape[1], y.max() + 1))
    hits = np.bincount(y[logits.argmax(1) == y], minlength=classes)
    present = np.bincount(y, minlength=classes)
    balanced = float(np.mean(hits[present > 0] / present[present > 0]))
    return balanced - 1e-4 * ce


def _epoch_hook(recipe: Recipe, loss: Any, fold: Fold) -> Callable[[int, int], None] | None:
    """``hook(epoch, epochs)`` running the recipe's schedule and its own hook, or None."""
    steps: list[Callable[[int, int], None]] = []
    if recipe.schedule is not None:
        schedule = recipe.schedule(fold.counts)
        steps.append(lambda epoch, epochs: schedule.step(loss, epoch=epoch, epochs=epochs))
    if recipe.on_epoch_start is not None:
        hook = recipe.on_epoch_start
        steps.append(lambda epoch, epochs: hook(loss, epoch, epochs))
    if not steps:
        return None

    def run(epoch: int, epochs: int) -> None:
        for step in steps:
            step(epoch, epochs)

    return run


def train_recipe(
    recipe: Recipe,
    fold: Fold,
    *,
    config: CompareConfig,
    num_classes: int,
    callbacks: Sequence[Callable[[TrainEvent], None]] = (),
    sample_weight: Any = None,
    monitor: Callable[[np.ndarray, np.ndarray], float] | None = None,
) -> TrainResult:
    """Train the model ``recipe`` uses on ``fold``'s training rows.

    The recipe that trains it is ``recipe``'s base when it has one (a post-hoc recipe uses
    the model of ``none``), else ``recipe`` itself: its loss from the fold's class counts,
    its class-balanced sampler and its schedule. The MLP of ``config`` is trained with
    :func:`~underdog.training.loop` and early stopping on :func:`validation_score`, seeded
    with ``fold.model_seed``.
    """
    trainer = recipe.trainer
    seed = fold.model_seed
    plan = config.plan(len(fold.y))
    arguments = model_arguments(fold, config=config, num_classes=num_classes)
    model = build_model(load_factory(config.model), **arguments)
    loss = trainer.loss(fold.counts)
    rows = isinstance(fold.x, np.ndarray)  # else a dataset, whose batches hold the labels
    return fit(
        model,
        fold.x,
        fold.y if rows else None,
        sample_weight=sample_weight,
        loss=loss,
        sampler=ClassBalancedSampler(fold.y, seed=seed) if trainer.sampler else None,
        x_val=fold.x_val,
        y_val=fold.y_val if rows else None,
        epochs=config.epochs,
        batch_size=plan.batch_size,
        eval_batch_size=config.eval_batch_size,
        lr=plan.lr,
        weight_decay=config.weight_decay,
        patience=plan.patience,
        monitor=monitor or validation_score,
        on_epoch_start=_epoch_hook(trainer, loss, fold),
        callbacks=callbacks,
        seed=seed,
        num_threads=config.num_threads,
        device=config.device,
    )


def model_arguments(fold: Fold, *, config: CompareConfig, num_classes: int) -> dict[str, Any]:
    """The keyword arguments of the model factory for ``fold`` (see
    :mod:`underdog.pipeline.factories`): the width of a row, the shape of a sample, the
    classes, and the hidden sizes, dropout and seed of the training.
    """
    return {
        "num_features": fold.num_features,
        "input_shape": fold.input_shape,
        "num_classes": num_classes,
        "hidden": tuple(config.hidden),
        "dropout": config.plan(len(fold.y)).dropout,
        "seed": fold.model_seed,
    }


def fit_posthoc(recipe: Recipe, model: Any, fold: Fold, *, config: CompareConfig) -> PostHoc:
    """``recipe``'s post-hoc decision rule, tuned on the fold's validation split."""
    return tune_posthoc(
        recipe.posthoc,
        predict_logits(model, fold.x_val),
        fold.y_val,
        counts=fold.counts.numpy(),
        metric=config.metric,
    )
