"""LDAM loss and deferred re-weighting (Cao et al. 2019).

**LDAM** (label-distribution-aware margin). Each class gets a margin that shrinks with its
count, ``m_c = max_margin * (min_c' n_c' / n_c) ** (1/4)`` (proportional to ``n_c^(-1/4)``,
the largest margin, that of the rarest class, equal to ``max_margin``). The margin of the
target class is subtracted from its logit and the result, scaled by ``s``, goes through
cross-entropy:

    z_ic = s * (x_ic - m_{y_i} * [c == y_i]),      l_i = CE(z_i, y_i)

with class weights, sample weights, ``ignore_index``, ``label_smoothing`` and the weighted
``"mean"`` of :func:`~underdog.cross_entropy`. Targets are class indices (the margin needs
one). Defaults follow the reference code: ``max_margin=0.5``, ``scale=30``. With
``max_margin=0`` and ``scale=1`` the loss is cross-entropy.

**DRW** (deferred re-weighting) is the schedule
:class:`~underdog.losses.schedules.DeferredReweighting` (also importable from here), which
sets the ``weight`` buffer of this loss, or of any underdog loss that has one.

References:
    K. Cao, C. Wei, A. Gaidon, N. Arechiga, T. Ma, "Learning Imbalanced Datasets with
    Label-Distribution-Aware Margin Loss", NeurIPS 2019 (code: kaidic/LDAM-DRW).
"""

from __future__ import annotations

import torch

from .._validation import check_counts, check_real
from ._base import FromCounts
from ._reduction import cross_entropy_weight_sum
from ._softmax_kernel import shifted_cross_entropy
from .schedules import DeferredReweighting

__all__ = ["DeferredReweighting", "LDAMLoss", "ldam_cross_entropy", "ldam_margins"]


def ldam_margins(
    counts: object, *, max_margin: float = 0.5, owner: str = "ldam_margins"
) -> torch.Tensor:
    """Per-class LDAM margins ``max_margin * (min(n) / n_c) ** (1/4)``, float64 ``(C,)``.

    Args:
        counts: positive class counts ``(C,)``.
        max_margin: the largest margin, that of the rarest class, in ``[0, inf)``.
        owner: the public function or class named in error messages.

    Returns:
        A float64 tensor of shape ``(C,)``.

    Raises:
        DataError: a class with count 0 (its margin would be infinite).
        InvalidParameterError: bad counts or a negative ``max_margin``.

    Example:
        >>> ldam_margins([10000, 625, 16])
        tensor([0.1000, 0.2000, 0.5000], dtype=torch.float64)
    """
    max_margin = check_real(max_margin, name="max_margin", owner=owner, low=0.0)
    why = ", since an LDAM margin grows as n_c ** (-1/4)"
    counts64 = check_counts(counts, owner=owner, positive=True, why=why)
    inverse = counts64.pow(-0.25)
    return inverse * (max_margin / inverse.max())


def ldam_cross_entropy(
    input: torch.Tensor,
    target: torch.Tensor,
    *,
    counts: object,
    max_margin: float = 0.5,
    scale: float = 30.0,
    weight: torch.Tensor | None = None,
    sample_weight: torch.Tensor | None = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
) -> torch.Tensor:
    """LDAM loss: cross-entropy of ``scale * (x - m_y * onehot(y))``.

    Args:
        input: logits ``(N, C)`` or ``(N, C, d1, ...)``.
        target: int64 class indices ``(N,)`` or ``(N, d1, ...)``.
        counts: positive class counts ``(C,)``; checked on every call (this reads their
            values), so in a training loop prefer :class:`LDAMLoss`, which checks them once.
        max_margin: the largest margin, that of the rarest class (reference: 0.5).
        scale: the logit scale ``s`` in ``(0, inf)`` (reference: 30).
        weight: per-class weights ``(C,)``.
        sample_weight: per-sample weights ``(N,)`` or the target's shape.
        ignore_index: class-index target value that is skipped (loss 0, not in the mean).
        label_smoothing: ``eps`` in ``[0, 1]``.
        reduction: ``"mean"`` (weighted mean), ``"sum"`` or ``"none"``.

    Returns:
        A scalar, or for ``"none"`` a tensor shaped like ``target``.

    Shape:
        input ``(N, C, *)``, target ``(N, *)``, counts and weight ``(C,)``.

    Raises:
        DataError: a zero count; a class index outside ``[0, C)`` (checked on CPU).
        InvalidParameterError: bad ``counts``, ``max_margin`` or ``scale``.
        ShapeError: probability targets or shapes that do not fit.

    References:
        Cao et al., "Learning Imbalanced Datasets with Label-Distribution-Aware Margin
        Loss", NeurIPS 2019.

    Example:
        >>> x = torch.tensor([[0.2, 0.0], [0.0, 0.1]])
        >>> ldam_cross_entropy(x, torch.tensor([0, 1]), counts=[100, 10])
        tensor(7.2595)
    """
    owner = "ldam_cross_entropy"
    scale = check_real(scale, name="scale", owner=owner, low=0.0, closed="right")
    return shifted_cross_entropy(
        input,
        target,
        margins=ldam_margins(counts, max_margin=max_margin, owner=owner),
        scale=scale,
        weight=weight,
        sample_weight=sample_weight,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        reduction=reduction,
        owner=owner,
    )


class LDAMLoss(FromCounts):
    """Module form of :func:`ldam_cross_entropy`; ``margins`` and ``weight`` are buffers.

    Args:
        counts: positive class counts ``(C,)``.
        max_margin: largest margin (reference: 0.5).
        scale: logit scale ``s`` (reference: 30).
        weight: optional class weights ``(C,)``; :class:`DeferredReweighting` sets them.
        ignore_index, label_smoothing, reduction: as for the function.

    Example:
        >>> loss = LDAMLoss.from_labels(torch.tensor([0] * 16 + [1]))
        >>> loss.margins
        tensor([0.2500, 0.5000])
    """

    margins: torch.Tensor
    weight: torch.Tensor | None
    _loss = staticmethod(shifted_cross_entropy)
    _forwarded = ("margins", "scale", "weight", "ignore_index", "label_smoothing", "reduction")
    _names_itself = True
    _weight_sum = staticmethod(cross_entropy_weight_sum)
    _summed = ("weight", "ignore_index")
    _shown = ("max_margin", "scale", "ignore_index", "label_smoothing", "reduction")

    def __init__(
        self,
        *,
        counts: object,
        max_margin: float = 0.5,
        scale: float = 30.0,
        weight: object = None,
        ignore_index: int = -100,
        label_smoothing: float = 0.0,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        owner = self._set_options(
            reduction=reduction, ignore_index=ignore_index, label_smoothing=label_smoothing
        )
        self.scale = check_real(scale, name="scale", owner=owner, low=0.0, closed="right")
        margins = ldam_margins(counts, max_margin=max_margin, owner=owner)
        self.max_margin = float(max_margin)
        self.register_buffer("margins", margins.to(torch.get_default_dtype()))
        self._register_weight("weight", weight, length=margins.numel())
