import re

import numpy as np
import pandas as pd
import pytest

from _tables import make_frame, multiclass_csv
from underdog.data import (
    DATASETS,
    MISSING_LEVEL,
    Preprocessor,
    load_dataset,
    load_table,
    long_tail_counts,
    read_frame,
    read_keel,
    table_from_frame,
)
from underdog.exceptions import DataError, InvalidParameterError

KEEL = """@relation toy
@attribute size real [0.0, 10.0]
@attribute count integer [0, 5]
@attribute kind { A, B}
@attribute Class {positive, negative}
@data
1.5, 2, A, negative
2.5, 3,  B,positive
?, 1, ?, negative
"""


def test_csv_labels_mapped_in_sorted_order_and_features_kept(tmp_path):
    path = multiclass_csv(tmp_path)
    table = load_table(path, target="label")
    assert table.classes == ("a", "b", "c")
    raw = pd.read_csv(path)["label"].to_numpy()
    assert (np.asarray(table.classes, dtype=object)[table.labels] == raw).all()
    assert list(table.features.columns) == ["x1", "x2", "color"]
    assert table.name == "multi.csv"


def test_integer_labels_keep_their_type(tmp_path):
    path = tmp_path / "ints.csv"
    pd.DataFrame({"x": range(6), "y": [3, 1, 3, 1, 7, 7]}).to_csv(path, index=False)
    table = load_table(path, target="y")
    assert table.classes == (1, 3, 7)
    assert type(table.classes[0]) is int
    assert table.labels.tolist() == [1, 0, 1, 0, 2, 2]


def test_parquet_equals_csv(tmp_path):
    csv_path = multiclass_csv(tmp_path)
    path = tmp_path / "multi.parquet"
    pd.read_csv(csv_path).to_parquet(path)
    a, b = load_table(csv_path, target="label"), load_table(path, target="label")
    assert a.classes == b.classes
    np.testing.assert_array_equal(a.labels, b.labels)
    pd.testing.assert_frame_equal(a.features, b.features)


def test_keel_spaces_types_and_missing(tmp_path):
    path = tmp_path / "toy.dat"
    path.write_text(KEEL)
    frame = read_keel(path)
    assert list(frame.columns) == ["size", "count", "kind", "Class"]
    assert frame["kind"].tolist() == ["A", "B", None]
    assert frame["Class"].tolist() == ["negative", "positive", "negative"]
    assert np.isnan(frame["size"][2]) and frame["count"].dtype == float
    table = load_table(path, target="Class")
    assert table.classes == ("negative", "positive")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (KEEL.replace("2.5, 3,  B,positive", "2.5, 3, positive"), "line 8: expected 4"),
        (KEEL.replace("@attribute count integer", "@attribute count complex"), "line 3"),
        (KEEL.replace("1.5, 2", "abc, 2"), "'size' is numeric but data row 1 holds 'abc'"),
        ("just text\n", "line 1"),
        (KEEL.replace("@attribute count", "@attribute size"), "line 3: the attribute 'size' is"),
    ],
)
def test_malformed_keel_names_the_line(tmp_path, text, message):
    path = tmp_path / "bad.dat"
    path.write_text(text)
    with pytest.raises(DataError, match="cannot parse bad.dat") as info:
        load_table(path, target="Class")
    assert message in str(info.value)


def test_malformed_csv_names_the_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b,y\n1,2,0\n3,4,1\n5,6,7,8\n")
    with pytest.raises(DataError, match=r"cannot parse bad.csv: .*line 4"):
        load_table(path, target="y")


@pytest.mark.parametrize(
    ("name", "text"),
    [("latin.csv", "x,y\n1,caf\xe9\n2,b\n"), ("latin.dat", KEEL.replace("A", "\xc9"))],
)
def test_text_that_is_not_utf8(tmp_path, name, text):
    path = tmp_path / name
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(DataError, match=f"cannot parse {name}: it is not UTF-8 text"):
        load_table(path, target="y")


def test_what_pandas_rejects_in_a_csv_is_a_data_error(tmp_path, monkeypatch):
    path = tmp_path / "odd.csv"
    path.write_text("x,y\n1,a\n")

    def reject(*args, **kwargs):
        raise ValueError("a complaint about the content")

    monkeypatch.setattr(pd, "read_csv", reject)
    with pytest.raises(DataError, match="cannot parse odd.csv: a complaint about the content"):
        load_table(path, target="y")


def test_corrupt_parquet(tmp_path):
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match="cannot parse bad.parquet as Parquet"):
        load_table(path, target="y")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("x,x,y", "the column name 'x' appears more than once in dup.csv; column names must"),
        ("x, x,z,y,z", "the column names 'x', 'z' appear more than once in dup.csv"),
        ("y,x,x.1,x", "the column name 'x' appears more than once in dup.csv"),
    ],
)
def test_duplicate_column_names_in_a_csv(tmp_path, header, message):
    """pandas renames a repeated name ('x', 'x.1'); the file's own header is what counts."""
    path = tmp_path / "dup.csv"
    path.write_text(header + "\n" + ",".join(["1"] * header.count(",")) + ",a\n")
    with pytest.raises(DataError, match=re.escape(message)):
        load_table(path, target="y")
    with pytest.raises(DataError, match=re.escape(message)):
        read_frame(path)


def test_names_that_only_look_renamed_are_not_duplicates(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text("x,x.1,,,y\n1,2,3,4,a\n5,6,7,8,b\n")
    table = load_table(path, target="y")
    assert list(table.features.columns) == ["x", "x.1", "Unnamed: 2", "Unnamed: 3"]


def test_duplicate_column_names_in_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "dup.parquet"
    columns = [pa.array([1.0, 2.0]), pa.array([3.0, 4.0]), pa.array(["a", "b"])]
    pq.write_table(pa.table(columns, names=["x", "x", "y"]), path)
    with pytest.raises(DataError, match="the column name 'x' appears more than once in dup"):
        load_table(path, target="y")


def test_duplicate_column_names_in_a_frame():
    frame = pd.DataFrame([[1.0, 2.0, 3.0, "a"], [4.0, 5.0, 6.0, "b"]], columns=[1, "1", "z", "y"])
    with pytest.raises(DataError, match="the column name '1' appears more than once in mine"):
        table_from_frame(frame, target="y", name="mine")
    twice = pd.DataFrame([[1.0, 2.0, "p"], [3.0, 4.0, "q"]], columns=["x", "x", "c"])
    with pytest.raises(DataError, match="the column name 'x' appears more than once in the"):
        Preprocessor.fit(twice)
    pre = Preprocessor.fit(twice.iloc[:, 1:])
    with pytest.raises(DataError, match="the column name 'x' appears more than once in the"):
        pre.transform(twice)
    pre.transform(twice.set_axis(["x", "c", "c"], axis=1).iloc[:, [0, 1]])  # unused: fine


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("data.xlsx", "x", "unknown file type '.xlsx'"),
        ("empty.csv", "", "the file is empty"),
        ("one.csv", "x,y\n1,a\n2,a\n", "only one class ('a')"),
        ("nan.csv", "x,y\n1,a\n2,\n3,b\n4,\n", "2 missing label(s), in data row(s) 2, 4"),
        ("blank.csv", 'x,y\n1,a\n2," "\n3,b\n', "1 missing label(s), in data row(s) 2"),
        ("cols.csv", "x,z\n1,a\n", "the target column 'y' is not in cols.csv; columns: x, z"),
        ("only.csv", "y\na\nb\n", "no feature columns"),
    ],
)
def test_bad_tables(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(DataError) as info:
        load_table(path, target="y")
    assert message in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_table(tmp_path / "nope.csv", target="y")


def test_preprocessor_fits_on_training_rows_only():
    frame = make_frame()
    train, test = frame.iloc[:80], frame.iloc[80:]
    pre = Preprocessor.fit(train.drop(columns="label"))
    x2 = train["x2"].to_numpy()
    assert pre.medians[1] == pytest.approx(np.nanmedian(x2))
    assert pre.numeric == ["x1", "x2"] and pre.categorical == ["color"]
    out = pre.transform(test)
    assert out.shape == (40, 2 + len(pre.levels[0])) and out.dtype == np.float32
    assert np.isfinite(out).all()
    imputed = pre.transform(pd.DataFrame({"x1": [0.0], "x2": [np.nan], "color": ["red"]}))
    assert imputed[0, 1] == pytest.approx((pre.medians[1] - pre.means[1]) / pre.scales[1])
    # standardised on the training rows
    assert pre.transform(train)[:, 0].mean() == pytest.approx(0, abs=1e-6)


def test_preprocessor_categorical_levels_and_round_trip():
    train = pd.DataFrame({"c": ["x", "y", None, "x"], "n": [1.0, np.inf, 3.0, 4.0]})
    pre = Preprocessor.fit(train)
    assert pre.levels == [sorted(["x", "y", MISSING_LEVEL])]
    unseen = pre.transform(pd.DataFrame({"c": ["zzz"], "n": [1.0]}))
    assert unseen[0, 1:].tolist() == [0.0, 0.0, 0.0]  # unseen level: all zeros
    assert pre.medians == [3.0]  # inf is missing
    again = Preprocessor.from_dict(pre.to_dict())
    np.testing.assert_array_equal(again.transform(train), pre.transform(train))
    with pytest.raises(DataError, match="lacks the feature column"):
        pre.transform(pd.DataFrame({"c": ["x"]}))


def test_long_tail_counts_follow_the_formula():
    counts = long_tail_counts(150, num_classes=10, imbalance_ratio=50)
    expected = np.round(150 * 50 ** (-np.arange(10) / 9))
    np.testing.assert_array_equal(counts, expected)
    assert counts[0] == 150 and counts[-1] == 3


@pytest.mark.parametrize("ratio", [float("inf"), float("nan"), 0.5, -1.0, "50", True])
def test_imbalance_ratio_must_be_a_finite_number_of_at_least_one(ratio):
    expected = "must be a float in [1, inf). Got"
    with pytest.raises(InvalidParameterError, match=re.escape(f"of long_tail_counts {expected}")):
        long_tail_counts(100, num_classes=10, imbalance_ratio=ratio)
    with pytest.raises(InvalidParameterError, match=re.escape(f"of load_digits_lt {expected}")):
        load_dataset("digits-lt", imbalance_ratio=ratio)


def test_long_tail_counts_needs_two_classes_and_a_head():
    with pytest.raises(InvalidParameterError, match="'num_classes' parameter"):
        long_tail_counts(100, num_classes=1, imbalance_ratio=10)
    with pytest.raises(InvalidParameterError, match="'n_max' parameter"):
        long_tail_counts(0, num_classes=3, imbalance_ratio=10)
    assert long_tail_counts(np.int64(100), num_classes=3, imbalance_ratio=1).tolist() == [100] * 3


def test_digits_lt_folds_are_long_tailed_balanced_and_disjoint():
    table = load_dataset("digits-lt", imbalance_ratio=20)
    folds = table.folds(3, seed=1)
    assert len(folds) == 3
    tests = []
    for train, test in folds:
        assert not set(train) & set(test)
        train_counts = np.bincount(table.labels[train], minlength=10)
        assert (np.diff(train_counts) <= 0).all()
        assert train_counts[0] / train_counts[-1] == pytest.approx(20, rel=0.2)
        test_counts = np.bincount(table.labels[test], minlength=10)
        assert len(set(test_counts.tolist())) == 1
        tests.append(set(test))
    assert not tests[0] & tests[1]
    again = table.folds(3, seed=1)
    assert all((a[0] == b[0]).all() for a, b in zip(folds, again, strict=True))


@pytest.mark.parametrize("ratio", [1.0, 20.0, 50.0])
def test_digits_lt_rows_follow_the_documented_construction(ratio):
    from sklearn.model_selection import StratifiedKFold

    table = load_dataset("digits-lt", imbalance_ratio=ratio)
    labels = table.labels

    def profile(rows):
        n_max = np.bincount(labels[rows], minlength=10).min()
        return long_tail_counts(n_max, num_classes=10, imbalance_ratio=ratio)

    # Training on the whole table: every image is a candidate, n_max the smallest class.
    rows = table.training_rows(3)
    assert (np.diff(rows) > 0).all()
    np.testing.assert_array_equal(np.bincount(labels[rows], minlength=10), profile(slice(None)))
    np.testing.assert_array_equal(table.training_rows(3), rows)
    if ratio > 1:
        assert not np.array_equal(table.training_rows(4), rows)

    # Folds: the rows are drawn from scikit-learn's stratified folds of the balanced set;
    # each training part is cut to the profile of its own smallest class, each test part
    # to the same number per class (its smallest class).
    cv = StratifiedKFold(n_splits=4, shuffle=True, random_state=3)
    folds = table.folds(4, seed=3)
    for (train, test), (full_train, full_test) in zip(
        folds, cv.split(np.zeros(len(labels)), labels), strict=True
    ):
        assert (np.diff(train) > 0).all() and (np.diff(test) > 0).all()
        assert set(train) <= set(full_train) and set(test) <= set(full_test)
        train_counts = np.bincount(labels[train], minlength=10)
        np.testing.assert_array_equal(train_counts, profile(full_train))
        test_counts = np.bincount(labels[test], minlength=10)
        assert (test_counts == np.bincount(labels[full_test], minlength=10).min()).all()
    for (a_train, a_test), (b_train, b_test) in zip(folds, table.folds(4, seed=3), strict=True):
        np.testing.assert_array_equal(a_train, b_train)
        np.testing.assert_array_equal(a_test, b_test)


@pytest.mark.parametrize("name", [n for n in DATASETS if n != "digits-lt"])
def test_keel_builtins_match_their_listing(name):
    table = load_dataset(name)
    assert table.classes == ("negative", "positive")
    ratio = table.counts[0] / table.counts[1]
    assert ratio == pytest.approx(DATASETS[name].imbalance_ratio, abs=0.01)
    assert DATASETS[name].source


def test_unknown_dataset_lists_the_valid_ones():
    with pytest.raises(
        InvalidParameterError,
        match=r"^The 'name' parameter of load_dataset must be one of 'digits-lt', 'pima', "
        r"'ecoli1', 'flare-F', 'yeast4', 'abalone19'\. Got 'nope' instead\.$",
    ):
        load_dataset("nope")
    with pytest.raises(
        InvalidParameterError,
        match=r"^The 'imbalance_ratio' parameter of load_dataset must be None for 'pima', whose "
        r"imbalance ratio is fixed\. Got 3 instead\.$",
    ):
        load_dataset("pima", imbalance_ratio=3)


def test_too_many_folds():
    table = load_dataset("ecoli1")
    with pytest.raises(
        DataError,
        match=r"^The smallest class of ecoli1 must have at least one row per fold\. Got 77 rows "
        r"of 'positive' for 100 folds instead; use 77 folds or fewer\.$",
    ):
        table.folds(100, seed=0)
    with pytest.raises(InvalidParameterError, match="The 'folds' parameter of Table.folds"):
        table.folds(1, seed=0)
