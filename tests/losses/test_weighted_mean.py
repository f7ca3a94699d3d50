"""A weighted mean over nothing: every loss gives PyTorch's value (nan) and a zero gradient.

When every element of a batch is ignored or weighs 0 (a rank's share, a micro-batch), the
``"mean"`` is ``0 / 0``. ``F.cross_entropy`` returns nan with a zero gradient; every
underdog loss, function and Module, must do the same, never a NaN gradient that would put
NaN into the parameters (issue 11, defect 1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import torch
from test_contract import REGISTRY

import underdog as ud
from underdog.losses import GlobalMean, MinorityLogitLoss

C = 6
IGNORE = {"index": -100, "binary": -1.0}


@dataclass
class Case:
    name: str
    loss: Callable[..., torch.Tensor]  # loss(x, t, **kwargs)
    kind: str  # "index", "binary" or "two" (class indices of a two-logit model)

    def __str__(self) -> str:
        return self.name


def _functional(entry: Any) -> Callable[..., torch.Tensor]:
    def loss(x: torch.Tensor, t: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        if entry.kind == "binary":
            kwargs.setdefault("ignore_index", -1)
        return entry.call(x, t, **kwargs)

    return loss


def _module(entry: Any) -> Callable[..., torch.Tensor]:
    def loss(x: torch.Tensor, t: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        options = {"ignore_index": -1} if entry.kind == "binary" else {}
        return entry.make(**options)(x, t, **kwargs)

    return loss


def _global_mean(x: torch.Tensor, t: torch.Tensor, **kwargs: Any) -> torch.Tensor:
    criterion = GlobalMean(ud.CrossEntropyLoss(reduction="sum"), world_size=1)
    denominator = criterion.denominator(t, sample_weights=kwargs.get("sample_weight"))
    return criterion(x, t, denominator=denominator, **kwargs)


WEIGHT = torch.tensor([0.5, 1.0, 2.0, 0.7, 1.5, 3.0])
CASES = [
    *(Case(entry.name, _functional(entry), entry.kind) for entry in REGISTRY),
    *(Case(entry.name + "-module", _module(entry), entry.kind) for entry in REGISTRY),
    Case("cross_entropy", ud.cross_entropy, "index"),
    Case("cross_entropy-weight", lambda x, t, **k: ud.cross_entropy(x, t, weight=WEIGHT, **k),
         "index"),
    Case("cross_entropy-weight-smoothing",
         lambda x, t, **k: ud.cross_entropy(x, t, weight=WEIGHT, label_smoothing=0.1, **k),
         "index"),
    Case("CrossEntropyLoss-weight", lambda x, t, **k: ud.CrossEntropyLoss(weight=WEIGHT)(x, t, **k),
         "index"),
    Case("ldam-smoothing",
         lambda x, t, **k: ud.ldam_cross_entropy(x, t, counts=[9, 8, 7, 6, 5, 4],
                                                 label_smoothing=0.1, **k), "index"),
    Case("class_balanced_loss-sigmoid", lambda x, t, **k: ud.class_balanced_loss(
        x, t, counts=[9, 8, 7, 6, 5, 4], base="sigmoid", **k), "index"),
    Case("GlobalMean-cross_entropy", _global_mean, "index"),
    Case("binary_cross_entropy_with_logits",
         lambda x, t, **k: ud.binary_cross_entropy_with_logits(x, t, ignore_index=-1, **k),
         "binary"),
    Case("binary_cross_entropy_with_logits-class_weight",
         lambda x, t, **k: ud.binary_cross_entropy_with_logits(
             x, t, class_weight=torch.tensor([0.5, 5.0]), ignore_index=-1, **k), "binary"),
    Case("binary_cross_entropy_with_logits-pos_weight",
         lambda x, t, **k: ud.binary_cross_entropy_with_logits(
             x, t, pos_weight=torch.full((C,), 3.0), ignore_index=-1, **k), "binary"),
    Case("BCEWithLogitsLoss", lambda x, t, **k: ud.BCEWithLogitsLoss(ignore_index=-1)(x, t, **k),
         "binary"),
    Case("sigmoid_focal_with_logits-alpha_none",
         lambda x, t, **k: ud.sigmoid_focal_with_logits(x, t, alpha=None, ignore_index=-1, **k),
         "binary"),
    Case("MinorityLogitLoss",
         lambda x, t, **k: MinorityLogitLoss(ud.BCEWithLogitsLoss(), minority=1)(x, t, **k),
         "two"),
]  # fmt: skip


def _data(case: Case, *, fill: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    classes = 2 if case.kind == "two" else C
    x = torch.randn(5, classes, 3, generator=g, dtype=torch.float64)
    if case.kind == "binary":
        t = (torch.rand(5, C, 3, generator=g) < 0.3).double()
    else:
        t = torch.randint(0, classes, (5, 3), generator=g)
    if case.kind == "two":
        x = x.reshape(5, 2, 3)
    if fill is not None:
        t = torch.full_like(t, fill)
    return x, t


def _value_and_grad(case: Case, x: torch.Tensor, t: torch.Tensor, **kwargs: Any):
    x = x.clone().requires_grad_()
    value = case.loss(x, t, **kwargs)
    value.backward()
    return value.detach(), x.grad


@pytest.mark.parametrize("case", [c for c in CASES if c.kind != "two"], ids=str)
def test_every_element_ignored_gives_nan_and_a_zero_gradient(case):
    x, t = _data(case, fill=IGNORE[case.kind])
    value, grad = _value_and_grad(case, x, t)
    assert torch.isnan(value)  # PyTorch's 0 / 0
    assert torch.equal(grad, torch.zeros_like(grad))


@pytest.mark.parametrize("case", CASES, ids=str)
def test_every_sample_weight_zero_gives_nan_and_a_zero_gradient(case):
    x, t = _data(case)
    value, grad = _value_and_grad(case, x, t, sample_weight=torch.zeros(x.shape[0]))
    assert torch.isnan(value)
    assert torch.equal(grad, torch.zeros_like(grad))


ZERO_FIRST = torch.tensor([0.0, 1.0, 1.0, 1.0, 1.0, 1.0], dtype=torch.float64)
COUNTS = [9, 8, 7, 6, 5, 4]
CLASS_WEIGHTED = {
    "cross_entropy": lambda x, t: ud.cross_entropy(x, t, weight=ZERO_FIRST),
    "CrossEntropyLoss": lambda x, t: ud.CrossEntropyLoss(weight=ZERO_FIRST)(x, t),
    "focal_cross_entropy": lambda x, t: ud.focal_cross_entropy(x, t, weight=ZERO_FIRST),
    "ldam_cross_entropy": lambda x, t: ud.ldam_cross_entropy(
        x, t, counts=COUNTS, weight=ZERO_FIRST
    ),
    "LogitAdjustedLoss": lambda x, t: ud.LogitAdjustedLoss(counts=COUNTS, weight=ZERO_FIRST)(x, t),
}


@pytest.mark.parametrize("name", CLASS_WEIGHTED)
def test_class_weights_zero_on_the_whole_batch_give_a_zero_gradient(name):
    # PyTorch's own weighted mean has NaN gradients here; underdog reduces it itself.
    x, t = _data(CASES[0], fill=0)  # every target is class 0, of weight 0
    value, grad = _value_and_grad(Case(name, CLASS_WEIGHTED[name], "index"), x, t)
    assert torch.isnan(value)
    assert torch.equal(grad, torch.zeros_like(grad))


def test_a_batch_with_some_weight_is_unchanged():
    # The guard changes nothing where the denominator is positive: the reference mean.
    x, t = _data(CASES[0])
    t[0] = -100
    got = ud.focal_cross_entropy(x, t, gamma=0.0, weight=WEIGHT.double())
    want = torch.nn.functional.cross_entropy(x, t, weight=WEIGHT.double())
    torch.testing.assert_close(got, want)


def test_every_public_loss_is_covered():
    names = {case.name.split("-")[0] for case in CASES}
    losses = [
        name
        for name in ud.losses.__all__
        if "weight" not in name
        and "margins" not in name
        and name not in ("log_prior", "DeferredReweighting")
    ]
    covered = names | {type(e.make()).__name__ for e in REGISTRY}
    missing = [name for name in losses if name not in covered]
    assert not missing, missing
