import numpy as np
import pytest
import torch
import torch.nn.functional as F
from loss_references import ldam, ldam_margins, value_and_grad

import underdog
from underdog import (
    CrossEntropyLoss,
    DataError,
    DeferredReweighting,
    FocalCrossEntropyLoss,
    InvalidParameterError,
    LDAMLoss,
    ldam_cross_entropy,
)
from underdog.losses import ldam_margins as library_margins

COUNTS = [5000, 1200, 300, 40, 10]


@pytest.fixture
def data():
    g = torch.Generator().manual_seed(7)
    x = torch.randn(24, 5, generator=g, dtype=torch.float64) * 0.3
    y = torch.randint(0, 5, (24,), generator=g)
    return x, y


def test_margins_match_reference():
    torch.testing.assert_close(library_margins(COUNTS), ldam_margins(COUNTS))
    torch.testing.assert_close(
        library_margins(COUNTS, max_margin=0.3), ldam_margins(COUNTS, max_m=0.3)
    )
    m = library_margins(COUNTS)
    assert m.max() == 0.5 and m.argmax() == 4
    # proportional to n ** (-1/4)
    ratio = m * torch.tensor(COUNTS, dtype=torch.float64) ** 0.25
    torch.testing.assert_close(ratio, ratio[0].expand(5))


@pytest.mark.parametrize("max_margin,scale", [(0.5, 30.0), (0.2, 10.0), (1.0, 1.0)])
def test_ldam_matches_reference_code(data, max_margin, scale):
    x, y = data
    w = torch.rand(5, dtype=torch.float64) + 0.5
    got = value_and_grad(
        lambda z: ldam_cross_entropy(
            z, y, counts=COUNTS, max_margin=max_margin, scale=scale, weight=w
        ),
        x,
    )
    want = value_and_grad(lambda z: ldam(z, y, COUNTS, max_m=max_margin, s=scale, weight=w), x)
    torch.testing.assert_close(got, want)


def test_zero_margins_unit_scale_is_cross_entropy(data):
    x, y = data
    got = value_and_grad(
        lambda z: ldam_cross_entropy(z, y, counts=COUNTS, max_margin=0.0, scale=1.0), x
    )
    want = value_and_grad(lambda z: F.cross_entropy(z, y), x)
    torch.testing.assert_close(got, want)


def test_dense_ignore_index_and_smoothing():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 5, 4, generator=g, dtype=torch.float64)
    y = torch.randint(0, 5, (2, 4), generator=g)
    y[0, 1] = -100
    got = ldam_cross_entropy(x, y, counts=COUNTS, label_smoothing=0.1, reduction="none")
    flat_x = x.movedim(1, -1).reshape(-1, 5)
    flat_y = y.reshape(-1)
    keep = flat_y != -100
    m = ldam_margins(COUNTS)
    shifted = 30.0 * (
        flat_x - F.one_hot(torch.where(keep, flat_y, 0), 5) * m[flat_y.clamp(0)][:, None]
    )
    want = F.cross_entropy(shifted, flat_y, label_smoothing=0.1, reduction="none")
    torch.testing.assert_close(got.reshape(-1), want)
    assert got[0, 1] == 0


def test_module(data):
    x, y = data
    labels = torch.repeat_interleave(torch.arange(5), torch.tensor(COUNTS))
    loss = LDAMLoss.from_labels(labels)
    torch.testing.assert_close(loss.margins.double(), ldam_margins(COUNTS), rtol=1e-6, atol=1e-7)
    assert set(loss.state_dict()) == {"margins"}
    x32 = x.float()
    torch.testing.assert_close(loss(x32, y), ldam_cross_entropy(x32, y, counts=COUNTS))


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
def test_drw_step_sets_the_weight_buffer(data, factory):
    x, y = data
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


def test_errors(data):
    x, y = data
    with pytest.raises(DataError, match=r"LDAM margin grows as n_c \*\* \(-1/4\); classes \[3\]"):
        LDAMLoss(counts=[5, 4, 3, 0, 1])
    with pytest.raises(
        InvalidParameterError,
        match=r"The 'max_margin' parameter of ldam_cross_entropy must be a float in \[0, inf\)",
    ):
        ldam_cross_entropy(x, y, counts=COUNTS, max_margin=-0.1)
    with pytest.raises(InvalidParameterError, match=r"'scale' parameter of LDAMLoss .*\(0, inf"):
        LDAMLoss(counts=COUNTS, scale=0.0)
    bad = y.clone()
    bad[4] = 5
    with pytest.raises(DataError, match=r"class indices in \[0, 5\).*class index 5"):
        ldam_cross_entropy(x, bad, counts=COUNTS)
    with pytest.raises(underdog.ShapeError, match="probability targets are not supported"):
        ldam_cross_entropy(x, torch.softmax(x, 1), counts=COUNTS)
    with pytest.raises(InvalidParameterError, match="'weight' parameter of LDAMLoss"):
        LDAMLoss(counts=COUNTS, weight=[1.0, 2.0, 3.0])
    with pytest.raises(InvalidParameterError, match="'beta' parameter of DeferredReweighting"):
        DeferredReweighting(COUNTS, start_epoch=1, beta=1.0)
    with pytest.raises(InvalidParameterError, match="'start_epoch' parameter"):
        DeferredReweighting(COUNTS, start_epoch=-1)
    with pytest.raises(InvalidParameterError, match="a module with a 'weight' buffer"):
        DeferredReweighting(COUNTS, start_epoch=1).step(torch.nn.Linear(2, 2), epoch=3)
    with pytest.raises(underdog.ShapeError, match="the schedule has 5 classes"):
        DeferredReweighting(COUNTS, start_epoch=0).step(
            CrossEntropyLoss(weight=[1.0, 1.0]), epoch=1
        )
