"""One training loop for classifiers on tensors: any module, loss and sampler.

:func:`fit` trains ``model`` with AdamW on ``(x, y)`` in mini-batches, drawn either in a
random order or from a ``sampler`` (such as :class:`~underdog.samplers.ClassBalancedSampler`),
evaluates a validation split after every epoch, stops early when the validation score has
not improved for ``patience`` epochs and restores the best weights. It never prints: it
reports each epoch to ``callbacks`` as a :class:`TrainEvent`.

Inputs: numpy arrays (or anything ``np.asarray`` takes) and torch tensors on any device.
Tensors are converted and moved with torch operations only, never through numpy, so CUDA
tensors work and CPU tensors of the right dtype are not copied. The validation split is
evaluated in batches (as :func:`~underdog.training.networks.predict_logits` does) and the logits
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

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import _dist
from .._validation import check_device, check_int, check_real
from ..exceptions import InvalidParameterError
from ._steps import EarlyStopping, epoch_order, evaluate, train_epoch
from ._tensors import as_tensor, module_device

__all__ = ["TrainEvent", "TrainResult", "fit"]


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
    if num_threads is not None:
        num_threads = check_int(num_threads, name="num_threads", owner=owner, low=1)

    device = check_device(device, name="device", owner=owner) or module_device(model)
    x = as_tensor(x, dtype=torch.float32, device=device)
    y = as_tensor(y, dtype=torch.long, device=device)
    validation = _validation_data(x_val, y_val, device)
    model.to(device)
    if isinstance(loss, nn.Module):
        loss.to(device)
    net, world, rank = _data_parallel(model, loss, device, distributed)

    with _threads(num_threads), _seeded(device, seed) as generator:
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
        stopping = EarlyStopping(patience=patience, has_val=validation is not None)
        history: list[TrainEvent] = []
        for epoch in range(epochs):
            if on_epoch_start is not None:
                on_epoch_start(epoch, epochs)
            order = epoch_order(len(y), sampler, generator, epoch)
            train_loss = train_epoch(
                net, loss, optimizer, x, y, order, batch_size=batch_size, world=world, rank=rank
            )
            val_loss, score = float("nan"), float("nan")
            if validation is not None:
                val_loss, score = evaluate(
                    model, loss, *validation, batch_size=eval_batch_size, monitor=monitor
                )
            stopping.update(model, epoch + 1, score)
            event = TrainEvent(
                epoch=epoch + 1,
                epochs=epochs,
                train_loss=train_loss,
                val_loss=val_loss,
                val_score=score,
                best_epoch=stopping.best_epoch,
                stopping=stopping.should_stop(epoch + 1, epochs),
            )
            history.append(event)
            for callback in callbacks:
                callback(event)
            if event.stopping:
                break
        stopping.restore(model)
    model.eval()
    return TrainResult(
        model=model, best_epoch=stopping.best_epoch, epochs_run=len(history), history=history
    )


def _validation_data(
    x_val: Any, y_val: Any, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, np.ndarray] | None:
    """``(x_val, y_val, y_val as numpy)`` on ``device``; None without a validation split.

    The monitor takes numpy: a tensor's labels are copied to the host once, here.
    """
    if x_val is None or y_val is None or len(y_val) == 0:
        return None
    y_np = y_val.detach().cpu().numpy() if isinstance(y_val, torch.Tensor) else np.asarray(y_val)
    return (
        as_tensor(x_val, dtype=torch.float32, device=device),
        as_tensor(y_val, dtype=torch.long, device=device),
        y_np,
    )


def _ranks(distributed: bool) -> tuple[int, int]:
    """(world size, rank) of data-parallel training; (1, 0) without it."""
    if distributed and _dist.distributed_active():
        return _dist.world_size(), _dist.rank()
    return 1, 0


def _data_parallel(
    model: nn.Module, loss: Any, device: torch.device, distributed: bool
) -> tuple[nn.Module, int, int]:
    """``(net, world size, rank)``: ``model`` wrapped in DDP when ``distributed`` and a
    process group of several ranks is running, else ``(model, 1, 0)``."""
    world, rank = _ranks(distributed)
    if world == 1:
        return model, 1, 0
    if not callable(getattr(loss, "weight_sum", None)):
        raise InvalidParameterError(
            "The 'loss' parameter of fit must offer weight_sum(target) for data-parallel "
            f"training. Got {type(loss).__name__} instead."
        )
    device_ids = [device.index] if device.type == "cuda" else None
    net = nn.parallel.DistributedDataParallel(model, device_ids=device_ids)
    return net, world, rank


@contextlib.contextmanager
def _threads(num_threads: int | None) -> Iterator[None]:
    """Run with ``num_threads`` intra-op threads (None: leave the setting) and restore it."""
    previous = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextlib.contextmanager
def _seeded(device: torch.device, seed: int) -> Iterator[torch.Generator]:
    """Seed the generators dropout draws from, restoring them afterwards; yields the
    generator of shuffling.

    Only the CPU's and, when training on one, that CUDA device's generator are seeded:
    ``torch.manual_seed`` would reseed every CUDA device of the caller, or queue it until
    CUDA starts.
    """
    cuda = []
    if device.type == "cuda":
        cuda = [torch.cuda.current_device() if device.index is None else device.index]
    with torch.random.fork_rng(devices=cuda):
        torch.random.default_generator.manual_seed(seed)
        for index in cuda:
            torch.cuda.default_generators[index].manual_seed(seed)
        yield torch.Generator().manual_seed(seed)
