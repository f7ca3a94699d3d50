"""Option parsers shared by the command line and the benchmark scripts.

Each is an ``argparse`` ``type=`` function: it turns the option's text into a value or
raises :class:`argparse.ArgumentTypeError` with ``expected ...; got '...'``, which argparse
prints as one line naming the option. :mod:`underdog.cli` and ``benchmarks/*.py`` import
them from here, so both read options the same way without reaching into the CLI's
internals.
"""

from __future__ import annotations

import argparse
import math
import os
from typing import Any

__all__ = [
    "add_run_options",
    "hidden_sizes",
    "imbalance_ratio",
    "int_at_least",
    "nonnegative_int",
    "positive_int",
    "recipe_list",
]


def hidden_sizes(text: str) -> tuple[int, ...]:
    """``--hidden``: comma-separated positive layer sizes, such as ``128,64``."""
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 128,64; got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected positive sizes like 128,64; got {text!r}")
    return sizes


def int_at_least(text: str, low: int, what: str) -> int:
    """An integer of at least ``low``; ``what`` describes it in the error message."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}; got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"expected {what}; got {text!r}")
    return value


def positive_int(text: str) -> int:
    """An integer of at least 1."""
    return int_at_least(text, 1, "a positive integer")


def nonnegative_int(text: str) -> int:
    """An integer of at least 0."""
    return int_at_least(text, 0, "a non-negative integer")


def imbalance_ratio(text: str) -> float:
    """``--imbalance-ratio``: a finite number of at least 1."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 1):
        raise argparse.ArgumentTypeError(f"expected a finite number of at least 1; got {text!r}")
    return value


def add_run_options(parser: argparse.ArgumentParser, defaults: Any, *, out: str) -> None:
    """The options the benchmark scripts share: ``--epochs``, ``--patience``,
    ``--batch-size``, ``--hidden`` (defaults from ``defaults``, a ``CompareConfig``),
    ``--jobs`` (worker processes) and ``--out`` (default ``out``)."""
    d = defaults
    parser.add_argument("--epochs", type=positive_int, default=d.epochs, help=f"({d.epochs})")
    parser.add_argument("--patience", type=positive_int, default=d.patience, help=f"({d.patience})")
    parser.add_argument(
        "--batch-size", type=positive_int, default=d.batch_size, help=f"({d.batch_size})"
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
    """``--recipes`` of the benchmarks: the names :func:`underdog.recipes.recipe_names`
    reads in ``text`` (not looked up), checked while the options are parsed."""
    from .exceptions import DataError
    from .recipes import recipe_names

    try:
        return recipe_names(text)
    except DataError:
        raise argparse.ArgumentTypeError(
            f"expected recipe names like none,balanced, 'default' or 'all'; got {text!r}"
        ) from None
