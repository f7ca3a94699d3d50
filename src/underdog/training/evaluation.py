"""Evaluation during training: the validation logits and the score early stopping watches.

The logits are those of a whole validation set, computed in batches.

Under data parallelism each rank computes the logits of its part of the validation set
(a contiguous block of the rows of a tensor or map-style dataset; its own loader's batches
otherwise) and the parts are gathered on every rank, so that every rank sees the same
scores and stops at the same epoch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from .._validation import message
from ..exceptions import InvalidParameterError
from ..metrics import BINARY_METRICS, LABEL_METRICS, METRICS, evaluate, label_metric
from ..posthoc import softmax
from ._steps import Objective, autocast
from .data import Batch, LoaderSource, TensorSource, call_model

__all__ = ["MONITORS", "check_monitor", "gather_rows", "score", "validation_logits"]

#: Names ``fit(monitor=...)`` accepts besides a callable: ``"val_loss"`` (minus the
#: validation loss) and the metrics of :mod:`underdog.metrics`.
MONITORS = ("val_loss", *METRICS)


def check_monitor(monitor: object, *, num_classes: int, what: str) -> None:
    """Refuse a metric of two classes only for a problem of other than two classes.

    Such a metric (:data:`~underdog.metrics.BINARY_METRICS`) has no value there: every
    epoch's score would be NaN, and early stopping would keep the first epoch.

    Args:
        monitor: ``fit``'s monitor.
        num_classes: the number of classes, or a lower bound of it.
        what: how ``num_classes`` is known, for the message, such as ``"labels up to 2"``.

    Raises:
        InvalidParameterError: ``monitor`` is a metric of two classes only and
            ``num_classes`` is not 2.
    """
    if isinstance(monitor, str) and monitor in BINARY_METRICS and num_classes != 2:
        label = ", ".join(repr(name) for name in LABEL_METRICS)
        binary = ", ".join(repr(name) for name in BINARY_METRICS)
        raise InvalidParameterError(
            message(
                "monitor",
                "fit",
                must=f"be 'val_loss', a callable or one of {label} for other than two classes "
                f"({binary} need exactly two)",
                got=f"{monitor!r} with {what}",
            )
        )


def gather_rows(tensor: torch.Tensor, world: int) -> torch.Tensor:
    """The ranks' tensors concatenated along dim 0, in rank order, on every rank."""
    if world == 1:
        return tensor
    sizes = torch.tensor([tensor.shape[0]], device=tensor.device)
    all_sizes = [torch.zeros_like(sizes) for _ in range(world)]
    torch.distributed.all_gather(all_sizes, sizes)
    longest = int(max(int(s) for s in all_sizes))
    padded = torch.zeros((longest, *tensor.shape[1:]), dtype=tensor.dtype, device=tensor.device)
    padded[: tensor.shape[0]] = tensor
    parts = [torch.empty_like(padded) for _ in range(world)]
    torch.distributed.all_gather(parts, padded)
    return torch.cat([part[: int(size)] for part, size in zip(parts, all_sizes, strict=True)])


def _batches(
    source: TensorSource | LoaderSource,
    device: torch.device,
    *,
    batch_size: int,
    world: int,
    rank: int,
) -> Any:
    """This rank's validation batches, in the data's order."""
    if isinstance(source, LoaderSource) and (source.is_loader or source.is_iterable):
        return source.batches(None, device, batch_size=batch_size)
    rows = len(source)
    start, stop = rank * rows // world, (rank + 1) * rows // world
    order = torch.arange(start, stop)
    # At least one batch, so that zero rows give logits of shape (0, C).
    indices = [order[i : i + batch_size] for i in range(0, max(len(order), 1), batch_size)]
    if isinstance(source, TensorSource):
        return source.batches(indices, device)
    return source.batches(indices, device, batch_size=batch_size)


def validation_logits(
    model: nn.Module,
    source: TensorSource | LoaderSource,
    device: torch.device,
    *,
    batch_size: int,
    precision: str = "32",
    world: int = 1,
    rank: int = 0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """``(logits, target, sample_weight)`` of every validation row, gathered from all ranks.

    Computed in eval mode, without gradients; the logits are float32 on ``device``.

    Args:
        model: the model, left in eval mode.
        source: the validation data.
        device: the device the model runs on.
        batch_size: rows per forward pass.
        precision: ``"32"``, ``"bf16"`` or ``"fp16"``, as in training.
        world: the number of data-parallel ranks.
        rank: this process's rank, which computes the logits of its part of the rows.

    Returns:
        ``(logits, target, sample_weight)``; ``sample_weight`` is None unless every batch
        carries weights.
    """
    model.eval()
    logits: list[torch.Tensor] = []
    targets: list[torch.Tensor] = []
    weights: list[torch.Tensor | None] = []
    with torch.no_grad(), autocast(precision, device):
        for batch in _batches(source, device, batch_size=batch_size, world=world, rank=rank):
            logits.append(call_model(model, batch.inputs).float())
            targets.append(batch.target)
            weights.append(batch.sample_weight)
    if not logits:
        raise ValueError("the validation data yielded no batch")  # a source always yields
    given = [w for w in weights if w is not None]
    weight = torch.cat(given) if len(given) == len(weights) else None  # None: a batch had none
    gathered = gather_rows(torch.cat(logits), world), gather_rows(torch.cat(targets), world)
    return gathered[0], gathered[1], None if weight is None else gather_rows(weight, world)


def score(
    objective: Objective,
    logits: torch.Tensor,
    target: torch.Tensor,
    sample_weight: torch.Tensor | None,
    monitor: str | Callable[[np.ndarray, np.ndarray], float],
) -> tuple[float, float]:
    """``(val_loss, score)``: the loss over all validation rows, and the monitored score.

    The score is higher-is-better: ``-val_loss``, a metric of :mod:`underdog.metrics` from
    the softmax of the logits, or ``monitor(logits, target)`` of a callable.

    Args:
        objective: the training loss, as the step takes its mean.
        logits: the logits of every validation row.
        target: their labels.
        sample_weight: their weights, or None.
        monitor: ``"val_loss"``, the name of a metric, or a callable.

    Returns:
        ``(val_loss, score)``.

    Raises:
        InvalidParameterError: a metric of two classes only, and logits of other than two
            columns.
    """
    with torch.no_grad():
        val_loss = float(objective.value(logits, Batch(None, target, sample_weight)))
    if monitor == "val_loss":
        return val_loss, -val_loss
    logits_np = logits.double().cpu().numpy()
    target_np = target.cpu().numpy()
    if callable(monitor):
        return val_loss, float(monitor(logits_np, target_np))
    columns = logits_np.shape[1]
    check_monitor(monitor, num_classes=columns, what=f"a model of {columns} output(s)")
    proba = softmax(logits_np)
    if monitor in ("roc_auc", "average_precision"):  # from the probabilities, two classes
        scalars, _ = evaluate(target_np, proba)
        return val_loss, float(scalars[monitor])
    # One metric of the hard predictions, with evaluate's predictions and minority class.
    minority = int(np.bincount(target_np, minlength=columns).argmin())
    value = label_metric(
        monitor, target_np, proba.argmax(1), num_classes=columns, minority=minority
    )
    return val_loss, value
