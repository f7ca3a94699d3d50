"""The settings of :func:`~underdog.training.fit` and the batch-size and learning-rate policy.

The settings are checked once, where they enter; the policy scales with the table.

:func:`auto_batch_size` and :func:`auto_lr` are what ``underdog compare`` / ``train`` use
without ``--batch-size`` / ``--lr``: batches of 64 rows up to :data:`SMALL_TABLE` (8,192)
training rows (every KEEL table and digits-lt train as before), then the power of two
nearest to ``rows / 64``, so that an epoch is about 64 optimizer steps, up to 8,192 rows
per batch; the learning rate grows with the square root of the batch (``1e-3`` at 64
rows, ``8e-3`` at 4,096). Measured on a 200,000-row table (``benchmarks/bench_train.py``),
batches of 64 took 367 s where these take a few seconds, with a better G-mean.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import torch

from .._validation import check_bool, check_device, check_int, check_option, check_real, describe
from ..exceptions import InvalidParameterError
from ._steps import PRECISIONS
from .evaluation import MONITORS

__all__ = [
    "MAX_THREADS",
    "FitSettings",
    "auto_batch_size",
    "auto_lr",
    "check_settings",
]

#: The training rows up to which batches are 64 rows (128 steps an epoch at most).
SMALL_TABLE = 8192
#: The largest automatic batch.
MAX_BATCH = 8192
#: The most intra-op threads ``num_threads`` may ask for.
MAX_THREADS = 1024
#: The learning rate of AdamW at 64 rows per batch.
BASE_LR = 1e-3


def auto_batch_size(num_rows: int) -> int:
    """The automatic batch size of training on ``num_rows`` rows.

    64 rows up to :data:`SMALL_TABLE` training rows, then the power of two nearest to
    ``num_rows / 64`` (about 64 steps an epoch), at most :data:`MAX_BATCH`.

    Args:
        num_rows: the number of training rows.

    Returns:
        The number of rows per batch.

    Example:
        >>> [auto_batch_size(n) for n in (500, 8192, 20_000, 160_000, 10_000_000)]
        [64, 64, 256, 2048, 8192]
    """
    if num_rows <= SMALL_TABLE:
        return 64
    return int(min(MAX_BATCH, max(64, 2 ** round(math.log2(num_rows / 64)))))


def auto_lr(batch_size: int) -> float:
    """``1e-3 * sqrt(batch_size / 64)``: AdamW's learning rate for a batch size.

    Example:
        >>> auto_lr(64), auto_lr(4096)
        (0.001, 0.008)
    """
    return BASE_LR * math.sqrt(batch_size / 64)


@dataclass(frozen=True)
class FitSettings:
    """Every setting of :func:`~underdog.training.fit` but the data, model and loss."""

    epochs: int
    batch_size: int
    eval_batch_size: int
    accumulate: int
    max_steps: int | None
    max_time: float | None
    optimizer: Callable[[Iterable[torch.nn.Parameter]], torch.optim.Optimizer]
    scheduler: Callable[[torch.optim.Optimizer], Any] | None
    scheduler_interval: str
    grad_clip: float | None
    precision: str
    compile: bool
    patience: int | None
    monitor: str | Callable[..., float]
    num_workers: int
    seed: int
    num_threads: int | None
    device: torch.device | None
    distributed: bool


def _optimizer_factory(
    optimizer: Any, lr: float | None, weight_decay: float | None
) -> Callable[[Iterable[torch.nn.Parameter]], torch.optim.Optimizer]:
    """The optimizer factory: the given one, or AdamW with ``lr`` and ``weight_decay``."""
    owner = "fit"
    if optimizer is not None:
        if not callable(optimizer):
            raise InvalidParameterError(
                "The 'optimizer' parameter of fit must be a callable that takes the model's "
                f"parameters and returns an optimizer. Got {describe(optimizer)} instead."
            )
        if lr is not None or weight_decay is not None:
            raise InvalidParameterError(
                "The 'lr' and 'weight_decay' parameters of fit must be None with an optimizer "
                "factory, which sets its own. Got them with optimizer= instead."
            )
        factory: Callable[[Iterable[torch.nn.Parameter]], torch.optim.Optimizer] = optimizer
        return factory
    rate = check_real(1e-3 if lr is None else lr, name="lr", owner=owner, low=0.0, closed="neither")
    decay = check_real(
        1e-4 if weight_decay is None else weight_decay, name="weight_decay", owner=owner, low=0.0
    )
    return lambda params: torch.optim.AdamW(params, lr=rate, weight_decay=decay)


def _optional_int(value: Any, name: str, low: int, high: int | None = None) -> int | None:
    return None if value is None else check_int(value, name=name, owner="fit", low=low, high=high)


def check_settings(**options: Any) -> FitSettings:
    """Check every option of ``fit`` and return them as :class:`FitSettings`.

    Raises:
        InvalidParameterError: an option out of its range or of the wrong type.
    """
    owner = "fit"
    batch_size = check_int(options["batch_size"], name="batch_size", owner=owner, low=1)
    eval_batch_size = options["eval_batch_size"]
    monitor = options["monitor"] if options["monitor"] is not None else "val_loss"
    if not callable(monitor):
        check_option(monitor, name="monitor", owner=owner, options=MONITORS)
    max_time = options["max_time"]
    if max_time is not None:
        max_time = check_real(max_time, name="max_time", owner=owner, low=0.0, closed="neither")
    grad_clip = options["grad_clip"]
    if grad_clip is not None:
        grad_clip = check_real(grad_clip, name="grad_clip", owner=owner, low=0.0, closed="neither")
    scheduler = options["scheduler"]
    if scheduler is not None and not callable(scheduler):
        raise InvalidParameterError(
            "The 'scheduler' parameter of fit must be a callable that takes the optimizer and "
            f"returns a learning-rate scheduler. Got {describe(scheduler)} instead."
        )
    return FitSettings(
        epochs=check_int(options["epochs"], name="epochs", owner=owner, low=1),
        batch_size=batch_size,
        eval_batch_size=batch_size
        if eval_batch_size is None
        else check_int(eval_batch_size, name="eval_batch_size", owner=owner, low=1),
        accumulate=check_int(options["accumulate"], name="accumulate", owner=owner, low=1),
        max_steps=_optional_int(options["max_steps"], "max_steps", 1),
        max_time=max_time,
        optimizer=_optimizer_factory(options["optimizer"], options["lr"], options["weight_decay"]),
        scheduler=scheduler,
        scheduler_interval=check_option(
            options["scheduler_interval"],
            name="scheduler_interval",
            owner=owner,
            options=("epoch", "step"),
        ),
        grad_clip=grad_clip,
        precision=check_option(
            options["precision"], name="precision", owner=owner, options=tuple(PRECISIONS)
        ),
        compile=check_bool(options["compile"], name="compile", owner=owner),
        patience=_optional_int(options["patience"], "patience", 1),
        monitor=monitor,
        num_workers=check_int(options["num_workers"], name="num_workers", owner=owner, low=0),
        seed=check_int(options["seed"], name="seed", owner=owner),
        num_threads=_optional_int(options["num_threads"], "num_threads", 1, MAX_THREADS),
        device=check_device(options["device"], name="device", owner=owner),
        distributed=check_bool(options["distributed"], name="distributed", owner=owner),
    )
