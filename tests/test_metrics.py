import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics

from underdog.exceptions import InvalidParameterError
from underdog.metrics import BINARY_METRICS, LABEL_METRICS, evaluate, g_mean_score, label_metric


def _random(n, c, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    y[:c] = np.arange(c)
    proba = rng.dirichlet(np.ones(c), n)
    return y, proba


@pytest.mark.parametrize("num_classes", [3, 5])
def test_multiclass_metrics_equal_scikit_learn(num_classes):
    y, proba = _random(200, num_classes, 0)
    pred = proba.argmax(1)
    scalars, per_class = evaluate(y, proba)
    assert set(scalars) == set(LABEL_METRICS)
    assert scalars["balanced_accuracy"] == pytest.approx(metrics.balanced_accuracy_score(y, pred))
    assert scalars["macro_f1"] == pytest.approx(metrics.f1_score(y, pred, average="macro"))
    assert scalars["mcc"] == pytest.approx(metrics.matthews_corrcoef(y, pred))
    recall = metrics.recall_score(y, pred, average=None)
    assert scalars["g_mean"] == pytest.approx(np.prod(recall) ** (1 / num_classes))
    p, r, f, _ = metrics.precision_recall_fscore_support(y, pred, zero_division=0)
    np.testing.assert_allclose(per_class["precision"], p)
    np.testing.assert_allclose(per_class["recall"], r)
    np.testing.assert_allclose(per_class["f1"], f)


def test_binary_metrics_use_the_minority_class_as_positive():
    rng = np.random.default_rng(1)
    y = (rng.random(300) < 0.8).astype(int)  # class 1 is the majority
    score0 = np.clip(0.5 * (y == 0) + rng.random(300) * 0.6, 0, 1)
    proba = np.stack([score0, 1 - score0], 1)
    scalars, _ = evaluate(y, proba)
    assert set(scalars) == set(LABEL_METRICS + BINARY_METRICS)
    assert scalars["roc_auc"] == pytest.approx(metrics.roc_auc_score(y == 0, score0))
    assert scalars["average_precision"] == pytest.approx(
        metrics.average_precision_score(y == 0, score0)
    )
    pred = proba.argmax(1)
    assert scalars["minority_f1"] == pytest.approx(metrics.f1_score(y, pred, pos_label=0))
    # an explicit minority overrides the counts
    flipped, _ = evaluate(y, proba, minority=1)
    assert flipped["roc_auc"] == pytest.approx(metrics.roc_auc_score(y == 1, 1 - score0))


def test_explicit_predictions_are_scored():
    y, proba = _random(50, 3, 2)
    y_pred = np.zeros(50, dtype=int)
    scalars, per_class = evaluate(y, proba, y_pred=y_pred)
    assert scalars["balanced_accuracy"] == pytest.approx(1 / 3)
    assert scalars["g_mean"] == 0.0
    assert per_class["recall"].tolist() == [1.0, 0.0, 0.0]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=4, max_size=60))
def test_g_mean_is_the_geometric_mean_of_recall(pairs):
    y, pred = np.array(pairs).T
    labels = list(range(4))
    recall = metrics.recall_score(y, pred, labels=labels, average=None, zero_division=0)
    expected = 0.0 if (recall == 0).any() else float(np.prod(recall) ** 0.25)
    assert g_mean_score(y, pred, labels=labels) == pytest.approx(expected)
    assert 0 <= g_mean_score(y, pred, labels=labels) <= 1


def test_g_mean_doctest_value():
    assert g_mean_score([0, 0, 1, 1], [0, 1, 1, 1]) == pytest.approx(np.sqrt(0.5))


def test_unknown_label_metric():
    with pytest.raises(
        InvalidParameterError,
        match=r"^The 'name' parameter of label_metric must be one of 'balanced_accuracy', "
        r"'macro_f1', 'g_mean', 'mcc', 'minority_f1'\. Got 'roc_auc' instead\.$",
    ):
        label_metric("roc_auc", [0, 1], [0, 1], num_classes=2, minority=1)
