"""Multiclass cross-entropy with class weights, label smoothing and sample weights.

For logits ``x`` of shape ``(N, C, d1, ...)``, ``p = softmax(x, dim=1)``, class weights
``w`` (default 1), smoothing ``eps`` and a class-index target ``y``:

    l_i = (1 - eps) * w[y_i] * (-log p[i, y_i]) + (eps / C) * sum_c w[c] * (-log p[i, c])
    e_i = s_i * w[y_i]             (0 where y_i == ignore_index)

and ``"mean"`` is ``sum_i s_i * l_i / sum_i e_i`` (``s_i`` the sample weight, default 1).
This is exactly ``torch.nn.functional.cross_entropy``; note that the class weights also
scale the smoothing term, as in PyTorch. For a probability target ``t`` (shaped like the
input), ``t' = (1 - eps) * t + eps / C``, ``l_i = -sum_c w[c] * t'[i, c] * log p[i, c]``
and ``e_i = s_i * sum_c w[c] * t[i, c]``: one-hot probability targets give the same loss
as class indices. (PyTorch divides the weighted probability-target mean by ``N``.)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .._validation import check_real, check_reduction, eager
from ._base import FromClassWeights
from ._checks import (
    check_class_targets,
    check_class_vector,
    check_softmax_input,
    check_weight_values,
    upcast,
)
from ._reduction import (
    class_element_weight,
    cross_entropy_weight_sum,
    reduce_loss,
    sample_weighted,
)

__all__ = ["CrossEntropyLoss", "cross_entropy", "cross_entropy_weight_sum"]


def cross_entropy(
    input: torch.Tensor,
    target: torch.Tensor,
    *,
    weight: torch.Tensor | None = None,
    sample_weight: torch.Tensor | None = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
) -> torch.Tensor:
    """Cross-entropy of logits with class weights, sample weights and label smoothing.

    Equals ``torch.nn.functional.cross_entropy`` for class-index targets (value and
    gradient); see the module docstring for the formula and the probability-target mean.

    Args:
        input: logits of shape ``(N, C)`` or ``(N, C, d1, ...)``.
        target: int64 class indices of shape ``(N,)`` / ``(N, d1, ...)``, or float
            probabilities shaped like ``input`` (each row summing to 1).
        weight: per-class weights of shape ``(C,)``, aligned with dim 1.
        sample_weight: per-sample weights of shape ``(N,)`` or the target's shape.
        ignore_index: class-index target value that is skipped (loss 0, not in the mean).
        label_smoothing: ``eps`` in ``[0, 1]``.
        reduction: ``"mean"`` (weighted mean), ``"sum"`` or ``"none"``.

    Returns:
        A scalar, or for ``"none"`` a tensor of shape ``(N,)`` / ``(N, d1, ...)``.

    Shape:
        input ``(N, C, *)``, target ``(N, *)`` or ``(N, C, *)``, weight ``(C,)``.

    Raises:
        ShapeError: shapes or dtypes that do not fit (a float ``(N,)`` target, a weight
            vector of the wrong length, ...), a sparse tensor, a target or sample weight on
            another device than the input.
        DataError: a class index outside ``[0, C)`` (checked on CPU in eager mode).
        InvalidParameterError: an unknown reduction, ``label_smoothing`` outside
            ``[0, 1]``, an ``ignore_index`` that is not an int, a negative or non-finite
            weight (checked on CPU in eager mode).

    Example:
        >>> logits = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
        >>> target = torch.tensor([0, 1])
        >>> cross_entropy(logits, target, weight=torch.tensor([0.5, 5.0]))
        tensor(0.2963)
    """
    owner = "cross_entropy"
    if eager():  # Python-scalar checks; the Module checks once, at construction
        check_reduction(reduction, owner=owner)
        check_real(label_smoothing, name="label_smoothing", owner=owner, low=0.0, high=1.0)
    probabilities = check_softmax_input(input, target, owner, ignore_index=ignore_index)
    input = upcast(input)
    if probabilities:
        target = target.to(input.dtype)
    else:
        if target.dtype != torch.int64:
            target = target.long()
        # A label outside [0, C) is a DataError as in every loss (PyTorch: IndexError).
        check_class_targets(target, input.shape[1], ignore_index, owner=owner)
    if weight is not None:
        check_class_vector(weight, input, name="weight", owner=owner)
        check_weight_values(weight, name="weight", owner=owner)
        weight = weight.to(dtype=input.dtype, device=input.device)

    # PyTorch's weighted "mean" has NaN gradients when every weight of the batch is 0:
    # it is reduced here (weighted_mean), from the sum.
    by_class_weight = weight is not None and reduction == "mean"
    if sample_weight is None and not by_class_weight:
        return F.cross_entropy(
            input,
            target,
            weight=weight,
            ignore_index=ignore_index,
            reduction=reduction,
            label_smoothing=label_smoothing,
        )
    return _weighted_cross_entropy(
        input,
        target,
        probabilities=probabilities,
        weight=weight,
        sample_weight=sample_weight,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        reduction=reduction,
    )


def _weighted_cross_entropy(
    input: torch.Tensor,
    target: torch.Tensor,
    *,
    probabilities: bool,
    weight: torch.Tensor | None,
    sample_weight: torch.Tensor | None,
    ignore_index: int,
    label_smoothing: float,
    reduction: str,
) -> torch.Tensor:
    """:func:`cross_entropy` where ``F.cross_entropy`` cannot reduce: reduced here.

    With sample weights, or the weighted mean: PyTorch divides probability targets by
    ``N``, and its gradient is NaN when every class weight of the batch is 0.
    """
    summed = sample_weight is None and reduction == "mean"  # the sum is all the mean needs
    loss = F.cross_entropy(
        input,
        target,
        weight=weight,
        ignore_index=ignore_index,
        reduction="sum" if summed else "none",
        label_smoothing=label_smoothing,
    )
    element = class_element_weight(target, probabilities, weight, ignore_index, loss.dtype)
    loss, element = sample_weighted(loss, element, sample_weight, "cross_entropy")
    return reduce_loss(loss, element, reduction, "cross_entropy")


class CrossEntropyLoss(FromClassWeights):
    """Module form of :func:`cross_entropy`; the class weights are a buffer.

    Args:
        weight: per-class weights of shape ``(C,)`` (checked: finite, non-negative).
        ignore_index, label_smoothing, reduction: as for :func:`cross_entropy`.

    Example:
        >>> y = torch.tensor([0] * 900 + [1] * 100)
        >>> loss = CrossEntropyLoss.from_labels(y, scheme="balanced", label_smoothing=0.1)
        >>> loss.weight
        tensor([0.5556, 5.0000])
        >>> loss(torch.zeros(4, 2), torch.tensor([0, 1, 1, 0]))
        tensor(0.6931)
    """

    weight: torch.Tensor | None
    _loss = staticmethod(cross_entropy)
    _forwarded = ("weight", "ignore_index", "label_smoothing", "reduction")
    _weight_sum = staticmethod(cross_entropy_weight_sum)
    _summed = ("weight", "ignore_index")
    _shown = ("ignore_index", "label_smoothing", "reduction")

    def __init__(
        self,
        *,
        weight: object = None,
        ignore_index: int = -100,
        label_smoothing: float = 0.0,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        self._register_weight("weight", weight)
        self._set_options(
            reduction=reduction, ignore_index=ignore_index, label_smoothing=label_smoothing
        )
