"""The balanced bag of MLPs (underdog.training.ensembles)."""

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from underdog.exceptions import DataError, InvalidParameterError, ShapeError
from underdog.training import TrainEvent, predict_logits
from underdog.training.ensembles import (
    BalancedBaggedMLP,
    balanced_bootstrap,
    fit_balanced_bag,
)


def _data(n=120, classes=2, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.choice(classes, size=n, p=np.linspace(3, 1, classes) / np.linspace(3, 1, classes).sum())
    x = (rng.normal(size=(n, 4)) + y[:, None]).astype(np.float32)
    return x, y


def test_shapes_and_forward_is_the_log_of_the_mean_probability():
    bag = BalancedBaggedMLP(4, 3, members=5, hidden=7, seed=0)
    x = torch.randn(6, 4)
    members = bag.member_logits(x)
    assert members.shape == (5, 6, 3)
    assert bag.member_logits(x.expand(5, -1, -1)).shape == (5, 6, 3)
    expected = torch.softmax(members, -1).mean(0).log()
    torch.testing.assert_close(bag(x), expected)
    assert bag(x).shape == (6, 3) and torch.allclose(bag(x).exp().sum(1), torch.ones(6))
    # each member is an independent Linear -> ReLU -> Linear
    j = 2
    hidden = torch.relu(x @ bag.weight1[j] + bag.bias1[j])
    torch.testing.assert_close(members[j], hidden @ bag.weight2[j] + bag.bias2[j])
    assert {name for name, _ in bag.named_parameters()} == {"weight1", "bias1", "weight2", "bias2"}


def test_initialisation_is_nn_linears_and_seeded_without_touching_the_global_rng():
    state = torch.random.get_rng_state()
    a, b = BalancedBaggedMLP(4, 2, seed=3), BalancedBaggedMLP(4, 2, seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(a.weight1, BalancedBaggedMLP(4, 2, seed=4).weight1)
    assert a.weight1.abs().max() <= 4**-0.5 and a.weight2.abs().max() <= 64**-0.5


def test_outputs_stay_finite_at_extreme_inputs():
    bag = BalancedBaggedMLP(4, 2, seed=0)
    out = bag(torch.full((3, 4), 1e6))
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("counts", [[40, 10], [50, 20, 5], [30, 30, 3, 8]])
def test_balanced_bootstrap_draws_the_lower_median_class_size_from_every_class(counts):
    y = torch.cat([torch.full((n,), c) for c, n in enumerate(counts)])
    rows = balanced_bootstrap(y, members=6, num_classes=len(counts) + 1,  # a class absent
                              generator=torch.Generator().manual_seed(0))  # fmt: skip
    m = sorted(counts)[(len(counts) - 1) // 2]
    assert rows.shape == (6, len(counts) * m)
    for member in rows:
        assert torch.bincount(y[member], minlength=len(counts)).tolist() == [m] * len(counts)
    assert len({tuple(r.tolist()) for r in rows}) == 6  # every member its own draw


def _hand_loop(x, y, *, seed, steps, max_batch, members=8, hidden=64):
    """The reference's training, written out: one bootstrap per member, AdamW on the sum of
    the members' mean cross-entropies, no weight decay on biases."""
    x, y = torch.as_tensor(x), torch.as_tensor(y).long()
    bag = BalancedBaggedMLP(x.shape[1], 2, members=members, hidden=hidden, seed=seed)
    generator = torch.Generator().manual_seed(seed)
    pool = balanced_bootstrap(y, members=members, num_classes=2, generator=generator)
    optimizer = torch.optim.AdamW(
        [{"params": [bag.weight1, bag.weight2], "weight_decay": 1e-4},
         {"params": [bag.bias1, bag.bias2], "weight_decay": 0.0}], lr=3e-3,
    )  # fmt: skip
    for _ in range(steps):
        rows = pool
        if pool.shape[1] > max_batch:
            pick = torch.randint(pool.shape[1], (members, max_batch), generator=generator)
            rows = torch.gather(pool, 1, pick)
        logits = bag.member_logits(x[rows])
        loss = F.cross_entropy(logits.flatten(0, 1), y[rows].flatten()) * members
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return bag


@pytest.mark.parametrize("max_batch", [512, 16])  # the whole sample, then minibatches
def test_training_equals_a_hand_written_loop(max_batch):
    x, y = _data()
    trained = fit_balanced_bag(x, y, seed=5, steps=7, max_batch=max_batch).model
    hand = _hand_loop(x, y, seed=5, steps=7, max_batch=max_batch)
    for name, value in hand.named_parameters():
        torch.testing.assert_close(getattr(trained, name), value, rtol=0, atol=0)


def test_training_is_deterministic_per_seed_and_reports_every_step():
    x, y = _data()
    events: list[TrainEvent] = []
    a = fit_balanced_bag(x, y, seed=1, steps=6, callbacks=[events.append])
    b = fit_balanced_bag(x, y, seed=1, steps=6)
    c = fit_balanced_bag(x, y, seed=2, steps=6)
    assert torch.equal(a.model.weight1, b.model.weight1)
    assert not torch.equal(a.model.weight1, c.model.weight1)
    assert [e.epoch for e in events] == list(range(1, 7)) and events[-1].steps == 6
    assert a.epochs_run == 6 and not a.model.training
    assert isinstance(a.model, BalancedBaggedMLP)


def test_the_bag_learns_and_predicts_through_predict_logits():
    x, y = _data(n=300, classes=3, seed=1)
    bag = fit_balanced_bag(x, y, seed=0).model
    logits = predict_logits(bag, x)
    assert logits.shape == (300, 3) and np.isfinite(logits).all()
    recall = [(logits.argmax(1)[y == c] == c).mean() for c in range(3)]
    assert min(recall) > 0.6  # balanced: the rare class is found too


def test_meta_device_builds_without_memory():
    with torch.device("meta"):
        bag = BalancedBaggedMLP(10, 4)
    assert bag.weight1.is_meta and bag.weight1.shape == (8, 10, 64)


def test_bad_input():
    x, y = _data()
    with pytest.raises(ShapeError, match="rows \\(N, F\\) and labels \\(N,\\)"):
        fit_balanced_bag(x[:, 0], y)
    with pytest.raises(ShapeError, match="Got shapes \\(120, 4\\) and \\(119,\\)"):
        fit_balanced_bag(x, y[1:])
    with pytest.raises(DataError, match="class indices in \\[0, 2\\). Got the label 2 instead"):
        fit_balanced_bag(x, np.where(y == 1, 2, 0), num_classes=2)
    with pytest.raises(DataError, match="'y' parameter of fit_balanced_bag must hold integer"):
        fit_balanced_bag(x, y + 0.5)  # not truncated to 0 and 1
    for bad in (0, -5, True, "3"):  # not silently 2
        with pytest.raises(InvalidParameterError, match="'num_classes' parameter of fit_bal"):
            fit_balanced_bag(x, y, num_classes=bad)
    with pytest.raises(InvalidParameterError, match="'steps' parameter of fit_balanced_bag"):
        fit_balanced_bag(x, y, steps=0)
    with pytest.raises(InvalidParameterError, match="'members' parameter of BalancedBaggedMLP"):
        BalancedBaggedMLP(4, 2, members=0)
