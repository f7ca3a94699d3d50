"""Binary and multilabel cross-entropy on logits, with true per-class weights.

For logits ``x`` and float targets ``t`` of the same shape (``(N,)`` for one logit per
sample, ``(N, L)`` or ``(N, L, d1, ...)`` for L labels on dim 1), smoothing
``t' = (1 - eps) * t + eps / 2`` and ``softplus(z) = log(1 + exp(z))``:

- with ``pos_weight`` ``p`` (PyTorch's meaning; it does not enter the mean's denominator):

      l_i = p * t'_i * softplus(-x_i) + (1 - t'_i) * softplus(x_i),   e_i = s_i

- with ``class_weight = (w_neg, w_pos)``, the true per-class weighting that
  ``BCEWithLogitsLoss(weight=[w0, w1])`` is often mistaken for:

      l_i = w_pos * t'_i * softplus(-x_i) + w_neg * (1 - t'_i) * softplus(x_i)
      e_i = s_i * (w_pos * t_i + w_neg * (1 - t_i))

  which equals two-class ``cross_entropy`` on logits ``[0, x_i]`` with ``weight=[w_neg, w_pos]``
  and the same ``label_smoothing``, ``"mean"`` included.

``"mean"`` is ``sum_i s_i * l_i / sum_i e_i`` (``s_i`` the sample weight, 0 where the target
equals ``ignore_index``). Per-label vectors align with dim 1, never with the last dim.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from .._validation import check_option, check_real, check_reduction
from ..exceptions import InvalidParameterError, ShapeError
from ..weights import binary_class_weight
from ..weights import pos_weight as compute_pos_weight
from ._common import (
    align_to_class_dim,
    broadcast_sample_weight,
    eager,
    reduce_loss,
    shape_str,
    upcast,
)
from ._constructors import LossModule

__all__ = [
    "BCEWithLogitsLoss",
    "binary_cross_entropy_weight_sum",
    "binary_cross_entropy_with_logits",
]


def _check_shapes(input: torch.Tensor, target: torch.Tensor, owner: str) -> None:
    if not input.is_floating_point():
        raise ShapeError(
            f"The 'input' of {owner} must be floating-point logits. Got {input.dtype}."
        )
    if not target.is_floating_point():
        raise ShapeError(
            f"The 'target' of {owner} must be floating-point 0/1 values or probabilities "
            f"(use target.float()). Got dtype {target.dtype}; for class indices use cross_entropy."
        )
    if target.shape != input.shape:
        raise ShapeError(
            f"The 'target' of {owner} must have the input's shape {shape_str(input.shape)}, "
            f"one target per logit. Got shape {shape_str(target.shape)}; squeeze or reshape "
            "explicitly rather than rely on broadcasting."
        )


def _split_class_weight(
    class_weight: torch.Tensor, input: torch.Tensor, owner: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """(w_neg, w_pos), each viewed to broadcast along dim 1 of ``input``."""
    if class_weight.ndim not in (1, 2) or class_weight.shape[0] != 2:
        raise ShapeError(
            f"The 'class_weight' parameter of {owner} must have shape (2,) or (2, L): row 0 "
            f"weights negatives, row 1 positives. Got shape {shape_str(class_weight.shape)}."
        )
    class_weight = class_weight.to(dtype=input.dtype, device=input.device)
    if class_weight.ndim == 1:
        class_weight = class_weight.reshape(2, 1)
    w_neg = align_to_class_dim(class_weight[0], input, name="class_weight", owner=owner)
    w_pos = align_to_class_dim(class_weight[1], input, name="class_weight", owner=owner)
    return w_neg, w_pos


def binary_cross_entropy_with_logits(
    input: torch.Tensor,
    target: torch.Tensor,
    *,
    class_weight: torch.Tensor | None = None,
    pos_weight: torch.Tensor | None = None,
    sample_weight: torch.Tensor | None = None,
    label_smoothing: float = 0.0,
    ignore_index: int | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """Binary / multilabel cross-entropy on logits with per-class or positive weights.

    With ``pos_weight`` alone (and no ``ignore_index``, ``sample_weight`` or smoothing) this
    equals ``torch.nn.functional.binary_cross_entropy_with_logits`` exactly, except that
    ``pos_weight`` aligns with dim 1. See the module docstring for the formulas.

    Args:
        input: logits ``(N,)``, ``(N, L)`` or ``(N, L, d1, ...)``.
        target: float targets in ``[0, 1]`` with the input's shape.
        class_weight: ``(2,)`` or ``(2, L)``: ``class_weight[0]`` weights negatives,
            ``class_weight[1]`` positives; these enter the weighted mean.
        pos_weight: ``(1,)`` or ``(L,)`` multiplier of the positive term (PyTorch's meaning).
            Mutually exclusive with ``class_weight``.
        sample_weight: ``(N,)`` or the target's shape.
        label_smoothing: ``eps`` in ``[0, 1]``; targets become ``(1 - eps) * t + eps / 2``.
        ignore_index: a target value marking unknown entries (loss 0, not in the mean).
        reduction: ``"mean"`` (weighted mean), ``"sum"`` or ``"none"``.

    Returns:
        A scalar, or for ``"none"`` a tensor shaped like ``input``.

    Shape:
        input ``(N, *)``, target ``(N, *)``, class_weight ``(2,)`` / ``(2, L)``,
        pos_weight ``(1,)`` / ``(L,)``.

    Raises:
        ShapeError: integer targets, a target of another shape (``(N, 1)`` vs ``(N,)``), a
            weight vector that does not match dim 1.
        InvalidParameterError: both ``class_weight`` and ``pos_weight``.

    Example:
        >>> x = torch.tensor([2.0, -1.0, 0.5])
        >>> t = torch.tensor([1.0, 0.0, 1.0])
        >>> binary_cross_entropy_with_logits(x, t, class_weight=torch.tensor([0.5, 5.0]))
        tensor(0.3011)
    """
    owner = "binary_cross_entropy_with_logits"
    if eager():  # Python-scalar checks; the Module checks once, at construction
        check_reduction(reduction, owner=owner)
        check_real(label_smoothing, name="label_smoothing", owner=owner, low=0.0, high=1.0)
    if class_weight is not None and pos_weight is not None:
        raise InvalidParameterError(
            f"The 'class_weight' and 'pos_weight' parameters of {owner} are mutually "
            "exclusive: pass one of them. Got both."
        )
    _check_shapes(input, target, owner)
    input = upcast(input)  # half precision is computed in float32
    target = target.to(input.dtype)

    keep = None
    if ignore_index is not None:
        keep = target != ignore_index
        target = torch.where(keep, target, torch.zeros_like(target))
    smoothed = (
        target if label_smoothing == 0.0 else target * (1 - label_smoothing) + label_smoothing / 2
    )

    element = None
    if class_weight is not None:
        w_neg, w_pos = _split_class_weight(class_weight, input, owner)
        loss = w_pos * smoothed * F.softplus(-input) + w_neg * (1 - smoothed) * F.softplus(input)
        element = w_pos * target + w_neg * (1 - target)
    else:
        if pos_weight is not None:
            pos_weight = align_to_class_dim(
                pos_weight.to(dtype=input.dtype, device=input.device),
                input,
                name="pos_weight",
                owner=owner,
            )
        if keep is None and sample_weight is None:
            return F.binary_cross_entropy_with_logits(
                input, smoothed, pos_weight=pos_weight, reduction=reduction
            )
        loss = F.binary_cross_entropy_with_logits(
            input, smoothed, pos_weight=pos_weight, reduction="none"
        )
    if keep is not None:
        loss = loss * keep
        element = keep.to(loss.dtype) if element is None else element * keep
    if sample_weight is not None:
        sample_weight = broadcast_sample_weight(
            sample_weight.to(loss.dtype), target.shape, owner=owner
        )
        loss = loss * sample_weight
        element = sample_weight.expand_as(loss) if element is None else element * sample_weight
    return reduce_loss(loss, element, reduction)


def binary_cross_entropy_weight_sum(
    target: torch.Tensor,
    *,
    class_weight: torch.Tensor | None = None,
    sample_weight: torch.Tensor | None = None,
    ignore_index: int | None = None,
) -> torch.Tensor:
    """The denominator of :func:`binary_cross_entropy_with_logits`'s ``"mean"``: ``sum_i e_i``.

    ``pos_weight`` does not enter it (PyTorch's meaning). Used to divide a summed loss by a
    denominator gathered over several batches or ranks (see
    :class:`underdog.losses.GlobalMean`).

    Example:
        >>> t = torch.tensor([1.0, 0.0, 0.0])
        >>> binary_cross_entropy_weight_sum(t, class_weight=torch.tensor([0.5, 5.0]))
        tensor(6.)
    """
    owner = "binary_cross_entropy_weight_sum"
    if not target.is_floating_point():
        raise ShapeError(
            f"The 'target' of {owner} must be floating-point 0/1 values or probabilities. "
            f"Got dtype {target.dtype}."
        )
    if class_weight is not None:
        target = target.to(torch.promote_types(target.dtype, class_weight.dtype))
    keep = None
    if ignore_index is not None:
        keep = target != ignore_index
        target = torch.where(keep, target, torch.zeros_like(target))
    if class_weight is not None:
        w_neg, w_pos = _split_class_weight(class_weight, target, owner)
        element = w_pos * target + w_neg * (1 - target)
    else:
        element = torch.ones_like(target)
    if keep is not None:
        element = element * keep
    if sample_weight is not None:
        element = element * broadcast_sample_weight(
            sample_weight.to(element.dtype), target.shape, owner=owner
        )
    return element.sum()


class BCEWithLogitsLoss(LossModule):
    """Module form of :func:`binary_cross_entropy_with_logits`; weights are buffers.

    Args:
        class_weight: ``(2,)`` or ``(2, L)`` true per-class weights (row 0 negatives).
        pos_weight: ``(1,)`` or ``(L,)``; mutually exclusive with ``class_weight``.
        label_smoothing, ignore_index, reduction: as for the function.

    Example:
        >>> y = torch.tensor([0.0] * 900 + [1.0] * 100)
        >>> BCEWithLogitsLoss.from_labels(y).class_weight
        tensor([0.5556, 5.0000])
        >>> BCEWithLogitsLoss.from_labels(y, weighting="pos_weight").pos_weight
        tensor([9.])
    """

    class_weight: torch.Tensor | None
    pos_weight: torch.Tensor | None
    _forwarded = ("class_weight", "pos_weight", "label_smoothing", "ignore_index", "reduction")
    _shown = ("label_smoothing", "ignore_index", "reduction")

    def __init__(
        self,
        *,
        class_weight: Any = None,
        pos_weight: Any = None,
        label_smoothing: float = 0.0,
        ignore_index: int | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        if class_weight is not None and pos_weight is not None:
            raise InvalidParameterError(
                f"The 'class_weight' and 'pos_weight' parameters of {owner} are mutually "
                "exclusive: pass one of them. Got both."
            )
        shape = None if class_weight is None else _class_weight_shape(class_weight)
        self._register_weight("class_weight", class_weight, shape=shape)
        self._register_weight("pos_weight", pos_weight)
        self._set_options(
            reduction=reduction,
            ignore_index=ignore_index,
            label_smoothing=label_smoothing,
            no_ignore_index=True,
        )

    @classmethod
    def from_labels(
        cls,
        targets: Any,
        *,
        weighting: str = "class_weight",
        scheme: str | None = None,
        beta: float | None = None,
        normalize: str | None = None,
        max_weight: float | None = None,
        zero_count: str = "raise",
        distributed: bool = True,
        **kwargs: Any,
    ):
        """Weights from 0/1 targets (or a :class:`MultilabelCounts`).

        ``weighting="class_weight"`` uses :func:`underdog.binary_class_weight` with
        ``scheme`` (default ``"balanced"``); ``weighting="pos_weight"`` uses
        :func:`underdog.pos_weight` (``n_neg / n_pos``), which takes no scheme.
        ``ignore_index`` is skipped when counting too.
        """
        owner = f"{cls.__name__}.from_labels"
        check_option(
            weighting, name="weighting", owner=owner, options=("class_weight", "pos_weight")
        )
        ignore_index = kwargs.get("ignore_index")
        if weighting == "pos_weight":
            if scheme is not None or beta is not None or normalize is not None:
                raise InvalidParameterError(
                    f"The 'scheme', 'beta' and 'normalize' parameters of {owner} apply only "
                    "to weighting='class_weight'. Got them with weighting='pos_weight'."
                )
            weights = compute_pos_weight(
                targets,
                ignore_index=ignore_index,
                max_weight=max_weight,
                zero_count=zero_count,
                distributed=distributed,
            )
            return cls(pos_weight=weights, **kwargs)
        weights = binary_class_weight(
            targets,
            scheme=scheme or "balanced",
            beta=beta,
            normalize=normalize,
            max_weight=max_weight,
            zero_count=zero_count,
            ignore_index=ignore_index,
            distributed=distributed,
        )
        return cls(class_weight=weights, **kwargs)

    def forward(
        self,
        input: torch.Tensor,
        target: torch.Tensor,
        *,
        sample_weight: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return binary_cross_entropy_with_logits(
            input, target, sample_weight=sample_weight, **self.options()
        )

    def weight_sum(
        self, target: torch.Tensor, *, sample_weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``sum_i e_i`` for ``target``: what ``reduction="mean"`` divides by."""
        return binary_cross_entropy_weight_sum(
            target,
            class_weight=self.class_weight,
            sample_weight=sample_weight,
            ignore_index=self.ignore_index,
        )


def _class_weight_shape(value: Any) -> tuple[int, ...]:
    """The shape class_weight must have: (2,) or (2, L), from the value's own shape."""
    shape = (
        tuple(torch.as_tensor(value).shape)
        if not isinstance(value, torch.Tensor)
        else tuple(value.shape)
    )
    if len(shape) == 2 and shape[0] == 2:
        return shape
    return (2,)
