"""The sources of :func:`~underdog.training.fit`'s batches on the training device.

:func:`~underdog.training.fit` trains on tensors, arrays, datasets and loaders, turned into
batches on the training device.

A *source* yields, for each epoch, this rank's micro-batches as ``Batch(inputs, target,
sample_weight)``:

- :class:`TensorSource`: features and labels in memory (arrays or tensors on any device).
  Rows are gathered per batch and moved to the device batch by batch (through pinned
  memory on CUDA), never all at once.
- :class:`LoaderSource`: a map-style ``Dataset``, an ``IterableDataset`` or a
  ``DataLoader``. A dataset is read through a ``DataLoader`` this module builds; a
  ``DataLoader`` is used as given.

The order of an epoch: a sampler's indices when one is given (after ``set_epoch``), else a
permutation of the rows from a generator seeded with ``seed + epoch`` (the permutation
PyTorch's ``DistributedSampler`` draws). The order is cut into *global* batches of
``batch_size`` rows; under data parallelism rank ``r`` of ``R`` takes positions ``r, r + R,
...`` of each global batch, so every rank makes the same number of steps and the ranks'
rows of a step are exactly the rows one process would train on. A sampler that already
splits its stream between ranks (``num_replicas > 1``, such as
:class:`~underdog.samplers.DistributedClassBalancedSampler` or ``DistributedSampler``)
gives this rank's stream: it is cut into batches of ``batch_size / R``, which are the
same rows.

A ``DataLoader`` you build draws the seed of its workers (and, shuffling without a
generator, its order) from the global RNG, which dropout draws from too: give it
``generator=torch.Generator()`` for a run that does not depend on how many batches were
read. The loaders :func:`~underdog.training.fit` builds have their own generators.

A batch from a dataset or loader is a tuple ``(x, y)`` / ``(x, y, sample_weight)`` or a
dict; :func:`split_batch` maps it to ``(inputs, target, sample_weight)``, and ``fit``
takes any other such function as ``batch_to_inputs``. The model is called as
``model(inputs)``, ``model(*inputs)`` for a tuple or list, ``model(**inputs)`` for a dict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset

from .._validation import describe
from ..exceptions import DataError, InvalidParameterError, ShapeError
from ..labels import _LABEL_KEYS
from ._tensors import as_tensor

__all__ = [
    "TARGET_KEYS",
    "Batch",
    "LoaderSource",
    "TensorSource",
    "call_model",
    "make_source",
    "split_batch",
    "to_device",
]

#: Dict keys :func:`split_batch` reads the target from, in this order: those of
#: :mod:`underdog.labels` (class counts, samplers), the one tuple shared by the library.
TARGET_KEYS = _LABEL_KEYS
#: The dict key of per-sample weights.
WEIGHT_KEY = "sample_weight"


@dataclass(frozen=True)
class Batch:
    """One micro-batch: the model's inputs, the target and optional per-sample weights."""

    inputs: Any
    target: torch.Tensor
    sample_weight: torch.Tensor | None = None

    @property
    def size(self) -> int:
        """The number of samples (the target's first dimension)."""
        return int(self.target.shape[0]) if self.target.ndim else 1


def split_batch(batch: Any) -> tuple[Any, Any, Any]:
    """``(inputs, target, sample_weight)`` of a batch as datasets usually give it.

    A tuple or list ``(x, y)`` or ``(x, y, sample_weight)``; a dict whose target is under
    one of :data:`TARGET_KEYS` (the other entries, but ``sample_weight``, are the inputs,
    passed to the model as keywords).

    Raises:
        DataError: a batch of another form (pass ``batch_to_inputs`` to ``fit``).
    """
    if isinstance(batch, Mapping):
        key = next((k for k in TARGET_KEYS if k in batch), None)
        if key is None:
            raise DataError(
                f"The 'batch' parameter of split_batch must be a dict with one of the keys "
                f"{', '.join(map(repr, TARGET_KEYS))} holding the labels. Got the keys "
                f"{list(batch)} instead; pass batch_to_inputs to fit for other batches."
            )
        inputs = {k: v for k, v in batch.items() if k not in (key, WEIGHT_KEY)}
        return inputs, batch[key], batch.get(WEIGHT_KEY)
    if isinstance(batch, (tuple, list)) and len(batch) in (2, 3):
        return batch[0], batch[1], batch[2] if len(batch) == 3 else None
    what = (
        f"a {type(batch).__name__} of length {len(batch)}"
        if isinstance(batch, (tuple, list))
        else describe(batch)
    )
    raise DataError(
        "The 'batch' parameter of split_batch must be (x, y), (x, y, sample_weight) or a "
        f"dict with the labels under 'target' or 'label'. Got {what} instead; a loader "
        "that yields only features has no labels to train on (pass batch_to_inputs to fit "
        "to read other batches)."
    )


def to_device(value: Any, device: torch.device, *, non_blocking: bool = False) -> Any:
    """``value`` with every tensor in it (in tuples, lists and dicts too) on ``device``."""
    if isinstance(value, torch.Tensor):
        return value.to(device, non_blocking=non_blocking)
    if isinstance(value, Mapping):
        return {k: to_device(v, device, non_blocking=non_blocking) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return type(value)(to_device(v, device, non_blocking=non_blocking) for v in value)
    return value


def call_model(model: Callable[..., torch.Tensor], inputs: Any) -> torch.Tensor:
    """Call ``model`` on a batch's ``inputs``, unpacked as the model takes them.

    A tuple or list is passed as positional arguments, a dict as keyword arguments, anything
    else as the one argument.

    Args:
        model: the model (any callable).
        inputs: the batch's inputs.

    Returns:
        ``model(inputs)``, ``model(*inputs)`` or ``model(**inputs)``.
    """
    if isinstance(inputs, Mapping):
        return model(**inputs)
    if isinstance(inputs, (tuple, list)):
        return model(*inputs)
    return model(inputs)


def _as_batch(parts: tuple[Any, Any, Any], device: torch.device, non_blocking: bool) -> Batch:
    """A :class:`Batch` on ``device`` from ``(inputs, target, sample_weight)``."""
    inputs, target, weight = parts
    if not isinstance(target, torch.Tensor):
        target = torch.as_tensor(np.asarray(target))
    if weight is not None and not isinstance(weight, torch.Tensor):
        weight = torch.as_tensor(np.asarray(weight), dtype=torch.get_default_dtype())
    return Batch(
        inputs=to_device(inputs, device, non_blocking=non_blocking),
        target=target.to(device, non_blocking=non_blocking),
        sample_weight=None if weight is None else weight.to(device, non_blocking=non_blocking),
    )


# ----------------------------------------------------------------------------- order


def rank_split(sampler: Any) -> int:
    """The number of ranks a sampler already splits its stream between (1: it does not)."""
    replicas = getattr(sampler, "num_replicas", 1)
    return int(replicas) if isinstance(replicas, (int, np.integer)) else 1


def epoch_order(
    num_rows: int | None, sampler: Iterable[int] | None, *, seed: int, epoch: int
) -> torch.Tensor:
    """The row indices of ``epoch``, in the order the epoch reads them.

    They are the sampler's (after ``set_epoch``), else a permutation of ``num_rows`` from a
    generator seeded with ``seed + epoch``.
    """
    if sampler is None:
        assert num_rows is not None  # a source without a length always has a sampler
        generator = torch.Generator().manual_seed(seed + epoch)
        return torch.randperm(num_rows, generator=generator)
    set_epoch = getattr(sampler, "set_epoch", None)
    if callable(set_epoch):
        set_epoch(epoch)
    return torch.as_tensor(list(sampler), dtype=torch.long)


def rank_batches(
    order: torch.Tensor, *, batch_size: int, world: int, rank: int, split: bool
) -> Iterator[torch.Tensor]:
    """This rank's index batches of ``order``.

    ``split=False``: ``order`` is the global order, cut into global batches of
    ``batch_size`` of which this rank takes positions ``rank::world``. ``split=True``:
    ``order`` is already this rank's stream, cut into batches of ``batch_size / world``.
    """
    if split:
        local = batch_size // world
        for start in range(0, len(order), local):
            yield order[start : start + local]
        return
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size][rank::world]


# ----------------------------------------------------------------------------- sources


class TensorSource:
    """Features and labels (and optional sample weights) held in memory.

    The features are converted to ``dtype`` (the model's), once, where they are.
    """

    def __init__(
        self, x: Any, y: Any, sample_weight: Any = None, *, dtype: torch.dtype = torch.float32
    ) -> None:
        self.x = _rows_tensor(x, name="x", dtype=dtype)
        self.y = _rows_tensor(y, name="y", dtype=torch.long)
        self.sample_weight = (
            None
            if sample_weight is None
            else _rows_tensor(sample_weight, name="sample_weight", dtype=torch.get_default_dtype())
        )
        for name, rows in (("y", self.y), ("sample_weight", self.sample_weight)):
            if rows is not None and rows.shape[0] != self.x.shape[0]:
                raise ShapeError(
                    f"The '{name}' parameter of fit must have one row per row of x "
                    f"({self.x.shape[0]}). Got {rows.shape[0]} rows instead."
                )

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def labels(self) -> torch.Tensor:
        """The labels of every row (for counts and class-balanced samplers)."""
        return self.y

    def batches(self, indices: Iterable[torch.Tensor], device: torch.device) -> Iterator[Batch]:
        """The rows of each index batch, moved to ``device`` as they are used."""
        pin = device.type == "cuda" and self.x.device.type == "cpu"
        for index in indices:
            index = index.to(self.x.device)
            parts = (  # index_select: about 3x faster than x[index] for row gathers on the CPU
                self.x.index_select(0, index),
                self.y.index_select(0, index),
                None if self.sample_weight is None else self.sample_weight.index_select(0, index),
            )
            if pin:
                parts = tuple(None if p is None else p.pin_memory() for p in parts)  # type: ignore[assignment]
            yield _as_batch(parts, device, non_blocking=pin)


def _rows_tensor(value: Any, *, name: str, dtype: torch.dtype) -> torch.Tensor:
    """``value`` as a tensor of ``dtype`` (:func:`as_tensor`: a tensor stays on its device)."""
    try:
        return as_tensor(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"The '{name}' parameter of fit must be an array, a tensor, a Dataset or a "
            f"DataLoader. Got {describe(value)} instead."
        ) from exc


class LoaderSource:
    """A map-style ``Dataset``, an ``IterableDataset`` or a ``DataLoader``."""

    def __init__(
        self,
        data: Dataset[Any] | DataLoader[Any],
        *,
        batch_to_inputs: Callable[[Any], tuple[Any, Any, Any]] | None,
        num_workers: int = 0,
        pin_memory: bool = False,
    ) -> None:
        self.data = data
        self.split = batch_to_inputs or split_batch
        self.num_workers = num_workers
        self.pin_memory = pin_memory

    @property
    def is_loader(self) -> bool:
        """A ``DataLoader`` given by the user: iterated as it is."""
        return isinstance(self.data, DataLoader)

    @property
    def is_iterable(self) -> bool:
        """An ``IterableDataset`` (no length, no indices): read in its own order."""
        return isinstance(self.data, IterableDataset)

    def __len__(self) -> int:
        return len(self.data)  # type: ignore[arg-type]

    def batches(
        self,
        indices: Iterable[torch.Tensor] | None,
        device: torch.device,
        *,
        batch_size: int,
    ) -> Iterator[Batch]:
        """The batches of the epoch, those of ``indices`` or the data's own.

        ``indices`` (one list per batch) index a map-style dataset; when ``indices`` is
        None, the batches are the loader's / iterable dataset's own.
        """
        pin = self.pin_memory and device.type == "cuda"
        loader: Iterable[Any]
        if isinstance(self.data, DataLoader):  # the user's loader, used as it is
            loader = self.data
        else:
            # A generator of its own: a DataLoader draws its workers' base seed from it,
            # which would otherwise shift the global RNG that dropout draws from.
            generator = torch.Generator().manual_seed(0)
            if indices is None:
                loader = DataLoader(
                    self.data,
                    batch_size=batch_size,
                    num_workers=self.num_workers,
                    pin_memory=pin,
                    generator=generator,
                )
            else:
                batches = [index.tolist() for index in indices]
                loader = DataLoader(
                    self.data,
                    batch_sampler=batches,
                    num_workers=self.num_workers,
                    pin_memory=pin,
                    generator=generator,
                )
        for raw in loader:
            yield _as_batch(self.split(raw), device, non_blocking=pin)


def make_source(
    x: Any,
    y: Any,
    *,
    sample_weight: Any = None,
    batch_to_inputs: Callable[[Any], tuple[Any, Any, Any]] | None = None,
    num_workers: int = 0,
    pin_memory: bool = False,
    name: str = "x",
    dtype: torch.dtype = torch.float32,
) -> TensorSource | LoaderSource:
    """The source of ``x`` (and ``y``, for arrays and tensors) for :func:`~underdog.training.fit`.

    Array features become ``dtype``.

    Args:
        x: features (an array or a tensor), a ``Dataset`` or a ``DataLoader``.
        y: the labels of array or tensor ``x``; None for a dataset or loader.
        sample_weight: per-row weights of array or tensor ``x``; None for a dataset or
            loader.
        batch_to_inputs: ``batch -> (inputs, target, sample_weight)`` for a dataset's or
            loader's batches; :func:`split_batch` when None.
        num_workers: worker processes of the ``DataLoader`` built for a dataset.
        pin_memory: whether the ``DataLoader`` built for a dataset pins memory when
            training on CUDA.
        name: the parameter of ``fit`` that ``x`` is (``"x"`` or ``"x_val"``), for messages.
        dtype: the dtype of array features (the model's).

    Returns:
        A :class:`TensorSource` for arrays and tensors, a :class:`LoaderSource` for a
        dataset or loader.

    Raises:
        InvalidParameterError: ``y`` or ``sample_weight`` given with a dataset or loader
            (their batches carry them), or missing for arrays.
    """
    if isinstance(x, (Dataset, DataLoader)):
        if y is not None or sample_weight is not None:
            label = ("y" if name == "x" else "y_val") if y is not None else "sample_weight"
            given = describe(y if y is not None else sample_weight)
            raise InvalidParameterError(
                f"The '{label}' parameter of fit must be None when '{name}' is a Dataset or a "
                f"DataLoader, whose batches hold the labels. Got {given} instead."
            )
        return LoaderSource(
            x, batch_to_inputs=batch_to_inputs, num_workers=num_workers, pin_memory=pin_memory
        )
    if y is None:
        label = "y" if name == "x" else "y_val"
        raise InvalidParameterError(
            f"The '{label}' parameter of fit must hold the labels when '{name}' is an array or "
            "a tensor. Got None instead."
        )
    return TensorSource(x, y, sample_weight, dtype=dtype)
