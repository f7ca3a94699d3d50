"""The data of one fold: its validation split, preprocessing and class counts.

:func:`prepare_fold` builds a :class:`Fold` from the train / test indices of a table, as
:func:`~underdog.pipeline.runs.compare` does for fold ``k`` of repeat ``s``: a validation
split carved per class from the training part (:func:`validation_split`), the
:class:`~underdog.data.Preprocessor` fit on the training part only, and the class counts of
the rows the model trains on. :func:`prepare_training_split` does the same for training on
every row (``underdog train``), with no test part.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import torch
from torch.utils.data import ConcatDataset, Subset

from .._validation import check_real
from ..counts import class_counts
from ..data import Preprocessor, Table
from .config import CompareConfig

__all__ = ["Fold", "fold_seed", "prepare_fold", "prepare_training_split", "validation_split"]


def fold_seed(repeat: int, fold: int) -> int:
    """The seed of fold ``fold`` of repeat ``repeat``, for everything random in the fold.

    It seeds the fold's validation split, model initialisation, shuffling, sampling and
    dropout.
    """
    return repeat * 1000 + fold


def validation_split(labels: Any, *, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified ``(train, val)`` positions, ``round(fraction * n_c)`` of each class in val.

    Every class with two or more samples has at least one in val; a class of a single sample
    has none.
    """
    check_real(
        fraction, name="fraction", owner="validation_split", low=0.0, high=1.0, closed="left"
    )
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    train, val = [], []
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        n_val = int(round(fraction * len(members)))
        if fraction > 0 and len(members) >= 2:
            n_val = min(max(n_val, 1), len(members) - 1)
        else:
            n_val = 0
        val.append(members[:n_val])
        train.append(members[n_val:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


@dataclass
class Fold:
    """One fold of one repeat, prepared as :func:`~underdog.pipeline.runs.compare` trains on it.

    Attributes:
        seed, fold: which repetition and which fold.
        x, y: the rows the models train on (the training part less its validation split),
            preprocessed; for a table over a dataset, ``x`` is a ``Subset`` of its samples
            (and so are ``x_val`` and ``x_test``).
        x_val, y_val: the validation split of the training part (early stopping, post-hoc
            tuning).
        x_test, y_test: the test part.
        counts: int64 class counts of ``y`` (what the recipes' losses are built from).
        preprocessor: the :class:`~underdog.data.Preprocessor` fit on the training part
            (``x`` and ``x_val`` together); None for a dataset.
        test_index: the test rows' indices into the table.
        model_seed: the seed of the validation split, model initialisation, shuffling,
            sampling and dropout (:func:`fold_seed` of ``seed`` and ``fold``).
        input_shape: the shape of one sample as the model takes it (a table row: its
            width; digits-lt: ``(1, 8, 8)``; a dataset: its first sample's input).
    """

    seed: int
    fold: int
    x: np.ndarray
    y: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    counts: torch.Tensor
    preprocessor: Preprocessor | None
    test_index: np.ndarray
    model_seed: int = 0
    input_shape: tuple[int, ...] = ()

    @property
    def num_features(self) -> int:
        """The width of a training row (the elements of one sample of a dataset)."""
        if isinstance(self.x, np.ndarray):
            return int(self.x.shape[1])
        return int(np.prod(self.input_shape)) if self.input_shape else 0

    @cached_property
    def x_train(self) -> Any:
        """The whole training part (``x`` then ``x_val``) for estimators without a split.

        A ``ConcatDataset`` for a table over a dataset.
        """
        if isinstance(self.x, np.ndarray):
            return np.concatenate([self.x, self.x_val])
        return ConcatDataset([self.x, self.x_val])

    @cached_property
    def y_train(self) -> np.ndarray:
        """The labels of :attr:`x_train`."""
        return np.concatenate([self.y, self.y_val])


def _prepare(
    table: Table, train: np.ndarray, test: np.ndarray, *, seed: int, config: CompareConfig
) -> dict[str, Any]:
    """The fields of a :class:`Fold` but ``seed`` and ``fold``.

    ``seed`` seeds the validation split and becomes the model seed.
    """
    y_train = table.labels[train]
    fit_pos, val_pos = validation_split(y_train, fraction=config.val_fraction, seed=seed)
    x, x_val, x_test, pre = _inputs(table, train, test, fit_pos, val_pos)
    return {
        "x": x,
        "y": y_train[fit_pos],
        "x_val": x_val,
        "y_val": y_train[val_pos],
        "x_test": x_test,
        "y_test": table.labels[test],
        "counts": class_counts(y_train[fit_pos], num_classes=table.num_classes, distributed=False),
        "preprocessor": pre,
        "test_index": np.asarray(test),
        "model_seed": seed,
        "input_shape": table.input_shape or (int(x.shape[1]),),
    }


def _inputs(
    table: Table, train: np.ndarray, test: np.ndarray, fit_pos: np.ndarray, val_pos: np.ndarray
) -> tuple[Any, Any, Any, Preprocessor | None]:
    """``(x, x_val, x_test, preprocessor)`` of a fold.

    For a table of features: the preprocessed matrices (the preprocessing fit on the
    training part only); for a table over a dataset: subsets of its samples.
    """
    if table.dataset is not None:
        rows = np.asarray(train)
        parts = (rows[fit_pos], rows[val_pos], np.asarray(test))
        x, x_val, x_test = (Subset(table.dataset, part.tolist()) for part in parts)
        return x, x_val, x_test, None
    pre = Preprocessor.fit(table.features.iloc[train])
    x_train = pre.transform(table.features.iloc[train])
    return x_train[fit_pos], x_train[val_pos], pre.transform(table.features.iloc[test]), pre


def prepare_fold(
    table: Table,
    train: np.ndarray,
    test: np.ndarray,
    *,
    seed: int,
    fold: int,
    config: CompareConfig | None = None,
) -> Fold:
    """Prepare fold ``fold`` of repeat ``seed`` as :func:`~underdog.pipeline.runs.compare` does.

    The validation split is carved from ``train``, the preprocessing is fit on ``train`` only
    and the three parts are transformed. The fold is seeded with :func:`fold_seed`.

    Args:
        table: the table.
        train: the row indices of the training part, normally the first of one pair of
            ``table.folds(k, seed=seed)``.
        test: the row indices of the test part, the second of that pair.
        seed: the repeat (the ``seed`` of ``table.folds``).
        fold: the fold's number within the repeat.
        config: the settings (its ``val_fraction``); ``CompareConfig()`` when None.

    Returns:
        The prepared :class:`Fold`.
    """
    config = config or CompareConfig()
    fields = _prepare(table, train, test, seed=fold_seed(seed, fold), config=config)
    return Fold(seed=seed, fold=fold, **fields)


def prepare_training_split(
    table: Table, rows: np.ndarray, *, seed: int, config: CompareConfig | None = None
) -> Fold:
    """A :class:`Fold` for training one model on a whole table (``underdog train``).

    Its training part is ``rows`` and its test part is empty; ``seed`` seeds its validation
    split and the model.
    """
    config = config or CompareConfig()
    fields = _prepare(table, rows, rows[:0], seed=seed, config=config)
    return Fold(seed=seed, fold=0, **fields)
