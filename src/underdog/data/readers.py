"""Reading CSV, Parquet and KEEL files into pandas data frames.

:func:`read_frame` picks the reader by the file's extension (``.csv``, ``.parquet`` /
``.pq``, ``.dat`` for KEEL); :func:`read_keel` parses KEEL's ARFF-like format. Whatever the
parsers reject in a file's content (a malformed line, text that is not UTF-8, a corrupt
Parquet file) is raised as a :class:`~underdog.DataError` naming the file, and the line
where the parser knows it. pandas and pyarrow are imported when a file is read.

:mod:`underdog.data.tables` turns a ``DataFrame`` into a classification
:class:`~underdog.data.Table`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..exceptions import DataError, MissingDependencyError

__all__ = ["EXTENSIONS", "read_frame", "read_keel"]

#: File extensions -> format.
EXTENSIONS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".dat": "keel"}
_KEEL_MISSING = ("?", "<null>", "")


def _pandas():
    try:
        import pandas as pd
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            "Reading tables needs pandas: pip install 'underdog[data]'."
        ) from exc
    return pd


def _check_unique_columns(names: Any, *, where: str) -> None:
    """Raise :class:`~underdog.DataError` naming the column names that occur more than once.

    Missing names in ``names``, such as empty CSV header cells, do not count.
    """
    seen: set = set()
    repeated: list = []
    for column in names:
        if column is None or column != column:  # None or NaN: no name
            continue
        if column in seen and column not in repeated:
            repeated.append(column)
        seen.add(column)
    if not repeated:
        return
    listed = ", ".join(repr(c) for c in repeated[:10]) + (" ..." if len(repeated) > 10 else "")
    subject = (
        f"column name {listed} appears" if len(repeated) == 1 else f"column names {listed} appear"
    )
    raise DataError(f"The {subject} more than once in {where}; column names must be unique.")


def _keel_attribute(line: str, name: str, number: int) -> tuple[str, tuple[str, ...] | None]:
    """Parse an ``@attribute`` header line of the KEEL file ``name`` into ``(column, levels)``.

    ``levels`` are the declared values of a nominal attribute, None for a numeric one.
    """
    spec = line[len("@attribute") :].strip()
    brace = spec.find("{")
    parts = (spec[:brace] if brace >= 0 else spec).split()
    if not parts:
        raise DataError(f"Cannot parse {name}, line {number}: {line!r} names no attribute.")
    if brace >= 0:
        inside = spec[brace + 1 : spec.rfind("}") if "}" in spec else len(spec)]
        return parts[0], tuple(v.strip() for v in inside.split(",") if v.strip())
    kind = (parts[1] if len(parts) > 1 else "").lower().split("[")[0]
    if kind not in ("real", "integer", "numeric"):
        raise DataError(f"Cannot parse {name}, line {number}: unknown attribute type in {line!r}.")
    return parts[0], None


def _keel_lines(path: str | os.PathLike, name: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().split("\n")  # universal newlines: as iterating
    except UnicodeDecodeError as exc:
        raise DataError(f"Cannot parse {name}: it is not UTF-8 text ({exc.reason}).") from exc


def _keel_sections(
    lines: list[str], name: str
) -> tuple[list[str], list[tuple[str, ...] | None], list[list[str]]]:
    """``(columns, nominal, rows)``: the attributes of the header and the data rows.

    ``nominal`` holds each column's declared levels, None for a numeric column.
    """
    columns: list[str] = []
    nominal: list[tuple[str, ...] | None] = []
    rows: list[list[str]] = []
    in_data = False
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("%"):
            continue
        lower = line.lower()
        if in_data:
            values = [value.strip() for value in line.split(",")]
            if len(values) != len(columns):
                raise DataError(
                    f"Cannot parse {name}, line {number}: expected {len(columns)} "
                    f"comma-separated values, got {len(values)}."
                )
            rows.append(values)
        elif lower.startswith("@attribute"):
            column, levels = _keel_attribute(line, name, number)
            if column in columns:
                raise DataError(
                    f"Cannot parse {name}, line {number}: the attribute {column!r} is "
                    "declared twice."
                )
            columns.append(column)
            nominal.append(levels)
        elif lower.startswith("@data"):
            in_data = True
        elif not lower.startswith(("@relation", "@inputs", "@input", "@outputs", "@output")):
            raise DataError(f"Cannot parse {name}, line {number}: {line!r}.")
    if not in_data or not columns:
        raise DataError(f"Cannot parse {name}: it has no '@attribute' header and '@data' section.")
    return columns, nominal, rows


def _check_levels(
    values: Any, missing: Any, levels: tuple[str, ...], *, column: str, name: str
) -> None:
    """Raise :class:`DataError` for a value of a nominal column that its header does not declare.

    Such a value would otherwise become a class or category of its own.
    """
    undeclared = ~values.isin(levels) & ~missing
    if bool(undeclared.any()):
        row = int(np.flatnonzero(undeclared.to_numpy())[0])
        declared = ", ".join(levels)
        raise DataError(
            f"Cannot parse {name}: column {column!r} is declared {{{declared}}} but data row "
            f"{row + 1} holds {values.iloc[row]!r}."
        )


def read_keel(path: str | os.PathLike) -> Any:
    """Read a KEEL ``.dat`` file into a ``DataFrame`` (nominal columns as strings).

    Header lines ``@attribute NAME real|integer [lo, hi]`` give numeric columns and
    ``@attribute NAME {a, b}`` nominal ones; rows follow ``@data``. Values are stripped of
    spaces; ``?`` and ``<null>`` are missing.

    Raises:
        DataError: a malformed header or row, naming the line; an attribute named twice; a
            file that is not UTF-8 text.
    """
    pd = _pandas()
    name = os.path.basename(path)
    columns, nominal, rows = _keel_sections(_keel_lines(path, name), name)
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    for column, levels in zip(columns, nominal, strict=True):
        missing = frame[column].isin(_KEEL_MISSING)
        if levels is not None:
            _check_levels(frame[column], missing, levels, column=column, name=name)
            frame[column] = frame[column].where(~missing, None)
            continue
        numbers = pd.to_numeric(frame[column].where(~missing, None), errors="coerce")
        bad = numbers.isna() & ~missing
        if bool(bad.any()):
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"Cannot parse {name}: column {column!r} is numeric but data row {row + 1} "
                f"holds {frame[column].iloc[row]!r}."
            )
        frame[column] = numbers.astype(float)
    return frame


def _read_parquet(path: str | os.PathLike, name: str) -> Any:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            "Reading Parquet needs pyarrow: pip install 'underdog[data]'."
        ) from exc
    try:
        # pyarrow cannot read columns of the same name (an obscure "Multiple matches
        # for FieldRef"); the schema names them.
        _check_unique_columns(pq.read_schema(path).names, where=name)
        return pq.read_table(path).to_pandas()
    except (pa.ArrowException, OSError) as exc:  # a corrupt or unreadable file
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"Cannot parse {name} as Parquet: {detail.rstrip('.')}.") from exc


def _pandas_detail(exc: Exception) -> str:
    """The last line of a pandas error, without its noise and final period."""
    detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    for noise in ("Error tokenizing data. ", "C error: "):
        detail = detail.replace(noise, "")
    return detail.strip().rstrip(".")


def _read_csv(path: str | os.PathLike, name: str, text_columns: tuple[str, ...] = ()) -> Any:
    pd = _pandas()
    options = {"skipinitialspace": True}
    try:
        frame = pd.read_csv(path, dtype=dict.fromkeys(text_columns, str), **options)
        # pandas renames a repeated column name ("x", "x.1") and cannot be told not to:
        # check the names of the header row as they are in the file.
        header = pd.read_csv(path, header=None, nrows=1, dtype=str, **options)
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"Cannot parse {name}: the file is empty.") from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"Cannot parse {name}: it is not UTF-8 text ({exc.reason}).") from exc
    except ValueError as exc:  # ParserError, and anything else pandas rejects in the content
        raise DataError(f"Cannot parse {name}: {_pandas_detail(exc)}.") from exc
    _check_unique_columns(header.iloc[0].tolist() if len(header) else [], where=name)
    return frame


def read_frame(path: str | os.PathLike, *, text_columns: Sequence[str] = ()) -> Any:
    """Read a CSV, Parquet or KEEL file into a ``DataFrame``, chosen by extension.

    ``text_columns`` are read as text from a CSV file, whatever their values look like
    (categories such as ``1``, ``2`` stay ``"1"``, ``"2"`` even when other rows are blank).

    Raises:
        DataError: an unknown extension, a missing or unparsable file (naming the line when
            the parser knows it), or a column name that occurs more than once in the file.
    """
    name = os.path.basename(path)
    ext = os.path.splitext(name)[1].lower()
    kind = EXTENSIONS.get(ext)
    if os.path.isdir(path):
        raise DataError(
            f"The path {os.fspath(path)} is a directory, not a {kind or 'data'} file "
            f"({', '.join(sorted(EXTENSIONS))})."
        )
    if kind is None:
        raise DataError(
            f"Cannot read {name}: unknown file type {ext or '(none)'!r}; "
            f"use one of {', '.join(sorted(EXTENSIONS))}."
        )
    if not os.path.isfile(path):
        raise DataError(f"The file {os.fspath(path)} does not exist.")
    if kind == "keel":
        return read_keel(path)
    if kind == "parquet":
        return _read_parquet(path, name)
    return _read_csv(path, name, tuple(text_columns))
