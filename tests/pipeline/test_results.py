"""The paired tests of a comparison (underdog.pipeline.results)."""

import numpy as np
import pytest
from scipy import stats

from underdog.pipeline import (
    paired_test,
)


def test_paired_test_matches_scipy_without_correction():
    rng = np.random.default_rng(0)
    a, b = rng.random(10), rng.random(10)
    assert paired_test(a, b, test_train_ratio=0.0) == pytest.approx(stats.ttest_rel(a, b).pvalue)


def test_paired_test_correction_is_nadeau_bengio():
    d = np.array([0.02, 0.03, 0.01, 0.04, 0.02])
    n, ratio = len(d), 0.25
    t = d.mean() / np.sqrt((1 / n + ratio) * d.var(ddof=1))
    expected = 2 * stats.t.sf(t, n - 1)
    assert paired_test(d, np.zeros(5), test_train_ratio=ratio) == pytest.approx(expected)
    assert expected > paired_test(d, np.zeros(5), test_train_ratio=0)
    assert paired_test([1, 1], [1, 1], test_train_ratio=0.2) == 1.0
    assert np.isnan(paired_test([1], [0], test_train_ratio=0.2))
