"""A weighted mean over the whole optimisation step: every rank, every micro-batch.

A loss's ``"mean"`` divides by the weight sum ``sum_i e_i`` of its own batch. Under
``DistributedDataParallel`` each rank divides by its *local* sum and DDP then averages the
gradients, and with gradient accumulation each micro-batch divides by its own sum: neither
is the gradient of the full batch once the weights (or the number of ignored elements)
differ between shards. :class:`GlobalMean` fixes the denominator instead.

With ``R`` ranks and ``k`` micro-batches per step, the full-batch loss is
``L = sum_{r,m} S_{r,m} / E`` with ``S_{r,m} = sum_{i in (r,m)} l_i`` (the loss with
``reduction="sum"``) and ``E = sum_{r,m} sum_{i in (r,m)} e_i``. DDP averages gradients over
ranks and accumulation sums them over micro-batches, so each micro-batch's loss is

    loss_{r,m} = R * S_{r,m} / E

with ``E`` all-reduced once per step from the targets of all its micro-batches. A step
whose every element is ignored (``E = 0``) gives ``nan`` with a zero gradient, as a loss's
own ``"mean"`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

import torch
from torch import nn

from .. import _dist
from .._validation import check_int, message
from ..exceptions import InvalidParameterError
from ._reduction import weighted_mean

__all__ = ["GlobalMean"]


class GlobalMean(nn.Module):
    """Wrap a loss so that its weighted mean spans all ranks and micro-batches of a step.

    Args:
        loss: an underdog loss Module built with ``reduction="sum"`` (it must offer
            ``weight_sum(target, sample_weight=...)``, as every underdog loss does).
        world_size: the number ``R`` of ranks whose gradients DDP averages; defaults to the
            size of ``group`` when ``torch.distributed`` is initialised, else 1. Pass 1 if
            you sum gradients across ranks yourself.
        group: the process group to all-reduce over (default: the world).

    Example:
        >>> import underdog
        >>> criterion = GlobalMean(underdog.CrossEntropyLoss(reduction="sum"))
        >>> micro = [(torch.randn(4, 3), torch.tensor([0, 1, 2, 2])),
        ...          (torch.randn(4, 3), torch.tensor([1, 1, 0, -100]))]
        >>> denominator = criterion.denominator([y for _, y in micro])
        >>> denominator
        tensor(7.)
        >>> losses = [criterion(x, y, denominator=denominator) for x, y in micro]
    """

    def __init__(
        self,
        loss: nn.Module,
        *,
        world_size: int | None = None,
        group: torch.distributed.ProcessGroup | None = None,
    ) -> None:
        super().__init__()
        owner = "GlobalMean"
        if not callable(getattr(loss, "weight_sum", None)):
            raise InvalidParameterError(
                message(
                    "loss",
                    owner,
                    must="be an underdog loss with a weight_sum method",
                    got=type(loss).__name__,
                )
            )
        reduction = getattr(loss, "reduction", None)
        if reduction != "sum":
            raise InvalidParameterError(
                message(
                    "loss",
                    owner,
                    must="be built with reduction='sum'",
                    got=f"reduction={reduction!r}",
                )
            )
        if world_size is not None:
            world_size = check_int(
                world_size, name="world_size", owner=owner, low=1, high=2**31 - 1
            )
        self.loss = loss
        self.group = group
        self._world_size = world_size

    @property
    def world_size(self) -> int:
        """``R``: the number of ranks whose gradients DDP averages."""
        return self._world_size if self._world_size is not None else _dist.world_size(self.group)

    def denominator(
        self,
        targets: torch.Tensor | Sequence[torch.Tensor],
        *,
        sample_weights: torch.Tensor | Sequence[torch.Tensor | None] | None = None,
    ) -> torch.Tensor:
        """``E``: the weight sum of this rank's micro-batches, all-reduced over the ranks.

        Call it on every rank, once per step, with the targets of all micro-batches of the
        step (a tensor for a step without accumulation).
        """
        if isinstance(targets, torch.Tensor):
            targets = [targets]
        if isinstance(sample_weights, torch.Tensor):  # the one target's
            sample_weights = [sample_weights]
        if sample_weights is None:
            sample_weights = [None] * len(targets)
        if len(sample_weights) != len(targets):
            raise InvalidParameterError(
                message(
                    "sample_weights",
                    "GlobalMean.denominator",
                    must="have one entry per target",
                    got=f"{len(sample_weights)} entries for {len(targets)} targets",
                )
            )
        weight_sum = cast(Callable[..., torch.Tensor], self.loss.weight_sum)
        total = sum(
            (
                weight_sum(target, sample_weight=weight)
                for target, weight in zip(targets, sample_weights, strict=True)
            ),
            torch.tensor(0),  # as Python's 0: the sums' dtype and device win
        )
        if _dist.world_size(self.group) > 1:
            total = total.clone()
            torch.distributed.all_reduce(total, group=self.group)
        return total

    def forward(
        self,
        input: torch.Tensor,
        target: torch.Tensor,
        *,
        denominator: torch.Tensor,
        sample_weight: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``R * S / E``: the summed loss of this micro-batch over the step's ``denominator``."""
        summed: torch.Tensor = self.loss(input, target, sample_weight=sample_weight)
        return weighted_mean(summed * self.world_size, denominator.to(summed.dtype))
