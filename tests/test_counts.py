"""class_counts / multilabel_counts against numpy references, bad input.

Where the labels come from (datasets, loaders, lists of batches, target=) is tested in
test_labels.py.
"""

from __future__ import annotations

import re
import weakref

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import underdog.counts
from underdog import DataError, InvalidParameterError, class_counts, multilabel_counts

LABELS = [0, 2, 2, 1, 2, 4]
EXPECTED = [1, 1, 3, 0, 1]


@pytest.mark.parametrize(
    "labels",
    [
        np.array(LABELS),
        np.array(LABELS, dtype=np.int32),
        np.array(LABELS, dtype=np.uint8),
        np.array(LABELS, dtype=np.uint16),
        torch.tensor(LABELS),
        torch.tensor(LABELS, dtype=torch.int32),
        LABELS,
        tuple(LABELS),
        pd.Series(LABELS),
    ],
    ids=["np64", "np32", "npu8", "npu16", "torch64", "torch32", "list", "tuple", "series"],
)
def test_containers(labels):
    counts = class_counts(labels)
    assert counts.dtype == torch.int64
    assert counts.tolist() == EXPECTED


def test_bool_labels_count_as_two_classes():
    assert class_counts(np.array([True, False, True])).tolist() == [1, 2]


def test_num_classes_pads_absent_classes():
    assert class_counts([1, 1], num_classes=4).tolist() == [0, 2, 0, 0]


def test_ignore_index_is_skipped():
    assert class_counts([0, -100, 1, -100, 1], ignore_index=-100).tolist() == [1, 2]
    assert class_counts([0, 255, 1], ignore_index=255).tolist() == [1, 1]


ONE_HOT = torch.nn.functional.one_hot(torch.tensor([0] * 30 + [1] * 10 + [2] * 4))


@pytest.mark.parametrize(
    "labels",
    [ONE_HOT, ONE_HOT.numpy(), ONE_HOT.bool(), ONE_HOT.numpy().astype(np.uint8), ONE_HOT.tolist()],
    ids=["tensor", "array", "bool", "uint8", "list"],
)
def test_one_hot_rows_are_refused_with_the_way_out(labels):
    # F.one_hot's output was counted as a mask of 88 zeros and 44 ones (issue 14, item 4).
    message = (
        "The 'labels' parameter of class_counts must hold class indices, not one-hot rows "
        "(convert them with labels.argmax(1); for multi-hot targets use multilabel_counts). "
        "Got one-hot rows of shape (44, 3) instead."
    )
    with pytest.raises(DataError, match=re.escape(message)):
        class_counts(labels)
    assert class_counts(ONE_HOT.argmax(1)).tolist() == [30, 10, 4]


def test_one_hot_batches_of_a_loader_are_refused():
    batches = [(torch.zeros(2, 4), ONE_HOT[i : i + 2]) for i in range(0, 44, 2)]
    with pytest.raises(DataError, match="not one-hot rows"):
        class_counts(iter(batches))


@pytest.mark.parametrize(
    "mask",
    [
        [[0, 1, 1], [1, 0, 0]],  # a row with two 1s: a mask, counted element by element
        [[0, 0, 0], [1, 0, 0]],  # a row without a 1
        [[1], [1], [0]],  # one column
        [[0, 2], [1, 0]],  # not 0/1
    ],
)
def test_masks_that_are_not_one_hot_count_every_element(mask):
    assert class_counts(mask).tolist() == np.bincount(np.array(mask).ravel()).tolist()


@pytest.mark.parametrize("label", [2**24, 2**40, 2**62, 2**63 - 1])
def test_labels_needing_an_absurd_count_vector_are_refused_before_allocating(label):
    # [0, 2**40] tried to allocate 8.8 TB, 2**62 overflowed (issue 14, item 11).
    for labels in (np.array([0, label]), torch.tensor([0, label]), iter([torch.tensor([label])])):
        with pytest.raises(DataError, match=rf"below 16777216 unless num_classes is given.*"
                           rf"Got the label {label} instead\.$"):  # fmt: skip
            class_counts(labels)
    assert class_counts([0, 2**24 - 1], num_classes=2**24).shape == (2**24,)


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (torch.tensor([0, 1, 1]).to_sparse(), "must be a dense tensor"),
        (torch.zeros(3, dtype=torch.long, device="meta"), "must hold values"),
        (np.array(["2020-01-01", "2020-01-02"], dtype="datetime64[D]"), "datetime64[D]"),
        (np.array([1, 2], dtype="timedelta64[s]"), "timedelta64[s]"),
        (pd.Series(pd.to_datetime(["2020-01-01"])), "datetime64"),
        ([torch.tensor([0, 1]).to_sparse()], "must be a dense tensor"),
    ],
    ids=["sparse", "meta", "datetime", "timedelta", "datetime-series", "list-of-sparse"],
)
def test_labels_without_readable_integer_values_are_data_errors(labels, message):
    with pytest.raises(DataError, match=re.escape(message)):
        class_counts(labels)


def test_uint64_labels_are_shown_as_they_are():
    # 2**63 + 5 was converted to int64 and reported as -9223372036854775803 (item 12).
    for labels in (np.array([0, 2**63 + 5], dtype=np.uint64),
                   torch.tensor([0, 2**63 + 5], dtype=torch.uint64)):  # fmt: skip
        with pytest.raises(DataError, match=r"^The 'labels' parameter of class_counts must hold "
                           r"class indices below 2\*\*63\. Got the label 9223372036854775813 "
                           r"instead\.$"):  # fmt: skip
            class_counts(labels)
    assert class_counts(torch.tensor([0, 2, 2], dtype=torch.uint64)).tolist() == [1, 0, 2]


FEATURES = torch.randn(10, 3)


@pytest.mark.parametrize(
    ("source", "what"),
    [
        (torch.utils.data.DataLoader(torch.utils.data.TensorDataset(FEATURES), batch_size=4),
         "batches"),
        (torch.utils.data.DataLoader(FEATURES, batch_size=4), "batches"),
        (torch.utils.data.TensorDataset(FEATURES), "samples"),
        (list(torch.utils.data.DataLoader(torch.utils.data.TensorDataset(FEATURES),
                                          batch_size=4)), "batches"),
    ],
    ids=["loader-of-x", "loader-of-a-tensor", "dataset-of-x", "list-of-batches"],
)  # fmt: skip
def test_a_source_of_features_alone_is_said_to_hold_no_labels(source, what):
    # It was told its labels were float32 (issue 14, item 12).
    with pytest.raises(DataError, match=rf"^The 'labels' parameter of class_counts must hold "
                       rf"labels: {what} of the form \(x, y, \.\.\.\), or y alone holding "
                       rf"integer class indices .*Got {what} of one torch\.float32 tensor of "
                       rf"shape \([34],?( 3)?\) and no labels instead\.$"):  # fmt: skip
        class_counts(source)


def test_float_batches_alone_are_still_multilabel_targets():
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(T_FLOAT), batch_size=2)
    assert multilabel_counts(loader).positives.tolist() == [2, 1]


T_FLOAT = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])


def test_multidimensional_labels_count_every_element():
    mask = torch.tensor([[[0, 1], [1, 1]], [[2, 2], [0, 255]]])
    assert class_counts(mask, ignore_index=255).tolist() == [2, 3, 2]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 20), min_size=1, max_size=200), st.integers(1, 7))
def test_matches_numpy_bincount_streamed_or_not(labels, batch):
    expected = np.bincount(labels).tolist()
    assert class_counts(np.array(labels)).tolist() == expected
    chunks = [torch.tensor(labels[i : i + batch]) for i in range(0, len(labels), batch)]
    assert class_counts(iter(chunks)).tolist() == expected


BLOCK = underdog.counts._BLOCK  # labels counted (and checked) at a time


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.int16, np.int8, np.uint16, np.uint32])
def test_counts_across_blocks_equal_numpy(dtype):
    # Several blocks, the largest class only in the last one, -100 and 255 in some blocks.
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 20, 3 * BLOCK + 5).astype(dtype)
    labels[-1] = 42 if np.iinfo(dtype).max >= 42 else 21
    assert class_counts(labels).tolist() == np.bincount(labels).tolist()
    assert class_counts(torch.from_numpy(labels)).tolist() == np.bincount(labels).tolist()
    ignored = labels.copy()
    ignore = -100 if np.iinfo(dtype).min < 0 else 255
    if np.iinfo(dtype).max >= 255 or ignore < 0:
        ignored[BLOCK + 3 :: 7] = ignore
        expected = np.bincount(ignored[ignored != ignore]).tolist()
        assert class_counts(ignored, ignore_index=ignore).tolist() == expected


def test_bad_labels_in_a_later_block_are_found():
    labels = np.zeros(2 * BLOCK + 10, dtype=np.int64)
    labels[-3] = -7
    with pytest.raises(DataError, match=r"must hold class indices >= 0\. Got the label -7"):
        class_counts(labels)
    labels[-3] = -100
    assert class_counts(labels, ignore_index=-100).tolist() == [2 * BLOCK + 9]
    labels[-2] = 5
    with pytest.raises(DataError, match=r"in \[0, 4\), below num_classes=4 .*Got the label 5"):
        class_counts(labels, ignore_index=-100, num_classes=4)
    only_ignored = np.full(BLOCK + 1, 255)
    only_ignored[0] = 3
    assert class_counts(only_ignored, ignore_index=255).tolist() == [0, 0, 0, 1]


def test_many_classes_and_a_longer_count_in_a_later_batch():
    # The count vector grows from batch to batch; blocks widen with the number of classes.
    first = np.arange(300_000) % 250_000
    second = np.array([400_000, 0])
    counts = class_counts(iter([first, second]))
    assert counts.tolist() == np.bincount(np.concatenate([first, second])).tolist()


def test_streaming_keeps_no_batch_alive():
    """Each batch is released before the next is drawn: the counter holds only O(C) state."""
    alive = []

    def batches():
        for _ in range(1000):
            # The consumer's loop variable still holds the previous batch; any older one
            # must be gone, or the counter kept a reference to it.
            assert len(alive) < 2 or alive[-2]() is None
            # numpy batches: a tensor made from one (as the counter makes) keeps it alive.
            batch = np.random.default_rng(len(alive)).integers(0, 10, 100)
            alive.append(weakref.ref(batch))
            yield batch
            del batch

    counts = class_counts(batches(), num_classes=10)
    assert int(counts.sum()) == 100_000 and len(alive) == 1000


@pytest.mark.parametrize(
    ("labels", "kwargs", "message"),
    [
        ([0, -1, 2], {}, "must hold class indices >= 0. Got the label -1 instead."),
        (
            [0, -1, -100],
            {"ignore_index": -100},
            "must hold class indices >= 0 (other than ignore_index=-100). Got the label -1 instead.",
        ),
        (
            [0, 3],
            {"num_classes": 3},
            "must hold class indices in [0, 3), below num_classes=3. Got the label 3 instead.",
        ),
        ([], {}, "must hold at least one label"),
        ([-100, -100], {"ignore_index": -100}, "at least one label that is not ignore_index"),
    ],
)
def test_bad_labels(labels, kwargs, message):
    with pytest.raises(DataError, match=re.escape(message)):
        class_counts(labels, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"num_classes": 0},
            "The 'num_classes' parameter of class_counts must be an int in [1, 268435456]. Got 0 instead.",
        ),
        ({"num_classes": 2.0}, "The 'num_classes' parameter of class_counts must be an int"),
        (
            {"distributed": "yes"},
            "The 'distributed' parameter of class_counts must be a bool. Got 'yes' instead.",
        ),
    ],
)
def test_bad_parameters(kwargs, message):
    with pytest.raises(InvalidParameterError) as info:
        class_counts([0, 1], **kwargs)
    assert message in str(info.value)


# ----------------------------------------------------------------------------- multilabel


def test_multilabel_counts_matrix():
    y = np.array([[1, 0, 1], [1, 1, 0], [0, 0, 1], [1, 0, 1]])
    counts = multilabel_counts(y)
    assert counts.positives.tolist() == y.sum(0).tolist()
    assert counts.negatives.tolist() == (1 - y).sum(0).tolist()
    assert counts.num_samples == 4


def test_multilabel_counts_float_bool_and_vector():
    assert multilabel_counts(torch.tensor([[1.0, 0.0], [1.0, 1.0]])).positives.tolist() == [2, 1]
    assert multilabel_counts(np.array([[True], [False]])).negatives.tolist() == [1]
    vector = multilabel_counts([0, 1, 1, 1])
    assert vector.positives.tolist() == [3] and vector.negatives.tolist() == [1]


def test_multilabel_counts_ignore_and_dense():
    y = torch.tensor([[1, -1], [0, 1], [-1, 1]])
    counts = multilabel_counts(y, ignore_index=-1)
    assert counts.positives.tolist() == [1, 2] and counts.negatives.tolist() == [1, 0]
    dense = torch.zeros(2, 3, 4, 4)
    dense[:, 1] = 1
    counts = multilabel_counts(dense)
    assert counts.positives.tolist() == [0, 32, 0] and counts.num_samples == 32


@pytest.mark.parametrize(
    ("targets", "kwargs", "error", "message"),
    [
        ([[0, 2]], {}, DataError, "must hold only 0 and 1. Got the value 2 instead."),
        ([[0.5, 1.0]], {}, DataError, "must hold only 0 and 1. Got the value 0.5 instead."),
        ([[0, 1]], {"ignore_index": 1}, InvalidParameterError, "must differ from 0 and 1"),
        (iter([torch.ones(2, 2), torch.ones(2, 3)]), {}, DataError, "same number of labels"),
        (iter([]), {}, DataError, "at least one row"),
    ],
)
def test_multilabel_bad_input(targets, kwargs, error, message):
    with pytest.raises(error) as info:
        multilabel_counts(targets, **kwargs)
    assert message in str(info.value)
