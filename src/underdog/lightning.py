"""Lightning integration: a callback for imbalance, and a sampler Lightning leaves alone.

:class:`ImbalanceCallback` counts the classes of the train dataset when training starts,
sets the loss's class weights or builds the loss from the counts, steps a schedule such as
:class:`underdog.DeferredReweighting` every epoch, and logs per-class recall and balanced
accuracy, gathered from every rank, at validation. Under DDP, Lightning shards a map-style
dataset through the sampler, so every rank holds the whole dataset and counts it alone;
an ``IterableDataset`` is each rank's shard, and its counts are summed across ranks.

:class:`LightningClassBalancedSampler` is :class:`underdog.ClassBalancedSampler` as a
``DistributedSampler``, which Lightning leaves in place (``use_distributed_sampler``)
instead of wrapping it: rank ``r`` of ``R`` yields positions ``r, r + R, ...`` of one
class-balanced stream, drawn anew each epoch through ``set_epoch``, which Lightning calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, IterableDataset

from . import _dist
from .counts import class_counts
from .exceptions import InvalidParameterError, MissingDependencyError, ShapeError
from .labels import _LABEL_KEYS
from .samplers import ClassBalancedSampler
from .weights import class_weight

try:
    import lightning.pytorch as pl
except ImportError as error:
    raise MissingDependencyError(
        "underdog.lightning needs Lightning, which is not installed: "
        "pip install 'underdog[lightning]'."
    ) from error

__all__ = ["ImbalanceCallback", "LightningClassBalancedSampler"]


class LightningClassBalancedSampler(ClassBalancedSampler, DistributedSampler[int]):
    """:class:`underdog.ClassBalancedSampler` that Lightning recognises as distributed.

    Build it from the labels of the whole dataset on every rank, with the same ``seed``. It
    reads the rank and world size of ``torch.distributed`` whenever it is measured or
    iterated, so the ``DataLoader`` may be built before the process group starts. Rank ``r``
    of ``R`` yields ``ceil(num_samples / R)`` indices: positions ``r, r + R, ...`` of the
    one-process stream of the epoch that Lightning sets through ``set_epoch``.

    Args:
        labels: the dataset (its ``targets`` / ``labels`` attribute is used when it has
            one) or its integer labels, as for :class:`underdog.ClassBalancedSampler`.
        num_samples: indices per epoch over all ranks; defaults to the dataset's length.
        class_probabilities: ``q_c`` of shape ``(C,)``.
        power: ``q_c ∝ n_c ** power`` (default 0: class-balanced).
        class_weight: ``q_c ∝ n_c * w_c``.
        seed: base seed of the per-epoch draw; the same on every rank.

    Example:
        >>> sampler = LightningClassBalancedSampler([0] * 90 + [1] * 10, seed=0)
        >>> isinstance(sampler, torch.utils.data.DistributedSampler), len(sampler)
        (True, 100)
        >>> list(sampler) == list(ClassBalancedSampler([0] * 90 + [1] * 10, seed=0))
        True
    """

    def __init__(
        self,
        labels: Any,
        *,
        num_samples: int | None = None,
        class_probabilities: Any = None,
        power: float | None = None,
        class_weight: Any = None,
        seed: int = 0,
    ) -> None:
        options = {"class_probabilities": class_probabilities, "class_weight": class_weight}
        super().__init__(labels, num_samples=num_samples, power=power, seed=seed, **options)

    def _follow_process_group(self) -> None:
        self.num_replicas = _dist.world_size()
        self.rank = _dist.rank()

    def __len__(self) -> int:
        """The indices this rank yields per epoch: ``ceil(num_samples / world_size)``."""
        self._follow_process_group()
        return super().__len__()

    def __iter__(self) -> Iterator[int]:
        """This rank's positions of the epoch's class-balanced stream."""
        self._follow_process_group()
        return super().__iter__()


def _batch_target(batch: Any, target: int | str | None) -> Any:
    """``batch[target]``, else ``y`` of ``(x, y, ...)`` or a dict's first key of _LABEL_KEYS."""
    if target is not None:
        return batch[target]
    if isinstance(batch, Mapping):
        for key in _LABEL_KEYS:
            if key in batch:
                return batch[key]
    elif isinstance(batch, (tuple, list)) and len(batch) >= 2:
        return batch[1]
    raise InvalidParameterError(
        "The 'target' parameter of ImbalanceCallback must say where the target of a "
        "validation batch is when the batch is neither (x, y, ...) nor a dict with one of "
        f"the keys {', '.join(_LABEL_KEYS)}. Got {type(batch).__name__} and target=None."
    )


def _predictions(logits: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Predicted classes shaped like ``target``, and the number of classes.

    ``argmax`` over dim 1 of ``(N, C, ...)`` logits; ``logit > 0`` for one logit per element.
    """
    if logits.is_floating_point():
        if logits.ndim == target.ndim + 1 and logits.shape[1] > 1:
            if logits.shape[:1] + logits.shape[2:] == target.shape:
                return logits.argmax(1), logits.shape[1]
        elif logits.numel() == target.numel() and logits.shape[0] == target.shape[0]:
            return (logits.reshape(target.shape) > 0).long(), 2
    raise ShapeError(
        "validation_step must return float logits of shape (N, C, ...) for a target (N, ...), "
        "or one logit per target element, for ImbalanceCallback. Got logits of shape "
        f"{tuple(logits.shape)} and dtype {logits.dtype} for a target of shape "
        f"{tuple(target.shape)}."
    )


def recall_metrics(confusion: torch.Tensor) -> dict[str, float]:
    """Per-class recall and balanced accuracy from a confusion matrix (rows: true class).

    As scikit-learn's ``recall_score(average=None, zero_division=0)`` and
    ``balanced_accuracy_score``: the recall of a class without samples is 0, and the
    balanced accuracy is the mean recall over the classes that have samples.

    Example:
        >>> recall_metrics(torch.tensor([[3, 1], [0, 2]]))
        {'recall_0': 0.75, 'recall_1': 1.0, 'balanced_accuracy': 0.875}
    """
    confusion = confusion.to(torch.float64).cpu()
    support = confusion.sum(1)
    recall = confusion.diagonal() / support.clamp(min=1)
    metrics = {f"recall_{c}": float(value) for c, value in enumerate(recall)}
    metrics["balanced_accuracy"] = float(recall[support > 0].mean())
    return metrics


class ImbalanceCallback(pl.Callback):
    """Count the training classes, weight and schedule the loss, and log per-class recall.

    Args:
        attribute: the name of the ``LightningModule`` attribute that holds the loss;
            required by ``scheme``, ``loss_factory`` and ``schedule``.
        scheme: set the ``weight`` buffer of the loss (an underdog loss such as
            :class:`underdog.CrossEntropyLoss`) to ``underdog.class_weight(counts, scheme=...)``
            at the start of training.
        loss_factory: ``counts -> nn.Module``, called at the start of training; the result,
            moved to the module's device, is assigned to ``attribute``. A loss has buffers,
            not parameters: the optimizer and DDP are set up before it exists.
        schedule: ``counts -> schedule``, called once the counts are known; the schedule's
            ``step(loss, epoch=epoch)`` runs at the start of every training epoch (for
            example ``lambda counts: underdog.DeferredReweighting(counts, start_epoch=10)``).
        num_classes: the number of classes, when the data may lack the last ones; defaults
            to the largest label + 1 (counts) and to the logits' class dimension (metrics).
        ignore_index: a target value that is neither counted nor evaluated (such as -100).
        target: where the target is in a training sample and a validation batch (an index
            or a dict key); by default ``y`` of ``(x, y, ...)`` or a dict's ``"target"``,
            ``"label"``, ``"labels"`` or ``"y"``, and a dataset's ``targets`` attribute.
        sharded: whether each rank's train dataset is its own shard (its counts are then
            summed across ranks). Defaults to True for an ``IterableDataset``, else False:
            Lightning gives every rank the whole map-style dataset.
        metrics: log ``{prefix}recall_{c}`` for every class ``c`` and
            ``{prefix}balanced_accuracy`` at the end of each validation epoch, from the
            logits that ``validation_step`` returns (a tensor, or a dict with ``"logits"``
            and optionally ``"target"``), gathered from every rank.
        prefix: the prefix of the logged names.

    Attributes:
        counts: the class counts of the train dataset, once training has started (with
            ``attribute`` given).
        metrics: the last validation's ``{name: value}``, as logged.

    Example:
        >>> import underdog
        >>> callback = ImbalanceCallback(
        ...     attribute="criterion",
        ...     loss_factory=lambda counts: underdog.LDAMLoss(counts=counts),
        ...     schedule=lambda counts: underdog.DeferredReweighting(counts, start_epoch=2),
        ... )
    """

    def __init__(
        self,
        *,
        attribute: str | None = None,
        scheme: str | None = None,
        loss_factory: Callable[[torch.Tensor], nn.Module] | None = None,
        schedule: Callable[[torch.Tensor], Any] | None = None,
        num_classes: int | None = None,
        ignore_index: int | None = None,
        target: int | str | None = None,
        sharded: bool | None = None,
        metrics: bool = True,
        prefix: str = "val_",
    ) -> None:
        _check_options(attribute, scheme, loss_factory, schedule, num_classes, prefix)
        self.attribute = attribute
        self.scheme = scheme
        self.loss_factory = loss_factory
        self.schedule = schedule
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.target = target
        self.sharded = sharded
        self.log_metrics = metrics
        self.prefix = prefix
        self.counts: torch.Tensor | None = None
        self.metrics: dict[str, float] = {}
        self._dataset: Any = None
        self._schedule: Any = None
        self._confusion: dict[int, torch.Tensor] = {}

    # ------------------------------------------------------------------------ training

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Refuse a class-balanced sampler that Lightning's distributed wrapper re-shards."""
        inner = _wrapped_sampler(trainer)
        if inner is not None and inner.num_replicas > 1:
            raise InvalidParameterError(
                f"The train DataLoader's sampler is a {type(inner).__name__} over "
                f"{inner.num_replicas} ranks that Lightning wrapped in its own distributed "
                "sampler, which shards it again: each rank would see 1/world_size of its part. "
                "Use underdog.lightning.LightningClassBalancedSampler, which Lightning leaves "
                "in place, or Trainer(use_distributed_sampler=False)."
            )

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Count and build the loss when the train dataset is new; step the schedule."""
        inner = _wrapped_sampler(trainer)
        if inner is not None:  # the wrapper of Lightning <= 2.5 does not forward set_epoch
            inner.set_epoch(trainer.current_epoch)
        if self.attribute is None:
            return
        loader = _train_loader(trainer)
        if loader.dataset is not self._dataset:
            self.counts = self._count(loader)
            self._dataset = loader.dataset
            self._build_loss(pl_module, self.counts)
            if self.schedule is not None:
                self._schedule = self.schedule(self.counts)
        if self._schedule is not None:
            loss = _loss_of(pl_module, self.attribute)
            self._schedule.step(loss, epoch=trainer.current_epoch)
            loss.to(pl_module.device)

    def _count(self, loader: DataLoader[Any]) -> torch.Tensor:
        dataset = loader.dataset
        iterable = isinstance(dataset, IterableDataset)
        sharded = iterable if self.sharded is None else self.sharded
        return class_counts(
            loader if iterable else dataset,
            num_classes=self.num_classes,
            ignore_index=self.ignore_index,
            target=self.target,
            distributed=sharded,
        )

    def _build_loss(self, pl_module: pl.LightningModule, counts: torch.Tensor) -> None:
        assert self.attribute is not None  # checked by on_train_epoch_start
        if self.loss_factory is not None:
            loss = self.loss_factory(counts)
            if not isinstance(loss, nn.Module):
                raise InvalidParameterError(
                    "The 'loss_factory' parameter of ImbalanceCallback must return a "
                    f"torch.nn.Module. Got {type(loss).__name__} instead."
                )
            setattr(pl_module, self.attribute, loss.to(pl_module.device))
        elif self.scheme is not None:
            loss = _loss_of(pl_module, self.attribute)
            if "weight" not in loss._buffers:
                raise InvalidParameterError(
                    f"The 'scheme' parameter of ImbalanceCallback needs the loss "
                    f"{self.attribute!r} to have a 'weight' buffer (an underdog loss such as "
                    f"CrossEntropyLoss). Got {type(loss).__name__} instead."
                )
            weight = class_weight(counts, scheme=self.scheme).to(pl_module.device)
            loss.weight = weight  # a buffer: follows .to() and state_dict()

    # ------------------------------------------------------------------------ validation

    def on_validation_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Start new confusion matrices."""
        self._confusion = {}

    def on_validation_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        """Add the batch's predictions to the confusion matrix of its dataloader."""
        if not self.log_metrics:
            return
        target = outputs.get("target") if isinstance(outputs, Mapping) else None
        target = _batch_target(batch, self.target) if target is None else target
        target = torch.as_tensor(target)
        logits = outputs["logits"] if isinstance(outputs, Mapping) else outputs
        if not isinstance(logits, torch.Tensor):
            raise InvalidParameterError(
                "validation_step must return logits (a tensor, or a dict with 'logits') for "
                f"ImbalanceCallback(metrics=True). Got {type(logits).__name__} instead."
            )
        predicted, num_classes = _predictions(logits.detach(), target)
        num_classes = max(num_classes, self.num_classes or 0)
        cells = target.long() * num_classes + predicted
        if self.ignore_index is not None:
            cells = cells[target != self.ignore_index]
        counts = torch.bincount(cells.reshape(-1), minlength=num_classes**2)
        confusion = counts.reshape(num_classes, num_classes)
        previous = self._confusion.get(dataloader_idx)
        self._confusion[dataloader_idx] = confusion if previous is None else previous + confusion

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Sum the confusion matrices across ranks and log recall and balanced accuracy."""
        self.metrics = {}
        several = len(self._confusion) > 1
        for index, confusion in sorted(self._confusion.items()):
            total = trainer.strategy.reduce(confusion, reduce_op="sum")
            suffix = f"/dataloader_idx_{index}" if several else ""
            for name, value in recall_metrics(total).items():
                self.metrics[f"{self.prefix}{name}{suffix}"] = value
        for name, value in self.metrics.items():
            pl_module.log(name, value, sync_dist=False)


def _check_options(
    attribute: str | None,
    scheme: str | None,
    loss_factory: Any,
    schedule: Any,
    num_classes: int | None,
    prefix: str,
) -> None:
    def fail(name: str, expected: str, got: str) -> InvalidParameterError:
        return InvalidParameterError(
            f"The '{name}' parameter of ImbalanceCallback must {expected}. Got {got} instead."
        )

    if attribute is not None and not (isinstance(attribute, str) and attribute.isidentifier()):
        raise fail("attribute", "be an attribute name", repr(attribute))
    if attribute is None and (scheme, loss_factory, schedule) != (None, None, None):
        raise fail(
            "attribute", "name the module's loss for scheme, loss_factory or schedule", "None"
        )
    if scheme is not None and (loss_factory, schedule) != (None, None):
        other = "loss_factory" if loss_factory is not None else "schedule"
        raise fail("scheme", f"be None when {other} is given (both set the weights)", repr(scheme))
    for name, value in (("loss_factory", loss_factory), ("schedule", schedule)):
        if value is not None and not callable(value):
            raise fail(name, "be a callable taking the counts", type(value).__name__)
    if num_classes is not None and (type(num_classes) is not int or num_classes < 2):
        raise fail("num_classes", "be an int >= 2", repr(num_classes))
    if not isinstance(prefix, str):
        raise fail("prefix", "be a str", type(prefix).__name__)


def _train_loader(trainer: pl.Trainer) -> DataLoader[Any]:
    loader = trainer.train_dataloader
    if not isinstance(loader, DataLoader):
        raise InvalidParameterError(
            "The train dataloaders of a Trainer with ImbalanceCallback must be one "
            f"torch DataLoader. Got {type(loader).__name__} instead."
        )
    return loader


def _loss_of(pl_module: pl.LightningModule, attribute: str) -> nn.Module:
    loss = getattr(pl_module, attribute, None)
    if not isinstance(loss, nn.Module):
        raise InvalidParameterError(
            "The 'attribute' parameter of ImbalanceCallback must name a torch.nn.Module "
            f"attribute of the LightningModule. Got {attribute!r}, holding "
            f"{type(loss).__name__}, instead."
        )
    return loss


def _wrapped_sampler(trainer: pl.Trainer) -> ClassBalancedSampler | None:
    """The underdog sampler inside Lightning's ``DistributedSamplerWrapper``, if any."""
    # Best effort: the wrapper keeps the sampler it wraps in dataset._sampler.
    sampler = getattr(trainer.train_dataloader, "sampler", None)
    inner = getattr(getattr(sampler, "dataset", None), "_sampler", None)
    return inner if isinstance(inner, ClassBalancedSampler) else None
