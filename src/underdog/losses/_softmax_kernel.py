"""The softmax kernel of the imbalance losses and the drivers that feed it rows.

Autograd on a chain of small ops keeps many logits-sized tensors alive for backward (a
focal loss written naively saves five to seven). :class:`SoftmaxFocal` keeps what plain
cross-entropy keeps: it saves ``log_softmax(x)`` (one logits-sized tensor, as
``F.cross_entropy`` does) and per-row values, and runs the same fused ``log_softmax``
backward as cross-entropy; ``log p_y`` comes from ``log_softmax``, so there is no ``eps``.

The drivers, between the public functions and the Function:

- :func:`softmax_rows`: focal or cross-entropy rows of ``scale * (x - m_y) + bias``, with
  the weighted mean (focal, class-balanced, LDAM, logit adjustment);
- :func:`shifted_cross_entropy`: cross-entropy of shifted logits (LDAM, logit adjustment),
  through the kernel where it can, else through :func:`~underdog.cross_entropy`.

Traceable by ``torch.compile(fullgraph=True)``: no ``.item()``, no branching on tensor
values (only on Python hyper-parameters).
"""

from __future__ import annotations

from typing import Any

import torch

from .._validation import check_real, check_reduction, eager
from ._checks import (
    check_class_vector,
    check_index_input,
    check_softmax_input,
    first_order_only,
    upcast,
)
from ._reduction import reduce_loss, sample_weighted
from .cross_entropy import cross_entropy

__all__ = ["SoftmaxFocal", "shifted_cross_entropy", "softmax_rows"]


def _focal_row_terms(logp_y: torch.Tensor, gamma: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``f(u) = (1 - e^u)^gamma * (-u)`` and ``f'(u)`` for ``u = log p_y <= 0``.

    ``f'(u) = -(1 - p)^gamma * (1 + gamma * p * (-u) / (1 - p))``; the ratio
    ``(-u) / (1 - p)`` tends to 1 as ``p -> 1``, so ``f'(0) = 0`` for ``gamma > 0``
    (``(1 - p)^(gamma - 1)`` alone would be infinite there for ``gamma < 1``).
    """
    if gamma == 0.0:
        return -logp_y, torch.full_like(logp_y, -1.0)
    p = logp_y.exp()
    q = -torch.expm1(logp_y)  # 1 - p without cancellation
    modulator = q.pow(gamma)
    loss = modulator * -logp_y
    ratio = torch.where(q > 0, -logp_y / q, torch.ones_like(q))
    grad = -modulator * (1.0 + gamma * p * ratio)
    return loss, grad


class SoftmaxFocal(torch.autograd.Function):
    """Per-position ``(1 - p_y)^gamma * (-log p_y)`` for class-index targets.

    ``p = softmax(scale * x + bias + shift * onehot(y))`` (``bias``: per-class logit
    adjustment; ``shift``: LDAM's margins; ``gamma = 0`` is cross-entropy).

    ``input`` ``(N, C, *)``, ``target`` ``(N, *)`` int64 with every value in ``[0, C)``
    (ignored positions replaced by a valid class and masked by the caller), ``shift``
    ``(N, 1, *)`` or None, ``bias`` ``(C, 1, ...)`` aligned with dim 1 or None. Saves
    ``log_softmax`` of the logits and per-position values; backward is cross-entropy's.
    """

    @staticmethod
    def forward(
        ctx: Any,
        input: torch.Tensor,
        target: torch.Tensor,
        gamma: float,
        scale: float,
        shift: torch.Tensor | None,
        bias: torch.Tensor | None,
    ) -> torch.Tensor:
        """The per-position loss; saves ``log_softmax``, the target index and ``f'``."""
        index = target.unsqueeze(1)
        logits = input
        if bias is not None:
            logits = torch.add(input, bias) if scale == 1.0 else torch.mul(input, scale).add_(bias)
        elif scale != 1.0:
            logits = torch.mul(input, scale)
        elif shift is not None:
            logits = input.clone()
        if shift is not None:
            logits.scatter_add_(1, index, shift)
        if logits is not input and logits.device.type == "cpu" and eager():
            # Our own fresh buffer: the CPU kernel reads each row before writing it, so
            # log_softmax can overwrite it and forward allocates what cross-entropy does.
            logp = torch._log_softmax(logits, 1, False, out=logits)
        else:
            logp = torch.log_softmax(logits, 1)
        del logits
        logp_y = logp.gather(1, index).squeeze(1)
        loss, grad = _focal_row_terms(logp_y, gamma)
        ctx.scale = scale
        ctx.save_for_backward(logp, index, grad)
        return loss

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        """Cross-entropy's fused ``log_softmax`` backward, from the saved factor."""
        first_order_only(
            "the softmax imbalance losses "
            "(focal, class-balanced, LDAM, logit-adjusted, balanced softmax)"
        )
        logp, index, grad = ctx.saved_tensors
        # d loss / d log p_y per position, scattered to the target class; the fused
        # log_softmax backward then gives g * (onehot - softmax), as in cross-entropy.
        # The log_softmax backward is linear in its incoming gradient, so LDAM's scale s
        # multiplies the per-position factor, not the logits-sized result.
        factor = grad_output * grad
        if ctx.scale != 1.0:
            factor = factor * ctx.scale
        sparse = torch.zeros_like(logp).scatter_(1, index, factor.unsqueeze(1))
        grad_input = torch._log_softmax_backward_data(sparse, logp, 1, logp.dtype)
        return grad_input, None, None, None, None, None


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
    """Focal (``gamma > 0``) or cross-entropy (``gamma = 0``) rows, with the weighted mean.

    Of the logits ``scale * (x - m_y onehot(y)) + bias``; ``target`` already checked
    (int64, in range), ``bias`` ``(C,)``.
    """
    x = upcast(input)
    keep = target != ignore_index
    safe = torch.where(keep, target, torch.zeros_like(target))
    shift = None
    if margins is not None:
        shift = (margins.to(dtype=x.dtype, device=x.device)[safe] * -scale).unsqueeze(1)
    if bias is not None:
        bias = bias.to(dtype=x.dtype, device=x.device).reshape((-1,) + (1,) * (x.ndim - 2))
    # torch declares Function.apply without types:
    loss: torch.Tensor = SoftmaxFocal.apply(x, safe, gamma, scale, shift, bias)  # type: ignore[no-untyped-call]
    element = keep.to(loss.dtype)
    if weight is not None:
        element = weight.to(dtype=loss.dtype, device=loss.device)[safe] * element
    loss, element = sample_weighted(loss * element, element, sample_weight, owner)
    return reduce_loss(loss, element, reduction, owner)


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
    ``margins`` (a margin needs the target class). ``margins`` and ``bias`` are ``(C,)``,
    checked against the classes as the ``counts`` they come from.
    """
    if eager():  # Python-scalar checks before either path, in this loss's name
        check_reduction(reduction, owner=owner)
        check_real(label_smoothing, name="label_smoothing", owner=owner, low=0.0, high=1.0)
    # A margin needs the target class: probability targets are rejected with margins.
    probabilities = margins is None and check_softmax_input(
        input, target, owner, ignore_index=ignore_index
    )
    if not probabilities:
        target = check_index_input(input, target, weight, owner, ignore_index=ignore_index)
    per_class = margins if margins is not None else bias
    if per_class is not None:
        check_class_vector(per_class, input, name="counts", owner=owner, each="count")
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
        z = z + bias.to(dtype=x.dtype, device=x.device).reshape((-1,) + (1,) * (x.ndim - 2))
    return cross_entropy(
        z, target, weight=weight, sample_weight=sample_weight, ignore_index=ignore_index,
        label_smoothing=label_smoothing, reduction=reduction,
    )  # fmt: skip
