"""Decision forests as tensors and the bag blended with one (underdog.training.forests)."""

import sys

import numpy as np
import pytest
import torch

from underdog.exceptions import DataError, MissingDependencyError
from underdog.training.ensembles import BalancedBaggedMLP
from underdog.training.forests import (
    BagForestBlend,
    TreeEnsemble,
    balanced_random_forest,
    fit_balanced_forest,
    imblearn_available,
)

pytest.importorskip("imblearn")


def _data(n=200, classes=2, seed=0, features=5):
    rng = np.random.default_rng(seed)
    y = rng.choice(classes, size=n, p=np.arange(classes, 0, -1) / np.arange(classes, 0, -1).sum())
    x = (rng.normal(size=(n, features)) + 0.8 * y[:, None]).astype(np.float32)
    x[:, 0] = np.round(x[:, 0], 1)  # ties at thresholds
    return x, y


def _proba(forest, x, num_classes):
    out = np.zeros((len(x), num_classes))
    out[:, forest.classes_] = forest.predict_proba(x)
    return out


@pytest.mark.parametrize(("classes", "num_classes"), [(2, 2), (3, 3), (3, 4)])
def test_the_tensors_equal_the_fitted_forests_predict_proba(classes, num_classes):
    x, y = _data(classes=classes)
    test = np.random.default_rng(1).normal(size=(300, 5)).astype(np.float64)  # any dtype
    ensemble = fit_balanced_forest(x, y, num_classes=num_classes, seed=3)
    expected = _proba(balanced_random_forest(3).fit(x, y), test, num_classes)
    with torch.no_grad():
        got = ensemble(torch.as_tensor(test, dtype=torch.float32)).numpy()
    np.testing.assert_array_equal(got, expected)  # the same float64 operations, in order
    assert ensemble.trees == 100 and got.dtype == np.float64
    if num_classes > classes:
        assert (got[:, classes:] == 0).all()  # a class the training rows lack


def test_any_scikit_learn_forest_converts():
    from sklearn.ensemble import RandomForestClassifier

    x, y = _data(classes=3, seed=2)
    forest = RandomForestClassifier(n_estimators=7, random_state=0).fit(x, y)
    ensemble = TreeEnsemble.from_sklearn(forest.estimators_, forest.classes_, num_features=5,
                                         num_classes=3)  # fmt: skip
    with torch.no_grad():
        got = ensemble(torch.as_tensor(x)).numpy()
    np.testing.assert_array_equal(got, forest.predict_proba(x))


def test_a_state_with_indices_out_of_range_is_refused_on_load():
    x, y = _data()
    ensemble = fit_balanced_forest(x, y, num_classes=2, seed=0)
    state = ensemble.state_dict()
    target = TreeEnsemble(trees=ensemble.trees, nodes=ensemble.nodes, depth=ensemble.depth,
                          num_features=5, num_classes=2)  # fmt: skip
    target.load_state_dict(state)  # the real one loads
    for name, value in (("left", ensemble.nodes), ("right", -1), ("feature", 5)):
        bad = {k: v.clone() for k, v in state.items()}
        bad[name][0, 0] = value
        with pytest.raises(DataError, match=f"The forest's '{name}' indices must lie in"):
            target.load_state_dict(bad)


def test_the_blend_averages_the_bag_and_the_forest():
    x, y = _data()
    bag = BalancedBaggedMLP(5, 2, seed=0)
    forest = fit_balanced_forest(x, y, num_classes=2, seed=0)
    blend = BagForestBlend(bag, forest)
    rows = torch.as_tensor(x[:20])
    with torch.no_grad():
        expected = 0.5 * bag.proba(rows).double() + 0.5 * forest(rows)
        torch.testing.assert_close(blend(rows).exp(), expected)
        only_forest = BagForestBlend(bag, forest, forest_weight=1.0)(rows)
        torch.testing.assert_close(only_forest.exp(), forest(rows).clamp_min(1e-300))
    with pytest.raises(DataError, match="must have the bag's 4 features and 2 classes"):
        BagForestBlend(BalancedBaggedMLP(4, 2), forest)


def test_without_imblearn_the_forest_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "imblearn", None)
    monkeypatch.setitem(sys.modules, "imblearn.ensemble", None)
    assert not imblearn_available()
    with pytest.raises(MissingDependencyError, match=r"pip install 'underdog\[tables\]'"):
        fit_balanced_forest(*_data(), num_classes=2, seed=0)
