import dataclasses
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from _tables import TINY, make_frame
from underdog.data.tables import Table
from underdog.exceptions import DataError, InvalidParameterError, MissingDependencyError
from underdog.pipeline import compare
from underdog.pipeline.recipes import (
    DEFAULT_LOSS_RECIPE,
    DEFAULT_NEURAL_RECIPE,
    DEFAULT_RECIPE,
    DEFAULT_RECIPES,
    EFFECTIVE_BETA,
    LARGE_TABLE_ROWS,
    RECIPES,
    Recipe,
    default_recipe,
    get_recipe,
    recipe_names,
    resolve_recipes,
)
from underdog.samplers import ClassBalancedSampler
from underdog.weights import class_weight

COUNTS = torch.tensor([80, 15, 5])


def _table(classes=("a", "b", "c"), weights=(0.6, 0.3, 0.1)):
    frame = make_frame(90, classes=classes, weights=weights)
    labels = np.searchsorted(classes, frame.pop("label").to_numpy())
    return Table(features=frame, labels=labels, classes=classes, target="label", name="toy")


MULTI, BINARY = _table(), _table(("no", "yes"), (0.8, 0.2))


@pytest.mark.parametrize("name", list(RECIPES))
def test_each_recipe_end_to_end(name):
    table = BINARY if RECIPES[name].binary_only else MULTI
    result = compare(table, [RECIPES["none"], RECIPES[name]], config=TINY)
    runs = [r for r in result.runs if r.recipe == name]
    assert len(runs) == TINY.folds * TINY.seeds
    for run in runs:
        assert all(np.isfinite(v) for v in run.scalars.values())
        np.testing.assert_allclose(run.proba.sum(1), 1, rtol=1e-5)
        assert run.y_pred.shape == run.y_true.shape


REQUIRED = ["none", "balanced", "inverse", "inverse-sqrt", "effective", "pos-weight", "focal",
            "class-balanced-focal", "ldam-drw", "logit-adjusted", "resample", "threshold",
            "prior-correction"]  # fmt: skip


def test_the_default_recipe_is_a_registered_default_for_any_number_of_classes():
    recipe = RECIPES[DEFAULT_RECIPE]
    assert DEFAULT_RECIPE in DEFAULT_RECIPES and not recipe.binary_only
    recipe.check(num_classes=10)


def test_the_default_is_the_hybrid_on_tables_the_bag_without_imblearn_and_a_loss_elsewhere(
    monkeypatch,
):
    pytest.importorskip("imblearn")
    assert default_recipe() == DEFAULT_RECIPE == "balanced-bag-forest"
    assert default_recipe(rows=False) == default_recipe(model="cnn") == DEFAULT_LOSS_RECIPE
    assert default_recipe(num_rows=LARGE_TABLE_ROWS) == DEFAULT_RECIPE
    assert default_recipe(num_rows=LARGE_TABLE_ROWS + 1) == DEFAULT_LOSS_RECIPE
    monkeypatch.setitem(sys.modules, "imblearn", None)
    assert default_recipe() == DEFAULT_NEURAL_RECIPE == "balanced-bag"
    with pytest.raises(MissingDependencyError, match="needs imbalanced-learn"):
        RECIPES["balanced-bag-forest"].check(num_classes=2)
    names = [r.name for r in resolve_recipes("all", num_classes=3)]
    assert "balanced-bag" in names and "balanced-bag-forest" not in names


@pytest.mark.parametrize("name", ["balanced-bag", "balanced-bag-forest"])
def test_recipes_of_their_own_network_need_feature_rows_and_the_default_model(name):
    recipe = RECIPES[name]
    assert recipe.model == name
    with pytest.raises(DataError, match="needs a table of feature rows"):
        recipe.check(num_classes=3, rows=False)
    with pytest.raises(InvalidParameterError, match="'model' parameter of CompareConfig must"):
        recipe.check(num_classes=3, model="cnn")
    for facts in ({"rows": False}, {"model": "cnn"}):  # skipped by the lists, errors by name
        assert name not in [r.name for r in resolve_recipes("all", num_classes=3, **facts)]
        assert name not in [r.name for r in resolve_recipes(None, num_classes=3, **facts)]
        with pytest.raises((DataError, InvalidParameterError)):
            resolve_recipes(name, num_classes=3, **facts)


def test_registry_has_the_recipes_with_one_line_summaries():
    assert set(REQUIRED) <= set(RECIPES)
    for name, recipe in RECIPES.items():
        assert recipe.name == name
        assert recipe.summary and "\n" not in recipe.summary
        with pytest.raises(dataclasses.FrozenInstanceError):
            recipe.name = "x"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("balanced", class_weight(COUNTS, scheme="balanced")),
        ("inverse", 1 / COUNTS / (1 / COUNTS).mean()),
        ("inverse-sqrt", COUNTS**-0.5 / (COUNTS**-0.5).mean()),
        ("effective", None),
    ],
)
def test_weighted_recipes_use_the_fold_counts(name, expected):
    loss = RECIPES[name].loss(COUNTS)
    if expected is None:
        raw = (1 - EFFECTIVE_BETA) / (1 - EFFECTIVE_BETA ** COUNTS.double())
        expected = raw / raw.mean()
    torch.testing.assert_close(loss.weight, expected.float())
    assert RECIPES["none"].loss(COUNTS).weight is None


@pytest.mark.parametrize("minority", [0, 1])
def test_pos_weight_is_bce_on_the_logit_difference(minority):
    counts = torch.tensor([10, 90]) if minority == 0 else torch.tensor([90, 10])
    loss = RECIPES["pos-weight"].loss(counts)
    logits = torch.randn(6, 2)
    y = torch.tensor([0, 1, 1, 0, 1, 0])
    z = logits[:, minority] - logits[:, 1 - minority]
    expected = F.binary_cross_entropy_with_logits(
        z, (y == minority).float(), pos_weight=torch.tensor([9.0])
    )
    torch.testing.assert_close(loss(logits, y), expected)


def test_resample_trains_on_class_balanced_batches(monkeypatch):
    import underdog.pipeline.trainer

    samplers = []
    real_fit = underdog.pipeline.trainer.fit

    def spy(*args, **kwargs):
        samplers.append(kwargs["sampler"])
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(underdog.pipeline.trainer, "fit", spy)
    compare(MULTI, [RECIPES["none"], RECIPES["resample"]], config=TINY)
    assert samplers[: TINY.folds] == [None] * TINY.folds  # none shuffles
    assert all(isinstance(s, ClassBalancedSampler) for s in samplers[TINY.folds :])


def test_balanced_softmax_is_an_alias_of_the_logit_adjusted_recipe():
    """Balanced softmax is the logit-adjusted loss by construction: one recipe, two names,
    one row in a comparison (never two identical rows)."""
    recipe = get_recipe("balanced-softmax")
    assert recipe is RECIPES["logit-adjusted"] and "balanced-softmax" not in RECIPES
    names = [r.name for r in resolve_recipes("logit-adjusted,balanced-softmax", num_classes=3)]
    assert names == ["none", "logit-adjusted"]
    assert "balanced-softmax" not in DEFAULT_RECIPES


def test_posthoc_recipes_use_the_model_of_none():
    assert RECIPES["threshold"].posthoc == "threshold"
    assert RECIPES["prior-correction"].posthoc == "prior-correction"
    assert RECIPES["threshold"].training_key == RECIPES["prior-correction"].training_key == "none"


def test_resolve_recipes():
    default = [r.name for r in resolve_recipes(None, num_classes=3)]
    assert default == [n for n in DEFAULT_RECIPES if n != "pos-weight"]
    assert "pos-weight" in [r.name for r in resolve_recipes(None, num_classes=2)]
    everything = [r.name for r in resolve_recipes("all", num_classes=3)]
    assert everything == [n for n in RECIPES if n != "pos-weight"]
    assert [r.name for r in resolve_recipes("balanced, resample", num_classes=3)] == [
        "none", "balanced", "resample"
    ]  # fmt: skip
    with pytest.raises(
        InvalidParameterError,
        match=r"^The 'name' parameter of get_recipe must be one of 'none', 'balanced', .*"
        r"'balanced-softmax'\. Got 'nope' instead\.$",
    ):
        resolve_recipes("balanced,nope", num_classes=3)
    with pytest.raises(DataError, match="'pos-weight' needs a binary target. Got 3 classes in x"):
        resolve_recipes("pos-weight", num_classes=3, name="x")


def test_recipe_names_parses_without_checking():
    assert (
        recipe_names(None) == recipe_names(" ") == recipe_names("default") == list(DEFAULT_RECIPES)
    )
    assert recipe_names(" all ") == list(RECIPES)
    assert recipe_names("focal, nope,,focal") == ["focal", "nope"]  # looked up by resolve_recipes
    with pytest.raises(InvalidParameterError, match="must name at least one recipe. Got ' , '"):
        recipe_names(" , ")
    with pytest.raises(InvalidParameterError, match="must name at least one recipe. Got ','"):
        resolve_recipes(",", num_classes=3)


def test_epoch_hook_sees_the_loss_and_the_schedule():
    calls = []
    recipe = Recipe(
        "drw-like",
        "records its schedule",
        loss=RECIPES["balanced"].loss,
        on_epoch_start=lambda loss, epoch, epochs: calls.append((type(loss).__name__, epoch)),
    )
    config = dataclasses.replace(TINY, patience=TINY.epochs)
    compare(MULTI, [RECIPES["none"], recipe], config=config)
    assert calls[: TINY.epochs] == [("CrossEntropyLoss", e) for e in range(TINY.epochs)]
    assert len(calls) == TINY.epochs * TINY.folds


def test_loss_family_recipes_build_the_papers_losses():
    logits, y = torch.randn(12, 3, dtype=torch.float64), torch.tensor([0, 1, 2] * 4)
    prior = torch.log(COUNTS.double() / COUNTS.sum())
    adjusted = RECIPES["logit-adjusted"].loss(COUNTS).double()
    torch.testing.assert_close(adjusted(logits, y), F.cross_entropy(logits + prior, y))
    balanced = get_recipe("balanced-softmax").loss(COUNTS).double()
    torch.testing.assert_close(balanced(logits, y), F.cross_entropy(logits + prior, y))
    focal = RECIPES["focal"].loss(COUNTS).double()
    p = torch.softmax(logits, 1)[torch.arange(12), y]
    torch.testing.assert_close(focal(logits, y), ((1 - p) ** 2 * -torch.log(p)).mean())
    cb = RECIPES["class-balanced-focal"].loss(COUNTS)
    assert cb.base == "sigmoid" and cb.gamma == 1.0
    raw = (1 - 0.9999) / (1 - 0.9999 ** COUNTS.double())
    torch.testing.assert_close(cb.weight, (raw / raw.mean()).float())


def test_ldam_drw_reweights_from_a_tenth_of_the_epochs():
    recipe = RECIPES["ldam-drw"]
    loss = recipe.loss(COUNTS)
    margins = loss.margins
    torch.testing.assert_close(margins.max(), torch.tensor(0.5))
    assert margins.argmax() == COUNTS.argmin()
    schedule = recipe.schedule(COUNTS)
    raw = (1 - 0.9999) / (1 - 0.9999 ** COUNTS.double())
    for epoch, expected in ((0, torch.ones(3)), (19, torch.ones(3)), (20, raw / raw.mean())):
        schedule.step(loss, epoch=epoch, epochs=200)
        torch.testing.assert_close(loss.weight, expected.float())


def test_a_recipe_schedule_runs_before_every_epoch():
    calls = []

    class Recording:
        def __init__(self, counts):
            self.counts = counts

        def step(self, loss, *, epoch, epochs):
            calls.append((type(loss).__name__, epoch, epochs, self.counts.sum().item()))

    recipe = Recipe("scheduled", "records its schedule", loss=RECIPES["balanced"].loss,
                    schedule=Recording)  # fmt: skip
    config = dataclasses.replace(TINY, patience=TINY.epochs)
    compare(MULTI, [RECIPES["none"], recipe], config=config)
    assert [c[:3] for c in calls[: TINY.epochs]] == [
        ("CrossEntropyLoss", e, TINY.epochs) for e in range(TINY.epochs)
    ]
    assert len(calls) == TINY.epochs * TINY.folds
