"""underdog.labels: every label source (containers, datasets, loaders, lists of batches,
``target=``) gives the labels it holds, and a source that cannot be read says why.

Exercised through the public functions that take label sources (class_counts,
multilabel_counts, pos_weight); the helpers themselves are tested at the end.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, Subset, TensorDataset

import underdog
from underdog import DataError, InvalidParameterError, class_counts, multilabel_counts
from underdog.labels import (
    as_label_tensor,
    check_class_indices,
    check_integer_labels,
    is_label_container,
    label_batches,
    list_batch_kind,
)

LABELS = [0, 2, 2, 1, 2, 4]
EXPECTED = [1, 1, 3, 0, 1]


# ----------------------------------------------------------------------------- datasets


class _Samples(Dataset):
    """A map-style dataset without a targets attribute: must be iterated."""

    def __init__(self, labels):
        self.labels_ = labels

    def __len__(self):
        return len(self.labels_)

    def __getitem__(self, i):
        return torch.zeros(3), self.labels_[i]


class _WithTargets(_Samples):
    def __init__(self, labels):
        super().__init__(labels)
        self.targets = labels

    def __getitem__(self, i):  # never called when targets exists
        raise AssertionError("features must not be loaded")


def test_dataset_with_targets_attribute_does_not_load_samples():
    assert class_counts(_WithTargets(LABELS)).tolist() == EXPECTED


def test_subset_uses_parent_targets():
    subset = Subset(_WithTargets(LABELS), [1, 2, 5])
    assert class_counts(subset).tolist() == [0, 0, 2, 0, 1]


def test_subset_of_bad_targets_is_reported_by_its_caller():
    """A Subset's parent targets are converted for whoever asked, under their parameter name."""
    subset = Subset(_WithTargets(["cat", "dog", "cat"]), [0, 2])
    with pytest.raises(DataError) as info:
        class_counts(subset)
    assert str(info.value).startswith("The 'labels' parameter of class_counts must hold integer")
    with pytest.raises(DataError) as info:
        multilabel_counts(subset)
    assert str(info.value).startswith(
        "The 'targets' parameter of multilabel_counts must hold integer"
    )


def test_dataset_without_targets_is_iterated():
    assert class_counts(_Samples(LABELS)).tolist() == EXPECTED


def test_iterable_dataset_of_samples():
    class Stream(IterableDataset):
        def __iter__(self):
            return iter([(torch.zeros(2), y) for y in LABELS])

    assert class_counts(Stream()).tolist() == EXPECTED


def test_dataloader_of_tuples_and_of_dicts():
    data = TensorDataset(torch.randn(6, 2), torch.tensor(LABELS))
    assert class_counts(DataLoader(data, batch_size=4)).tolist() == EXPECTED
    batches = [
        {"x": torch.zeros(2), "label": torch.tensor(LABELS[:3])},
        {"x": torch.zeros(2), "label": torch.tensor(LABELS[3:])},
    ]
    assert class_counts(iter(batches)).tolist() == EXPECTED
    custom = iter([{"cls": torch.tensor(LABELS)}])
    assert class_counts(custom, target="cls").tolist() == EXPECTED


# ----------------------------------------------------------------------------- target=

RNG_LABELS = np.random.default_rng(0).integers(0, 6, 40)
RNG_EXPECTED = np.bincount(RNG_LABELS).tolist()


class _Dicts(Dataset):
    """Samples are dicts whose "cls" entry is the label; ``targets`` says something else."""

    def __init__(self, labels, targets=None):
        self.labels_ = labels
        if targets is not None:
            self.targets = targets

    def __len__(self):
        return len(self.labels_)

    def __getitem__(self, i):
        return {"x": torch.zeros(3), "cls": int(self.labels_[i])}


def test_target_with_a_dataset_reads_the_samples_not_the_targets_attribute():
    decoy = [0] * len(RNG_LABELS)  # what the attribute would give
    dataset = _Dicts(RNG_LABELS, targets=decoy)
    assert class_counts(dataset).tolist() == [len(RNG_LABELS)]
    assert class_counts(dataset, target="cls").tolist() == RNG_EXPECTED
    indices = [3, 1, 4, 1, 5, 9, 2, 6]
    subset = Subset(dataset, indices)
    assert class_counts(subset).tolist() == [len(indices)]
    expected = np.bincount(RNG_LABELS[indices], minlength=6).tolist()
    assert class_counts(subset, target="cls", num_classes=6).tolist() == expected


def test_target_index_with_datasets_and_loaders():
    y = torch.from_numpy(RNG_LABELS)
    swapped = TensorDataset(y, torch.randn(len(y), 2))  # labels first: the default picks x
    assert class_counts(swapped, target=0).tolist() == RNG_EXPECTED
    assert class_counts(DataLoader(swapped, batch_size=7), target=0).tolist() == RNG_EXPECTED
    with pytest.raises(DataError, match="must hold integer class indices"):
        class_counts(DataLoader(swapped, batch_size=7))  # x is float: default y=item[1]

    class Stream(IterableDataset):
        def __iter__(self):
            return iter([{"x": 0, "cls": int(v)} for v in RNG_LABELS])

    assert class_counts(Stream(), target="cls").tolist() == RNG_EXPECTED


def test_multilabel_target_with_datasets_and_loaders():
    y = (torch.rand(30, 4, generator=torch.Generator().manual_seed(1)) < 0.4).long()
    reference = y.numpy()

    class Rows(Dataset):
        targets = torch.zeros(30, 4)  # a decoy: target= must read the samples

        def __len__(self):
            return 30

        def __getitem__(self, i):
            return {"x": torch.zeros(2), "tags": y[i]}

    for source in (Rows(), DataLoader(Rows(), batch_size=4)):
        counts = multilabel_counts(source, target="tags")
        assert counts.positives.tolist() == reference.sum(0).tolist()
        assert counts.negatives.tolist() == (1 - reference).sum(0).tolist()
        assert counts.num_samples == 30
    assert multilabel_counts(Rows()).positives.tolist() == [0, 0, 0, 0]


@pytest.mark.parametrize(
    "container",
    [np.array, torch.tensor, list, tuple, pd.Series],
    ids=["numpy", "torch", "list", "tuple", "series"],
)
@pytest.mark.parametrize("target", [1, "label"])
def test_target_with_a_container_raises(container, target):
    """A container is all labels: a target= that cannot apply raises instead of being ignored."""
    with pytest.raises(InvalidParameterError) as info:
        class_counts(container(LABELS), target=target)
    assert str(info.value) == (
        "The 'target' parameter of class_counts must be None when 'labels' is an array, "
        "tensor, list or Series, whose every element is a label (target picks the labels "
        f"out of each sample of a Dataset or batch of an iterable). Got {target!r} instead."
    )
    rows = container([1, 0, 1]) if container is pd.Series else container([[1, 0], [0, 1]])
    with pytest.raises(InvalidParameterError) as info:
        multilabel_counts(rows, target=target)
    assert str(info.value).startswith(
        "The 'target' parameter of multilabel_counts must be None when 'targets' is an array"
    )
    assert str(info.value).endswith(f"Got {target!r} instead.")


def test_target_that_does_not_index_the_batches():
    loader = DataLoader(TensorDataset(torch.randn(6, 2), torch.tensor(LABELS)), batch_size=4)
    with pytest.raises(InvalidParameterError) as info:
        class_counts(loader, target=5)
    assert str(info.value) == (
        "The 'target' parameter of class_counts must select the labels of each batch. "
        "Got 5, which does not index a batch of type list instead."
    )
    with pytest.raises(InvalidParameterError, match="Got 'cls', which does not index"):
        multilabel_counts(iter([{"y": torch.ones(2, 2)}]), target="cls")


def test_errors_say_sample_for_datasets_and_batch_for_iterables():
    dataset = _Dicts(RNG_LABELS)  # dict samples keyed "cls", no targets attribute
    with pytest.raises(DataError) as info:
        class_counts(dataset)
    assert str(info.value) == (
        "The 'labels' parameter of class_counts must hold sample dicts with a 'target', "
        "'targets', 'label', 'labels' or 'y' key unless target= names the key of the labels. "
        "Got a sample dict with the keys ['x', 'cls'] instead."
    )
    with pytest.raises(DataError, match="must hold batch dicts with a 'target'"):
        class_counts(DataLoader(dataset, batch_size=4))
    with pytest.raises(InvalidParameterError) as info:
        multilabel_counts(TensorDataset(torch.ones(3, 2)), target=1)
    assert str(info.value) == (
        "The 'target' parameter of multilabel_counts must select the labels of each sample. "
        "Got 1, which does not index a sample of type tuple instead."
    )

    class Empty(IterableDataset):
        def __iter__(self):
            return iter([()])

    with pytest.raises(DataError) as info:
        class_counts(Empty())
    assert str(info.value) == (
        "The 'labels' parameter of class_counts must hold samples of the form y or "
        "(x, y, ...). Got an empty tuple instead."
    )


def test_not_a_label_source():
    with pytest.raises(InvalidParameterError, match="must be an array, tensor, list"):
        class_counts(3)


# ----------------------------------------------------------------------------- lists

BATCHES = [torch.from_numpy(RNG_LABELS[i : i + 16]) for i in range(0, len(RNG_LABELS), 16)]


@pytest.mark.parametrize(
    ("batches", "kwargs"),
    [
        ([{"x": torch.zeros(len(y), 2), "label": y} for y in BATCHES], {}),
        ([{"x": torch.zeros(len(y), 2), "cls": y} for y in BATCHES], {"target": "cls"}),
        ([(torch.zeros(len(y), 2), y) for y in BATCHES], {}),
        ([[torch.zeros(len(y), 2), y] for y in BATCHES], {}),
        (tuple((torch.zeros(len(y), 2), y) for y in BATCHES), {}),
        ([(y, torch.zeros(len(y), 2)) for y in BATCHES], {"target": 0}),
        (list(DataLoader(TensorDataset(torch.zeros(40, 2), torch.from_numpy(RNG_LABELS)))), {}),
        (BATCHES, {}),  # ragged: the last batch is shorter
        ([y.numpy() for y in BATCHES], {}),
        ([(torch.zeros(3), int(y)) for y in RNG_LABELS], {}),  # samples: list(dataset)
    ],
    ids=[
        "dicts",
        "dicts-target",
        "tuples",
        "lists",
        "tuple-of-tuples",
        "target-index",
        "list-of-loader",
        "tensors",
        "arrays",
        "samples",
    ],
)
def test_a_list_of_batches_is_streamed_like_an_iterator(batches, kwargs):
    assert class_counts(batches, **kwargs).tolist() == RNG_EXPECTED
    assert class_counts(iter(batches), **kwargs).tolist() == RNG_EXPECTED


def test_a_list_of_labels_is_still_a_container():
    assert class_counts([torch.tensor(v) for v in LABELS]).tolist() == EXPECTED
    assert class_counts([np.int64(v) for v in LABELS]).tolist() == EXPECTED
    grid = [[0, 2], [2, 1], [2, 4]]  # a 2-D label array: every element counts
    assert class_counts(grid).tolist() == EXPECTED
    assert class_counts([[torch.tensor(v) for v in row] for row in grid]).tolist() == EXPECTED


def test_multilabel_lists_of_rows_are_matrices():
    y = np.array([[1, 0, 1], [1, 1, 0], [0, 0, 1], [1, 0, 1]])
    for rows in (
        y.tolist(),
        [torch.tensor(r) for r in y],
        list(y),
        [list(map(torch.tensor, r)) for r in y],
    ):
        counts = multilabel_counts(rows)
        assert counts.positives.tolist() == y.sum(0).tolist()
        assert counts.negatives.tolist() == (1 - y).sum(0).tolist()
        assert counts.num_samples == 4
    vector = multilabel_counts([torch.tensor(1), torch.tensor(0), torch.tensor(1)])
    assert vector.positives.tolist() == [2] and vector.num_samples == 3


@pytest.mark.parametrize(
    ("batches", "what"),
    [
        ([{"tags": torch.ones(4, 3)}, {"tags": torch.zeros(2, 3)}], "dicts"),
        ([(torch.zeros(4, 2), torch.ones(4, 3))], "tuples or lists holding tensors or arrays"),
        ([torch.ones(4, 3), torch.zeros(2, 3)], "tensors or arrays of two or more dimensions"),
    ],
    ids=["dicts", "tuples", "matrices"],
)
def test_multilabel_refuses_a_list_that_may_hold_batches_or_samples(batches, what):
    """Rows would be (L,) targets of samples or (B, L) batches: the list cannot say which."""
    with pytest.raises(InvalidParameterError) as info:
        multilabel_counts(batches, target="tags" if what == "dicts" else None)
    assert str(info.value) == (
        "The 'targets' parameter of multilabel_counts must be a matrix, a Dataset or an "
        f"iterator when its elements are {what}, since a list of them may hold batches or "
        "samples, which put the labels on different dimensions (pass iter(targets) to read "
        "each element as a batch, or stack the targets of the samples into one (N, L) "
        "tensor). Got a list instead."
    )
    streamed = multilabel_counts(iter(batches), target="tags" if what == "dicts" else None)
    stacked = torch.cat([_pick(b) for b in batches]).numpy()
    assert streamed.positives.tolist() == stacked.sum(0).tolist()
    assert streamed.negatives.tolist() == (1 - stacked).sum(0).tolist()
    with pytest.raises(InvalidParameterError, match="may hold batches or samples"):
        underdog.pos_weight(batches)


def _pick(batch):
    return (
        batch["tags"]
        if isinstance(batch, dict)
        else batch[1]
        if isinstance(batch, tuple)
        else batch
    )


def test_multilabel_rows_of_different_lengths():
    with pytest.raises(DataError) as info:
        multilabel_counts([torch.tensor([1, 0, 1]), torch.tensor([0, 1])])
    assert str(info.value) == (
        "The 'targets' parameter of multilabel_counts must be a list of rows of one length "
        "when it is a list of 1-D tensors or arrays (each one sample's targets; pass "
        "iter(targets) to read each element as a batch of one label). Got rows of lengths 3 "
        "and 2 instead."
    )
    binary = multilabel_counts(iter([torch.tensor([1, 0, 1]), torch.tensor([0, 1])]))
    assert binary.positives.tolist() == [3] and binary.negatives.tolist() == [2]


@pytest.mark.parametrize(
    ("labels", "kwargs", "error", "message"),
    [
        (
            [torch.tensor([0, 1]), [1, 0]],
            {},
            DataError,
            "The 'labels' parameter of class_counts must be a list of labels or a list of "
            "batches, each a tensor or array of one or more dimensions. Got [1, 0] at index 1 "
            "instead.",
        ),
        (
            [{"label": torch.tensor([0, 1])}, 3],
            {},
            DataError,
            "The 'labels' parameter of class_counts must be a list of labels or a list of "
            "batches, each a dict. Got 3 at index 1 instead.",
        ),
        (
            [torch.zeros(4, 7, dtype=torch.long), torch.zeros(4, dtype=torch.long)],
            {},
            DataError,
            "The 'labels' parameter of class_counts must be a list of label batches of one "
            "shape but for their first dimension. Got (4, 7) at index 0 and (4,) at index 1 "
            "instead.",
        ),
        (
            [torch.tensor([0, 1]), torch.tensor([2])],
            {"target": 0},
            InvalidParameterError,
            "The 'target' parameter of class_counts must be None when 'labels' is an array",
        ),
    ],
    ids=["mixed-tensor-list", "mixed-dict-int", "shapes", "target"],
)
def test_bad_lists(labels, kwargs, error, message):
    with pytest.raises(error) as info:
        class_counts(labels, **kwargs)
    assert str(info.value).startswith(message)


def test_multilabel_counts_streamed_equals_in_memory():
    y = (torch.rand(50, 4) < 0.3).float()
    loader = DataLoader(TensorDataset(torch.randn(50, 2), y), batch_size=7)
    streamed, whole = multilabel_counts(loader), multilabel_counts(y)
    assert torch.equal(streamed.positives, whole.positives)
    assert torch.equal(streamed.negatives, whole.negatives)
    assert streamed.num_samples == whole.num_samples == 50
    samples = multilabel_counts(_Samples(list(y)))
    assert torch.equal(samples.positives, whole.positives)


def test_batches_may_be_any_mapping():
    # e.g. Hugging Face's BatchEncoding is a UserDict, not a dict.
    from collections import UserDict

    labels = [torch.tensor([0, 2, 2]), torch.tensor([1, 2])]
    batches = [UserDict({"input_ids": torch.zeros(len(y)), "labels": y}) for y in labels]
    want = np.bincount(torch.cat(labels).numpy(), minlength=3)
    np.testing.assert_array_equal(class_counts(iter(batches)).numpy(), want)
    np.testing.assert_array_equal(class_counts(batches).numpy(), want)  # a list of batches


def test_multilabel_rows_given_as_tensors_are_stacked_by_torch():
    # Rows that require grad cannot go through numpy; torch.stack takes them as they are.
    rows = [torch.tensor([1.0, 0.0, 1.0], requires_grad=True), torch.tensor([0.0, 0.0, 1.0])]
    counts = multilabel_counts(rows)
    matrix = np.array([[1, 0, 1], [0, 0, 1]])
    np.testing.assert_array_equal(counts.positives.numpy(), matrix.sum(0))
    np.testing.assert_array_equal(counts.negatives.numpy(), (1 - matrix).sum(0))
    assert counts.num_samples == 2


# ----------------------------------------------------------------------------- values


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (
            [0.0, 1.0],
            "The 'labels' parameter of class_counts must hold integer class indices (convert "
            "whole numbers with .long() or .astype(int)). Got dtype torch.float64 instead.",
        ),
        ([0.0, float("nan")], "Got dtype torch.float64 (it contains NaN) instead."),
        (
            ["a", "b"],
            "must hold integer class indices (map class names to indices first, for example "
            "with sklearn.preprocessing.LabelEncoder). Got values of dtype <U1 instead.",
        ),
        ([[0, 1], [1]], "must be rectangular (rows of one length). Got a ragged list instead."),
        ([None, 1], "must hold integer class indices. Got values of type NoneType instead."),
    ],
)
def test_labels_that_are_not_class_indices(labels, message):
    with pytest.raises(DataError) as info:
        class_counts(labels)
    assert message in str(info.value)


def test_as_label_tensor_keeps_tensors_and_widens_unsigned_arrays():
    y = torch.tensor([1, 0, 2])
    assert as_label_tensor(y, name="labels", owner="f") is not None
    assert torch.equal(as_label_tensor(y, name="labels", owner="f"), y)
    wide = as_label_tensor(np.array([1, 2], dtype=np.uint32), name="labels", owner="f")
    assert wide.dtype == torch.int64
    rows = as_label_tensor([torch.tensor([1, 0]), torch.tensor([0, 1])], name="y", owner="f")
    assert rows.shape == (2, 2)
    with pytest.raises(DataError, match=r"^The 'y' parameter of f must be rectangular"):
        as_label_tensor([torch.tensor([1, 0]), torch.tensor([1])], name="y", owner="f")


def test_check_integer_labels_reads_bool_as_uint8_and_refuses_floats():
    assert check_integer_labels(torch.tensor([True, False]), name="y", owner="f").dtype == (
        torch.uint8
    )
    with pytest.raises(DataError, match=r"^The 'y' parameter of f must hold integer class"):
        check_integer_labels(torch.tensor([0.0, 1.0]), name="y", owner="f")


@pytest.mark.parametrize(
    ("labels", "kwargs", "message"),
    [
        ([0, -2], {"num_classes": None}, "must hold class indices >= 0. Got the label -2"),
        ([0, 4], {"num_classes": 4}, "must hold class indices in [0, 4). Got the label 4"),
        (
            [0, 4],
            {"num_classes": 2, "bound": " to index w"},
            "must hold class indices in [0, 2) to index w. Got the label 4",
        ),
    ],
)
def test_check_class_indices(labels, kwargs, message):
    check_class_indices(torch.tensor([0, 1]), num_classes=2, ignore_index=None, name="y", owner="f")
    with pytest.raises(DataError) as info:
        check_class_indices(torch.tensor(labels), ignore_index=None, name="y", owner="f", **kwargs)
    assert message in str(info.value)


def test_list_batch_kind_and_containers():
    assert list_batch_kind([{"y": 1}]) == "dict"
    assert list_batch_kind([(torch.zeros(2), torch.ones(2))]) == "tuple"
    assert list_batch_kind([torch.zeros(2)]) == "array"
    assert list_batch_kind([0, 1]) is None and list_batch_kind([]) is None
    assert list_batch_kind(torch.zeros(3)) is None  # not a list
    assert is_label_container(pd.Series([0, 1])) and is_label_container([0, 1])
    assert not is_label_container(iter([0, 1]))


def test_label_batches_streams_iterables_and_reads_containers_whole():
    whole = list(label_batches([0, 1, 1], target=None, name="labels", owner="f"))
    assert len(whole) == 1 and whole[0][0].tolist() == [0, 1, 1] and whole[0][1] is False
    stream = label_batches(
        iter([torch.tensor([0]), torch.tensor([1, 1])]), target=None, name="labels", owner="f"
    )
    assert [(t.tolist(), s) for t, s in stream] == [([0], False), ([1, 1], False)]
    samples = label_batches(
        TensorDataset(torch.zeros(2, 1), torch.tensor([1, 0])),
        target=None,
        name="labels",
        owner="f",
    )
    assert [(t.tolist(), s) for t, s in samples] == [(1, True), (0, True)]
