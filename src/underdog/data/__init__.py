"""Tables (CSV / Parquet / KEEL), preprocessing and built-in datasets."""

from .builtin import DATASETS, BuiltinDataset, load_dataset, long_tail_counts
from .tables import (
    MISSING_LEVEL,
    Preprocessor,
    Table,
    load_table,
    read_frame,
    read_keel,
    table_from_frame,
)

__all__ = [
    "DATASETS",
    "MISSING_LEVEL",
    "BuiltinDataset",
    "Preprocessor",
    "Table",
    "load_dataset",
    "load_table",
    "long_tail_counts",
    "read_frame",
    "read_keel",
    "table_from_frame",
]
