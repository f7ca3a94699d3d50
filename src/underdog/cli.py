"""The ``underdog`` command line: a thin layer over the library.

Commands: ``compare`` (the main job), ``datasets``, ``recipes``, ``weights``, ``train`` and
``predict``; see ``docs/cli.md``. Every error about the user's input is one line on stderr,
``underdog: error: ...``, with exit code 2 and nothing written. Bad input is what the CLI's
own checks (:class:`UsageError`) and the library (:class:`~underdog.UnderdogError`) report;
any other exception is a bug and propagates with its traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from . import __version__
from .exceptions import UnderdogError

__all__ = ["main"]

PROG = "underdog"


class UsageError(Exception):
    """A command-line mistake, reported like argparse's own."""


# ----------------------------------------------------------------------------- helpers


def _hidden(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 128,64; got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected positive sizes like 128,64; got {text!r}")
    return sizes


def _int_at_least(text: str, low: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}; got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"expected {what}; got {text!r}")
    return value


def _positive_int(text: str) -> int:
    return _int_at_least(text, 1, "a positive integer")


def _nonnegative_int(text: str) -> int:
    return _int_at_least(text, 0, "a non-negative integer")


def _weight_schemes() -> dict[str, str]:
    """``--scheme`` spellings -> :data:`underdog.weights.SCHEMES` names. The command line
    spells names with hyphens, as recipes are (``inverse-sqrt`` for ``inverse_sqrt``)."""
    from .weights import SCHEMES

    return {name.replace("_", "-"): name for name in SCHEMES}


def _load(args: argparse.Namespace):
    """The table named by FILE --target COL or --dataset NAME."""
    from .data import load_dataset, load_table

    ratio = getattr(args, "imbalance_ratio", None)
    if args.file and args.dataset:
        raise UsageError("give a FILE or --dataset, not both")
    if args.dataset or not args.file:
        if args.target:
            raise UsageError("--target applies to a FILE; built-in datasets have their own")
        return load_dataset(args.dataset or "digits-lt", imbalance_ratio=ratio)
    if not args.target:
        raise UsageError(f"{args.file} needs --target COLUMN, the class column")
    if ratio is not None:
        raise UsageError("--imbalance-ratio applies to --dataset digits-lt only")
    return load_table(args.file, target=args.target)


def _config(args: argparse.Namespace, num_classes: int, *, device: str | None = None):
    from .compare import CompareConfig
    from .metrics import BINARY_METRICS

    if args.metric in BINARY_METRICS and num_classes != 2:
        raise UsageError(
            f"--metric {args.metric} needs a binary target; this one has {num_classes} classes"
        )
    defaults = CompareConfig()
    options = {
        key: getattr(args, key)
        for key in (
            "folds",
            "seeds",
            "metric",
            "hidden",
            "dropout",
            "lr",
            "weight_decay",
            "epochs",
            "batch_size",
            "patience",
            "val_fraction",
        )  # fmt: skip
        if getattr(args, key, None) is not None
    }
    threads = getattr(args, "threads", None)
    return CompareConfig(
        **{**defaults.__dict__, **options, "num_threads": threads or 1, "device": device}
    )


def _training_options(parser: argparse.ArgumentParser) -> None:
    from .compare import CompareConfig

    d = CompareConfig()
    group = parser.add_argument_group("training (an MLP on the preprocessed features)")
    group.add_argument("--epochs", type=_positive_int, help=f"maximum epochs ({d.epochs})")
    group.add_argument("--patience", type=_positive_int, help=f"early stopping ({d.patience})")
    group.add_argument("--batch-size", type=_positive_int, help=f"batch size ({d.batch_size})")
    group.add_argument("--hidden", type=_hidden, help="hidden layer sizes (128)")
    group.add_argument("--dropout", type=float, help=f"dropout ({d.dropout})")
    group.add_argument("--lr", type=float, help=f"AdamW learning rate ({d.lr})")
    group.add_argument("--weight-decay", type=float, help=f"AdamW weight decay ({d.weight_decay})")
    group.add_argument(
        "--val-fraction", type=float, help=f"validation split of each class ({d.val_fraction})"
    )
    group.add_argument("--threads", type=_positive_int, help="torch threads per process (1)")


def _data_options(parser: argparse.ArgumentParser, *, builtin: bool = True) -> None:
    parser.add_argument("file", nargs="?", metavar="FILE", help="a .csv, .parquet or KEEL .dat")
    parser.add_argument("--target", metavar="COL", help="the class column of FILE")
    if builtin:
        parser.add_argument("--dataset", metavar="NAME", help="a built-in dataset (digits-lt)")
        parser.add_argument(
            "--imbalance-ratio",
            type=float,
            metavar="IR",
            help="digits-lt only: head / tail class size (50)",
        )


class ProgressBar:
    """One ``\\r``-updated line on a terminal; one line per recipe otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.width = 0

    def __call__(self, p: Any) -> None:
        if not self.tty:
            if p.run == 0 and p.epoch == 0:
                print(f"[{p.recipe_index + 1}/{p.recipes}] {p.recipe}", file=self.stream)
            return
        filled = int(20 * p.epoch / max(p.epochs, 1))
        line = (
            f"[{p.recipe_index + 1}/{p.recipes}] {p.recipe:<16} run {p.run + 1}/{p.runs} "
            f"epoch {p.epoch:>3}/{p.epochs} [{'#' * filled}{'.' * (20 - filled)}]"
        )
        self.width = max(self.width, len(line))
        self.stream.write("\r" + line.ljust(self.width))
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()


# ----------------------------------------------------------------------------- commands


def cmd_compare(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .compare import compare
    from .recipes import resolve_recipes
    from .report import format_table, write_report

    table = _load(args)
    config = _config(args, table.num_classes)
    recipes = resolve_recipes(args.recipes, num_classes=table.num_classes, name=table.name)
    bar = None if args.quiet else ProgressBar(err)
    try:
        comparison = compare(table, recipes, config=config, progress=bar)
    finally:
        if bar is not None:
            bar.close()
    paths = write_report(comparison, args.out)
    print(format_table(comparison), file=out)
    print(f"report: {paths['report.html']}", file=out)
    return 0


def cmd_datasets(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .data import DATASETS

    width = max(len(name) for name in DATASETS)
    print(f"{'name':<{width}}  {'IR':>6}  summary / source", file=out)
    for d in DATASETS.values():
        print(f"{d.name:<{width}}  {d.imbalance_ratio:>6.1f}  {d.summary}", file=out)
        print(f"{'':<{width}}  {'':>6}  source: {d.source}", file=out)
    return 0


def cmd_recipes(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .recipes import DEFAULT_RECIPES, RECIPES

    width = max(len(name) for name in RECIPES)
    for recipe in RECIPES.values():
        mark = "*" if recipe.name in DEFAULT_RECIPES else " "
        print(f"{mark} {recipe.name:<{width}}  {recipe.summary}", file=out)
    print("(* run by `underdog compare` without --recipes; --recipes all runs all)", file=out)
    return 0


def cmd_weights(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .counts import class_counts
    from .recipes import EFFECTIVE_BETA
    from .weights import class_weight

    table = _load(args)
    scheme = _weight_schemes()[args.scheme]
    beta = (
        (args.beta if args.beta is not None else EFFECTIVE_BETA) if scheme == "effective" else None
    )
    if args.beta is not None and scheme != "effective":
        raise UsageError("--beta applies to --scheme effective only")
    labels = table.labels  # the rows `underdog train` trains on (digits-lt: its long tail)
    if table.training_rows is not None:
        labels = labels[table.training_rows(0)]
    counts = class_counts(labels, num_classes=table.num_classes, distributed=False)
    weights = class_weight(counts, scheme=scheme, beta=beta, normalize=args.normalize)
    rows = [
        {"class": label, "count": int(n), "weight": float(w)}
        for label, n, w in zip(table.classes, counts.tolist(), weights.tolist(), strict=True)
    ]
    if args.json:
        payload = {"target": table.target, "scheme": scheme, "beta": beta,
                   "normalize": args.normalize, "classes": rows}  # fmt: skip
        print(json.dumps(payload, indent=2, ensure_ascii=False), file=out)
        return 0
    width = max(5, *(len(str(r["class"])) for r in rows))
    print(f"{'class':<{width}}  {'count':>8}  {'weight':>10}", file=out)
    for r in rows:
        print(f"{str(r['class']):<{width}}  {r['count']:>8}  {r['weight']:>10.4f}", file=out)
    return 0


def _train_and_save(args: argparse.Namespace, table: Any, local_rank: int) -> Any:
    """Train as ``underdog train`` does and save the model; under torch.distributed every
    rank trains (data-parallel) and only rank 0 writes. Returns the trained model."""
    from .launch import device_for_rank, rank
    from .model import train_model
    from .recipes import get_recipe

    config = _config(args, table.num_classes, device=str(device_for_rank(local_rank)))
    model = train_model(table, get_recipe(args.recipe), config=config, seed=args.seed)
    if rank() == 0:
        model.save(args.out)
    return model


def _train_worker(local_rank: int, argv: list[str]) -> None:
    """One process of ``underdog train --nproc N``: parse, load, train."""
    args = build_parser().parse_args(argv)
    _train_and_save(args, _load(args), local_rank)


def cmd_train(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .launch import init_from_environment, rank, shutdown, spawn, world_size_from_environment
    from .model import TrainedModel
    from .recipes import get_recipe

    table = _load(args)
    recipe = get_recipe(args.recipe)
    recipe.check(num_classes=table.num_classes, name=table.name)
    _config(args, table.num_classes).check(num_classes=table.num_classes)
    if args.nproc > 1:
        if world_size_from_environment() > 1:
            raise UsageError("--nproc starts its own processes; do not combine it with torchrun")
        spawn(_train_worker, args.nproc, args.argv)
        info = TrainedModel.load(args.out).info
    else:
        joined = init_from_environment()
        try:
            info = _train_and_save(args, table, joined or 0).info
            this_rank = rank()
        finally:
            if joined is not None:
                shutdown()
        if this_rank != 0:
            return 0
    processes = f" on {args.nproc} processes" if args.nproc > 1 else ""
    print(
        f"trained {recipe.name} on {info['rows']} rows of {table.name}{processes} "
        f"(best epoch {info['best_epoch']} of {info['epochs_run']}); model: {args.out}",
        file=out,
    )
    return 0


def cmd_predict(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ._io import write_file_atomically
    from .data import read_frame
    from .model import TrainedModel

    model = TrainedModel.load(args.model_dir)
    frame = read_frame(args.file)
    frame.columns = [str(c) for c in frame.columns]
    labels, proba = model.predict(frame)
    import pandas as pd

    result = pd.DataFrame({"prediction": labels})
    for j, label in enumerate(model.classes):
        result[f"proba_{label}"] = proba[:, j]
    text = result.to_csv(index=False)
    if args.out:
        write_file_atomically(args.out, text.encode())
        print(f"wrote {len(result)} predictions to {args.out}", file=out)
    else:
        out.write(text)
    return 0


# ----------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    from .metrics import METRICS
    from .recipes import DEFAULT_RECIPE, EFFECTIVE_BETA
    from .weights import NORMALIZATIONS

    parser = argparse.ArgumentParser(
        prog=PROG, description="Train and compare classifiers on imbalanced data."
    )
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
    p.add_argument("--folds", type=_positive_int, help="stratified folds (5)")
    p.add_argument("--seeds", type=_positive_int, help="repetitions with new folds (1)")
    p.add_argument("--metric", choices=METRICS, help="sort and tune by (balanced_accuracy)")
    p.add_argument("--out", default="underdog-report", help="report directory (underdog-report)")
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
        choices=_weight_schemes(),
        help="weighting scheme (balanced)",
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
    p.add_argument("--metric", choices=METRICS, help="tune post-hoc rules by")
    p.add_argument("--seed", type=_nonnegative_int, default=0, help="random seed (0)")
    p.add_argument(
        "--nproc",
        type=_positive_int,
        default=1,
        help="train data-parallel on N local processes (gloo on CPU, NCCL on GPUs) (1)",
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
        args.argv = argv
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
