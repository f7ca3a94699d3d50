"""class_weight / pos_weight / binary_class_weight / sample_weight against references."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.utils.class_weight import compute_class_weight

from underdog import (
    DataError,
    InvalidParameterError,
    binary_class_weight,
    class_counts,
    class_weight,
    pos_weight,
    sample_weight,
)

f64 = torch.float64


def test_worked_examples():
    balanced = class_weight([900, 100], dtype=f64)
    assert torch.equal(balanced.round(decimals=4), torch.tensor([0.5556, 5.0], dtype=f64))
    inverse = class_weight([100, 800, 100], scheme="inverse", dtype=f64)
    assert inverse.tolist() == [10.0, 1.25, 10.0]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 500), min_size=2, max_size=12))
def test_balanced_is_identical_to_sklearn(sizes):
    y = np.repeat(np.arange(len(sizes)), sizes)
    expected = compute_class_weight("balanced", classes=np.arange(len(sizes)), y=y)
    ours = class_weight(class_counts(y), scheme="balanced", dtype=f64).numpy()
    np.testing.assert_array_equal(ours, expected)
    # scikit-learn's invariant: balanced weights times counts sum to n.
    np.testing.assert_allclose((ours * np.array(sizes)).sum(), len(y), rtol=1e-12)


def test_schemes_follow_their_formulas():
    n = torch.tensor([10.0, 100.0, 1000.0], dtype=f64)
    total = n.sum()
    torch.testing.assert_close(class_weight(n, scheme="inverse", dtype=f64), total / n)
    torch.testing.assert_close(
        class_weight(n, scheme="inverse_sqrt", dtype=f64), torch.sqrt(total / n)
    )
    beta = 0.99
    torch.testing.assert_close(
        class_weight(n, scheme="effective", beta=beta, dtype=f64), (1 - beta) / (1 - beta**n)
    )
    torch.testing.assert_close(class_weight(n, scheme="median", dtype=f64), 100.0 / n)
    assert class_weight(n, scheme="uniform").tolist() == [1.0, 1.0, 1.0]


def test_median_uses_the_middle_of_an_even_number_of_classes():
    n = torch.tensor([10.0, 20.0, 40.0, 80.0], dtype=f64)
    torch.testing.assert_close(class_weight(n, scheme="median", dtype=f64), 30.0 / n)


def test_effective_limits():
    n = torch.tensor([5, 50, 500])
    assert class_weight(n, scheme="effective", beta=0.0).tolist() == [1.0, 1.0, 1.0]
    # beta -> 1 approaches inverse frequency 1/n_c; the expm1 form stays exact.
    near_one = class_weight(n, scheme="effective", beta=1 - 1e-12, dtype=f64)
    torch.testing.assert_close(near_one, 1.0 / n.to(f64), rtol=1e-6, atol=0)


@pytest.mark.parametrize("scheme", ["balanced", "inverse", "inverse_sqrt", "median"])
def test_normalisations(scheme):
    n = torch.tensor([3, 30, 300, 7], dtype=f64)
    mean = class_weight(n, scheme=scheme, normalize="mean", dtype=f64)
    torch.testing.assert_close(mean.mean(), torch.tensor(1.0, dtype=f64))
    torch.testing.assert_close(mean.sum(), torch.tensor(4.0, dtype=f64))
    samples = class_weight(n, scheme=scheme, normalize="samples", dtype=f64)
    torch.testing.assert_close((samples * n).sum(), n.sum())
    largest = class_weight(n, scheme=scheme, normalize="max", dtype=f64)
    assert largest.max().item() == 1.0
    raw = class_weight(n, scheme=scheme, dtype=f64)
    # Normalising only rescales: ratios between classes are kept.
    for normalised in (mean, samples, largest):
        torch.testing.assert_close(normalised / normalised[0], raw / raw[0])


def test_cap_applies_after_normalisation():
    w = class_weight([1, 10, 100], scheme="inverse", normalize="max", max_weight=0.5, dtype=f64)
    torch.testing.assert_close(w, torch.tensor([0.5, 0.1, 0.01], dtype=f64))


def test_zero_count_policies():
    counts = [10, 0, 1000, 0]
    with pytest.raises(
        DataError,
        match=r"must be positive for every class unless zero_count is 'zero' or 'max'\. "
        r"Got classes \[1, 3\] with no samples instead\.$",
    ):
        class_weight(counts)
    zero = class_weight(counts, zero_count="zero", dtype=f64)
    assert zero[1] == 0 and zero[3] == 0
    assert zero[0].item() == pytest.approx(1010 / (4 * 10))  # absent classes count in C
    largest = class_weight(counts, zero_count="max", dtype=f64)
    assert largest[1] == largest[3] == largest[0] == largest.max()


def test_dtype_default_and_explicit():
    assert class_weight([1, 2]).dtype == torch.get_default_dtype()
    assert class_weight([1, 2], dtype=torch.float16).dtype == torch.float16


@pytest.mark.parametrize("function", [class_weight, pos_weight, binary_class_weight])
@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.bool, torch.complex64, "float"])
def test_dtype_must_be_floating(function, dtype):
    # class_weight([900, 100], dtype=torch.int64) truncated [0.5556, 5.0] to [0, 5].
    data = [900, 100] if function is class_weight else [0] * 900 + [1] * 100
    with pytest.raises(
        InvalidParameterError,
        match=rf"^The 'dtype' parameter of {function.__name__} must be None or a "
        r"floating-point torch\.dtype such as torch\.float32 \(weights are fractions: an "
        r"integer dtype would truncate them\)\. Got .* instead\.$",
    ):
        function(data, dtype=dtype)


def test_weights_that_a_dtype_cannot_hold_raise_instead_of_becoming_inf_or_zero():
    with pytest.raises(
        InvalidParameterError,
        match=r"^The 'dtype' parameter of class_weight must hold the weights, which reach "
        r"1e\+06, above torch\.float16's largest 65504 \(use a wider dtype, or cap them with "
        r"max_weight\)\. Got torch\.float16 instead\.$",
    ):
        class_weight([1_000_000, 1], scheme="inverse", dtype=torch.float16)
    with pytest.raises(InvalidParameterError, match=r"which go down to 1e-08, which "
                       r"torch\.float16 rounds to 0"):  # fmt: skip
        class_weight([1, 10**8], scheme="inverse", normalize="max", dtype=torch.float16)
    with pytest.raises(InvalidParameterError, match="'dtype' parameter of pos_weight"):
        pos_weight([0] * 100_000 + [1], dtype=torch.float16)
    capped = class_weight([1_000_000, 1], scheme="inverse", max_weight=1e4, dtype=torch.float16)
    assert capped.tolist() == [1.0, 10000.0]  # what the message suggests works
    assert class_weight([1_000_000, 1], scheme="inverse", dtype=torch.bfloat16).isfinite().all()


def test_large_counts_stay_exact():
    big = 2**40 + 1
    w = class_weight(torch.tensor([big, 1]), scheme="inverse", dtype=f64)
    assert w[1].item() == float(big + 1)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"scheme": "bogus"},
            InvalidParameterError,
            "The 'scheme' parameter of class_weight must be one of 'balanced', 'inverse', 'inverse_sqrt', 'effective', 'median', 'uniform'. Got 'bogus' instead.",
        ),
        (
            {"scheme": "effective"},
            InvalidParameterError,
            "The 'beta' parameter of class_weight must be a float in [0, 1) when scheme='effective'",
        ),
        (
            {"scheme": "effective", "beta": 1.0},
            InvalidParameterError,
            "The 'beta' parameter of class_weight must be a float in [0, 1). Got 1.0 instead.",
        ),
        (
            {"scheme": "effective", "beta": -0.1},
            InvalidParameterError,
            "must be a float in [0, 1). Got -0.1 instead.",
        ),
        (
            {"beta": 0.9},
            InvalidParameterError,
            "The 'beta' parameter of class_weight must be None unless scheme='effective' (it is "
            "unused with scheme='balanced'). Got 0.9 instead.",
        ),
        (
            {"normalize": "sum"},
            InvalidParameterError,
            "The 'normalize' parameter of class_weight must be one of None, 'mean', 'samples', 'max'. Got 'sum' instead.",
        ),
        (
            {"max_weight": 0},
            InvalidParameterError,
            "The 'max_weight' parameter of class_weight must be a float in (0, inf). Got 0 instead.",
        ),
        (
            {"zero_count": "skip"},
            InvalidParameterError,
            "The 'zero_count' parameter of class_weight must be one of",
        ),
    ],
)
def test_bad_parameters(kwargs, error, message):
    with pytest.raises(error) as info:
        class_weight([5, 10], **kwargs)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("counts", "error", "message"),
    [
        (
            [5, -1],
            InvalidParameterError,
            "The 'counts' parameter of class_weight must be non-negative.",
        ),
        (
            [5, float("nan")],
            InvalidParameterError,
            "The 'counts' parameter of class_weight must be finite.",
        ),
        ([[1, 2]], InvalidParameterError, "must be one-dimensional. Got shape (1, 2) instead."),
        ([0, 0], DataError, "must have a positive total"),
        (["a", "b"], InvalidParameterError, "must be a sequence of numbers"),
    ],
)
def test_bad_counts(counts, error, message):
    with pytest.raises(error) as info:
        class_weight(counts)
    assert message in str(info.value)


# ----------------------------------------------------------------------------- pos_weight


def test_pos_weight_binary_vector_and_matrix():
    assert pos_weight(torch.tensor([0.0, 0.0, 0.0, 1.0])).tolist() == [3.0]
    y = np.array([[1, 0], [0, 1], [0, 1], [0, 0], [0, 1]])
    expected = (1 - y).sum(0) / y.sum(0)
    torch.testing.assert_close(pos_weight(y, dtype=f64), torch.tensor(expected, dtype=f64))
    assert pos_weight(y).shape == (2,)


def test_pos_weight_policies_and_cap():
    y = np.array([[1, 0], [0, 0], [0, 0]])
    with pytest.raises(
        DataError,
        match=r"^The 'targets' parameter of pos_weight must have a positive for every label "
        r"unless zero_count is 'zero' or 'max'\. Got labels \[1\] with no positives instead\.$",
    ):
        pos_weight(y)
    assert pos_weight(y, zero_count="zero").tolist() == [2.0, 0.0]
    assert pos_weight(y, zero_count="max").tolist() == [2.0, 2.0]
    capped = pos_weight(np.array([0, 0, 0, 0, 1]), max_weight=2.0)
    assert capped.tolist() == [2.0]


def test_pos_weight_ignores_unknown_entries():
    y = torch.tensor([[1, -1], [0, 1], [-1, 0], [0, 0]])
    assert pos_weight(y, ignore_index=-1).tolist() == [2.0, 2.0]


# ----------------------------------------------------------------------------- binary_class_weight


def test_binary_class_weight_vector_equals_class_weight_of_the_two_counts():
    y = np.array([0] * 900 + [1] * 100)
    torch.testing.assert_close(
        binary_class_weight(y, dtype=f64), class_weight([900, 100], dtype=f64)
    )
    assert binary_class_weight(y).shape == (2,)


def test_binary_class_weight_matrix_is_per_label():
    y = np.array([[1, 0], [0, 1], [0, 1], [0, 0]])
    w = binary_class_weight(y, scheme="inverse", dtype=f64)
    assert w.shape == (2, 2)
    torch.testing.assert_close(w[:, 0], class_weight([3, 1], scheme="inverse", dtype=f64))
    torch.testing.assert_close(w[:, 1], class_weight([2, 2], scheme="inverse", dtype=f64))


# ----------------------------------------------------------------------------- sample_weight


def test_sample_weight_indexes_class_weight():
    w = torch.tensor([0.5, 2.0, 4.0])
    labels = torch.tensor([[0, 2], [1, -100]])
    out = sample_weight(labels, w, ignore_index=-100)
    assert out.tolist() == [[0.5, 4.0], [2.0, 0.0]]
    assert out.dtype == w.dtype


def test_sample_weight_balanced_sums_to_n_per_class():
    y = np.array([0] * 7 + [1] * 3 + [2] * 10)
    w = sample_weight(y, class_weight(class_counts(y), dtype=f64))
    for c in range(3):
        assert w[torch.from_numpy(y == c)].sum().item() == pytest.approx(len(y) / 3)


def test_sample_weight_label_out_of_range():
    # A label value, not a shape: DataError, as in class_counts and the losses.
    with pytest.raises(
        DataError,
        match=r"^The 'labels' parameter of sample_weight must hold class indices in \[0, 2\) "
        r"to index class_weight of length 2\. Got the label 5 instead\.$",
    ):
        sample_weight([0, 5], [1.0, 2.0])
    with pytest.raises(DataError, match=r"\(other than ignore_index=-1\)\. Got the label -3"):
        sample_weight([0, -1, -3], [1.0, 2.0], ignore_index=-1)


def test_binary_class_weight_shape_follows_the_data():
    rows = [np.array([1, 0]), np.array([0, 1]), np.array([0, 0])]  # a list of rows: (3, 2)
    assert binary_class_weight(rows).shape == (2, 2)
    assert binary_class_weight(torch.tensor([0.0, 1.0, 0.0])).shape == (2,)


def test_binary_class_weight_rejects_a_label_with_no_known_entry():
    y = torch.tensor([[1, -1], [0, -1]])
    with pytest.raises(
        DataError,
        match=r"^The 'targets' parameter of binary_class_weight must have a positive total for "
        r"labels \[1\]\. Got",
    ):
        binary_class_weight(y, ignore_index=-1, zero_count="zero", normalize="mean")


def test_pos_weight_of_a_label_without_negatives_is_zero():
    assert pos_weight(np.array([[1, 0], [1, 1]])).tolist() == [0.0, 1.0]


def test_sample_weight_checks_ignore_index():
    with pytest.raises(InvalidParameterError, match="'ignore_index' parameter of sample_weight"):
        sample_weight([0, 1], [1.0, 2.0], ignore_index="x")


def test_label_source_errors_name_the_function_called():
    batches = [{"labels": torch.ones(2, 3)}, {"labels": torch.zeros(2, 3)}]
    with pytest.raises(InvalidParameterError, match="'targets' parameter of pos_weight"):
        pos_weight(batches)
    with pytest.raises(InvalidParameterError, match="'targets' parameter of binary_class_weight"):
        binary_class_weight(batches)


def test_one_hot_labels_are_refused_by_every_entry_point_of_class_indices():
    # The shared check of labels.py (issue 14, item 4): weights from labels, samplers and
    # from_labels read one-hot rows as class indices 0 and 1 otherwise.
    import underdog

    one_hot = torch.nn.functional.one_hot(torch.tensor([0, 0, 0, 1, 2, 2]))
    calls = {
        "sample_weight": lambda: sample_weight(one_hot, [1.0, 2.0, 3.0]),
        "ClassBalancedSampler": lambda: underdog.ClassBalancedSampler(one_hot),
        "class_counts": lambda: underdog.CrossEntropyLoss.from_labels(one_hot),
        "class_counts ": lambda: underdog.LDAMLoss.from_labels(one_hot.numpy()),
    }
    for owner, call in calls.items():
        with pytest.raises(
            DataError,
            match=rf"'labels' parameter of {owner.strip()} must hold "
            r"class indices, not one-hot rows .*labels\.argmax\(1\)",
        ):
            call()
    # Multilabel entry points take 0/1 rows, one-hot included.
    assert pos_weight(one_hot).tolist() == [1.0, 5.0, 2.0]


# ----------------------------------------------------------------------------- scikit-learn's forms
from collections import Counter  # noqa: E402

from sklearn.utils.class_weight import compute_sample_weight  # noqa: E402

Y_NAMES = np.array(["ok"] * 90 + ["fraud"] * 10 + ["chargeback"] * 3)


@pytest.mark.parametrize(
    "scheme", ["balanced", {"fraud": 10.0}, {"fraud": 10.0, "chargeback": 2.5, "ok": 0.5}, {}]
)
def test_class_weight_takes_label_counts_and_dicts_as_sklearn(scheme):
    # issue 12: {label: weight} dicts and any label type, as compute_class_weight.
    classes = np.unique(Y_NAMES)
    expected = compute_class_weight(scheme, classes=classes, y=Y_NAMES)
    ours = class_weight(Counter(Y_NAMES), scheme=scheme, classes=classes, dtype=f64)
    np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-12)
    # classes default to the sorted labels, as np.unique and LabelEncoder give them
    torch.testing.assert_close(class_weight(Counter(Y_NAMES), scheme=scheme, dtype=f64), ours)


def test_class_weight_dict_with_index_counts_and_options():
    # Integer class indices name the entries of a counts vector; the options still apply.
    assert class_weight([900, 100], scheme={1: 9.0}).tolist() == [1.0, 9.0]
    named = class_weight([900, 100], scheme={"fraud": 9.0}, classes=["ok", "fraud"])
    assert named.tolist() == [1.0, 9.0]
    samples = class_weight([900, 100], scheme={1: 9.0}, normalize="samples", dtype=f64)
    assert (samples * torch.tensor([900.0, 100.0], dtype=f64)).sum().item() == pytest.approx(1000)
    assert class_weight([900, 100], scheme={1: 9.0}, max_weight=4.0).tolist() == [1.0, 4.0]
    # A class of count 0 keeps its explicit weight (zero_count is for computed schemes).
    assert class_weight([5, 0], scheme={1: 3.0}).tolist() == [1.0, 3.0]


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=60),
    st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), st.floats(0.0, 50.0), max_size=4),
)
def test_sample_weight_equals_compute_sample_weight(labels, weights):
    y = np.array(labels)
    np.testing.assert_allclose(
        sample_weight(y, "balanced").double().numpy(),
        compute_sample_weight("balanced", y),
        rtol=1e-6,
    )
    # Keys of labels absent from y: scikit-learn raises or skips them, underdog skips them.
    weights = {label: weight for label, weight in weights.items() if label in labels}
    np.testing.assert_allclose(
        sample_weight(y, weights).double().numpy(),
        compute_sample_weight(weights, y),
        rtol=1e-6,
        atol=1e-30,  # float32 (the default dtype) against float64
    )


def test_sample_weight_with_classes_ignore_index_and_integer_labels():
    names = ["ok", "fraud", "ok", "chargeback"]
    w = torch.tensor([0.5, 2.0, 8.0], dtype=f64)
    got = sample_weight(names, w, classes=["ok", "fraud", "chargeback"])
    assert got.tolist() == [0.5, 2.0, 0.5, 8.0] and got.dtype == f64
    balanced = sample_weight(torch.tensor([0, 1, -100, 1]), "balanced", ignore_index=-100)
    assert balanced.tolist() == [1.5, 0.75, 0.0, 0.75]
    assert sample_weight(pd_series(names), {"fraud": 4.0}).tolist() == [1.0, 4.0, 1.0, 1.0]


def pd_series(values):
    import pandas as pd

    return pd.Series(values)


def test_loss_from_counts_takes_label_counts_and_a_dict():
    import underdog

    loss = underdog.CrossEntropyLoss.from_counts(
        Counter(Y_NAMES), scheme={"fraud": 10.0}, classes=["ok", "fraud", "chargeback"]
    )
    assert loss.weight.tolist() == [1.0, 10.0, 1.0]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: class_weight({"a": 1, "b": 3}, scheme={"z": 2.0}), InvalidParameterError,
         "The 'scheme' parameter of class_weight must map classes (['a', 'b']) to weights. "
         "Got the keys ['z'], which are not classes, instead."),
        (lambda: class_weight({"a": 1, "b": 3}, classes=["a"]), InvalidParameterError,
         "The 'classes' parameter of class_weight must include every label of counts. Got "
         "['a'], without ['b'] instead."),
        (lambda: class_weight([1, 3], classes=["a", "b", "c"]), InvalidParameterError,
         "must name the 2 entries of counts, one label each. Got 3 labels instead."),
        (lambda: class_weight([1, 3], classes=["a", "a"]), InvalidParameterError,
         "The 'classes' parameter of class_weight must be a non-empty sequence of distinct"),
        (lambda: class_weight({1: 2, "a": 3}), InvalidParameterError,
         "The 'classes' parameter of class_weight must be given when the labels of counts "
         "cannot be sorted"),
        (lambda: class_weight([1, 3], scheme={0: -1.0}), InvalidParameterError,
         "The 'scheme' parameter of class_weight must be non-negative"),
        (lambda: class_weight([1, 3], scheme={0: 2.0}, beta=0.9), InvalidParameterError,
         "The 'beta' parameter of class_weight must be None with explicit weights"),
        (lambda: sample_weight(["a", "b"], "inverse"), InvalidParameterError,
         "The 'class_weight' parameter of sample_weight must be one of 'balanced'."),
        (lambda: sample_weight(["a", "z"], [1.0, 2.0], classes=["a", "b"]), DataError,
         "The 'labels' parameter of sample_weight must hold only labels listed in classes "
         "(['a', 'b']). Got the labels ['z'] instead."),
        (lambda: sample_weight([1.0, float("nan")], "balanced"), DataError,
         "The 'labels' parameter of sample_weight must hold labels, not NaN"),
        (lambda: sample_weight(np.array([1, "a"], dtype=object), "balanced"), DataError,
         "must hold labels of one type that can be sorted"),
    ],
)  # fmt: skip
def test_bad_dicts_classes_and_labels(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)
