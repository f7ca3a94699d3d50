"""DeferredReweighting (losses/schedules.py) against the reference schedule (kaidic/LDAM-DRW)."""

import numpy as np
import pytest
import torch

import underdog
from underdog import (
    CrossEntropyLoss,
    DeferredReweighting,
    FocalCrossEntropyLoss,
    InvalidParameterError,
    LDAMLoss,
    ShapeError,
)
from underdog.losses import schedules

COUNTS = [5000, 1200, 300, 40, 10]


def test_drw_matches_reference_schedule():
    drw = DeferredReweighting(COUNTS, start_epoch=160)
    # kaidic/LDAM-DRW train.py, transcribed
    for epoch in (0, 159, 160, 199):
        idx = epoch // 160
        betas = [0, 0.9999]
        effective_num = 1.0 - np.power(betas[idx], COUNTS)
        per_cls = (1.0 - betas[idx]) / np.array(effective_num)
        per_cls = per_cls / np.sum(per_cls) * len(COUNTS)
        got = drw.weight_for(epoch)
        np.testing.assert_allclose(got.numpy(), per_cls, rtol=1e-6)


@pytest.mark.parametrize(
    "factory",
    [
        lambda: LDAMLoss(counts=COUNTS),
        lambda: CrossEntropyLoss(),
        lambda: FocalCrossEntropyLoss(weight=torch.ones(5)),
        lambda: underdog.LogitAdjustedLoss(counts=COUNTS),
    ],
)
def test_drw_step_sets_the_weight_buffer(five_class_logits, factory):
    x, y = five_class_logits
    x = x.float()
    loss = factory()
    drw = DeferredReweighting(COUNTS, start_epoch=2, beta=0.999)
    before = loss(x, y)
    drw.step(loss, epoch=0)
    torch.testing.assert_close(loss(x, y), before)  # weights 1 before start_epoch
    buffer = loss.weight
    drw.step(loss, epoch=3)
    assert loss.weight is buffer  # updated in place
    torch.testing.assert_close(loss.weight, drw.weight_for(3))
    weighted = loss(x, y)
    assert not torch.allclose(weighted, before)
    state = {k: v.clone() for k, v in loss.state_dict().items()}
    loss(x, y)
    assert all(torch.equal(v, loss.state_dict()[k]) for k, v in state.items())  # forward is pure


def test_start_fraction_starts_at_that_fraction_of_the_epochs():
    drw = DeferredReweighting(COUNTS, start_fraction=0.8)
    by_epoch = DeferredReweighting(COUNTS, start_epoch=160)
    assert drw.start(epochs=200) == 160 and drw.start(epochs=7) == 5  # int(0.8 * 7)
    for epoch in (0, 159, 160, 199):
        torch.testing.assert_close(
            drw.weight_for(epoch, epochs=200), by_epoch.weight_for(epoch, epochs=200)
        )
    assert DeferredReweighting(COUNTS, start_fraction=0.0).start(epochs=3) == 0
    assert DeferredReweighting(COUNTS, start_fraction=1.0).start(epochs=3) == 3  # never


def test_start_fraction_step_needs_the_number_of_epochs(five_class_logits):
    x, y = five_class_logits
    loss = LDAMLoss(counts=COUNTS)
    drw = DeferredReweighting(COUNTS, start_fraction=0.5, beta=0.999)
    drw.step(loss, epoch=4, epochs=10)
    torch.testing.assert_close(loss.weight, torch.ones(5))
    drw.step(loss, epoch=5, epochs=10)
    torch.testing.assert_close(loss.weight, drw.weight_for(5, epochs=10))
    with pytest.raises(
        InvalidParameterError,
        match=r"^The 'epochs' parameter of DeferredReweighting\.step must be given when the "
        r"schedule starts at a fraction of the run \(start_fraction=0\.5\)\. Got None instead\.$",
    ):
        drw.step(loss, epoch=5)
    with pytest.raises(InvalidParameterError, match=r"'epochs' parameter of .*weight_for"):
        drw.weight_for(5)
    with pytest.raises(InvalidParameterError, match=r"'epochs' parameter .* an int in \[1, inf\)"):
        drw.weight_for(5, epochs=0)


def test_start_epoch_ignores_but_checks_epochs():
    drw = DeferredReweighting(COUNTS, start_epoch=2, beta=0.99)
    assert drw.start() == drw.start(epochs=1) == 2
    with pytest.raises(InvalidParameterError, match=r"'epochs' parameter of .*\.start"):
        drw.start(epochs=-3)


def test_exactly_one_start():
    with pytest.raises(
        InvalidParameterError,
        match=r"^The 'start_epoch' parameter of DeferredReweighting must be given \(pass exactly "
        r"one of 'start_epoch' and 'start_fraction'\)\. Got None instead\.$",
    ):
        DeferredReweighting(COUNTS)
    with pytest.raises(
        InvalidParameterError,
        match=r"^The 'start_fraction' parameter of DeferredReweighting must be None when "
        r"'start_epoch' is given \(pass exactly one of 'start_epoch' and 'start_fraction'\)\. "
        r"Got 0\.5 instead\.$",
    ):
        DeferredReweighting(COUNTS, start_epoch=3, start_fraction=0.5)
    with pytest.raises(
        InvalidParameterError,
        match=r"^The 'start_fraction' parameter of DeferredReweighting must be a float in "
        r"\[0, 1\]\. Got 1\.5 instead\.$",
    ):
        DeferredReweighting(COUNTS, start_fraction=1.5)


def test_errors():
    with pytest.raises(InvalidParameterError, match="'beta' parameter of DeferredReweighting"):
        DeferredReweighting(COUNTS, start_epoch=1, beta=1.0)
    with pytest.raises(
        InvalidParameterError,
        match=r"^The 'start_epoch' parameter of DeferredReweighting must be an int in "
        r"\[0, inf\)\. Got -1 instead\.$",
    ):
        DeferredReweighting(COUNTS, start_epoch=-1)
    with pytest.raises(
        InvalidParameterError,
        match=r"^The 'loss' parameter of DeferredReweighting\.step must be a module with a "
        r"'weight' buffer \(an underdog loss such as LDAMLoss\)\. Got Linear instead\.$",
    ):
        DeferredReweighting(COUNTS, start_epoch=1).step(torch.nn.Linear(2, 2), epoch=3)
    with pytest.raises(
        ShapeError,
        match=r"^The 'loss' parameter of DeferredReweighting\.step must have a 'weight' buffer "
        r"of shape \(5,\), one weight per class of the schedule\. Got a weight of shape "
        r"\(2,\) instead\.$",
    ):
        DeferredReweighting(COUNTS, start_epoch=0).step(
            CrossEntropyLoss(weight=[1.0, 1.0]), epoch=1
        )
    with pytest.raises(InvalidParameterError, match=r"'epoch' parameter of .*\.step"):
        DeferredReweighting(COUNTS, start_epoch=0).step(LDAMLoss(counts=COUNTS), epoch=-1)


def test_repr_and_import_paths():
    assert repr(DeferredReweighting([3, 1], start_epoch=2, beta=0.99)) == (
        "DeferredReweighting(num_classes=2, start_epoch=2, beta=0.99)"
    )
    assert repr(DeferredReweighting([3, 1], start_fraction=0.1)) == (
        "DeferredReweighting(num_classes=2, start_fraction=0.1, beta=0.9999)"
    )
    from underdog.losses.ldam import DeferredReweighting as from_ldam

    assert from_ldam is DeferredReweighting is schedules.DeferredReweighting
    assert underdog.losses.DeferredReweighting is DeferredReweighting
