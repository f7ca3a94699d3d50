"""Where labels come from: containers, datasets, lists and iterables of batches.

Shared by :mod:`underdog.counts`, :mod:`underdog.weights` and :mod:`underdog.samplers`,
which all accept the same label sources (see :mod:`underdog.counts` for what each means):
conversion of containers to tensors with clear errors, a dataset's exposed ``targets``,
picking the labels out of a sample or batch (``target=``), and the dispatch that turns any
source into a stream of label tensors.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, IterableDataset, Subset

from ._validation import describe
from .exceptions import DataError, InvalidParameterError

_TARGET_KEYS = ("target", "targets", "label", "labels", "y")


def _to_tensor(labels: Any, *, name: str, owner: str) -> torch.Tensor:
    """Convert a label container to a CPU or device tensor without copying when possible."""
    if isinstance(labels, torch.Tensor):
        return labels.detach()
    if (
        isinstance(labels, (list, tuple))
        and labels
        and all(isinstance(v, torch.Tensor) for v in labels)
    ):
        # Rows (or 0-d labels) as tensors: stacked by torch, on their device, not numpy.
        rows = [v.detach() for v in labels]
        if any(row.shape != rows[0].shape for row in rows):
            raise DataError(
                f"The '{name}' parameter of {owner} must be rectangular (rows of one length). "
                f"Got a ragged {type(labels).__name__} instead."
            )
        return torch.stack(rows)
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
    if isinstance(item, Mapping):
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
    if isinstance(item, Mapping):
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
