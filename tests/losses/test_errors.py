"""Bad input gives a documented error with a clear message, at construction or call."""

import pytest
import torch

import underdog as ud

COUNTS = [10, 5, 2]
X = torch.randn(4, 3)
Y = torch.tensor([0, 1, 2, 1])
T = torch.zeros(4, 3)

CASES = [
    (
        lambda: ud.FocalCrossEntropyLoss(gamma=-1.0),
        ud.InvalidParameterError,
        r"The 'gamma' parameter of FocalCrossEntropyLoss must be a float in \[0, inf\)\. "
        r"Got -1\.0 instead\.",
    ),
    (
        lambda: ud.SigmoidFocalLoss(gamma=-2),
        ud.InvalidParameterError,
        r"The 'gamma' parameter of SigmoidFocalLoss must be a float in \[0, inf\)",
    ),
    (
        lambda: ud.SigmoidFocalLoss(alpha=-0.1),
        ud.InvalidParameterError,
        r"'alpha' parameter of SigmoidFocalLoss must be a float in \[0, 1\]",
    ),
    (
        lambda: ud.ClassBalancedLoss(counts=COUNTS, beta=1.0),
        ud.InvalidParameterError,
        r"'beta' parameter of ClassBalancedLoss must be a float in \[0, 1\)\. Got 1\.0",
    ),
    (
        lambda: ud.ClassBalancedLoss(counts=COUNTS, gamma=-1.0),
        ud.InvalidParameterError,
        r"'gamma' parameter of ClassBalancedLoss",
    ),
    (
        lambda: ud.DeferredReweighting(COUNTS, start_epoch=3, beta=1.5),
        ud.InvalidParameterError,
        r"'beta' parameter of DeferredReweighting must be a float in \[0, 1\)",
    ),
    (
        lambda: ud.LogitAdjustedLoss(counts=COUNTS, tau=float("inf")),
        ud.InvalidParameterError,
        r"'tau' parameter of LogitAdjustedLoss must be a float in \(-inf, inf\)\. Got inf",
    ),
    (
        lambda: ud.LogitAdjustedLoss(counts=[3, 0, 1]),
        ud.DataError,
        r"Got classes \[1\] with no samples instead",
    ),
    (
        lambda: ud.BalancedSoftmaxLoss(counts=[0, 2, 1]),
        ud.DataError,
        r"Got classes \[0\] with no samples instead",
    ),
    (
        lambda: ud.LDAMLoss(counts=[3, 0, 1]),
        ud.DataError,
        r"The 'counts' parameter of LDAMLoss must be positive for every class.*Got classes "
        r"\[1\] with no samples instead",
    ),
    (lambda: ud.LDAMLoss(counts=[3, float("nan"), 1]), ud.InvalidParameterError, "finite"),
    (
        lambda: ud.AsymmetricLoss(gamma_neg=-4.0),
        ud.InvalidParameterError,
        r"'gamma_neg' parameter of AsymmetricLoss must be a float in \[0, inf\)",
    ),
    (lambda: ud.AsymmetricLoss(clip=-0.05), ud.InvalidParameterError, r"'clip' parameter"),
    (
        lambda: ud.ldam_cross_entropy(X, torch.tensor([0, 1, 3, 1]), counts=COUNTS),
        ud.DataError,
        r"class indices in \[0, 3\).*Got the class index 3 instead",
    ),
    (
        lambda: ud.focal_cross_entropy(X, torch.tensor([0, 1, 2, 7]), gamma=2.0),
        ud.DataError,
        r"Got the class index 7",
    ),
    (
        lambda: ud.logit_adjusted_cross_entropy(X, torch.tensor([0, -3, 2, 1]), counts=COUNTS),
        ud.DataError,
        r"Got the class index -3",
    ),
    (
        lambda: ud.focal_cross_entropy(X, Y, weight=torch.ones(5)),
        ud.ShapeError,
        r"'weight' parameter of focal_cross_entropy must have shape \(3,\)",
    ),
    (
        lambda: ud.ldam_cross_entropy(X, Y, counts=[1, 2, 3, 4]),
        ud.ShapeError,
        r"'counts' parameter of ldam_cross_entropy must have shape \(3,\)",
    ),
    (
        lambda: ud.LDAMLoss(counts=COUNTS, weight=[1.0, 1.0])(X, Y),
        ud.InvalidParameterError,
        r"'weight' parameter of LDAMLoss must have shape \(3,\)",
    ),
    (
        lambda: ud.ClassBalancedLoss(counts=[1, 2, 3, 4])(X, Y),
        ud.ShapeError,
        r"'counts' parameter of ClassBalancedLoss must have shape \(3,\)",
    ),
    (
        lambda: ud.sigmoid_focal_with_logits(X, T, pos_weight=torch.ones(2)),
        ud.ShapeError,
        r"'pos_weight' parameter of sigmoid_focal_with_logits must have shape \(3,\)",
    ),
    (
        lambda: ud.asymmetric_loss_with_logits(X, Y),
        ud.ShapeError,
        r"'target' parameter of asymmetric_loss_with_logits must be floating-point",
    ),
    (
        lambda: ud.AsymmetricLoss(reduction="avg"),
        ud.InvalidParameterError,
        r"'reduction' parameter of AsymmetricLoss must be one of 'mean', 'none', 'sum'",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case[2][:40])
def test_bad_input_raises_documented_error(case):
    action, error, message = case
    with pytest.raises(error, match=message):
        action()
