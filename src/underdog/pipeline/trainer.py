"""Training one recipe on one fold: the one function ``compare`` and ``train`` share.

:func:`train_recipe` trains the MLP of a :class:`CompareConfig` with the loss, sampler and
schedule of the recipe whose model the recipe uses (its ``base``, when it has one: post-hoc
recipes use the model of ``none``), with early stopping on :func:`validation_score`; a
recipe of its own network (``balanced-bag``, ``balanced-bag-forest``) trains it with its own
procedure on the whole training part instead. :func:`fit_posthoc` tunes the recipe's
post-hoc decision rule on the fold's validation split.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

import numpy as np

from ..posthoc import PostHoc, tune_posthoc
from ..samplers import ClassBalancedSampler
from ..training import TrainEvent, TrainResult, fit, predict_logits
from ..training._tensors import module_device
from ..training.ensembles import BalancedBaggedMLP, fit_balanced_bag
from ..training.forests import BagForestBlend, fit_balanced_forest
from .config import CompareConfig
from .factories import build_model, load_factory, recipe_model_arguments
from .folds import Fold
from .recipes import Recipe

__all__ = [
    "fit_posthoc",
    "model_arguments",
    "train_own_network",
    "train_recipe",
    "validation_score",
]


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
    with ``fold.model_seed``. A recipe of its own network is trained by
    :func:`train_own_network`.
    """
    trainer = recipe.trainer
    if trainer.model is not None:
        return train_own_network(
            trainer, fold, config=config, num_classes=num_classes, callbacks=callbacks
        )
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


def train_own_network(
    recipe: Recipe,
    fold: Fold,
    *,
    config: CompareConfig,
    num_classes: int,
    callbacks: Sequence[Callable[[TrainEvent], None]] = (),
) -> TrainResult:
    """Train the network of a recipe with a ``model`` of its own on ``fold``.

    ``balanced-bag``: :func:`~underdog.training.ensembles.fit_balanced_bag` on the fold's
    whole training part (rows and validation split: a fixed budget, no early stopping),
    seeded with ``fold.model_seed``, with the configuration's threads and device (its other
    training settings are the MLP's, not the bag's). ``balanced-bag-forest``: the same bag
    blended with :func:`~underdog.training.forests.fit_balanced_forest` on the same rows.
    ``callbacks`` get every step as an epoch.
    """
    seed = fold.model_seed
    result = fit_balanced_bag(
        fold.x_train, fold.y_train, num_classes=num_classes, seed=seed, callbacks=callbacks,
        num_threads=config.num_threads, device=config.device,
    )  # fmt: skip
    if recipe.model == "balanced-bag-forest":
        forest = fit_balanced_forest(fold.x_train, fold.y_train, num_classes=num_classes,
                                     seed=seed)  # fmt: skip
        bag = cast(BalancedBaggedMLP, result.model)
        blend = BagForestBlend(bag, forest.to(module_device(bag))).eval()
        result = TrainResult(blend, result.best_epoch, result.epochs_run, result.history)
    return result


def model_arguments(
    fold: Fold, *, config: CompareConfig, num_classes: int, model: Any = None
) -> dict[str, Any]:
    """The keyword arguments of the model factory for ``fold``.

    See :mod:`underdog.pipeline.factories`: the width of a row, the shape of a sample, the
    classes, and the hidden sizes, dropout and seed of the training; for ``model``, a
    trained network of a recipe's own, its sizes (its factory's other arguments).
    """
    arguments = {
        "num_features": fold.num_features,
        "input_shape": fold.input_shape,
        "num_classes": num_classes,
        "hidden": tuple(config.hidden),
        "dropout": config.plan(len(fold.y)).dropout,
        "seed": fold.model_seed,
    }
    if model is not None:
        arguments.update(recipe_model_arguments(model))
    return arguments


def fit_posthoc(recipe: Recipe, model: Any, fold: Fold, *, config: CompareConfig) -> PostHoc:
    """``recipe``'s post-hoc decision rule, tuned on the fold's validation split.

    The validation logits are computed only for a rule tuned on them (``threshold``).
    """
    tuned = recipe.posthoc not in ("none", "prior-correction")
    return tune_posthoc(
        recipe.posthoc,
        predict_logits(model, fold.x_val) if tuned else None,
        fold.y_val,
        counts=fold.counts.numpy(),
        metric=config.metric,
    )
