import dataclasses

import numpy as np
import pytest
import torch
from scipy import stats

from _tables import TINY, make_frame
from underdog.data.tables import Table
from underdog.exceptions import InvalidParameterError
from underdog.pipeline import (
    CompareConfig,
    compare,
    paired_test,
    prepare_fold,
    run_fold,
    validation_score,
)
from underdog.pipeline.recipes import RECIPES


def _table():
    frame = make_frame(90)
    labels = np.searchsorted(["a", "b", "c"], frame.pop("label").to_numpy())
    return Table(features=frame, labels=labels, classes=("a", "b", "c"), target="label",
                 name="toy")  # fmt: skip


@pytest.fixture(scope="module")
def result():
    config = dataclasses.replace(TINY, seeds=2)
    names = ["balanced", "threshold", "prior-correction"]
    return compare(_table(), [RECIPES[n] for n in names], config=config)


def test_every_recipe_sees_the_same_folds(result):
    assert [r.name for r in result.recipes] == ["none", "balanced", "threshold", "prior-correction"]
    by_recipe = {}
    for run in result.runs:
        by_recipe.setdefault(run.recipe, []).append((run.seed, run.fold, run.y_true.tolist()))
    reference = by_recipe["none"]
    assert len(reference) == 4
    assert all(v == reference for v in by_recipe.values())
    # the two seeds use different folds
    assert reference[0][2] != reference[2][2]


def test_posthoc_recipes_reuse_the_model_of_none(monkeypatch):
    import underdog.pipeline.trainer

    calls = []
    real_fit = underdog.pipeline.trainer.fit

    def counting_fit(*args, **kwargs):
        calls.append(kwargs["seed"])
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(underdog.pipeline.trainer, "fit", counting_fit)
    names = ["none", "threshold", "prior-correction", "balanced"]
    result = compare(_table(), [RECIPES[n] for n in names], config=TINY)
    assert len(calls) == 2 * TINY.folds  # none and balanced, once per fold
    none = [r for r in result.runs if r.recipe == "none"]
    prior = [r for r in result.runs if r.recipe == "prior-correction"]
    for a, c in zip(none, prior, strict=True):
        # same model: the corrected probabilities are the plain ones re-weighted per class
        ratio = c.proba / a.proba
        ratio = ratio / ratio[:, :1]
        np.testing.assert_allclose(ratio, np.broadcast_to(ratio[:1], ratio.shape), rtol=1e-3)


def test_run_fold_reproduces_compare_on_the_same_fold(result):
    table = _table()
    config = dataclasses.replace(TINY, seeds=2)
    train, test = table.folds(config.folds, seed=1)[0]
    fold = prepare_fold(table, train, test, seed=1, fold=0, config=config)
    names = ["none", "balanced", "threshold", "prior-correction"]
    runs = run_fold([RECIPES[n] for n in names], fold, num_classes=3,
                    minority=int(table.counts.argmin()), config=config)  # fmt: skip
    assert [r.recipe for r in runs] == names
    for run in runs:
        (same,) = [r for r in result.runs if (r.recipe, r.seed, r.fold) == (run.recipe, 1, 0)]
        np.testing.assert_array_equal(run.y_true, same.y_true)
        np.testing.assert_array_equal(run.y_pred, same.y_pred)
        np.testing.assert_allclose(run.proba, same.proba, rtol=1e-6)
        assert run.scalars == same.scalars


def test_prepare_fold_fits_the_preprocessing_on_the_training_part_only():
    table = _table()
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


def test_summary_is_sorted_and_has_deltas(result):
    rows = result.summary()
    means = [r["balanced_accuracy"]["mean"] for r in rows]
    assert means == sorted(means, reverse=True)
    by_name = {r["recipe"]: r for r in rows}
    assert by_name["none"]["delta"] == 0 and by_name["none"]["p_value"] is None
    delta = np.mean(
        result.values("balanced", "balanced_accuracy") - result.values("none", "balanced_accuracy")
    )
    assert by_name["balanced"]["delta"] == pytest.approx(delta)
    v = result.values("balanced", "macro_f1")
    assert by_name["balanced"]["macro_f1"]["std"] == pytest.approx(np.std(v, ddof=1))
    assert result.best == rows[0]["recipe"]
    assert 0 < result.ratio < 1.5


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


def test_validation_score_is_balanced_accuracy_with_a_tie_break():
    y = np.array([0, 0, 1])
    confident = np.array([[5.0, 0], [5, 0], [0, 5]])
    unsure = np.array([[0.1, 0], [0.1, 0], [0, 0.1]])
    assert validation_score(confident, y) == pytest.approx(1.0, abs=1e-3)
    assert validation_score(confident, y) > validation_score(unsure, y)


def test_bad_config():
    with pytest.raises(InvalidParameterError, match="'metric' parameter of compare"):
        compare(_table(), [RECIPES["none"]], config=CompareConfig(metric="roc_auc"))
    for size in (0, 2.5, "64"):
        with pytest.raises(InvalidParameterError, match="'eval_batch_size' parameter of compare"):
            compare(_table(), [RECIPES["none"]], config=CompareConfig(eval_batch_size=size))


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("hidden", (128, 0), "must be a sequence of ints in [1, inf). Got (128, 0) instead."),
        ("hidden", 128, "must be a sequence of ints in [1, inf). Got 128 instead."),
        ("hidden", "128", "must be a sequence of ints in [1, inf). Got '128' instead."),
        ("hidden", (64.0,), "must be a sequence of ints in [1, inf). Got (64.0,) instead."),
        ("hidden", (True,), "must be a sequence of ints in [1, inf). Got (True,) instead."),
        ("num_threads", 0, "must be an int in [1, inf). Got 0 instead."),
        ("num_threads", 2.0, "must be an int in [1, inf). Got 2.0 instead."),
        ("device", "gpu", "a device string such as 'cpu' or 'cuda:0'. Got 'gpu' instead."),
        ("device", "cuda:-1", "a device string such as 'cpu' or 'cuda:0'. Got 'cuda:-1' instead."),
        ("device", 0, "must be None, a torch.device or a device string such as 'cpu' or"),
    ],
)
def test_bad_model_settings_are_caught_before_training(field, value, expected):
    """hidden, num_threads and device are checked with the other settings, by the config
    itself: not later, inside mlp() or fit()."""
    config = dataclasses.replace(TINY, **{field: value})
    with pytest.raises(InvalidParameterError) as info:
        compare(_table(), [RECIPES["none"]], config=config)
    assert str(info.value).startswith(f"The '{field}' parameter of compare ")
    assert expected in str(info.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("hidden", ()),  # a linear model
        ("hidden", [16, 8]),
        ("num_threads", None),  # leaves PyTorch's setting alone
        ("device", "cpu"),
        ("device", torch.device("cpu")),
        ("device", "cuda:1"),  # a valid name; whether it is there is fit's business
    ],
)
def test_valid_model_settings_pass_the_check(field, value):
    dataclasses.replace(TINY, **{field: value}).check(num_classes=3)


def test_eval_batch_size_reaches_fit(monkeypatch):
    """The training options of the config are fit's; eval_batch_size too (None: fit uses
    the training batch size)."""
    import underdog.pipeline.trainer

    seen = []

    def spy(*args, **kwargs):
        seen.append(kwargs["eval_batch_size"])
        return fit(*args, **kwargs)

    fit = underdog.pipeline.trainer.fit
    monkeypatch.setattr(underdog.pipeline.trainer, "fit", spy)
    fold = prepare_fold(_table(), np.arange(60), np.arange(60, 90), seed=0, fold=0, config=TINY)
    for size in (None, 7):
        config = dataclasses.replace(TINY, eval_batch_size=size)
        run_fold([RECIPES["none"]], fold, num_classes=3, minority=2, config=config)
    assert seen == [None, 7]
