import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from loss_references import effective_weights, sigmoid_focal, softmax_focal

import underdog
from underdog import ClassBalancedLoss, DataError, InvalidParameterError, class_balanced_loss
from underdog.losses import class_balanced_weight

COUNTS = [500, 120, 30, 8]


@pytest.fixture
def data():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(16, 4, generator=g, dtype=torch.float64)
    y = torch.randint(0, 4, (16,), generator=g)
    return x, y


def test_weights_are_the_effective_number_reference():
    for beta in (0.0, 0.9, 0.99, 0.9999):
        got = class_balanced_weight(COUNTS, beta=beta).double()
        torch.testing.assert_close(got, effective_weights(COUNTS, beta), rtol=1e-6, atol=1e-7)
        want = underdog.class_weight(COUNTS, scheme="effective", beta=beta, normalize="mean")
        assert torch.equal(class_balanced_weight(COUNTS, beta=beta), want)


@given(
    counts=st.lists(st.integers(1, 10_000), min_size=2, max_size=8),
    beta=st.floats(0.0, 0.9999),
)
@settings(max_examples=25, deadline=None)
def test_weights_sum_to_the_number_of_classes(counts, beta):
    w = class_balanced_weight(counts, beta=beta).double()
    torch.testing.assert_close(w.sum(), torch.tensor(float(len(counts)), dtype=torch.float64))
    order = torch.argsort(torch.tensor(counts), stable=True)
    assert (w[order].diff() <= 1e-6).all()  # rarer classes never weigh less


@pytest.mark.parametrize("gamma", [0.0, 2.0])
def test_softmax_base(data, gamma):
    x, y = data
    w = effective_weights(COUNTS, 0.99)
    got = class_balanced_loss(x, y, counts=COUNTS, beta=0.99, gamma=gamma)
    torch.testing.assert_close(got, softmax_focal(x, y, gamma=gamma, weight=w))
    if gamma == 0.0:
        torch.testing.assert_close(got, F.cross_entropy(x, y, weight=w))


@pytest.mark.parametrize("gamma", [0.0, 2.0])
def test_sigmoid_base_is_the_reference_one_hot_form(data, gamma):
    x, y = data
    w = effective_weights(COUNTS, 0.999)
    one_hot = F.one_hot(y, 4).double()
    per = sigmoid_focal(x, one_hot, gamma=gamma, reduction="none") * w[y].unsqueeze(1)
    got = class_balanced_loss(x, y, counts=COUNTS, beta=0.999, base="sigmoid", gamma=gamma)
    torch.testing.assert_close(got, per.sum() / (w[y].sum() * 4))
    none = class_balanced_loss(
        x, y, counts=COUNTS, beta=0.999, base="sigmoid", gamma=gamma, reduction="none"
    )
    torch.testing.assert_close(none, per.sum(1))


def test_beta_zero_is_unweighted(data):
    x, y = data
    torch.testing.assert_close(
        class_balanced_loss(x, y, counts=COUNTS, beta=0.0), F.cross_entropy(x, y)
    )
    torch.testing.assert_close(
        class_balanced_loss(x, y, counts=COUNTS, beta=0.0, gamma=2.0),
        softmax_focal(x, y, gamma=2.0),
    )
    torch.testing.assert_close(
        class_balanced_loss(x, y, counts=COUNTS, beta=0.0, base="sigmoid"),
        F.binary_cross_entropy_with_logits(x, F.one_hot(y, 4).double()),
    )


def test_module_from_labels(data):
    x, y = data
    labels = torch.repeat_interleave(torch.arange(4), torch.tensor(COUNTS))
    loss = ClassBalancedLoss.from_labels(labels, beta=0.99, base="sigmoid", gamma=1.0)
    torch.testing.assert_close(loss.weight, class_balanced_weight(COUNTS, beta=0.99))
    want = class_balanced_loss(x, y, counts=COUNTS, beta=0.99, base="sigmoid", gamma=1.0)
    torch.testing.assert_close(loss(x, y), want)


def test_errors(data):
    x, y = data
    with pytest.raises(
        InvalidParameterError,
        match=r"The 'beta' parameter of class_balanced_loss must be a float in \[0, 1\)\. "
        r"Got 1\.0 instead\.",
    ):
        class_balanced_loss(x, y, counts=COUNTS, beta=1.0)
    with pytest.raises(InvalidParameterError, match="'beta' parameter of ClassBalancedLoss"):
        ClassBalancedLoss(counts=COUNTS, beta=-0.1)
    with pytest.raises(InvalidParameterError, match="'base' parameter of ClassBalancedLoss"):
        ClassBalancedLoss(counts=COUNTS, base="focal")
    with pytest.raises(
        DataError,
        match=r"^The 'counts' parameter of ClassBalancedLoss must be positive for every class, "
        r"since its effective number would be 0\. Got classes \[1\] with no samples instead\.$",
    ):
        ClassBalancedLoss(counts=[5, 0, 3, 1])
    with pytest.raises(
        underdog.ShapeError,
        match=r"^The 'counts' parameter of class_balanced_loss must have shape \(4,\), one count "
        r"per class of dim 1 of the input \(16, 4\)\. Got shape \(3,\) instead\.$",
    ):
        class_balanced_loss(x, y, counts=[1, 2, 3])


@pytest.mark.parametrize("base", ["softmax", "sigmoid"])
def test_errors_name_this_loss(base):
    with pytest.raises(
        underdog.ShapeError, match="The 'input' parameter of class_balanced_loss must have shape"
    ):
        underdog.class_balanced_loss(torch.randn(4), torch.zeros(4, dtype=torch.long),
                                     counts=[3, 2, 1], beta=0.9, base=base)  # fmt: skip
    with pytest.raises(
        underdog.DataError, match="The 'target' parameter of class_balanced_loss must hold"
    ):
        underdog.class_balanced_loss(torch.randn(4, 3), torch.tensor([0, 1, 2, 5]),
                                     counts=[3, 2, 1], beta=0.9, base=base)  # fmt: skip


def test_weights_are_class_weight_effective_with_mean_normalisation():
    for beta in (0.0, 0.9, 0.9999):
        torch.testing.assert_close(
            class_balanced_weight(COUNTS, beta=beta),
            underdog.class_weight(COUNTS, scheme="effective", beta=beta, normalize="mean"),
            rtol=0,
            atol=0,
        )
        drw = underdog.DeferredReweighting(COUNTS, start_epoch=0, beta=beta)
        torch.testing.assert_close(drw.weight, class_balanced_weight(COUNTS, beta=beta))
