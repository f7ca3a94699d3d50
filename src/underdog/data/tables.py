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
    """

    features: Any
    labels: np.ndarray
    classes: tuple
    target: str
    name: str
    splitter: Callable[[int, int], list] | None = None
    description: str = "stratified k-fold over all rows"
    training_rows: Callable[[int], np.ndarray] | None = None

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def counts(self) -> np.ndarray:
        return np.bincount(self.labels, minlength=self.num_classes)

    def folds(self, folds: int, *, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Train / test indices of each fold; the same for every recipe of a seed."""
        folds = check_int(folds, name="folds", owner="Table.folds", low=2)
        counts = self.counts
        smallest = int(counts.argmin())
        if folds > counts[smallest]:
            raise DataError(
                f"The smallest class of {self.name} must have at least one row per fold. Got "
                f"{counts[smallest]} rows of {self.classes[smallest]!r} for {folds} folds "
                f"instead; use {max(2, int(counts[smallest]))} folds or fewer."
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
    """A :class:`Table` from a ``DataFrame`` already read (by :func:`read_frame` or
    :func:`read_keel`), with ``target`` as the class column; ``name`` names it in messages
    and reports. Column names become strings; ``frame`` itself is not changed.

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
