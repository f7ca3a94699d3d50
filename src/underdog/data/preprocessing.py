"""Preprocessing of feature tables: median imputation, standardisation, one-hot encoding.

Missing-value policy (see ``docs/cli.md``):

- a missing **numeric** feature (NaN, empty, ``?`` in KEEL, +-inf) is replaced by the
  median of that column in the training fold (0 if the column is all missing there);
- a missing **categorical** feature is its own level, ``<missing>``.

:class:`Preprocessor` is fit on the training fold only: numeric columns are imputed and
standardised, categorical columns one-hot encoded over the levels seen in the training fold
(at most ``max_levels`` most frequent ones; unseen levels encode as all zeros). It is plain
data, saved as JSON with a model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..exceptions import DataError
from .readers import _check_unique_columns, _pandas

__all__ = ["MISSING_LEVEL", "Preprocessor"]

MISSING_LEVEL = "<missing>"


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
            raise DataError(f"The data lacks the feature column(s) {', '.join(absent)}.")
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
