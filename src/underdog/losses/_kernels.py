"""Autograd Functions with analytic gradients for the imbalance losses: the softmax one.

Autograd on a chain of small ops keeps many logits-sized tensors alive for backward (a
focal loss written naively saves five to seven). The Functions here and in
:mod:`underdog.losses._elementwise` keep what plain cross-entropy keeps:

- :class:`SoftmaxFocal` saves ``log_softmax(x)`` (one logits-sized tensor, as
  ``F.cross_entropy`` does) and per-row values, and runs the same fused
  ``log_softmax`` backward as cross-entropy; ``log p_y`` comes from ``log_softmax``, so
  there is no ``eps``.
- the sigmoid Functions (:mod:`underdog.losses._elementwise`) compute the local derivative
  ``dl/dx`` alongside the loss and save only it.

All Functions are traceable by ``torch.compile(fullgraph=True)``: no ``.item()``, no
branching on tensor values (only on Python hyper-parameters).
"""

from __future__ import annotations

import torch

from ..exceptions import DataError
from ._common import eager, first_order_only

__all__ = ["SoftmaxFocal", "check_class_targets"]


def check_class_targets(
    target: torch.Tensor, classes: int, ignore_index: int | None, *, owner: str
) -> None:
    """Raise :class:`DataError` for a class index outside ``[0, C)`` (CPU, eager only).

    On an accelerator or under ``torch.compile`` this reads nothing (a value check would
    synchronise the device); there an out-of-range target fails in the indexing kernel.
    """
    if target.device.type != "cpu" or target.numel() == 0 or torch.compiler.is_compiling():
        return
    valid = target
    if ignore_index is not None:  # ignored entries count as class 0 (no nonzero() call)
        valid = torch.where(target != ignore_index, target, torch.zeros_like(target))
    low, high = (int(v) for v in torch.aminmax(valid))
    if low < 0 or high >= classes:
        bad = low if low < 0 else high
        ignored = "" if ignore_index is None else f" (or ignore_index={ignore_index})"
        raise DataError(
            f"The 'target' of {owner} must hold class indices in [0, {classes}){ignored} for "
            f"an input with {classes} classes on dim 1. Got the class index {bad} instead."
        )


# ----------------------------------------------------------------------------- softmax


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
    """Per-position ``(1 - p_y)^gamma * (-log p_y)`` for class-index targets, with
    ``p = softmax(scale * x + bias + shift * onehot(y))`` (``bias``: per-class logit
    adjustment; ``shift``: LDAM's margins; ``gamma = 0`` is cross-entropy).

    ``input`` ``(N, C, *)``, ``target`` ``(N, *)`` int64 with every value in ``[0, C)``
    (ignored positions replaced by a valid class and masked by the caller), ``shift``
    ``(N, 1, *)`` or None, ``bias`` ``(C, 1, ...)`` aligned with dim 1 or None. Saves
    ``log_softmax`` of the logits and per-position values; backward is cross-entropy's.
    """

    @staticmethod
    def forward(
        ctx,
        input: torch.Tensor,
        target: torch.Tensor,
        gamma: float,
        scale: float,
        shift: torch.Tensor | None,
        bias: torch.Tensor | None,
    ) -> torch.Tensor:
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
    def backward(ctx, grad_output: torch.Tensor):
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
