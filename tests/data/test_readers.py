"""Reading CSV, Parquet and KEEL files (underdog.data.readers)."""

import re

import numpy as np
import pandas as pd
import pytest

from _tables import multiclass_csv
from underdog.data import (
    load_table,
    read_frame,
    read_keel,
)
from underdog.exceptions import DataError

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
    with pytest.raises(DataError, match="Cannot parse bad.dat") as info:
        load_table(path, target="Class")
    assert message in str(info.value)


def test_malformed_csv_names_the_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b,y\n1,2,0\n3,4,1\n5,6,7,8\n")
    with pytest.raises(DataError, match=r"Cannot parse bad.csv: .*line 4"):
        load_table(path, target="y")


@pytest.mark.parametrize(
    ("name", "text"),
    [("latin.csv", "x,y\n1,caf\xe9\n2,b\n"), ("latin.dat", KEEL.replace("A", "\xc9"))],
)
def test_text_that_is_not_utf8(tmp_path, name, text):
    path = tmp_path / name
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(DataError, match=f"Cannot parse {name}: it is not UTF-8 text"):
        load_table(path, target="y")


def test_what_pandas_rejects_in_a_csv_is_a_data_error(tmp_path, monkeypatch):
    path = tmp_path / "odd.csv"
    path.write_text("x,y\n1,a\n")

    def reject(*args, **kwargs):
        raise ValueError("a complaint about the content")

    monkeypatch.setattr(pd, "read_csv", reject)
    with pytest.raises(DataError, match="Cannot parse odd.csv: a complaint about the content"):
        load_table(path, target="y")


def test_corrupt_parquet(tmp_path):
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match="Cannot parse bad.parquet as Parquet"):
        load_table(path, target="y")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("x,x,y", "The column name 'x' appears more than once in dup.csv; column names must"),
        ("x, x,z,y,z", "The column names 'x', 'z' appear more than once in dup.csv"),
        ("y,x,x.1,x", "The column name 'x' appears more than once in dup.csv"),
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
    with pytest.raises(DataError, match="The column name 'x' appears more than once in dup"):
        load_table(path, target="y")


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_table(tmp_path / "nope.csv", target="y")


def test_a_keel_value_not_declared_is_an_error_not_a_new_class(tmp_path):
    """A typo in a nominal column ('nagative') used to become a third class silently."""
    path = tmp_path / "typo.dat"
    path.write_text(
        "@relation r\n@attribute a real\n@attribute y {positive, negative}\n@data\n"
        "1,positive\n2,negative\n3,nagative\n4,?\n"
    )
    with pytest.raises(
        DataError,
        match=r"^Cannot parse typo.dat: column 'y' is declared \{positive, negative\} but data "
        r"row 3 holds 'nagative'\.$",
    ):
        read_keel(path)


def test_a_directory_given_as_a_file_says_so(tmp_path):
    folder = tmp_path / "data.csv"
    folder.mkdir()
    with pytest.raises(DataError, match=r"is a directory, not a csv file \(\.csv, \.dat, "):
        read_frame(folder)
    (tmp_path / "data").mkdir()
    with pytest.raises(DataError, match=r"/data is a directory, not a data file \(\.csv, "):
        read_frame(tmp_path / "data")
