"""The steps of :func:`~underdog.training.loop`: one epoch of training, one evaluation, and
the early-stopping state that keeps the best weights.

Every rank of data-parallel training holds the whole data and draws the same batches;
rank ``r`` of ``R`` computes positions ``r, r + R, ...`` of each batch (see
:func:`global_mean_backward`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ._tensors import batched_logits

__all__ = ["EarlyStopping", "evaluate", "epoch_order", "global_mean_backward", "train_epoch"]


def epoch_order(
    num_rows: int, sampler: Iterable[int] | None, generator: torch.Generator, epoch: int
) -> torch.Tensor:
    """The row indices of ``epoch``: the sampler's (after ``set_epoch``), else a permutation."""
    if sampler is None:
        return torch.randperm(num_rows, generator=generator)
    set_epoch = getattr(sampler, "set_epoch", None)
    if callable(set_epoch):
        set_epoch(epoch)
    return torch.as_tensor(list(sampler), dtype=torch.long)


def global_mean_backward(
    net: nn.Module,
    loss: Any,
    x: torch.Tensor,
    y: torch.Tensor,
    batch: torch.Tensor,
    mine: torch.Tensor,
    world: int,
) -> torch.Tensor:
    """Backward of this rank's share of the whole batch's weighted mean; returns the share.

    Every rank holds the whole batch (rows ``batch`` of ``x`` and ``y``), so each computes
    its weight sum ``E`` itself, with no collective. Rank ``r`` computes the loss on its
    rows ``mine``: ``loss`` gives their weighted mean ``S_r / e_r``, and ``R * S_r / E`` is
    differentiated, since DDP averages the ranks' gradients. The shares ``S_r / E`` of all
    ranks sum to the batch's weighted mean. A rank with no rows of the batch contributes 0.
    """
    local = loss(net(x[mine]), y[mine])
    local_weight = loss.weight_sum(y[mine]).to(local.dtype)
    summed = torch.where(local_weight > 0, local * local_weight, torch.zeros_like(local))
    share = summed / loss.weight_sum(y[batch]).to(local.dtype)
    (share * world).backward()
    return share.detach()


def train_epoch(
    net: nn.Module,
    loss: Any,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    order: torch.Tensor,
    *,
    batch_size: int,
    world: int,
    rank: int,
) -> float:
    """One pass over ``order`` in batches; returns the mean training loss of the batches
    (of the whole batch under data parallelism: the ranks' shares are summed)."""
    net.train()
    order = order.to(x.device)
    total, batches = torch.zeros((), device=x.device), 0  # summed on the device
    for start in range(0, len(order), batch_size):
        index = order[start : start + batch_size]
        optimizer.zero_grad(set_to_none=True)
        if world > 1:
            value = global_mean_backward(net, loss, x, y, index, index[rank::world], world)
        else:
            value = loss(net(x[index]), y[index])
            value.backward()
        optimizer.step()
        total += value.detach()
        batches += 1
    if world > 1:
        torch.distributed.all_reduce(total)  # the ranks' shares: one collective per epoch
    return float(total) / max(batches, 1)


def evaluate(
    model: nn.Module,
    loss: Any,
    x_val: torch.Tensor,
    y_val: torch.Tensor,
    y_val_np: np.ndarray,
    *,
    batch_size: int,
    monitor: Callable[[np.ndarray, np.ndarray], float] | None,
) -> tuple[float, float]:
    """``(val_loss, score)`` on the validation split in eval mode: the loss and ``monitor``
    see the logits of all rows at once; the score is ``-val_loss`` without a monitor."""
    model.eval()
    logits = batched_logits(model, x_val, batch_size=batch_size)
    with torch.no_grad():
        val_loss = float(loss(logits, y_val))
    if monitor is None:
        return val_loss, -val_loss
    return val_loss, float(monitor(logits.double().cpu().numpy(), y_val_np))


@dataclass
class EarlyStopping:
    """The best validation score so far, its epoch and (with ``patience``) its weights."""

    patience: int | None
    has_val: bool
    best_score: float = -np.inf
    best_epoch: int = 0
    best_state: dict[str, torch.Tensor] | None = field(default=None, repr=False)

    def update(self, model: nn.Module, epoch: int, score: float) -> None:
        """Record ``epoch`` (from 1) with ``score``; keep the weights when it is the best."""
        if not self.has_val or score > self.best_score:
            self.best_score, self.best_epoch = score, epoch
            if self.patience is not None and self.has_val:
                self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def should_stop(self, epoch: int, epochs: int) -> bool:
        """True after the last epoch, or ``patience`` epochs without a better score."""
        if epoch == epochs:
            return True
        return (
            self.patience is not None and self.has_val and epoch - self.best_epoch >= self.patience
        )

    def restore(self, model: nn.Module) -> None:
        """Load the best weights into ``model`` (nothing without early stopping)."""
        if self.best_state is not None:
            model.load_state_dict(self.best_state)
