"""Preprocessing of feature tables: median imputation, standardisation, one-hot encoding.

Missing-value policy (see ``docs/cli.md``):

- a missing **numeric** feature (NaN, empty, ``?`` in KEEL, +-inf) is replaced by the
  median of that column in the training fold (0 if the column is all missing there);
- a missing **categorical** feature is its own level, ``<missing>``.

:class:`Preprocessor` is fit on the training fold only: numeric columns are imputed and
standardised, categorical columns one-hot encoded over the levels seen in the training fold
(at most ``max_levels`` most frequent ones; unseen levels encode as all zeros). It is plain
data, saved as JSON with a model.

Numbers of any finite size are safe: the mean and standard deviation are computed on the
column scaled by its largest magnitude (so 1e200 does not overflow its square), and
standardised values are clipped to ``+-CLIP`` (10,000 standard deviations), so a huge
value at prediction time cannot overflow the float32 the model computes in. A category is
compared as text, and a whole number read as a float (``1.0``, as a CSV reader may infer
it when other rows are blank) is the level ``"1"``. A numeric column that holds text (not
a missing value) at transform time is an error, not silently the median.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..exceptions import DataError
from .readers import _check_unique_columns, _pandas

__all__ = ["MISSING_LEVEL", "Preprocessor"]

MISSING_LEVEL = "<missing>"
#: Standardised values are clipped to [-CLIP, CLIP].
CLIP = 1e4


def _is_numeric(column: Any) -> bool:
    pd = _pandas()
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _level(value: Any) -> str:
    """A category as text: missing values are ``<missing>``, a whole float is an int."""
    if _isna(value):
        return MISSING_LEVEL
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _as_levels(column: Any) -> np.ndarray:
    return np.array([_level(v) for v in column], dtype=object)


def _mean_and_scale(x: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of finite ``x``, computed so that squares cannot overflow.

    They are computed on ``x`` scaled by its largest magnitude; a constant column has the
    scale 1.
    """
    largest = float(np.abs(x).max()) if x.size else 0.0
    if largest == 0.0:
        return 0.0, 1.0
    z = x / largest
    mean, std = float(z.mean()) * largest, float(z.std()) * largest
    return mean, (std if std > 1e-12 * max(1.0, abs(mean)) and std > 0 else 1.0)


def _isna(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN
    except (TypeError, ValueError):
        return False


def _numbers(column: Any, name: str) -> np.ndarray:
    """A numeric column as floats: missing values (and +-inf) become NaN; text raises."""
    pd = _pandas()
    numbers = pd.to_numeric(column, errors="coerce")
    missing = np.flatnonzero(numbers.isna().to_numpy())  # only these can be text
    text = ~column.iloc[missing].map(lambda v: _isna(v) or (isinstance(v, str) and not v.strip()))
    if bool(text.any()):
        row = int(missing[np.flatnonzero(text.to_numpy())[0]])
        raise DataError(
            f"The column {name!r} must hold numbers, as in the training data. Got "
            f"{column.iloc[row]!r} in data row {row + 1} instead."
        )
    return numbers.to_numpy(dtype=float)


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
        """Learn the imputation, scaling and levels of ``features`` (the training fold).

        A numeric column keeps the median of its finite values (0 if it has none) and the
        mean and standard deviation of the column imputed with it; a categorical column
        keeps its ``max_levels`` most frequent levels (ties broken by name).

        Args:
            features: a ``DataFrame`` of the training fold's feature columns.
            max_levels: the most levels a categorical column is one-hot encoded over.

        Returns:
            The fitted :class:`Preprocessor`.

        Raises:
            DataError: a feature column name that occurs more than once.
        """
        _check_unique_columns(features.columns, where="the features")
        numeric, medians, means, scales, categorical, levels = [], [], [], [], [], []
        for column in features.columns:
            values = features[column]
            if _is_numeric(values):
                x = values.to_numpy(dtype=float)
                finite = x[np.isfinite(x)]
                median = float(np.median(finite)) if finite.size else 0.0
                mean, scale = _mean_and_scale(np.where(np.isfinite(x), x, median))
                numeric.append(column)
                medians.append(median)
                means.append(mean)
                scales.append(scale)
            else:
                uniq, freq = np.unique(_as_levels(values), return_counts=True)
                order = np.lexsort((uniq, -freq))[:max_levels]
                categorical.append(column)
                levels.append(sorted(str(u) for u in uniq[order]))
        return cls(numeric, medians, means, scales, categorical, levels)

    @property
    def feature_names(self) -> list[str]:
        """The output columns: the numeric columns, then ``column=level`` for each level."""
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
            x = np.empty((len(features), len(self.numeric)), dtype=float)
            for j, column in enumerate(self.numeric):
                col = _numbers(features[column], column)
                x[:, j] = np.where(np.isfinite(col), col, self.medians[j])
            with np.errstate(over="ignore"):  # an overflow becomes inf, then the clip
                z = (x - np.asarray(self.means)) / np.asarray(self.scales)
            parts.append(np.clip(z, -CLIP, CLIP))
        for column, levels in zip(self.categorical, self.levels, strict=True):
            values = _as_levels(features[column])
            parts.append((values[:, None] == np.asarray(levels, dtype=object)[None, :]) * 1.0)
        if not parts:
            return np.zeros((len(features), 0), dtype=np.float32)
        return np.concatenate(parts, axis=1).astype(np.float32)

    def to_dict(self) -> dict:
        """The fitted preprocessing as plain data, to save as JSON.

        Returns:
            A dict of ``numeric``, ``medians``, ``means``, ``scales``, ``categorical`` and
            ``levels``, which :meth:`from_dict` reads back.
        """
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
        """The preprocessor that :meth:`to_dict` saved.

        Args:
            data: the dict :meth:`to_dict` returned (read back from JSON); other keys are
                ignored.

        Returns:
            The :class:`Preprocessor`.
        """
        return cls(**{key: data[key] for key in cls.__dataclass_fields__})
