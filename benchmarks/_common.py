"""Helpers the benchmark scripts share (not part of underdog): their run options, the
``--recipes`` option, and writing a result file atomically.

The scripts run from this directory (``python benchmarks/bench_keel.py``), which Python
puts first on ``sys.path``; the tests put it there too."""

from __future__ import annotations

import argparse
import os
import tempfile
from typing import Any

from underdog.cli.argtypes import hidden_sizes, positive_int
from underdog.exceptions import InvalidParameterError
from underdog.pipeline.recipes import recipe_names

__all__ = ["add_run_options", "recipe_list", "write_atomically"]


def add_run_options(parser: argparse.ArgumentParser, defaults: Any, *, out: str) -> None:
    """The options the benchmark scripts share: ``--epochs``, ``--patience``,
    ``--batch-size``, ``--hidden`` (defaults from ``defaults``, a ``CompareConfig``),
    ``--jobs`` (worker processes) and ``--out`` (default ``out``)."""
    d = defaults
    parser.add_argument("--epochs", type=positive_int, default=d.epochs, help=f"({d.epochs})")
    parser.add_argument(
        "--patience",
        type=positive_int,
        default=d.patience,
        help=f"({d.patience or '20 epochs up to 8,192 rows, then 10'})",
    )
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=d.batch_size,
        help=f"({d.batch_size or 'by the rows: 64 up to 8,192'})",
    )
    sizes = ",".join(map(str, d.hidden))
    parser.add_argument(
        "--hidden", type=hidden_sizes, default=d.hidden, help=f"hidden layer sizes ({sizes})"
    )
    parser.add_argument(
        "--jobs",
        type=positive_int,
        default=os.cpu_count() or 1,
        help="worker processes, one thread each (CPU count)",
    )
    parser.add_argument("--out", default=out, help="results directory")


def recipe_list(text: str) -> list[str]:
    """``--recipes`` of the benchmarks: the names :func:`underdog.pipeline.recipes.recipe_names`
    reads in ``text`` (not looked up), checked while the options are parsed."""
    try:
        return recipe_names(text)
    except InvalidParameterError:
        raise argparse.ArgumentTypeError(
            f"expected recipe names like none,balanced, 'default' or 'all'; got {text!r}"
        ) from None


def write_atomically(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory, so a
    reader (or a resumed run) never sees half a file."""
    directory = os.path.dirname(os.path.abspath(path))
    with tempfile.NamedTemporaryFile("wb", dir=directory, delete=False, suffix=".tmp") as handle:
        handle.write(data)
    os.replace(handle.name, path)
