import numpy as np
import pytest

from underdog.exceptions import InvalidParameterError
from underdog.metrics import label_metric
from underdog.posthoc import PostHoc, prior_correction, softmax, tune_posthoc, tune_threshold


def test_prior_correction_formula():
    logits = np.array([[1.0, 2.0, 0.5]])
    priors = np.array([0.7, 0.2, 0.1])
    out = prior_correction(logits, priors, tau=0.5)
    np.testing.assert_allclose(out, logits - 0.5 * np.log(priors))
    # unnormalised priors give the same decisions
    np.testing.assert_allclose(
        prior_correction(logits, priors * 10), prior_correction(logits, priors)
    )


def test_prior_correction_recovers_the_balanced_posterior():
    # p(y|x) under priors pi is proportional to p(x|y) pi_y; dividing by pi_y gives p(x|y)
    rng = np.random.default_rng(0)
    likelihood = rng.dirichlet(np.ones(3), 10)
    priors = np.array([0.8, 0.15, 0.05])
    logits = np.log(likelihood * priors)
    balanced = softmax(prior_correction(logits, priors))
    np.testing.assert_allclose(balanced, likelihood / likelihood.sum(1, keepdims=True))


def test_tune_threshold_finds_the_best_threshold():
    rng = np.random.default_rng(1)
    y = (rng.random(200) < 0.1).astype(int)
    scores = np.clip(0.25 * y + rng.random(200) * 0.5, 0, 1)
    t = tune_threshold(scores, y, minority=1, metric="balanced_accuracy")

    def ba(threshold):
        pred = (scores >= threshold).astype(int)
        return label_metric("balanced_accuracy", y, pred, num_classes=2, minority=1)

    brute = max(ba(s) for s in np.unique(scores))
    assert ba(t) == pytest.approx(brute, abs=0.02)
    assert ba(t) > ba(0.5)
    assert t < 0.5  # a rare class needs a lower threshold


def test_threshold_free_metrics_tune_balanced_accuracy():
    y = np.array([0, 0, 0, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.35])
    assert tune_threshold(scores, y, minority=1, metric="roc_auc") == tune_threshold(
        scores, y, minority=1, metric="balanced_accuracy"
    )


def test_posthoc_rules_apply_and_round_trip():
    logits = np.array([[3.0, 0.0], [0.0, 0.1], [1.0, 0.5]])
    rule = tune_posthoc("prior-correction", logits, [0, 1, 1], counts=[90, 10])
    assert rule.priors == pytest.approx((0.9, 0.1))
    proba, pred = rule.apply(logits)
    np.testing.assert_allclose(proba, softmax(logits - np.log([0.9, 0.1])))
    assert pred.tolist() == [0, 1, 1]
    assert PostHoc.from_dict(rule.to_dict()) == rule

    threshold = PostHoc(kind="threshold", threshold=0.3, minority=1, priors=(0.9, 0.1))
    proba, pred = threshold.apply(logits)
    np.testing.assert_allclose(proba, softmax(logits))
    assert pred.tolist() == (softmax(logits)[:, 1] >= 0.3).astype(int).tolist()
    assert PostHoc.from_dict(threshold.to_dict()) == threshold
    assert PostHoc().apply(logits)[1].tolist() == [0, 1, 0]


def test_multiclass_threshold_tunes_the_prior_exponent():
    rng = np.random.default_rng(2)
    counts = np.array([200, 50, 10])
    y = np.repeat([0, 1, 2], [40, 10, 5])
    logits = np.log(counts / counts.sum()) + rng.normal(size=(55, 3)) + 2.0 * np.eye(3)[y]
    rule = tune_posthoc("threshold", logits, y, counts=counts, metric="balanced_accuracy")
    assert rule.kind == "threshold" and rule.threshold is None
    assert 0 < rule.tau <= 2

    def ba(tau):
        pred = prior_correction(logits, counts, tau=tau).argmax(1)
        return label_metric("balanced_accuracy", y, pred, num_classes=3, minority=2)

    assert ba(rule.tau) == max(ba(t) for t in np.arange(0, 2.01, 0.1))


def test_empty_validation_gives_the_untuned_rule():
    rule = tune_posthoc("threshold", np.zeros((0, 2)), [], counts=[5, 1])
    assert rule.threshold == 0.5


def test_unknown_kind():
    with pytest.raises(InvalidParameterError, match="'kind' parameter"):
        PostHoc(kind="magic")


def test_corrected_logits_are_what_apply_decides_on():
    """PostHoc.corrected: the prior correction of the rule, nothing for 'none' or a threshold."""
    logits = np.random.default_rng(0).normal(size=(30, 3))
    counts = np.array([20, 7, 3])
    prior = tune_posthoc("prior-correction", logits, None, counts=counts)
    np.testing.assert_allclose(prior.corrected(logits), prior_correction(logits, prior.priors))
    np.testing.assert_array_equal(prior.apply(logits)[1], prior.corrected(logits).argmax(1))
    np.testing.assert_array_equal(PostHoc().corrected(logits), logits)
    tuned = PostHoc(kind="threshold", priors=prior.priors, threshold=0.3, minority=1)
    np.testing.assert_array_equal(tuned.corrected(logits[:, :2]), logits[:, :2])
