"""Focal losses (Lin et al. 2017): softmax multi-class and sigmoid binary / multilabel.

**Softmax focal loss.** For logits ``x`` of shape ``(N, C, d1, ...)``, ``p = softmax(x, 1)``,
class weights ``w`` (the per-class ``alpha``; default 1) and a class-index target ``y``:

    l_i = w[y_i] * (1 - p[i, y_i]) ** gamma * (-log p[i, y_i]),     e_i = s_i * w[y_i]

**Sigmoid focal loss.** For logits and 0/1 targets ``t`` of the same shape,
``p = sigmoid(x)``, ``alpha`` in ``[0, 1]`` and ``pos_weight`` ``q`` (default 1):

    l_i = q * alpha * t_i * (1 - p_i) ** gamma * (-log p_i)
          + (1 - alpha) * (1 - t_i) * p_i ** gamma * (-log(1 - p_i))
    e_i = s_i * (alpha * t_i + (1 - alpha) * (1 - t_i))

so ``alpha`` is the class weight ``(1 - alpha, alpha)`` of
:func:`~underdog.binary_cross_entropy_with_logits` and enters the weighted mean, while
``pos_weight`` keeps PyTorch's meaning (it multiplies the positive term only and is not
in the mean's denominator). ``alpha=None`` means no class weighting (``e_i = s_i``).

In both, ``"mean"`` is ``sum_i s_i * l_i / sum_i e_i`` (``s_i`` the sample weight, 0 for
ignored elements), the library's one meaning of ``reduction``; with ``gamma=0`` the losses
are exactly :func:`~underdog.cross_entropy` / :func:`~underdog.binary_cross_entropy_with_logits`
in value and gradient, ``"mean"`` included. torchvision's ``sigmoid_focal_loss`` divides by
the number of elements instead: its ``"mean"`` is ``reduction="sum"`` divided by
``input.numel()`` here, and RetinaNet's normalisation is ``"sum"`` divided by the number of
positives. For soft targets the two terms are weighted by ``t`` and ``1 - t`` (torchvision
instead mixes ``p_t``); for 0/1 targets both agree.

The gradients are analytic (see :mod:`underdog.losses._softmax_kernel` and
:mod:`underdog.losses._sigmoid_kernel`): finite for logits of +-1e4 and for ``gamma`` in
(0, 1); half-precision logits are computed in float32.

References:
    T.-Y. Lin, P. Goyal, R. Girshick, K. He, P. Dollar, "Focal Loss for Dense Object
    Detection", ICCV 2017.
"""

from __future__ import annotations

from typing import Any

import torch

from .._validation import check_real, check_reduction, eager
from ..weights import pos_weight as compute_pos_weight
from ._base import FromClassWeights, LossModule
from ._checks import align_to_class_dim, check_binary_input, check_index_input, upcast
from ._reduction import (
    binary_cross_entropy_weight_sum,
    binary_denominator,
    cross_entropy_weight_sum,
    reduce_loss,
)
from ._sigmoid_kernel import SigmoidFocal, binary_target
from ._softmax_kernel import softmax_rows

__all__ = [
    "FocalCrossEntropyLoss",
    "SigmoidFocalLoss",
    "focal_cross_entropy",
    "sigmoid_focal_with_logits",
]


def focal_cross_entropy(
    input: torch.Tensor,
    target: torch.Tensor,
    *,
    gamma: float = 2.0,
    weight: torch.Tensor | None = None,
    sample_weight: torch.Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> torch.Tensor:
    """Softmax focal loss of logits and class indices.

    ``l_i = w[y_i] * (1 - p_{y_i}) ** gamma * (-log p_{y_i})`` with ``p = softmax(x, 1)``;
    ``"mean"`` divides by ``sum_i s_i * w[y_i]`` as :func:`~underdog.cross_entropy` does.

    Args:
        input: logits of shape ``(N, C)`` or ``(N, C, d1, ...)``.
        target: int64 class indices of shape ``(N,)`` or ``(N, d1, ...)``.
        gamma: focusing parameter in ``[0, inf)``; 0 gives cross-entropy exactly.
        weight: per-class weights (the paper's ``alpha``) of shape ``(C,)``.
        sample_weight: per-sample weights of shape ``(N,)`` or the target's shape.
        ignore_index: target value that is skipped (loss 0, not in the mean).
        reduction: ``"mean"`` (weighted mean), ``"sum"`` or ``"none"``.

    Returns:
        A scalar, or for ``"none"`` a tensor shaped like ``target``.

    Shape:
        input ``(N, C, *)``, target ``(N, *)``, weight ``(C,)``.

    Raises:
        InvalidParameterError: a negative or non-finite ``gamma``, an unknown reduction, a
            negative or non-finite weight (checked on CPU in eager mode).
        ShapeError: probability targets, shapes that do not fit, a weight of the wrong length.
        DataError: a class index outside ``[0, C)`` (checked on CPU).

    References:
        Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017.

    Example:
        >>> x = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
        >>> focal_cross_entropy(x, torch.tensor([0, 1]), gamma=2.0)
        tensor(0.0122)
    """
    owner = "focal_cross_entropy"
    check_reduction(reduction, owner=owner)
    if eager():
        gamma = check_real(gamma, name="gamma", owner=owner, low=0.0)
    target = check_index_input(input, target, weight, owner, ignore_index=ignore_index)
    return softmax_rows(
        input,
        target,
        gamma=gamma,
        weight=weight,
        sample_weight=sample_weight,
        ignore_index=ignore_index,
        reduction=reduction,
        owner=owner,
    )


class FocalCrossEntropyLoss(FromClassWeights):
    """Module form of :func:`focal_cross_entropy`; the class weights are a buffer.

    Args:
        gamma: focusing parameter in ``[0, inf)`` (paper: 2).
        weight: per-class weights ``(C,)`` (the paper's per-class ``alpha``); default none.
        ignore_index, reduction: as for :func:`focal_cross_entropy`.

    Example:
        >>> loss = FocalCrossEntropyLoss.from_labels(torch.tensor([0, 0, 0, 1]), gamma=2.0)
        >>> loss.weight
        tensor([0.6667, 2.0000])
        >>> loss(torch.zeros(2, 2), torch.tensor([0, 1]))
        tensor(0.1733)
    """

    weight: torch.Tensor | None
    _loss = staticmethod(focal_cross_entropy)
    _forwarded = ("gamma", "weight", "ignore_index", "reduction")
    _weight_sum = staticmethod(cross_entropy_weight_sum)
    _summed = ("weight", "ignore_index")
    _shown = ("gamma", "ignore_index", "reduction")

    def __init__(
        self,
        *,
        gamma: float = 2.0,
        weight: object = None,
        ignore_index: int = -100,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        owner = self._set_options(reduction=reduction, ignore_index=ignore_index)
        self.gamma = check_real(gamma, name="gamma", owner=owner, low=0.0)
        self._register_weight("weight", weight)


def sigmoid_focal_with_logits(
    input: torch.Tensor,
    target: torch.Tensor,
    *,
    gamma: float = 2.0,
    alpha: float | None = 0.25,
    pos_weight: torch.Tensor | None = None,
    sample_weight: torch.Tensor | None = None,
    label_smoothing: float = 0.0,
    ignore_index: int | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """Sigmoid focal loss of logits and 0/1 (or soft) targets, binary or multilabel.

    See the module docstring for the formula; ``alpha`` is the class weight
    ``(1 - alpha, alpha)`` and enters the weighted mean, ``pos_weight`` does not.

    Args:
        input: logits ``(N,)``, ``(N, L)`` or ``(N, L, d1, ...)``.
        target: float targets in ``[0, 1]`` with the input's shape.
        gamma: focusing parameter in ``[0, inf)`` (paper: 2).
        alpha: weight of the positives in ``[0, 1]`` (paper: 0.25), negatives get
            ``1 - alpha``; None for no class weighting.
        pos_weight: ``(1,)`` or ``(L,)`` multiplier of the positive term, along dim 1.
        sample_weight: ``(N,)`` or the target's shape.
        label_smoothing: ``eps`` in ``[0, 1]``; targets become ``(1 - eps) * t + eps / 2``
            in the loss (the mean's weights use the unsmoothed target, as in BCE).
        ignore_index: a target value marking unknown entries (loss 0, not in the mean).
        reduction: ``"mean"`` (weighted mean), ``"sum"`` or ``"none"``.

    Returns:
        A scalar, or for ``"none"`` a tensor shaped like ``input``.

    Shape:
        input ``(N, *)``, target ``(N, *)``, pos_weight ``(1,)`` / ``(L,)``.

    Raises:
        InvalidParameterError: ``gamma < 0``, ``alpha`` outside ``[0, 1]``, bad options, a
            negative or non-finite weight (checked on CPU in eager mode).
        ShapeError: integer targets, shapes that do not fit, a ``pos_weight`` of the wrong
            length.

    References:
        Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017.

    Example:
        >>> x = torch.tensor([2.0, -1.0, 0.5])
        >>> t = torch.tensor([1.0, 0.0, 1.0])
        >>> sigmoid_focal_with_logits(x, t)
        tensor(0.0275)
    """
    owner = "sigmoid_focal_with_logits"
    check_reduction(reduction, owner=owner)
    if eager():
        gamma = check_real(gamma, name="gamma", owner=owner, low=0.0)
        if alpha is not None:
            alpha = check_real(alpha, name="alpha", owner=owner, low=0.0, high=1.0)
        label_smoothing = check_real(
            label_smoothing, name="label_smoothing", owner=owner, low=0.0, high=1.0
        )
    check_binary_input(input, target, owner, ignore_index=ignore_index)
    x = upcast(input)
    pos: torch.Tensor | float | None = None
    if pos_weight is not None:
        pos = align_to_class_dim(pos_weight, x, name="pos_weight", owner=owner).to(
            dtype=x.dtype, device=x.device
        )
    neg: float | None = None
    outer: float | None = None
    if alpha is not None:
        pos = alpha if pos is None else pos * alpha
        neg = 1.0 - alpha
        if reduction != "none" and neg > 0.0:
            # Reduced: weight the terms (alpha / (1 - alpha), 1) and scale the scalar by
            # 1 - alpha afterwards, which saves two passes over the logits.
            pos, neg, outer = pos / neg, None, neg
    hard, keep = binary_target(target, x.dtype, ignore_index)
    # torch declares Function.apply without types:
    loss: torch.Tensor = SigmoidFocal.apply(x, hard, keep, pos, neg, gamma, label_smoothing)  # type: ignore[no-untyped-call]
    loss, element = binary_denominator(loss, hard, keep, alpha, sample_weight, reduction, owner)
    reduced = reduce_loss(loss, element, reduction, owner)
    return reduced if outer is None else reduced * outer


def _sigmoid_focal_weight_sum(
    target: torch.Tensor,
    *,
    alpha: float | None,
    sample_weight: torch.Tensor | None,
    ignore_index: int | None,
) -> torch.Tensor:
    """``sum_i e_i`` of :func:`sigmoid_focal_with_logits`.

    ``alpha`` is the class weight ``(1 - alpha, alpha)``.
    """
    class_weight = None
    if alpha is not None:
        class_weight = torch.tensor([1.0 - alpha, alpha], dtype=torch.float64)
    return binary_cross_entropy_weight_sum(
        target, class_weight=class_weight, sample_weight=sample_weight, ignore_index=ignore_index
    )


class SigmoidFocalLoss(LossModule):
    """Module form of :func:`sigmoid_focal_with_logits`; ``pos_weight`` is a buffer.

    Args:
        gamma: focusing parameter (paper: 2).
        alpha: weight of the positives in ``[0, 1]`` (paper: 0.25), or None.
        pos_weight: ``(1,)`` or ``(L,)`` positive-term multiplier, or None.
        label_smoothing, ignore_index, reduction: as for the function.

    Example:
        >>> y = torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
        >>> loss = SigmoidFocalLoss.from_labels(y, alpha=None)
        >>> loss.pos_weight
        tensor([3., 3.])
    """

    pos_weight: torch.Tensor | None
    _loss = staticmethod(sigmoid_focal_with_logits)
    _forwarded = ("gamma", "alpha", "pos_weight", "label_smoothing", "ignore_index", "reduction")
    _weight_sum = staticmethod(_sigmoid_focal_weight_sum)
    _summed = ("alpha", "ignore_index")
    _shown = ("gamma", "alpha", "label_smoothing", "ignore_index", "reduction")

    def __init__(
        self,
        *,
        gamma: float = 2.0,
        alpha: float | None = 0.25,
        pos_weight: object = None,
        label_smoothing: float = 0.0,
        ignore_index: int | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        owner = self._set_options(
            reduction=reduction,
            ignore_index=ignore_index,
            label_smoothing=label_smoothing,
            no_ignore_index=True,
        )
        self.gamma = check_real(gamma, name="gamma", owner=owner, low=0.0)
        self.alpha = (
            None
            if alpha is None
            else check_real(alpha, name="alpha", owner=owner, low=0.0, high=1.0)
        )
        self._register_weight("pos_weight", pos_weight)

    @classmethod
    def from_labels(
        cls,
        targets: object,
        *,
        max_weight: float | None = None,
        zero_count: str = "raise",
        distributed: bool = True,
        **kwargs: Any,
    ) -> SigmoidFocalLoss:
        """Build the loss with ``pos_weight = n_neg / n_pos`` per label.

        From 0/1 targets (or :class:`~underdog.MultilabelCounts`), via
        :func:`underdog.pos_weight`.

        ``alpha`` keeps its default (0.25) unless given: pass ``alpha=None`` to weight by
        ``pos_weight`` alone.
        """
        weights = compute_pos_weight(
            targets,
            ignore_index=kwargs.get("ignore_index"),
            max_weight=max_weight,
            zero_count=zero_count,
            distributed=distributed,
        )
        return cls(pos_weight=weights, **kwargs)
