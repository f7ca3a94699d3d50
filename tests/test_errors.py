"""Every public entry point of the core and the losses: bad input raises the documented
error, in the library's one message grammar.

The taxonomy (see ``underdog._validation``):

- ``InvalidParameterError``: a parameter of the wrong type or value, an unknown name or
  option (the message lists the valid ones), exclusive options given together; also a
  per-class vector given to a constructor with the wrong length;
- ``ShapeError``: tensors whose shapes or dtypes do not fit together in a call;
- ``DataError``: bad label *values* (negative, out of range, not integers, NaN) and data
  that breaks a requirement (a class without samples, no labels at all).

The grammar: one line of complete sentences,
``The '<name>' parameter of <owner> must <expectation>. Got <what> instead.``, where
``<owner>`` is the public function, class or method that received the parameter.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import pytest
import torch

import underdog.counts
import underdog.losses
import underdog.samplers
import underdog.weights
from underdog import DataError, InvalidParameterError, ShapeError
from underdog.counts import class_counts, multilabel_counts
from underdog.losses import (
    AsymmetricLoss,
    BalancedSoftmaxLoss,
    BCEWithLogitsLoss,
    ClassBalancedLoss,
    CrossEntropyLoss,
    DeferredReweighting,
    FocalCrossEntropyLoss,
    GlobalMean,
    LDAMLoss,
    LogitAdjustedLoss,
    MinorityLogitLoss,
    SigmoidFocalLoss,
    asymmetric_loss_with_logits,
    balanced_softmax_cross_entropy,
    binary_cross_entropy_weight_sum,
    binary_cross_entropy_with_logits,
    class_balanced_loss,
    class_balanced_weight,
    cross_entropy,
    cross_entropy_weight_sum,
    focal_cross_entropy,
    ldam_cross_entropy,
    ldam_margins,
    log_prior,
    logit_adjusted_cross_entropy,
    sigmoid_focal_with_logits,
)
from underdog.samplers import ClassBalancedSampler, DistributedClassBalancedSampler
from underdog.weights import binary_class_weight, class_weight, pos_weight, sample_weight

#: The one grammar of every message.
GRAMMAR = re.compile(r"^The '\w+' parameter of [\w.]+ must [^\n]*\. Got [^\n]* instead\.$")

#: Public names that are not entry points with checks: constants, and a plain record.
NOT_ENTRY_POINTS = {"NORMALIZATIONS", "SCHEMES", "ZERO_COUNT_POLICIES", "MultilabelCounts"}

COUNTS = [10, 5, 2]
X = torch.randn(4, 3, generator=torch.Generator().manual_seed(0))
Y = torch.tensor([0, 1, 2, 1])
OUT_OF_RANGE = torch.tensor([0, 1, 3, 1])
T = torch.zeros(4, 3)
DRW = DeferredReweighting(COUNTS, start_fraction=0.5)


class Row(NamedTuple):
    """``func(*args, **kwargs)`` raises ``error`` with a message matching ``match``."""

    func: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    error: type[Exception]
    match: str


def row(func, *args, error, match, **kwargs) -> Row:
    return Row(func, args, kwargs, error, match)


IPE = InvalidParameterError

ROWS = [
    # ------------------------------------------------------------------------- counts
    row(class_counts, [0, -1], error=DataError,
        match=r"^The 'labels' parameter of class_counts must hold class indices >= 0\. "
        r"Got the label -1 instead\.$"),
    row(class_counts, [0, 3], num_classes=3, error=DataError,
        match=r"must hold class indices in \[0, 3\), below num_classes=3\. Got the label 3"),
    row(class_counts, [0.5, 1.0], error=DataError,
        match=r"'labels' parameter of class_counts must hold integer class indices"),
    row(class_counts, [[1, 0, 0], [0, 0, 1]], error=DataError,
        match=r"^The 'labels' parameter of class_counts must hold class indices, not one-hot "
        r"rows \(convert them with labels\.argmax\(1\); for multi-hot targets use "
        r"multilabel_counts\)\. Got one-hot rows of shape \(2, 3\) instead\.$"),
    row(class_counts, [0, 2**40], error=DataError,
        match=r"^The 'labels' parameter of class_counts must hold class indices below 16777216 "
        r"unless num_classes is given, since the counts have max\(label\) \+ 1 entries "
        r"\(remap sparse label ids to 0\.\.C-1 first, .*or pass num_classes up to "
        r"268435456\)\. Got the label 1099511627776 instead\.$"),
    row(class_counts, [0, 1], num_classes=2**40, error=IPE,
        match=r"'num_classes' parameter of class_counts must be an int in \[1, 268435456\]"),
    row(class_counts, torch.tensor([0, 1]).to_sparse(), error=DataError,
        match=r"'labels' parameter of class_counts must be a dense tensor \(convert a sparse "
        r"one with \.to_dense\(\)\)\. Got a tensor of layout torch\.sparse_coo instead\.$"),
    row(class_counts, torch.zeros(2, dtype=torch.long, device="meta"), error=DataError,
        match=r"'labels' parameter of class_counts must hold values \(a tensor on the meta "
        r"device has none\)\. Got a tensor on the meta device instead\.$"),
    row(class_counts, np.array(["2020-01-01"], dtype="datetime64[D]"), error=DataError,
        match=r"'labels' parameter of class_counts must hold integer class indices .*Got "
        r"values of dtype datetime64\[D\] instead\.$"),
    row(class_counts, np.array([0, 2**63 + 5], dtype=np.uint64), error=DataError,
        match=r"^The 'labels' parameter of class_counts must hold class indices below "
        r"2\*\*63\. Got the label 9223372036854775813 instead\.$"),
    row(class_counts, iter([(torch.zeros(2, 3),)]), error=DataError,
        match=r"^The 'labels' parameter of class_counts must hold labels: batches of the form "
        r"\(x, y, \.\.\.\), or y alone holding integer class indices \(target= says where "
        r"the labels are\)\. Got batches of one torch\.float32 tensor of shape \(2, 3\) and "
        r"no labels instead\.$"),
    row(class_counts, [0, 1], ignore_index=2**70, error=IPE,
        match=r"'ignore_index' parameter of class_counts must be an int in "
        r"\[-9223372036854775808, 9223372036854775807\]"),
    row(ClassBalancedSampler, [0, 2**40], error=DataError,
        match=r"^The 'labels' parameter of ClassBalancedSampler must hold class indices below "
        r"16777216, since the counts have max\(label\) \+ 1 entries \(remap sparse label ids "
        r"to 0\.\.C-1 first, for example with np\.unique\(labels, return_inverse=True\)\)\. "
        r"Got the label 1099511627776 instead\.$"),
    row(class_counts, [0, 1], num_classes=0, error=IPE,
        match=r"'num_classes' parameter of class_counts must be an int in \[1, 268435456\]"),
    row(class_counts, 3, error=IPE,
        match=r"'labels' parameter of class_counts must be an array, tensor, list"),
    row(class_counts, [0, 1], target=1, error=IPE,
        match=r"'target' parameter of class_counts must be None when 'labels' is an array"),
    row(multilabel_counts, [[0, 2]], error=DataError,
        match=r"'targets' parameter of multilabel_counts must hold only 0 and 1\. "
        r"Got the value 2 instead\.$"),
    row(multilabel_counts, [[0, 1]], ignore_index=1, error=IPE,
        match=r"'ignore_index' parameter of multilabel_counts must differ from 0 and 1"),
    row(multilabel_counts, [torch.ones(3), torch.ones(2)], error=DataError,
        match=r"must be a list of rows of one length"),
    # ------------------------------------------------------------------------- weights
    row(class_weight, [5, 10], scheme="bogus", error=IPE,
        match=r"'scheme' parameter of class_weight must be one of 'balanced', 'inverse', "
        r"'inverse_sqrt', 'effective', 'median', 'uniform'\. Got 'bogus' instead\.$"),
    row(class_weight, [10, 0], error=DataError,
        match=r"'counts' parameter of class_weight must be positive for every class unless "
        r"zero_count is 'zero' or 'max'\. Got classes \[1\] with no samples instead\.$"),
    row(class_weight, [900, 100], dtype=torch.int64, error=IPE,
        match=r"^The 'dtype' parameter of class_weight must be None or a floating-point "
        r"torch\.dtype such as torch\.float32 .*\. Got torch\.int64 instead\.$"),
    row(class_weight, [10**9, 1], scheme="inverse", dtype=torch.float16, error=IPE,
        match=r"^The 'dtype' parameter of class_weight must hold the weights, which reach "
        r"1e\+09, above torch\.float16's largest 65504 .*\. Got torch\.float16 instead\.$"),
    row(pos_weight, [0, 1], dtype=torch.int32, error=IPE,
        match=r"'dtype' parameter of pos_weight must be None or a floating-point"),
    row(binary_class_weight, [0, 1], dtype=torch.long, error=IPE,
        match=r"'dtype' parameter of binary_class_weight must be None or a floating-point"),
    row(class_weight, torch.ones(2, device="meta"), error=IPE,
        match=r"'counts' parameter of class_weight must be a dense tensor with values"),
    row(class_weight, [[1, 2]], error=IPE,
        match=r"'counts' parameter of class_weight must be one-dimensional"),
    row(class_weight, {"ok": 9, "fraud": 1}, scheme={"frud": 10.0}, error=IPE,
        match=r"^The 'scheme' parameter of class_weight must map classes \(\['fraud', 'ok'\]\) "
        r"to weights\. Got the keys \['frud'\], which are not classes, instead\.$"),
    row(class_weight, [9, 1], classes=["ok"], error=IPE,
        match=r"'classes' parameter of class_weight must name the 2 entries of counts"),
    row(pos_weight, [[1, 0], [0, 0]], error=DataError,
        match=r"'targets' parameter of pos_weight must have a positive for every label"),
    row(pos_weight, [0, 1], zero_count="skip", error=IPE,
        match=r"'zero_count' parameter of pos_weight must be one of 'raise', 'zero', 'max'"),
    row(binary_class_weight, [0, 1], beta=0.9, error=IPE,
        match=r"'beta' parameter of binary_class_weight must be None unless scheme='effective'"),
    row(binary_class_weight, [1, 1], error=DataError,
        match=r"'targets' parameter of binary_class_weight must have samples of both classes "
        r"for every label .*\. Got \(label, class\) pairs \[\(0, 0\)\] with no samples"),
    row(sample_weight, [0, 5], [1.0, 2.0], error=DataError,
        match=r"'labels' parameter of sample_weight must hold class indices in \[0, 2\)"),
    row(sample_weight, [[0, 1], [1, 0]], [1.0, 2.0], error=DataError,
        match=r"'labels' parameter of sample_weight must hold class indices, not one-hot rows"),
    row(sample_weight, ["ok", "frud"], {"ok": 1.0}, classes=["ok", "fraud"], error=DataError,
        match=r"^The 'labels' parameter of sample_weight must hold only labels listed in "
        r"classes \(\['ok', 'fraud'\]\)\. Got the labels \['frud'\] instead\.$"),
    row(sample_weight, ["a"], "inverse", error=IPE,
        match=r"'class_weight' parameter of sample_weight must be one of 'balanced'"),
    row(sample_weight, [0, 1], [1.0, -2.0], error=IPE,
        match=r"'class_weight' parameter of sample_weight must be non-negative"),
    # ------------------------------------------------------------------------- samplers
    row(ClassBalancedSampler, [0, -1], error=DataError,
        match=r"^The 'labels' parameter of ClassBalancedSampler must hold class indices >= 0"),
    row(ClassBalancedSampler, [[0, 2], [1, 0]], error=DataError,
        match=r"'labels' parameter of ClassBalancedSampler must give one class index per "
        r"sample\. Got labels of shape \(2, 2\) instead\.$"),
    row(ClassBalancedSampler, [[0, 1], [1, 0]], error=DataError,
        match=r"'labels' parameter of ClassBalancedSampler must hold class indices, not "
        r"one-hot rows .*\. Got one-hot rows of shape \(2, 2\) instead\.$"),
    row(ClassBalancedSampler, [0, 1], power=1.0, class_weight=[1, 1], error=IPE,
        match=r"'class_weight' parameter of ClassBalancedSampler must be None when 'power' "
        r"is given"),
    row(ClassBalancedSampler, [0, 1], class_probabilities=[1, 1, 1], error=DataError,
        match=r"'class_probabilities' parameter of ClassBalancedSampler must give no "
        r"probability to classes without samples"),
    row(ClassBalancedSampler, [0, 1], num_samples=0, error=IPE,
        match=r"'num_samples' parameter of ClassBalancedSampler must be an int in \[1, inf\)"),
    row(DistributedClassBalancedSampler, [0, 1], error=IPE,
        match=r"'num_replicas' parameter of DistributedClassBalancedSampler must be given "
        r"when torch.distributed is not initialised"),
    row(DistributedClassBalancedSampler, [0, 1], num_replicas=2, rank=2, error=IPE,
        match=r"'rank' parameter of DistributedClassBalancedSampler must be an int in "
        r"\[0, 1\]"),
    # ------------------------------------------------------------------------- cross-entropy
    row(cross_entropy, X, Y.float(), error=ShapeError,
        match=r"'target' parameter of cross_entropy must have the input's shape \(4, 3\) "
        r"when it holds probabilities"),
    row(cross_entropy, X, Y, reduction="avg", error=IPE,
        match=r"'reduction' parameter of cross_entropy must be one of 'mean', 'none', 'sum'"),
    row(cross_entropy, X, Y, weight=torch.ones(2), error=ShapeError,
        match=r"'weight' parameter of cross_entropy must have shape \(3,\), one value per "
        r"class of dim 1 of the input \(4, 3\)\. Got shape \(2,\) instead\.$"),
    row(cross_entropy, X, Y, weight=torch.tensor([1.0, -1.0, 1.0]), error=IPE,
        match=r"^The 'weight' parameter of cross_entropy must be non-negative\. Got "
        r"tensor\(\[1\.0, -1\.0, 1\.0\]\) of dtype torch\.float32 instead\.$"),
    row(cross_entropy, X, Y, weight=torch.tensor([1.0, float("nan"), 1.0]), error=IPE,
        match=r"'weight' parameter of cross_entropy must be finite"),
    row(cross_entropy, X, Y, sample_weight=torch.tensor([1.0, -2.0, 1.0, 1.0]), error=IPE,
        match=r"'sample_weight' parameter of cross_entropy must be non-negative"),
    row(cross_entropy, X, torch.tensor([0, -1, 2, 1]), error=DataError,
        match=r"^The 'target' parameter of cross_entropy must hold class indices in \[0, 3\) "
        r"\(or ignore_index=-100\) for an input with 3 classes on dim 1\. Got the class "
        r"index -1 instead\.$"),
    row(cross_entropy, X, OUT_OF_RANGE, error=DataError,
        match=r"'target' parameter of cross_entropy must hold class indices .*Got the class "
        r"index 3 instead"),
    row(cross_entropy, X, Y, ignore_index=True, error=IPE,
        match=r"^The 'ignore_index' parameter of cross_entropy must be an int in "
        r"\[-9223372036854775808, 9223372036854775807\]\. Got True instead\.$"),
    row(cross_entropy, X, Y, weight=torch.ones(3, device="meta"), error=ShapeError,
        match=r"'weight' parameter of cross_entropy must hold values that can be moved to the "
        r"input's device \(cpu\)"),
    row(cross_entropy, X, Y.to("meta"), error=ShapeError,
        match=r"^The 'target' parameter of cross_entropy must be on the input's device "
        r"\(cpu\)\. Got a target on meta instead\.$"),
    row(cross_entropy, X, Y.to_sparse(), error=ShapeError,
        match=r"'target' parameter of cross_entropy must be a dense tensor"),
    row(cross_entropy, X, Y, sample_weight=torch.ones(4, device="meta"), error=ShapeError,
        match=r"'sample_weight' parameter of cross_entropy must be a dense tensor on the "
        r"input's device \(cpu\)"),
    row(cross_entropy_weight_sum, Y, ignore_index=1.0, error=IPE,
        match=r"'ignore_index' parameter of cross_entropy_weight_sum must be an int"),
    row(cross_entropy_weight_sum, Y, sample_weight=torch.ones(3), error=ShapeError,
        match=r"'sample_weight' parameter of cross_entropy_weight_sum must have shape \(4,\)"),
    row(CrossEntropyLoss, label_smoothing=None, error=IPE,
        match=r"^The 'label_smoothing' parameter of CrossEntropyLoss must be a float in "
        r"\[0, 1\]\. Got None instead\.$"),
    row(cross_entropy_weight_sum, torch.tensor([0.0, 1.0]), error=ShapeError,
        match=r"^The 'target' parameter of cross_entropy_weight_sum must hold int64 class "
        r"indices \(N, \*\) or float probabilities \(N, C, \*\) with classes on dim 1\."),
    row(cross_entropy_weight_sum, OUT_OF_RANGE, weight=torch.ones(3), error=DataError,
        match=r"'target' parameter of cross_entropy_weight_sum must hold class indices in "
        r"\[0, 3\)"),
    row(CrossEntropyLoss, weight=[1.0, -2.0], error=IPE,
        match=r"'weight' parameter of CrossEntropyLoss must be non-negative"),
    row(CrossEntropyLoss.from_counts, [5, 10], scheme="effective", error=IPE,
        match=r"'beta' parameter of class_weight must be a float in \[0, 1\) when "
        r"scheme='effective'"),
    row(CrossEntropyLoss.from_labels, [0.5], error=DataError,
        match=r"'labels' parameter of class_counts must hold integer class indices"),
    # ------------------------------------------------------------------------- binary
    row(binary_cross_entropy_with_logits, X, Y, error=ShapeError,
        match=r"'target' parameter of binary_cross_entropy_with_logits must be "
        r"floating-point"),
    row(binary_cross_entropy_with_logits, X, T, class_weight=torch.ones(2),
        pos_weight=torch.ones(3), error=IPE,
        match=r"'pos_weight' parameter of binary_cross_entropy_with_logits must be None when "
        r"'class_weight' is given"),
    row(binary_cross_entropy_with_logits, X, T, class_weight=torch.ones(3), error=ShapeError,
        match=r"'class_weight' parameter of binary_cross_entropy_with_logits must have shape "
        r"\(2,\) or \(2, L\)"),
    row(binary_cross_entropy_with_logits, X, T, ignore_index=True, error=IPE,
        match=r"'ignore_index' parameter of binary_cross_entropy_with_logits must be an int"),
    row(binary_cross_entropy_with_logits, X, T, pos_weight=torch.ones(3, device="meta"),
        error=ShapeError, match=r"'pos_weight' parameter of binary_cross_entropy_with_logits "
        r"must hold values that can be moved"),
    row(binary_cross_entropy_weight_sum, T, ignore_index="x", error=IPE,
        match=r"'ignore_index' parameter of binary_cross_entropy_weight_sum must be an int"),
    row(binary_cross_entropy_weight_sum, Y, error=ShapeError,
        match=r"'target' parameter of binary_cross_entropy_weight_sum must be floating-point"),
    row(binary_cross_entropy_with_logits, X, T, pos_weight=torch.tensor([1.0, -1.0, 1.0]),
        error=IPE, match=r"'pos_weight' parameter of binary_cross_entropy_with_logits must be "
        r"non-negative"),
    row(binary_cross_entropy_with_logits, X, T, class_weight=torch.tensor([float("inf"), 1.0]),
        error=IPE, match=r"'class_weight' parameter of binary_cross_entropy_with_logits must "
        r"be finite"),
    row(binary_cross_entropy_weight_sum, T, class_weight=torch.tensor([-1.0, 1.0]), error=IPE,
        match=r"'class_weight' parameter of binary_cross_entropy_weight_sum must be "
        r"non-negative"),
    row(BCEWithLogitsLoss, class_weight=[1.0, 2.0, 3.0], error=IPE,
        match=r"'class_weight' parameter of BCEWithLogitsLoss must have shape \(2,\)"),
    row(BCEWithLogitsLoss.from_labels, [0.0, 1.0], weighting="both", error=IPE,
        match=r"'weighting' parameter of BCEWithLogitsLoss.from_labels must be one of "
        r"'class_weight', 'pos_weight'"),
    row(MinorityLogitLoss, BCEWithLogitsLoss(), minority=2, error=IPE,
        match=r"'minority' parameter of MinorityLogitLoss must be an int in \[0, 1\]"),
    row(MinorityLogitLoss(BCEWithLogitsLoss(), minority=1), X[:, :2].bool(), Y, error=ShapeError,
        match=r"'input' parameter of MinorityLogitLoss must be floating-point logits"),
    row(MinorityLogitLoss(BCEWithLogitsLoss(), minority=1), X, Y, error=ShapeError,
        match=r"'input' parameter of MinorityLogitLoss must have two logits on dim 1"),
    # ------------------------------------------------------------------------- focal
    row(focal_cross_entropy, X, Y, gamma=-1.0, error=IPE,
        match=r"^The 'gamma' parameter of focal_cross_entropy must be a float in \[0, inf\)\. "
        r"Got -1\.0 instead\.$"),
    row(focal_cross_entropy, X, OUT_OF_RANGE, error=DataError,
        match=r"'target' parameter of focal_cross_entropy must hold class indices in "
        r"\[0, 3\) \(or ignore_index=-100\) for an input with 3 classes on dim 1\. Got the "
        r"class index 3 instead\.$"),
    row(focal_cross_entropy, X.to("meta"), Y, error=ShapeError,
        match=r"'target' parameter of focal_cross_entropy must be on the input's device "
        r"\(meta\)\. Got a target on cpu instead\.$"),
    row(focal_cross_entropy, X, T, error=ShapeError,
        match=r"'target' parameter of focal_cross_entropy must hold int64 class indices"),
    row(focal_cross_entropy, X, Y, weight=torch.tensor([1.0, -1.0, 1.0]), error=IPE,
        match=r"^The 'weight' parameter of focal_cross_entropy must be non-negative\."),
    row(sigmoid_focal_with_logits, X, T, pos_weight=torch.tensor([1.0, float("nan"), 1.0]),
        error=IPE, match=r"'pos_weight' parameter of sigmoid_focal_with_logits must be finite"),
    row(FocalCrossEntropyLoss, gamma=-1.0, error=IPE,
        match=r"^The 'gamma' parameter of FocalCrossEntropyLoss must be a float in "
        r"\[0, inf\)\. Got -1\.0 instead\.$"),
    row(focal_cross_entropy, X, torch.tensor([0, 1, 2, 7]), gamma=2.0, error=DataError,
        match=r"Got the class index 7 instead"),
    row(focal_cross_entropy, X, Y, weight=torch.ones(5), error=ShapeError,
        match=r"'weight' parameter of focal_cross_entropy must have shape \(3,\)"),
    row(sigmoid_focal_with_logits, X, T, alpha=2.0, error=IPE,
        match=r"'alpha' parameter of sigmoid_focal_with_logits must be a float in \[0, 1\]"),
    row(sigmoid_focal_with_logits, X, T, pos_weight=torch.ones(2), error=ShapeError,
        match=r"'pos_weight' parameter of sigmoid_focal_with_logits must have shape \(3,\) to "
        r"match dim 1"),
    row(SigmoidFocalLoss, gamma=-2, error=IPE,
        match=r"'gamma' parameter of SigmoidFocalLoss must be a float in \[0, inf\)"),
    row(SigmoidFocalLoss, alpha=-0.1, error=IPE,
        match=r"'alpha' parameter of SigmoidFocalLoss must be a float in \[0, 1\]"),
    row(SigmoidFocalLoss.from_labels, [[1, 0], [0, 0]], error=DataError,
        match=r"'targets' parameter of pos_weight must have a positive for every label"),
    # ------------------------------------------------------------------------- class-balanced
    row(class_balanced_loss, X, Y, counts=COUNTS, base="focal", error=IPE,
        match=r"'base' parameter of class_balanced_loss must be one of 'softmax', 'sigmoid'"),
    row(class_balanced_loss, X, Y, counts=[1, 2, 3, 4], error=ShapeError,
        match=r"'counts' parameter of class_balanced_loss must have shape \(3,\), one count "
        r"per class"),
    row(class_balanced_weight, [5, 0], error=DataError,
        match=r"'counts' parameter of class_balanced_weight must be positive for every class"),
    row(ClassBalancedLoss, counts=COUNTS, beta=1.0, error=IPE,
        match=r"'beta' parameter of ClassBalancedLoss must be a float in \[0, 1\)\. Got 1\.0"),
    row(ClassBalancedLoss, counts=COUNTS, gamma=-1.0, error=IPE,
        match=r"'gamma' parameter of ClassBalancedLoss must be a float in \[0, inf\)"),
    row(ClassBalancedLoss(counts=[1, 2, 3, 4]), X, Y, error=ShapeError,
        match=r"'counts' parameter of ClassBalancedLoss must have shape \(3,\)"),
    # ------------------------------------------------------------------------- LDAM and DRW
    row(ldam_cross_entropy, X, OUT_OF_RANGE, counts=COUNTS, error=DataError,
        match=r"'target' parameter of ldam_cross_entropy must hold class indices in \[0, 3\)"),
    row(ldam_cross_entropy, X, T, counts=COUNTS, error=ShapeError,
        match=r"probability targets are not supported"),
    row(ldam_margins, [3, 0], error=DataError,
        match=r"'counts' parameter of ldam_margins must be positive for every class, since an "
        r"LDAM margin grows as n_c \*\* \(-1/4\)\. Got classes \[1\] with no samples"),
    row(ldam_cross_entropy, X, Y, counts=[1, 2, 3, 4], error=ShapeError,
        match=r"'counts' parameter of ldam_cross_entropy must have shape \(3,\)"),
    row(ldam_cross_entropy, X, Y, counts=COUNTS, reduction="avg", error=IPE,
        match=r"'reduction' parameter of ldam_cross_entropy must be one of 'mean', 'none'"),
    row(ldam_cross_entropy, X, Y, counts=COUNTS, reduction="avg", label_smoothing=0.1,
        error=IPE, match=r"'reduction' parameter of ldam_cross_entropy must be one of"),
    row(ldam_cross_entropy, X, Y, counts=COUNTS, label_smoothing=False, error=IPE,
        match=r"^The 'label_smoothing' parameter of ldam_cross_entropy must be a float in "
        r"\[0, 1\]\. Got False instead\.$"),
    row(LDAMLoss, counts=[3, 0, 1], error=DataError,
        match=r"^The 'counts' parameter of LDAMLoss must be positive for every class, since "
        r"an LDAM margin grows as n_c \*\* \(-1/4\)\. Got classes \[1\] with no samples "
        r"instead\.$"),
    row(LDAMLoss, counts=[], error=DataError,
        match=r"^The 'counts' parameter of LDAMLoss must hold the count of at least one "
        r"class\. Got none instead\.$"),
    row(LDAMLoss, counts=[3, float("nan"), 1], error=IPE,
        match=r"'counts' parameter of LDAMLoss must be finite"),
    row(LDAMLoss, counts=COUNTS, scale=0.0, error=IPE,
        match=r"'scale' parameter of LDAMLoss must be a float in \(0, inf\)"),
    row(LDAMLoss, counts=COUNTS, weight=[1.0, 1.0], error=IPE,
        match=r"'weight' parameter of LDAMLoss must have shape \(3,\)"),
    row(DeferredReweighting, COUNTS, error=IPE,
        match=r"'start_epoch' parameter of DeferredReweighting must be given \(pass exactly "
        r"one of 'start_epoch' and 'start_fraction'\)"),
    row(DeferredReweighting, [3, 0], start_epoch=1, error=DataError,
        match=r"'counts' parameter of DeferredReweighting must be positive for every class, "
        r"since its effective number would be 0\. Got classes \[1\] with no samples"),
    row(DeferredReweighting, COUNTS, start_epoch=3, beta=1.5, error=IPE,
        match=r"'beta' parameter of DeferredReweighting must be a float in \[0, 1\)"),
    row(DeferredReweighting, COUNTS, start_epoch=-1, error=IPE,
        match=r"'start_epoch' parameter of DeferredReweighting must be an int in \[0, inf\)"),
    row(DRW.weight_for, 3, error=IPE,
        match=r"'epochs' parameter of DeferredReweighting.weight_for must be given when the "
        r"schedule starts at a fraction of the run"),
    row(DRW.step, torch.nn.Linear(2, 2), epoch=1, epochs=4, error=IPE,
        match=r"'loss' parameter of DeferredReweighting.step must be a module with a "
        r"'weight' buffer"),
    row(DRW.start, epochs=0, error=IPE,
        match=r"'epochs' parameter of DeferredReweighting.start must be an int in \[1, inf\)"),
    # ------------------------------------------------------------------------- logit-adjusted
    row(logit_adjusted_cross_entropy, X, Y, counts=COUNTS, tau=float("inf"), error=IPE,
        match=r"'tau' parameter of logit_adjusted_cross_entropy must be a float in "
        r"\(-inf, inf\)"),
    row(logit_adjusted_cross_entropy, X, torch.tensor([0, -3, 2, 1]), counts=COUNTS,
        error=DataError, match=r"Got the class index -3 instead"),
    row(logit_adjusted_cross_entropy, X, Y, counts=COUNTS, reduction="SUM", error=IPE,
        match=r"^The 'reduction' parameter of logit_adjusted_cross_entropy must be one of "
        r"'mean', 'none', 'sum'\. Got 'SUM' instead\.$"),
    row(logit_adjusted_cross_entropy, X, Y, counts=COUNTS, reduction=None,
        label_smoothing=0.1, error=IPE,
        match=r"'reduction' parameter of logit_adjusted_cross_entropy must be one of"),
    row(LogitAdjustedLoss, counts=COUNTS, tau=float("inf"), error=IPE,
        match=r"'tau' parameter of LogitAdjustedLoss must be a float in \(-inf, inf\)\. "
        r"Got inf"),
    row(log_prior, [1, 0], error=DataError,
        match=r"'counts' parameter of log_prior must be positive for every class, since the "
        r"loss needs log-priors"),
    row(LogitAdjustedLoss, counts=[3, 0, 1], error=DataError,
        match=r"'counts' parameter of LogitAdjustedLoss must be positive for every class.*\. "
        r"Got classes \[1\] with no samples instead\.$"),
    row(balanced_softmax_cross_entropy, X, Y, counts=[1, 2], error=ShapeError,
        match=r"'counts' parameter of balanced_softmax_cross_entropy must have shape \(3,\)"),
    row(balanced_softmax_cross_entropy, X, Y, counts=COUNTS, reduction="SUM", error=IPE,
        match=r"'reduction' parameter of balanced_softmax_cross_entropy must be one of"),
    row(BalancedSoftmaxLoss, counts=[0, 2, 1], error=DataError,
        match=r"'counts' parameter of BalancedSoftmaxLoss must be positive for every class.*\. "
        r"Got classes \[0\] with no samples instead\.$"),
    # ------------------------------------------------------------------------- asymmetric
    row(asymmetric_loss_with_logits, X, Y, error=ShapeError,
        match=r"'target' parameter of asymmetric_loss_with_logits must be floating-point"),
    row(asymmetric_loss_with_logits, X, T, gamma_neg=-4.0, error=IPE,
        match=r"'gamma_neg' parameter of asymmetric_loss_with_logits must be a float in "
        r"\[0, inf\)"),
    row(AsymmetricLoss, clip=1.0, error=IPE,
        match=r"'clip' parameter of AsymmetricLoss must be a float in \[0, 1\)"),
    row(AsymmetricLoss, clip=-0.05, error=IPE, match=r"'clip' parameter of AsymmetricLoss"),
    row(AsymmetricLoss, gamma_neg=-4.0, error=IPE,
        match=r"'gamma_neg' parameter of AsymmetricLoss must be a float in \[0, inf\)"),
    row(AsymmetricLoss, reduction="avg", error=IPE,
        match=r"'reduction' parameter of AsymmetricLoss must be one of 'mean', 'none', 'sum'"),
    # ------------------------------------------------------------------------- global mean
    row(GlobalMean, CrossEntropyLoss(), error=IPE,
        match=r"'loss' parameter of GlobalMean must be built with reduction='sum'\. Got "
        r"reduction='mean' instead\.$"),
    row(GlobalMean, CrossEntropyLoss(reduction="sum"), world_size=2**64, error=IPE,
        match=r"'world_size' parameter of GlobalMean must be an int in \[1, 2147483647\]"),
    row(GlobalMean, torch.nn.Linear(2, 2), error=IPE,
        match=r"'loss' parameter of GlobalMean must be an underdog loss with a weight_sum"),
    row(GlobalMean(CrossEntropyLoss(reduction="sum")).denominator, [Y], sample_weights=[None, None],
        error=IPE,
        match=r"'sample_weights' parameter of GlobalMean.denominator must have one entry per "
        r"target\. Got 2 entries for 1 targets instead\.$"),
]  # fmt: skip


def _name(entry: Row) -> str:
    func = entry.func
    owner = getattr(func, "__self__", None)
    name = getattr(func, "__qualname__", type(func).__name__)
    if owner is not None and not isinstance(owner, type):  # a bound method of an instance
        name = f"{type(owner).__name__}.{func.__name__}"
    return f"{name}-{entry.error.__name__}"


@pytest.mark.parametrize("entry", ROWS, ids=[_name(entry) for entry in ROWS])
def test_bad_input_raises_the_documented_error_in_the_one_grammar(entry: Row) -> None:
    with pytest.raises(entry.error, match=entry.match) as info:
        entry.func(*entry.args, **entry.kwargs)
    text = str(info.value)
    assert GRAMMAR.match(text), f"not in the grammar: {text!r}"
    assert type(info.value) is entry.error  # exactly the documented class


def test_the_table_covers_every_public_entry_point() -> None:
    covered = {entry.func for entry in ROWS}  # functions and constructors themselves
    missing = []
    for module in (underdog.counts, underdog.weights, underdog.samplers, underdog.losses):
        for name in module.__all__:
            if name not in NOT_ENTRY_POINTS and getattr(module, name) not in covered:
                missing.append(f"{module.__name__}.{name}")
    assert not missing, f"no bad-input row for {missing}"
