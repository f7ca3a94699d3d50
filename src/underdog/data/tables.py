"""Tables for classification: a file or ``DataFrame`` as a :class:`Table`, and preprocessing.

:func:`load_table` reads a file by its extension (``.csv``, ``.parquet`` / ``.pq``, ``.dat``
for KEEL; the readers are in :mod:`underdog.data.readers`, and :func:`read_frame` and
:func:`read_keel` are importable from here too), takes the ``target`` column as the class
label and keeps every other column as a feature. Class labels of any type are mapped to
indices ``0 .. C-1`` in sorted order; the mapping is kept in :attr:`Table.classes`.

Missing-value policy (see ``docs/cli.md``):

- a missing or empty **label** is an error (:class:`~underdog.DataError` naming the rows);
- a missing **numeric** feature (NaN, empty, ``?`` in KEEL, +-inf) is replaced by the
  median of that column in the training fold (0 if the column is all missing there);
- a missing **categorical** feature is its own level, ``<missing>``.

:class:`Preprocessor` is fit on the training fold only: numeric columns are imputed and
standardised, categorical columns one-hot encoded over the levels seen in the training fold
(at most ``max_levels`` most frequent ones; unseen levels encode as all zeros). It is plain
data, saved as JSON with a model.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..exceptions import DataError
from .readers import _check_unique_columns, _pandas, read_frame, read_keel

__all__ = [
    "MISSING_LEVEL",
    "Preprocessor",
    "Table",
    "load_table",
    "read_frame",
    "read_keel",
    "table_from_frame",
]

MISSING_LEVEL = "<missing>"


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
        counts = self.counts
        smallest = int(counts.argmin())
        if folds < 2:
            raise DataError(f"the number of folds must be at least 2; got {folds}")
        if folds > counts[smallest]:
            raise DataError(
                f"the number of folds ({folds}) is larger than the smallest class "
                f"({self.classes[smallest]!r} has {counts[smallest]} rows); use --folds "
                f"{max(2, int(counts[smallest]))} or fewer"
            )
        if self.splitter is not None:
            return self.splitter(folds, seed)
        from sklearn.model_selection import StratifiedKFold

        cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        return list(cv.split(np.zeros(len(self.labels)), self.labels))


# ----------------------------------------------------------------------------- loading


def _label_values(column: Any, *, name: str, target: str) -> tuple[np.ndarray, tuple]:
    blank = column.map(lambda v: isinstance(v, str) and not v.strip()).to_numpy(dtype=bool)
    missing = column.isna().to_numpy(dtype=bool) | blank
    if missing.any():
        rows = np.flatnonzero(missing)
        shown = ", ".join(str(r + 1) for r in rows[:5]) + (" ..." if len(rows) > 5 else "")
        raise DataError(
            f"the target column {target!r} of {name} has {len(rows)} missing label(s), in "
            f"data row(s) {shown}; drop or fill those rows"
        )
    values = column.to_numpy()
    try:
        classes, labels = np.unique(values, return_inverse=True)
    except TypeError:  # mixed types: sort by text, keep the values
        text = column.astype(str).to_numpy()
        _, first, labels = np.unique(text, return_index=True, return_inverse=True)
        classes = values[first]
    classes = tuple(v.item() if hasattr(v, "item") else v for v in classes)
    if len(classes) < 2:
        raise DataError(
            f"the target column {target!r} of {name} has only one class ({classes[0]!r}); "
            "a classifier needs at least two"
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
        raise DataError(f"the target column {target!r} is not in {name}; columns: {listed}")
    if len(frame.columns) < 2:
        raise DataError(f"{name} has no feature columns besides the target {target!r}")
    if len(frame) == 0:
        raise DataError(f"{name} has no data rows")
    labels, classes = _label_values(frame[target], name=name, target=target)
    features = frame.drop(columns=[target]).reset_index(drop=True)
    return Table(features=features, labels=labels, classes=classes, target=target, name=name)


# ----------------------------------------------------------------------------- preprocessing


def _is_numeric(column: Any) -> bool:
    pd = _pandas()
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _as_levels(column: Any) -> np.ndarray:
    return np.array([MISSING_LEVEL if _isna(v) else str(v) for v in column], dtype=object)


def _isna(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN
    except (TypeError, ValueError):
        return False


@dataclass
class Preprocessor:
    """Median imputation + standardisation of numeric columns, one-hot of categorical ones.

    Fit with :meth:`fit` on the training fold only; :meth:`transform` any rows with the same
    columns. :meth:`to_dict` / :meth:`from_dict` round-trip through JSON. :meth:`fit` and
    :meth:`transform` raise :class:`~underdog.DataError` for a feature column name that
    occurs more than once, and :meth:`transform` for a missing feature column.
    """

    numeric: list[str]
    medians: list[float]
    means: list[float]
    scales: list[float]
    categorical: list[str]
    levels: list[list[str]]

    @classmethod
    def fit(cls, features: Any, *, max_levels: int = 50) -> Preprocessor:
        _check_unique_columns(features.columns, where="the features")
        numeric, medians, means, scales, categorical, levels = [], [], [], [], [], []
        for column in features.columns:
            values = features[column]
            if _is_numeric(values):
                x = values.to_numpy(dtype=float)
                finite = x[np.isfinite(x)]
                median = float(np.median(finite)) if finite.size else 0.0
                x = np.where(np.isfinite(x), x, median)
                std = float(x.std())
                numeric.append(column)
                medians.append(median)
                means.append(float(x.mean()))
                scales.append(std if std > 1e-12 else 1.0)
            else:
                uniq, freq = np.unique(_as_levels(values), return_counts=True)
                order = np.lexsort((uniq, -freq))[:max_levels]
                categorical.append(column)
                levels.append(sorted(str(u) for u in uniq[order]))
        return cls(numeric, medians, means, scales, categorical, levels)

    @property
    def feature_names(self) -> list[str]:
        names = list(self.numeric)
        for column, levels in zip(self.categorical, self.levels, strict=True):
            names += [f"{column}={level}" for level in levels]
        return names

    def transform(self, features: Any) -> np.ndarray:
        """Rows to a float32 matrix ``(N, len(feature_names))``."""
        absent = [c for c in self.numeric + self.categorical if c not in features.columns]
        if absent:
            raise DataError(f"the data lacks the feature column(s) {', '.join(absent)}")
        used = set(self.numeric + self.categorical)  # other columns, such as a target, may repeat
        _check_unique_columns([c for c in features.columns if c in used], where="the features")
        parts = []
        if self.numeric:
            pd = _pandas()
            x = np.empty((len(features), len(self.numeric)), dtype=float)
            for j, column in enumerate(self.numeric):
                col = pd.to_numeric(features[column], errors="coerce").to_numpy(dtype=float)
                x[:, j] = np.where(np.isfinite(col), col, self.medians[j])
            parts.append((x - np.asarray(self.means)) / np.asarray(self.scales))
        for column, levels in zip(self.categorical, self.levels, strict=True):
            values = _as_levels(features[column])
            parts.append((values[:, None] == np.asarray(levels, dtype=object)[None, :]) * 1.0)
        if not parts:
            return np.zeros((len(features), 0), dtype=np.float32)
        return np.concatenate(parts, axis=1).astype(np.float32)

    def to_dict(self) -> dict:
        return {
            "numeric": self.numeric,
            "medians": self.medians,
            "means": self.means,
            "scales": self.scales,
            "categorical": self.categorical,
            "levels": self.levels,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Preprocessor:
        return cls(**{key: data[key] for key in cls.__dataclass_fields__})
