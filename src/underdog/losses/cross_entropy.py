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

from typing import Any

import torch
import torch.nn.functional as F

from .._validation import check_real, check_reduction
from ..exceptions import ShapeError
from ._common import (
    _element_weight,
    broadcast_sample_weight,
    cross_entropy_weight_sum,
    eager,
    reduce_loss,
    shape_str,
    upcast,
)
from ._constructors import ClassWeightedMean, FromClassWeights, LossModule

__all__ = ["CrossEntropyLoss", "cross_entropy", "cross_entropy_weight_sum"]


def _check_input(input: torch.Tensor, target: torch.Tensor, owner: str) -> bool:
    """Check shapes and dtypes; return True for probability targets."""
    if not input.is_floating_point():
        raise ShapeError(
            f"The 'input' of {owner} must be floating-point logits. Got dtype {input.dtype}."
        )
    if input.ndim < 2:
        raise ShapeError(
            f"The 'input' of {owner} must have shape (N, C) or (N, C, d1, ...), with classes "
            f"on dim 1. Got shape {shape_str(input.shape)}; for one logit per sample use "
            "binary_cross_entropy_with_logits."
        )
    index_shape = input.shape[:1] + input.shape[2:]
    if target.is_floating_point():
        if target.shape != input.shape:
            hint = (
                " Class-index targets must be integers (use target.long())."
                if target.shape == index_shape
                else ""
            )
            raise ShapeError(
                f"The probability 'target' of {owner} must have the input's shape "
                f"{shape_str(input.shape)}. Got shape {shape_str(target.shape)} and dtype "
                f"{target.dtype}.{hint}"
            )
        return True
    if target.dtype == torch.bool or target.is_complex():
        raise ShapeError(
            f"The 'target' of {owner} must hold int64 class indices or float probabilities. "
            f"Got dtype {target.dtype}."
        )
    if target.shape != index_shape:
        raise ShapeError(
            f"The class-index 'target' of {owner} must have shape {shape_str(index_shape)} "
            f"for an input of shape {shape_str(input.shape)} (the input without its class "
            f"dim 1). Got shape {shape_str(target.shape)}."
        )
    return False


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
            vector of the wrong length, ...).

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
    probabilities = _check_input(input, target, owner)
    input = upcast(input)
    if probabilities:
        target = target.to(input.dtype)
    classes = input.shape[1]
    if weight is not None:
        if weight.shape != (classes,):
            raise ShapeError(
                f"The 'weight' parameter of {owner} must have shape ({classes},), one value "
                f"per class of dim 1 of the input {shape_str(input.shape)}. Got shape "
                f"{shape_str(weight.shape)}."
            )
        weight = weight.to(dtype=input.dtype, device=input.device)
    if not probabilities and target.dtype != torch.int64:
        target = target.long()

    weighted_prob_mean = probabilities and weight is not None and reduction == "mean"
    if sample_weight is None and not weighted_prob_mean:
        return F.cross_entropy(
            input,
            target,
            weight=weight,
            ignore_index=ignore_index,
            reduction=reduction,
            label_smoothing=label_smoothing,
        )

    loss = F.cross_entropy(
        input,
        target,
        weight=weight,
        ignore_index=ignore_index,
        reduction="none",
        label_smoothing=label_smoothing,
    )
    element = _element_weight(target, probabilities, weight, ignore_index, loss.dtype)
    if sample_weight is not None:
        sample_weight = broadcast_sample_weight(
            sample_weight.to(loss.dtype), loss.shape, owner=owner
        )
        loss = loss * sample_weight
        element = element * sample_weight
    return reduce_loss(loss, element, reduction)


class CrossEntropyLoss(ClassWeightedMean, FromClassWeights, LossModule):
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
    _forwarded = ("weight", "ignore_index", "label_smoothing", "reduction")
    _shown = ("ignore_index", "label_smoothing", "reduction")

    def __init__(
        self,
        *,
        weight: Any = None,
        ignore_index: int = -100,
        label_smoothing: float = 0.0,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        self._register_weight("weight", weight)
        self._set_options(
            reduction=reduction, ignore_index=ignore_index, label_smoothing=label_smoothing
        )

    def forward(
        self,
        input: torch.Tensor,
        target: torch.Tensor,
        *,
        sample_weight: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return cross_entropy(input, target, sample_weight=sample_weight, **self.options())
