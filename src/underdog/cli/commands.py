"""The commands of the ``underdog`` command line; :mod:`underdog.cli` parses and runs them.

Each ``cmd_*(args, out, err) -> int`` gets the parsed arguments and the output streams and
returns the exit code. Mistakes in the input raise :class:`UsageError` (the command line's
own) or an :class:`~underdog.UnderdogError` (the library's); :func:`underdog.cli.main`
reports both as one line with exit code 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from ..data import Table
    from ..pipeline import CompareConfig

__all__ = [
    "ProgressBar",
    "UsageError",
    "cmd_compare",
    "cmd_datasets",
    "cmd_predict",
    "cmd_recipes",
    "cmd_train",
    "cmd_weights",
    "weight_schemes",
]


class UsageError(Exception):
    """A command-line mistake, reported like argparse's own."""


# ----------------------------------------------------------------------------- helpers


def weight_schemes() -> dict[str, str]:
    """``--scheme`` spellings -> :data:`underdog.weights.SCHEMES` names. The command line
    spells names with hyphens, as recipes are (``inverse-sqrt`` for ``inverse_sqrt``).
    """
    from ..weights import SCHEMES

    return {name.replace("_", "-"): name for name in SCHEMES}


def _load(args: argparse.Namespace) -> Table:
    """The table named by FILE --target COL or --dataset NAME."""
    from ..data import load_dataset, load_table

    ratio = getattr(args, "imbalance_ratio", None)
    if args.file and args.dataset:
        raise UsageError("give a FILE or --dataset, not both")
    if args.dataset or not args.file:
        if args.target:
            raise UsageError("--target applies to a FILE; built-in datasets have their own")
        name = args.dataset or "digits-lt"
        if ratio is not None and name != "digits-lt":
            raise UsageError(
                f"--imbalance-ratio applies to --dataset digits-lt only; {name!r} has a fixed one"
            )
        return load_dataset(name, imbalance_ratio=ratio)
    if not args.target:
        raise UsageError(f"{args.file} needs --target COLUMN, the class column")
    if ratio is not None:
        raise UsageError("--imbalance-ratio applies to --dataset digits-lt only")
    return load_table(args.file, target=args.target)


def _config(args: argparse.Namespace, num_classes: int) -> CompareConfig:
    """The ``CompareConfig`` of the training options given (the defaults for the others)."""
    from ..metrics import BINARY_METRICS
    from ..pipeline import CompareConfig

    if args.metric in BINARY_METRICS and num_classes != 2:
        raise UsageError(
            f"--metric {args.metric} needs a binary target; this one has {num_classes} classes"
        )
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
            "eval_batch_size",
            "patience",
            "val_fraction",
        )  # fmt: skip
        if getattr(args, key, None) is not None
    }
    if getattr(args, "threads", None) is not None:
        options["num_threads"] = args.threads
    return dataclasses.replace(CompareConfig(), **options)


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
    from .._io import check_directory_writable
    from ..pipeline import compare, format_table, resolve_recipes, write_report

    table = _load(args)
    config = _config(args, table.num_classes)
    recipes = resolve_recipes(args.recipes, num_classes=table.num_classes, name=table.name)
    check_directory_writable(args.out)  # fail before the comparison, not after it
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
    from ..data import DATASETS

    width = max(len(name) for name in DATASETS)
    print(f"{'name':<{width}}  {'IR':>6}  summary / source", file=out)
    for d in DATASETS.values():
        print(f"{d.name:<{width}}  {d.imbalance_ratio:>6.1f}  {d.summary}", file=out)
        print(f"{'':<{width}}  {'':>6}  source: {d.source}", file=out)
    return 0


def cmd_recipes(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ..pipeline import DEFAULT_RECIPES, RECIPES

    names = {
        r.name: r.name + "".join(f" (= {alias})" for alias in r.aliases) for r in RECIPES.values()
    }
    width = max(len(name) for name in names.values())
    for recipe in RECIPES.values():
        mark = "*" if recipe.name in DEFAULT_RECIPES else " "
        print(f"{mark} {names[recipe.name]:<{width}}  {recipe.summary}", file=out)
    print("(* run by `underdog compare` without --recipes; --recipes all runs all)", file=out)
    return 0


def cmd_weights(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ..counts import class_counts
    from ..weights import class_weight

    table = _load(args)
    scheme = weight_schemes()[args.scheme]
    beta = (
        (args.beta if args.beta is not None else args.default_beta)
        if scheme == "effective"
        else None
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


def _train_and_save(
    args: argparse.Namespace, table: Any, config: CompareConfig, local_rank: int
) -> dict:
    """Train as ``underdog train`` does, with ``config`` on this process's device, and save
    the model; under torch.distributed every rank trains (data-parallel) and only rank 0
    writes. Returns the model's training facts (``TrainedModel.info``).
    """
    from .._dist import rank
    from ..pipeline import get_recipe, train_model
    from ..training.launch import device_for_rank

    config = dataclasses.replace(config, device=str(device_for_rank(local_rank)))
    model = train_model(table, get_recipe(args.recipe), config=config, seed=args.seed)
    if rank() == 0:
        model.save(args.out)
    return model.info


def _train_worker(local_rank: int, args: argparse.Namespace, config: CompareConfig) -> dict:
    """One process of ``underdog train --nproc N``: load, train. ``args`` and ``config`` are
    the parent's, already checked (plain values, pickled to the process).
    """
    return _train_and_save(args, _load(args), config, local_rank)


def cmd_train(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .._dist import rank
    from .._io import check_directory_writable
    from ..pipeline import get_recipe
    from ..training.launch import (
        init_from_environment,
        shutdown,
        spawn,
        world_size_from_environment,
    )

    table = _load(args)
    recipe = get_recipe(args.recipe)
    recipe.check(num_classes=table.num_classes, name=table.name)
    config = _config(args, table.num_classes)
    config.check(num_classes=table.num_classes)
    torchrun = world_size_from_environment() > 1
    if args.nproc > 1 and torchrun:
        raise UsageError("--nproc starts its own processes; do not combine it with torchrun")
    if not torchrun:  # fail before the training, not after it (rank 0 of torchrun: at save)
        check_directory_writable(args.out)
    if args.nproc > 1:
        info = spawn(_train_worker, args.nproc, args, config)  # rank 0's
    else:
        joined = init_from_environment()
        try:
            info = _train_and_save(args, table, config, joined or 0)
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
    from .._io import write_file_atomically
    from ..data import read_frame
    from ..pipeline import TrainedModel

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
