"""underdog.sklearn.UnderdogClassifier: scikit-learn's own estimator checks, labels of any
type, class_weight and sample_weight against scikit-learn's helpers, the decision rules,
and the estimator inside Pipeline / ColumnTransformer, GridSearchCV, cross_val_score with
two processes and TunedThresholdClassifierCV."""

from __future__ import annotations

import json
import os
import pickle
import re
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError
from sklearn.metrics import balanced_accuracy_score, f1_score, make_scorer
from sklearn.model_selection import (
    GridSearchCV,
    StratifiedKFold,
    TunedThresholdClassifierCV,
    cross_val_score,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.class_weight import compute_class_weight, compute_sample_weight
from sklearn.utils.estimator_checks import parametrize_with_checks

import underdog
from _paths import SRC
from underdog._sklearn_weights import class_weights, row_weights
from underdog.pipeline import CompareConfig
from underdog.pipeline.recipes import DEFAULT_LOSS_RECIPE
from underdog.sklearn import UnderdogClassifier

#: Small and fast: a tiny network, few epochs, a learning rate that gets there in time.
FAST = {"hidden": (16,), "epochs": 20, "lr": 0.01}

#: scikit-learn's checks this estimator fails on purpose, and why (issue 12's closing note).
EXPECTED_FAILED_CHECKS = {
    "check_sample_weight_equivalence_on_dense_data": (
        "training is stochastic: mini-batches drawn anew each epoch and a validation split "
        "drawn per class, so a row of weight 2 is not the same as that row twice (weights "
        "do scale the loss: test_class_weight_is_a_per_row_weight_of_the_loss)"
    ),
    "check_sample_weight_equivalence_on_sparse_data": (
        "as check_sample_weight_equivalence_on_dense_data (sparse input is made dense)"
    ),
    "check_methods_subset_invariance": (
        "the network computes in float32, whose matrix products round differently with the "
        "number of rows: results on a subset differ in the last bits (~2e-7, above the "
        "check's atol=1e-7); test_predictions_do_not_depend_on_the_batch checks 1e-6"
    ),
}


def _data(n=240, classes=3, seed=0, weights=(0.7, 0.2)):
    x, y = make_classification(
        n, n_features=6, n_informative=4, n_classes=classes, weights=weights[: classes - 1],
        random_state=seed,
    )  # fmt: skip
    return x, y


X, Y = _data()
LABELS = np.array(["cat", "dog", "emu"])[Y]


@parametrize_with_checks(
    [UnderdogClassifier(**FAST)], expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


# ---------------------------------------------------------------------------- parameters


def test_defaults_are_the_pipelines():
    params = UnderdogClassifier().get_params()
    config = CompareConfig()
    shared = {f.name for f in fields(CompareConfig)} & set(params)
    assert len(shared) == 11
    assert {name: params[name] for name in shared} == {n: getattr(config, n) for n in shared}
    assert params["recipe"] == DEFAULT_LOSS_RECIPE == "logit-adjusted"
    assert params["class_weight"] is None and params["random_state"] is None


BAD_PARAMS = {
    "recipe": ("nope", r"must be a str among \{.*'balanced'.*\}. Got 'nope' instead"),
    "hidden": (8, r"must be an instance of 'tuple' or an instance of 'list'. Got 8 instead"),
    "dropout": (1.0, r"must be a float in the range \[0.0, 1.0\) or None. Got 1.0 instead"),
    "epochs": (0, r"must be an int in the range \[1, inf\). Got 0 instead"),
    "batch_size": (0.5, r"must be an int in the range \[1, inf\) or None. Got 0.5 instead"),
    "lr": (0, r"must be a float in the range \(0.0, inf\) or None. Got 0 instead"),
    "weight_decay": (-1.0, r"must be a float in the range \[0.0, inf\). Got -1.0 instead"),
    "patience": (0, r"must be an int in the range \[1, inf\) or None. Got 0 instead"),
    "val_fraction": (0.95, r"must be a float in the range \[0.0, 0.9\]. Got 0.95 instead"),
    "metric": ("accuracy", r"must be a str among .*'balanced_accuracy'.*Got 'accuracy' instead"),
    "class_weight": ("auto", r"must be a str among \{'balanced'\}, an instance of 'dict' or "),
    "device": (0, r"must be an instance of 'str', an instance of 'torch.device' or None"),
    "num_threads": (0, r"must be an int in the range \[1, inf\) or None. Got 0 instead"),
    "random_state": ("seed", r"must be an int in the range \[0, 4294967295\], an instance of"),
}


def test_every_constrained_parameter_is_swept():
    assert set(BAD_PARAMS) == set(UnderdogClassifier._parameter_constraints)
    assert set(BAD_PARAMS) == set(UnderdogClassifier().get_params())


@pytest.mark.parametrize("name", sorted(BAD_PARAMS))
def test_a_bad_parameter_raises_when_fit(name):
    value, pattern = BAD_PARAMS[name]
    clf = UnderdogClassifier(**{name: value})  # stored as given
    assert clf.get_params()[name] == value
    with pytest.raises(underdog.InvalidParameterError) as info:
        clf.fit(X, Y)
    assert str(info.value).startswith(f"The '{name}' parameter of UnderdogClassifier must ")
    assert re.search(pattern, str(info.value))
    assert isinstance(info.value, (ValueError, TypeError))


@pytest.mark.parametrize(
    ("params", "y", "error", "text"),
    [
        ({"hidden": (8, 0)}, Y, underdog.InvalidParameterError,
         "The 'hidden' parameter of UnderdogClassifier must be a sequence of ints in [1, inf). "
         "Got (8, 0) instead."),
        ({"device": "gpu:x"}, Y, underdog.InvalidParameterError,
         "The 'device' parameter of UnderdogClassifier must be None, a torch.device or a device "
         "string such as 'cpu' or 'cuda:0'. Got 'gpu:x' instead."),
        ({"metric": "roc_auc"}, Y, underdog.InvalidParameterError,
         "The 'metric' parameter of UnderdogClassifier must be one of"),
        ({"recipe": "pos-weight"}, Y, underdog.DataError,
         "The recipe 'pos-weight' needs a binary target. Got 3 classes in y instead."),
        ({}, np.full(len(Y), "a"), underdog.DataError,
         "The 'y' parameter of UnderdogClassifier.fit must hold at least two classes. Got one "
         "class, 'a', instead."),
        ({"class_weight": {"cat": 1.0, "cow": 2.0}}, LABELS, underdog.InvalidParameterError,
         "The 'class_weight' parameter of UnderdogClassifier must have classes of y as keys (a "
         "class left out weighs 1). Got the keys ['cow'], which are no class, and no weight for "
         "the classes ['dog', 'emu'] instead."),
        ({"class_weight": {"cat": -1.0}}, LABELS, underdog.InvalidParameterError,
         "The 'class_weight' parameter of UnderdogClassifier must be a float in [0, inf). Got "
         "-1.0 instead."),
        ({"class_weight": {"cat": 0, "dog": 0, "emu": 0}}, LABELS, underdog.DataError,
         "The 'sample_weight' parameter of UnderdogClassifier.fit must leave a positive weight"),
    ],
)  # fmt: skip
def test_bad_settings_and_data_raise_with_one_sentence(params, y, error, text):
    with pytest.raises(error) as info:
        UnderdogClassifier(**params, **{"epochs": 1}).fit(X, y)
    assert str(info.value).startswith(text)


def test_bad_sample_weights_raise():
    clf = UnderdogClassifier(epochs=1)
    with pytest.raises(ValueError, match="Negative values in data passed to `sample_weight`"):
        clf.fit(X, Y, sample_weight=-np.ones(len(Y)))
    with pytest.raises(ValueError, match="Sample weights must contain at least one non-zero"):
        clf.fit(X, Y, sample_weight=np.zeros(len(Y)))
    weight = np.where(Y == 2, 0.0, 1.0)
    with pytest.raises(underdog.DataError, match=r"a total of 0 for the classes \[2\]"):
        clf.set_params(class_weight="balanced").fit(X, Y, sample_weight=weight)


def test_predicting_needs_a_fit_with_as_many_features():
    with pytest.raises(NotFittedError):
        UnderdogClassifier().predict(X)
    clf = UnderdogClassifier(epochs=1).fit(X, Y)
    with pytest.raises(ValueError, match="X has 5 features, but UnderdogClassifier is expecting 6"):
        clf.predict(X[:, :5])


# ---------------------------------------------------------------------------- labels, rules


@pytest.mark.parametrize(
    "labels",
    [
        np.array(["cat", "dog", "emu"]),
        np.array([3, 7, 11]),
        np.array([-1.0, 0.0, 2.0]),
        np.array(["no", "yes"], dtype=object),
        np.array([False, True]),
    ],
    ids=["str", "int", "float", "object", "bool"],
)
def test_any_label_type_trains_the_same_network(labels):
    y = Y % len(labels)
    reference = UnderdogClassifier(**FAST, random_state=0).fit(X, y)
    clf = UnderdogClassifier(**FAST, random_state=0).fit(X, labels[y])
    assert list(clf.classes_) == list(labels)
    np.testing.assert_array_equal(clf.predict_proba(X), reference.predict_proba(X))
    np.testing.assert_array_equal(clf.predict(X), labels[reference.predict(X)])


@pytest.mark.parametrize(
    "recipe",
    ["none", DEFAULT_LOSS_RECIPE, "prior-correction", "threshold", "balanced-bag",
     "balanced-bag-forest"],
)  # fmt: skip
@pytest.mark.parametrize("classes", [2, 3])
def test_decision_function_agrees_with_predict_and_predict_proba(recipe, classes):
    x, y = _data(classes=classes, seed=1)
    labels = np.array(["no", "yes", "maybe"])[y]
    clf = UnderdogClassifier(recipe, **FAST, random_state=0).fit(x, labels)
    decision, proba, predicted = clf.decision_function(x), clf.predict_proba(x), clf.predict(x)
    assert proba.shape == (len(x), classes)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    if classes == 2:
        assert decision.shape == (len(x),)
        np.testing.assert_array_equal(predicted, clf.classes_[(decision > 0).astype(int)])
        order = np.argsort(decision, kind="stable")
        assert np.all(np.diff(proba[order, 1]) >= -1e-12)  # proba rises with the score
    else:
        assert decision.shape == (len(x), classes)
        np.testing.assert_array_equal(predicted, clf.classes_[decision.argmax(1)])
    if recipe != "threshold" or classes > 2:  # a threshold moves the decision only
        np.testing.assert_array_equal(predicted, clf.classes_[proba.argmax(1)])


def test_predictions_do_not_depend_on_the_batch():
    clf = UnderdogClassifier(**FAST, random_state=0).fit(X, Y)
    whole = clf.decision_function(X)
    rows = np.concatenate([clf.decision_function(X[i : i + 7]) for i in range(0, len(X), 7)])
    np.testing.assert_allclose(rows, whole, rtol=1e-6, atol=1e-6)


def test_random_state_makes_training_deterministic():
    first = UnderdogClassifier(**FAST, random_state=3).fit(X, Y).predict_proba(X)
    again = UnderdogClassifier(**FAST, random_state=3).fit(X, Y).predict_proba(X)
    other = UnderdogClassifier(**FAST, random_state=4).fit(X, Y).predict_proba(X)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)
    state = np.random.RandomState(0)
    UnderdogClassifier(epochs=1, random_state=state).fit(X, Y)  # draws its seed from it
    assert state.randint(10**6) != np.random.RandomState(0).randint(10**6)


def test_threads_are_restored_and_the_model_pickles():
    before = torch.get_num_threads()
    clf = UnderdogClassifier(**FAST, num_threads=1, random_state=0).fit(X, Y)
    clf.predict(X)
    assert torch.get_num_threads() == before
    copy = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(copy.predict_proba(X), clf.predict_proba(X))


# ---------------------------------------------------------------------------- weights


def _label_sets():
    kinds = {
        "int": st.lists(st.integers(-5, 5), min_size=2, max_size=4, unique=True),
        "str": st.lists(st.text("abc", min_size=1, max_size=2), min_size=2, max_size=4,
                        unique=True),
    }  # fmt: skip
    return st.one_of(*kinds.values())


@settings(max_examples=40, deadline=None)
@given(
    labels=_label_sets(),
    data=st.data(),
)
def test_class_weights_are_scikit_learns(labels, data):
    classes = np.array(sorted(labels))
    encoded = np.array(data.draw(st.lists(st.integers(0, len(classes) - 1), min_size=20,
                                          max_size=40)))  # fmt: skip
    encoded[: len(classes)] = np.arange(len(classes))  # every class occurs
    y = classes[encoded]
    sample = np.array(data.draw(st.lists(st.floats(0.1, 5.0), min_size=len(y), max_size=len(y))))
    picked = data.draw(st.lists(st.sampled_from(list(classes)), unique=True, max_size=len(classes)))
    given_weights = {c.item(): data.draw(st.floats(0.0, 10.0)) for c in picked}
    for class_weight, sw in [("balanced", None), ("balanced", sample), (given_weights, None)]:
        ours = class_weights(class_weight, classes, encoded, sample_weight=sw, owner="t")
        theirs = compute_class_weight(class_weight, classes=classes, y=y, sample_weight=sw)
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
        expected = compute_sample_weight(class_weight, y) if sw is None else theirs[encoded] * sw
        everything = np.arange(len(y))
        if not expected.any():  # every class given weight 0
            with pytest.raises(underdog.DataError, match="must leave a positive weight"):
                row_weights(class_weight, sw, classes=classes, encoded=encoded, train=everything,
                            owner="t")  # fmt: skip
            continue
        rows = row_weights(class_weight, sw, classes=classes, encoded=encoded, train=everything,
                           owner="t")  # fmt: skip
        np.testing.assert_allclose(rows.loss(everything), expected, rtol=1e-12)


def test_class_weight_keys_of_any_type_and_extra_keys():
    bools = np.array([False, True])
    assert class_weights({True: 3.0}, bools, np.array([0, 1]), owner="t").tolist() == [1.0, 3.0]
    # every class weighted: keys that are no class are ignored, as in scikit-learn (a fold
    # of cross-validation may lack a class)
    weights = class_weights({"a": 2.0, "b": 1.0, "z": 9.0}, np.array(["a", "b"]),
                            np.array([0, 1]), owner="t")  # fmt: skip
    assert weights.tolist() == [2.0, 1.0]


@pytest.mark.parametrize("class_weight", ["balanced", {"cat": 1.0, "dog": 4.0, "emu": 0.5}])
def test_class_weight_is_a_per_row_weight_of_the_loss(class_weight):
    """Without a validation split (so the same rows and no early stopping), class_weight
    trains the network that the rows' weights from compute_sample_weight train."""
    settings = {**FAST, "val_fraction": 0.0, "random_state": 0}
    by_class = UnderdogClassifier("none", class_weight=class_weight, **settings).fit(X, LABELS)
    by_row = UnderdogClassifier("none", **settings).fit(
        X, LABELS, sample_weight=compute_sample_weight(class_weight, LABELS)
    )
    np.testing.assert_allclose(by_class.predict_proba(X), by_row.predict_proba(X), atol=1e-6)


def test_balanced_class_weight_is_the_balanced_recipe():
    settings = {**FAST, "val_fraction": 0.0, "random_state": 0}
    recipe = UnderdogClassifier("balanced", **settings).fit(X, LABELS)
    weighted = UnderdogClassifier("none", class_weight="balanced", **settings).fit(X, LABELS)
    np.testing.assert_allclose(recipe.predict_proba(X), weighted.predict_proba(X), atol=1e-6)


@pytest.mark.parametrize("recipe", [DEFAULT_LOSS_RECIPE, "ldam-drw", "resample", "threshold"])
def test_weights_of_one_train_the_same_network_as_none(recipe):
    """The weighted path repeats train_recipe's call with sample weights: it must not drift."""
    plain = UnderdogClassifier(recipe, **FAST, random_state=0).fit(X, Y)
    ones = UnderdogClassifier(recipe, **FAST, random_state=0).fit(X, Y, sample_weight=[1.0] * 240)
    assert ones.best_epoch_ == plain.best_epoch_ and ones.posthoc_ == plain.posthoc_
    np.testing.assert_array_equal(ones.predict_proba(X), plain.predict_proba(X))


@pytest.mark.parametrize("recipe", ["balanced-bag", "balanced-bag-forest"])
@pytest.mark.parametrize("weights", ["class_weight", "sample_weight"])
def test_the_bag_recipes_refuse_row_weights(recipe, weights):
    """The bags balance the classes by sampling: a weight would be silently dropped."""
    clf = UnderdogClassifier(recipe, random_state=0)
    fit = {"sample_weight": np.ones(len(Y))} if weights == "sample_weight" else {}
    if weights == "class_weight":
        clf.set_params(class_weight="balanced")
    with pytest.raises(underdog.InvalidParameterError) as info:
        clf.fit(X, Y, **fit)
    assert str(info.value) == (
        "The 'recipe' parameter of UnderdogClassifier must be a recipe that trains with a loss "
        "when class_weight or sample_weight is given (the bag recipes train on class-balanced "
        f"bootstraps and take no per-row weights). Got '{recipe}' instead."
    )


def test_early_stopping_follows_the_class_weights():
    """{0: 1000, others: 1e-4} says only class 0 matters: the weighted validation score keeps
    the epoch that predicts it (an unweighted balanced accuracy would keep an early one)."""
    x, y = _data(seed=2, weights=(0.34, 0.33))
    clf = UnderdogClassifier("none", **FAST, random_state=0, patience=3)
    clf.set_params(class_weight={0: 1000, 1: 1e-4, 2: 1e-4}).fit(x, y)
    assert np.mean(clf.predict(x) == 0) > 0.95


# ---------------------------------------------------------------------------- scikit-learn tools


def _frame(n=300, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "amount": rng.lognormal(3, 1, n),
        "age": rng.integers(18, 90, n).astype(float),
        "channel": rng.choice(["web", "shop", "phone"], n),
        "country": rng.choice(["fr", "de", "it", "es"], n),
    })  # fmt: skip
    risk = (np.log(frame["amount"]) - 3) + (frame["channel"] == "phone") * 1.5
    target = np.where(risk + rng.normal(0, 0.5, n) > 1.6, "fraud", "ok")
    return frame, target


def _pipeline(**params):
    columns = ColumnTransformer([
        ("numeric", StandardScaler(), ["amount", "age"]),
        ("categorical", OneHotEncoder(handle_unknown="ignore"), ["channel", "country"]),
    ])  # fmt: skip
    return make_pipeline(columns, UnderdogClassifier(**{**FAST, "random_state": 0, **params}))


def test_in_a_pipeline_with_a_column_transformer():
    frame, target = _frame()
    assert 0.05 < np.mean(target == "fraud") < 0.3
    model = _pipeline().fit(frame, target)
    clf = model[-1]
    assert list(clf.classes_) == ["fraud", "ok"] and clf.n_features_in_ == 2 + 3 + 4
    predicted = model.predict(frame)
    assert set(predicted) <= {"fraud", "ok"}
    recall = np.mean(predicted[target == "fraud"] == "fraud")
    assert recall > 0.6
    assert model.predict_proba(frame.iloc[:5]).shape == (5, 2)


def test_feature_names_are_checked():
    frame, target = _frame()
    numeric = frame[["amount", "age"]]
    clf = UnderdogClassifier(epochs=1).fit(numeric, target)
    assert list(clf.feature_names_in_) == ["amount", "age"]
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        clf.predict(numeric.to_numpy())


def test_grid_search_over_recipes():
    frame, target = _frame()
    grid = GridSearchCV(
        _pipeline(),
        {"underdogclassifier__recipe": ["none", "balanced"],
         "underdogclassifier__hidden": [(8,), ()]},
        scoring="balanced_accuracy",
        cv=StratifiedKFold(2, shuffle=True, random_state=0),
    ).fit(frame, target)  # fmt: skip
    assert len(grid.cv_results_["params"]) == 4
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
    best = grid.best_estimator_[-1]
    assert best.recipe == grid.best_params_["underdogclassifier__recipe"]
    assert grid.predict(frame.iloc[:3]).shape == (3,)


def _balanced_accuracy_on_one_thread(estimator, x, y):
    """Balanced accuracy; an error when the network predicts on more than one thread."""
    seen = []
    network = estimator[-1].model_
    hook = network.register_forward_hook(lambda *args: seen.append(torch.get_num_threads()))
    predicted = estimator.predict(x)
    hook.remove()
    if not seen or max(seen) != 1:
        raise AssertionError(f"predicted with {seen} threads")
    return balanced_accuracy_score(y, predicted)


def test_cross_val_score_in_two_processes(monkeypatch):
    """The estimator pickles into worker processes (which import this underdog), trains the
    same models there as here, and predicts on one thread in each."""
    path = os.pathsep.join(p for p in (SRC, os.environ.get("PYTHONPATH")) if p)
    monkeypatch.setenv("PYTHONPATH", path)
    frame, target = _frame()
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    here = cross_val_score(_pipeline(), frame, target, cv=cv, scoring="balanced_accuracy")
    there = cross_val_score(_pipeline(), frame, target, cv=cv, n_jobs=2, error_score="raise",
                            scoring=_balanced_accuracy_on_one_thread)  # fmt: skip
    np.testing.assert_array_equal(there, here)
    assert np.all(here > 0.6)


def test_tuned_threshold_classifier():
    frame, target = _frame()
    tuned = TunedThresholdClassifierCV(
        _pipeline(recipe="none"), scoring=make_scorer(f1_score, pos_label="fraud"),
        cv=StratifiedKFold(2, shuffle=True, random_state=0),
    ).fit(frame, target)  # fmt: skip
    assert 0.0 < tuned.best_threshold_ < 1.0
    proba = tuned.estimator_.predict_proba(frame)[:, list(tuned.classes_).index("fraud")]
    expected = np.where(proba >= tuned.best_threshold_, "fraud", "ok")
    np.testing.assert_array_equal(tuned.predict(frame), expected)


# ---------------------------------------------------------------------------- package, docs


def test_import_underdog_does_not_import_the_estimator():
    script = (
        "import json, sys\nimport underdog\n"
        "print(json.dumps(['underdog.sklearn' in sys.modules, 'sklearn.base' in sys.modules]))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": SRC}, timeout=120, check=True)  # fmt: skip
    assert json.loads(done.stdout)[0] is False


def test_the_docs_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = (Path(__file__).resolve().parents[1] / "docs" / "sklearn.md").read_text()
    namespace: dict = {}
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "docs/sklearn.md", "exec"), namespace)  # noqa: S102 - our docs
    assert list(namespace["model"].classes_) == ["fraud", "ok"]
    assert namespace["grid"].best_params_["underdogclassifier__recipe"] in ("balanced", "threshold")
    assert 0 < namespace["tuned"].best_threshold_ < 1
    assert list(tmp_path.iterdir()) == []  # it writes nothing
