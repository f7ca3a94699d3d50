"""The built-in datasets: digits-lt and the KEEL tables (underdog.data.builtin)."""

import re

import numpy as np
import pytest

from underdog.data import (
    DATASETS,
    load_dataset,
    long_tail_counts,
)
from underdog.exceptions import InvalidParameterError


def test_long_tail_counts_follow_the_formula():
    counts = long_tail_counts(150, num_classes=10, imbalance_ratio=50)
    expected = np.round(150 * 50 ** (-np.arange(10) / 9))
    np.testing.assert_array_equal(counts, expected)
    assert counts[0] == 150 and counts[-1] == 3


@pytest.mark.parametrize("ratio", [float("inf"), float("nan"), 0.5, -1.0, "50", True])
def test_imbalance_ratio_must_be_a_finite_number_of_at_least_one(ratio):
    expected = "must be a float in [1, inf). Got"
    with pytest.raises(InvalidParameterError, match=re.escape(f"of long_tail_counts {expected}")):
        long_tail_counts(100, num_classes=10, imbalance_ratio=ratio)
    with pytest.raises(InvalidParameterError, match=re.escape(f"of load_digits_lt {expected}")):
        load_dataset("digits-lt", imbalance_ratio=ratio)


def test_long_tail_counts_needs_two_classes_and_a_head():
    with pytest.raises(InvalidParameterError, match="'num_classes' parameter"):
        long_tail_counts(100, num_classes=1, imbalance_ratio=10)
    with pytest.raises(InvalidParameterError, match="'n_max' parameter"):
        long_tail_counts(0, num_classes=3, imbalance_ratio=10)
    assert long_tail_counts(np.int64(100), num_classes=3, imbalance_ratio=1).tolist() == [100] * 3


def test_digits_lt_folds_are_long_tailed_balanced_and_disjoint():
    table = load_dataset("digits-lt", imbalance_ratio=20)
    folds = table.folds(3, seed=1)
    assert len(folds) == 3
    tests = []
    for train, test in folds:
        assert not set(train) & set(test)
        train_counts = np.bincount(table.labels[train], minlength=10)
        assert (np.diff(train_counts) <= 0).all()
        assert train_counts[0] / train_counts[-1] == pytest.approx(20, rel=0.2)
        test_counts = np.bincount(table.labels[test], minlength=10)
        assert len(set(test_counts.tolist())) == 1
        tests.append(set(test))
    assert not tests[0] & tests[1]
    again = table.folds(3, seed=1)
    assert all((a[0] == b[0]).all() for a, b in zip(folds, again, strict=True))


@pytest.mark.parametrize("ratio", [1.0, 20.0, 50.0])
def test_digits_lt_rows_follow_the_documented_construction(ratio):
    from sklearn.model_selection import StratifiedKFold

    table = load_dataset("digits-lt", imbalance_ratio=ratio)
    labels = table.labels

    def profile(rows):
        n_max = np.bincount(labels[rows], minlength=10).min()
        return long_tail_counts(n_max, num_classes=10, imbalance_ratio=ratio)

    # Training on the whole table: every image is a candidate, n_max the smallest class.
    rows = table.training_rows(3)
    assert (np.diff(rows) > 0).all()
    np.testing.assert_array_equal(np.bincount(labels[rows], minlength=10), profile(slice(None)))
    np.testing.assert_array_equal(table.training_rows(3), rows)
    if ratio > 1:
        assert not np.array_equal(table.training_rows(4), rows)

    # Folds: the rows are drawn from scikit-learn's stratified folds of the balanced set;
    # each training part is cut to the profile of its own smallest class, each test part
    # to the same number per class (its smallest class).
    cv = StratifiedKFold(n_splits=4, shuffle=True, random_state=3)
    folds = table.folds(4, seed=3)
    for (train, test), (full_train, full_test) in zip(
        folds, cv.split(np.zeros(len(labels)), labels), strict=True
    ):
        assert (np.diff(train) > 0).all() and (np.diff(test) > 0).all()
        assert set(train) <= set(full_train) and set(test) <= set(full_test)
        train_counts = np.bincount(labels[train], minlength=10)
        np.testing.assert_array_equal(train_counts, profile(full_train))
        test_counts = np.bincount(labels[test], minlength=10)
        assert (test_counts == np.bincount(labels[full_test], minlength=10).min()).all()
    for (a_train, a_test), (b_train, b_test) in zip(folds, table.folds(4, seed=3), strict=True):
        np.testing.assert_array_equal(a_train, b_train)
        np.testing.assert_array_equal(a_test, b_test)


@pytest.mark.parametrize("name", [n for n in DATASETS if n != "digits-lt"])
def test_keel_builtins_match_their_listing(name):
    table = load_dataset(name)
    assert table.classes == ("negative", "positive")
    ratio = table.counts[0] / table.counts[1]
    assert ratio == pytest.approx(DATASETS[name].imbalance_ratio, abs=0.01)
    assert DATASETS[name].source


def test_unknown_dataset_lists_the_valid_ones():
    with pytest.raises(
        InvalidParameterError,
        match=r"^The 'name' parameter of load_dataset must be one of 'digits-lt', 'pima', "
        r"'ecoli1', 'flare-F', 'yeast4', 'abalone19'\. Got 'nope' instead\.$",
    ):
        load_dataset("nope")
    with pytest.raises(
        InvalidParameterError,
        match=r"^The 'imbalance_ratio' parameter of load_dataset must be None for 'pima', whose "
        r"imbalance ratio is fixed\. Got 3 instead\.$",
    ):
        load_dataset("pima", imbalance_ratio=3)
