"""A trained recipe as a deployable model: train on a table, save, load, predict.

A model directory holds two files:

- ``model.pt``: the MLP's ``state_dict`` (tensors only), written by ``torch.save`` and read
  back with ``torch.load(..., weights_only=True)``, so loading never unpickles arbitrary
  objects;
- ``model.json``: everything else as plain JSON: the format version, the recipe, the
  target column, the class labels in index order, the architecture, the preprocessing
  (:class:`~underdog.data.Preprocessor`), the post-hoc rule
  (:class:`~underdog.adjust.PostHoc`) and training facts (class counts, best epoch).
"""

from __future__ import annotations

import io
import json
import os
import pickle
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ._io import write_files_atomically
from ._validation import check_int
from .adjust import PostHoc
from .data.tables import Preprocessor, Table
from .exceptions import DataError
from .folds import CompareConfig, fit_posthoc, prepare_fold, train_recipe
from .recipes import Recipe
from .train import mlp, predict_logits

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
        the target, are ignored): the original class labels and ``(N, C)`` probabilities."""
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
            DataError: a missing directory or file, or a file that is not an underdog model.
        """
        meta_path = os.path.join(directory, "model.json")
        weights_path = os.path.join(directory, "model.pt")
        for path in (meta_path, weights_path):
            if not os.path.isfile(path):
                raise DataError(f"{os.fspath(directory)} is not a model directory: no {path}")
        try:
            with open(meta_path, encoding="utf-8") as handle:
                meta = json.load(handle)
            if meta.get("format") != "underdog-model":
                raise DataError(f"{meta_path} is not an underdog model description")
            if meta.get("version") != FORMAT_VERSION:
                raise DataError(
                    f"{meta_path} has model format version {meta.get('version')}; this "
                    f"underdog reads version {FORMAT_VERSION}"
                )
            arch = meta["architecture"]
            module = mlp(
                arch["in_features"],
                arch["num_classes"],
                hidden=tuple(arch["hidden"]),
                dropout=arch["dropout"],
            )
            state = torch.load(weights_path, map_location="cpu", weights_only=True)
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
        except (KeyError, TypeError, ValueError, RuntimeError, pickle.UnpicklingError) as exc:
            if isinstance(exc, DataError):
                raise
            detail = f"no {exc.args[0]!r} entry" if isinstance(exc, KeyError) else exc
            raise DataError(f"cannot read the model in {os.fspath(directory)}: {detail}") from exc


def train_model(
    table: Table, recipe: Recipe, *, config: CompareConfig | None = None, seed: int = 0
) -> TrainedModel:
    """Train ``recipe`` on all rows of ``table`` (its ``training_rows`` when it has them: the
    long-tailed set of ``digits-lt``); a validation split is carved for early stopping and
    post-hoc tuning, as in one fold of :func:`~underdog.compare.compare`."""
    seed = check_int(seed, name="seed", owner="train_model", low=0)
    config = config or CompareConfig()
    config.check(num_classes=table.num_classes)
    recipe.check(num_classes=table.num_classes, name=table.name)
    rows = np.arange(len(table.labels))
    if table.training_rows is not None:
        rows = table.training_rows(seed)  # digits-lt: its long-tailed training set
    # One "fold" whose training part is every row and whose test part is empty; its
    # validation split and model are seeded with ``seed`` (seed * 1000 + fold).
    fold = prepare_fold(table, rows, rows[:0], seed=0, fold=seed, config=config)
    result = train_recipe(
        recipe,
        fold.x,
        fold.y,
        x_val=fold.x_val,
        y_val=fold.y_val,
        counts=fold.counts,
        num_classes=table.num_classes,
        config=config,
        seed=fold.model_seed,
    )
    rule = fit_posthoc(recipe, result.model, fold, config=config)
    counts, val_rows, pre = fold.counts, len(fold.y_val), fold.preprocessor
    return TrainedModel(
        module=result.model,
        preprocessor=pre,
        classes=table.classes,
        target=table.target,
        recipe=recipe.name,
        posthoc=rule,
        hidden=tuple(config.hidden),
        dropout=config.dropout,
        info={
            "rows": len(rows),
            "counts": counts.tolist(),
            "validation_rows": val_rows,
            "best_epoch": result.best_epoch,
            "epochs_run": result.epochs_run,
            "seed": seed,
            "metric": config.metric,
        },
    )
