"""Training one recipe on one fold (underdog.pipeline.trainer)."""

import dataclasses

import numpy as np
import pytest
import torch

from _tables import TINY, toy_table
from underdog.pipeline import RECIPES, compare, train_model, validation_score


def test_validation_score_is_sklearns_balanced_accuracy_and_a_small_cross_entropy():
    from sklearn.metrics import balanced_accuracy_score

    rng = np.random.default_rng(0)
    for classes in (2, 3, 5):
        logits = rng.normal(size=(200, classes))
        y = rng.integers(0, classes - 1, size=200)  # the last class absent from y
        z = logits - logits.max(1, keepdims=True)
        ce = np.mean(np.log(np.exp(z).sum(1)) - z[np.arange(200), y])
        expected = balanced_accuracy_score(y, logits.argmax(1)) - 1e-4 * ce
        assert validation_score(logits, y) == pytest.approx(expected, rel=1e-12)


def test_validation_score_is_balanced_accuracy_with_a_tie_break():
    y = np.array([0, 0, 1])
    confident = np.array([[5.0, 0], [5, 0], [0, 5]])
    unsure = np.array([[0.1, 0], [0.1, 0], [0, 0.1]])
    assert validation_score(confident, y) == pytest.approx(1.0, abs=1e-3)
    assert validation_score(confident, y) > validation_score(unsure, y)


def test_a_recipe_with_a_base_trains_its_bases_model_in_train_and_compare_alike(monkeypatch):
    """train_recipe trains recipe.base's loss: a post-hoc recipe whose own loss differs
    from its base's still gets the base's model, in compare and in train_model."""
    import underdog.pipeline.trainer

    odd = dataclasses.replace(RECIPES["threshold"], loss=RECIPES["balanced"].loss)
    losses = []
    real_fit = underdog.pipeline.trainer.fit

    def spy(*args, **kwargs):
        losses.append(kwargs["loss"])
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(underdog.pipeline.trainer, "fit", spy)
    table = toy_table()
    base = train_model(table, RECIPES["none"], config=TINY)
    trained = train_model(table, odd, config=TINY)
    assert [loss.weight for loss in losses] == [None, None]  # none's unweighted loss, twice
    for name, value in base.module.state_dict().items():
        torch.testing.assert_close(trained.module.state_dict()[name], value, rtol=0, atol=0)
    losses.clear()
    compare(table, [RECIPES["none"], odd], config=TINY)
    assert len(losses) == TINY.folds and all(loss.weight is None for loss in losses)
