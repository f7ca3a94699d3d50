"""The settings of a comparison and of training one model: :class:`CompareConfig`.

``underdog compare`` and ``underdog train`` build one from their options (an option left
out keeps the default here); the benchmarks build their own.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .._validation import check_device, check_int, check_int_sequence, check_option, check_real
from ..metrics import BINARY_METRICS, LABEL_METRICS
from ..training.settings import MAX_THREADS, SMALL_TABLE, auto_batch_size, auto_lr
from .factories import load_factory

__all__ = ["MAX_SEEDS", "CompareConfig", "TrainingPlan"]

#: The most repetitions of a comparison (each prepares and trains every fold again).
MAX_SEEDS = 10_000


@dataclass(frozen=True)
class CompareConfig:
    """Settings of a comparison (the CLI's options, with the same defaults).

    The training options (``epochs``, ``batch_size``, ``lr``, ``weight_decay``,
    ``patience``, ``eval_batch_size``, ``num_threads``, ``device``) are passed to
    :func:`~underdog.training.loop`; ``eval_batch_size=None`` evaluates the validation split
    in batches of ``batch_size`` rows, ``num_threads=None`` leaves PyTorch's thread setting
    alone and ``device=None`` trains on the CPU. ``hidden`` is the MLP's hidden layer sizes
    (empty: a linear model).
    """

    folds: int = 5
    seeds: int = 1
    metric: str = "balanced_accuracy"
    hidden: tuple[int, ...] = (128,)
    dropout: float | None = None
    lr: float | None = None
    weight_decay: float = 1e-4
    epochs: int = 200
    batch_size: int | None = None
    patience: int | None = None
    val_fraction: float = 0.2
    num_threads: int | None = 1
    device: str | torch.device | None = None
    eval_batch_size: int | None = None
    model: str = "mlp"
    data: str | None = None

    def check(self, *, num_classes: int, owner: str = "compare") -> None:
        """Check every setting for a problem of ``num_classes`` classes.

        Raises:
            InvalidParameterError: a setting out of its range, or a metric that does not
                apply to ``num_classes`` classes; named as a parameter of ``owner``, the
                function that received the configuration.
        """
        check_int(self.folds, name="folds", owner=owner, low=2)
        check_int(self.seeds, name="seeds", owner=owner, low=1, high=MAX_SEEDS)
        metrics = LABEL_METRICS + (BINARY_METRICS if num_classes == 2 else ())
        check_option(self.metric, name="metric", owner=owner, options=metrics)
        check_int(self.epochs, name="epochs", owner=owner, low=1)
        if self.batch_size is not None:
            check_int(self.batch_size, name="batch_size", owner=owner, low=1)
        if self.eval_batch_size is not None:
            check_int(self.eval_batch_size, name="eval_batch_size", owner=owner, low=1)
        if self.patience is not None:
            check_int(self.patience, name="patience", owner=owner, low=1)
        check_real(self.val_fraction, name="val_fraction", owner=owner, low=0, high=0.9)
        if self.lr is not None:
            check_real(self.lr, name="lr", owner=owner, low=0, closed="neither")
        check_real(self.weight_decay, name="weight_decay", owner=owner, low=0)
        if self.dropout is not None:
            check_real(self.dropout, name="dropout", owner=owner, low=0, high=1, closed="left")
        check_int_sequence(self.hidden, name="hidden", owner=owner, low=1)
        if self.num_threads is not None:
            check_int(self.num_threads, name="num_threads", owner=owner, low=1, high=MAX_THREADS)
        check_device(self.device, name="device", owner=owner)
        load_factory(self.model, owner=owner)  # a bad name fails here, before any training

    def plan(self, num_rows: int) -> TrainingPlan:
        """The batch size, learning rate, dropout and patience of training on ``num_rows`` rows.

        Each is the setting given, or the table's policy (see above) for those left None.

        Args:
            num_rows: the number of training rows.

        Returns:
            The :class:`TrainingPlan`.
        """
        small = num_rows <= SMALL_TABLE
        batch_size = self.batch_size or auto_batch_size(num_rows)
        return TrainingPlan(
            batch_size=batch_size,
            lr=self.lr if self.lr is not None else auto_lr(batch_size),
            dropout=self.dropout if self.dropout is not None else (0.1 if small else 0.0),
            patience=self.patience if self.patience is not None else (20 if small else 10),
        )


@dataclass(frozen=True)
class TrainingPlan:
    """What :meth:`CompareConfig.plan` decides for one table: see there."""

    batch_size: int
    lr: float
    dropout: float
    patience: int
