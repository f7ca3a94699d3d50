"""Autograd Functions with analytic gradients for the imbalance losses.

Autograd on a chain of small ops keeps many logits-sized tensors alive for backward (a
focal loss written naively saves five to seven). The Functions here keep what plain
cross-entropy keeps:

- :class:`SoftmaxFocal` saves ``log_softmax(x)`` (one logits-sized tensor, as
  ``F.cross_entropy`` does) and per-row values, and runs the same fused
  ``log_softmax`` backward as cross-entropy.
- :class:`SigmoidFocal` and :class:`Asymmetric` are elementwise: their forward computes the
  local derivative ``dl/dx`` alongside the loss and saves only it (one logits-sized
  tensor; the logits themselves are not kept); backward is one multiplication.

Logarithms come from log-space (``-log(1 - p) = softplus(x)``, ``-log p = softplus(x) - x``,
``log p_y`` from ``log_softmax``), so there is no ``eps`` and no ``0 * inf``: losses and
gradients are finite for logits of +-1e4 and for focusing exponents in (0, 1), where
``(1 - p) ** gamma`` has an infinite derivative at ``p = 1`` but the loss's derivative has
a finite limit, computed here. (``1 - p`` itself is ``1 - sigmoid(x)``: near ``p = 1`` it
loses relative precision, as BCE's gradient ``sigmoid(x) - 1`` does, only in products
that are then negligible.)

All Functions are traceable by ``torch.compile(fullgraph=True)``: no ``.item()``, no
branching on tensor values (only on Python hyper-parameters).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ..exceptions import DataError
from ._common import eager, upcast

__all__ = [
    "Asymmetric",
    "SigmoidFocal",
    "SoftmaxFocal",
    "check_class_targets",
    "eager",
    "upcast",
]


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


# ----------------------------------------------------------------------------- sigmoid
# The elementwise kernels are bound by memory traffic: every pass over the logits costs
# about the same, so they work in place, fuse with addcmul_ / lerp_, and compute the
# gradient in the same sweep as the loss. Notation: sp = softplus(x) = -log(1 - p),
# sn = softplus(-x) = -log p, q = 1 - p.


def _power(base: torch.Tensor, neg_log_base: Any, gamma: float) -> torch.Tensor | None:
    """``base ** gamma`` in a new buffer; None for ``gamma = 0`` (the factor 1).

    Fast paths for 1, 2 and 4; otherwise ``exp(-gamma * neg_log_base)``, exact in
    log-space. ``neg_log_base`` is ``-log(base)`` or a callable returning it.
    """
    if gamma == 0.0:
        return None
    if gamma == 1.0:
        return base.clone()
    if gamma == 2.0:
        return torch.square(base)
    if gamma == 4.0:
        return torch.square(base).square_()
    if callable(neg_log_base):
        neg_log_base = neg_log_base()
    return torch.mul(neg_log_base, -gamma).exp_()  # exp(-inf) = 0


def _softplus_pair(input: torch.Tensor):
    """``(sp, sn, p, q)``: ``softplus(x)``, ``softplus(-x)``, ``sigmoid(x)``, ``1 - p``.

    ``softplus`` switches to the identity above 40, where ``log1p(exp(-x))`` is below the
    float64 rounding of ``x``; ``sn = sp - x`` is exact for any finite ``x``.
    """
    sp = F.softplus(input, threshold=40.0)
    sn = torch.sub(sp, input)
    p = torch.sigmoid(input)
    q = torch.rsub(p, 1.0)
    return sp, sn, p, q


def _prepare_target(
    target: torch.Tensor, dtype: torch.dtype, smoothing: float, ignore_index: float | None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(smoothed target with ignored entries set to 0, mask of ignored entries or None)."""
    ignored = None
    if ignore_index is not None:
        ignored = target == ignore_index
        target = target.masked_fill(ignored, 0.0)
    if smoothing != 0.0:
        target = target * (1.0 - smoothing) + smoothing / 2
    return target.to(dtype), ignored


def _positive_part(sn, p, q, gamma: float, modulator):
    """``L+ = (1-p)^g sn`` (in sn's buffer) and ``-dL+/dx = (1-p)^g (q + g p sn)``.

    ``modulator`` is ``(1-p)^g``, or None for ``g`` in (0, 1, 2), where ``q`` is consumed
    in place instead (call this last).
    """
    if gamma == 0.0:
        return sn, q
    if modulator is None:
        if gamma == 1.0:
            term = sn.mul_(q)
            return term, q.square_().addcmul_(p, term)
        term = sn.mul_(q).mul_(q)  # gamma == 2
        return term, q.pow_(3).addcmul_(p, term, value=2.0)
    term = sn.mul_(modulator)
    return term, modulator.mul_(q).addcmul_(p, term, value=gamma)


def _positive_modulator(q, sp, gamma: float):
    """``(1-p)^g`` for :func:`_positive_part`, None where it works in place."""
    return None if gamma in (0.0, 1.0, 2.0) else _power(q, sp, gamma)


def _negative_part(sp, p, q, gamma: float, modulator):
    """``L- = p^g sp`` (in sp's buffer) and ``dL-/dx = p^g (p + g q sp)``;
    ``modulator`` is ``p^g`` or None for ``g = 0``."""
    if modulator is None:
        return sp, p
    term = sp.mul_(modulator)
    return term, modulator.mul_(p).addcmul_(q, term, value=gamma)


def _combine(term_pos, term_neg, slope_pos, slope_neg, target, ignored, negated=False):
    """``loss = t L+ + (1-t) L-`` and ``grad = -t slope_pos + (1-t) slope_neg``, in place
    in the buffers of ``term_neg`` and ``slope_neg`` (``slope_pos`` is ``-dL+/dx``, or
    already ``dL+/dx`` when ``negated``)."""
    loss = term_neg.lerp_(term_pos, target)
    grad = slope_neg.lerp_(slope_pos if negated else slope_pos.neg_(), target)
    if ignored is not None:
        loss.masked_fill_(ignored, 0.0)
        grad.masked_fill_(ignored, 0.0)
    return loss, grad


class SigmoidFocal(torch.autograd.Function):
    """Elementwise ``a t (1-p)^g (-log p) + b (1-t) p^g (-log(1-p))``, ``p = sigmoid(x)``.

    ``a`` (positive-term multiplier) and ``b`` (negative-term multiplier) broadcast against
    ``x`` or are None (1). ``t`` is smoothed by ``smoothing`` and elements whose target
    equals ``ignore_index`` give loss 0 and gradient 0. Saves only ``dl/dx``.
    """

    @staticmethod
    def forward(
        ctx,
        input: torch.Tensor,
        target: torch.Tensor,
        pos: torch.Tensor | float | None,
        neg: torch.Tensor | float | None,
        gamma: float,
        smoothing: float,
        ignore_index: float | None,
    ) -> torch.Tensor:
        t, ignored = _prepare_target(target, input.dtype, smoothing, ignore_index)
        sp, sn, p, q = _softplus_pair(input)
        mod_pos = _positive_modulator(q, sp, gamma)  # (1 - p)^g = exp(-g sp)
        mod_neg = _power(p, sn, gamma)  # p^g = exp(-g sn)
        term_neg, slope_neg = _negative_part(sp, p, q, gamma, mod_neg)
        term_pos, slope_pos = _positive_part(sn, p, q, gamma, mod_pos)
        if pos is not None:
            term_pos.mul_(pos)
            slope_pos.mul_(-pos)  # the sign of dL+/dx folded in
        if neg is not None:
            term_neg.mul_(neg)
            slope_neg.mul_(neg)
        loss, grad = _combine(
            term_pos, term_neg, slope_pos, slope_neg, t, ignored, negated=pos is not None
        )
        ctx.save_for_backward(grad)
        return loss

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        (grad,) = ctx.saved_tensors
        return grad_output * grad, None, None, None, None, None, None


class Asymmetric(torch.autograd.Function):
    """Elementwise asymmetric loss (Ridnik et al. 2021) with the exact gradient.

    ``l = -t (1-p)^gp log p - (1-t) p_m^gn log(1 - p_m)``, ``p_m = max(p - clip, 0)``.
    Saves only ``dl/dx``.
    """

    @staticmethod
    def forward(
        ctx,
        input: torch.Tensor,
        target: torch.Tensor,
        gamma_pos: float,
        gamma_neg: float,
        clip: float,
        ignore_index: float | None,
    ) -> torch.Tensor:
        t, ignored = _prepare_target(target, input.dtype, 0.0, ignore_index)
        sp, sn, p, q = _softplus_pair(input)
        mod_pos = _positive_modulator(q, sp, gamma_pos)
        if clip == 0.0:
            mod_neg = _power(p, sn, gamma_neg)
            term_neg, slope_neg = _negative_part(sp, p, q, gamma_neg, mod_neg)
            term_pos, slope_pos = _positive_part(sn, p, q, gamma_pos, mod_pos)
        else:
            # p_m = max(p - clip, 0); 1 - p_m = min(1 - p + clip, 1) >= clip.
            # L- = -p_m^gn log(1 - p_m), 0 exactly where p <= clip, and
            # dL-/dx = (gn L- / p_m + p_m^gn / (1 - p_m)) p (1 - p) [p > clip], where
            # L- / p_m = -p_m^(gn - 1) log(1 - p_m) stays finite as p_m -> 0.
            p_m = torch.sub(p, clip, out=sp).clamp_(min=0.0)  # sp is not needed here
            one_minus = torch.add(q, clip).clamp_(max=1.0)
            if gamma_neg == 0.0:
                modulator = (p_m > 0).to(p.dtype)
            else:
                modulator = _power(p_m, lambda: torch.log(p_m).neg_(), gamma_neg)
            term_neg = torch.log(one_minus).mul_(modulator).neg_()
            slope_neg = modulator.div_(one_minus)
            if gamma_neg != 0.0:
                tiny = torch.finfo(p_m.dtype).tiny
                ratio = torch.div(term_neg, p_m.clamp_(min=tiny), out=one_minus)
                slope_neg.add_(ratio, alpha=gamma_neg)
            slope_neg.mul_(p).mul_(q)
            term_pos, slope_pos = _positive_part(sn, p, q, gamma_pos, mod_pos)
        loss, grad = _combine(term_pos, term_neg, slope_pos, slope_neg, t, ignored)
        ctx.save_for_backward(grad)
        return loss

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        (grad,) = ctx.saved_tensors
        return grad_output * grad, None, None, None, None, None
