"""Tables for classification: a file or ``DataFrame`` as a :class:`Table`, and preprocessing.

:func:`load_table` reads a file by its extension (``.csv``, ``.parquet`` / ``.pq``, ``.dat``
for KEEL; the readers are in :mod:`underdog.data.readers`, and :func:`read_frame` and
:func:`read_keel` are importable from here too), takes the ``target`` column as the class
label and keeps every other column as a feature. Class labels of any type are mapped to
indices ``0 .. C-1`` in sorted order; the mapping is kept in :attr:`Table.classes`.

A missing or empty **label** is an error (:class:`~underdog.DataError` naming the rows);
missing features are handled by the :class:`~underdog.data.Preprocessor`
(:mod:`underdog.data.preprocessing`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import check_int
from ..exceptions import DataError
from .preprocessing import MISSING_LEVEL, Preprocessor  # noqa: F401 (their old import path)
from .readers import _check_unique_columns, read_frame, read_keel

__all__ = [
    "Table",
    "load_table",
    "read_frame",
    "read_keel",
    "table_from_dataset",
    "table_from_frame",
]


@dataclass
class Table:
    """Features, integer labels and the label mapping of one classification table.

    Attributes:
        features: a pandas ``DataFrame`` of the feature columns (raw, not preprocessed).
        labels: int64 array ``(N,)`` of class indices into ``classes``.
        classes: the original class labels, index ``c`` for class ``c``.
        target: the name of the target column.
        name: a short name for reports (the file name, or the built-in dataset's name).
        splitter: optional ``(folds, seed) -> [(train_idx, test_idx), ...]``; built-in
            datasets with their own protocol (``digits-lt``) set it. ``None`` means
            stratified k-fold over all rows.
        description: how the folds are built, for reports.
        training_rows: optional ``(seed) -> row indices`` that training on the whole table
            (``underdog train``) uses; ``digits-lt`` sets it to its long-tailed training
            set. ``None`` means all rows.
        input_shape: the shape of one sample's input when the rows are images or other
            tensors (digits-lt: ``(1, 8, 8)``); ``None`` means a row of features.
        dataset: a ``Dataset`` holding the samples instead of ``features`` (see
            :func:`table_from_dataset`): its samples go to the model as they are, with no
            preprocessing.
    """

    features: Any
    labels: np.ndarray
    classes: tuple[Any, ...]
    target: str
    name: str
    splitter: Callable[[int, int], list[tuple[np.ndarray, np.ndarray]]] | None = None
    description: str = "stratified k-fold over all rows"
    training_rows: Callable[[int], np.ndarray] | None = None
    input_shape: tuple[int, ...] | None = None
    dataset: Any = None

    @property
    def num_classes(self) -> int:
        """The number of classes."""
        return len(self.classes)

    @property
    def counts(self) -> np.ndarray:
        """The number of rows of each class, ``(C,)``."""
        return np.bincount(self.labels, minlength=self.num_classes)

    @property
    def num_features(self) -> int:
        """The width of a row: feature columns, or the elements of one sample's input."""
        if self.features is not None:
            return int(self.features.shape[1])
        return int(np.prod(self.input_shape or (0,)))

    def folds(self, folds: int, *, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Train / test indices of each fold; the same for every recipe of a seed."""
        folds = check_int(folds, name="folds", owner="Table.folds", low=2)
        counts = self.counts
        smallest = int(counts.argmin())
        if folds > counts[smallest]:
            raise DataError(
                f"The smallest class of {self.name} must have at least one row per fold. Got "
                f"{counts[smallest]} rows of {self.classes[smallest]!r} for {folds} folds "
                f"instead; {_fewer_folds(int(counts[smallest]))}."
            )
        if self.splitter is not None:
            return self.splitter(folds, seed)
        from sklearn.model_selection import StratifiedKFold

        cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        return list(cv.split(np.zeros(len(self.labels)), self.labels))


# ----------------------------------------------------------------------------- loading


def _label_values(column: Any, *, name: str, target: str) -> tuple[np.ndarray, tuple[Any, ...]]:
    blank = column.map(lambda v: isinstance(v, str) and not v.strip()).to_numpy(dtype=bool)
    missing = column.isna().to_numpy(dtype=bool) | blank
    if missing.any():
        rows = np.flatnonzero(missing)
        shown = ", ".join(str(r + 1) for r in rows[:5]) + (" ..." if len(rows) > 5 else "")
        raise DataError(
            f"The target column {target!r} of {name} has {len(rows)} missing label(s), in "
            f"data row(s) {shown}; drop or fill those rows."
        )
    values = column.to_numpy()
    try:
        unique, labels = np.unique(values, return_inverse=True)
    except TypeError:  # mixed types: sort by text, keep the values
        text = column.astype(str).to_numpy()
        _, first, labels = np.unique(text, return_index=True, return_inverse=True)
        unique = values[first]
    classes = tuple(v.item() if hasattr(v, "item") else v for v in unique)
    if len(classes) < 2:
        raise DataError(
            f"The target column {target!r} of {name} has only one class ({classes[0]!r}); "
            "a classifier needs at least two."
        )
    return labels.astype(np.int64).reshape(-1), classes


def load_table(path: str | os.PathLike, *, target: str) -> Table:
    """Load a CSV, Parquet or KEEL file with ``target`` as the class column.

    Raises:
        DataError: an unknown extension, a missing or unparsable file (naming the line when
            the parser knows it), a repeated column name, a missing target column (listing
            the columns), missing labels, a single class, or no feature columns.
    """
    return table_from_frame(read_frame(path), target=target, name=os.path.basename(path))


def table_from_frame(frame: Any, *, target: str, name: str) -> Table:
    """A :class:`Table` from a ``DataFrame`` already read, with ``target`` as the class column.

    The frame is one read by :func:`read_frame` or :func:`read_keel`, for instance. Column
    names become strings; ``frame`` itself is not changed.

    Args:
        frame: the ``DataFrame`` of the target and feature columns.
        target: the name of the class column; every other column is a feature.
        name: names the table in messages and reports.

    Returns:
        The :class:`Table`.

    Raises:
        DataError: a repeated column name (also one that only becomes repeated as a string,
            such as ``1`` and ``"1"``), a missing target column (listing the columns),
            missing labels, a single class, no feature columns or no rows.
    """
    if not all(isinstance(c, str) for c in frame.columns):
        frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
    _check_unique_columns(frame.columns, where=name)
    if target not in frame.columns:
        listed = ", ".join(frame.columns[:30]) + (" ..." if len(frame.columns) > 30 else "")
        raise DataError(f"The target column {target!r} is not in {name}; its columns: {listed}.")
    if len(frame.columns) < 2:
        raise DataError(f"The table {name} has no feature columns besides the target {target!r}.")
    if len(frame) == 0:
        raise DataError(f"The table {name} has no data rows.")
    labels, classes = _label_values(frame[target], name=name, target=target)
    features = frame.drop(columns=[target]).reset_index(drop=True)
    return Table(features=features, labels=labels, classes=classes, target=target, name=name)


def _input_shape(dataset: Any) -> tuple[int, ...]:
    """The shape of the first sample's input (``()`` when it is not one tensor)."""
    first = dataset[0]
    inputs = first[0] if isinstance(first, (tuple, list)) and first else first
    return tuple(int(s) for s in getattr(inputs, "shape", ()))


def table_from_dataset(dataset: Any, *, name: str) -> Table:
    """A :class:`Table` over a map-style ``Dataset`` whose labels it exposes.

    The labels are read without loading features, from the dataset's ``targets`` or
    ``labels`` attribute (also through ``Subset``), and are integer class indices
    ``0 .. C-1``. Samples are ``(input, label)`` (or dicts); one sample is read for the
    input's shape.

    Args:
        dataset: the map-style ``Dataset``.
        name: names the table in messages and reports.

    Returns:
        The :class:`Table`, whose samples are those of ``dataset``.

    Raises:
        DataError: a dataset without such labels, labels that are not class indices, or
            fewer than two classes.
    """
    from ..labels import as_label_tensor, check_class_indices, check_integer_labels, dataset_labels

    owner = "table_from_dataset"
    exposed = dataset_labels(dataset, name="data", owner=owner)
    if exposed is None or not hasattr(dataset, "__getitem__") or not hasattr(dataset, "__len__"):
        raise DataError(
            f"The 'data' parameter of {owner} must be a map-style Dataset with a 'targets' "
            f"or 'labels' attribute (its labels, read without loading features). Got "
            f"{type(dataset).__name__} from {name} instead."
        )
    tensor = as_label_tensor(exposed, name="data", owner=owner).reshape(-1)
    tensor = check_integer_labels(tensor, name="data", owner=owner).long()
    if tensor.numel():
        check_class_indices(tensor, num_classes=None, ignore_index=None, name="data", owner=owner)
    labels = tensor.cpu().numpy()
    classes = tuple(range(int(labels.max()) + 1)) if labels.size else ()
    if len(np.unique(labels)) < 2:
        raise DataError(
            f"The labels of the dataset {name} must hold at least two classes. Got "
            f"{len(np.unique(labels))} instead."
        )
    return Table(features=None, labels=labels.astype(np.int64), classes=classes,
                 target="label", name=name, dataset=dataset,
                 input_shape=_input_shape(dataset),
                 description="stratified k-fold over all samples")  # fmt: skip


def _fewer_folds(smallest: int) -> str:
    """What to do when the smallest class has fewer rows than the folds."""
    if smallest >= 2:
        return f"use {smallest} folds or fewer"
    return "cross-validation needs at least 2 rows of every class: add rows or drop the class"
