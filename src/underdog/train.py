"""One training loop for classifiers on tensors: any module, loss and sampler.

:func:`fit` trains ``model`` with AdamW on ``(x, y)`` in mini-batches, drawn either in a
random order or from a ``sampler`` (such as :class:`~underdog.samplers.ClassBalancedSampler`),
evaluates a validation split after every epoch, stops early when the validation score has
not improved for ``patience`` epochs and restores the best weights. It never prints: it
reports each epoch to ``callbacks`` as a :class:`TrainEvent`.

Inputs: numpy arrays (or anything ``np.asarray`` takes) and torch tensors on any device.
Tensors are converted and moved with torch operations only, never through numpy, so CUDA
tensors work and CPU tensors of the right dtype are not copied. The validation split is
evaluated in batches (as :func:`~underdog.networks.predict_logits` does) and the logits
concatenated, so its memory is bounded by the batch size, not by the number of rows.

Determinism: shuffling, sampling and dropout use a generator state forked from ``seed``, so
the same inputs give the same model, and the caller's global RNG state is left untouched.

Threads: by default the loop runs with one intra-op thread (``num_threads=1``) and restores
the previous setting afterwards. On small MLPs and small batches, intra-op parallelism costs
more in synchronisation than it saves: on a 2-core machine, ``underdog compare`` on digits-lt
took 13.7 s wall / 13.7 s CPU with one thread and 14.2-20.3 s wall / 23-30 s CPU with two
(see ``docs/cli.md``). Pass ``num_threads=None`` to leave PyTorch's setting alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from . import _dist
from ._validation import check_device, check_int, check_real
from .exceptions import InvalidParameterError
from .networks import _as_tensor, _batched_logits, _module_device

__all__ = ["TrainEvent", "TrainResult", "fit", "validation_split"]


@dataclass(frozen=True)
class TrainEvent:
    """What :func:`fit` reports after each epoch.

    Attributes:
        epoch: the epoch just finished, from 1.
        epochs: the maximum number of epochs.
        train_loss: mean training loss over the epoch's batches.
        val_loss: loss on the validation split (``nan`` without one).
        val_score: the monitored score (higher is better; ``-val_loss`` by default;
            ``nan`` without a validation split).
        best_epoch: the epoch with the best score so far.
        stopping: ``True`` when this is the last epoch (early stop or the limit).
    """

    epoch: int
    epochs: int
    train_loss: float
    val_loss: float
    val_score: float
    best_epoch: int
    stopping: bool


@dataclass
class TrainResult:
    """The trained model (best weights restored) and its history."""

    model: nn.Module
    best_epoch: int
    epochs_run: int
    history: list[TrainEvent] = field(default_factory=list)


def validation_split(labels: Any, *, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified ``(train, val)`` positions: ``round(fraction * n_c)`` of each class in val,
    at least one for every class with two or more samples (none for a single sample)."""
    check_real(
        fraction, name="fraction", owner="validation_split", low=0.0, high=1.0, closed="left"
    )
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    train, val = [], []
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        n_val = int(round(fraction * len(members)))
        if fraction > 0 and len(members) >= 2:
            n_val = min(max(n_val, 1), len(members) - 1)
        else:
            n_val = 0
        val.append(members[:n_val])
        train.append(members[n_val:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def _ranks(distributed: bool) -> tuple[int, int]:
    """(world size, rank) of data-parallel training; (1, 0) without it."""
    if distributed and _dist.distributed_active():
        return _dist.world_size(), _dist.rank()
    return 1, 0


def _global_mean_backward(
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


def fit(
    model: nn.Module,
    x: Any,
    y: Any,
    *,
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    sampler: Iterable[int] | None = None,
    x_val: Any = None,
    y_val: Any = None,
    epochs: int = 100,
    batch_size: int = 64,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    patience: int | None = None,
    monitor: Callable[[np.ndarray, np.ndarray], float] | None = None,
    on_epoch_start: Callable[[int, int], None] | None = None,
    callbacks: Sequence[Callable[[TrainEvent], None]] = (),
    seed: int = 0,
    num_threads: int | None = 1,
    device: str | torch.device | None = None,
    distributed: bool = True,
    eval_batch_size: int | None = None,
) -> TrainResult:
    """Train ``model`` on ``(x, y)`` with AdamW; early stopping on ``(x_val, y_val)``.

    Args:
        model: any module mapping a float batch ``(B, F)`` to logits ``(B, C)``.
        x, y: features ``(N, F)`` (float) and int class indices ``(N,)``: numpy arrays
            (anything ``np.asarray`` takes) or tensors on any device, which are converted
            and moved with torch operations only (a CUDA tensor never goes through numpy).
        loss: ``loss(logits, y) -> scalar``, e.g. a :class:`~underdog.CrossEntropyLoss`.
        sampler: yields ``N'`` indices per epoch (with ``set_epoch(epoch)`` if it has it);
            ``None`` shuffles all rows each epoch.
        x_val, y_val: the validation split, evaluated after every epoch (in eval mode,
            ``eval_batch_size`` rows at a time; the loss and ``monitor`` see the logits of
            all rows at once, so the result is that of one forward pass).
        epochs, batch_size, lr, weight_decay: the optimisation (AdamW).
        patience: stop after this many epochs without a better validation score and
            restore the best weights; ``None`` trains all epochs and keeps the last ones.
        monitor: ``monitor(val_logits, y_val) -> float``, higher is better; defaults to
            minus the validation loss.
        on_epoch_start: ``on_epoch_start(epoch, epochs)`` before each epoch (from 0), for
            schedules such as deferred re-weighting.
        callbacks: each gets a :class:`TrainEvent` after every epoch.
        seed: seeds shuffling, sampling and dropout.
        num_threads: intra-op threads during training (restored afterwards); ``None``
            leaves the setting alone.
        device: where to train (``"cpu"``, ``"cuda:0"``, ...); defaults to the model's.
        distributed: when ``torch.distributed`` is initialised with several ranks, train
            data-parallel (see below); ``False`` trains each rank on its own.
        eval_batch_size: rows per forward pass on the validation split; ``None`` uses
            ``batch_size``, so evaluating needs no more memory than a training step.

    Data-parallel training: every rank passes the same ``x``, ``y`` and ``seed`` and so
    draws the same batches; rank ``r`` of ``R`` computes positions ``r, r + R, ...`` of
    each batch inside ``DistributedDataParallel``, and the loss is rescaled to the weighted
    mean of the *whole* batch (``R * S_r / E``, with ``E`` the batch's weight sum, which
    every rank computes from the batch it holds; :class:`~underdog.losses.GlobalMean` does
    the same for loops whose ranks hold only their shard), so the gradient, and hence the
    training, is that of one process on the whole batch. The loss must offer
    ``weight_sum(target)``, as every underdog loss does.

    Returns:
        A :class:`TrainResult`; ``result.model`` is ``model`` itself, in eval mode.
    """
    owner = "fit"
    epochs = check_int(epochs, name="epochs", owner=owner, low=1)
    batch_size = check_int(batch_size, name="batch_size", owner=owner, low=1)
    check_real(lr, name="lr", owner=owner, low=0.0, closed="neither")
    check_real(weight_decay, name="weight_decay", owner=owner, low=0.0)
    if patience is not None:
        patience = check_int(patience, name="patience", owner=owner, low=1)
    if eval_batch_size is None:
        eval_batch_size = batch_size
    eval_batch_size = check_int(eval_batch_size, name="eval_batch_size", owner=owner, low=1)

    device = check_device(device, name="device", owner=owner) or _module_device(model)
    x = _as_tensor(x, dtype=torch.float32, device=device)
    y = _as_tensor(y, dtype=torch.long, device=device)
    has_val = x_val is not None and y_val is not None and len(y_val) > 0
    if has_val:
        # The monitor takes numpy; a tensor's labels are copied to the host once, here.
        y_val_np = (
            y_val.detach().cpu().numpy() if isinstance(y_val, torch.Tensor) else np.asarray(y_val)
        )
        x_val = _as_tensor(x_val, dtype=torch.float32, device=device)
        y_val = _as_tensor(y_val, dtype=torch.long, device=device)
    model.to(device)
    if isinstance(loss, nn.Module):
        loss.to(device)
    world, rank = _ranks(distributed)
    net: nn.Module = model
    if world > 1:
        if not callable(getattr(loss, "weight_sum", None)):
            raise InvalidParameterError(
                f"The 'loss' parameter of {owner} must offer weight_sum(target) for "
                f"data-parallel training. Got {type(loss).__name__} instead."
            )
        device_ids = [device.index] if device.type == "cuda" else None
        net = nn.parallel.DistributedDataParallel(model, device_ids=device_ids)

    previous_threads = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(check_int(num_threads, name="num_threads", owner=owner, low=1))
    try:
        # Seed (and restore after) only the generators dropout draws from here: the CPU's
        # and, when training on one, that CUDA device's. torch.manual_seed would reseed
        # every CUDA device of the caller, or queue it until CUDA starts.
        cuda = []
        if device.type == "cuda":
            cuda = [torch.cuda.current_device() if device.index is None else device.index]
        with torch.random.fork_rng(devices=cuda):
            torch.random.default_generator.manual_seed(seed)
            for index in cuda:
                torch.cuda.default_generators[index].manual_seed(seed)
            generator = torch.Generator().manual_seed(seed)
            optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
            best_score, best_epoch, best_state = -np.inf, 0, None
            history: list[TrainEvent] = []
            for epoch in range(epochs):
                if on_epoch_start is not None:
                    on_epoch_start(epoch, epochs)
                if sampler is None:
                    order = torch.randperm(len(y), generator=generator)
                else:
                    if hasattr(sampler, "set_epoch"):
                        sampler.set_epoch(epoch)
                    order = torch.as_tensor(list(sampler), dtype=torch.long)
                model.train()
                order = order.to(device)
                total, batches = torch.zeros((), device=device), 0  # summed on the device
                for start in range(0, len(order), batch_size):
                    index = order[start : start + batch_size]
                    optimizer.zero_grad(set_to_none=True)
                    if world > 1:
                        mine = index[rank::world]
                        value = _global_mean_backward(net, loss, x, y, index, mine, world)
                    else:
                        value = loss(net(x[index]), y[index])
                        value.backward()
                    optimizer.step()
                    total += value.detach()
                    batches += 1
                if world > 1:
                    torch.distributed.all_reduce(total)  # the ranks' shares: one per epoch
                val_loss, score = float("nan"), float("nan")
                if has_val:
                    model.eval()
                    logits = _batched_logits(model, x_val, batch_size=eval_batch_size)
                    with torch.no_grad():
                        val_loss = float(loss(logits, y_val))
                    score = (
                        -val_loss
                        if monitor is None
                        else float(monitor(logits.double().cpu().numpy(), y_val_np))
                    )
                if not has_val or score > best_score:
                    best_score, best_epoch = score, epoch + 1
                    if patience is not None and has_val:
                        best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                stopping = epoch + 1 == epochs or (
                    patience is not None and has_val and epoch + 1 - best_epoch >= patience
                )
                event = TrainEvent(
                    epoch=epoch + 1,
                    epochs=epochs,
                    train_loss=float(total) / max(batches, 1),
                    val_loss=val_loss,
                    val_score=score,
                    best_epoch=best_epoch,
                    stopping=stopping,
                )
                history.append(event)
                for callback in callbacks:
                    callback(event)
                if stopping:
                    break
            if best_state is not None:
                model.load_state_dict(best_state)
    finally:
        torch.set_num_threads(previous_threads)
    model.eval()
    return TrainResult(model=model, best_epoch=best_epoch, epochs_run=len(history), history=history)
