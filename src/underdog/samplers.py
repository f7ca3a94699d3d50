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
``DistributedSampler``.

**The ranks share one stream.** The one-process stream of an epoch is ``s_0, ..., s_{n-1}``,
the ``n = num_samples`` draws of that generator, made in chunks of :data:`CHUNK` draws
whatever the number of ranks. With ``R`` ranks it is extended to ``ceil(n / R) * R``
positions by repeating its first draws, as PyTorch's ``DistributedSampler`` pads: position
``p >= n`` holds ``s_{(p - n) mod n}``. Rank ``r`` yields positions ``r, r + R, r + 2R, ...``
of the extended stream: ``ceil(n / R)`` indices. So the ranks' streams are disjoint in
positions and of equal length, and taken in turn (rank 0's first, rank 1's first, ...,
rank 0's second, ...) they are exactly the one-process stream followed by its first
``ceil(n / R) * R - n`` draws (fewer than ``R``; none when ``R`` divides ``n``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import torch
from torch.utils.data import Dataset, Sampler

from . import _dist
from ._validation import (
    check_exclusive,
    check_int,
    check_real,
    check_vector,
    describe,
    listed,
    message,
)
from .counts import count_classes
from .exceptions import DataError, InvalidParameterError
from .labels import (
    as_label_tensor,
    check_integer_labels,
    check_not_one_hot,
    dataset_labels,
    list_batch_kind,
    pick_labels,
)

__all__ = ["ClassBalancedSampler", "DistributedClassBalancedSampler"]

#: Samples drawn at a time while iterating; the same for any number of ranks, so that every
#: rank draws the one-process stream.
CHUNK = 1 << 20


def _one_label_per_sample(shape: tuple[int, ...], where: str, owner: str) -> DataError:
    return DataError(
        message(
            "labels",
            owner,
            must="give one class index per sample",
            got=f"labels of shape {shape}{where}",
        )
    )


def _stack_sample_labels(samples: Iterable[object], owner: str) -> torch.Tensor:
    """The labels of samples ``(x, y, ...)`` or dicts, one class index each, stacked."""
    labels = []
    for index, sample in enumerate(samples):
        picked = pick_labels(sample, None, name="labels", owner=owner, what="sample")
        label = as_label_tensor(picked, name="labels", owner=owner)
        if label.numel() != 1:
            raise _one_label_per_sample(tuple(label.shape), f" at index {index}", owner)
        labels.append(label.reshape(()))
    return torch.stack(labels) if labels else torch.zeros(0, dtype=torch.long)


def _labels_of(source: object, owner: str) -> torch.Tensor:
    """1-D int64 labels of a container or dataset, checked like :func:`underdog.class_counts`.

    A dataset's targets attribute when it has one; no floats, NaN or strings.

    A list of samples (dicts, or tuples holding tensors, see
    :func:`underdog.labels.list_batch_kind`) is read like a dataset, as ``DataLoader``
    reads it.
    """
    if isinstance(source, Dataset):
        exposed = dataset_labels(source, name="labels", owner=owner)
        if exposed is None:  # loads every sample once
            samples = (source[i] for i in range(len(source)))  # type: ignore[arg-type]  # map-style
            exposed = _stack_sample_labels(samples, owner)
        source = exposed
    elif isinstance(source, (list, tuple)) and list_batch_kind(source) in ("dict", "tuple"):
        source = _stack_sample_labels(source, owner)
    tensor = check_integer_labels(
        as_label_tensor(source, name="labels", owner=owner), name="labels", owner=owner
    )
    check_not_one_hot(tensor, name="labels", owner=owner)
    if tensor.ndim > 1 and tensor.numel() != tensor.shape[0]:
        raise _one_label_per_sample(tuple(tensor.shape), "", owner)
    return tensor.cpu().reshape(-1).long()


def _class_probabilities(
    counts: torch.Tensor,
    *,
    class_probabilities: object,
    power: float | None,
    class_weight: object,
    owner: str,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(q, counts)``: the unnormalised class probabilities, and the counts padded to them.

    From the one option given (none: ``power=0``, uniform over the classes present).
    """
    given = check_exclusive(
        owner, class_probabilities=class_probabilities, power=power, class_weight=class_weight
    )
    vector = class_probabilities if class_probabilities is not None else class_weight
    if given is None or given == "power":
        p = 0.0 if power is None else check_real(power, name="power", owner=owner, low=0)
        return torch.where(counts > 0, counts.to(torch.float64) ** p, 0.0), counts
    q = check_vector(vector, name=given, owner=owner).to(torch.float64)
    if q.numel() < counts.numel():
        raise InvalidParameterError(
            message(
                given,
                owner,
                must=f"have one entry per class ({counts.numel()})",
                got=f"{q.numel()} entries",
            )
        )
    counts = torch.nn.functional.pad(counts, (0, q.numel() - counts.numel()))
    if given == "class_weight":
        q = q * counts
    empty = ((q > 0) & (counts == 0)).nonzero().reshape(-1).tolist()
    if empty:
        raise DataError(
            message(
                given,
                owner,
                must="give no probability to classes without samples",
                got=f"probability for classes {listed(empty)}, which have no samples,",
            )
        )
    if float(q.sum()) <= 0:
        raise DataError(
            message(
                given,
                owner,
                must="give a positive probability to some class",
                got=describe(vector),
            )
        )
    return q, counts


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
        labels: object,
        *,
        num_samples: int | None = None,
        class_probabilities: object = None,
        power: float | None = None,
        class_weight: object = None,
        num_replicas: int = 1,
        rank: int = 0,
        seed: int = 0,
    ) -> None:
        owner = type(self).__name__
        tensor = _labels_of(labels, owner)
        counts = count_classes(
            tensor,
            num_classes=None,
            ignore_index=None,
            target=None,
            distributed=False,
            owner=owner,
            takes_num_classes=False,
        )
        self.num_samples = check_int(
            len(tensor) if num_samples is None else num_samples,
            name="num_samples",
            owner=owner,
            low=1,
        )
        self.seed = check_int(seed, name="seed", owner=owner)
        self.num_replicas = check_int(num_replicas, name="num_replicas", owner=owner, low=1)
        self.rank = check_int(rank, name="rank", owner=owner, low=0, high=self.num_replicas - 1)
        q, counts = _class_probabilities(
            counts,
            class_probabilities=class_probabilities,
            power=power,
            class_weight=class_weight,
            owner=owner,
        )
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
        """This rank's positions of the epoch's stream (see the module docstring)."""
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        n, replicas, rank = self.num_samples, self.num_replicas, self.rank
        padding = len(self) * replicas - n  # positions n, ..., n + padding - 1 repeat s_0, ...
        first: list[int] = []  # the first min(padding, n) draws, which the padding repeats
        for start in range(0, n, CHUNK):
            drawn = self._draw(min(CHUNK, n - start), generator)
            if len(first) < padding:
                first += drawn[: padding - len(first)].tolist()
            # drawn[i] is position start + i: this rank's are i = rank - start (mod R), ...
            yield from drawn[(rank - start) % replicas :: replicas].tolist()
        for position in range(n + (rank - n) % replicas, n + padding, replicas):
            yield first[(position - n) % n]

    def _draw(self, size: int, generator: torch.Generator) -> torch.Tensor:
        """The next ``size`` indices of the stream: a class, then a sample of that class."""
        classes = torch.multinomial(
            self.class_probabilities, size, replacement=True, generator=generator
        )
        within = torch.rand(size, generator=generator, dtype=torch.float64)
        offsets = (within * self._counts[classes]).long()
        drawn: torch.Tensor = self._sorted[self._starts[classes] + offsets]
        return drawn


class DistributedClassBalancedSampler(ClassBalancedSampler):
    """:class:`ClassBalancedSampler` whose ranks default to ``torch.distributed``'s.

    Every rank builds it from the labels of the *whole* dataset (like PyTorch's
    ``DistributedSampler``) with the same ``seed``; each rank then yields its own
    ``ceil(num_samples / world_size)`` positions of the shared stream: rank ``r`` of ``R``
    positions ``r, r + R, ...`` of the one-process stream, padded at the end with its first
    draws to a multiple of ``R`` (see :mod:`underdog.samplers`), so the ranks together draw
    exactly what one process draws, plus fewer than ``R`` repeated draws. Call
    ``set_epoch(epoch)`` on every rank before each epoch.

    Args:
        labels, num_samples, class_probabilities, power, class_weight, seed: as for
            :class:`ClassBalancedSampler`.
        num_replicas: defaults to the world size of the default process group.
        rank: defaults to this process's rank.
    """

    def __init__(
        self,
        labels: object,
        *,
        num_samples: int | None = None,
        class_probabilities: object = None,
        power: float | None = None,
        class_weight: object = None,
        num_replicas: int | None = None,
        rank: int | None = None,
        seed: int = 0,
    ) -> None:
        if num_replicas is None or rank is None:
            if not _dist.initialized():
                raise InvalidParameterError(
                    message(
                        "num_replicas" if num_replicas is None else "rank",
                        type(self).__name__,
                        must="be given when torch.distributed is not initialised",
                        got="None",
                    )
                )
            num_replicas = _dist.world_size() if num_replicas is None else num_replicas
            rank = _dist.rank() if rank is None else rank
        super().__init__(
            labels,
            num_samples=num_samples,
            class_probabilities=class_probabilities,
            power=power,
            class_weight=class_weight,
            num_replicas=num_replicas,
            rank=rank,
            seed=seed,
        )
