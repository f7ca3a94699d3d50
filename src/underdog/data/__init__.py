"""Tables (CSV / Parquet / KEEL), preprocessing and built-in datasets."""

from .builtin import DATASETS, BuiltinDataset, load_dataset, long_tail_counts
from .preprocessing import MISSING_LEVEL, Preprocessor
from .readers import read_frame, read_keel
from .tables import Table, load_table, table_from_dataset, table_from_frame

__all__ = [
    "BuiltinDataset",
    "DATASETS",
    "MISSING_LEVEL",
    "Preprocessor",
    "Table",
    "load_dataset",
    "load_table",
    "long_tail_counts",
    "read_frame",
    "read_keel",
    "table_from_dataset",
    "table_from_frame",
]
