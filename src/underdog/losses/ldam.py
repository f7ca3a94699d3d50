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

**DRW** (deferred re-weighting). Train unweighted, then from ``start_epoch`` on weight the
classes by the effective number of samples (Cui et al. 2019) with ``beta`` (reference:
0.9999 from epoch 160 of 200), normalised to sum to ``C``. :class:`DeferredReweighting` is
that schedule as a small object that sets the ``weight`` buffer of any underdog loss that
has one (cross-entropy, focal, LDAM, logit-adjusted, ...); the loss's ``forward`` never
changes the module.

References:
    K. Cao, C. Wei, A. Gaidon, N. Arechiga, T. Ma, "Learning Imbalanced Datasets with
    Label-Distribution-Aware Margin Loss", NeurIPS 2019 (code: kaidic/LDAM-DRW).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .._validation import check_int, check_real, check_vector
from ..exceptions import DataError, InvalidParameterError, ShapeError
from ..weights import class_weight
from ._common import shape_str
from ._constructors import ClassWeightedMean, FromCounts, LossModule
from ._shared import shifted_cross_entropy

__all__ = ["DeferredReweighting", "LDAMLoss", "ldam_cross_entropy", "ldam_margins"]


def ldam_margins(counts: Any, *, max_margin: float = 0.5, owner: str = "ldam_margins"):
    """Per-class LDAM margins ``max_margin * (min(n) / n_c) ** (1/4)``, float64 ``(C,)``.

    Raises:
        DataError: a class with count 0 (its margin would be infinite).
        InvalidParameterError: bad counts or a negative ``max_margin``.

    Example:
        >>> ldam_margins([10000, 625, 16])
        tensor([0.1000, 0.2000, 0.5000], dtype=torch.float64)
    """
    max_margin = check_real(max_margin, name="max_margin", owner=owner, low=0.0)
    counts64 = check_vector(counts, name="counts", owner=owner).to(torch.float64).cpu()
    absent = (counts64 == 0).nonzero().reshape(-1).tolist()
    if absent:
        raise DataError(
            f"The 'counts' parameter of {owner} must be positive for every class, since an "
            f"LDAM margin grows as n_c ** (-1/4); classes {absent[:10]}"
            f"{' ...' if len(absent) > 10 else ''} have no samples."
        )
    inverse = counts64.pow(-0.25)
    return inverse * (max_margin / inverse.max())


def _ldam(input: torch.Tensor, target: torch.Tensor, margins: torch.Tensor, **kwargs: Any):
    """Cross-entropy of ``scale * (x - m_y onehot(y))`` (see :func:`shifted_cross_entropy`)."""
    return shifted_cross_entropy(input, target, margins=margins, **kwargs)


def ldam_cross_entropy(
    input: torch.Tensor,
    target: torch.Tensor,
    *,
    counts: Any,
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
        weight, sample_weight, ignore_index, label_smoothing, reduction: as for
            :func:`~underdog.cross_entropy`.

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
    margins = ldam_margins(counts, max_margin=max_margin, owner=owner)
    return _ldam(
        input,
        target,
        margins,
        scale=scale,
        weight=weight,
        sample_weight=sample_weight,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        reduction=reduction,
        owner=owner,
    )


class LDAMLoss(ClassWeightedMean, FromCounts, LossModule):
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
    _forwarded = ("scale", "weight", "ignore_index", "label_smoothing", "reduction")
    _shown = ("max_margin", "scale", "ignore_index", "label_smoothing", "reduction")

    def __init__(
        self,
        *,
        counts: Any,
        max_margin: float = 0.5,
        scale: float = 30.0,
        weight: Any = None,
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

    def forward(
        self,
        input: torch.Tensor,
        target: torch.Tensor,
        *,
        sample_weight: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return _ldam(
            input, target, self.margins, sample_weight=sample_weight, owner=self._owner,
            **self.options(),
        )  # fmt: skip


class DeferredReweighting:
    """Deferred re-weighting (DRW): class weights 1 before ``start_epoch``, then
    effective-number weights (Cui et al. 2019) normalised to sum to ``C``.

    The weights come from :func:`underdog.class_weight` with ``scheme="effective"`` and
    ``normalize="mean"``, exactly the reference's ``(1 - beta) / (1 - beta ** n_c)`` scaled
    to sum to ``C``.

    Args:
        counts: class counts ``(C,)`` (all positive).
        start_epoch: first epoch (0-based) that uses the re-weighted classes
            (reference: 160 of 200).
        beta: effective-number parameter in ``[0, 1)`` (reference: 0.9999).

    Example:
        >>> drw = DeferredReweighting([100, 10], start_epoch=2, beta=0.99)
        >>> drw.weight_for(0)
        tensor([1., 1.])
        >>> drw.weight_for(2)
        tensor([0.2621, 1.7379])
        >>> loss = LDAMLoss(counts=[100, 10])
        >>> drw.step(loss, epoch=2)  # sets loss.weight
        >>> loss.weight
        tensor([0.2621, 1.7379])
    """

    def __init__(self, counts: Any, *, start_epoch: int, beta: float = 0.9999) -> None:
        owner = type(self).__name__
        self.start_epoch = check_int(start_epoch, name="start_epoch", owner=owner, low=0)
        self.beta = check_real(beta, name="beta", owner=owner, low=0.0, high=1.0, closed="left")
        self.weight = class_weight(counts, scheme="effective", beta=self.beta, normalize="mean")
        self.num_classes = self.weight.numel()

    def weight_for(self, epoch: int) -> torch.Tensor:
        """The class weights ``(C,)`` to use in ``epoch``."""
        epoch = check_int(epoch, name="epoch", owner=type(self).__name__, low=0)
        if epoch < self.start_epoch:
            return torch.ones_like(self.weight)
        return self.weight.clone()

    def step(self, loss: nn.Module, *, epoch: int) -> None:
        """Set ``loss.weight`` (a buffer) to :meth:`weight_for` ``(epoch)``, in place when
        it already holds a tensor of the right shape (no recompilation under
        ``torch.compile``), on the buffer's device and dtype.
        """
        owner = f"{type(self).__name__}.step"
        if "weight" not in getattr(loss, "_buffers", {}):
            raise InvalidParameterError(
                f"The 'loss' parameter of {owner} must be a module with a 'weight' buffer "
                f"(an underdog loss such as LDAMLoss). Got {type(loss).__name__} instead."
            )
        weight = self.weight_for(epoch)
        current = loss.weight
        if current is None:
            like = next(loss.buffers(), None)  # the loss's device and floating dtype
            if like is not None and like.is_floating_point():
                weight = weight.to(dtype=like.dtype, device=like.device)
            loss.weight = weight
        elif current.shape == weight.shape:
            with torch.no_grad():
                current.copy_(weight)
        else:
            raise ShapeError(
                f"The 'weight' buffer of the loss passed to {owner} has shape "
                f"{shape_str(current.shape)}; the schedule has {self.num_classes} classes."
            )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(num_classes={self.num_classes}, "
            f"start_epoch={self.start_epoch}, beta={self.beta})"
        )
