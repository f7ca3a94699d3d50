"""Tables: labels, feature columns and folds (underdog.data.tables)."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from _tables import multiclass_csv
from underdog.data import (
    Preprocessor,
    load_dataset,
    load_table,
    table_from_frame,
)
from underdog.exceptions import DataError, InvalidParameterError


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


def test_duplicate_column_names_in_a_frame():
    frame = pd.DataFrame([[1.0, 2.0, 3.0, "a"], [4.0, 5.0, 6.0, "b"]], columns=[1, "1", "z", "y"])
    with pytest.raises(DataError, match="The column name '1' appears more than once in mine"):
        table_from_frame(frame, target="y", name="mine")
    twice = pd.DataFrame([[1.0, 2.0, "p"], [3.0, 4.0, "q"]], columns=["x", "x", "c"])
    with pytest.raises(DataError, match="The column name 'x' appears more than once in the"):
        Preprocessor.fit(twice)
    pre = Preprocessor.fit(twice.iloc[:, 1:])
    with pytest.raises(DataError, match="The column name 'x' appears more than once in the"):
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
        ("cols.csv", "x,z\n1,a\n", "The target column 'y' is not in cols.csv; its columns: x, z"),
        ("only.csv", "y\na\nb\n", "no feature columns"),
    ],
)
def test_bad_tables(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(DataError) as info:
        load_table(path, target="y")
    assert message in str(info.value)


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
    one = dataclasses.replace(
        table, labels=np.r_[table.labels[:-1], 2], classes=(*table.classes, "x")
    )
    with pytest.raises(
        DataError,
        match=r"Got 1 rows of 'x' for 2 folds instead; cross-validation "
        r"needs at least 2 rows of every class: add rows or drop the class\.$",
    ):
        one.folds(2, seed=0)  # fmt: skip
