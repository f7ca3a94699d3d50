"""Model directories of the tabular recipes (balanced-bag, balanced-bag-forest): the bag's
weights and the forest's arrays in model.pt, their sizes in model.json, no pickle."""

import hashlib
import io
import json
import shutil
import sys

import numpy as np
import pytest
import torch

from _tables import TINY, make_frame
from underdog.data import table_from_frame
from underdog.exceptions import DataError, InvalidParameterError
from underdog.pipeline import CompareConfig
from underdog.pipeline.model import TrainedModel, train_model
from underdog.pipeline.recipes import DEFAULT_RECIPE, RECIPES
from underdog.training import BagForestBlend, BalancedBaggedMLP

pytest.importorskip("imblearn")

CLASSES = {"binary": ("no", "yes"), "multi": ("a", "b", "c")}


def _frame(kind, n=120, seed=0):
    classes = CLASSES[kind]
    weights = (0.85, 0.15) if len(classes) == 2 else (0.6, 0.3, 0.1)
    return make_frame(n, classes=classes, weights=weights, seed=seed)


def _table(kind):
    return table_from_frame(_frame(kind), target="label", name=kind)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """``{(recipe, kind): (trained, directory)}`` of the tabular recipes."""
    out = {}
    for recipe in ("balanced-bag", "balanced-bag-forest"):
        for kind in CLASSES:
            trained = train_model(_table(kind), RECIPES[recipe], config=TINY, seed=3)
            directory = tmp_path_factory.mktemp("models") / f"{recipe}-{kind}"
            trained.save(directory)
            out[(recipe, kind)] = (trained, directory)
    return out


@pytest.mark.parametrize("kind", list(CLASSES))
@pytest.mark.parametrize("recipe", ["balanced-bag", "balanced-bag-forest"])
def test_a_saved_tabular_model_loads_and_predicts_the_same(saved, recipe, kind, monkeypatch):
    trained, directory = saved[(recipe, kind)]
    meta = json.loads((directory / "model.json").read_text())
    assert meta["recipe"] == recipe and meta["model"]["factory"] == recipe
    arguments = meta["model"]["arguments"]
    assert arguments["hidden"] == [64] and arguments["members"] == 8
    assert ("trees" in arguments) is (recipe == "balanced-bag-forest")
    monkeypatch.setitem(sys.modules, "imblearn", None)  # loading needs no imbalanced-learn
    loaded = TrainedModel.load(directory)
    kind_of = BagForestBlend if recipe == "balanced-bag-forest" else BalancedBaggedMLP
    assert isinstance(loaded.module, kind_of) and not loaded.module.training
    frame = _frame(kind, n=25, seed=4)
    labels, proba = loaded.predict(frame)
    expected_labels, expected = trained.predict(frame)
    np.testing.assert_array_equal(proba, expected)
    assert labels == expected_labels and set(labels) <= set(CLASSES[kind])
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-6)


def test_the_default_trains_on_the_rows_and_the_validation_split(saved, monkeypatch):
    trained, _ = saved[(DEFAULT_RECIPE, "binary")]
    assert trained.info["epochs_run"] == 100 and trained.posthoc.kind == "none"
    assert trained.info["rows"] == 120
    from underdog.pipeline import trainer

    seen = []
    fit_bag = trainer.fit_balanced_bag
    monkeypatch.setattr(trainer, "fit_balanced_bag",
                        lambda x, y, **kw: seen.append(len(y)) or fit_bag(x, y, **kw))  # fmt: skip
    table = table_from_frame(_frame("binary"), target="label", name="t")
    train_model(table, RECIPES["balanced-bag"], config=CompareConfig(val_fraction=0.25))
    assert seen == [120]  # all rows, not the 90 left after the validation split


def _resigned(directory, tmp_path, state=None, meta_change=None):
    copy = tmp_path / "copy"
    shutil.copytree(directory, copy)
    meta = json.loads((copy / "model.json").read_text())
    if state is not None:
        buffer = io.BytesIO()
        torch.save(state, buffer)
        (copy / "model.pt").write_bytes(buffer.getvalue())
        meta["weights"]["sha256"] = hashlib.sha256(buffer.getvalue()).hexdigest()
    if meta_change is not None:
        meta_change(meta["model"]["arguments"])
    (copy / "model.json").write_text(json.dumps(meta))
    return copy


def test_a_forest_whose_indices_point_outside_its_arrays_is_bad_input(saved, tmp_path):
    _, directory = saved[("balanced-bag-forest", "binary")]
    state = torch.load(directory / "model.pt", weights_only=True)
    state["forest.left"][3, 0] = 10**6
    with pytest.raises(DataError, match="The forest's 'left' indices must lie in"):
        TrainedModel.load(_resigned(directory, tmp_path, state))


def test_forest_sizes_that_the_weights_do_not_have_are_bad_input(saved, tmp_path):
    _, directory = saved[("balanced-bag-forest", "binary")]
    copy = _resigned(directory, tmp_path, meta_change=lambda a: a.update(nodes=a["nodes"] + 1))
    with pytest.raises(DataError, match="'forest.feature' has shape"):
        TrainedModel.load(copy)
    copy = _resigned(directory, tmp_path / "b", meta_change=lambda a: a.update(trees=0))
    with pytest.raises(DataError, match=r"'model.arguments.trees' must be an int in \[1, 65536\]"):
        TrainedModel.load(copy)


def test_a_tabular_model_is_never_named_by_model_nor_built_with_another(saved, tmp_path):
    _, directory = saved[("balanced-bag", "multi")]
    with pytest.raises(InvalidParameterError, match="must be 'balanced-bag', the factory"):
        TrainedModel.load(directory, model="mlp")
    with pytest.raises(InvalidParameterError, match="'model' parameter of compare must be"):
        CompareConfig(model="balanced-bag").check(num_classes=2)
    with pytest.raises(InvalidParameterError, match="which trains its own network"):
        train_model(_table("binary"), RECIPES["balanced-bag"], config=CompareConfig(model="cnn"))
