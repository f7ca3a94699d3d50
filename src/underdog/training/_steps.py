"""The optimizer step of :func:`~underdog.training.fit`, and its early-stopping state.

Here are one optimizer step over its micro-batches and the early-stopping state that keeps
the best weights (the evaluation is in :mod:`~underdog.training.evaluation`).

**The loss of a step.** A loss whose ``reduction`` is ``"mean"`` and which offers
``weight_sum(target, sample_weight=...)`` (every underdog loss) is the weighted mean of the
*whole step*: with ``R`` ranks and micro-batches ``m`` of weight sums ``e_m`` and losses
``l_m`` (their own weighted means), the step's loss is ``sum_{r,m} l_m e_m / E`` with ``E =
sum_{r,m} e_m``, all-reduced once per step. Each micro-batch differentiates ``R * l_m e_m /
E`` (DDP averages the ranks' gradients; accumulation sums the micro-batches'), which is the
gradient one process would get on all the step's rows at once
(:class:`~underdog.losses.GlobalMean` does the same in a hand-written loop). A loss with
``reduction="sum"`` differentiates ``R * l_m``: the sum over the step. Any other callable
is differentiated as it is, which is only the step's loss with one micro-batch on one
process.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ..exceptions import InvalidParameterError
from .data import Batch, call_model

__all__ = ["EarlyStopping", "Objective", "StepRunner", "autocast"]

#: ``precision`` -> the autocast dtype (None: no autocast).
PRECISIONS: dict[str, torch.dtype | None] = {
    "32": None,
    "bf16": torch.bfloat16,
    "fp16": torch.float16,
}


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager[Any]:
    """The autocast context of ``precision`` on ``device`` (a null context for ``"32"``)."""
    dtype = PRECISIONS[precision]
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


class Objective:
    """How a loss's values make the step's loss: ``"mean"``, ``"sum"`` or ``"plain"``."""

    def __init__(self, loss: Callable[..., torch.Tensor]) -> None:
        self.loss = loss
        reduction = getattr(loss, "reduction", None)
        weighted = callable(getattr(loss, "weight_sum", None))
        if reduction == "sum":
            self.kind = "sum"
        elif reduction == "mean" and weighted:
            self.kind = "mean"
        elif reduction == "none":
            raise InvalidParameterError(
                "The 'loss' parameter of fit must reduce to a scalar. Got a loss with "
                "reduction='none' instead."
            )
        else:
            self.kind = "plain"

    def check(self, *, world: int, accumulate: int, sample_weights: bool) -> None:
        """Raise when this loss cannot give the step's loss with these ranks and batches.

        That is a plain loss with several ranks or micro-batches, or sample weights with a
        loss that takes none.

        Raises:
            InvalidParameterError: the loss cannot give the step's loss.
        """
        if self.kind == "plain" and (world > 1 or accumulate > 1):
            raise InvalidParameterError(
                "The 'loss' parameter of fit must offer weight_sum(target) (every underdog "
                "loss does), or reduce with reduction='sum', to take the weighted mean of a "
                f"step over {world} rank(s) and {accumulate} micro-batch(es). Got "
                f"{type(self.loss).__name__} instead."
            )
        if sample_weights and not callable(getattr(self.loss, "weight_sum", None)):
            raise InvalidParameterError(
                "The 'loss' parameter of fit must take sample_weight (an underdog loss) when "
                f"the data carries sample weights. Got {type(self.loss).__name__} instead."
            )

    def value(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        """The loss of one micro-batch (its own weighted mean, or sum)."""
        if batch.sample_weight is None:
            return self.loss(logits, batch.target)
        return self.loss(logits, batch.target, sample_weight=batch.sample_weight)

    def weight(self, batch: Batch) -> torch.Tensor:
        """``e_m``, the micro-batch's weight sum (a ``"mean"`` loss only)."""
        weight_sum = self.loss.weight_sum  # type: ignore[attr-defined]
        if batch.sample_weight is None:
            return torch.as_tensor(weight_sum(batch.target))
        return torch.as_tensor(weight_sum(batch.target, sample_weight=batch.sample_weight))


@dataclass
class StepRunner:
    """Runs optimizer steps: forward, the step's loss, backward, clipping, the update."""

    net: nn.Module
    objective: Objective
    optimizer: torch.optim.Optimizer
    device: torch.device
    world: int = 1
    precision: str = "32"
    grad_clip: float | None = None
    scheduler: Any = None  # stepped after every optimizer step when not None
    scaler: Any = None  # torch.amp.GradScaler for fp16
    forward: Callable[..., torch.Tensor] | None = None  # the compiled net, when compiled
    steps: int = 0

    def step(self, micro: Sequence[Batch]) -> torch.Tensor:
        """One optimizer step over this rank's micro-batches; returns the step's loss.

        The loss returned is this rank's share of it under data parallelism, detached, on
        the device.
        """
        # e_m of each micro-batch (a "mean" loss only), computed once for E and the shares.
        weights = (
            [self.objective.weight(batch) for batch in micro]
            if self.objective.kind == "mean"
            else None
        )
        denominator = None if weights is None else self._denominator(weights)
        reported = torch.zeros((), device=self.device)
        for index, batch in enumerate(micro):
            last = index == len(micro) - 1
            with self._no_sync(last):
                with autocast(self.precision, self.device):
                    logits = call_model(self.forward or self.net, batch.inputs)
                value = self.objective.value(logits, batch)
                if weights is None:  # "sum": the step's sum; "plain": its own value
                    summed = self.objective.kind == "sum"
                    contribution, share = (value * self.world if summed else value), value
                else:
                    assert denominator is not None
                    contribution, share = self._share(value, weights[index], denominator)
                self._backward(contribution)
            reported += share.detach()
        self._update()
        return reported

    def _denominator(self, weights: Sequence[torch.Tensor]) -> torch.Tensor:
        """``E``, the step's weight sum over the micro-batches and the ranks (not 0)."""
        total = sum((weight.to(self.device, torch.float64) for weight in weights),
                    torch.zeros((), device=self.device, dtype=torch.float64))  # fmt: skip
        if self.world > 1:
            total = total.clone()
            torch.distributed.all_reduce(total)  # one collective per step
        # A step whose every element is ignored contributes nothing (and no 0 / 0).
        return torch.where(total > 0, total, torch.ones_like(total))

    def _share(
        self, value: torch.Tensor, weight: torch.Tensor, denominator: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """What a ``"mean"`` loss differentiates, and its share: ``R l_m e_m / E, l_m e_m / E``."""
        weight = weight.to(value.device, value.dtype)
        summed = torch.where(weight > 0, value * weight, torch.zeros_like(value))
        share = summed / denominator.to(value.dtype)
        return share * self.world, share

    def _no_sync(self, last: bool) -> contextlib.AbstractContextManager[Any]:
        """DDP's ``no_sync`` for every micro-batch but the step's last one."""
        no_sync = getattr(self.net, "no_sync", None)
        if last or self.world == 1 or no_sync is None:
            return contextlib.nullcontext()
        context: contextlib.AbstractContextManager[Any] = no_sync()
        return context

    def _backward(self, contribution: torch.Tensor) -> None:
        if self.scaler is not None:
            contribution = self.scaler.scale(contribution)
        torch.autograd.backward(contribution)

    def _update(self) -> None:
        if self.grad_clip is not None:
            if self.scaler is not None:
                self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.net.parameters(), self.grad_clip)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        if self.scheduler is not None:
            self.scheduler.step()
        self.steps += 1


def grouped(batches: Iterator[Batch], size: int) -> Iterator[list[Batch]]:
    """Consecutive groups of ``size`` batches (the last group may be smaller)."""
    group: list[Batch] = []
    for batch in batches:
        group.append(batch)
        if len(group) == size:
            yield group
            group = []
    if group:
        yield group


@dataclass
class EarlyStopping:
    """The best validation score so far, its epoch and (with ``patience``) its weights.

    A score of NaN is never the best.
    """

    patience: int | None
    has_val: bool
    best_score: float = -np.inf
    best_epoch: int = 0
    best_state: dict[str, torch.Tensor] | None = field(default=None, repr=False)

    def update(self, model: nn.Module, epoch: int, score: float) -> None:
        """Record ``epoch`` (from 1) with ``score``; keep the weights when it is the best."""
        if not self.has_val or (not math.isnan(score) and score > self.best_score):
            self.best_score, self.best_epoch = score, epoch
            if self.patience is not None and self.has_val:
                self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def patience_exhausted(self, epoch: int) -> bool:
        """True after ``patience`` epochs without a better score."""
        if self.patience is None or not self.has_val:
            return False
        return epoch - self.best_epoch >= self.patience

    def restore(self, model: nn.Module) -> None:
        """Load the best weights into ``model`` (nothing without early stopping)."""
        if self.best_state is not None:
            model.load_state_dict(self.best_state)
