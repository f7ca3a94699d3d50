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
import os
import sys
from typing import TYPE_CHECKING, Any, TextIO

from .inputs import UsageError, load_config, load_data, weight_schemes
from .progress import CompareProgress, EpochProgress, wanted

if TYPE_CHECKING:
    from ..pipeline import CompareConfig

__all__ = [
    "UsageError",
    "cmd_compare",
    "cmd_datasets",
    "cmd_predict",
    "cmd_recipes",
    "cmd_train",
    "cmd_weights",
    "weight_schemes",
]


def _imblearn_note(
    args: argparse.Namespace, table: Any, config: CompareConfig, baselines: list[str]
) -> str | None:
    """The one note for what ``compare`` skips without imbalanced-learn.

    The recipes of ``default`` / ``all`` that need it, and the baselines of ``all`` that do.
    """
    from ..exceptions import MissingDependencyError
    from ..pipeline.recipes import RECIPES, recipe_names

    facts = {"num_classes": table.num_classes, "rows": table.dataset is None,
             "model": config.model}  # fmt: skip
    recipes = []
    if (args.recipes or "default").strip() in ("default", "all"):
        recipes = [n for n in recipe_names(args.recipes)
                   if isinstance(RECIPES[n].problem(**facts), MissingDependencyError)]  # fmt: skip
    skipped = recipes + baselines
    if not skipped:
        return None
    return (f"imbalanced-learn is not installed: skipping {', '.join(skipped)} "
            "(pip install 'underdog[tables]')")  # fmt: skip


def cmd_compare(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``underdog compare``: compare recipes with cross-validation and write the report.

    The report directory is checked before the comparison, not after it. The results table
    and the report's path are printed on ``out``; a progress bar is drawn on ``err`` when it
    is a terminal and ``--quiet`` is not given.

    Args:
        args: the parsed command line.
        out: standard output.
        err: standard error.

    Returns:
        The exit code, 0.

    Raises:
        UsageError: a mistake in the options.
        OSError: the report directory cannot be written.
    """
    from .._io import check_directory_writable
    from ..pipeline import compare, format_table, resolve_baselines, resolve_recipes, write_report

    table = load_data(args)
    config = load_config(args, table.num_classes)
    rows = table.dataset is None
    recipes = resolve_recipes(args.recipes, num_classes=table.num_classes, name=table.name,
                              rows=rows, model=config.model)  # fmt: skip
    baselines, skipped = resolve_baselines(args.baselines, rows=rows, name=table.name)
    note = _imblearn_note(args, table, config, skipped)
    if note is not None:
        print(f"note: {note}", file=err)
    check_directory_writable(args.out)  # fail before the comparison, not after it
    bar = CompareProgress(err) if wanted(err, args.quiet) else None
    try:
        comparison = compare(table, recipes, config=config, progress=bar, jobs=args.jobs,
                             baselines=baselines)  # fmt: skip
    finally:
        if bar is not None:
            bar.close()
    paths = write_report(comparison, args.out)
    print(format_table(comparison), file=out)
    print(f"report: {paths['report.html']}", file=out)
    return 0


def cmd_datasets(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``underdog datasets``: list the built-in datasets, their imbalance ratio and source.

    Args:
        args: the parsed command line.
        out: standard output.
        err: standard error.

    Returns:
        The exit code, 0.
    """
    from ..data import DATASETS

    width = max(len(name) for name in DATASETS)
    print(f"{'name':<{width}}  {'IR':>6}  summary / source", file=out)
    for d in DATASETS.values():
        print(f"{d.name:<{width}}  {d.imbalance_ratio:>6.1f}  {d.summary}", file=out)
        print(f"{'':<{width}}  {'':>6}  source: {d.source}", file=out)
    return 0


def cmd_recipes(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``underdog recipes``: list the recipes, their aliases and what each does.

    A ``*`` marks the recipes ``underdog compare`` runs without ``--recipes``.

    Args:
        args: the parsed command line.
        out: standard output.
        err: standard error.

    Returns:
        The exit code, 0.
    """
    from ..pipeline import BASELINES, DEFAULT_RECIPES, RECIPES
    from ..pipeline.recipes import (
        DEFAULT_LOSS_RECIPE,
        DEFAULT_NEURAL_RECIPE,
        DEFAULT_RECIPE,
        LARGE_TABLE_ROWS,
    )

    names = {
        r.name: r.name + "".join(f" (= {alias})" for alias in r.aliases) for r in RECIPES.values()
    }
    width = max(len(name) for name in [*names.values(), *BASELINES])
    for recipe in RECIPES.values():
        mark = "*" if recipe.name in DEFAULT_RECIPES else " "
        print(f"{mark} {names[recipe.name]:<{width}}  {recipe.summary}", file=out)
    print("(* run by `underdog compare` without --recipes; --recipes all runs all)", file=out)
    print(f"`underdog train` without --recipe: {DEFAULT_RECIPE} on a table of at most "
          f"{LARGE_TABLE_ROWS:,} rows ({DEFAULT_NEURAL_RECIPE} without imbalanced-learn), "
          f"{DEFAULT_LOSS_RECIPE} on a larger table, with --model or a dataset of samples",
          file=out)  # fmt: skip
    print("\nbaselines (`underdog compare --baselines NAMES` or `all`): scikit-learn / "
          "imbalanced-learn models fit beside the recipes; underdog does not train them",
          file=out)  # fmt: skip
    for baseline in BASELINES.values():
        print(f"  {baseline.name:<{width}}  {baseline.summary}", file=out)
    return 0


def cmd_weights(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``underdog weights``: print the class counts and class weights of a table.

    The counts are those of the rows ``underdog train`` trains on (the long tail of
    digits-lt); ``--json`` prints them as JSON instead of a table.

    Args:
        args: the parsed command line.
        out: standard output.
        err: standard error.

    Returns:
        The exit code, 0.

    Raises:
        UsageError: a mistake in the options, such as ``--beta`` without
            ``--scheme effective``.
    """
    from ..counts import class_counts
    from ..weights import class_weight

    table = load_data(args)
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
    """Train and save the model as ``underdog train`` does; return its training facts.

    Trains with ``config`` on this process's device; under torch.distributed every rank
    trains (data-parallel) and only rank 0 writes. The facts returned are
    ``TrainedModel.info``.
    """
    from .._dist import distributed_active, rank
    from ..pipeline import get_recipe, train_model
    from ..training.launch import device_for_rank

    if distributed_active():  # each process on its own device (its GPU under NCCL)
        config = dataclasses.replace(config, device=str(device_for_rank(local_rank)))
    bar = EpochProgress(sys.stderr) if rank() == 0 and wanted(sys.stderr, args.quiet) else None
    try:
        model = train_model(table, get_recipe(args.recipe), config=config, seed=args.seed,
                            callbacks=[bar] if bar is not None else [])  # fmt: skip
    finally:
        if bar is not None:
            bar.close()
    if rank() == 0:
        model.save(args.out)
    return model.info


def _train_worker(local_rank: int, args: argparse.Namespace, config: CompareConfig) -> dict:
    """One process of ``underdog train --nproc N``: load, train.

    ``args`` and ``config`` are the parent's, already checked (plain values, pickled to the
    process).
    """
    return _train_and_save(args, load_data(args), config, local_rank)


#: The options of the MLP's training, which the recipes of their own network ignore.
_MLP_OPTIONS = (("--epochs", "epochs"), ("--patience", "patience"),
                ("--batch-size", "batch_size"), ("--eval-batch-size", "eval_batch_size"),
                ("--hidden", "hidden"), ("--dropout", "dropout"), ("--lr", "lr"),
                ("--weight-decay", "weight_decay"), ("--val-fraction", "val_fraction"))  # fmt: skip


def cmd_train(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``underdog train``: train one recipe on all rows of a table and save the model.

    Trains in one process, in ``--nproc`` local processes or as one rank of torchrun; only
    rank 0 saves the model, and other ranks of torchrun print nothing. The model directory is
    checked before the training (under torchrun, by rank 0 when it saves).

    Args:
        args: the parsed command line.
        out: standard output.
        err: standard error.

    Returns:
        The exit code, 0.

    Raises:
        UsageError: a mistake in the options, such as ``--nproc`` under torchrun.
        OSError: the model directory cannot be written.
    """
    from .._dist import rank
    from .._io import check_directory_writable
    from ..pipeline import default_recipe, get_recipe
    from ..pipeline.recipes import DEFAULT_NEURAL_RECIPE, DEFAULT_RECIPE
    from ..training.launch import (
        init_from_environment,
        shutdown,
        spawn,
        world_size_from_environment,
    )

    table = load_data(args)
    config = load_config(args, table.num_classes)
    rows = table.dataset is None
    if args.recipe is None:
        args.recipe = default_recipe(rows=rows, model=config.model, num_rows=len(table.labels))
        if args.recipe == DEFAULT_NEURAL_RECIPE:
            print(f"note: imbalanced-learn is not installed: training {DEFAULT_NEURAL_RECIPE}, "
                  f"not {DEFAULT_RECIPE} (pip install 'underdog[tables]')", file=err)  # fmt: skip
    recipe = get_recipe(args.recipe)
    recipe.check(num_classes=table.num_classes, name=table.name, rows=rows, model=config.model)
    config.check(num_classes=table.num_classes, owner="train")
    ignored = [flag for flag, key in _MLP_OPTIONS if getattr(args, key, None) is not None]
    if recipe.model is not None and ignored:
        print(f"note: {recipe.name} trains with its own fixed settings; ignoring "
              f"{', '.join(ignored)}", file=err)  # fmt: skip
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
    how = f"best epoch {info['best_epoch']} of {info['epochs_run']}"
    if recipe.model is not None:
        how = f"{info['epochs_run']} steps, no early stopping"
    print(
        f"trained {recipe.name} on {info['rows']} rows of {table.name}{processes} ({how}); "
        f"model: {args.out}",
        file=out,
    )
    return 0


def _predictions(args: argparse.Namespace) -> tuple[Any, list[Any], Any]:
    """Load the model of ``underdog predict`` and predict: ``(model, labels, proba)``.

    The predicted rows are FILE's for a model of a table, the samples of ``--data`` for a
    model of a dataset.
    """
    from ..data import read_frame
    from ..pipeline import TrainedModel
    from ..pipeline.factories import load_data as load_data_factory

    model = TrainedModel.load(args.model_dir, model=args.model)
    if (args.file is None) == (args.data is None):
        raise UsageError("give FILE (a table) or --data MODULE:FUNCTION (a dataset), one of them")
    if model.preprocessor is None and args.file is not None:
        raise UsageError(f"the model in {args.model_dir} takes samples: use --data, not a FILE")
    if model.preprocessor is not None and args.data is not None:
        raise UsageError(f"the model in {args.model_dir} takes table rows: give a FILE")
    if args.file is not None:
        assert model.preprocessor is not None
        data = read_frame(args.file, text_columns=model.preprocessor.categorical)
        data.columns = [str(c) for c in data.columns]
    else:
        data = load_data_factory(args.data, owner="the command line")
    labels, proba = model.predict(data)
    return model, labels, proba


def cmd_predict(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``underdog predict``: predict labels and class probabilities with a saved model.

    Writes a CSV file with a ``prediction`` column and one ``proba_<class>`` column per
    class to ``--out`` (replaced as one unit) or to ``out``. ``--out`` is checked before
    predicting: never a file this command reads, nor one it may not replace.

    Args:
        args: the parsed command line.
        out: standard output.
        err: standard error.

    Returns:
        The exit code, 0.

    Raises:
        UsageError: FILE and ``--data`` both or neither given, or the one the model does not
            take.
        OSError: ``--out`` cannot be written.
    """
    import pandas as pd

    from .._io import check_output_file, write_file_atomically

    if args.out:  # never a file this command reads, nor one it may not replace
        reads = [p for p in (args.file, os.path.join(args.model_dir, "model.json"),
                             os.path.join(args.model_dir, "model.pt")) if p]  # fmt: skip
        check_output_file(args.out, reads=reads)
    model, labels, proba = _predictions(args)
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
