"""Built-in datasets: a long-tailed digits benchmark and a few KEEL imbalanced tables.

``digits-lt`` follows the CIFAR-10-LT construction (Cao et al., 2019; Cui et al., 2019) on
scikit-learn's bundled 8x8 digits (1,797 images, 10 classes, about 180 each): class ``c``
keeps ``n_c = round(n_max * IR ** (-c / (C - 1)))`` training images (at least 1), so class 0
is the head and class 9 the tail, and evaluation is on a balanced test set.

Fold protocol of ``digits-lt``: the full, balanced digits set is split by stratified k-fold;
in each fold the test part is cut to the same number of images per class (balanced test
set) and the training part is subsampled to the long tail above, with ``n_max`` the
smallest class of the training part. So each fold has its own long-tailed training set and
its own balanced test set, and no image is in both.

The KEEL tables are binary (``positive`` is the minority class), copied unchanged from the
KEEL imbalanced data-set repository; see ``keel/README.md`` in this package.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

import numpy as np

from .._validation import check_int, check_option, check_real, describe
from ..exceptions import InvalidParameterError
from .readers import _pandas, read_keel
from .tables import Table

__all__ = ["BuiltinDataset", "DATASETS", "load_dataset", "long_tail_counts"]

KEEL_SOURCE = (
    "KEEL imbalanced data-set repository (Alcalá-Fdez et al., J. Mult.-Valued Logic & Soft "
    "Computing 17, 2011), from UCI"
)


@dataclass(frozen=True)
class BuiltinDataset:
    """A named dataset that ships with underdog.

    Attributes:
        name: the name used by ``--dataset``.
        summary: one line about the data.
        source: where the data comes from.
        imbalance_ratio: majority / minority count of the training data (default settings).
        load: ``(imbalance_ratio) -> Table``; the ratio matters only for long-tail datasets.
    """

    name: str
    summary: str
    source: str
    imbalance_ratio: float
    load: Callable[..., Table]


def long_tail_counts(n_max: int, *, num_classes: int, imbalance_ratio: float) -> np.ndarray:
    """Exponential long-tail profile ``n_c = round(n_max * IR ** (-c / (C - 1)))``, at least 1.

    (CIFAR-10-LT truncates instead of rounding; with 5,000 head images the difference is
    nothing, with about 140 it would turn a ratio of 50 into 70.)

    Args:
        n_max: the head class size, at least 1.
        num_classes: the number of classes ``C``, at least 2.
        imbalance_ratio: ``IR``, head / tail size, a finite number of at least 1.

    Raises:
        InvalidParameterError: a parameter outside its range (``IR`` infinite or NaN).

    Example:
        >>> long_tail_counts(100, num_classes=3, imbalance_ratio=100).tolist()
        [100, 10, 1]
    """
    owner = "long_tail_counts"
    n_max = check_int(n_max, name="n_max", owner=owner, low=1)
    num_classes = check_int(num_classes, name="num_classes", owner=owner, low=2)
    imbalance_ratio = check_real(imbalance_ratio, name="imbalance_ratio", owner=owner, low=1)
    c = np.arange(num_classes)
    counts = np.round(n_max * imbalance_ratio ** (-c / (num_classes - 1)))
    return np.maximum(counts, 1).astype(np.int64)


def _take_per_class(
    rows: np.ndarray, labels: np.ndarray, counts: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """A random ``counts[c]`` of the ``rows`` of each class ``c`` (all where fewer), sorted."""
    chosen = [rng.permutation(rows[labels[rows] == c])[: counts[c]] for c in range(len(counts))]
    return np.sort(np.concatenate(chosen))


def _long_tail_rows(
    rows: np.ndarray,
    labels: np.ndarray,
    *,
    num_classes: int,
    imbalance_ratio: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """``rows`` subsampled to the long tail, ``n_max`` the smallest class among them."""
    n_max = np.bincount(labels[rows], minlength=num_classes).min()
    keep = long_tail_counts(n_max, num_classes=num_classes, imbalance_ratio=imbalance_ratio)
    return _take_per_class(rows, labels, keep, rng)


def _digits_splitter(
    labels: np.ndarray, imbalance_ratio: float
) -> Callable[[int, int], list[tuple[np.ndarray, np.ndarray]]]:
    """The fold protocol of digits-lt (see the module docstring)."""
    num_classes = int(labels.max()) + 1

    def split(folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
        from sklearn.model_selection import StratifiedKFold

        cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        out = []
        for fold, (train, test) in enumerate(cv.split(np.zeros(len(labels)), labels)):
            rng = np.random.default_rng([seed, fold])  # train rows drawn first, then test
            train_rows = _long_tail_rows(
                train, labels, num_classes=num_classes, imbalance_ratio=imbalance_ratio, rng=rng
            )
            n_test = np.bincount(labels[test], minlength=num_classes).min()
            test_rows = _take_per_class(test, labels, np.full(num_classes, n_test), rng)
            out.append((train_rows, test_rows))
        return out

    return split


def _digits_training_rows(
    labels: np.ndarray, imbalance_ratio: float
) -> Callable[[int], np.ndarray]:
    """All images subsampled to the long tail, for training on the whole dataset."""
    num_classes = int(labels.max()) + 1

    def rows(seed: int) -> np.ndarray:
        rng = np.random.default_rng([seed, 1 << 20])
        return _long_tail_rows(
            np.arange(len(labels)),
            labels,
            num_classes=num_classes,
            imbalance_ratio=imbalance_ratio,
            rng=rng,
        )

    return rows


def load_digits_lt(*, imbalance_ratio: float = 50.0) -> Table:
    """scikit-learn's digits with a long-tailed training set per fold (see the module doc).

    Raises:
        InvalidParameterError: ``imbalance_ratio`` is not a finite number of at least 1.
    """
    from sklearn.datasets import load_digits

    imbalance_ratio = check_real(
        imbalance_ratio, name="imbalance_ratio", owner="load_digits_lt", low=1
    )
    pd = _pandas()
    bunch = load_digits()
    labels = bunch.target.astype(np.int64)
    features = pd.DataFrame(bunch.data, columns=[f"pixel_{i}" for i in range(64)])
    return Table(
        features=features,
        labels=labels,
        classes=tuple(range(10)),
        target="digit",
        name="digits-lt",
        splitter=_digits_splitter(labels, imbalance_ratio),
        training_rows=_digits_training_rows(labels, imbalance_ratio),
        input_shape=(1, 8, 8),
        description=(
            "stratified k-fold over the balanced digits; each fold's training part is "
            f"subsampled to a long tail with imbalance ratio {imbalance_ratio:g} "
            "(n_c = n_max * IR^(-c/(C-1))) and its test part is balanced"
        ),
    )


def _keel_loader(filename: str) -> Callable[..., Table]:
    def load(**_: object) -> Table:
        ref = resources.files(__package__) / "keel" / filename
        with resources.as_file(ref) as path:
            frame = read_keel(path)
        target = frame.columns[-1]
        column = frame[target]
        classes = ("negative", "positive")
        labels = column.map({"negative": 0, "positive": 1}).to_numpy(dtype=np.int64)
        name = filename.removesuffix(".dat")
        return Table(
            features=frame.drop(columns=[target]),
            labels=labels,
            classes=classes,
            target=target,
            name=name,
        )

    return load


def _keel(name: str, summary: str, ratio: float) -> BuiltinDataset:
    return BuiltinDataset(name, summary, KEEL_SOURCE, ratio, _keel_loader(f"{name}.dat"))


DATASETS: dict[str, BuiltinDataset] = {
    d.name: d
    for d in (
        BuiltinDataset(
            "digits-lt",
            "8x8 digits, 10 classes, long-tailed training set, balanced test set",
            "scikit-learn load_digits (UCI optical digits), CIFAR-10-LT construction",
            50.0,
            load_digits_lt,
        ),
        _keel("pima", "Pima Indians diabetes, 768 rows, 8 numeric features", 1.87),
        _keel("ecoli1", "E. coli protein localisation, 336 rows, 7 numeric features", 3.36),
        _keel("flare-F", "solar flares, 1066 rows, 11 categorical features", 23.79),
        _keel("yeast4", "yeast protein localisation, 1484 rows, 8 numeric features", 28.10),
        _keel("abalone19", "abalone age, 4174 rows, 7 numeric + 1 categorical", 129.44),
    )
}


def load_dataset(name: str, *, imbalance_ratio: float | None = None) -> Table:
    """Load a built-in dataset by name; ``imbalance_ratio`` applies to ``digits-lt`` only.

    Raises:
        InvalidParameterError: an unknown name (listing the valid ones), ``imbalance_ratio``
            given for a dataset that has a fixed one, or an ``imbalance_ratio`` that is not
            a finite number of at least 1.
    """
    check_option(name, name="name", owner="load_dataset", options=DATASETS)
    if imbalance_ratio is None:
        return DATASETS[name].load()
    if name != "digits-lt":
        raise InvalidParameterError(
            f"The 'imbalance_ratio' parameter of load_dataset must be None for {name!r}, "
            f"whose imbalance ratio is fixed. Got {describe(imbalance_ratio)} instead."
        )
    return DATASETS[name].load(imbalance_ratio=imbalance_ratio)
