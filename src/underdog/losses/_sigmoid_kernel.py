"""The sigmoid kernels of the imbalance losses (focal, asymmetric) and their targets.

:class:`SigmoidFocal` and :class:`Asymmetric` compute the local derivative ``dl/dx`` in the
same sweep as the loss and save only it (one logits-sized tensor; the logits themselves
are not kept); backward is one multiplication. On the CPU the sweep runs over blocks of
rows that fit in the core's cache (:func:`_sweep`): a kernel makes some twenty passes, and
in cache a pass costs a fraction of one through memory.

Logarithms never take an ``eps``: with ``p = sigmoid(x)`` and ``q = 1 - p = sigmoid(-x)``
(not ``1 - p``, which rounds to 0 once ``p`` rounds to 1), ``-log p = softplus(-x) =
log1p(q / p)`` and ``-log q = softplus(x) = log1p(p / q)``, capped where the ratio
overflows, and ``-log(1 - p_m) = log1p(p_m / (1 - p_m))``. Losses and gradients are exact
to rounding for any finite logit (tests check float32 against float64 ``softplus`` where
``sigmoid`` underflows or rounds to 1), finite at +-1e4, and finite for focusing exponents
in (0, 1), where ``(1 - p) ** gamma`` has an infinite derivative at ``p = 1`` but the
loss's derivative has a finite limit, computed here.

:func:`binary_target` and :func:`smooth_binary_target` prepare the 0/1 (or soft) targets
of every sigmoid loss, binary cross-entropy included.

Traceable by ``torch.compile(fullgraph=True)``: no ``.item()``, no branching on tensor
values (only on Python hyper-parameters).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from .._validation import eager
from ._checks import first_order_only

__all__ = ["Asymmetric", "SigmoidFocal", "binary_target", "smooth_binary_target"]

#: ``(loss, dl/dx)``: what every block of a kernel returns.
_LossAndSlope = tuple[torch.Tensor, torch.Tensor]
#: A tensor, or a callable computing it only when it is needed.
_Lazy = torch.Tensor | Callable[[], torch.Tensor]
#: A per-element multiplier: a tensor that broadcasts, a Python float, or None for 1.
_Factor = torch.Tensor | float | None


# Every pass over a block costs about the same, so the kernels work in place, fuse with
# addcmul_ / lerp_, and compute the gradient in the same sweep as the loss. Notation:
# sp = softplus(x) = -log(1 - p), sn = softplus(-x) = -log p, q = 1 - p = sigmoid(-x).


def _power(base: torch.Tensor, neg_log_base: _Lazy, gamma: float) -> torch.Tensor | None:
    """``base ** gamma`` in a new buffer; None for ``gamma = 0`` (the factor 1).

    Fast paths for 1 to 4; otherwise ``exp(-gamma * neg_log_base)``, exact in
    log-space. ``neg_log_base`` is ``-log(base)`` or a callable returning it.

    A ``gamma`` below the smallest positive number of the base's dtype (1.4e-45 in float32)
    would round to 0 in the product, and ``inf * 0`` (at ``base = 0``) is NaN: it is raised
    to that smallest number, which gives the same powers to rounding (1 for any positive
    base) and ``0 ** gamma = 0``.
    """
    if gamma == 0.0:
        return None
    if gamma == 1.0:
        return base.clone()
    if gamma == 2.0:
        return torch.square(base)
    if gamma == 3.0:
        return torch.square(base).mul_(base)
    if gamma == 4.0:
        return torch.square(base).square_()
    if callable(neg_log_base):
        neg_log_base = neg_log_base()
    info = torch.finfo(base.dtype)
    gamma = max(gamma, info.tiny * info.eps)  # the smallest subnormal: -gamma is never -0.0
    return torch.mul(neg_log_base, -gamma).exp_()  # exp(-inf) = 0


def _sigmoid_pair(
    input: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(sp, sn, p, q)``: the sigmoids of ``x`` and ``-x`` and their negative logs.

    ``softplus(x) = -log(1 - p)``, ``softplus(-x) = -log p``, ``p = sigmoid(x)`` and
    ``q = 1 - p = sigmoid(-x)``, each exact to rounding.

    ``q`` is computed as ``sigmoid(-x)``, not ``1 - p`` (which rounds to 0 once ``p``
    rounds to 1, above x = 17 in float32), and the two logarithms from ``p`` and ``q`` by
    :func:`_neg_log_sigmoid`: together cheaper than ``softplus``, which computes ``exp``
    and ``log1p`` for each.
    """
    p = torch.sigmoid(input)
    neg_input = torch.neg(input)
    q = torch.sigmoid(neg_input)
    sn = _neg_log_sigmoid(neg_input, p, q)
    sp = _neg_log_sigmoid(input, q, p)
    return sp, sn, p, q


def binary_target(
    target: torch.Tensor, dtype: torch.dtype, ignore_index: float | None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(t, keep)``: the target with ignored entries set to 0, and the mask of the others.

    ``t`` is in ``dtype``; ``keep`` is the 0/1 float mask of the entries that are not
    ignored (None without ``ignore_index``).

    Computed once per call, for the kernel and for the mean's denominator alike. The mask
    is a float tensor: on the CPU a comparison written straight into floats and a product
    cost a tenth of a boolean mask and ``masked_fill``.
    """
    if ignore_index is None:
        return target.to(dtype), None
    if eager():
        keep = torch.ne(target, ignore_index, out=torch.empty_like(target, dtype=dtype))
    else:
        keep = torch.ne(target, ignore_index).to(dtype)
    return target.to(dtype) * keep, keep


def smooth_binary_target(target: torch.Tensor, smoothing: float) -> torch.Tensor:
    """Binary label smoothing, ``t (1 - s) + s / 2`` (``t`` itself for ``s = 0``)."""
    return target if smoothing == 0.0 else target * (1.0 - smoothing) + smoothing / 2


def _neg_log_sigmoid(neg_input: torch.Tensor, p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """``-log p = softplus(-x)`` from ``-x``, ``p = sigmoid(x)`` and ``q = sigmoid(-x)``.

    In a new buffer; with the roles of ``x``, ``p`` and ``q`` swapped, ``softplus(x)``.

    ``log1p(q / p)``, exact to rounding because ``p`` and ``q`` are. Where ``q / p = exp(-x)``
    overflows (or nearly: ``-x`` above ``log(max) - 1``), ``softplus(-x) = -x`` to rounding:
    the value is capped below that bound and then raised to ``-x`` (``softplus(-x) >= -x``
    everywhere, so the raise changes nothing elsewhere).
    """
    bound = math.log(torch.finfo(p.dtype).max) - 1.0
    neg_log_p = torch.div(q, p).log1p_().clamp_(max=bound)
    return torch.maximum(neg_log_p, neg_input, out=neg_log_p)


def _positive_part(
    sn: torch.Tensor,
    p: torch.Tensor,
    q: torch.Tensor,
    gamma: float,
    modulator: torch.Tensor | None,
) -> _LossAndSlope:
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


def _positive_modulator(q: torch.Tensor, sp: _Lazy, gamma: float) -> torch.Tensor | None:
    """``(1-p)^g`` for :func:`_positive_part`, None where it works in place."""
    return None if gamma in (0.0, 1.0, 2.0) else _power(q, sp, gamma)


def _negative_part(
    sp: torch.Tensor,
    p: torch.Tensor,
    q: torch.Tensor,
    gamma: float,
    modulator: torch.Tensor | None,
) -> _LossAndSlope:
    """``L- = p^g sp`` (in sp's buffer) and ``dL-/dx = p^g (p + g q sp)``.

    ``modulator`` is ``p^g``, or None for ``g = 0``.
    """
    if modulator is None:
        return sp, p
    term = sp.mul_(modulator)
    return term, modulator.mul_(p).addcmul_(q, term, value=gamma)


def _combine(
    term_pos: torch.Tensor,
    term_neg: torch.Tensor,
    slope_pos: torch.Tensor,
    slope_neg: torch.Tensor,
    target: torch.Tensor,
    keep: torch.Tensor | None,
    out: _LossAndSlope | None,
    negated: bool = False,
) -> _LossAndSlope:
    """``loss = t L+ + (1-t) L-`` and ``grad = -t slope_pos + (1-t) slope_neg``.

    Written to the pair of tensors ``out``, or in place in the buffers of ``term_neg`` and
    ``slope_neg`` when ``out`` is None (``slope_pos`` is ``-dL+/dx``, or already ``dL+/dx``
    when ``negated``).
    """
    if not negated:
        slope_pos = slope_pos.neg_()
    if out is None:
        loss = term_neg.lerp_(term_pos, target)
        grad = slope_neg.lerp_(slope_pos, target)
    else:
        loss = torch.lerp(term_neg, term_pos, target, out=out[0])
        grad = torch.lerp(slope_neg, slope_pos, target, out=out[1])
    if keep is not None:
        loss.mul_(keep)
        grad.mul_(keep)
    return loss, grad


# Elements per thread in one block of the CPU sweep. A kernel makes some twenty passes over
# a dozen block-sized temporaries; at 2^16 float32 elements (256 KiB each) they stay in the
# core's cache instead of streaming the whole logits through memory on every pass, which
# made the sweep 1.3x to 3.3x as fast on the shapes measured (docs/imbalance-losses.md).
_BLOCK = 1 << 16


def _sweep(
    block: Callable[..., _LossAndSlope],
    input: torch.Tensor,
    target: torch.Tensor,
    keep: torch.Tensor | None,
    *args: object,
) -> _LossAndSlope:
    """``(loss, dl/dx)`` of ``block(input, target, keep, *args)``, over blocks of rows.

    Blocks only on the CPU in eager mode and only when the input is larger than one block;
    elsewhere (an accelerator, ``torch.compile``, which fuses the passes itself) ``block``
    runs once on the whole input. The result is the same either way: every kernel is
    elementwise.
    """
    if input.device.type != "cpu" or not eager():
        return block(input, target, keep, *args, out=None)
    budget = _BLOCK * torch.get_num_threads()
    if input.numel() <= budget:
        return block(input, target, keep, *args, out=None)
    rows = max(1, budget // (input.numel() // input.shape[0]))
    loss = torch.empty_like(input, memory_format=torch.contiguous_format)
    grad = torch.empty_like(loss)
    for start in range(0, input.shape[0], rows):
        part = slice(start, start + rows)
        block_keep = None if keep is None else keep[part]
        block(input[part], target[part], block_keep, *args, out=(loss[part], grad[part]))
    return loss, grad


def _sigmoid_focal_block(
    input: torch.Tensor,
    target: torch.Tensor,
    keep: torch.Tensor | None,
    pos: _Factor,
    neg: _Factor,
    gamma: float,
    smoothing: float,
    out: _LossAndSlope | None,
) -> _LossAndSlope:
    """One block of :class:`SigmoidFocal`: its ``(loss, dl/dx)``."""
    t = smooth_binary_target(target, smoothing)
    sp, sn, p, q = _sigmoid_pair(input)
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
    return _combine(term_pos, term_neg, slope_pos, slope_neg, t, keep, out, negated=pos is not None)


def _save_slope(ctx: Any, loss: torch.Tensor, slope: torch.Tensor) -> torch.Tensor:
    """Keep ``dl/dx`` (the only tensor backward needs) and return the loss."""
    ctx.save_for_backward(slope)
    return loss


def _slope_backward(
    ctx: Any, grad_output: torch.Tensor, what: str, *, inputs: int
) -> tuple[torch.Tensor | None, ...]:
    """``grad_output * dl/dx`` for the input, None for the other ``inputs - 1`` arguments."""
    first_order_only(what)
    (slope,) = ctx.saved_tensors
    return (grad_output * slope,) + (None,) * (inputs - 1)


class SigmoidFocal(torch.autograd.Function):
    """Elementwise ``a t (1-p)^g (-log p) + b (1-t) p^g (-log(1-p))``, ``p = sigmoid(x)``.

    ``a`` (positive-term multiplier) and ``b`` (negative-term multiplier) broadcast against
    ``x`` along dim 1 or are None (1). ``target`` and ``keep`` come from
    :func:`binary_target`: ``t`` is smoothed by ``smoothing`` here, and elements with
    ``keep = 0`` give loss 0 and gradient 0. Saves only ``dl/dx``.
    """

    @staticmethod
    def forward(
        ctx: Any,
        input: torch.Tensor,
        target: torch.Tensor,
        keep: torch.Tensor | None,
        pos: _Factor,
        neg: _Factor,
        gamma: float,
        smoothing: float,
    ) -> torch.Tensor:
        """The elementwise loss; saves only its derivative."""
        return _save_slope(
            ctx, *_sweep(_sigmoid_focal_block, input, target, keep, pos, neg, gamma, smoothing)
        )

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        """``grad_output`` times the saved derivative."""
        return _slope_backward(ctx, grad_output, "the sigmoid focal loss", inputs=7)


def _asymmetric_block(
    input: torch.Tensor,
    t: torch.Tensor,
    keep: torch.Tensor | None,
    gamma_pos: float,
    gamma_neg: float,
    clip: float,
    out: _LossAndSlope | None,
) -> _LossAndSlope:
    """One block of :class:`Asymmetric`: its ``(loss, dl/dx)``."""
    if clip == 0.0:
        sp, sn, p, q = _sigmoid_pair(input)
        mod_pos = _positive_modulator(q, sp, gamma_pos)
        mod_neg = _power(p, sn, gamma_neg)
        term_neg, slope_neg = _negative_part(sp, p, q, gamma_neg, mod_neg)
        term_pos, slope_pos = _positive_part(sn, p, q, gamma_pos, mod_pos)
        return _combine(term_pos, term_neg, slope_pos, slope_neg, t, keep, out)
    p = torch.sigmoid(input)
    neg_input = torch.neg(input)
    q = torch.sigmoid(neg_input)  # 1 - p, to full relative precision as p -> 1
    sn = _neg_log_sigmoid(neg_input, p, q)
    del neg_input
    term_neg, slope_neg = _clipped_negative_part(p, q, clip, gamma_neg)
    mod_pos = _positive_modulator(q, lambda: torch.log(q).neg_(), gamma_pos)
    term_pos, slope_pos = _positive_part(sn, p, q, gamma_pos, mod_pos)
    return _combine(term_pos, term_neg, slope_pos, slope_neg, t, keep, out)


def _clipped_negative_part(
    p: torch.Tensor, q: torch.Tensor, clip: float, gamma: float
) -> _LossAndSlope:
    """``L- = -p_m^g log(1 - p_m)`` and ``dL-/dx``, ``p_m = max(p - clip, 0)``, new buffers.

    With ``r = p_m / (1 - p_m)`` (finite: ``1 - p_m >= clip``), ``-log(1 - p_m) =
    log1p(r)`` and ``dL-/dx = p q p_m^(g-1) (g log1p(r) + r)`` where ``p > clip``, 0
    elsewhere. For ``g < 1``, ``p_m^(g-1)`` is infinite at ``p_m = 0``; there the factor
    is ``L- / p_m``, which stays finite (``L- / p_m -> 0`` as ``p_m -> 0``).
    """
    p_m = F.softshrink(p, clip)  # p - clip above clip, 0 below (p >= 0)
    ratio = torch.rsub(p_m, 1.0)
    ratio = torch.div(p_m, ratio, out=ratio)
    neg_log = torch.log1p(ratio)
    if gamma >= 1.0:
        lower = _power(p_m, lambda: torch.log(p_m).neg_(), gamma - 1.0)  # None for g = 1
        slope = ratio.add_(neg_log, alpha=gamma)
        if lower is not None:
            slope.mul_(lower)
            neg_log.mul_(lower)
        term = neg_log.mul_(p_m)
    else:
        modulator = _power(p_m, lambda: torch.log(p_m).neg_(), gamma)
        if modulator is None:  # gamma = 0: p_m ** 0, which is 0 where p_m = 0
            modulator = torch.sign(p_m)
        term = neg_log.mul_(modulator)
        slope = ratio.add_(1.0).mul_(modulator)  # p_m^g / (1 - p_m)
        if gamma != 0.0:
            tiny = torch.finfo(p_m.dtype).tiny
            slope.add_(torch.div(term, p_m.clamp_(min=tiny)), alpha=gamma)
    return term, slope.mul_(p).mul_(q)


class Asymmetric(torch.autograd.Function):
    """Elementwise asymmetric loss (Ridnik et al. 2021) with the exact gradient.

    ``l = -t (1-p)^gp log p - (1-t) p_m^gn log(1 - p_m)``, ``p_m = max(p - clip, 0)``;
    ``target`` and ``keep`` as for :class:`SigmoidFocal`. Saves only ``dl/dx``.
    """

    @staticmethod
    def forward(
        ctx: Any,
        input: torch.Tensor,
        target: torch.Tensor,
        keep: torch.Tensor | None,
        gamma_pos: float,
        gamma_neg: float,
        clip: float,
    ) -> torch.Tensor:
        """The elementwise loss; saves only its derivative."""
        return _save_slope(
            ctx, *_sweep(_asymmetric_block, input, target, keep, gamma_pos, gamma_neg, clip)
        )

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        """``grad_output`` times the saved derivative."""
        return _slope_backward(ctx, grad_output, "the asymmetric loss", inputs=6)
