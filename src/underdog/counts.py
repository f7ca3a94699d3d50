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

import warnings
from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np
import torch
from torch.utils.data import Dataset, IterableDataset, Subset

from ._dist import all_reduce, distributed_active, sum_across_ranks
from ._validation import check_bool, check_int, describe
from .exceptions import DataError, InvalidParameterError

__all__ = ["MultilabelCounts", "class_counts", "multilabel_counts"]

_TARGET_KEYS = ("target", "targets", "label", "labels", "y")


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


# ----------------------------------------------------------------------------- conversion


def _to_tensor(labels: Any, *, name: str, owner: str) -> torch.Tensor:
    """Convert a label container to a CPU or device tensor without copying when possible."""
    if isinstance(labels, torch.Tensor):
        return labels.detach()
    if hasattr(labels, "to_numpy") and not isinstance(labels, np.ndarray):  # pandas
        labels = labels.to_numpy()
    try:
        array = np.asarray(labels) if not isinstance(labels, np.ndarray) else labels
    except ValueError as exc:
        if "inhomogeneous" not in str(exc):
            raise
        raise DataError(
            f"The '{name}' parameter of {owner} must be rectangular (rows of one length). "
            f"Got a ragged {type(labels).__name__} instead."
        ) from None
    if array.dtype.kind in "OUSV":
        first = array.flat[0] if array.size else None
        if array.dtype.kind == "O" and not isinstance(first, str):
            raise DataError(
                f"The '{name}' parameter of {owner} must hold integer class indices. Got "
                f"values of type {type(first).__name__} instead."
            )
        raise DataError(
            f"The '{name}' parameter of {owner} must hold integer class indices. Got values "
            f"of dtype {array.dtype} instead; map class names to indices first "
            "(for example with sklearn.preprocessing.LabelEncoder)."
        )
    if array.dtype.kind == "u" and array.dtype.itemsize > 1:
        array = array.astype(np.int64)
    array = np.ascontiguousarray(array)
    if not array.flags.writeable:
        # Read-only arrays (pandas, memory maps) are only read here: skip torch's warning.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
            return torch.from_numpy(array)
    return torch.from_numpy(array)


def _check_integer_labels(t: torch.Tensor, *, name: str, owner: str) -> torch.Tensor:
    if t.dtype == torch.bool:
        return t.to(torch.uint8)
    if t.is_floating_point() or t.is_complex():
        nan = " (it contains NaN)" if t.is_floating_point() and bool(t.isnan().any()) else ""
        raise DataError(
            f"The '{name}' parameter of {owner} must hold integer class indices. "
            f"Got dtype {t.dtype}{nan} instead; convert with .long() / .astype(int) if the "
            "values are whole numbers."
        )
    return t


# ----------------------------------------------------------------------------- sources


def _dataset_targets(dataset: Dataset, *, name: str, owner: str) -> Any | None:
    """The labels a dataset exposes without loading features, or None.

    ``name`` and ``owner`` are the caller's parameter and function, for the error raised
    when a ``Subset`` parent's labels cannot be converted.
    """
    if isinstance(dataset, Subset):
        parent = _dataset_targets(dataset.dataset, name=name, owner=owner)
        if parent is None:
            return None
        parent = _to_tensor(parent, name=name, owner=owner)
        return parent[torch.as_tensor(list(dataset.indices), dtype=torch.long)]
    for attr in ("targets", "labels"):
        value = getattr(dataset, attr, None)
        if value is not None and not callable(value):
            return value
    return None


def _pick_target(item: Any, target: int | str | None, *, name: str, owner: str, what: str) -> Any:
    """Take the target part of one ``what`` (``"sample"`` or ``"batch"``) of ``name``."""
    if target is not None:
        try:
            return item[target]
        except (KeyError, IndexError, TypeError) as exc:
            raise InvalidParameterError(
                f"The 'target' parameter of {owner} must select the labels of each {what}. "
                f"Got {target!r}, which does not index a {what} of type {type(item).__name__}."
            ) from exc
    if isinstance(item, dict):
        for key in _TARGET_KEYS:
            if key in item:
                return item[key]
        keys = ", ".join(repr(key) for key in _TARGET_KEYS[:-1])
        raise DataError(
            f"The '{name}' parameter of {owner} must hold {what} dicts with a {keys} or "
            f"{_TARGET_KEYS[-1]!r} key unless target= names the key of the labels. Got a "
            f"{what} dict with the keys {list(item)} instead."
        )
    if isinstance(item, (tuple, list)):
        if len(item) == 0:
            plural = "batches" if what == "batch" else f"{what}s"
            raise DataError(
                f"The '{name}' parameter of {owner} must hold {plural} of the form y or "
                f"(x, y, ...). Got an empty {type(item).__name__} instead."
            )
        return item[1] if len(item) >= 2 else item[0]
    return item


def _iter_targets(source: Any, *, target: int | str | None, name: str, owner: str):
    """Yield target tensors from a dataset (one sample at a time) or an iterable of batches.

    Yields ``(tensor, is_sample)``: samples come from datasets, batches from iterables.
    """
    if isinstance(source, Dataset) and not isinstance(source, IterableDataset):
        for index in range(len(source)):  # type: ignore[arg-type]
            sample = _pick_target(source[index], target, name=name, owner=owner, what="sample")
            yield _to_tensor(sample, name=name, owner=owner), True
        return
    is_sample = isinstance(source, IterableDataset)
    what = "sample" if is_sample else "batch"
    for item in source:
        labels = _pick_target(item, target, name=name, owner=owner, what=what)
        yield _to_tensor(labels, name=name, owner=owner), is_sample


#: What an element of a list of batches is, by the kind _batch_kind gives it.
_BATCH_KINDS = {
    "dict": ("a dict", "dicts"),
    "tuple": (
        "a tuple or list holding a tensor or array",
        "tuples or lists holding tensors or arrays",
    ),
    "array": (
        "a tensor or array of one or more dimensions",
        "tensors or arrays of two or more dimensions",  # multilabel reads 1-D ones as rows
    ),
}


def _is_array(value: Any) -> bool:
    return isinstance(value, (torch.Tensor, np.ndarray)) and value.ndim >= 1


def _batch_kind(item: Any) -> str | None:
    """``"dict"``, ``"tuple"`` or ``"array"`` when a list element is a batch, else None.

    A batch is a dict, a tuple or list holding a tensor or array of one or more dimensions
    (``(x, y, ...)``), or such a tensor or array itself. Numbers, strings, 0-d tensors, numpy
    scalars and lists of them are labels (or rows of labels).
    """
    if isinstance(item, dict):
        return "dict"
    if isinstance(item, (tuple, list)):
        return "tuple" if any(_is_array(part) for part in item) else None
    return "array" if _is_array(item) else None


def _list_kind(source: Any) -> str | None:
    """The batch kind of a list or tuple, decided by its first element; None for labels."""
    if isinstance(source, (list, tuple)) and len(source) > 0:
        return _batch_kind(source[0])
    return None


def _iter_list(source: Any, kind: str, *, target: int | str | None, name: str, owner: str):
    """Yield ``(tensor, False)`` for each batch of a list of batches of one ``kind``."""
    first_shape = None
    for index, item in enumerate(source):
        if _batch_kind(item) != kind:
            raise DataError(
                f"The '{name}' parameter of {owner} must be a list of labels or a list of "
                f"batches, each {_BATCH_KINDS[kind][0]}. Got {describe(item)} at index "
                f"{index} instead."
            )
        labels = _pick_target(item, target, name=name, owner=owner, what="batch")
        labels = _to_tensor(labels, name=name, owner=owner)
        if kind == "array":  # bare label batches: only their first dimension may vary
            if first_shape is None:
                first_shape = tuple(labels.shape)
            elif tuple(labels.shape[1:]) != first_shape[1:]:
                raise DataError(
                    f"The '{name}' parameter of {owner} must be a list of label batches of one "
                    f"shape but for their first dimension. Got {first_shape} at index 0 and "
                    f"{tuple(labels.shape)} at index {index} instead."
                )
        yield labels, False


def _is_container(labels: Any) -> bool:
    return isinstance(labels, (torch.Tensor, np.ndarray, list, tuple)) or (
        hasattr(labels, "to_numpy") and hasattr(labels, "dtype")
    )


def _label_batches(
    source: Any, *, target: int | str | None, name: str, owner: str, multilabel: bool = False
) -> Iterable[tuple[torch.Tensor, bool]]:
    """The labels of any accepted source as ``(tensor, is_sample)`` pairs, in constant memory.

    A container, or a dataset's ``targets`` / ``labels`` attribute, is one tensor; other
    datasets and iterables are streamed. A bad ``source``, or a ``target`` that cannot apply,
    raises here, before anything is read.

    A list (or tuple) of batches (see :func:`_batch_kind`) is streamed like an iterator
    for class counts, which count every label whatever the grouping, so a list of samples
    counts the same. For ``multilabel=True`` the grouping decides which dimension holds the
    labels, and a list cannot say whether it holds samples or batches: a list of 1-D tensors
    or arrays is the rows of a matrix, as ``np.asarray`` reads it, and a list of dicts,
    tuples or larger tensors raises.
    """
    if isinstance(source, Dataset):
        exposed = _dataset_targets(source, name=name, owner=owner) if target is None else None
        if exposed is not None:
            return [(_to_tensor(exposed, name=name, owner=owner), False)]
        return _iter_targets(source, target=target, name=name, owner=owner)
    kind = _list_kind(source)
    if kind is not None and multilabel:
        if kind == "array" and source[0].ndim == 1:
            lengths = [len(row) for row in source if _is_array(row)]
            if any(length != lengths[0] for length in lengths):
                other = next(length for length in lengths if length != lengths[0])
                raise DataError(
                    f"The '{name}' parameter of {owner} must be a list of rows of one length "
                    "when it is a list of 1-D tensors or arrays (each one sample's targets). "
                    f"Got rows of lengths {lengths[0]} and {other} instead; pass iter({name}) "
                    "to read each element as a batch of one label."
                )
        else:
            raise InvalidParameterError(
                f"The '{name}' parameter of {owner} must be a matrix, a Dataset or an "
                f"iterator when its elements are {_BATCH_KINDS[kind][1]}, since a list of them "
                "may hold batches or samples, which put the labels on different dimensions. "
                f"Got a {type(source).__name__} instead; pass iter({name}) to read each "
                "element as a batch, or stack the targets of the samples into one (N, L) "
                "tensor."
            )
    elif kind is not None and not (kind == "array" and target is not None):
        return _iter_list(source, kind, target=target, name=name, owner=owner)
    if _is_container(source):
        if target is not None:
            raise InvalidParameterError(
                f"The 'target' parameter of {owner} must be None when '{name}' is an array, "
                "tensor, list or Series, whose every element is a label (target picks the "
                f"labels out of each sample of a Dataset or batch of an iterable). Got {target!r} "
                "instead."
            )
        return [(_to_tensor(source, name=name, owner=owner), False)]
    if isinstance(source, Iterable):
        return _iter_targets(source, target=target, name=name, owner=owner)
    raise InvalidParameterError(
        f"The '{name}' parameter of {owner} must be an array, tensor, list, Series, "
        f"Dataset or iterable of batches. Got {describe(source)} instead."
    )


# ----------------------------------------------------------------------------- class counts


class _ClassCounter:
    """Accumulates class counts batch by batch; memory is O(number of classes)."""

    def __init__(self, *, num_classes: int | None, ignore_index: int | None, owner: str):
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.owner = owner
        self.counts = torch.zeros(num_classes or 0, dtype=torch.int64)

    def add(self, labels: torch.Tensor) -> None:
        if labels.numel() == 0:
            return
        labels = _check_integer_labels(labels, name="labels", owner=self.owner).reshape(-1)
        if self.ignore_index is not None:
            keep = labels != self.ignore_index
            if not bool(keep.all()):
                labels = labels[keep]
        if labels.numel() == 0:
            return
        low, high = (int(v) for v in torch.aminmax(labels))
        if low < 0:
            ignored = (
                ""
                if self.ignore_index is None
                else f" (other than ignore_index={self.ignore_index})"
            )
            raise DataError(
                f"The 'labels' parameter of {self.owner} must hold class indices >= 0"
                f"{ignored}. Got the label {low} instead."
            )
        if self.num_classes is not None and high >= self.num_classes:
            raise DataError(
                f"The 'labels' parameter of {self.owner} must hold class indices < "
                f"num_classes={self.num_classes}. Got the label {high} instead."
            )
        if labels.dtype != torch.int64 and labels.dtype != torch.uint8:
            labels = labels.long()
        batch = torch.bincount(labels, minlength=self.counts.numel()).cpu()
        if batch.numel() > self.counts.numel():
            batch[: self.counts.numel()] += self.counts
            self.counts = batch
        else:
            self.counts += batch


def class_counts(
    labels: Any,
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
        num_classes: length of the result; classes with no samples get a count of 0.
            Defaults to ``max(label) + 1``.
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
        DataError: labels that are not integers (floats, NaN, strings), negative labels,
            labels ``>= num_classes``, no labels at all, a ragged list of labels, or a list
            that mixes labels and batches.
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
    owner = "class_counts"
    if num_classes is not None:
        num_classes = check_int(num_classes, name="num_classes", owner=owner, low=1)
    if ignore_index is not None:
        ignore_index = check_int(ignore_index, name="ignore_index", owner=owner)
    distributed = check_bool(distributed, name="distributed", owner=owner)

    batches = _label_batches(labels, target=target, name="labels", owner=owner)
    counter = _ClassCounter(num_classes=num_classes, ignore_index=ignore_index, owner=owner)
    for batch, _ in batches:
        counter.add(batch)

    counts = counter.counts
    if distributed and distributed_active():
        counts = sum_across_ranks(counts)
    if int(counts.sum()) == 0:
        raise DataError(
            f"The 'labels' parameter of {owner} must hold at least one label"
            f"{'' if ignore_index is None else ' that is not ignore_index'}. Got none."
        )
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


def multilabel_counts(
    targets: Any,
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
    owner = "multilabel_counts"
    if ignore_index is not None:
        ignore_index = check_int(ignore_index, name="ignore_index", owner=owner)
        if ignore_index in (0, 1):
            raise InvalidParameterError(
                f"The 'ignore_index' parameter of {owner} must differ from 0 and 1. "
                f"Got {ignore_index} instead."
            )
    distributed = check_bool(distributed, name="distributed", owner=owner)

    batches = _label_batches(targets, target=target, name="targets", owner=owner, multilabel=True)
    positives = negatives = None
    rows = 0
    for batch, is_sample in batches:
        if batch.is_complex():
            raise DataError(f"The 'targets' parameter of {owner} must be real. Got complex.")
        batch = _as_rows(batch, is_sample=is_sample)
        ones, zeros = batch == 1, batch == 0
        valid = ones | zeros
        if ignore_index is not None:
            valid |= batch == ignore_index
        if not bool(valid.all()):
            bad = batch[~valid].reshape(-1)[0].item()
            allowed = "0 and 1" if ignore_index is None else f"0, 1 and {ignore_index}"
            raise DataError(
                f"The 'targets' parameter of {owner} must hold only {allowed}. "
                f"Got the value {bad} instead."
            )
        pos, neg = ones.sum(0, dtype=torch.int64).cpu(), zeros.sum(0, dtype=torch.int64).cpu()
        if positives is None:
            positives, negatives = pos, neg
        elif pos.shape != positives.shape:
            raise DataError(
                f"The 'targets' parameter of {owner} must have the same number of labels in "
                f"every batch. Got {positives.numel()} and then {pos.numel()}."
            )
        else:
            positives, negatives = positives + pos, negatives + neg
        rows += batch.shape[0]

    if positives is None:
        positives = negatives = torch.zeros(0, dtype=torch.int64)
    if distributed and distributed_active():
        width = torch.tensor([positives.numel(), -positives.numel()], dtype=torch.int64)
        high, neg_low = all_reduce(width, torch.distributed.ReduceOp.MAX).tolist()
        if high != -neg_low:
            raise DataError(
                f"The 'targets' parameter of {owner} must have the same number of labels on "
                f"every rank. Got between {-neg_low} and {high}."
            )
        if positives.numel() == 0:
            positives = negatives = torch.zeros(high, dtype=torch.int64)
        stacked = torch.cat([positives, negatives, torch.tensor([rows])])
        stacked = all_reduce(stacked, torch.distributed.ReduceOp.SUM)
        positives, negatives, rows = stacked[:high], stacked[high:-1], int(stacked[-1])
    if rows == 0 or positives.numel() == 0:
        raise DataError(f"The 'targets' parameter of {owner} must hold at least one row. Got none.")
    return MultilabelCounts(positives, negatives, rows)
