"""One fold: validation split, preprocessing and counts (underdog.pipeline.folds)."""

import numpy as np

from _tables import toy_table
from underdog.pipeline import (
    prepare_fold,
)
from underdog.pipeline.folds import validation_split


def test_prepare_fold_fits_the_preprocessing_on_the_training_part_only():
    table = toy_table()
    train, test = table.folds(3, seed=0)[2]
    fold = prepare_fold(table, train, test, seed=0, fold=2)
    np.testing.assert_array_equal(fold.test_index, test)
    np.testing.assert_array_equal(fold.y_test, table.labels[test])
    assert len(fold.y) + len(fold.y_val) == len(train)
    np.testing.assert_array_equal(np.sort(fold.y_train), np.sort(table.labels[train]))
    # standardised with the training part's statistics: mean 0 there, not on the test part
    x1 = fold.preprocessor.numeric.index("x1")
    assert abs(fold.x_train[:, x1].mean()) < 1e-5
    assert abs(fold.x_test[:, x1].mean()) > 1e-3
    assert fold.counts.tolist() == np.bincount(fold.y, minlength=3).tolist()
    assert fold.model_seed == 2


def test_validation_split_is_stratified_and_keeps_rare_classes():
    y = np.array([0] * 50 + [1] * 4 + [2] * 2 + [3])
    train, val = validation_split(y, fraction=0.2, seed=0)
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(len(y)))
    assert np.bincount(y[val], minlength=4).tolist() == [10, 1, 1, 0]
    again = validation_split(y, fraction=0.2, seed=0)
    assert (again[1] == val).all()
    assert len(validation_split(y, fraction=0.0, seed=0)[1]) == 0
