"""underdog.binary_cross_entropy_with_logits against PyTorch's BCE and two-class CE."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

import underdog
from underdog import (
    BCEWithLogitsLoss,
    InvalidParameterError,
    ShapeError,
    binary_cross_entropy_with_logits,
    cross_entropy,
)
from underdog.losses import MinorityLogitLoss

f64 = torch.float64
bce = binary_cross_entropy_with_logits


def _grad(fn, x):
    x = x.detach().clone().requires_grad_(True)
    value = fn(x)
    (value.sum() if value.ndim else value).backward()
    return value.detach(), x.grad


def _data(shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g, dtype=f64) * 3
    t = (torch.rand(shape, generator=g, dtype=f64) < 0.3).to(f64)
    return x, t


@pytest.mark.parametrize(
    ("shape", "reduction"),
    list(itertools.product([(16,), (16, 1), (16, 5)], ["mean", "sum", "none"])),
)
def test_pos_weight_alone_equals_pytorch(shape, reduction):
    x, t = _data(shape)
    k = 1 if len(shape) == 1 else shape[1]
    pw = torch.linspace(0.5, 9.0, k, dtype=f64)
    ours, g1 = _grad(lambda z: bce(z, t, pos_weight=pw, reduction=reduction), x)
    ref, g2 = _grad(
        lambda z: F.binary_cross_entropy_with_logits(z, t, pos_weight=pw, reduction=reduction), x
    )
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(g1, g2, rtol=1e-12, atol=1e-12)


def test_dense_pos_weight_aligns_with_dim_1_not_the_last_dim():
    x, t = _data((4, 3, 3, 3), seed=1)  # C == W: PyTorch would silently weight the width
    pw = torch.tensor([1.0, 5.0, 25.0], dtype=f64)
    ours = bce(x, t, pos_weight=pw, reduction="none")
    aligned = F.binary_cross_entropy_with_logits(
        x, t, pos_weight=pw.reshape(3, 1, 1), reduction="none"
    )
    torch.testing.assert_close(ours, aligned)
    last_dim = F.binary_cross_entropy_with_logits(x, t, pos_weight=pw, reduction="none")
    assert not torch.allclose(ours, last_dim)


@pytest.mark.parametrize(
    ("smoothing", "reduction", "ignore"),
    list(itertools.product([0.0, 0.1], ["mean", "sum", "none"], [False, True])),
)
def test_class_weight_equals_two_class_cross_entropy(smoothing, reduction, ignore):
    x, t = _data((20,), seed=2)
    w = torch.tensor([0.3, 4.0], dtype=f64)
    y = t.long()
    if ignore:
        t = t.clone()
        t[::4] = -100
        y = torch.where(t == -100, -100, y)

    def two_class(z):
        logits = torch.stack([torch.zeros_like(z), z], dim=1)
        return cross_entropy(logits, y, weight=w, label_smoothing=smoothing, reduction=reduction)

    kwargs = dict(
        class_weight=w,
        label_smoothing=smoothing,
        reduction=reduction,
        ignore_index=-100 if ignore else None,
    )
    ours, g1 = _grad(lambda z: bce(z, t, **kwargs), x)
    ref, g2 = _grad(two_class, x)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(g1, g2, rtol=1e-12, atol=1e-12)


def test_multilabel_class_weight_follows_the_formula_per_label():
    x, t = _data((8, 3, 2), seed=3)
    w = torch.tensor([[0.5, 1.0, 2.0], [3.0, 1.0, 0.25]], dtype=f64)
    s = torch.rand(8, dtype=f64)
    wn, wp = w[0].reshape(1, 3, 1), w[1].reshape(1, 3, 1)
    ts = t * 0.8 + 0.1
    manual = wp * ts * -F.logsigmoid(x) + wn * (1 - ts) * -F.logsigmoid(-x)
    manual = manual * s.reshape(8, 1, 1)
    denominator = ((wp * t + wn * (1 - t)) * s.reshape(8, 1, 1)).sum()
    ours = bce(x, t, class_weight=w, sample_weight=s, label_smoothing=0.2)
    torch.testing.assert_close(ours, manual.sum() / denominator, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(
        bce(x, t, class_weight=w, sample_weight=s, label_smoothing=0.2, reduction="none"), manual
    )


def test_ignore_index_equals_dropping_the_entries():
    x, t = _data((30,), seed=4)
    t[::3] = -1
    keep = t != -1
    pw = torch.tensor([3.0], dtype=f64)
    torch.testing.assert_close(
        bce(x, t, pos_weight=pw, ignore_index=-1),
        F.binary_cross_entropy_with_logits(x[keep], t[keep], pos_weight=pw),
    )
    none = bce(x, t, ignore_index=-1, reduction="none")
    assert (none[~keep] == 0).all()


def test_sample_weight_is_a_weighted_mean():
    x, t = _data((10, 2), seed=5)
    s = torch.rand(10, dtype=f64)
    per = F.binary_cross_entropy_with_logits(x, t, reduction="none") * s.reshape(-1, 1)
    torch.testing.assert_close(bce(x, t, sample_weight=s), per.sum() / (2 * s.sum()))


def test_gradcheck_float64():
    x, t = _data((3, 2), seed=6)
    x.requires_grad_(True)
    w = torch.tensor([[0.5, 2.0], [3.0, 1.0]], dtype=f64)
    s = torch.tensor([0.2, 1.0, 3.0], dtype=f64)
    assert torch.autograd.gradcheck(
        lambda z: bce(z, t, class_weight=w, sample_weight=s, label_smoothing=0.1), (x,)
    )
    assert torch.autograd.gradcheck(
        lambda z: bce(z, t, pos_weight=torch.tensor([2.0, 0.5], dtype=f64), ignore_index=-1), (x,)
    )


def test_finite_at_extreme_logits():
    x = torch.tensor([1e4, -1e4, 1e4, -1e4], requires_grad=True)
    t = torch.tensor([0.0, 1.0, 1.0, 0.0])
    loss = bce(x, t, class_weight=torch.tensor([1.0, 9.0]), label_smoothing=0.1)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(x.grad).all()


def test_module_from_labels_and_buffers():
    y = torch.tensor([0.0] * 900 + [1.0] * 100)
    loss = BCEWithLogitsLoss.from_labels(y)
    torch.testing.assert_close(loss.class_weight, torch.tensor([1000 / 1800, 1000 / 200]))
    assert loss.pos_weight is None and "class_weight" in loss.state_dict()
    pw = BCEWithLogitsLoss.from_labels(y, weighting="pos_weight")
    assert pw.pos_weight.tolist() == [9.0] and pw.class_weight is None
    multi = BCEWithLogitsLoss.from_labels(
        torch.tensor([[1, 0], [0, 0], [0, 1], [0, 1]]), scheme="inverse"
    )
    assert multi.class_weight.shape == (2, 2)
    x = torch.randn(900 + 100)
    torch.testing.assert_close(loss(x, y), bce(x, y, class_weight=loss.class_weight))
    torch.testing.assert_close(
        pw(x, y), F.binary_cross_entropy_with_logits(x, y, pos_weight=torch.tensor([9.0]))
    )


@pytest.mark.parametrize(
    ("x", "t", "kwargs", "message"),
    [
        (
            torch.randn(4, 1),
            torch.rand(4),
            {},
            "must have the input's shape (4, 1), one target per logit (squeeze or reshape "
            "explicitly rather than rely on broadcasting). Got shape (4,) instead.",
        ),
        (
            torch.randn(4),
            torch.tensor([0, 1, 1, 0]),
            {},
            "The 'target' parameter of binary_cross_entropy_with_logits must be floating-point "
            "0/1 values or probabilities (use target.float(); for class indices use "
            "cross_entropy). Got dtype torch.int64 instead.",
        ),
        (
            torch.randn(4, 3),
            torch.rand(4, 3),
            {"pos_weight": torch.ones(2)},
            "The 'pos_weight' parameter of binary_cross_entropy_with_logits must have shape (3,) to match dim 1",
        ),
        (
            torch.randn(4),
            torch.rand(4),
            {"pos_weight": torch.ones(2)},
            "must have shape (1,) for a 1-D input",
        ),
        (
            torch.randn(4, 3),
            torch.rand(4, 3),
            {"class_weight": torch.ones(3)},
            "must have shape (2,) or (2, L)",
        ),
        (
            torch.randn(4, 3),
            torch.rand(4, 3),
            {"class_weight": torch.ones(2, 4)},
            "The 'class_weight' parameter of binary_cross_entropy_with_logits must have shape (3,)",
        ),
    ],
)
def test_shape_errors(x, t, kwargs, message):
    with pytest.raises(ShapeError) as info:
        bce(x, t, **kwargs)
    assert message in str(info.value)


def test_parameter_errors():
    with pytest.raises(
        InvalidParameterError,
        match=r"^The 'pos_weight' parameter of binary_cross_entropy_with_logits must be None when "
        r"'class_weight' is given \(pass at most one of 'class_weight' and 'pos_weight'\)\. ",
    ):
        bce(torch.randn(2), torch.rand(2), class_weight=torch.ones(2), pos_weight=torch.ones(1))
    with pytest.raises(
        InvalidParameterError,
        match=r"^The 'pos_weight' parameter of BCEWithLogitsLoss must be None when 'class_weight' "
        r"is given \(pass at most one of 'class_weight' and 'pos_weight'\)\. Got \[1\] instead\.$",
    ):
        BCEWithLogitsLoss(class_weight=[1, 2], pos_weight=[1])
    with pytest.raises(
        InvalidParameterError,
        match="The 'class_weight' parameter of BCEWithLogitsLoss must have shape \\(2,\\)",
    ):
        BCEWithLogitsLoss(class_weight=[1.0, 2.0, 3.0])
    with pytest.raises(InvalidParameterError, match="must be non-negative"):
        BCEWithLogitsLoss(pos_weight=[-1.0])
    with pytest.raises(
        InvalidParameterError,
        match=r"^The 'scheme' parameter of BCEWithLogitsLoss\.from_labels must be None with "
        r"weighting='pos_weight' \(scheme, beta and normalize apply only to "
        r"weighting='class_weight'\)\. Got 'inverse' instead\.$",
    ):
        BCEWithLogitsLoss.from_labels([0.0, 1.0], weighting="pos_weight", scheme="inverse")
    with pytest.raises(InvalidParameterError, match="The 'weighting' parameter"):
        BCEWithLogitsLoss.from_labels([0.0, 1.0], weighting="both")


@pytest.mark.parametrize(
    "weights", [{"class_weight": torch.tensor([1.0, 9.0])}, {"pos_weight": torch.tensor([9.0])}, {}]
)
def test_bfloat16_autocast_computes_in_float32(weights):
    lin = torch.nn.Linear(4, 1)
    x, t = torch.randn(64, 4) * 50, (torch.rand(64) < 0.2).float()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = lin(x)[:, 0]
        assert logits.dtype == torch.bfloat16
        loss = bce(logits, t, label_smoothing=0.05, **weights)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    reference = bce(logits.float(), t, label_smoothing=0.05, **weights)
    torch.testing.assert_close(loss, reference)
    loss.backward()
    assert torch.isfinite(lin.weight.grad).all()


@pytest.mark.parametrize(
    "make",
    [
        lambda: BCEWithLogitsLoss(
            class_weight=[[0.5, 1.0, 2.0], [3.0, 1.0, 0.2]], label_smoothing=0.1, ignore_index=-1
        ),
        lambda: BCEWithLogitsLoss(pos_weight=[4.0, 1.0, 2.0]),
        lambda: BCEWithLogitsLoss(pos_weight=[4.0, 1.0, 2.0], ignore_index=-1),
    ],
    ids=["class-weight", "pos-weight", "pos-weight-ignore"],
)
def test_torch_compile_fullgraph_matches_eager(make):
    x, t = _data((6, 3, 2), seed=8)
    x, t = x.float(), t.float()
    t[0, 0, 0] = -1
    loss = make()
    compiled = torch.compile(loss, fullgraph=True)
    s = torch.rand(6)
    eager, eager_grad = _grad(lambda z: loss(z, t, sample_weight=s), x)
    got, got_grad = _grad(lambda z: compiled(z, t, sample_weight=s), x)
    torch.testing.assert_close(got, eager, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(got_grad, eager_grad, rtol=1e-5, atol=1e-6)


def test_half_precision_logits_are_computed_in_float32():
    x, t = _data((16,), seed=9)
    x16 = x.half()
    for weights in (
        {"class_weight": torch.tensor([1.0, 9.0])},
        {"pos_weight": torch.tensor([9.0])},
    ):
        loss = bce(x16, t.half(), **weights)
        assert loss.dtype == torch.float32
        torch.testing.assert_close(loss, bce(x16.float(), t.float(), **weights))


# ----------------------------------------------------------------------------- MinorityLogitLoss


@pytest.mark.parametrize("minority", [0, 1])
@pytest.mark.parametrize(
    "inner",
    [
        lambda: BCEWithLogitsLoss(pos_weight=[9.0]),
        lambda: BCEWithLogitsLoss(class_weight=[0.3, 2.0], reduction="sum"),
        lambda: underdog.losses.SigmoidFocalLoss(gamma=2.0, alpha=0.25),
    ],
    ids=["pos-weight", "class-weight-sum", "sigmoid-focal"],
)
def test_minority_logit_loss_is_the_inner_loss_of_the_logit_difference(minority, inner):
    g = torch.Generator().manual_seed(11)
    x = torch.randn(12, 2, generator=g, dtype=f64) * 2
    y = torch.randint(0, 2, (12,), generator=g)
    s = torch.rand(12, generator=g, dtype=f64)
    loss = MinorityLogitLoss(inner().double(), minority=minority)
    other = 1 - minority
    t = (y == minority).to(f64)
    for weights in ({}, {"sample_weight": s}):
        ours = _grad(lambda z, w=weights: loss(z, y, **w), x)
        ref = _grad(lambda z, w=weights: loss.inner(z[:, minority] - z[:, other], t, **w), x)
        torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)
        # The other logit gets the opposite gradient: only the difference matters.
        torch.testing.assert_close(ours[1][:, other], -ours[1][:, minority])
    torch.testing.assert_close(
        loss.weight_sum(y, sample_weight=s), loss.inner.weight_sum(t.float(), sample_weight=s)
    )
    x.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda z: loss(z, y, sample_weight=s), (x,))


def test_minority_logit_loss_equals_two_class_cross_entropy():
    # softmax of two logits is the sigmoid of their difference: with class weights the
    # binary loss on the difference is two-class cross-entropy.
    x, _ = _data((16, 2), seed=12)
    y = (torch.rand(16, generator=torch.Generator().manual_seed(3)) < 0.3).long()
    w = torch.tensor([0.4, 3.0], dtype=f64)
    loss = MinorityLogitLoss(BCEWithLogitsLoss(class_weight=w), minority=1)
    torch.testing.assert_close(
        _grad(lambda z: loss(z, y), x),
        _grad(lambda z: cross_entropy(z, y, weight=w), x),
        rtol=1e-12,
        atol=1e-12,
    )


def test_minority_logit_loss_works_with_global_mean_and_plain_torch_losses():
    x, y = torch.randn(6, 2), torch.tensor([0, 1, 1, 0, 0, 0])
    summed = MinorityLogitLoss(BCEWithLogitsLoss(pos_weight=[3.0], reduction="sum"), minority=1)
    assert summed.reduction == "sum"
    criterion = underdog.losses.GlobalMean(summed, world_size=1)
    denominator = criterion.denominator(y)
    torch.testing.assert_close(
        criterion(x, y, denominator=denominator),
        MinorityLogitLoss(BCEWithLogitsLoss(pos_weight=[3.0]), minority=1)(x, y),
    )
    plain = MinorityLogitLoss(torch.nn.BCEWithLogitsLoss(), minority=0)  # no sample_weight
    torch.testing.assert_close(
        plain(x, y),
        F.binary_cross_entropy_with_logits(x[:, 0] - x[:, 1], (y == 0).float()),
    )
    assert plain.reduction == "mean"


def test_minority_logit_loss_errors():
    with pytest.raises(
        InvalidParameterError,
        match=r"^The 'minority' parameter of MinorityLogitLoss must be an int in \[0, 1\]\. "
        r"Got 2 instead\.$",
    ):
        MinorityLogitLoss(BCEWithLogitsLoss(), minority=2)
    with pytest.raises(
        InvalidParameterError,
        match=r"^The 'inner' parameter of MinorityLogitLoss must be a binary loss Module\. ",
    ):
        MinorityLogitLoss(binary_cross_entropy_with_logits, minority=1)
    with pytest.raises(
        ShapeError,
        match=r"^The 'input' parameter of MinorityLogitLoss must have two logits on dim 1, "
        r"shape \(N, 2, \*\)\. Got shape \(4, 3\) instead\.$",
    ):
        MinorityLogitLoss(BCEWithLogitsLoss(), minority=1)(torch.randn(4, 3), torch.zeros(4))
