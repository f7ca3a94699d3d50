"""Entry points shared by the imbalance losses, between the public functions and the
autograd Functions of :mod:`underdog.losses._kernels`: checks for class-index
losses, the softmax-row driver (focal, LDAM, logit adjustment) with the weighted mean, and
the denominator of the binary losses' mean.
"""

from __future__ import annotations

import torch

from ..exceptions import ShapeError
from ._common import broadcast_sample_weight, reduce_loss, shape_str, upcast
from ._kernels import SoftmaxFocal, check_class_targets
from .cross_entropy import _check_input, cross_entropy

__all__ = ["binary_denominator", "check_index_input", "shifted_cross_entropy", "softmax_rows"]


def check_index_input(
    input: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None,
    owner: str,
    *,
    ignore_index: int | None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Checks for losses that need class-index targets: shapes, the weight's length and
    the class range (:func:`check_class_targets`); returns ``(int64 target, weight)``.
    """
    if _check_input(input, target, owner):
        raise ShapeError(
            f"The 'target' of {owner} must hold int64 class indices of shape "
            f"{shape_str(input.shape[:1] + input.shape[2:])}; probability targets are not "
            f"supported. Got a float target of shape {shape_str(target.shape)}."
        )
    classes = input.shape[1]
    if weight is not None:
        if weight.shape != (classes,):
            raise ShapeError(
                f"The 'weight' parameter of {owner} must have shape ({classes},), one value "
                f"per class of dim 1 of the input {shape_str(input.shape)}. Got shape "
                f"{shape_str(weight.shape)}."
            )
    target = target.long()
    check_class_targets(target, classes, ignore_index, owner=owner)
    return target, weight


def softmax_rows(
    input: torch.Tensor,
    target: torch.Tensor,
    *,
    gamma: float,
    weight: torch.Tensor | None,
    sample_weight: torch.Tensor | None,
    ignore_index: int,
    reduction: str,
    owner: str,
    scale: float = 1.0,
    margins: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
) -> torch.Tensor:
    """Focal (``gamma > 0``) or cross-entropy (``gamma = 0``) of
    ``scale * (x - m_y onehot(y)) + bias``, with the weighted mean; ``target`` already
    checked (int64, in range), ``bias`` ``(C,)``.
    """
    x = upcast(input)
    keep = target != ignore_index
    safe = torch.where(keep, target, torch.zeros_like(target))
    shift = None
    if margins is not None:
        shift = (margins.to(dtype=x.dtype, device=x.device)[safe] * -scale).unsqueeze(1)
    if bias is not None:
        bias = bias.to(dtype=x.dtype, device=x.device).reshape((-1,) + (1,) * (x.ndim - 2))
    loss = SoftmaxFocal.apply(x, safe, gamma, scale, shift, bias)
    element = keep.to(loss.dtype)
    if weight is not None:
        element = weight.to(dtype=loss.dtype, device=loss.device)[safe] * element
    loss = loss * element
    if sample_weight is not None:
        sample_weight = broadcast_sample_weight(
            sample_weight.to(loss.dtype), loss.shape, owner=owner
        )
        loss = loss * sample_weight
        element = element * sample_weight
    return reduce_loss(loss, element, reduction)


def binary_denominator(
    loss: torch.Tensor,
    target: torch.Tensor,
    keep: torch.Tensor | None,
    alpha: float | None,
    sample_weight: torch.Tensor | None,
    reduction: str,
    owner: str,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Apply sample weights; return (loss, e) where ``e.sum()`` is the mean's denominator.

    ``target`` is the unsmoothed target with ignored entries set to 0 and ``keep`` the
    0/1 mask of the entries that are not ignored, or None (see
    :func:`~underdog.losses._elementwise.binary_target`). Without sample
    weights ``e`` is a 0-dim tensor (one pass over the target, none over the loss).
    """
    if sample_weight is not None:
        sw = broadcast_sample_weight(sample_weight.to(loss.dtype), target.shape, owner=owner)
        loss = loss * sw
        if reduction != "mean":
            return loss, None
        element = sw.expand_as(loss)
        if alpha is not None:
            element = element * ((1.0 - alpha) + (2.0 * alpha - 1.0) * target)
        return loss, element if keep is None else element * keep
    if reduction != "mean":
        return loss, None
    # A 0-dim count rather than loss.mean(): mean's backward would materialise a
    # logits-sized gradient before the loss's own backward.
    count = loss.new_tensor(float(loss.numel())) if keep is None else keep.sum().to(loss.dtype)
    if alpha is None:
        return loss, count
    return loss, (1.0 - alpha) * count + (2.0 * alpha - 1.0) * target.sum().to(loss.dtype)


def shifted_cross_entropy(
    input: torch.Tensor,
    target: torch.Tensor,
    *,
    weight: torch.Tensor | None,
    sample_weight: torch.Tensor | None,
    ignore_index: int,
    label_smoothing: float,
    reduction: str,
    owner: str,
    scale: float = 1.0,
    margins: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
) -> torch.Tensor:
    """Cross-entropy of ``scale * (x - m_y onehot(y)) + bias`` (LDAM, logit adjustment).

    Class-index targets without smoothing take the fused softmax kernel (nothing kept for
    backward but what cross-entropy keeps); otherwise the shifted logits are built once and
    passed to :func:`~underdog.cross_entropy`. Probability targets are allowed without
    ``margins`` (a margin needs the target class). ``margins`` and ``bias`` are ``(C,)``.
    """
    per_class = margins if margins is not None else bias
    # A margin needs the target class: probability targets are rejected with margins.
    probabilities = margins is None and _check_input(input, target, owner)
    if not probabilities:
        target, weight = check_index_input(input, target, weight, owner, ignore_index=ignore_index)
    classes = input.shape[1]
    if per_class is not None and per_class.shape != (classes,):
        raise ShapeError(
            f"The 'counts' of {owner} must have shape ({classes},), one count per class of "
            f"dim 1 of the input {shape_str(input.shape)}. Got shape "
            f"{shape_str(per_class.shape)}."
        )
    if not probabilities and label_smoothing == 0.0:
        return softmax_rows(
            input, target, gamma=0.0, weight=weight, sample_weight=sample_weight,
            ignore_index=ignore_index, reduction=reduction, owner=owner, scale=scale,
            margins=margins, bias=bias,
        )  # fmt: skip
    x = upcast(input)
    z = x if scale == 1.0 else torch.mul(x, scale)
    if margins is not None:
        # Subtract s * m_y at the target: one fresh logits-sized tensor at most.
        safe = torch.where(target != ignore_index, target, torch.zeros_like(target)).unsqueeze(1)
        shift = margins.to(dtype=x.dtype, device=x.device)[safe] * -scale
        z = (z.clone() if z is x else z).scatter_add_(1, safe, shift)
    if bias is not None:
        z = z + bias.to(dtype=x.dtype, device=x.device).reshape((classes,) + (1,) * (x.ndim - 2))
    return cross_entropy(
        z, target, weight=weight, sample_weight=sample_weight, ignore_index=ignore_index,
        label_smoothing=label_smoothing, reduction=reduction,
    )  # fmt: skip
