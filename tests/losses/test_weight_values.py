"""Negative or non-finite weights given to a loss function raise, as docs/losses.md says.

The Modules check their weights once, at construction; the functions check the weights
they receive (``weight``, ``class_weight``, ``pos_weight``, ``sample_weight``) on every
call, on the CPU in eager mode (issue 14, item 6), in one place
(``underdog.losses._checks.check_weight_values``).
"""

from __future__ import annotations

import pytest
import torch

import underdog as ud
from underdog import InvalidParameterError

C = 3
X = torch.randn(4, C, generator=torch.Generator().manual_seed(0))
Y = torch.tensor([0, 1, 2, 1])
T = (torch.rand(4, C, generator=torch.Generator().manual_seed(1)) < 0.5).float()
COUNTS = [10, 5, 2]

#: (function, its name, input, target, the weight arguments it takes and their shapes)
FUNCTIONS = [
    (ud.cross_entropy, "cross_entropy", X, Y, {"weight": (C,)}),
    (ud.focal_cross_entropy, "focal_cross_entropy", X, Y, {"weight": (C,)}),
    (lambda x, t, **k: ud.ldam_cross_entropy(x, t, counts=COUNTS, **k), "ldam_cross_entropy",
     X, Y, {"weight": (C,)}),
    (lambda x, t, **k: ud.logit_adjusted_cross_entropy(x, t, counts=COUNTS, **k),
     "logit_adjusted_cross_entropy", X, Y, {"weight": (C,)}),
    (lambda x, t, **k: ud.balanced_softmax_cross_entropy(x, t, counts=COUNTS, **k),
     "balanced_softmax_cross_entropy", X, Y, {"weight": (C,)}),
    (lambda x, t, **k: ud.class_balanced_loss(x, t, counts=COUNTS, **k), "class_balanced_loss",
     X, Y, {}),
    (ud.binary_cross_entropy_with_logits, "binary_cross_entropy_with_logits", X, T,
     {"class_weight": (2, C), "pos_weight": (C,)}),
    (ud.sigmoid_focal_with_logits, "sigmoid_focal_with_logits", X, T, {"pos_weight": (C,)}),
    (ud.asymmetric_loss_with_logits, "asymmetric_loss_with_logits", X, T, {}),
]  # fmt: skip

CASES = [
    (fn, name, x, t, arg, shape)
    for fn, name, x, t, args in FUNCTIONS
    for arg, shape in [*args.items(), ("sample_weight", (4,))]
]
BAD = {"negative": (-0.5, "non-negative"), "nan": (float("nan"), "finite"),
       "inf": (float("inf"), "finite")}  # fmt: skip


@pytest.mark.parametrize("bad", BAD)
@pytest.mark.parametrize(
    ("fn", "name", "x", "t", "arg", "shape"), CASES, ids=[f"{c[1]}-{c[4]}" for c in CASES]
)
def test_a_bad_weight_raises_in_the_functions_name(fn, name, x, t, arg, shape, bad):
    value, must = BAD[bad]
    weight = torch.ones(shape)
    weight.view(-1)[1] = value
    with pytest.raises(
        InvalidParameterError,
        match=rf"^The '{arg}' parameter of {name} must be {must}\. Got .* instead\.$",
    ):
        fn(x, t, **{arg: weight})
    good = fn(x, t, **{arg: torch.ones(shape)})  # the same call with good weights works
    assert torch.isfinite(good)


def test_zero_weights_are_allowed():
    zero_one = torch.tensor([0.0, 1.0, 1.0])
    assert torch.isfinite(ud.cross_entropy(X, Y, weight=zero_one))
    assert torch.isfinite(ud.cross_entropy(X, Y, sample_weight=torch.tensor([0.0, 1, 1, 1])))


def test_the_module_buffers_are_checked_at_construction_and_in_forward():
    with pytest.raises(InvalidParameterError, match="'weight' parameter of FocalCrossEntropyLoss"):
        ud.FocalCrossEntropyLoss(weight=[1.0, -1.0, 1.0])
    loss = ud.FocalCrossEntropyLoss(weight=[1.0, 1.0, 1.0])
    loss.weight[1] = float("nan")  # changed behind the Module's back
    with pytest.raises(InvalidParameterError, match="'weight' parameter of focal_cross_entropy"):
        loss(X, Y)
