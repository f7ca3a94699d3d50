"""Running recipes on folds: compare and run_fold (underdog.pipeline.runs)."""

import dataclasses

import numpy as np
import pytest

from _tables import TINY, toy_table
from underdog.pipeline import (
    compare,
    prepare_fold,
    run_fold,
)
from underdog.pipeline.recipes import RECIPES


@pytest.fixture(scope="module")
def result():
    config = dataclasses.replace(TINY, seeds=2)
    names = ["balanced", "threshold", "prior-correction"]
    return compare(toy_table(), [RECIPES[n] for n in names], config=config)


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
    result = compare(toy_table(), [RECIPES[n] for n in names], config=TINY)
    assert len(calls) == 2 * TINY.folds  # none and balanced, once per fold
    none = [r for r in result.runs if r.recipe == "none"]
    prior = [r for r in result.runs if r.recipe == "prior-correction"]
    for a, c in zip(none, prior, strict=True):
        # same model: the corrected probabilities are the plain ones re-weighted per class
        ratio = c.proba / a.proba
        ratio = ratio / ratio[:, :1]
        np.testing.assert_allclose(ratio, np.broadcast_to(ratio[:1], ratio.shape), rtol=1e-3)


def test_run_fold_reproduces_compare_on_the_same_fold(result):
    table = toy_table()
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
    fold = prepare_fold(toy_table(), np.arange(60), np.arange(60, 90), seed=0, fold=0, config=TINY)
    for size in (None, 7):
        config = dataclasses.replace(TINY, eval_batch_size=size)
        run_fold([RECIPES["none"]], fold, num_classes=3, minority=2, config=config)
    assert seen == [None, 7]
