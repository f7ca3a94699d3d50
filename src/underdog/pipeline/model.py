"""A trained recipe as a deployable model: train on a table, save, load, predict.

A model directory holds two files:

- ``model.pt``: the MLP's ``state_dict`` (tensors only), written by ``torch.save`` and read
  back with ``torch.load(..., weights_only=True)``, so loading never unpickles arbitrary
  objects;
- ``model.json``: everything else as plain JSON: the format version, the recipe, the
  target column, the class labels in index order, the architecture, the preprocessing
  (:class:`~underdog.data.Preprocessor`), the post-hoc rule
  (:class:`~underdog.posthoc.PostHoc`) and training facts (class counts, best epoch).
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from .._io import write_files_atomically
from .._validation import check_int
from ..data import Preprocessor, Table
from ..exceptions import DataError
from ..posthoc import PostHoc
from ..training import mlp, predict_logits
from ._model_schema import check_description
from .config import CompareConfig
from .folds import prepare_training_split
from .recipes import Recipe
from .trainer import fit_posthoc, train_recipe

__all__ = ["FORMAT_VERSION", "TrainedModel", "train_model"]

FORMAT_VERSION = 1


@dataclass
class TrainedModel:
    """An MLP with its preprocessing, label mapping and post-hoc rule."""

    module: nn.Module
    preprocessor: Preprocessor
    classes: tuple
    target: str
    recipe: str
    posthoc: PostHoc
    hidden: tuple[int, ...]
    dropout: float
    info: dict = field(default_factory=dict)

    def predict(self, features: Any) -> tuple[list, np.ndarray]:
        """``(labels, proba)`` for a ``DataFrame`` of feature columns (extra columns, such as
        the target, are ignored): the original class labels and ``(N, C)`` probabilities.
        """
        x = self.preprocessor.transform(features)
        proba, y_pred = self.posthoc.apply(predict_logits(self.module, x))
        return [self.classes[i] for i in y_pred], proba

    def save(self, directory: str | os.PathLike) -> None:
        """Write ``model.pt`` and ``model.json`` atomically into ``directory``."""
        buffer = io.BytesIO()
        torch.save(self.module.state_dict(), buffer)
        meta = {
            "format": "underdog-model",
            "version": FORMAT_VERSION,
            "recipe": self.recipe,
            "target": self.target,
            "classes": list(self.classes),
            "architecture": {
                "kind": "mlp",
                "in_features": len(self.preprocessor.feature_names),
                "num_classes": len(self.classes),
                "hidden": list(self.hidden),
                "dropout": self.dropout,
            },
            "preprocessing": self.preprocessor.to_dict(),
            "posthoc": self.posthoc.to_dict(),
            "training": self.info,
        }
        text = json.dumps(meta, indent=2, ensure_ascii=False) + "\n"
        write_files_atomically(
            directory, {"model.pt": buffer.getvalue(), "model.json": text.encode()}
        )

    @classmethod
    def load(cls, directory: str | os.PathLike) -> TrainedModel:
        """Read a model directory written by :meth:`save`.

        Raises:
            DataError: a missing directory or file, a ``model.json`` that is not an underdog
                model description (not JSON, another format or version, or an entry that is
                missing or of the wrong type, range or length: see
                :mod:`underdog.pipeline._model_schema`), or a ``model.pt`` that is not a valid
                model file (corrupt, truncated, or weights that do not fit the architecture in
                ``model.json``).
        """
        meta_path = os.path.join(directory, "model.json")
        weights_path = os.path.join(directory, "model.pt")
        for path in (meta_path, weights_path):
            if not os.path.isfile(path):
                raise DataError(
                    f"The directory {os.fspath(directory)} is not a model directory: no {path}."
                )
        try:
            with open(meta_path, encoding="utf-8") as handle:
                meta = json.load(handle)
        # Only the file's content: not JSON or UTF-8 (JSONDecodeError, UnicodeDecodeError),
        # an int of more digits than Python converts (ValueError), nested too deep.
        except (ValueError, RecursionError) as exc:
            raise DataError(
                f"The file {meta_path} is not an underdog model description: {exc}."
            ) from exc
        # Checked entry by entry first, so that the constructors below meet only valid
        # input: an error they raise is a bug in underdog, and keeps its traceback.
        check_description(meta, path=meta_path, version=FORMAT_VERSION)
        arch = meta["architecture"]
        # Built on the meta device (shapes, no memory) until the weights are found to fit:
        # the sizes in model.json are only bounded by MAX_HIDDEN, those in model.pt by the
        # file's size.
        with torch.device("meta"):
            module = mlp(
                arch["in_features"],
                arch["num_classes"],
                hidden=tuple(arch["hidden"]),
                dropout=arch["dropout"],
            )
        state = _read_weights(weights_path, module)
        module.to_empty(device="cpu")
        module.load_state_dict(state)
        module.eval()
        return cls(
            module=module,
            preprocessor=Preprocessor.from_dict(meta["preprocessing"]),
            classes=tuple(meta["classes"]),
            target=meta["target"],
            recipe=meta["recipe"],
            posthoc=PostHoc.from_dict(meta["posthoc"]),
            hidden=tuple(arch["hidden"]),
            dropout=arch["dropout"],
            info=meta.get("training", {}),
        )


def _read_weights(path: str, module: nn.Module) -> dict[str, torch.Tensor]:
    """The state dict in ``path``, checked against ``module``'s (which may be on the meta
    device), so that loading it cannot fail for the file's sake nor allocate more than the
    file holds.

    Raises:
        DataError: ``path`` is not a file ``torch.save`` wrote (corrupt, truncated), or does
            not hold tensors of the names and shapes of ``module``'s state dict, each a
            dense floating-point CPU tensor that stores all of its values.
    """
    where = f"The file {path} is not a valid underdog model file"
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, MemoryError):
        raise  # unreadable or out of memory, not corrupt: reported as such
    except Exception as exc:
        # A damaged file makes torch.load fail with almost any type (RuntimeError from the
        # zip reader, UnpicklingError, EOFError, ValueError, KeyError, ...) and messages of
        # many lines; only this call is covered, and the original stays chained.
        raise DataError(f"{where}: torch.load failed with {type(exc).__name__}.") from exc
    if not isinstance(state, dict):
        raise DataError(f"{where}: it holds a {type(state).__name__}, not a model's weights.")
    expected = module.state_dict()
    missing = [key for key in expected if key not in state]
    unexpected = [str(key) for key in state if key not in expected]
    if missing or unexpected:
        parts = [
            f"{label} {', '.join(keys[:4])}{' ...' if len(keys) > 4 else ''}"
            for label, keys in (("missing", missing), ("unexpected", unexpected))
            if keys
        ]
        raise DataError(
            f"{where}: it does not fit the architecture in model.json: {'; '.join(parts)}."
        )
    for key, tensor in expected.items():
        value = state[key]
        if not isinstance(value, torch.Tensor):
            raise DataError(f"{where}: {key!r} is a {type(value).__name__}, not a tensor.")
        if value.layout != torch.strided:
            layout = str(value.layout).removeprefix("torch.")
            raise DataError(f"{where}: {key!r} is a {layout} tensor, not a dense one.")
        if value.device.type != "cpu":  # map_location does not move meta tensors
            raise DataError(f"{where}: {key!r} is a tensor on {value.device}, not on the CPU.")
        if not value.is_floating_point():
            raise DataError(f"{where}: {key!r} has dtype {value.dtype}, not a floating-point one.")
        if value.shape != tensor.shape:
            raise DataError(
                f"{where}: {key!r} has shape {tuple(value.shape)} where the architecture in "
                f"model.json needs {tuple(tensor.shape)}."
            )
        stored = value.untyped_storage().nbytes() // value.element_size()
        if stored < value.numel():  # a view with stride 0 (expand) or overlapping rows
            values = "value" if stored == 1 else "values"
            raise DataError(
                f"{where}: {key!r} has shape {tuple(value.shape)} but holds only {stored} {values}."
            )
    return state


def train_model(
    table: Table, recipe: Recipe, *, config: CompareConfig | None = None, seed: int = 0
) -> TrainedModel:
    """Train ``recipe`` on all rows of ``table`` (its ``training_rows`` when it has them: the
    long-tailed set of ``digits-lt``); a validation split is carved for early stopping and
    post-hoc tuning, as in one fold of :func:`~underdog.pipeline.runs.compare`. The
    model is trained by :func:`~underdog.pipeline.trainer.train_recipe`, as ``compare``
    trains it: a recipe with a base (such as ``threshold``) trains its base's model.
    """
    seed = check_int(seed, name="seed", owner="train_model", low=0)
    config = config or CompareConfig()
    config.check(num_classes=table.num_classes, owner="train_model")
    recipe.check(num_classes=table.num_classes, name=table.name)
    rows = np.arange(len(table.labels))
    if table.training_rows is not None:
        rows = table.training_rows(seed)  # digits-lt: its long-tailed training set
    fold = prepare_training_split(table, rows, seed=seed, config=config)
    result = train_recipe(recipe, fold, config=config, num_classes=table.num_classes)
    return TrainedModel(
        module=result.model,
        preprocessor=fold.preprocessor,
        classes=table.classes,
        target=table.target,
        recipe=recipe.name,
        posthoc=fit_posthoc(recipe, result.model, fold, config=config),
        hidden=tuple(config.hidden),
        dropout=config.plan(len(fold.y)).dropout,
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
