"""underdog.cross_entropy against torch.nn.functional.cross_entropy, value and gradient."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from underdog import CrossEntropyLoss, InvalidParameterError, ShapeError, cross_entropy

f64 = torch.float64


def _grad(fn, x):
    x = x.detach().clone().requires_grad_(True)
    value = fn(x)
    (value.sum() if value.ndim else value).backward()
    return value.detach(), x.grad


def _case(dense: bool, ignore: bool, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    shape = (6, 4, 3, 2) if dense else (12, 4)
    x = torch.randn(shape, generator=g, dtype=f64) * 3
    target = torch.randint(0, 4, shape[:1] + shape[2:], generator=g)
    if ignore:
        target.view(-1)[::5] = -100
    return x, target


@pytest.mark.parametrize(
    ("dense", "ignore", "weighted", "smoothing", "reduction"),
    list(
        itertools.product(
            [False, True], [False, True], [False, True], [0.0, 0.2], ["mean", "sum", "none"]
        )
    ),
)
def test_equals_pytorch_for_class_indices(dense, ignore, weighted, smoothing, reduction):
    x, target = _case(dense, ignore)
    weight = torch.tensor([0.2, 1.0, 3.0, 7.5], dtype=f64) if weighted else None
    kwargs = dict(weight=weight, label_smoothing=smoothing, reduction=reduction)
    ours, ours_grad = _grad(lambda z: cross_entropy(z, target, **kwargs), x)
    ref, ref_grad = _grad(lambda z: F.cross_entropy(z, target, **kwargs), x)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ours_grad, ref_grad, rtol=1e-12, atol=1e-12)


def test_weighted_mean_divides_by_target_weights():
    x, target = _case(False, True)
    w = torch.tensor([0.2, 1.0, 3.0, 7.5], dtype=f64)
    none = cross_entropy(x, target, weight=w, reduction="none")
    keep = target != -100
    expected = none.sum() / w[target[keep]].sum()
    torch.testing.assert_close(cross_entropy(x, target, weight=w), expected)


def test_sample_weight_enters_the_weighted_mean():
    x, target = _case(True, True, seed=3)
    w = torch.tensor([0.5, 1.0, 2.0, 4.0], dtype=f64)
    s = torch.rand(x.shape[0], dtype=f64) + 0.1
    per_element = F.cross_entropy(x, target, weight=w, reduction="none", label_smoothing=0.1)
    keep = target != -100
    e = torch.where(keep, w[target.clamp(min=0)], 0.0) * s.reshape(-1, 1, 1)
    expected = (per_element * s.reshape(-1, 1, 1)).sum() / e.sum()
    ours = cross_entropy(x, target, weight=w, sample_weight=s, label_smoothing=0.1)
    torch.testing.assert_close(ours, expected, rtol=1e-12, atol=1e-12)
    # Per-element sample weights of the target's shape work the same way.
    full = s.reshape(-1, 1, 1).expand_as(target).contiguous()
    torch.testing.assert_close(
        cross_entropy(x, target, weight=w, sample_weight=full, label_smoothing=0.1), ours
    )
    # Unit sample weights change nothing.
    ones = torch.ones(x.shape[0], dtype=f64)
    torch.testing.assert_close(
        cross_entropy(x, target, weight=w, sample_weight=ones),
        F.cross_entropy(x, target, weight=w),
    )


@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_one_hot_probability_targets_equal_class_indices(smoothing):
    x, target = _case(False, False, seed=5)
    w = torch.tensor([0.2, 1.0, 3.0, 7.5], dtype=f64)
    one_hot = F.one_hot(target, 4).to(f64)
    for reduction in ("mean", "sum", "none"):
        kwargs = dict(weight=w, label_smoothing=smoothing, reduction=reduction)
        a, ga = _grad(lambda z, kw=kwargs: cross_entropy(z, target, **kw), x)
        b, gb = _grad(lambda z, kw=kwargs: cross_entropy(z, one_hot, **kw), x)
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(ga, gb, rtol=1e-12, atol=1e-12)


def test_probability_targets_match_pytorch_where_defined_alike():
    g = torch.Generator().manual_seed(7)
    x = torch.randn(5, 3, 4, dtype=f64, generator=g)
    t = torch.softmax(torch.randn(5, 3, 4, dtype=f64, generator=g), dim=1)
    w = torch.tensor([1.0, 2.0, 0.5], dtype=f64)
    for reduction in ("sum", "none"):
        torch.testing.assert_close(
            cross_entropy(x, t, weight=w, reduction=reduction, label_smoothing=0.1),
            F.cross_entropy(x, t, weight=w, reduction=reduction, label_smoothing=0.1),
        )
    torch.testing.assert_close(cross_entropy(x, t), F.cross_entropy(x, t))
    # With class weights, "mean" is the weighted mean: the sum over sum_c w_c t_c.
    expected = F.cross_entropy(x, t, weight=w, reduction="sum") / (t * w.reshape(3, 1)).sum()
    torch.testing.assert_close(cross_entropy(x, t, weight=w), expected)


def test_gradcheck_float64():
    x, target = _case(True, True, seed=11)
    x = x[:2, :, :2, :].clone().requires_grad_(True)
    target = target[:2, :2, :]
    w = torch.tensor([0.5, 1.0, 2.0, 4.0], dtype=f64)
    s = torch.tensor([0.3, 2.0], dtype=f64)
    assert torch.autograd.gradcheck(
        lambda z: cross_entropy(z, target, weight=w, sample_weight=s, label_smoothing=0.2), (x,)
    )
    t = torch.softmax(torch.randn(2, 4, dtype=f64), 1)
    x2 = torch.randn(2, 4, dtype=f64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda z: cross_entropy(z, t, weight=w), (x2,))


def test_finite_at_extreme_logits():
    x = torch.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]], requires_grad=True)
    loss = cross_entropy(
        x, torch.tensor([1, 0]), weight=torch.tensor([1.0, 2.0, 3.0]), label_smoothing=0.1
    )
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(x.grad).all()


def test_module_equals_functional_and_keeps_weight_as_buffer():
    x, target = _case(False, True)
    x = x.float()
    loss = CrossEntropyLoss(weight=[0.2, 1.0, 3.0, 7.5], label_smoothing=0.1)
    assert "weight" in loss.state_dict()
    assert loss.weight.dtype == torch.get_default_dtype()
    expected = cross_entropy(x, target, weight=loss.weight, label_smoothing=0.1)
    torch.testing.assert_close(loss(x, target), expected)
    assert loss.double().weight.dtype == f64
    restored = CrossEntropyLoss(weight=torch.zeros(4))
    restored.load_state_dict(loss.float().state_dict())
    torch.testing.assert_close(restored.weight, loss.weight)


def test_from_labels_and_from_counts():
    y = torch.tensor([0] * 900 + [1] * 100 + [-100] * 5)
    loss = CrossEntropyLoss.from_labels(y, scheme="balanced", label_smoothing=0.1)
    torch.testing.assert_close(loss.weight, torch.tensor([1000 / 1800, 1000 / 200]))
    assert loss.label_smoothing == 0.1
    inverse = CrossEntropyLoss.from_counts([100, 800, 100], scheme="inverse", normalize="max")
    torch.testing.assert_close(inverse.weight, torch.tensor([1.0, 0.125, 1.0]))
    padded = CrossEntropyLoss.from_labels([0, 1, 1], num_classes=3, zero_count="zero")
    assert padded.weight[2] == 0


@pytest.mark.parametrize(
    ("x", "target", "kwargs", "message"),
    [
        (
            torch.randn(4, 3),
            torch.rand(4),
            {},
            "must have the input's shape (4, 3) when it holds probabilities (class-index targets "
            "must be integers: use target.long()). Got shape (4,) and dtype torch.float32 instead.",
        ),
        (
            torch.randn(4, 3),
            torch.tensor([0, 1]),
            {},
            "must have shape (4,) for an input of shape (4, 3)",
        ),
        (
            torch.randn(4, 3),
            torch.zeros(4, dtype=torch.long),
            {"weight": torch.ones(2)},
            "The 'weight' parameter of cross_entropy must have shape (3,)",
        ),
        (
            torch.randn(4),
            torch.zeros(4, dtype=torch.long),
            {},
            "must have shape (N, C) or (N, C, d1, ...)",
        ),
        (torch.randn(4, 3), torch.zeros(4, dtype=torch.bool), {}, "Got dtype torch.bool"),
        (
            torch.randn(4, 3),
            torch.zeros(4, dtype=torch.long),
            {"sample_weight": torch.ones(3)},
            "The 'sample_weight' parameter of cross_entropy must have shape (4,)",
        ),
    ],
)
def test_shape_errors(x, target, kwargs, message):
    with pytest.raises(ShapeError) as info:
        cross_entropy(x, target, **kwargs)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"weight": [1.0, -2.0]},
            "The 'weight' parameter of CrossEntropyLoss must be non-negative.",
        ),
        (
            {"weight": [1.0, float("inf")]},
            "The 'weight' parameter of CrossEntropyLoss must be finite.",
        ),
        (
            {"label_smoothing": 1.5},
            "The 'label_smoothing' parameter of CrossEntropyLoss must be a float in [0, 1]. Got 1.5 instead.",
        ),
        (
            {"reduction": "avg"},
            "The 'reduction' parameter of CrossEntropyLoss must be one of 'mean', 'none', 'sum'. Got 'avg' instead.",
        ),
        ({"ignore_index": 0.5}, "The 'ignore_index' parameter of CrossEntropyLoss must be an int"),
    ],
)
def test_bad_parameters(kwargs, message):
    with pytest.raises(InvalidParameterError) as info:
        CrossEntropyLoss(**kwargs)
    assert message in str(info.value)


def test_functional_rejects_bad_reduction_and_smoothing():
    x, t = torch.randn(2, 3), torch.tensor([0, 1])
    with pytest.raises(InvalidParameterError, match="'reduction' parameter of cross_entropy"):
        cross_entropy(x, t, reduction="avg")
    with pytest.raises(InvalidParameterError, match="'label_smoothing' parameter of cross_entropy"):
        cross_entropy(x, t, label_smoothing=-0.1)


def test_bfloat16_autocast_computes_in_float32():
    lin = torch.nn.Linear(4, 3)
    x, y = torch.randn(64, 4) * 50, torch.randint(0, 3, (64,))
    w = torch.tensor([0.5, 1.0, 4.0])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = lin(x)
        assert logits.dtype == torch.bfloat16
        loss = cross_entropy(logits, y, weight=w, label_smoothing=0.1)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    torch.testing.assert_close(
        loss, cross_entropy(logits.float(), y, weight=w, label_smoothing=0.1)
    )
    loss.backward()
    assert torch.isfinite(lin.weight.grad).all()


@pytest.mark.parametrize("probabilities", [False, True])
def test_torch_compile_fullgraph_matches_eager(probabilities):
    x, target = _case(True, True, seed=13)
    x = x.float()
    if probabilities:
        target = torch.softmax(torch.randn_like(x), dim=1)
    loss = CrossEntropyLoss(weight=[0.2, 1.0, 3.0, 7.5], label_smoothing=0.1)
    compiled = torch.compile(loss, fullgraph=True)
    s = torch.rand(x.shape[0])
    eager, eager_grad = _grad(lambda z: loss(z, target, sample_weight=s), x)
    got, got_grad = _grad(lambda z: compiled(z, target, sample_weight=s), x)
    torch.testing.assert_close(got, eager, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(got_grad, eager_grad, rtol=1e-5, atol=1e-6)


def test_half_precision_logits_are_computed_in_float32():
    x, target = _case(False, True, seed=2)
    x16 = x.to(torch.bfloat16)
    loss = cross_entropy(x16, target, weight=torch.tensor([0.2, 1.0, 3.0, 7.5]))
    assert loss.dtype == torch.float32
    torch.testing.assert_close(
        loss, cross_entropy(x16.float(), target, weight=torch.tensor([0.2, 1.0, 3.0, 7.5]))
    )
