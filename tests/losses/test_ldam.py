import pytest
import torch
import torch.nn.functional as F
from loss_references import ldam, ldam_margins, value_and_grad

import underdog
from underdog import (
    DataError,
    InvalidParameterError,
    LDAMLoss,
    ldam_cross_entropy,
)
from underdog.losses import ldam_margins as library_margins

COUNTS = [5000, 1200, 300, 40, 10]


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
def test_ldam_matches_reference_code(five_class_logits, max_margin, scale):
    x, y = five_class_logits
    w = torch.rand(5, dtype=torch.float64) + 0.5
    got = value_and_grad(
        lambda z: ldam_cross_entropy(
            z, y, counts=COUNTS, max_margin=max_margin, scale=scale, weight=w
        ),
        x,
    )
    want = value_and_grad(lambda z: ldam(z, y, COUNTS, max_m=max_margin, s=scale, weight=w), x)
    torch.testing.assert_close(got, want)


def test_zero_margins_unit_scale_is_cross_entropy(five_class_logits):
    x, y = five_class_logits
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


def test_module(five_class_logits):
    x, y = five_class_logits
    labels = torch.repeat_interleave(torch.arange(5), torch.tensor(COUNTS))
    loss = LDAMLoss.from_labels(labels)
    torch.testing.assert_close(loss.margins.double(), ldam_margins(COUNTS), rtol=1e-6, atol=1e-7)
    assert set(loss.state_dict()) == {"margins"}
    x32 = x.float()
    torch.testing.assert_close(loss(x32, y), ldam_cross_entropy(x32, y, counts=COUNTS))


def test_errors(five_class_logits):
    x, y = five_class_logits
    with pytest.raises(
        DataError,
        match=r"^The 'counts' parameter of LDAMLoss must be positive for every class, since an "
        r"LDAM margin grows as n_c \*\* \(-1/4\)\. Got classes \[3\] with no samples instead\.$",
    ):
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
