"""The ``underdog`` command line's parser: every command and option.

The defaults are taken from :class:`~underdog.pipeline.CompareConfig` and the dataset
registry.

argparse errors are one line on stderr with exit code 2 (:class:`_Parser`); ``--help``
shows the usage.
"""

from __future__ import annotations

import argparse
from typing import NoReturn

from .. import __version__
from ..data import DATASETS
from ..metrics import METRICS
from ..pipeline import CompareConfig
from ..pipeline.recipes import (
    DEFAULT_LOSS_RECIPE,
    DEFAULT_NEURAL_RECIPE,
    DEFAULT_RECIPE,
    LARGE_TABLE_ROWS,
)
from ..weights import NORMALIZATIONS
from .argtypes import (
    baseline_spec,
    device_name,
    hidden_sizes,
    imbalance_ratio,
    nonnegative_int,
    path_name,
    positive_int,
    recipe_name,
    recipe_spec,
)
from .commands import (
    cmd_compare,
    cmd_datasets,
    cmd_predict,
    cmd_recipes,
    cmd_train,
    cmd_weights,
    weight_schemes,
)

__all__ = ["DEFAULT_BETA", "PROG", "build_parser"]

PROG = "underdog"
#: ``underdog weights --scheme effective`` without ``--beta``: between inverse-frequency
#: weights (beta -> 1) and no weights (beta = 0) for class sizes of tens to thousands.
DEFAULT_BETA = 0.99


# ----------------------------------------------------------------------------- options


def _training_options(parser: argparse.ArgumentParser) -> None:
    d = CompareConfig()  # the defaults: an option left out keeps CompareConfig's value
    group = parser.add_argument_group("training")
    group.add_argument(
        "--model",
        metavar="MODEL",
        help=f"the network: mlp, cnn or MODULE:FUNCTION, a factory of an nn.Module ({d.model})",
    )
    group.add_argument(
        "--device", type=device_name, help="auto, cpu, cuda or cuda:N (cpu; auto: a GPU if any)"
    )
    group.add_argument("--epochs", type=positive_int, help=f"maximum epochs ({d.epochs})")
    patience = d.patience or "20 epochs up to 8,192 rows, then 10"
    group.add_argument("--patience", type=positive_int, help=f"early stopping ({patience})")
    batch = d.batch_size or "64 up to 8,192 rows, then larger"
    group.add_argument("--batch-size", type=positive_int, help=f"batch size ({batch})")
    group.add_argument(
        "--eval-batch-size",
        type=positive_int,
        help="rows per forward pass on the validation split (the batch size)",
    )
    group.add_argument(
        "--hidden", type=hidden_sizes, help=f"hidden layer sizes ({','.join(map(str, d.hidden))})"
    )
    dropout = d.dropout if d.dropout is not None else "0.1 up to 8,192 rows, then 0"
    group.add_argument("--dropout", type=float, help=f"dropout ({dropout})")
    lr = d.lr or "1e-3 at batch 64, x sqrt(batch / 64)"
    group.add_argument("--lr", type=float, help=f"AdamW learning rate ({lr})")
    group.add_argument("--weight-decay", type=float, help=f"AdamW weight decay ({d.weight_decay})")
    group.add_argument(
        "--val-fraction", type=float, help=f"validation split of each class ({d.val_fraction})"
    )
    group.add_argument(
        "--threads", type=positive_int, help=f"torch threads per process ({d.num_threads})"
    )


def _data_options(parser: argparse.ArgumentParser, *, builtin: bool = True) -> None:
    parser.add_argument("file", nargs="?", metavar="FILE", help="a .csv, .parquet or KEEL .dat")
    parser.add_argument("--target", metavar="COL", help="the class column of FILE (or --data's)")
    parser.add_argument(
        "--data",
        metavar="MODULE:FUNCTION",
        help="a factory of a Dataset (labels in its targets) or a DataFrame, instead of FILE",
    )
    if builtin:
        parser.add_argument(
            "--dataset", choices=DATASETS, metavar="NAME", help="a built-in dataset (digits-lt)"
        )
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


def _add_compare(sub: argparse._SubParsersAction) -> None:
    d = CompareConfig()
    p = sub.add_parser(
        "compare",
        help="compare imbalance recipes with cross-validation and write a report",
        description="Compare recipes on FILE --target COL, or on --dataset NAME "
        "(default: digits-lt), over stratified folds x seeds; write a report.",
    )
    _data_options(p)
    p.add_argument(
        "--recipes", type=recipe_spec, help="comma-separated recipe names, 'default' or 'all'"
    )
    p.add_argument(
        "--baselines",
        type=baseline_spec,
        metavar="NAMES",
        help="scikit-learn / imbalanced-learn models to fit beside the recipes: "
        "comma-separated names (logreg-balanced, hgb-balanced, balanced-rf, smote-logreg) "
        "or 'all' (none)",
    )
    p.add_argument("--folds", type=positive_int, help=f"stratified folds ({d.folds})")
    p.add_argument("--seeds", type=positive_int, help=f"repetitions with new folds ({d.seeds})")
    p.add_argument("--metric", choices=METRICS, help=f"sort and tune by ({d.metric})")
    p.add_argument(
        "--out", type=path_name, default="underdog-report", help="report directory (%(default)s)"
    )
    p.add_argument(
        "--jobs", type=positive_int, default=1, help="folds run in N processes (%(default)s)"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _training_options(p)
    p.set_defaults(func=cmd_compare)


def _add_weights(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("weights", help="print class counts and class weights")
    _data_options(p)
    p.add_argument(
        "--scheme",
        default="balanced",
        choices=weight_schemes(),
        help="weighting scheme (%(default)s)",
    )
    p.add_argument("--beta", type=float, help=f"effective-number beta ({DEFAULT_BETA})")
    p.add_argument("--normalize", choices=NORMALIZATIONS, help="normalisation")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_weights, default_beta=DEFAULT_BETA)


def _add_train(sub: argparse._SubParsersAction) -> None:
    d = CompareConfig()
    p = sub.add_parser("train", help="train one recipe on all rows and save the model")
    _data_options(p)
    p.add_argument(
        "--recipe",
        type=recipe_name,
        help=f"recipe name ({DEFAULT_RECIPE} on a table of at most {LARGE_TABLE_ROWS:,} rows, "
        f"the best on the benchmarks of docs/benchmarks.md; {DEFAULT_NEURAL_RECIPE} without "
        f"imbalanced-learn; {DEFAULT_LOSS_RECIPE} on a larger table, with --model or a "
        "dataset of samples)",
    )
    p.add_argument(
        "--out", type=path_name, required=True, metavar="MODEL_DIR", help="model directory"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
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


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command; ``args.func(args, out, err)`` runs the command chosen."""
    parser = _Parser(prog=PROG, description="Train and compare classifiers on imbalanced data.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_compare(sub)
    p = sub.add_parser("datasets", help="list the built-in datasets")
    p.set_defaults(func=cmd_datasets)
    p = sub.add_parser("recipes", help="list the recipes")
    p.set_defaults(func=cmd_recipes)
    _add_weights(sub)
    _add_train(sub)
    p = sub.add_parser("predict", help="predict labels and class probabilities")
    p.add_argument("model_dir", metavar="MODEL_DIR")
    p.add_argument("file", nargs="?", metavar="FILE", help="the rows to predict (a table model)")
    p.add_argument(
        "--data", metavar="MODULE:FUNCTION", help="the samples to predict (a dataset model)"
    )
    p.add_argument(
        "--model",
        metavar="MODULE:FUNCTION",
        help="the model factory the model was trained with, unless built in (mlp, cnn)",
    )
    p.add_argument("--out", type=path_name, help="CSV file to write (default: stdout)")
    p.set_defaults(func=cmd_predict)
    return parser
