"""Where labels come from: containers, datasets, lists and iterables of batches.

Shared by :mod:`underdog.counts`, :mod:`underdog.weights` and :mod:`underdog.samplers`,
which all accept the same label sources (see :mod:`underdog.counts` for what each means):

- :func:`as_label_tensor` converts a container to a tensor with clear errors, and
  :func:`check_integer_labels` / :func:`check_class_indices` check the label values;
  :func:`check_not_one_hot` refuses one-hot rows wherever class indices are expected
  (counts, per-sample weights, samplers);
- :func:`dataset_labels` reads the labels a dataset exposes (``targets``), and
  :func:`pick_labels` picks the labels out of one sample or batch (``target=``);
- :func:`encode_labels` maps labels of any type (strings, ...) to indices into
  ``classes`` (:func:`check_classes`), for the weights that take scikit-learn's forms;
- :func:`label_batches` turns any source into a stream of label tensors, using
  :func:`is_label_container` and :func:`list_batch_kind` to tell labels from batches.

Every error names the parameter and the public function that received the source.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, IterableDataset, Subset

from ._validation import describe, describe_shape, listed, message
from .exceptions import DataError, InvalidParameterError

__all__ = [
    "as_label_tensor",
    "check_class_indices",
    "check_classes",
    "check_integer_labels",
    "check_label_range",
    "check_not_one_hot",
    "dataset_labels",
    "encode_labels",
    "is_label_container",
    "label_batches",
    "list_batch_kind",
    "pick_labels",
]

#: The dict keys that hold the labels of a sample or batch, tried in this order: the one
#: tuple that class counts, samplers, fit's batches (``training.data.TARGET_KEYS``) and
#: the Lightning callback all read.
_LABEL_KEYS = ("target", "targets", "label", "labels", "y")

_INT64_MAX = 2**63 - 1

#: One label tensor of a source, and whether it is one sample's (not a batch's).
LabelBatch = tuple[torch.Tensor, bool]


# ----------------------------------------------------------------------------- values


def _ragged(labels: object, *, name: str, owner: str) -> DataError:
    return DataError(
        message(
            name,
            owner,
            must="be rectangular (rows of one length)",
            got=f"a ragged {type(labels).__name__}",
        )
    )


def _readable(labels: torch.Tensor, *, name: str, owner: str) -> torch.Tensor:
    """``labels`` after checking it is a dense tensor whose values can be read."""
    if labels.layout != torch.strided:
        raise DataError(
            message(
                name,
                owner,
                must="be a dense tensor (convert a sparse one with .to_dense())",
                got=f"a tensor of layout {labels.layout}",
            )
        )
    if labels.is_meta:
        must = "hold values (a tensor on the meta device has none)"
        raise DataError(message(name, owner, must=must, got="a tensor on the meta device"))
    return labels


def _stack_tensor_rows(labels: Sequence[torch.Tensor], *, name: str, owner: str) -> torch.Tensor:
    """Rows (or 0-d labels) given as tensors: stacked by torch, on their device, not numpy."""
    rows = [row.detach() for row in labels]
    if any(row.shape != rows[0].shape for row in rows):
        raise _ragged(labels, name=name, owner=owner)
    return torch.stack(rows)


def _as_label_array(labels: object, *, name: str, owner: str) -> np.ndarray:
    """A numpy array of integer labels (pandas objects through ``to_numpy``)."""
    if not isinstance(labels, np.ndarray) and hasattr(labels, "to_numpy"):  # pandas
        labels = labels.to_numpy()
    try:
        array = labels if isinstance(labels, np.ndarray) else np.asarray(labels)
    except ValueError as exc:
        if "inhomogeneous" not in str(exc):
            raise
        raise _ragged(labels, name=name, owner=owner) from None
    if array.dtype.kind in "OUSVMm":  # objects, strings, bytes, void, dates, durations
        first = array.flat[0] if array.size else None
        must = "hold integer class indices"
        if array.dtype.kind == "O" and not isinstance(first, str):
            got = f"values of type {type(first).__name__}"
        else:  # class names: say how to map them
            must += (
                " (map class names to indices first, for example with "
                "sklearn.preprocessing.LabelEncoder)"
            )
            got = f"values of dtype {array.dtype}"
        raise DataError(message(name, owner, must=must, got=got))
    if array.dtype.kind == "u" and array.dtype.itemsize > 1:
        _check_fits_int64(array, name=name, owner=owner)
        array = array.astype(np.int64)
    return np.ascontiguousarray(array)


def _check_fits_int64(labels: np.ndarray | torch.Tensor, *, name: str, owner: str) -> None:
    """Unsigned labels fit in int64 (else converting them would make them negative).

    Read through an int64 view (torch has no ``max`` of uint64): a label of 2**63 or more
    is negative there, and the message shows its true value.
    """
    if labels.dtype not in (np.uint64, torch.uint64):
        return
    signed = labels.view(torch.int64) if isinstance(labels, torch.Tensor) else labels.view(np.int64)
    wrapped = signed[signed < 0]
    if len(wrapped):
        high = int(wrapped.max()) + 2**64  # the largest label, unsigned
        raise DataError(
            message(name, owner, must="hold class indices below 2**63", got=f"the label {high}")
        )


def as_label_tensor(labels: object, *, name: str, owner: str) -> torch.Tensor:
    """Convert a label container to a CPU or device tensor without copying when possible.

    Tensors are detached as they are; lists of tensors are stacked by torch; everything
    else (lists, arrays, pandas objects) goes through numpy. Unsigned integers wider than
    8 bits become int64 (torch lacks them).

    Raises:
        DataError: a ragged container, values that are not numbers (class names, dates),
            or a tensor without readable values (sparse, or on the meta device).
    """
    if isinstance(labels, torch.Tensor):
        return _readable(labels.detach(), name=name, owner=owner)
    if (
        isinstance(labels, (list, tuple))
        and labels
        and all(isinstance(v, torch.Tensor) for v in labels)
    ):
        for row in labels:
            _readable(row, name=name, owner=owner)
        return _stack_tensor_rows(labels, name=name, owner=owner)
    array = _as_label_array(labels, name=name, owner=owner)
    if not array.flags.writeable:
        # Read-only arrays (pandas, memory maps) are only read here: skip torch's warning.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
            return torch.from_numpy(array)
    return torch.from_numpy(array)


def check_integer_labels(labels: torch.Tensor, *, name: str, owner: str) -> torch.Tensor:
    """Return integer ``labels`` (bool as uint8) after checking they are not floats.

    Raises:
        DataError: floating (NaN included) or complex labels.
    """
    if labels.dtype == torch.bool:
        return labels.to(torch.uint8)
    if labels.dtype in (torch.uint16, torch.uint32, torch.uint64):  # few ops take them
        _check_fits_int64(labels, name=name, owner=owner)
        return labels.to(torch.int64)
    if labels.is_floating_point() or labels.is_complex():
        nan = labels.is_floating_point() and bool(labels.isnan().any())
        raise DataError(
            message(
                name,
                owner,
                must="hold integer class indices (convert whole numbers with .long() or "
                ".astype(int))",
                got=f"dtype {labels.dtype}{' (it contains NaN)' if nan else ''}",
            )
        )
    return labels


def check_not_one_hot(labels: torch.Tensor, *, name: str, owner: str) -> None:
    """Raise :class:`DataError` for one-hot rows given where class indices belong.

    ``F.one_hot`` gives an integer ``(N, C)`` tensor, which a function counting every
    element as a label would silently read as ``N * C`` labels 0 and 1. Refused: a 2-D
    integer or bool tensor with more than one column, holding only 0 and 1, whose every
    row has exactly one 1. Other masks (rows that do not sum to 1, any other shape) pass.
    Reads the values only of 2-D integer tensors whose first row is one-hot.
    """
    if labels.ndim != 2 or labels.shape[0] == 0 or labels.shape[1] < 2:
        return
    if labels.is_floating_point() or labels.is_complex() or not _one_hot(labels[:1]):
        return
    if _one_hot(labels):
        raise DataError(
            message(
                name,
                owner,
                must="hold class indices, not one-hot rows (convert them with "
                "labels.argmax(1); for multi-hot targets use multilabel_counts)",
                got=f"one-hot rows of shape {describe_shape(labels.shape)}",
            )
        )


def _one_hot(rows: torch.Tensor) -> bool:
    """True when every row of a 2-D integer tensor is 0/1 with exactly one 1."""
    low, high = (int(v) for v in torch.aminmax(rows.to(torch.int64)))
    return low >= 0 and high <= 1 and bool((rows.sum(1) == 1).all())


def check_class_indices(
    labels: torch.Tensor,
    *,
    num_classes: int | None,
    ignore_index: int | None,
    name: str,
    owner: str,
    bound: str = "",
) -> None:
    """Raise :class:`DataError` for a label below 0 or, given ``num_classes``, above it.

    ``labels`` is a non-empty integer tensor without its ignored entries; this reads its
    values, so it belongs where labels enter, not in a training step. ``bound`` says where
    ``num_classes`` comes from, for example ``", below num_classes=3"``.
    """
    low, high = (int(v) for v in torch.aminmax(labels))
    check_label_range(
        low,
        high,
        num_classes=num_classes,
        ignore_index=ignore_index,
        name=name,
        owner=owner,
        bound=bound,
    )


def check_label_range(
    low: int,
    high: int,
    *,
    num_classes: int | None,
    ignore_index: int | None,
    name: str,
    owner: str,
    bound: str = "",
) -> None:
    """:func:`check_class_indices` from the smallest and largest label, already known.

    For callers that find them on the way (:func:`underdog.class_counts` counts in blocks
    and reads each block's range while it is in cache).
    """
    if low >= 0 and (num_classes is None or high < num_classes):
        return
    indices = ">= 0" if num_classes is None else f"in [0, {num_classes}){bound}"
    ignored = "" if ignore_index is None else f" (other than ignore_index={ignore_index})"
    raise DataError(
        message(
            name,
            owner,
            must=f"hold class indices {indices}{ignored}",
            got=f"the label {low if low < 0 else high}",
        )
    )


# ----------------------------------------------------------------------------- any label type


def check_classes(classes: object, *, owner: str) -> list[object]:
    """``classes`` (class labels of any type, in the order of their indices) as a list.

    Raises:
        InvalidParameterError: not a sequence, empty, or a label listed twice.
    """
    if isinstance(classes, torch.Tensor):
        classes = classes.tolist()
    elif hasattr(classes, "tolist"):  # numpy arrays, pandas Index / Series
        classes = classes.tolist()
    if isinstance(classes, (list, tuple)) and classes:
        listed_classes = list(classes)
        try:
            distinct = len(set(listed_classes)) == len(listed_classes)
        except TypeError:  # an unhashable label
            distinct = False
        if distinct:
            return listed_classes
    raise InvalidParameterError(
        message(
            "classes",
            owner,
            must="be a non-empty sequence of distinct, hashable class labels",
            got=describe(classes),
        )
    )


def _label_values(labels: object, *, name: str, owner: str) -> np.ndarray:
    """Labels of any type (numbers, strings, ...) as a numpy array of their shape."""
    if isinstance(labels, torch.Tensor):
        return _readable(labels.detach(), name=name, owner=owner).cpu().numpy()
    if not isinstance(labels, np.ndarray) and hasattr(labels, "to_numpy"):  # pandas
        labels = labels.to_numpy()
    try:
        values = np.asarray(labels)
    except ValueError as exc:
        raise _ragged(labels, name=name, owner=owner) from exc
    if values.dtype.kind == "f" and bool(np.isnan(values).any()):
        raise DataError(message(name, owner, must="hold labels, not NaN", got="NaN"))
    return values


def encode_labels(
    labels: object,
    classes: list[object] | None,
    *,
    ignore_index: int | None = None,
    name: str,
    owner: str,
) -> tuple[np.ndarray, list[object], np.ndarray]:
    """``(codes, classes, keep)``: labels of any type as int64 indices into ``classes``.

    ``classes`` are the class labels in the order of the indices (scikit-learn's
    ``classes``, an estimator's ``classes_``, checked by :func:`check_classes`); None: the
    sorted distinct labels, as ``np.unique`` (and ``LabelEncoder``) give them. ``codes``
    and the boolean mask ``keep`` have the labels' shape; labels equal to ``ignore_index``
    are not in ``keep`` and get code 0.

    Raises:
        DataError: a label not among ``classes``, NaN, labels that cannot be sorted
            together (mixed types), a ragged container.
    """
    values = _label_values(labels, name=name, owner=owner)
    keep = np.ones(values.shape, dtype=bool)
    if ignore_index is not None and values.dtype.kind in "iufbO":
        keep = np.asarray(values != ignore_index, dtype=bool).reshape(values.shape)
    try:
        distinct, inverse = np.unique(values[keep], return_inverse=True)
    except TypeError as exc:  # an object array of labels that do not compare
        must = "hold labels of one type that can be sorted (or pass classes=)"
        raise DataError(message(name, owner, must=must, got=describe(labels))) from exc
    found = distinct.tolist()
    if classes is not None:
        position = {label: index for index, label in enumerate(classes)}
        unknown = [label for label in found if label not in position]
        if unknown:
            must = f"hold only labels listed in classes ({listed(classes)})"
            raise DataError(message(name, owner, must=must, got=f"the labels {listed(unknown)}"))
        inverse = np.array([position[label] for label in found], dtype=np.int64)[inverse]
    codes = np.zeros(values.shape, dtype=np.int64)
    codes[keep] = inverse.reshape(-1)
    return codes, (found if classes is None else classes), keep


# ----------------------------------------------------------------------------- sources


def dataset_labels(dataset: Dataset[object], *, name: str, owner: str) -> object | None:
    """The labels a dataset exposes without loading features, or None.

    A ``targets`` or ``labels`` attribute (not a method), also through ``Subset``.
    ``name`` and ``owner`` are the caller's parameter and function, for the error raised
    when a ``Subset`` parent's labels cannot be converted.
    """
    if isinstance(dataset, Subset):
        parent = dataset_labels(dataset.dataset, name=name, owner=owner)
        if parent is None:
            return None
        labels = as_label_tensor(parent, name=name, owner=owner)
        selected: torch.Tensor = labels[torch.as_tensor(list(dataset.indices), dtype=torch.long)]
        return selected
    for attr in ("targets", "labels"):
        value: object = getattr(dataset, attr, None)
        if value is not None and not callable(value):
            return value
    return None


def _keyed_labels(item: Mapping[object, object], *, name: str, owner: str, what: str) -> object:
    """The labels of a dict sample or batch, under one of :data:`_LABEL_KEYS`."""
    for key in _LABEL_KEYS:
        if key in item:
            return item[key]
    keys = ", ".join(repr(key) for key in _LABEL_KEYS[:-1])
    raise DataError(
        message(
            name,
            owner,
            must=f"hold {what} dicts with a {keys} or {_LABEL_KEYS[-1]!r} key unless target= "
            "names the key of the labels",
            got=f"a {what} dict with the keys {list(item)}",
        )
    )


def pick_labels(
    item: object, target: int | str | None, *, name: str, owner: str, what: str
) -> object:
    """The labels of one ``what`` (``"sample"`` or ``"batch"``) of the source ``name``.

    ``item[target]`` when ``target`` is given; else a dict's label key, ``y`` of a tuple or
    list ``(x, y, ...)`` (its only element for ``(y,)``), or the item itself.
    """
    if target is not None:
        try:
            return item[target]  # type: ignore[index]  # any indexable; errors below
        except (KeyError, IndexError, TypeError) as exc:
            raise InvalidParameterError(
                message(
                    "target",
                    owner,
                    must=f"select the labels of each {what}",
                    got=f"{target!r}, which does not index a {what} of type {type(item).__name__}",
                )
            ) from exc
    if isinstance(item, Mapping):
        return _keyed_labels(item, name=name, owner=owner, what=what)
    if isinstance(item, (tuple, list)):
        if len(item) == 0:
            plural = "batches" if what == "batch" else f"{what}s"
            raise DataError(
                message(
                    name,
                    owner,
                    must=f"hold {plural} of the form y or (x, y, ...)",
                    got=f"an empty {type(item).__name__}",
                )
            )
        return item[1] if len(item) >= 2 else item[0]
    return item


def _picked_labels(
    item: object, target: int | str | None, *, name: str, owner: str, what: str, classes: bool
) -> torch.Tensor:
    """The label tensor of one sample or batch (``what``).

    For ``classes`` (class indices, which are integers), a sample or batch that is one
    float tensor alone is refused as features without labels, which it almost always is.
    """
    labels = as_label_tensor(
        pick_labels(item, target, name=name, owner=owner, what=what), name=name, owner=owner
    )
    alone = not isinstance(item, (tuple, list, Mapping)) or (
        isinstance(item, (tuple, list)) and len(item) == 1
    )
    if classes and target is None and alone and labels.is_floating_point():
        plural = "batches" if what == "batch" else f"{what}s"
        raise DataError(
            message(
                name,
                owner,
                must=f"hold labels: {plural} of the form (x, y, ...), or y alone holding "
                "integer class indices (target= says where the labels are)",
                got=f"{plural} of one {labels.dtype} tensor of shape "
                f"{describe_shape(labels.shape)} and no labels",
            )
        )
    return labels


def _stream_labels(
    source: Dataset[object] | Iterable[object],
    *,
    target: int | str | None,
    name: str,
    owner: str,
    classes: bool,
) -> Iterator[LabelBatch]:
    """Label tensors of a dataset (one sample at a time) or an iterable of batches.

    Yields ``(tensor, is_sample)``: samples come from datasets, batches from iterables.
    ``classes``: the labels are class indices (see :func:`_picked_labels`).
    """
    if isinstance(source, Dataset) and not isinstance(source, IterableDataset):
        for index in range(len(source)):  # type: ignore[arg-type]  # map-style: has __len__
            sample = source[index]
            yield (
                _picked_labels(
                    sample, target, name=name, owner=owner, what="sample", classes=classes
                ),
                True,
            )
        return
    is_sample = isinstance(source, IterableDataset)
    what = "sample" if is_sample else "batch"
    for item in source:
        labels = _picked_labels(item, target, name=name, owner=owner, what=what, classes=classes)
        yield labels, is_sample


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


def _is_batch_array(value: object) -> bool:
    return isinstance(value, (torch.Tensor, np.ndarray)) and value.ndim >= 1


def _batch_kind(item: object) -> str | None:
    """``"dict"``, ``"tuple"`` or ``"array"`` when a list element is a batch, else None.

    A batch is a dict, a tuple or list holding a tensor or array of one or more dimensions
    (``(x, y, ...)``), or such a tensor or array itself. Numbers, strings, 0-d tensors, numpy
    scalars and lists of them are labels (or rows of labels).
    """
    if isinstance(item, Mapping):
        return "dict"
    if isinstance(item, (tuple, list)):
        return "tuple" if any(_is_batch_array(part) for part in item) else None
    return "array" if _is_batch_array(item) else None


def list_batch_kind(source: object) -> str | None:
    """The batch kind of a list or tuple, decided by its first element.

    None for a list of labels, and for anything that is not a non-empty list or tuple.
    """
    if isinstance(source, (list, tuple)) and len(source) > 0:
        return _batch_kind(source[0])
    return None


def _stream_list_of_batches(
    source: Sequence[object], kind: str, *, target: int | str | None, name: str, owner: str
) -> Iterator[LabelBatch]:
    """``(tensor, False)`` for each batch of a list of batches of one ``kind``."""
    first_shape = None
    for index, item in enumerate(source):
        if _batch_kind(item) != kind:
            raise DataError(
                message(
                    name,
                    owner,
                    must="be a list of labels or a list of batches, each " + _BATCH_KINDS[kind][0],
                    got=f"{describe(item)} at index {index}",
                )
            )
        labels = _picked_labels(item, target, name=name, owner=owner, what="batch", classes=True)
        if kind == "array":  # bare label batches: only their first dimension may vary
            if first_shape is None:
                first_shape = tuple(labels.shape)
            elif tuple(labels.shape[1:]) != first_shape[1:]:
                raise DataError(
                    message(
                        name,
                        owner,
                        must="be a list of label batches of one shape but for their first "
                        "dimension",
                        got=f"{first_shape} at index 0 and {tuple(labels.shape)} at index {index}",
                    )
                )
        yield labels, False


def is_label_container(labels: object) -> bool:
    """True for a tensor, array, list, tuple or pandas Series: every element a label."""
    return isinstance(labels, (torch.Tensor, np.ndarray, list, tuple)) or (
        hasattr(labels, "to_numpy") and hasattr(labels, "dtype")
    )


def _check_multilabel_list(source: Sequence[object], kind: str, *, name: str, owner: str) -> None:
    """A list of batches given as multilabel targets: only 1-D rows of one length pass."""
    first = source[0]
    if kind == "array" and isinstance(first, (torch.Tensor, np.ndarray)) and first.ndim == 1:
        lengths = [
            len(row) for row in source if isinstance(row, (torch.Tensor, np.ndarray)) and row.ndim
        ]
        other = next((length for length in lengths if length != lengths[0]), None)
        if other is not None:
            raise DataError(
                message(
                    name,
                    owner,
                    must="be a list of rows of one length when it is a list of 1-D tensors or "
                    f"arrays (each one sample's targets; pass iter({name}) to read each "
                    "element as a batch of one label)",
                    got=f"rows of lengths {lengths[0]} and {other}",
                )
            )
        return
    raise InvalidParameterError(
        message(
            name,
            owner,
            must=f"be a matrix, a Dataset or an iterator when its elements are "
            f"{_BATCH_KINDS[kind][1]}, since a list of them may hold batches or samples, "
            f"which put the labels on different dimensions (pass iter({name}) to read each "
            "element as a batch, or stack the targets of the samples into one (N, L) tensor)",
            got=f"a {type(source).__name__}",
        )
    )


def label_batches(
    source: object,
    *,
    target: int | str | None,
    name: str,
    owner: str,
    multilabel: bool = False,
) -> Iterable[LabelBatch]:
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
        exposed = dataset_labels(source, name=name, owner=owner) if target is None else None
        if exposed is not None:
            return [(as_label_tensor(exposed, name=name, owner=owner), False)]
        return _stream_labels(source, target=target, name=name, owner=owner, classes=not multilabel)
    kind = list_batch_kind(source)
    if kind is not None and isinstance(source, (list, tuple)):
        if multilabel:
            _check_multilabel_list(source, kind, name=name, owner=owner)
        elif not (kind == "array" and target is not None):
            return _stream_list_of_batches(source, kind, target=target, name=name, owner=owner)
    if is_label_container(source):
        if target is not None:
            raise InvalidParameterError(
                message(
                    "target",
                    owner,
                    must=f"be None when '{name}' is an array, tensor, list or Series, whose "
                    "every element is a label (target picks the labels out of each sample of "
                    "a Dataset or batch of an iterable)",
                    got=repr(target),
                )
            )
        return [(as_label_tensor(source, name=name, owner=owner), False)]
    if isinstance(source, Iterable):
        return _stream_labels(source, target=target, name=name, owner=owner, classes=not multilabel)
    raise InvalidParameterError(
        message(
            name,
            owner,
            must="be an array, tensor, list, Series, Dataset or iterable of batches",
            got=describe(source),
        )
    )
