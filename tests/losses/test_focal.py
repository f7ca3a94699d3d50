import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from loss_references import sigmoid_focal, softmax_focal, torchvision_sigmoid_focal, value_and_grad

import underdog
from underdog import (
    DataError,
    FocalCrossEntropyLoss,
    InvalidParameterError,
    ShapeError,
    SigmoidFocalLoss,
    focal_cross_entropy,
    sigmoid_focal_with_logits,
)


@pytest.fixture
def data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(12, 5, generator=g, dtype=torch.float64) * 2
    y = torch.randint(0, 5, (12,), generator=g)
    w = torch.rand(5, generator=g, dtype=torch.float64) + 0.2
    t = (torch.rand(12, 5, generator=g) < 0.3).double()
    return x, y, w, t


# ----------------------------------------------------------------------------- softmax


@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0, 3.7])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_softmax_focal_matches_formula(data, gamma, reduction):
    x, y, w, _ = data
    y = y.clone()
    y[3] = -100
    got = value_and_grad(
        lambda z: focal_cross_entropy(z, y, gamma=gamma, weight=w, reduction=reduction), x
    )
    want = value_and_grad(
        lambda z: softmax_focal(z, y, gamma=gamma, weight=w, reduction=reduction), x
    )
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)


def test_softmax_focal_gamma_zero_is_cross_entropy(data):
    x, y, w, _ = data
    x32, w32 = x.float(), w.float()
    for kwargs in ({}, {"weight": w32}):
        got = value_and_grad(lambda z, kw=kwargs: focal_cross_entropy(z, y, gamma=0.0, **kw), x32)
        want = value_and_grad(lambda z, kw=kwargs: F.cross_entropy(z, y, **kw), x32)
        torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-7)
        via_underdog = underdog.cross_entropy(x32, y, **kwargs)
        torch.testing.assert_close(got[0], via_underdog)


def test_softmax_focal_dense_and_sample_weight(data):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 4, 5, 2, generator=g, dtype=torch.float64)
    y = torch.randint(0, 4, (3, 5, 2), generator=g)
    sw = torch.rand(3, generator=g, dtype=torch.float64)
    w = torch.rand(4, generator=g, dtype=torch.float64)
    got = focal_cross_entropy(x, y, gamma=1.5, weight=w, sample_weight=sw)
    flat_x = x.movedim(1, -1).reshape(-1, 4)
    flat_y = y.reshape(-1)
    s = sw.reshape(3, 1, 1).expand(3, 5, 2).reshape(-1)
    per = softmax_focal(flat_x, flat_y, gamma=1.5, weight=w, reduction="none")
    torch.testing.assert_close(got, (per * s).sum() / (w[flat_y] * s).sum())


def test_softmax_focal_saturated_gradient_is_the_limit():
    # p_y = 1 exactly in float32: the true derivative is 0 for every gamma > 0, even in (0, 1).
    x = torch.tensor([[1e4, 0.0, -1e4], [0.0, 30.0, 0.0]], requires_grad=True)
    y = torch.tensor([0, 1])
    for gamma in (0.2, 0.5, 0.99, 2.0):
        loss = focal_cross_entropy(x, y, gamma=gamma, reduction="sum")
        (grad,) = torch.autograd.grad(loss, x)
        assert torch.isfinite(loss) and torch.isfinite(grad).all()
        assert grad.abs().max() < 1e-6


@given(
    gamma=st.floats(0.0, 5.0),
    seed=st.integers(0, 2**16),
)
@settings(max_examples=25, deadline=None)
def test_softmax_focal_never_exceeds_cross_entropy(gamma, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(6, 4, generator=g, dtype=torch.float64) * 5
    y = torch.randint(0, 4, (6,), generator=g)
    focal = focal_cross_entropy(x, y, gamma=gamma, reduction="none")
    ce = F.cross_entropy(x, y, reduction="none")
    assert (focal <= ce + 1e-12).all()
    assert (focal >= 0).all()


def test_softmax_focal_module_from_labels():
    labels = torch.tensor([0, 0, 0, 1, 2, 2])
    loss = FocalCrossEntropyLoss.from_labels(labels, gamma=1.0)
    torch.testing.assert_close(loss.weight, underdog.class_weight(underdog.class_counts(labels)))
    assert "weight" in loss.state_dict()
    x = torch.randn(4, 3)
    y = torch.tensor([0, 1, 2, 1])
    assert loss(x, y) == focal_cross_entropy(x, y, gamma=1.0, weight=loss.weight)


def test_softmax_focal_errors():
    x = torch.randn(4, 3)
    y = torch.tensor([0, 1, 2, 1])
    with pytest.raises(
        InvalidParameterError,
        match=r"The 'gamma' parameter of focal_cross_entropy must be a float in \[0, inf\)\. "
        r"Got -1\.0 instead\.",
    ):
        focal_cross_entropy(x, y, gamma=-1.0)
    with pytest.raises(InvalidParameterError, match="'gamma' parameter of FocalCrossEntropyLoss"):
        FocalCrossEntropyLoss(gamma=float("nan"))
    with pytest.raises(ShapeError, match=r"'weight' parameter of focal_cross_entropy.*\(3,\)"):
        focal_cross_entropy(x, y, weight=torch.ones(4))
    with pytest.raises(ShapeError, match="probability targets are not supported"):
        focal_cross_entropy(x, torch.softmax(x, 1))
    with pytest.raises(DataError, match=r"class indices in \[0, 3\).*Got the class index 3"):
        focal_cross_entropy(x, torch.tensor([0, 1, 3, 1]))
    with pytest.raises(DataError, match="Got the class index -1"):
        focal_cross_entropy(x, torch.tensor([0, 1, -1, 1]))


# ----------------------------------------------------------------------------- sigmoid


@pytest.mark.parametrize("gamma", [0.0, 0.3, 1.0, 2.0, 2.5])
@pytest.mark.parametrize("alpha", [None, 0.25, 0.9])
@pytest.mark.parametrize("use_pos_weight", [False, True])
def test_sigmoid_focal_matches_formula(data, gamma, alpha, use_pos_weight):
    x, _, w, t = data
    pw = w if use_pos_weight else None
    for reduction in ("mean", "sum", "none"):
        got = value_and_grad(
            lambda z, r=reduction: sigmoid_focal_with_logits(
                z, t, gamma=gamma, alpha=alpha, pos_weight=pw, reduction=r
            ),
            x,
        )
        want = value_and_grad(
            lambda z, r=reduction: sigmoid_focal(
                z, t, gamma=gamma, alpha=alpha, pos_weight=pw, reduction=r
            ),
            x,
        )
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)


def test_sigmoid_focal_gamma_zero_is_bce(data):
    x, _, w, t = data
    x32, t32, w32 = x.float(), t.float(), w.float()
    got = value_and_grad(
        lambda z: sigmoid_focal_with_logits(z, t32, gamma=0.0, alpha=None, pos_weight=w32), x32
    )
    want = value_and_grad(lambda z: F.binary_cross_entropy_with_logits(z, t32, pos_weight=w32), x32)
    torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-7)
    # alpha is the class weight (1 - alpha, alpha), "mean" included.
    got = value_and_grad(lambda z: sigmoid_focal_with_logits(z, t32, gamma=0.0, alpha=0.3), x32)
    want = value_and_grad(
        lambda z: underdog.binary_cross_entropy_with_logits(
            z, t32, class_weight=torch.tensor([0.7, 0.3])
        ),
        x32,
    )
    torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-7)


def test_sigmoid_focal_relation_to_torchvision(data):
    x, _, _, t = data
    ours = sigmoid_focal_with_logits(x, t, gamma=2.0, alpha=0.25, reduction="sum") / x.numel()
    torch.testing.assert_close(ours, torchvision_sigmoid_focal(x, t, alpha=0.25, gamma=2.0))


def test_sigmoid_focal_ignore_index_and_smoothing(data):
    x, _, _, t = data
    t = t.clone()
    t[0, 0] = -1
    t[2, 3] = -1
    keep = t != -1
    got = sigmoid_focal_with_logits(x, t, gamma=2.0, alpha=0.25, ignore_index=-1)
    hard = torch.where(keep, t, 0)
    per = sigmoid_focal(x, hard, gamma=2.0, alpha=0.25, reduction="none") * keep
    e = (0.25 * hard + 0.75 * (1 - hard)) * keep
    torch.testing.assert_close(got, per.sum() / e.sum())
    smoothed = sigmoid_focal_with_logits(x, hard, gamma=1.0, alpha=None, label_smoothing=0.2)
    soft = hard * 0.8 + 0.1
    torch.testing.assert_close(smoothed, sigmoid_focal(x, soft, gamma=1.0))


def test_sigmoid_focal_module_from_labels():
    y = torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    loss = SigmoidFocalLoss.from_labels(y, alpha=None)
    torch.testing.assert_close(loss.pos_weight, torch.tensor([3.0, 3.0]))
    x = torch.randn(4, 2)
    want = sigmoid_focal_with_logits(x, y, alpha=None, pos_weight=loss.pos_weight)
    assert loss(x, y) == want


def test_sigmoid_focal_errors():
    x = torch.randn(4, 3)
    t = torch.zeros(4, 3)
    with pytest.raises(
        InvalidParameterError,
        match=r"The 'alpha' parameter of sigmoid_focal_with_logits must be a float in \[0, 1\]",
    ):
        sigmoid_focal_with_logits(x, t, alpha=1.5)
    with pytest.raises(InvalidParameterError, match="'gamma' parameter of SigmoidFocalLoss"):
        SigmoidFocalLoss(gamma=-0.5)
    with pytest.raises(ShapeError, match="'pos_weight' parameter of sigmoid_focal_with_logits"):
        sigmoid_focal_with_logits(x, t, pos_weight=torch.ones(2))
    with pytest.raises(ShapeError, match="must have the input's shape"):
        sigmoid_focal_with_logits(x, t[:, :2])


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
@pytest.mark.parametrize("label", [1.0, 0.0])
def test_sigmoid_focal_float32_exact_at_saturated_logits(gamma, label):
    # float32 sigmoid is subnormal below x = -87, 0 below -104 and 1 above 17.
    x = torch.tensor([-1e4, -200.0, -95.0, -50.0, -5.0, 0.3, 17.5, 25.0, 60.0, 1e4])
    t = torch.full_like(x, label)
    leaf = x.clone().requires_grad_()
    loss = sigmoid_focal_with_logits(leaf, t, gamma=gamma, alpha=None, reduction="none")
    (grad,) = torch.autograd.grad(loss.sum(), leaf)
    z, t64 = x.double(), t.double()
    p, q = torch.sigmoid(z), torch.sigmoid(-z)
    sn, sp = F.softplus(-z), F.softplus(z)  # -log p, -log(1 - p)
    want = t64 * q**gamma * sn + (1 - t64) * p**gamma * sp
    want_grad = -t64 * q**gamma * (q + gamma * p * sn) + (1 - t64) * p**gamma * (p + gamma * q * sp)
    torch.testing.assert_close(loss.detach().double(), want, rtol=1e-5, atol=1e-30)
    torch.testing.assert_close(grad.double(), want_grad, rtol=1e-5, atol=1e-30)


def test_per_class_vectors_compile_with_dynamic_shapes():
    # A per-class vector is checked against dim 1 with plain comparisons: Dynamo mis-traced
    # `k not in (1, classes)` on symbolic sizes into the error branch.
    loss = underdog.SigmoidFocalLoss(gamma=0.5, alpha=None, pos_weight=[1.0, 2.0, 3.0])
    compiled = torch.compile(loss, fullgraph=True, dynamic=True)
    g = torch.Generator().manual_seed(4)
    for n in (5, 8):
        x = torch.randn(n, 3, 2, generator=g)
        t = (torch.rand(n, 3, 2, generator=g) < 0.3).float()
        torch.testing.assert_close(compiled(x, t), loss(x, t), rtol=1e-5, atol=1e-6)
