"""Checks every imbalance loss must pass, swept over a registry of all of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import torch
from loss_references import value_and_grad

import underdog as ud
from underdog import InvalidParameterError

C = 6
COUNTS = [400, 150, 60, 25, 9, 3]
WEIGHT = [0.5, 1.0, 2.0, 0.7, 1.5, 3.0]


@dataclass
class Entry:
    name: str
    make: Callable[..., torch.nn.Module]  # make(**overrides)
    call: Callable[..., torch.Tensor]  # call(x, t, **module_kwargs) -> the functional
    kind: str  # "index" (class indices, classes on dim 1) or "binary" (0/1 targets)
    kwargs: dict[str, Any] = field(default_factory=dict)  # shared by make and call
    element: Callable[[torch.Tensor], torch.Tensor] | None = None  # e_i, unignored targets

    def __str__(self) -> str:
        return self.name


def _ones(t: torch.Tensor) -> torch.Tensor:
    return torch.ones(t.shape, dtype=torch.float64)


def _class_weight(t: torch.Tensor) -> torch.Tensor:
    return torch.tensor(WEIGHT, dtype=torch.float64)[t]


def _cb_weight(base: str) -> Callable[[torch.Tensor], torch.Tensor]:
    def element(t: torch.Tensor) -> torch.Tensor:
        w = ud.losses.class_balanced_weight(COUNTS, beta=0.99).double()[t]
        return w * C if base == "sigmoid" else w

    return element


def _alpha(t: torch.Tensor) -> torch.Tensor:
    t = t.double()
    return 0.25 * t + 0.75 * (1 - t)


REGISTRY = [
    Entry(
        "focal_cross_entropy",
        lambda **kw: ud.FocalCrossEntropyLoss(gamma=2.0, weight=WEIGHT, **kw),
        lambda x, t, **kw: ud.focal_cross_entropy(
            x, t, gamma=2.0, weight=torch.tensor(WEIGHT, dtype=x.dtype), **kw
        ),
        "index",
        element=_class_weight,
    ),
    Entry(
        "focal_cross_entropy_gamma_0.5",
        lambda **kw: ud.FocalCrossEntropyLoss(gamma=0.5, **kw),
        lambda x, t, **kw: ud.focal_cross_entropy(x, t, gamma=0.5, **kw),
        "index",
        element=_ones,
    ),
    Entry(
        "sigmoid_focal_with_logits",
        lambda **kw: ud.SigmoidFocalLoss(gamma=2.0, alpha=0.25, **kw),
        lambda x, t, **kw: ud.sigmoid_focal_with_logits(x, t, gamma=2.0, alpha=0.25, **kw),
        "binary",
        element=_alpha,
    ),
    Entry(
        "sigmoid_focal_pos_weight_gamma_0.5",
        lambda **kw: ud.SigmoidFocalLoss(gamma=0.5, alpha=None, pos_weight=WEIGHT, **kw),
        lambda x, t, **kw: ud.sigmoid_focal_with_logits(
            x, t, gamma=0.5, alpha=None, pos_weight=torch.tensor(WEIGHT, dtype=x.dtype), **kw
        ),
        "binary",
        element=_ones,
    ),
    Entry(
        "class_balanced_softmax_focal",
        lambda **kw: ud.ClassBalancedLoss(counts=COUNTS, beta=0.99, gamma=1.0, **kw),
        lambda x, t, **kw: ud.class_balanced_loss(x, t, counts=COUNTS, beta=0.99, gamma=1.0, **kw),
        "index",
        element=_cb_weight("softmax"),
    ),
    Entry(
        "class_balanced_sigmoid_focal",
        lambda **kw: ud.ClassBalancedLoss(
            counts=COUNTS, beta=0.99, base="sigmoid", gamma=2.0, **kw
        ),
        lambda x, t, **kw: ud.class_balanced_loss(
            x, t, counts=COUNTS, beta=0.99, base="sigmoid", gamma=2.0, **kw
        ),
        "index",
        element=_cb_weight("sigmoid"),
    ),
    Entry(
        "ldam_cross_entropy",
        lambda **kw: ud.LDAMLoss(counts=COUNTS, weight=WEIGHT, **kw),
        lambda x, t, **kw: ud.ldam_cross_entropy(
            x, t, counts=COUNTS, weight=torch.tensor(WEIGHT, dtype=x.dtype), **kw
        ),
        "index",
        element=_class_weight,
    ),
    Entry(
        "logit_adjusted_cross_entropy",
        lambda **kw: ud.LogitAdjustedLoss(counts=COUNTS, tau=1.5, **kw),
        lambda x, t, **kw: ud.logit_adjusted_cross_entropy(x, t, counts=COUNTS, tau=1.5, **kw),
        "index",
        element=_ones,
    ),
    Entry(
        "balanced_softmax_cross_entropy",
        lambda **kw: ud.BalancedSoftmaxLoss(counts=COUNTS, **kw),
        lambda x, t, **kw: ud.balanced_softmax_cross_entropy(x, t, counts=COUNTS, **kw),
        "index",
        element=_ones,
    ),
    Entry(
        "asymmetric_loss_with_logits",
        lambda **kw: ud.AsymmetricLoss(**kw),
        lambda x, t, **kw: ud.asymmetric_loss_with_logits(x, t, **kw),
        "binary",
        element=_ones,
    ),
    Entry(
        "asymmetric_gamma_below_one_no_clip",
        lambda **kw: ud.AsymmetricLoss(gamma_pos=0.3, gamma_neg=0.7, clip=0.0, **kw),
        lambda x, t, **kw: ud.asymmetric_loss_with_logits(
            x, t, gamma_pos=0.3, gamma_neg=0.7, clip=0.0, **kw
        ),
        "binary",
        element=_ones,
    ),
]

IGNORE = {"index": -100, "binary": -1}


def make_data(entry: Entry, *, n=8, dense=(), dtype=torch.float32, seed=0, scale=2.0):
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn((n, C, *dense), generator=g, dtype=torch.float64) * scale).to(dtype)
    if entry.kind == "index":
        t = torch.randint(0, C, (n, *dense), generator=g)
    else:
        t = (torch.rand((n, C, *dense), generator=g) < 0.3).to(dtype)
    return x, t


def with_ignored(entry: Entry, t: torch.Tensor) -> torch.Tensor:
    t = t.clone()
    t.view(-1)[::5] = IGNORE[entry.kind]
    return t


def ignore_kwargs(entry: Entry) -> dict[str, Any]:
    return {"ignore_index": IGNORE[entry.kind]} if entry.kind == "binary" else {}


pytestmark = pytest.mark.parametrize("entry", REGISTRY, ids=str)


def test_module_equals_functional(entry):
    x, t = make_data(entry)
    for reduction in ("mean", "sum", "none"):
        module = entry.make(reduction=reduction)
        torch.testing.assert_close(
            value_and_grad(lambda z, m=module: m(z, t), x),
            value_and_grad(lambda z, r=reduction: entry.call(z, t, reduction=r), x),
        )


def test_reductions_are_consistent(entry):
    x, t = make_data(entry, dtype=torch.float64, dense=(3,))
    t = with_ignored(entry, t)
    extra = ignore_kwargs(entry)
    none = entry.call(x, t, reduction="none", **extra)
    total = entry.call(x, t, reduction="sum", **extra)
    mean = entry.call(x, t, reduction="mean", **extra)
    keep = t != IGNORE[entry.kind]
    assert none.shape == (t.shape if entry.kind == "binary" else x.shape[:1] + x.shape[2:])
    assert (none >= 0).all()
    assert (none[~keep] == 0).all()
    torch.testing.assert_close(none.sum(), total)
    safe = torch.where(keep, t, torch.zeros_like(t))
    e = (entry.element(safe) * keep).sum()
    torch.testing.assert_close(mean, total / e)


def test_ignored_elements_get_no_gradient(entry):
    x, t = make_data(entry, dtype=torch.float64)
    t = with_ignored(entry, t)
    _, grad = value_and_grad(lambda z: entry.call(z, t, **ignore_kwargs(entry)), x)
    ignored = t == IGNORE[entry.kind]
    if entry.kind == "index":
        assert (grad.movedim(1, -1)[ignored] == 0).all()
    else:
        assert (grad[ignored] == 0).all()


def test_gradcheck_float64(entry):
    x, t = make_data(entry, n=3, dtype=torch.float64, dense=(2,), scale=1.0)
    module = entry.make(reduction="sum").double()
    x.requires_grad_()
    assert torch.autograd.gradcheck(lambda z: module(z, t), (x,))
    assert torch.autograd.gradcheck(lambda z: entry.make(reduction="none").double()(z, t), (x,))


def test_second_order_gradients_are_refused(entry):
    # The hand-written backward kernels are first-order: differentiating them again must
    # raise, never silently drop the terms that depend on the logits (gradgradcheck saw
    # analytical zeros before). Paths through plain autograd stay exact: see
    # test_logit_adjusted.py::test_smoothed_path_has_exact_second_derivatives.
    x, t = make_data(entry, n=3, dtype=torch.float64, dense=(2,), scale=1.0)
    module = entry.make(reduction="sum").double()
    x.requires_grad_()
    with pytest.raises(NotImplementedError, match="first-order only"):
        torch.autograd.gradgradcheck(lambda z: module(z, t), (x,))


@pytest.mark.parametrize("magnitude", [1e4, 1e2])
def test_finite_at_extreme_logits(entry, magnitude):
    x, t = make_data(entry, n=16)
    x = torch.sign(x) * magnitude
    x[0] = 0.0
    for dtype in (torch.float32, torch.float64):
        module = entry.make(reduction="sum").to(dtype)
        value, grad = value_and_grad(lambda z, m=module: m(z, t), x.to(dtype))
        assert torch.isfinite(value) and torch.isfinite(grad).all()


def test_bfloat16_autocast_is_finite_and_float32(entry):
    x, t = make_data(entry, n=16)
    linear = torch.nn.Linear(C, C)
    with torch.no_grad():
        linear.weight.copy_(torch.eye(C) * 1e3)  # saturating logits
        linear.bias.zero_()
    module = entry.make()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = linear(x.movedim(1, -1)).movedim(-1, 1)
        assert logits.dtype == torch.bfloat16
        loss = module(logits, t)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    loss.backward()
    assert torch.isfinite(linear.weight.grad).all()
    # bfloat16 input outside autocast: computed in float32 from the rounded logits.
    x16 = make_data(entry, n=16)[0].to(torch.bfloat16)
    torch.testing.assert_close(module(x16, t), module(x16.float(), t))


def test_half_input_is_finite(entry):
    x, t = make_data(entry, n=16)
    x = (torch.sign(x) * 6e4).half()
    if entry.kind == "binary":
        t = t.half()
    x.requires_grad_()
    loss = entry.make(reduction="sum")(x, t)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(x.grad).all() and x.grad.dtype == torch.half


def test_keeps_at_most_one_logits_tensor_for_backward(entry):
    x, t = make_data(entry, n=64)
    x.requires_grad_()
    module = entry.make()
    storages: dict[int, int] = {}

    def pack(saved: torch.Tensor):
        storage = saved.untyped_storage()
        if storage.data_ptr() != t.untyped_storage().data_ptr():  # the target is the user's
            storages[storage.data_ptr()] = storage.nbytes()
        return saved

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda saved: saved):
        loss = module(x, t)
    # One logits-sized tensor, plus at most 16 bytes per position (an int64 index and two
    # float32 factors) and a few scalars: with C = 6 a looser allowance would hide a whole
    # second logits copy.
    positions = x.numel() // C
    kept = sum(storages.values()) - 16 * positions - 16  # and a few 0-dim scalars
    ratio = kept / (x.numel() * x.element_size())
    assert ratio <= 1.0, f"{entry.name} keeps {ratio:.4f}x the logits for backward"
    loss.backward()


def test_buffers_follow_the_module(entry):
    module = entry.make()
    # Every tensor the Module holds (weights, margins, priors) is a registered buffer ...
    tensors = {name for name, value in vars(module).items() if isinstance(value, torch.Tensor)}
    assert not tensors, f"{entry.name} holds tensors outside its buffers: {tensors}"
    buffers = {name for name, value in module.named_buffers() if value is not None}
    # ... and follows the Module's dtype and state_dict.
    for name in buffers:
        assert name in module.state_dict()
        if module.get_buffer(name).is_floating_point():
            assert module.double().get_buffer(name).dtype == torch.float64


def test_torch_compile_fullgraph_matches_eager(entry):
    x, t = make_data(entry, dense=(2,))
    module = entry.make()
    compiled = torch.compile(module, fullgraph=True)
    eager = value_and_grad(lambda z: module(z, t), x)
    got = value_and_grad(lambda z: compiled(z, t), x)
    torch.testing.assert_close(got, eager, rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_float16_autocast_on_cuda(entry):
    x, t = make_data(entry, n=16)
    x, t = (x * 1e3).cuda().requires_grad_(), t.cuda()
    module = entry.make().cuda()
    with torch.autocast("cuda", dtype=torch.float16):
        loss = module(x.half(), t)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    loss.backward()
    assert torch.isfinite(x.grad).all()
    torch.testing.assert_close(loss, module(x.detach().half().float(), t), rtol=1e-4, atol=1e-4)


def test_weight_sum_is_what_mean_divides_by(entry):
    """weight_sum (used by GlobalMean and data-parallel training) is the mean's denominator."""
    x, t = make_data(entry, dtype=torch.float64, dense=(3,))
    t = with_ignored(entry, t)
    s = torch.rand(x.shape[0], dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    total = entry.make(reduction="sum", **ignore_kwargs(entry)).double()
    mean = entry.make(reduction="mean", **ignore_kwargs(entry)).double()
    for weight in (None, s + 0.5):
        denominator = total.weight_sum(t, sample_weight=weight)
        torch.testing.assert_close(
            total(x, t, sample_weight=weight) / denominator, mean(x, t, sample_weight=weight)
        )


@pytest.mark.parametrize("reduction", ["SUM", "avg", None, 1, "Mean"])
def test_an_unknown_reduction_is_refused_on_every_path(entry, reduction):
    # The kernels' fast paths once fell back to the mean (issue 14, item 3).
    x, t = make_data(entry)
    for kwargs in ({}, {"sample_weight": torch.ones(x.shape[0])}):
        with pytest.raises(
            InvalidParameterError,
            match=r"^The 'reduction' parameter of \w+ "
            r"must be one of 'mean', 'none', 'sum'\. Got .* instead\.$",
        ):
            entry.call(x, t, reduction=reduction, **kwargs)
