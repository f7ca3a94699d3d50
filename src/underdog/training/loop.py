"""The training loop: :func:`fit` trains any module on what PyTorch users have.

Data: arrays and tensors (``fit(model, x, y)``), a map-style ``Dataset``, an
``IterableDataset`` or a ``DataLoader`` (``fit(model, dataset)``), validation data in the
same forms; see :mod:`underdog.training.data` for batches, the order of an epoch and the
rows each rank reads. The step: any optimizer and learning-rate scheduler (factories),
gradient accumulation and data parallelism with the exact weighted mean of the whole step
(:mod:`underdog.training._steps`), gradient clipping, mixed precision (``bf16`` autocast on
CPU and CUDA, ``fp16`` with a gradient scaler on CUDA) and optional ``torch.compile``.
Stopping: ``epochs``, ``max_steps``, ``max_time``, and early stopping on any score
(``monitor``) with the best weights restored. A loss that stops being finite raises
:class:`~underdog.DivergenceError` instead of returning a broken model.

It never prints: it reports each epoch to ``callbacks`` as a :class:`TrainEvent`.

Determinism: the order of every epoch comes from ``seed`` (and the epoch), dropout from a
generator forked from ``seed``; the caller's global RNG state is left untouched.

Threads: by default the loop runs with one intra-op thread (``num_threads=1``) and restores
the previous setting afterwards: on small MLPs intra-op parallelism costs more in
synchronisation than it saves (see ``docs/cli.md``). ``num_threads=None`` leaves PyTorch's
setting alone.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ..exceptions import DivergenceError, InvalidParameterError
from ._runtime import cuda_indices, in_lockstep, ranks, seeded, threads
from ._steps import EarlyStopping, Objective, StepRunner, grouped
from ._tensors import feature_dtype, module_device
from .data import (
    Batch,
    LoaderSource,
    TensorSource,
    epoch_order,
    make_source,
    rank_batches,
    rank_split,
)
from .evaluation import check_monitor, score, validation_logits
from .settings import FitSettings, check_settings

__all__ = ["TrainEvent", "TrainResult", "fit"]


@dataclass(frozen=True)
class TrainEvent:
    """What :func:`fit` reports after each epoch.

    Attributes:
        epoch: the epoch just finished, from 1.
        epochs: the maximum number of epochs.
        train_loss: mean training loss over the epoch's optimizer steps.
        val_loss: loss on the validation data (``nan`` without it).
        val_score: the monitored score (higher is better; ``-val_loss`` by default;
            ``nan`` without validation data).
        best_epoch: the epoch with the best score so far.
        stopping: ``True`` when this is the last epoch (early stop or a limit).
        steps: optimizer steps taken so far.
    """

    epoch: int
    epochs: int
    train_loss: float
    val_loss: float
    val_score: float
    best_epoch: int
    stopping: bool
    steps: int = 0


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
    y: Any = None,
    *,
    loss: Callable[..., torch.Tensor],
    sampler: Iterable[int] | None = None,
    x_val: Any = None,
    y_val: Any = None,
    sample_weight: Any = None,
    epochs: int = 100,
    max_steps: int | None = None,
    max_time: float | None = None,
    batch_size: int = 64,
    accumulate: int = 1,
    lr: float | None = None,
    weight_decay: float | None = None,
    optimizer: Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer] | None = None,
    scheduler: Callable[[torch.optim.Optimizer], Any] | None = None,
    scheduler_interval: str = "epoch",
    grad_clip: float | None = None,
    precision: str = "32",
    compile: bool = False,
    patience: int | None = None,
    monitor: str | Callable[[np.ndarray, np.ndarray], float] | None = None,
    batch_to_inputs: Callable[[Any], tuple[Any, Any, Any]] | None = None,
    num_workers: int = 0,
    on_epoch_start: Callable[[int, int], None] | None = None,
    callbacks: Sequence[Callable[[TrainEvent], None]] = (),
    seed: int = 0,
    num_threads: int | None = 1,
    device: str | torch.device | None = None,
    distributed: bool = True,
    eval_batch_size: int | None = None,
) -> TrainResult:
    """Train ``model``; early stopping on the validation data; see the module docstring.

    Args:
        model: any ``nn.Module`` mapping a batch's inputs to logits.
        x: features (an array, or a tensor on any device); or a ``Dataset``,
            ``IterableDataset`` or ``DataLoader``.
        y: integer labels of array or tensor ``x`` (an array, or a tensor on any device);
            None when ``x`` is a dataset or loader.
        loss: ``loss(logits, target) -> scalar``; an underdog loss (with ``weight_sum``)
            gives the exact weighted mean of every step under accumulation and data
            parallelism.
        sampler: the indices of each epoch (``set_epoch`` is called when it has it), such as
            :class:`~underdog.samplers.ClassBalancedSampler`; default: a permutation.
        x_val: validation features, in the same forms as ``x``.
        y_val: validation labels, in the same forms as ``y``.
        sample_weight: per-row weights with array ``x`` (datasets carry their own).
        epochs: stop after this many epochs (or at ``max_steps`` or ``max_time``,
            whichever comes first).
        max_steps: stop after this many optimizer steps; None: no limit.
        max_time: stop after this many seconds; None: no limit.
        batch_size: rows per micro-batch over all ranks.
        accumulate: micro-batches per optimizer step (gradient accumulation).
        lr: the learning rate of the default optimizer, AdamW (1e-3 when None).
        weight_decay: the weight decay of the default optimizer, AdamW (1e-4 when None).
        optimizer: ``optimizer(parameters) -> Optimizer`` instead of AdamW.
        scheduler: ``scheduler(optimizer) -> LRScheduler``, stepped every epoch or every
            optimizer step (``scheduler_interval``).
        scheduler_interval: ``"epoch"`` or ``"step"``: when ``scheduler`` steps.
        grad_clip: clip the gradients' global norm to this.
        precision: ``"32"``, ``"bf16"`` (autocast on CPU and CUDA) or ``"fp16"`` (autocast
            and a gradient scaler, CUDA only).
        compile: train through ``torch.compile(model)``.
        patience: stop after this many epochs without a better score and restore the best
            weights; None trains every epoch and keeps the last weights.
        monitor: the score, higher is better: ``"val_loss"`` (minus the loss, the default),
            a metric of :mod:`underdog.metrics`, or ``monitor(logits, y) -> float``. The
            metrics of two classes only (``roc_auc``, ``average_precision``,
            ``minority_f1``) are refused for more classes.
        batch_to_inputs: ``batch -> (inputs, target, sample_weight)`` for batches that are
            not ``(x, y)``, ``(x, y, w)`` or dicts (see
            :func:`~underdog.training.data.split_batch`).
        num_workers: worker processes of the ``DataLoader`` built for a dataset.
        on_epoch_start: ``on_epoch_start(epoch, epochs)`` before each epoch (from 0).
        callbacks: each gets a :class:`TrainEvent` after every epoch.
        seed: seeds the order of every epoch and dropout.
        num_threads: intra-op threads during training (restored afterwards); None leaves
            the setting alone.
        device: where to train; defaults to the model's.
        distributed: with a ``torch.distributed`` group of several ranks, train
            data-parallel (``False``: each rank on its own).
        eval_batch_size: rows per forward pass on the validation data (``batch_size``).

    Returns:
        A :class:`TrainResult`; ``result.model`` is ``model`` itself, in eval mode.

    Raises:
        DivergenceError: the training loss stopped being finite.
        InvalidParameterError, DataError, ShapeError: bad settings or data.
    """
    settings = check_settings(**{k: v for k, v in locals().items() if k not in _DATA})
    trainer = _Trainer(model, loss, settings, sampler=sampler, on_epoch_start=on_epoch_start,
                       callbacks=callbacks)  # fmt: skip
    dtype = feature_dtype(model)
    source = make_source(
        x,
        y,
        sample_weight=sample_weight,
        batch_to_inputs=batch_to_inputs,
        num_workers=settings.num_workers,
        pin_memory=True,
        dtype=dtype,
    )
    validation = None
    if x_val is not None and (y_val is None or len(y_val) > 0):
        validation = make_source(
            x_val,
            y_val,
            name="x_val",
            batch_to_inputs=batch_to_inputs,
            num_workers=settings.num_workers,
            dtype=dtype,
        )
    return trainer.run(source, validation)


#: The arguments of fit that are not settings.
_DATA = ("model", "x", "y", "loss", "sampler", "x_val", "y_val", "sample_weight",
         "batch_to_inputs", "on_epoch_start", "callbacks")  # fmt: skip


class _Trainer:
    """One run of :func:`fit`: setup, epochs, evaluation, stopping."""

    def __init__(
        self,
        model: nn.Module,
        loss: Callable[..., torch.Tensor],
        settings: FitSettings,
        *,
        sampler: Iterable[int] | None,
        on_epoch_start: Callable[[int, int], None] | None,
        callbacks: Sequence[Callable[[TrainEvent], None]],
    ) -> None:
        self.model, self.loss, self.s = model, loss, settings
        self.sampler, self.on_epoch_start, self.callbacks = sampler, on_epoch_start, callbacks
        self.device = settings.device or module_device(model)
        self.world, self.rank = ranks(settings.distributed)
        self.objective = Objective(loss)

    def run(self, source: TensorSource | LoaderSource, validation: Any) -> TrainResult:
        """Set up, train the epochs, restore the best weights."""
        self._check(source)
        if validation is not None:
            self._check_monitor(source, validation)
        self.model.to(self.device)
        if isinstance(self.loss, nn.Module):
            self.loss.to(self.device)
        with threads(self.s.num_threads), seeded(self.device, self.s.seed):
            runner = self._runner()
            stopping = EarlyStopping(patience=self.s.patience, has_val=validation is not None)
            history = self._epochs(runner, source, validation, stopping)
            stopping.restore(self.model)
        self.model.eval()
        return TrainResult(self.model, stopping.best_epoch, len(history), history)

    def _check(self, source: TensorSource | LoaderSource) -> None:
        sample_weights = isinstance(source, TensorSource) and source.sample_weight is not None
        self.objective.check(world=self.world, accumulate=self.s.accumulate,
                             sample_weights=sample_weights)  # fmt: skip
        if self.s.precision == "fp16" and self.device.type != "cuda":
            raise InvalidParameterError(
                "The 'precision' parameter of fit must be '32' or 'bf16' on a "
                f"{self.device.type} device ('fp16' needs CUDA). Got 'fp16' instead."
            )
        streaming = isinstance(source, LoaderSource) and (source.is_loader or source.is_iterable)
        if self.sampler is not None and streaming:
            raise InvalidParameterError(
                "The 'sampler' parameter of fit must be None with a DataLoader or an "
                "IterableDataset, which order their own batches. Got a sampler instead."
            )
        split = rank_split(self.sampler)
        if split > 1 and (split != self.world or self.s.batch_size % split):
            raise InvalidParameterError(
                f"The 'sampler' parameter of fit splits its stream between {split} ranks, so "
                f"training must run on {split} ranks with a batch_size divisible by {split}. "
                f"Got {self.world} rank(s) and batch_size={self.s.batch_size} instead."
            )

    def _check_monitor(self, *sources: TensorSource | LoaderSource) -> None:
        """Refuse a two-class-only monitor up front when labels in memory show more classes.

        Labels in a dataset or loader, or a model of other than two outputs, are known at
        the first validation, where :func:`score` refuses it.
        """
        labels = [s.y for s in sources if isinstance(s, TensorSource) and s.y.numel()]
        if labels:
            largest = max(int(y.max()) for y in labels)
            check_monitor(self.s.monitor, num_classes=max(largest + 1, 2),
                          what=f"labels up to {largest}")  # fmt: skip

    def _runner(self) -> StepRunner:
        net: nn.Module = self.model
        if self.world > 1:
            device_ids = [self.device.index] if self.device.type == "cuda" else None
            net = nn.parallel.DistributedDataParallel(self.model, device_ids=device_ids)
        optimizer = self.s.optimizer(self.model.parameters())
        scheduler = None if self.s.scheduler is None else self.s.scheduler(optimizer)
        each_step = self.s.scheduler_interval == "step"
        self.epoch_scheduler = None if each_step else scheduler
        scaler = torch.amp.GradScaler("cuda") if self.s.precision == "fp16" else None
        return StepRunner(
            net=net, objective=self.objective, optimizer=optimizer, device=self.device,
            world=self.world, precision=self.s.precision, grad_clip=self.s.grad_clip,
            scheduler=scheduler if each_step else None, scaler=scaler,
            forward=torch.compile(net) if self.s.compile else None,
        )  # fmt: skip

    def _epochs(
        self, runner: StepRunner, source: Any, validation: Any, stopping: EarlyStopping
    ) -> list[TrainEvent]:
        history: list[TrainEvent] = []
        started = time.perf_counter()
        for epoch in range(self.s.epochs):
            if self.on_epoch_start is not None:
                self.on_epoch_start(epoch, self.s.epochs)
            train_loss, limit = self._train_epoch(runner, source, epoch, started)
            val_loss, value = self._evaluate(validation)
            stopping.update(self.model, epoch + 1, value)
            last = epoch + 1 == self.s.epochs or limit or stopping.patience_exhausted(epoch + 1)
            event = TrainEvent(epoch + 1, self.s.epochs, train_loss, val_loss, value,
                               stopping.best_epoch, last, runner.steps)  # fmt: skip
            history.append(event)
            for callback in self.callbacks:
                callback(event)
            if last:
                break
        return history

    def _train_epoch(
        self, runner: StepRunner, source: Any, epoch: int, started: float
    ) -> tuple[float, bool]:
        """Train one epoch; returns its mean step loss and whether a limit was reached."""
        runner.net.train()
        # Summed on the device (no sync a step): the finite step losses and their number. A
        # step whose every element is ignored has the loss nan (0 / 0, as in PyTorch).
        total = torch.zeros(2, device=self.device, dtype=torch.float64)
        limit = False
        for micro in self._steps(source, epoch):
            value = runner.step(micro).double()
            finite = torch.isfinite(value)
            total += torch.stack([torch.where(finite, value, 0.0), finite.double()])
            limit = self._limit_reached(runner.steps, started)
            if limit:
                break
        if self.epoch_scheduler is not None:
            self.epoch_scheduler.step()
        if self.world > 1:
            torch.distributed.all_reduce(total)  # the ranks' shares: one collective per epoch
        summed, steps = (float(v) for v in total)
        train_loss = summed / (steps / self.world) if steps else float("nan")
        self._check_finite(epoch, train_loss)
        return train_loss, limit

    def _check_finite(self, epoch: int, train_loss: float) -> None:
        """Raise :class:`DivergenceError` when a weight stopped being finite."""
        broken = [name for name, p in self.model.named_parameters() if not bool(p.isfinite().all())]
        if broken or math.isnan(train_loss):
            what = (
                f"the parameter {broken[0]!r} is not finite"
                if broken
                else "no step had a finite loss"
            )
            raise DivergenceError(
                f"Training diverged in epoch {epoch + 1}: {what} (training loss {train_loss}). "
                "Lower the learning rate, clip the gradients or check the data for "
                "non-finite values."
            )

    def _limit_reached(self, steps: int, started: float) -> bool:
        """``max_steps`` or ``max_time`` reached; the ranks agree on the time (rank 0's)."""
        if self.s.max_steps is not None and steps >= self.s.max_steps:
            return True
        if self.s.max_time is None:
            return False
        late = torch.tensor(float(time.perf_counter() - started >= self.s.max_time))
        if self.world > 1:
            late = late.to(self.device)
            torch.distributed.broadcast(late, src=0)
        return bool(late)

    def _steps(self, source: Any, epoch: int) -> Iterator[list[Batch]]:
        """This rank's micro-batches of the epoch, grouped by optimizer step."""
        if isinstance(source, LoaderSource) and (source.is_loader or source.is_iterable):
            set_epoch = getattr(getattr(source.data, "sampler", None), "set_epoch", None)
            if callable(set_epoch):
                set_epoch(epoch)
            batches = source.batches(None, self.device, batch_size=self.s.batch_size)
            return in_lockstep(grouped(batches, self.s.accumulate), self.device, self.world)
        order = epoch_order(len(source), self.sampler, seed=self.s.seed, epoch=epoch)
        split = rank_split(self.sampler) > 1
        indices = rank_batches(order, batch_size=self.s.batch_size, world=self.world,
                               rank=self.rank, split=split)  # fmt: skip
        if isinstance(source, TensorSource):
            batches = source.batches(indices, self.device)
        else:
            batches = source.batches(indices, self.device, batch_size=self.s.batch_size)
        return grouped(batches, self.s.accumulate)

    def _evaluate(self, validation: Any) -> tuple[float, float]:
        """``(val_loss, score)``, computed without moving the RNG that training draws from.

        A validation DataLoader draws its seed from that RNG.
        """
        if validation is None:
            return float("nan"), float("nan")
        with torch.random.fork_rng(devices=cuda_indices(self.device)):
            logits, target, weight = validation_logits(
                self.model, validation, self.device, batch_size=self.s.eval_batch_size,
                precision=self.s.precision, world=self.world, rank=self.rank,
            )  # fmt: skip
        return score(self.objective, logits, target, weight, self.s.monitor)
