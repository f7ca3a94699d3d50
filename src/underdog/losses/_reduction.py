"""The one meaning of ``reduction`` shared by every loss, and the weight sums behind it.

``reduction`` means the same thing for every underdog loss:

- ``"none"``: the per-element loss, shaped like the target (ignored elements are 0);
- ``"sum"``: the sum of the per-element losses;
- ``"mean"``: the **weighted mean** ``sum_i l_i / sum_i e_i``, where ``l_i`` already
  includes the element's weights and ``e_i`` is the element's weight: the product of its
  sample weight and the class weight of its target (0 for ignored elements). Without any
  weights this is the plain mean over the elements that are not ignored. When every
  ``e_i`` is 0 (every element ignored, or weighted 0) the value is PyTorch's ``0 / 0 =
  nan`` and the gradient is 0, as with ``F.cross_entropy`` (:func:`weighted_mean`), so a
  batch, micro-batch or rank's share without a weighted element never puts NaN into the
  parameters.

Here: :func:`reduce_loss` and :func:`weighted_mean`; the element weights ``e_i`` of the
class-index losses (:func:`class_element_weight`) and of the binary ones
(:func:`binary_denominator`); and the denominators ``sum_i e_i`` on their own,
:func:`cross_entropy_weight_sum` and :func:`binary_cross_entropy_weight_sum` (public
through :mod:`~underdog.losses.cross_entropy` and :mod:`~underdog.losses.binary`), which
``weight_sum`` of every loss Module returns.
"""

from __future__ import annotations

import torch

from .._validation import check_reduction
from ._checks import (
    broadcast_sample_weight,
    check_binary_target,
    check_dense,
    check_ignore_index,
    check_weight_sum_target,
    split_class_weight,
)

__all__ = [
    "binary_cross_entropy_weight_sum",
    "binary_denominator",
    "class_element_weight",
    "cross_entropy_weight_sum",
    "reduce_loss",
    "sample_weighted",
    "weighted_mean",
]


def reduce_loss(
    loss: torch.Tensor, element_weight: torch.Tensor | None, reduction: str, owner: str
) -> torch.Tensor:
    """Apply ``reduction`` to the per-element loss of the loss ``owner``.

    ``element_weight`` is the denominator's weight per element (None: every element
    weighs 1). Every loss reduces here (or hands ``reduction`` to PyTorch after checking
    it), so a ``reduction`` other than ``"mean"``, ``"sum"`` and ``"none"`` raises
    :class:`~underdog.InvalidParameterError` on every path, never falls back to the mean.
    """
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction != "mean":
        check_reduction(reduction, owner=owner)  # raises: not one of REDUCTIONS
    if element_weight is None:
        return loss.mean()
    return weighted_mean(loss.sum(), element_weight.sum())


def weighted_mean(total: torch.Tensor, weight_sum: torch.Tensor) -> torch.Tensor:
    """``total / weight_sum``, with a zero gradient where ``weight_sum`` is 0.

    Where ``weight_sum`` is 0 the value is ``nan`` (PyTorch's ``0 / 0``, as
    ``F.cross_entropy`` gives when every target is ignored) and the gradient is 0, not
    ``0 * (1 / 0) = nan``: a loss whose every element weighs 0 contributes nothing to a
    step. A few 0-dim operations: no pass over the data, no synchronisation, traceable by
    ``torch.compile``.

    Example:
        >>> weighted_mean(torch.tensor(3.0), torch.tensor(2.0))
        tensor(1.5000)
        >>> weighted_mean(torch.tensor(0.0), torch.tensor(0.0))
        tensor(nan)
    """
    empty = weight_sum == 0
    # weight_sum + empty is 1 where the sum is 0: a denominator whose gradient is finite.
    return torch.where(empty, float("nan"), total / (weight_sum + empty))


def sample_weighted(
    loss: torch.Tensor, element: torch.Tensor, sample_weight: torch.Tensor | None, owner: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(loss * s, e * s)``: the per-element loss and weight times the sample weights."""
    if sample_weight is None:
        return loss, element
    weight = broadcast_sample_weight(sample_weight.to(loss.dtype), loss, owner=owner)
    return loss * weight, element * weight


# ----------------------------------------------------------------------------- class indices


def class_element_weight(
    target: torch.Tensor,
    probabilities: bool,
    weight: torch.Tensor | None,
    ignore_index: int,
    dtype: torch.dtype,
) -> torch.Tensor:
    """``e_i`` of a softmax loss, without sample weights.

    ``w[y_i]`` (0 where ignored), or ``sum_c w[c] t_ic`` for probability targets (classes
    on dim 1).
    """
    if probabilities:
        if weight is None:
            return torch.ones(
                target.shape[:1] + target.shape[2:], dtype=dtype, device=target.device
            )
        view = weight.reshape((-1,) + (1,) * (target.ndim - 2))
        return (target * view).sum(1).to(dtype)
    keep = target != ignore_index
    if weight is None:
        return keep.to(dtype)
    return (weight[torch.where(keep, target, 0)] * keep).to(dtype)


def cross_entropy_weight_sum(
    target: torch.Tensor,
    *,
    weight: torch.Tensor | None = None,
    sample_weight: torch.Tensor | None = None,
    ignore_index: int = -100,
) -> torch.Tensor:
    """The denominator ``sum_i e_i`` of the ``"mean"`` of a cross-entropy, for ``target``.

    That is, of :func:`~underdog.cross_entropy` with the same arguments.

    Floating targets are probability targets (classes on dim 1). Used to divide a summed
    loss by a denominator gathered over several batches or ranks (see
    :class:`underdog.losses.GlobalMean`).

    Args:
        target: int64 class indices ``(N, *)`` or float probabilities ``(N, C, *)``.
        weight: per-class weights ``(C,)``.
        sample_weight: per-sample weights ``(N,)`` or the target's shape.
        ignore_index: class-index target value that is skipped.

    Returns:
        A 0-dim tensor.

    Example:
        >>> cross_entropy_weight_sum(torch.tensor([0, 1, 1, -100]), weight=torch.tensor([0.5, 2.0]))
        tensor(4.5000)
    """
    owner = "cross_entropy_weight_sum"
    probabilities = check_weight_sum_target(target, weight, owner, ignore_index=ignore_index)
    if not probabilities:
        target = target.long()
    dtype = weight.dtype if weight is not None else torch.get_default_dtype()
    if weight is not None:
        weight = weight.to(target.device)
    element = class_element_weight(target, probabilities, weight, ignore_index, dtype)
    if sample_weight is not None:
        element = element * broadcast_sample_weight(sample_weight.to(dtype), element, owner=owner)
    return element.sum()


# ----------------------------------------------------------------------------- binary targets


def binary_denominator(
    loss: torch.Tensor,
    target: torch.Tensor,
    keep: torch.Tensor | None,
    alpha: float | None,
    sample_weight: torch.Tensor | None,
    reduction: str,
    owner: str,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Apply sample weights; return ``(loss, e)`` where ``e.sum()`` is the mean's denominator.

    ``target`` is the unsmoothed target with ignored entries set to 0 and ``keep`` the
    0/1 mask of the entries that are not ignored, or None (see
    :func:`~underdog.losses._sigmoid_kernel.binary_target`); ``alpha`` weights the positives
    (``1 - alpha`` the negatives), None for no class weighting. Without sample weights
    ``e`` is a 0-dim tensor (one pass over the target, none over the loss).
    """
    if sample_weight is not None:
        sw = broadcast_sample_weight(sample_weight.to(loss.dtype), target, owner=owner)
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


def binary_cross_entropy_weight_sum(
    target: torch.Tensor,
    *,
    class_weight: torch.Tensor | None = None,
    sample_weight: torch.Tensor | None = None,
    ignore_index: int | None = None,
) -> torch.Tensor:
    """The denominator ``sum_i e_i`` of the ``"mean"`` of a binary cross-entropy.

    That is, of :func:`~underdog.binary_cross_entropy_with_logits` with the same arguments.

    ``pos_weight`` does not enter it (PyTorch's meaning). Used to divide a summed loss by a
    denominator gathered over several batches or ranks (see
    :class:`underdog.losses.GlobalMean`).

    Args:
        target: float targets ``(N, *)``.
        class_weight: ``(2,)`` or ``(2, L)``: row 0 weights negatives, row 1 positives.
        sample_weight: per-sample weights ``(N,)`` or the target's shape.
        ignore_index: a target value marking unknown entries.

    Returns:
        A 0-dim tensor.

    Example:
        >>> t = torch.tensor([1.0, 0.0, 0.0])
        >>> binary_cross_entropy_weight_sum(t, class_weight=torch.tensor([0.5, 5.0]))
        tensor(6.)
    """
    owner = "binary_cross_entropy_weight_sum"
    check_ignore_index(ignore_index, owner, optional=True)
    check_dense(target, name="target", owner=owner)
    check_binary_target(target, owner)
    if class_weight is not None:
        target = target.to(torch.promote_types(target.dtype, class_weight.dtype))
    keep = None
    if ignore_index is not None:
        keep = target != ignore_index
        target = torch.where(keep, target, torch.zeros_like(target))
    if class_weight is not None:
        w_neg, w_pos = split_class_weight(class_weight, target, owner)
        element = w_pos * target + w_neg * (1 - target)
    else:
        element = torch.ones_like(target)
    if keep is not None:
        element = element * keep
    if sample_weight is not None:
        element = element * broadcast_sample_weight(
            sample_weight.to(element.dtype), target, owner=owner
        )
    return element.sum()
