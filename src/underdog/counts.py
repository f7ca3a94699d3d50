"""Class counts and label counts, from memory or streamed, summed across ranks.

:func:`class_counts` counts integer class labels; :func:`multilabel_counts` counts the
positives and negatives of each label of a 0/1 target matrix. Both accept

- a label container: a numpy array, a torch tensor, a list or a pandas ``Series``;
- a ``torch.utils.data.Dataset``: its ``targets`` / ``labels`` attribute when it has one
  (also through ``Subset``) and ``target`` is not given, else every sample ``dataset[i]``;
- any other iterable of batches, such as a ``DataLoader``, yielding ``y`` or ``(x, y, ...)``
  (or dicts, see ``target``); these are streamed in constant memory.

A list is a container when its elements are labels (numbers, strings, 0-d tensors, or
lists of them: rows). A list of batches (dicts, tuples or lists holding tensors, tensors of
one or more dimensions) is streamed like an iterator by :func:`class_counts`; to
:func:`multilabel_counts` a list of 1-D tensors is the rows of a matrix, and any other list
of batches raises, since it may hold samples or batches, which put the labels on different
dimensions: pass ``iter(batches)``.

When ``torch.distributed`` is initialised the counts are summed across ranks
(``distributed=True``, the default), so that every rank sees the counts of the whole
dataset and derives identical weights. Each rank must then pass only its own shard.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from ._dist import all_reduce, distributed_active, sum_across_ranks
from ._validation import INT64_MAX, INT64_MIN, check_bool, check_int, message
from .exceptions import DataError, InvalidParameterError
from .labels import check_integer_labels, check_label_range, check_not_one_hot, label_batches

__all__ = ["MultilabelCounts", "class_counts", "multilabel_counts"]


class MultilabelCounts(NamedTuple):
    """Per-label counts of a 0/1 target matrix.

    Attributes:
        positives: ``(L,)`` int64, the number of 1s of each label.
        negatives: ``(L,)`` int64, the number of 0s of each label (ignored entries excluded).
        num_samples: the number of rows seen (samples, or positions for dense targets).
    """

    positives: torch.Tensor
    negatives: torch.Tensor
    num_samples: int


# ----------------------------------------------------------------------------- class counts


#: The longest count vector inferred from the labels (``max(label) + 1``, 128 MiB of int64):
#: a larger label is refused, before anything is allocated, unless ``num_classes`` is given.
_INFERRED_CLASSES = 1 << 24
#: The largest ``num_classes`` (a count vector of 2 GiB).
_MAX_CLASSES = 1 << 28

#: Labels counted at a time on the CPU: a block stays in the core's cache between the pass
#: that reads its range (the checks) and the count, so the checks cost no pass through memory.
_BLOCK = 1 << 18


class _ClassCounter:
    """Accumulates class counts batch by batch; memory is O(number of classes).

    Every check rides on the count: on the CPU each block of labels is read once for its
    largest value (what the upper bounds need, and what keeps ``np.bincount`` from
    allocating ``max + 1`` entries for an absurd label, or writing out of bounds for
    2**63 - 1), then counted by ``np.bincount``, which refuses negative labels itself
    (``torch.bincount`` after one ``aminmax`` on another device).
    """

    def __init__(self, *, num_classes: int | None, ignore_index: int | None, owner: str):
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.owner = owner
        self.takes_num_classes = True  # the owner has num_classes, which messages may suggest
        self.totals = np.zeros(num_classes or 0, dtype=np.int64)
        self.limit = _INFERRED_CLASSES if num_classes is None else num_classes  # labels below

    @property
    def counts(self) -> torch.Tensor:
        """The counts so far, an int64 CPU tensor ``(C,)``."""
        return torch.from_numpy(self.totals)

    def add(self, labels: torch.Tensor) -> None:
        if labels.numel() == 0:
            return
        labels = check_integer_labels(labels, name="labels", owner=self.owner)
        check_not_one_hot(labels, name="labels", owner=self.owner)
        labels = labels.reshape(-1)
        if labels.device.type != "cpu":
            self._add_on_device(labels)
            return
        array = labels.numpy()
        # Large blocks when there are many classes: each block's count adds O(C) work.
        block = max(_BLOCK, 4 * self.totals.size)
        for start in range(0, array.size, block):
            self._add_block(array[start : start + block])

    def _add_block(self, block: np.ndarray) -> None:
        """Count one block of labels; the checks read only its largest label."""
        high = int(block.max())
        ignore = self.ignore_index
        if ignore is not None and 0 <= ignore <= high:  # it may hold ignored labels
            block = block[block != ignore]
            if block.size == 0:
                return
            high = int(block.max())
        if high >= self.limit:
            self._check_range(0, high)  # raises
        counts: np.ndarray | None
        try:
            counts = np.bincount(block)
        except ValueError:  # np.bincount's refusal of a negative label: read the block again
            counts = self._count_with_negatives(block)
        if counts is not None:
            self._merge(counts)

    def _count_with_negatives(self, block: np.ndarray) -> np.ndarray | None:
        """Counts of a block that holds negative labels: only a negative ignore_index passes."""
        if self.ignore_index is not None and self.ignore_index < 0:
            block = block[block != self.ignore_index]
            if block.size == 0:
                return None
        self._check_range(int(block.min()), int(block.max()))  # raises for a negative label
        return np.bincount(block)

    def _add_on_device(self, labels: torch.Tensor) -> None:
        if self.ignore_index is not None:
            labels = labels[labels != self.ignore_index]
            if labels.numel() == 0:
                return
        low, high = (int(v) for v in torch.aminmax(labels))
        self._check_range(low, high)
        if labels.dtype != torch.int64 and labels.dtype != torch.uint8:
            labels = labels.long()
        self._merge(torch.bincount(labels).cpu().numpy())

    def _check_range(self, low: int, high: int) -> None:
        """Labels in range, and a count vector of a sane length, before it is allocated."""
        check_label_range(
            low,
            high,
            num_classes=self.num_classes,
            ignore_index=self.ignore_index,
            name="labels",
            owner=self.owner,
            bound=f", below num_classes={self.num_classes}",
        )
        if self.num_classes is None and high >= _INFERRED_CLASSES:
            remap = (
                "remap sparse label ids to 0..C-1 first, for example with "
                "np.unique(labels, return_inverse=True)"
            )
            must = f"hold class indices below {_INFERRED_CLASSES}"
            if self.takes_num_classes:
                must += " unless num_classes is given"
                remap += f", or pass num_classes up to {_MAX_CLASSES}"
            must += f", since the counts have max(label) + 1 entries ({remap})"
            raise DataError(message("labels", self.owner, must=must, got=f"the label {high}"))

    def _merge(self, batch: np.ndarray) -> None:
        if batch.size > self.totals.size:
            batch[: self.totals.size] += self.totals
            self.totals = batch.astype(np.int64, copy=False)
        else:
            self.totals[: batch.size] += batch


def class_counts(
    labels: object,
    *,
    num_classes: int | None = None,
    ignore_index: int | None = None,
    target: int | str | None = None,
    distributed: bool = True,
) -> torch.Tensor:
    """Count how many times each class index occurs.

    Args:
        labels: integer class indices of any shape (every element is one label, so a
            segmentation mask counts pixels): a numpy array, torch tensor, list or pandas
            Series; a ``Dataset``; or an iterable of batches such as a ``DataLoader``. A list
            or tuple of batches (dicts, tuples or lists holding tensors, tensors of one or
            more dimensions, such as ``list(loader)``) is streamed like ``iter(labels)``.
        num_classes: length of the result, at most 2**28; classes with no samples get a
            count of 0. Defaults to ``max(label) + 1``, which must be at most 2**24: a larger
            label raises (remap sparse label ids, or pass ``num_classes``) rather than
            allocate a count vector that long.
        ignore_index: a label value to skip (for example ``-100``).
        target: which part of each batch or sample holds the labels: an index or a dict
            key. By default a tuple/list ``(x, y, ...)`` gives ``y``, a dict its
            ``"target"``/``"label"``/``"labels"``/``"y"`` entry, anything else itself.
            Only for a ``Dataset``, an iterable or a list of batches: a ``Dataset`` given
            ``target`` is read sample by sample even when it has a ``targets`` attribute,
            and a container (whose every element is a label) given ``target`` raises.
        distributed: sum the counts across ranks when ``torch.distributed`` is initialised.

    Returns:
        An int64 CPU tensor of shape ``(C,)`` with ``counts[c]`` the number of labels ``c``.

    Raises:
        DataError: labels that are not integers (floats, NaN, strings, dates), negative
            labels, labels ``>= num_classes`` (or ``>= 2**24`` without it), one-hot rows, no
            labels at all, a ragged list of labels, a list that mixes labels and batches, or
            a tensor without readable values (sparse, meta).
        InvalidParameterError: a parameter of the wrong type or value, ``target`` with a
            container, or a ``target`` that does not index the batches.

    Example:
        >>> class_counts([0, 2, 2, 1, 2])
        tensor([1, 1, 3])
        >>> class_counts([0, 0, -100, 1], num_classes=4, ignore_index=-100)
        tensor([2, 1, 0, 0])
        >>> class_counts([{"label": torch.tensor([0, 1])}, {"label": torch.tensor([1])}])
        tensor([1, 2])
    """
    return count_classes(
        labels,
        num_classes=num_classes,
        ignore_index=ignore_index,
        target=target,
        distributed=distributed,
        owner="class_counts",
    )


def count_classes(
    labels: object,
    *,
    num_classes: int | None,
    ignore_index: int | None,
    target: int | str | None,
    distributed: bool,
    owner: str,
    takes_num_classes: bool = True,
) -> torch.Tensor:
    """:func:`class_counts`, with errors in the name of ``owner``.

    ``owner`` is the public function or class that received ``labels`` (such as
    :class:`underdog.ClassBalancedSampler`); ``takes_num_classes`` says whether it has a
    ``num_classes`` parameter that its messages may suggest.
    """
    if num_classes is not None:
        num_classes = check_int(
            num_classes, name="num_classes", owner=owner, low=1, high=_MAX_CLASSES
        )
    if ignore_index is not None:
        ignore_index = check_int(
            ignore_index, name="ignore_index", owner=owner, low=INT64_MIN, high=INT64_MAX
        )
    distributed = check_bool(distributed, name="distributed", owner=owner)

    batches = label_batches(labels, target=target, name="labels", owner=owner)
    counter = _ClassCounter(num_classes=num_classes, ignore_index=ignore_index, owner=owner)
    counter.takes_num_classes = takes_num_classes
    for batch, _ in batches:
        counter.add(batch)

    counts = counter.counts
    if distributed and distributed_active():
        counts = sum_across_ranks(counts)
    if int(counts.sum()) == 0:
        must = "hold at least one label" + (
            "" if ignore_index is None else " that is not ignore_index"
        )
        raise DataError(message("labels", owner, must=must, got="none"))
    return counts


# ----------------------------------------------------------------------------- multilabel


def _as_rows(t: torch.Tensor, *, is_sample: bool) -> torch.Tensor:
    """Reshape targets to (rows, L): labels on dim 1 (dim 0 for a single sample)."""
    if is_sample:
        t = t.unsqueeze(0)
    if t.ndim == 1:
        return t.reshape(-1, 1)
    if t.ndim == 0:
        return t.reshape(1, 1)
    return t.movedim(1, -1).reshape(-1, t.shape[1])


class _MultilabelCounter:
    """Accumulates the positives and negatives of each label, batch by batch."""

    def __init__(self, *, ignore_index: int | None, owner: str):
        self.ignore_index = ignore_index
        self.owner = owner
        self.positives = self.negatives = torch.zeros(0, dtype=torch.int64)
        self.rows = 0
        self.started = False  # a first batch was added

    def _check_values(self, batch: torch.Tensor, ones: torch.Tensor, zeros: torch.Tensor) -> None:
        valid = ones | zeros
        if self.ignore_index is not None:
            valid |= batch == self.ignore_index
        if not bool(valid.all()):
            bad = batch[~valid].reshape(-1)[0].item()
            allowed = "0 and 1" if self.ignore_index is None else f"0, 1 and {self.ignore_index}"
            raise DataError(
                message("targets", self.owner, must=f"hold only {allowed}", got=f"the value {bad}")
            )

    def add(self, batch: torch.Tensor, *, is_sample: bool) -> None:
        if batch.is_complex():
            raise DataError(
                message("targets", self.owner, must="be real", got=f"dtype {batch.dtype}")
            )
        batch = _as_rows(batch, is_sample=is_sample)
        ones, zeros = batch == 1, batch == 0
        self._check_values(batch, ones, zeros)
        pos, neg = ones.sum(0, dtype=torch.int64).cpu(), zeros.sum(0, dtype=torch.int64).cpu()
        if not self.started:
            self.positives, self.negatives, self.started = pos, neg, True
        elif pos.shape != self.positives.shape:
            raise DataError(
                message(
                    "targets",
                    self.owner,
                    must="have the same number of labels in every batch",
                    got=f"{self.positives.numel()} and then {pos.numel()}",
                )
            )
        else:
            self.positives, self.negatives = self.positives + pos, self.negatives + neg
        self.rows += batch.shape[0]

    def sum_across_ranks(self) -> None:
        """Replace the counts by their sums over every rank (labels must agree)."""
        width = torch.tensor([self.positives.numel(), -self.positives.numel()], dtype=torch.int64)
        high, neg_low = all_reduce(width, torch.distributed.ReduceOp.MAX).tolist()
        if high != -neg_low:
            raise DataError(
                message(
                    "targets",
                    self.owner,
                    must="have the same number of labels on every rank",
                    got=f"between {-neg_low} and {high} labels",
                )
            )
        if self.positives.numel() == 0:
            self.positives = self.negatives = torch.zeros(high, dtype=torch.int64)
        stacked = torch.cat([self.positives, self.negatives, torch.tensor([self.rows])])
        stacked = all_reduce(stacked, torch.distributed.ReduceOp.SUM)
        self.positives, self.negatives = stacked[:high], stacked[high:-1]
        self.rows = int(stacked[-1])


def multilabel_counts(
    targets: object,
    *,
    ignore_index: int | None = None,
    target: int | str | None = None,
    distributed: bool = True,
) -> MultilabelCounts:
    """Count the positives and negatives of each label of a 0/1 target matrix.

    Args:
        targets: a 0/1 (bool, integer or float) matrix of shape ``(N, L)`` or dense
            ``(N, L, d1, ...)`` (labels on dim 1); a 1-D vector counts as one label. Also a
            ``Dataset`` (samples of shape ``(L,)``) or an iterable of batches. A list of
            1-D tensors or arrays is the rows of a matrix; a list of other batches (dicts,
            tuples, larger tensors) raises, as it may hold samples or batches: pass
            ``iter(targets)`` to read its elements as batches.
        ignore_index: a target value marking unknown entries, which are skipped.
        target: which part of each batch or sample holds the targets, for a ``Dataset``
            or an iterable only (see :func:`class_counts`).
        distributed: sum the counts across ranks when ``torch.distributed`` is initialised.

    Returns:
        :class:`MultilabelCounts` with int64 ``positives`` and ``negatives`` of shape
        ``(L,)`` and ``num_samples``.

    Raises:
        DataError: values other than 0, 1 (and ``ignore_index``), a label count that changes
            between batches or rows, or no targets at all.
        InvalidParameterError: a parameter of the wrong type or value, ``target`` with a
            container, a ``target`` that does not index the batches, or a list of batches.

    Example:
        >>> multilabel_counts([[1, 0], [1, 1], [0, 0]])
        MultilabelCounts(positives=tensor([2, 1]), negatives=tensor([1, 2]), num_samples=3)
    """
    return count_multilabel(
        targets,
        ignore_index=ignore_index,
        target=target,
        distributed=distributed,
        owner="multilabel_counts",
    )


def count_multilabel(
    targets: object,
    *,
    ignore_index: int | None,
    target: int | str | None,
    distributed: bool,
    owner: str,
) -> MultilabelCounts:
    """:func:`multilabel_counts`, with errors in the name of ``owner``.

    ``owner`` is the public function that received ``targets`` (such as
    :func:`underdog.pos_weight`).
    """
    if ignore_index is not None:
        ignore_index = check_int(
            ignore_index, name="ignore_index", owner=owner, low=INT64_MIN, high=INT64_MAX
        )
        if ignore_index in (0, 1):
            raise InvalidParameterError(
                message("ignore_index", owner, must="differ from 0 and 1", got=str(ignore_index))
            )
    distributed = check_bool(distributed, name="distributed", owner=owner)

    batches = label_batches(targets, target=target, name="targets", owner=owner, multilabel=True)
    counter = _MultilabelCounter(ignore_index=ignore_index, owner=owner)
    for batch, is_sample in batches:
        counter.add(batch, is_sample=is_sample)
    if distributed and distributed_active():
        counter.sum_across_ranks()
    if counter.rows == 0 or counter.positives.numel() == 0:
        raise DataError(message("targets", owner, must="hold at least one row", got="none"))
    return MultilabelCounts(counter.positives, counter.negatives, counter.rows)
