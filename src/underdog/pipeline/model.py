"""A trained recipe as a deployable model: train on a table, save, load, predict.

A model directory (:mod:`underdog.pipeline._model_files`) holds two files, written as one
unit:

- ``model.pt``: the model's ``state_dict`` (tensors only), written by ``torch.save`` and
  read back with ``torch.load(..., weights_only=True)``, so loading never unpickles
  arbitrary objects;
- ``model.json``: everything else as plain JSON: the format version, the recipe, the
  target column, the class labels in index order, the model factory and its arguments,
  the preprocessing (:class:`~underdog.data.Preprocessor`; none for a model of a
  dataset's samples), the post-hoc rule (:class:`~underdog.posthoc.PostHoc`), training
  facts (class counts, best epoch) and the SHA-256 of ``model.pt``.

A model built by a user's factory (``--model MODULE:FUNCTION``) loads only when the same
factory is named again (:meth:`TrainedModel.load`'s ``model``): underdog never imports
code named only inside a model directory.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from .._validation import check_int
from ..data import Preprocessor, Table
from ..exceptions import DataError, InvalidParameterError
from ..posthoc import PostHoc
from ..training import TrainEvent, predict_logits
from ._model_files import FORMAT_VERSION, read_description, read_weights, write_model
from .config import CompareConfig
from .factories import BUILTIN_MODELS, RECIPE_MODELS, Factory, build_model, load_factory
from .folds import prepare_training_split
from .recipes import Recipe
from .trainer import fit_posthoc, model_arguments, train_recipe

__all__ = ["FORMAT_VERSION", "TrainedModel", "train_model"]


@dataclass
class TrainedModel:
    """A trained model with its preprocessing, label mapping and post-hoc rule.

    Attributes:
        module: the network, in eval mode.
        classes: the original class labels, index ``c`` for class ``c``.
        target: the name of the target column.
        recipe: the recipe that trained it.
        posthoc: the decision rule.
        factory: the model factory's name (``"mlp"``, ``"cnn"`` or ``MODULE:FUNCTION``).
        arguments: the keyword arguments the factory was called with.
        preprocessor: the preprocessing of table rows; None for a dataset's samples.
        data: the data factory it was trained on, when it was (``--data``).
        info: training facts (rows, counts, best epoch, seed, metric).
    """

    module: nn.Module
    classes: tuple[Any, ...]
    target: str
    recipe: str
    posthoc: PostHoc
    factory: str = "mlp"
    arguments: dict[str, Any] = field(default_factory=dict)
    preprocessor: Preprocessor | None = None
    data: str | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def hidden(self) -> tuple[int, ...]:
        """The hidden layer sizes the factory was given."""
        return tuple(self.arguments.get("hidden", ()))

    @property
    def dropout(self) -> float:
        """The dropout the factory was given."""
        return float(self.arguments.get("dropout", 0.0))

    def predict(self, features: Any) -> tuple[list[Any], np.ndarray]:
        """``(labels, proba)``: the original class labels and ``(N, C)`` probabilities.

        ``features`` is a ``DataFrame`` of feature columns for a model of a table (extra
        columns, such as the target, are ignored), or a ``Dataset`` / ``DataLoader`` of
        samples for a model of a dataset.

        Raises:
            DataError: data of the other kind, or probabilities that are not finite.
        """
        if self.preprocessor is None:
            if isinstance(features, (torch.utils.data.Dataset, torch.utils.data.DataLoader)):
                logits = predict_logits(self.module, features)
            else:
                raise DataError(
                    "The 'features' parameter of TrainedModel.predict must be a Dataset of "
                    f"samples for a model trained on one. Got {type(features).__name__} instead."
                )
        else:
            logits = predict_logits(self.module, self.preprocessor.transform(features))
        proba, y_pred = self.posthoc.apply(logits)
        if not np.isfinite(proba).all():
            raise DataError(
                "The predicted probabilities must be finite. Got values that are not; the "
                "model's weights or its preprocessing are broken."
            )
        return [self.classes[i] for i in y_pred], proba

    def save(self, directory: str | os.PathLike[str]) -> None:
        """Write the model into ``directory``, replacing the directory as one unit.

        The directory holds ``model.pt`` and ``model.json`` (see
        :mod:`underdog.pipeline._model_files`); :meth:`load` reads it back.

        Args:
            directory: the model directory, created or replaced.
        """
        meta = {
            "recipe": self.recipe,
            "target": self.target,
            "classes": list(self.classes),
            "model": {"factory": self.factory, "arguments": _jsonable(self.arguments)},
            "data": self.data,
            "preprocessing": None if self.preprocessor is None else self.preprocessor.to_dict(),
            "posthoc": self.posthoc.to_dict(),
            "training": self.info,
        }
        write_model(directory, self.module, meta)

    @classmethod
    def load(cls, directory: str | os.PathLike[str], *, model: str | None = None) -> TrainedModel:
        """Read a model directory written by :meth:`save`.

        Args:
            directory: the model directory.
            model: the model factory the model was trained with, when it is not a built-in
                one (``--model MODULE:FUNCTION``): it must be the name ``model.json``
                records; that name alone is never imported.

        Raises:
            DataError: a missing directory or file, a ``model.json`` that is not a valid
                description (see :mod:`underdog.pipeline._model_schema`), a ``model.pt``
                that is not the file it describes, or weights that do not fit the model.
            InvalidParameterError: ``model`` missing or another factory than the recorded one.
        """
        meta, weights_path = read_description(directory)
        factory = _factory_for(meta["model"]["factory"], model, directory)
        arguments = meta["model"]["arguments"]
        state = read_weights(weights_path, _shapes(factory, arguments))
        module = _build(factory, arguments)
        module.load_state_dict(state)
        module.eval()
        pre = meta["preprocessing"]
        return cls(
            module=module, classes=tuple(meta["classes"]), target=meta["target"],
            recipe=meta["recipe"], posthoc=PostHoc.from_dict(meta["posthoc"]),
            factory=factory.spec, arguments=dict(arguments), data=meta.get("data"),
            preprocessor=None if pre is None else Preprocessor.from_dict(pre),
            info=meta.get("training", {}),
        )  # fmt: skip


def _jsonable(arguments: dict[str, Any]) -> dict[str, Any]:
    """The factory's arguments as JSON values (tuples become lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in arguments.items()}


def _shapes(factory: Factory, arguments: dict[str, Any]) -> nn.Module:
    """The model built on the meta device (shapes, no memory), to check the weights against.

    The weights are checked before anything is allocated: the sizes in model.json are
    bounded by the schema only, those in model.pt by the file's size. A factory that cannot
    run on the meta device (one that computes with tensors) is built on the CPU.
    """
    try:
        with torch.device("meta"):
            return _build(factory, arguments)
    except (RuntimeError, NotImplementedError):
        if factory.builtin:
            raise  # the built-in models run on the meta device: a bug
        return _build(factory, arguments)


#: The sizes model.json records for a model of RECIPE_MODELS (checked by its schema).
_SIZES = ("members", "trees", "nodes", "depth")


def _build(factory: Factory, arguments: dict[str, Any]) -> nn.Module:
    return build_model(
        factory, num_features=arguments["num_features"], input_shape=arguments["input_shape"],
        num_classes=arguments["num_classes"], hidden=arguments["hidden"],
        dropout=arguments["dropout"], seed=arguments["seed"], owner="TrainedModel.load",
        sizes={k: arguments[k] for k in _SIZES if k in arguments},
    )  # fmt: skip


def _factory_for(recorded: str, given: str | None, directory: Any) -> Factory:
    """The factory of a saved model: a built-in one by its name, a user's only when named again.

    A user's factory is loaded only when the user gives the recorded name again; a network
    a recipe trains is never named by the user.
    """
    if given in (None, recorded) and recorded in RECIPE_MODELS:
        return Factory(recorded, RECIPE_MODELS[recorded])
    if given is None and recorded in BUILTIN_MODELS:
        return load_factory(recorded, owner="TrainedModel.load")
    if given != recorded:
        raise InvalidParameterError(
            f"The 'model' parameter of TrainedModel.load must be {recorded!r}, the factory "
            f"the model in {os.fspath(directory)} was trained with (underdog does not import "
            f"code named only in a model directory). Got {given!r} instead."
        )
    return load_factory(given, owner="TrainedModel.load")


def train_model(
    table: Table,
    recipe: Recipe,
    *,
    config: CompareConfig | None = None,
    seed: int = 0,
    callbacks: Sequence[Callable[[TrainEvent], None]] = (),
) -> TrainedModel:
    """Train ``recipe`` on all rows of ``table``, as one fold of ``compare`` trains it.

    All rows, or the table's ``training_rows`` when it has them (the long-tailed set of
    ``digits-lt``); a validation split is carved for early stopping and post-hoc tuning. The
    model is trained by :func:`~underdog.pipeline.trainer.train_recipe`, as
    :func:`~underdog.pipeline.runs.compare` trains it: a recipe with a base (such as
    ``threshold``) trains its base's model, and a recipe of its own network
    (``balanced-bag``, ``balanced-bag-forest``) trains it on the rows and the validation
    split together, without early stopping.

    Args:
        table: the table to train on.
        recipe: the recipe to train.
        config: the training settings; ``CompareConfig()`` when None.
        seed: seeds the training rows (when the table chooses them), the validation split
            and the model.
        callbacks: each gets every epoch's :class:`~underdog.training.TrainEvent`.

    Returns:
        The :class:`TrainedModel`, with its post-hoc rule tuned on the validation split.
    """
    seed = check_int(seed, name="seed", owner="train_model", low=0)
    config = config or CompareConfig()
    config.check(num_classes=table.num_classes, owner="train_model")
    recipe.check(num_classes=table.num_classes, name=table.name, rows=table.dataset is None,
                 model=config.model)  # fmt: skip
    rows = np.arange(len(table.labels))
    if table.training_rows is not None:
        rows = table.training_rows(seed)  # digits-lt: its long-tailed training set
    fold = prepare_training_split(table, rows, seed=seed, config=config)
    result = train_recipe(
        recipe, fold, config=config, num_classes=table.num_classes, callbacks=callbacks
    )
    own = recipe.trainer.model  # a network the recipe trains itself, or None
    arguments = model_arguments(fold, config=config, num_classes=table.num_classes,
                                model=result.model if own else None)  # fmt: skip
    return TrainedModel(
        module=result.model,
        classes=table.classes,
        target=table.target,
        recipe=recipe.name,
        posthoc=fit_posthoc(recipe, result.model, fold, config=config),
        factory=own or config.model,
        arguments=arguments,
        preprocessor=fold.preprocessor,
        data=config.data,
        info={
            "rows": len(rows),
            "counts": fold.counts.tolist(),
            "validation_rows": len(fold.y_val),
            "best_epoch": result.best_epoch,
            "epochs_run": result.epochs_run,
            "seed": seed,
            "metric": config.metric,
        },
    )
