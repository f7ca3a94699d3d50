"""Class-balanced sampling: draw a class, then a sample of that class.

:class:`ClassBalancedSampler` yields ``num_samples`` indices per epoch. Each index is drawn
by first picking a class ``c`` with probability ``q_c``, then a sample of class ``c``
uniformly (with replacement). With the default ``q_c = 1 / C`` every class is seen equally
often (class-balanced resampling, as in Kang et al., 2020); ``power`` interpolates towards
instance-balanced sampling: ``q_c ∝ n_c ** power`` (``power=1`` is plain random sampling
with replacement, ``power=0.5`` is square-root sampling); ``class_weight`` gives every
sample of class ``c`` the weight ``w_c``, so ``q_c ∝ n_c * w_c`` (what
``WeightedRandomSampler(sample_weight(labels, w))`` draws).

Drawing a class first and then an index within it never builds a multinomial over all
samples, so there is no 2**24 limit (``WeightedRandomSampler`` fails above it), and the
epoch is generated in chunks: memory is O(dataset) for the index, O(chunk) for the draw.

The draw is reproducible: epoch ``e`` uses a generator seeded with ``(seed, e)``; call
:meth:`ClassBalancedSampler.set_epoch` between epochs, as with PyTorch's
``DistributedSampler``. :class:`DistributedClassBalancedSampler` splits the same global
stream between ranks: rank ``r`` of ``R`` takes positions ``r, r + R, r + 2R, ...``, so the
ranks' streams are disjoint, of equal length, and together are the one-process stream.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import Dataset, Sampler

from . import _dist
from ._sources import _check_integer_labels, _dataset_targets, _list_kind, _pick_target, _to_tensor
from ._validation import check_int, check_real, check_vector
from .counts import class_counts
from .exceptions import DataError, InvalidParameterError

__all__ = ["ClassBalancedSampler", "DistributedClassBalancedSampler"]

#: Samples drawn at a time while iterating (rounded down to a multiple of the ranks).
CHUNK = 1 << 20


def _labels_of(source: Any, owner: str) -> torch.Tensor:
    """1-D int64 labels of a container or dataset (its targets attribute when it has one),
    checked like :func:`underdog.class_counts` checks them (no floats, NaN or strings).

    A list of samples (dicts, or tuples holding tensors, see ``_sources._batch_kind``) is
    read like a dataset, as ``DataLoader`` reads it.
    """
    samples = None
    if isinstance(source, Dataset):
        dataset, source = source, _dataset_targets(source, name="labels", owner=owner)
        if source is None:  # loads every sample once
            samples = (dataset[i] for i in range(len(dataset)))  # type: ignore[arg-type]
    elif _list_kind(source) in ("dict", "tuple"):
        samples = iter(source)
    if samples is not None:
        labels = []
        for index, sample in enumerate(samples):
            label = _pick_target(sample, None, name="labels", owner=owner, what="sample")
            label = _to_tensor(label, name="labels", owner=owner)
            if label.numel() != 1:
                raise DataError(
                    f"The 'labels' parameter of {owner} must give one class index per sample. "
                    f"Got labels of shape {tuple(label.shape)} at index {index} instead."
                )
            labels.append(label.reshape(()))
        source = torch.stack(labels) if labels else torch.zeros(0, dtype=torch.long)
    tensor = _to_tensor(source, name="labels", owner=owner)
    if tensor.ndim > 1 and tensor.numel() != tensor.shape[0]:
        raise DataError(
            f"The 'labels' parameter of {owner} must give one class index per sample. "
            f"Got labels of shape {tuple(tensor.shape)} instead."
        )
    return _check_integer_labels(tensor, name="labels", owner=owner).cpu().reshape(-1).long()


class ClassBalancedSampler(Sampler[int]):
    """Sample indices so that classes appear with chosen probabilities.

    Args:
        labels: integer class indices ``(N,)`` of the dataset (anything
            :func:`underdog.class_counts` accepts as a container), or the dataset itself:
            its ``targets`` / ``labels`` attribute is used when it has one (also through
            ``Subset``), so features are not loaded. A list of samples (dicts, or tuples
            ``(x, y, ...)`` holding tensors) is read like a dataset, as ``DataLoader``
            reads it; each sample must give one label.
        num_samples: indices per epoch over all ranks; defaults to ``N``.
        class_probabilities: ``q_c`` of shape ``(C,)``, normalised here; classes without
            samples must have probability 0.
        power: ``q_c ∝ n_c ** power``; the default (nothing given) is ``power=0``, uniform
            over the classes that occur.
        class_weight: per-class weights ``w_c``: ``q_c ∝ n_c * w_c``.
        num_replicas: the number of ranks that share the stream (default 1).
        rank: this rank, in ``[0, num_replicas)`` (default 0).
        seed: base seed of the per-epoch generator; the same on every rank.

    At most one of ``class_probabilities``, ``power`` and ``class_weight`` may be given.

    Example:
        >>> sampler = ClassBalancedSampler([0] * 90 + [1] * 10, num_samples=1000, seed=0)
        >>> labels = torch.tensor([0] * 90 + [1] * 10)[list(sampler)]
        >>> 400 < int(labels.sum()) < 600
        True

    References:
        B. Kang et al., "Decoupling Representation and Classifier for Long-Tailed
        Recognition", ICLR 2020.
    """

    def __init__(
        self,
        labels: Any,
        *,
        num_samples: int | None = None,
        class_probabilities: Any = None,
        power: float | None = None,
        class_weight: Any = None,
        num_replicas: int = 1,
        rank: int = 0,
        seed: int = 0,
    ) -> None:
        owner = type(self).__name__
        tensor = _labels_of(labels, owner)
        counts = class_counts(tensor, distributed=False)
        self.num_samples = check_int(
            len(tensor) if num_samples is None else num_samples,
            name="num_samples",
            owner=owner,
            low=1,
        )
        self.seed = check_int(seed, name="seed", owner=owner)
        self.num_replicas = check_int(num_replicas, name="num_replicas", owner=owner, low=1)
        self.rank = check_int(rank, name="rank", owner=owner, low=0, high=self.num_replicas - 1)
        given = [
            name
            for name, value in (
                ("class_probabilities", class_probabilities),
                ("power", power),
                ("class_weight", class_weight),
            )
            if value is not None
        ]
        if len(given) > 1:
            raise InvalidParameterError(
                f"The 'class_probabilities', 'power' and 'class_weight' parameters of {owner} "
                f"are mutually exclusive: pass at most one. Got {', '.join(given)}."
            )
        vector = class_probabilities if class_probabilities is not None else class_weight
        if vector is not None:
            name = given[0]
            q = check_vector(vector, name=name, owner=owner).to(torch.float64)
            if q.numel() < counts.numel():
                raise InvalidParameterError(
                    f"The '{name}' parameter of {owner} must have one entry per class "
                    f"({counts.numel()}). Got {q.numel()} instead."
                )
            counts = torch.nn.functional.pad(counts, (0, q.numel() - counts.numel()))
            if class_weight is not None:
                q = q * counts
            empty = (q > 0) & (counts == 0)
            if bool(empty.any()):
                raise DataError(
                    f"The '{name}' parameter of {owner} gives probability to classes "
                    f"{empty.nonzero().reshape(-1).tolist()}, which have no samples."
                )
        else:
            p = 0.0 if power is None else check_real(power, name="power", owner=owner, low=0)
            q = torch.where(counts > 0, counts.to(torch.float64) ** p, 0.0)
        if float(q.sum()) <= 0:
            raise DataError(f"The class probabilities of {owner} sum to 0.")
        self.class_probabilities = q / q.sum()
        self._sorted = torch.argsort(tensor, stable=True)
        self._starts = torch.cumsum(counts, 0) - counts
        self._counts = counts
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Use the draw of ``epoch`` on the next iteration."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        """The indices this rank yields per epoch: ``ceil(num_samples / num_replicas)``."""
        return -(-self.num_samples // self.num_replicas)

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        total = len(self) * self.num_replicas
        chunk = max(CHUNK - CHUNK % self.num_replicas, self.num_replicas)
        for start in range(0, total, chunk):
            size = min(chunk, total - start)
            classes = torch.multinomial(
                self.class_probabilities, size, replacement=True, generator=generator
            )
            within = torch.rand(size, generator=generator, dtype=torch.float64)
            offsets = (within * self._counts[classes]).long()
            drawn = self._sorted[self._starts[classes] + offsets]
            yield from drawn[self.rank :: self.num_replicas].tolist()


class DistributedClassBalancedSampler(ClassBalancedSampler):
    """:class:`ClassBalancedSampler` whose ranks default to ``torch.distributed``'s.

    Every rank builds it from the labels of the *whole* dataset (like PyTorch's
    ``DistributedSampler``) with the same ``seed``; each rank then yields its own
    ``ceil(num_samples / world_size)`` positions of the shared stream. Call
    ``set_epoch(epoch)`` on every rank before each epoch.

    Args:
        labels, num_samples, class_probabilities, power, class_weight, seed: as for
            :class:`ClassBalancedSampler`.
        num_replicas: defaults to the world size of the default process group.
        rank: defaults to this process's rank.
    """

    def __init__(
        self,
        labels: Any,
        *,
        num_replicas: int | None = None,
        rank: int | None = None,
        **kwargs: Any,
    ) -> None:
        if num_replicas is None or rank is None:
            if not _dist.initialized():
                raise InvalidParameterError(
                    f"The 'num_replicas' and 'rank' parameters of {type(self).__name__} are "
                    "required when torch.distributed is not initialised. Got None."
                )
            num_replicas = _dist.world_size() if num_replicas is None else num_replicas
            rank = _dist.rank() if rank is None else rank
        super().__init__(labels, num_replicas=num_replicas, rank=rank, **kwargs)
