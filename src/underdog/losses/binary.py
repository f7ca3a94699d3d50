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

from collections.abc import Callable
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import (
    check_exclusive,
    check_int,
    check_option,
    check_real,
    check_reduction,
    describe,
    describe_shape,
    eager,
    message,
)
from ..exceptions import InvalidParameterError, ShapeError
from ..weights import binary_class_weight
from ..weights import pos_weight as compute_pos_weight
from ._base import LossModule
from ._checks import (
    align_to_class_dim,
    broadcast_sample_weight,
    check_binary_input,
    check_logits,
    check_pair,
    split_class_weight,
    upcast,
)
from ._reduction import binary_cross_entropy_weight_sum, reduce_loss
from ._sigmoid_kernel import smooth_binary_target

__all__ = [
    "BCEWithLogitsLoss",
    "MinorityLogitLoss",
    "binary_cross_entropy_weight_sum",
    "binary_cross_entropy_with_logits",
]


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
            weight vector that does not match dim 1, a sparse tensor, a target or sample
            weight on another device than the input.
        InvalidParameterError: both ``class_weight`` and ``pos_weight``, bad options, a
            negative or non-finite weight (checked on CPU in eager mode).

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
    if class_weight is not None and pos_weight is not None:  # the cheap test on the hot path
        check_exclusive(owner, class_weight=class_weight, pos_weight=pos_weight)
    check_binary_input(input, target, owner, ignore_index=ignore_index)
    input = upcast(input)  # half precision is computed in float32
    target = target.to(input.dtype)

    keep = None
    if ignore_index is not None:
        keep = target != ignore_index
        target = torch.where(keep, target, torch.zeros_like(target))
    smoothed = smooth_binary_target(target, label_smoothing)

    element = None
    if class_weight is not None:
        loss, element = _class_weighted(input, target, smoothed, class_weight, owner)
    else:
        if pos_weight is not None:
            pos_weight = align_to_class_dim(pos_weight, input, name="pos_weight", owner=owner).to(
                dtype=input.dtype, device=input.device
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
        weight = broadcast_sample_weight(sample_weight.to(loss.dtype), target, owner=owner)
        loss = loss * weight
        element = weight.expand_as(loss) if element is None else element * weight
    return reduce_loss(loss, element, reduction, owner)


def _class_weighted(
    input: torch.Tensor,
    target: torch.Tensor,
    smoothed: torch.Tensor,
    class_weight: torch.Tensor,
    owner: str,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(l, e)`` of :func:`binary_cross_entropy_with_logits` with ``class_weight``.

    Before ignored entries and sample weights: ``l = w_pos t' softplus(-x) + w_neg
    (1 - t') softplus(x)`` and ``e = w_pos t + w_neg (1 - t)``.
    """
    w_neg, w_pos = split_class_weight(class_weight, input, owner)
    loss = w_pos * smoothed * F.softplus(-input) + w_neg * (1 - smoothed) * F.softplus(input)
    return loss, w_pos * target + w_neg * (1 - target)


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
    _loss = staticmethod(binary_cross_entropy_with_logits)
    _forwarded = ("class_weight", "pos_weight", "label_smoothing", "ignore_index", "reduction")
    _weight_sum = staticmethod(binary_cross_entropy_weight_sum)
    _summed = ("class_weight", "ignore_index")
    _shown = ("label_smoothing", "ignore_index", "reduction")

    def __init__(
        self,
        *,
        class_weight: object = None,
        pos_weight: object = None,
        label_smoothing: float = 0.0,
        ignore_index: int | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        check_exclusive(owner, class_weight=class_weight, pos_weight=pos_weight)
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
        targets: object,
        *,
        weighting: str = "class_weight",
        scheme: str | None = None,
        beta: float | None = None,
        normalize: str | None = None,
        max_weight: float | None = None,
        zero_count: str = "raise",
        distributed: bool = True,
        **kwargs: Any,
    ) -> BCEWithLogitsLoss:
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
        if weighting == "class_weight":
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
        for name, value in (("scheme", scheme), ("beta", beta), ("normalize", normalize)):
            if value is not None:
                raise InvalidParameterError(
                    message(
                        name,
                        owner,
                        must="be None with weighting='pos_weight' (scheme, beta and normalize "
                        "apply only to weighting='class_weight')",
                        got=repr(value),
                    )
                )
        weights = compute_pos_weight(
            targets,
            ignore_index=ignore_index,
            max_weight=max_weight,
            zero_count=zero_count,
            distributed=distributed,
        )
        return cls(pos_weight=weights, **kwargs)


def _class_weight_shape(value: object) -> tuple[int, ...]:
    """The shape class_weight must have: (2,) or (2, L), from the value's own shape."""
    tensor = value if isinstance(value, torch.Tensor) else torch.as_tensor(value)
    shape = tuple(tensor.shape)
    if len(shape) == 2 and shape[0] == 2:
        return shape
    return (2,)


class MinorityLogitLoss(nn.Module):
    """A binary loss on a two-logit model: ``inner(z_m - z_other, (target == m).float())``.

    ``softmax`` of two logits is the sigmoid of their difference, so a binary loss (such as
    :class:`BCEWithLogitsLoss` with ``pos_weight``) trains the same two-output model as any
    softmax loss: the minority class ``m`` is the positive class, and the logit of
    ``p(m) = sigmoid(z_m - z_other)`` is the difference of the two logits.

    Args:
        inner: a binary loss Module taking ``(logits, float 0/1 targets)``, such as
            :class:`BCEWithLogitsLoss`, :class:`~underdog.losses.SigmoidFocalLoss` or
            :class:`~underdog.losses.AsymmetricLoss`.
        minority: the class (0 or 1) that is the positive of the binary loss.

    Shape:
        input ``(N, 2, *)``, target ``(N, *)`` class indices in ``{0, 1}``; the result is
        what ``inner`` returns for ``(N, *)`` logits.

    Example:
        >>> loss = MinorityLogitLoss(BCEWithLogitsLoss(pos_weight=[9.0]), minority=1)
        >>> x = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
        >>> loss(x, torch.tensor([0, 1]))
        tensor(1.4731)
    """

    def __init__(self, inner: nn.Module, *, minority: int) -> None:
        super().__init__()
        owner = type(self).__name__
        if not isinstance(inner, nn.Module):
            raise InvalidParameterError(
                message("inner", owner, must="be a binary loss Module", got=describe(inner))
            )
        self.inner = inner
        self.minority = check_int(minority, name="minority", owner=owner, low=0, high=1)

    @property
    def reduction(self) -> str | None:
        """The inner loss's ``reduction`` (for :class:`~underdog.losses.GlobalMean`)."""
        reduction = getattr(self.inner, "reduction", None)
        return reduction if isinstance(reduction, str) else None

    def _binary_target(self, target: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        return (target == self.minority).to(dtype)

    def forward(
        self,
        input: torch.Tensor,
        target: torch.Tensor,
        *,
        sample_weight: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``inner`` of the minority logit minus the other, and of ``target == minority``."""
        check_pair(input, target, type(self).__name__)
        check_logits(input, type(self).__name__)
        if input.ndim < 2 or input.shape[1] != 2:
            raise ShapeError(
                message(
                    "input",
                    type(self).__name__,
                    must="have two logits on dim 1, shape (N, 2, *)",
                    got=f"shape {describe_shape(input.shape)}",
                )
            )
        m = self.minority
        logit = input[:, m] - input[:, 1 - m]
        binary = self._binary_target(target, input.dtype)
        if sample_weight is None:  # an inner loss need not take sample weights
            result: torch.Tensor = self.inner(logit, binary)
        else:
            result = self.inner(logit, binary, sample_weight=sample_weight)
        return result

    def weight_sum(
        self, target: torch.Tensor, *, sample_weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The denominator of the inner loss's ``"mean"`` (for data-parallel training)."""
        binary = self._binary_target(target, torch.get_default_dtype())
        weight_sum = cast(Callable[..., torch.Tensor], self.inner.weight_sum)
        return weight_sum(binary, sample_weight=sample_weight)
