"""What the commands read from their options: the data, the training settings and the device.

The data is FILE --target COL, --dataset NAME or --data MODULE:FUNCTION; the training
settings are a :class:`~underdog.pipeline.CompareConfig`.

Mistakes in the options raise :class:`UsageError`, the command line's own error, which
:func:`underdog.cli.main` prints like argparse's own (one line, exit code 2).
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..data import Table
    from ..pipeline import CompareConfig

__all__ = ["UsageError", "load_config", "load_data", "resolve_device", "weight_schemes"]

#: The training options that map one to one onto CompareConfig's fields.
_CONFIG_OPTIONS = ("folds", "seeds", "metric", "hidden", "dropout", "lr", "weight_decay",
                   "epochs", "batch_size", "eval_batch_size", "patience", "val_fraction",
                   "model", "data")  # fmt: skip


class UsageError(Exception):
    """A command-line mistake, reported like argparse's own."""


def weight_schemes() -> dict[str, str]:
    """``--scheme`` spellings -> :data:`underdog.weights.SCHEMES` names.

    The command line spells names with hyphens, as recipes are (``inverse-sqrt`` for
    ``inverse_sqrt``).
    """
    from ..weights import SCHEMES

    return {name.replace("_", "-"): name for name in SCHEMES}


def _exclusive(args: argparse.Namespace) -> None:
    sources = (("FILE", args.file), ("--dataset", args.dataset), ("--data", args.data))
    given = [flag for flag, value in sources if value]
    if len(given) > 1:
        raise UsageError(f"give one of FILE, --dataset and --data, not {' and '.join(given)}")


def _builtin(args: argparse.Namespace, ratio: float | None) -> Table:
    from ..data import load_dataset

    if args.target:
        raise UsageError("--target applies to a FILE or --data; built-in datasets have their own")
    name = args.dataset or "digits-lt"
    if ratio is not None and name != "digits-lt":
        raise UsageError(
            f"--imbalance-ratio applies to --dataset digits-lt only; {name!r} has a fixed one"
        )
    return load_dataset(name, imbalance_ratio=ratio)


def _from_factory(args: argparse.Namespace) -> Table:
    """Make a table of what ``--data MODULE:FUNCTION`` returns.

    The factory may return a Dataset, a DataFrame (with --target) or a Table.
    """
    from torch.utils.data import Dataset

    from ..data import Table, table_from_dataset, table_from_frame
    from ..pipeline.factories import load_data

    data = load_data(args.data, owner="the command line")
    if isinstance(data, Table):
        return data
    if isinstance(data, Dataset):
        if args.target:
            raise UsageError("--target applies to a table; --data gave a Dataset")
        return table_from_dataset(data, name=args.data)
    if hasattr(data, "columns") and hasattr(data, "iloc"):
        if not args.target:
            raise UsageError(f"--data {args.data} gave a table: it needs --target COLUMN")
        return table_from_frame(data, target=args.target, name=args.data)
    raise UsageError(
        f"--data {args.data} must return a Dataset, a pandas DataFrame or an underdog Table; "
        f"it returned {type(data).__name__}"
    )


def load_data(args: argparse.Namespace) -> Table:
    """The table the options name; the built-in digits-lt when they name none.

    A table is named by FILE --target COL, --dataset NAME or --data MODULE:FUNCTION.

    Args:
        args: the parsed command line.

    Returns:
        The :class:`~underdog.data.Table`.

    Raises:
        UsageError: more than one source given, a FILE without ``--target``, or an option
            that does not apply to the source.
    """
    from ..data import load_table

    _exclusive(args)
    ratio = getattr(args, "imbalance_ratio", None)
    if getattr(args, "data", None):
        if ratio is not None:
            raise UsageError("--imbalance-ratio applies to --dataset digits-lt only")
        return _from_factory(args)
    if args.dataset or not args.file:
        return _builtin(args, ratio)
    if not args.target:
        raise UsageError(f"{args.file} needs --target COLUMN, the class column")
    if ratio is not None:
        raise UsageError("--imbalance-ratio applies to --dataset digits-lt only")
    return load_table(args.file, target=args.target)


def resolve_device(text: str | None) -> str | None:
    """``--device``: ``auto`` is CUDA when there is a GPU, else the CPU; None is the CPU."""
    if text is None:
        return None
    if text == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return text


def load_config(args: argparse.Namespace, num_classes: int) -> CompareConfig:
    """The ``CompareConfig`` of the options given (the defaults for the others), checked."""
    from ..metrics import BINARY_METRICS
    from ..pipeline import CompareConfig

    if getattr(args, "metric", None) in BINARY_METRICS and num_classes != 2:
        raise UsageError(
            f"--metric {args.metric} needs a binary target; this one has {num_classes} classes"
        )
    options: dict[str, Any] = {
        key: getattr(args, key) for key in _CONFIG_OPTIONS if getattr(args, key, None) is not None
    }
    if getattr(args, "threads", None) is not None:
        options["num_threads"] = args.threads
    device = resolve_device(getattr(args, "device", None))
    if device is not None:
        options["device"] = device
    return dataclasses.replace(CompareConfig(), **options)
