"""The ``underdog`` command line: a thin layer over the library.

Commands: ``compare`` (the main job), ``datasets``, ``recipes``, ``weights``, ``train`` and
``predict``; see ``docs/cli.md``. Every error about the user's input is one line on stderr,
``underdog: error: ...``, with exit code 2 and nothing written. Bad input is what the CLI's
own checks (:class:`UsageError`) and the library (:class:`~underdog.UnderdogError`) report;
any other exception is a bug and propagates with its traceback.

This module holds the parser and :func:`main` (the console script ``underdog`` and
``python -m underdog``); the commands are in :mod:`underdog._cli_commands`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from typing import Any, NoReturn, TextIO

from . import __version__
from ._argtypes import hidden_sizes, imbalance_ratio, nonnegative_int, positive_int
from ._cli_commands import (
    UsageError,
    cmd_compare,
    cmd_datasets,
    cmd_predict,
    cmd_recipes,
    cmd_train,
    cmd_weights,
    weight_schemes,
)
from .exceptions import UnderdogError

__all__ = ["main"]

PROG = "underdog"


# ----------------------------------------------------------------------------- options


def _training_options(parser: argparse.ArgumentParser) -> None:
    from .compare import CompareConfig

    d = CompareConfig()  # the defaults: an option left out keeps CompareConfig's value
    group = parser.add_argument_group("training (an MLP on the preprocessed features)")
    group.add_argument("--epochs", type=positive_int, help=f"maximum epochs ({d.epochs})")
    group.add_argument("--patience", type=positive_int, help=f"early stopping ({d.patience})")
    group.add_argument("--batch-size", type=positive_int, help=f"batch size ({d.batch_size})")
    group.add_argument(
        "--eval-batch-size",
        type=positive_int,
        help="rows per forward pass on the validation split (the batch size)",
    )
    group.add_argument(
        "--hidden", type=hidden_sizes, help=f"hidden layer sizes ({','.join(map(str, d.hidden))})"
    )
    group.add_argument("--dropout", type=float, help=f"dropout ({d.dropout})")
    group.add_argument("--lr", type=float, help=f"AdamW learning rate ({d.lr})")
    group.add_argument("--weight-decay", type=float, help=f"AdamW weight decay ({d.weight_decay})")
    group.add_argument(
        "--val-fraction", type=float, help=f"validation split of each class ({d.val_fraction})"
    )
    group.add_argument(
        "--threads", type=positive_int, help=f"torch threads per process ({d.num_threads})"
    )


def _data_options(parser: argparse.ArgumentParser, *, builtin: bool = True) -> None:
    from .data import DATASETS

    parser.add_argument("file", nargs="?", metavar="FILE", help="a .csv, .parquet or KEEL .dat")
    parser.add_argument("--target", metavar="COL", help="the class column of FILE")
    if builtin:
        parser.add_argument("--dataset", metavar="NAME", help="a built-in dataset (digits-lt)")
        parser.add_argument(
            "--imbalance-ratio",
            type=imbalance_ratio,
            metavar="IR",
            help="digits-lt only: head / tail class size "
            f"({DATASETS['digits-lt'].imbalance_ratio:g})",
        )


# ----------------------------------------------------------------------------- parser


class _Parser(argparse.ArgumentParser):
    """argparse with the CLI's format for bad input: one line on stderr, exit code 2.

    argparse's own ``error`` prints the whole usage block first; ``--help`` still shows it.
    """

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    from .compare import CompareConfig
    from .metrics import METRICS
    from .recipes import DEFAULT_RECIPE, EFFECTIVE_BETA
    from .weights import NORMALIZATIONS

    d = CompareConfig()
    parser = _Parser(prog=PROG, description="Train and compare classifiers on imbalanced data.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "compare",
        help="compare imbalance recipes with cross-validation and write a report",
        description="Compare recipes on FILE --target COL, or on --dataset NAME "
        "(default: digits-lt), over stratified folds x seeds; write a report.",
    )
    _data_options(p)
    p.add_argument("--recipes", help="comma-separated recipe names, or 'all'")
    p.add_argument("--folds", type=positive_int, help=f"stratified folds ({d.folds})")
    p.add_argument("--seeds", type=positive_int, help=f"repetitions with new folds ({d.seeds})")
    p.add_argument("--metric", choices=METRICS, help=f"sort and tune by ({d.metric})")
    p.add_argument("--out", default="underdog-report", help="report directory (%(default)s)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _training_options(p)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("datasets", help="list the built-in datasets")
    p.set_defaults(func=cmd_datasets)
    p = sub.add_parser("recipes", help="list the recipes")
    p.set_defaults(func=cmd_recipes)

    p = sub.add_parser("weights", help="print class counts and class weights")
    _data_options(p)
    p.add_argument(
        "--scheme",
        default="balanced",
        choices=weight_schemes(),
        help="weighting scheme (%(default)s)",
    )
    p.add_argument("--beta", type=float, help=f"effective-number beta ({EFFECTIVE_BETA})")
    p.add_argument("--normalize", choices=NORMALIZATIONS, help="normalisation")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_weights)

    p = sub.add_parser("train", help="train one recipe on all rows and save the model")
    _data_options(p)
    p.add_argument(
        "--recipe",
        default=DEFAULT_RECIPE,
        help=f"recipe name ({DEFAULT_RECIPE}: the best on the benchmarks of docs/benchmarks.md)",
    )
    p.add_argument("--out", required=True, metavar="MODEL_DIR", help="model directory")
    p.add_argument("--metric", choices=METRICS, help=f"tune post-hoc rules by ({d.metric})")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="random seed (%(default)s)")
    p.add_argument(
        "--nproc",
        type=positive_int,
        default=1,
        help="train data-parallel on N local processes (gloo on CPU, NCCL on GPUs) (%(default)s)",
    )
    _training_options(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("predict", help="predict labels and class probabilities")
    p.add_argument("model_dir", metavar="MODEL_DIR")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--out", help="CSV file to write (default: stdout)")
    p.set_defaults(func=cmd_predict)
    return parser


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None,
         stderr: TextIO | None = None) -> int:  # fmt: skip
    """Run the command line; returns the exit code (0 success, 2 bad input).

    Errors that are not bad input (bugs) are raised, not reported as bad input: the console
    script then prints the traceback and exits with 1.
    """
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv:
        parser.print_help(out)
        return 0
    try:
        with _redirect(out, err):
            args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    started = time.perf_counter()
    try:
        code = args.func(args, out, err)
    except (UsageError, UnderdogError) as exc:
        # Bad input. What other libraries reject in the user's input (pandas parsing a file,
        # an environment variable) is turned into the library's errors where it arises.
        print(f"{PROG}: error: {_one_line(exc)}", file=err)
        return 2
    except BrokenPipeError:
        # The reader went away (`underdog weights ... | head`): not an error of ours. Point
        # stdout at /dev/null so that the interpreter's final flush does not complain.
        if out is sys.stdout:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        print(f"{PROG}: error: cannot write or read{where}: {exc.strerror or exc}", file=err)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=err)
        return 130
    if args.command == "compare" and not args.quiet:
        print(f"done in {time.perf_counter() - started:.1f} s", file=err)
    return code


class _redirect:
    """Send argparse's own help / usage output to the given streams."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out, self.err = out, err

    def __enter__(self) -> None:
        self.saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = self.out, self.err

    def __exit__(self, *exc: Any) -> None:
        sys.stdout, sys.stderr = self.saved


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
