"""Baselines beside the recipes (underdog.pipeline.baselines): fit on the same folds, scored
the same way, marked in every table and report, never taken for a recipe."""

import csv
import io
import json
import sys

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from _tables import TINY, make_frame, toy_table
from underdog.data import Table, table_from_dataset
from underdog.exceptions import DataError, InvalidParameterError, MissingDependencyError
from underdog.metrics import evaluate
from underdog.pipeline import (
    BASELINES,
    RECIPES,
    compare,
    format_table,
    get_recipe,
    prepare_fold,
    report_files,
    resolve_baselines,
)
from underdog.pipeline.baselines import baseline_names, fit_baseline, get_baseline
from underdog.pipeline.recipes import recipe_options

pytest.importorskip("imblearn")


def _binary(n=120):
    frame = make_frame(n, classes=("no", "yes"), weights=(0.8, 0.2))
    labels = (frame.pop("label") == "yes").to_numpy().astype(int)
    return Table(features=frame, labels=labels, classes=("no", "yes"), target="label", name="b")


BINARY = _binary()


@pytest.fixture(scope="module")
def result():
    recipes = [RECIPES["none"], RECIPES["balanced"]]
    return compare(BINARY, recipes, config=TINY, baselines=resolve_baselines("all")[0])


def test_names_never_collide_with_recipes():
    assert not set(BASELINES) & set(recipe_options())
    for name in BASELINES:
        with pytest.raises(InvalidParameterError, match=f"{name!r} is a baseline"):
            get_recipe(name)


def test_each_baseline_is_fit_on_the_folds_training_part_and_scored_the_same_way(result):
    names = [m.name for m in result.methods]
    assert names == ["none", "balanced", *BASELINES]
    for name in BASELINES:
        runs = [r for r in result.runs if r.recipe == name]
        assert len(runs) == TINY.folds * TINY.seeds
        for run in runs:
            np.testing.assert_allclose(run.proba.sum(1), 1, rtol=1e-5)
            assert set(run.scalars) == set(result.metrics) and run.seconds > 0
    # the logistic regression of one fold, fit by hand on the same matrices
    train, test = BINARY.folds(TINY.folds, seed=0)[1]
    fold = prepare_fold(BINARY, train, test, seed=0, fold=1, config=TINY)
    model = LogisticRegression(class_weight="balanced", max_iter=2000, random_state=fold.model_seed)
    model.fit(fold.x_train, fold.y_train)
    scalars, _ = evaluate(fold.y_test, model.predict_proba(fold.x_test),
                          y_pred=model.predict(fold.x_test), minority=result.minority)  # fmt: skip
    run = next(r for r in result.runs if r.recipe == "logreg-balanced" and r.fold == 1)
    assert run.scalars == pytest.approx(scalars)


def test_baselines_are_in_the_summary_and_the_paired_tests(result):
    rows = {row["recipe"]: row for row in result.summary()}
    for name in BASELINES:
        assert rows[name]["kind"] == "baseline" and rows[name]["summary"]
        assert rows[name]["p_value"] is not None and np.isfinite(rows[name]["delta"])
    assert rows["balanced"]["kind"] == "recipe"


def test_baselines_are_marked_in_every_table_and_report(result):
    text = format_table(result)
    assert "logreg-balanced (baseline)" in text and "balanced (baseline)" not in text.replace(
        "logreg-balanced (baseline)", ""
    ).replace("hgb-balanced (baseline)", "")
    assert "underdog does not train it" in text
    files = report_files(result)
    kinds = {
        (r["recipe"], r["kind"]) for r in csv.DictReader(io.StringIO(files["results.csv"].decode()))
    }
    assert ("balanced-rf", "baseline") in kinds and ("balanced", "recipe") in kinds
    summary = json.loads(files["summary.json"])
    assert {r["recipe"]: r["kind"] for r in summary["recipes"]}["smote-logreg"] == "baseline"
    html = files["report.html"].decode()
    assert "smote-logreg (baseline)" in html and "underdog does not train it" in html


def test_parallel_folds_give_the_same_results_with_baselines(result):
    parallel = compare(BINARY, [RECIPES["none"], RECIPES["balanced"]], config=TINY,
                       baselines=resolve_baselines("all")[0], jobs=2)  # fmt: skip
    assert [(r.recipe, r.seed, r.fold) for r in parallel.runs] == [
        (r.recipe, r.seed, r.fold) for r in result.runs
    ]
    for a, b in zip(result.runs, parallel.runs, strict=True):
        assert a.scalars == b.scalars and np.array_equal(a.proba, b.proba)
    assert set(parallel.recipe_seconds) == {m.name for m in parallel.methods}
    assert all(seconds > 0 for seconds in parallel.recipe_seconds.values())


def test_resolving_names():
    assert baseline_names(None) == [] and baseline_names("") == []
    assert baseline_names(" all ") == list(BASELINES)
    assert baseline_names("balanced-rf, logreg-balanced,balanced-rf") == [
        "balanced-rf", "logreg-balanced"
    ]  # fmt: skip
    assert resolve_baselines(None) == ([], [])
    with pytest.raises(InvalidParameterError, match="'name' parameter of get_baseline"):
        resolve_baselines("logreg")
    with pytest.raises(InvalidParameterError, match="must be one of 'logreg-balanced'"):
        get_baseline(3)


def test_without_imblearn_all_skips_its_baselines_and_naming_one_says_what_to_install(
    monkeypatch,
):
    monkeypatch.setitem(sys.modules, "imblearn", None)
    chosen, skipped = resolve_baselines("all")
    assert [b.name for b in chosen] == ["logreg-balanced", "hgb-balanced"]
    assert skipped == ["balanced-rf", "smote-logreg"]
    with pytest.raises(MissingDependencyError, match=r"'balanced-rf' need imbalanced-learn"):
        resolve_baselines("logreg-balanced,balanced-rf")


def test_a_dataset_of_samples_refuses_baselines():
    import torch
    from torch.utils.data import TensorDataset

    dataset = TensorDataset(torch.randn(40, 3), torch.tensor([0, 1] * 20))
    dataset.targets = dataset.tensors[1]
    table = table_from_dataset(dataset, name="samples")
    with pytest.raises(DataError, match="need a table of feature rows"):
        resolve_baselines("all", rows=table.dataset is None, name=table.name)
    with pytest.raises(DataError, match="'baselines' parameter of compare must be empty"):
        compare(table, [RECIPES["none"]], config=TINY, baselines=[BASELINES["logreg-balanced"]])


def test_smote_leaves_a_class_of_one_row_alone():
    table = toy_table(60)
    labels = table.labels.copy()
    labels[np.flatnonzero(labels == 2)[1:]] = 0  # class c: one row
    table = Table(features=table.features, labels=labels, classes=table.classes,
                  target="label", name="one")  # fmt: skip
    rows = np.arange(len(labels))
    fold = prepare_fold(table, rows, rows, seed=0, fold=0, config=TINY)
    proba, y_pred = fit_baseline(BASELINES["smote-logreg"], fold, num_classes=3)
    assert proba.shape == (60, 3) and y_pred.shape == (60,)
