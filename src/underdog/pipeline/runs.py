"""Compare recipes on one table: recipes x folds x seeds, the same folds for every recipe.

For each seed ``s`` the table's folds come from :meth:`~underdog.data.Table.folds`
(stratified k-fold, or the dataset's own protocol). In each fold:

1. a validation split (``val_fraction`` of each class, stratified) is carved from the
   training part; it drives early stopping and tunes post-hoc rules;
2. the :class:`~underdog.data.Preprocessor` is fit on the training part only;
3. each recipe builds its loss from the class counts of the rows it trains on, trains an
   MLP (:func:`~underdog.pipeline.trainer.train_recipe`: early stopping on validation
   balanced accuracy, ties broken by the lower cross-entropy) and is scored on the test
   part with :func:`~underdog.metrics.evaluate`.

Recipes that reuse another's model (post-hoc rules on ``none``) reuse the trained model.
Baselines (:mod:`underdog.pipeline.baselines`, scikit-learn models) are fit on each fold's
whole training part after the recipes, with at most ``config.num_threads`` threads, and
scored the same way.

The same steps are public for one fold at a time, so that a benchmark can run recipes (and
other estimators) on exactly the folds and preprocessing of a comparison, one process per
fold: :func:`~underdog.pipeline.folds.prepare_fold` builds a fold and :func:`run_fold` trains
and scores recipes on it, through the same loop as :func:`compare`. The results and their
paired tests are in :mod:`underdog.pipeline.results`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import check_int
from ..data import Table
from ..exceptions import DataError, DivergenceError
from ..metrics import evaluate
from ..training import TrainEvent, predict_logits
from .baselines import Baseline, fit_baseline
from .config import CompareConfig
from .folds import Fold, prepare_fold
from .recipes import RECIPES, Recipe
from .results import Comparison, RunResult
from .trainer import fit_posthoc, train_recipe

__all__ = ["Progress", "compare", "run_fold"]


@dataclass(frozen=True)
class Progress:
    """A progress report of a comparison.

    Recipe ``recipe_index`` of ``recipes``, run ``run`` of ``runs`` (seeds x folds), epoch
    ``epoch`` of ``epochs``; ``epoch == 0`` when a run starts.
    """

    recipe: str
    recipe_index: int
    recipes: int
    run: int
    runs: int
    epoch: int
    epochs: int


#: A fold's trained models by training key: (model, best epoch, training seconds).
_Trained = dict[str, tuple[Any, int, float]]


def _score(
    recipe: Recipe, trained: tuple[Any, int, float], fold: Fold, *, config: CompareConfig,
    minority: int, seconds: float,
) -> RunResult:  # fmt: skip
    """Fit ``recipe``'s post-hoc rule on the validation split and score the test part."""
    model, best_epoch, _ = trained
    rule = fit_posthoc(recipe, model, fold, config=config)
    proba, y_pred = rule.apply(predict_logits(model, fold.x_test))
    return _result(recipe.name, fold, proba, y_pred, minority=minority, best_epoch=best_epoch,
                   seconds=seconds)  # fmt: skip


def _result(
    name: str, fold: Fold, proba: np.ndarray, y_pred: np.ndarray, *, minority: int,
    best_epoch: int, seconds: float,
) -> RunResult:  # fmt: skip
    """The scores of one method's test-part predictions on ``fold``."""
    scalars, per_class = evaluate(fold.y_test, proba, y_pred=y_pred, minority=minority)
    return RunResult(
        recipe=name, seed=fold.seed, fold=fold.fold, scalars=scalars, per_class=per_class,
        y_true=fold.y_test, proba=proba.astype(np.float32), y_pred=y_pred,
        best_epoch=best_epoch, seconds=seconds,
    )  # fmt: skip


def _run_recipe(
    recipe: Recipe, fold: Fold, trained: _Trained, *, config: CompareConfig, num_classes: int,
    minority: int, report: Callable[[int, int], None],
) -> RunResult:  # fmt: skip
    """Train (unless ``trained`` has the model) and score one recipe on one fold.

    ``report(epoch, epochs)`` gets epoch 0 as the run starts, then every epoch trained.
    """
    start = time.perf_counter()
    report(0, config.epochs)  # also for a recipe that reuses a trained model
    key = recipe.training_key
    if key not in trained:

        def each_epoch(event: TrainEvent) -> None:
            report(event.epoch, event.epochs)

        try:
            result = train_recipe(
                recipe, fold, config=config, num_classes=num_classes, callbacks=[each_epoch]
            )
        except DivergenceError as exc:
            raise DivergenceError(f"Recipe {recipe.name!r}, fold {fold.fold + 1} of seed "
                                  f"{fold.seed}: {exc}") from exc  # fmt: skip
        trained[key] = (result.model, result.best_epoch, time.perf_counter() - start)
    seconds = time.perf_counter() - start + (trained[key][2] if recipe.base else 0)
    return _score(recipe, trained[key], fold, config=config, minority=minority, seconds=seconds)


def _run_baseline(
    baseline: Baseline, fold: Fold, *, config: CompareConfig, num_classes: int, minority: int
) -> RunResult:
    """Fit and score one baseline on one fold, with at most ``config.num_threads`` threads."""
    from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

    start = time.perf_counter()
    with threadpool_limits(config.num_threads):
        proba, y_pred = fit_baseline(baseline, fold, num_classes=num_classes)
    seconds = time.perf_counter() - start
    return _result(baseline.name, fold, proba, y_pred, minority=minority, best_epoch=0,
                   seconds=seconds)  # fmt: skip


def _run_all(
    recipes: Sequence[Recipe], folds: Sequence[Fold], *, config: CompareConfig,
    num_classes: int, minority: int, progress: Callable[[Progress], None] | None = None,
    baselines: Sequence[Baseline] = (),
) -> tuple[list[RunResult], dict[str, float]]:  # fmt: skip
    """Every recipe, then every baseline, on every fold: the runs and each one's seconds.

    Recipes sharing a trained model (post-hoc rules on ``none``) train it once per fold.
    """
    runs: list[RunResult] = []
    trained: list[_Trained] = [{} for _ in folds]
    seconds: dict[str, float] = {}
    methods: list[Recipe | Baseline] = [*recipes, *baselines]
    for m_index, method in enumerate(methods):
        method_start = time.perf_counter()
        for f_index, fold in enumerate(folds):

            def report(epoch: int, epochs: int, m: int = m_index, f: int = f_index) -> None:
                if progress is not None:
                    progress(Progress(methods[m].name, m, len(methods), f, len(folds),
                                      epoch, epochs))  # fmt: skip

            if isinstance(method, Baseline):
                report(0, 1)
                runs.append(_run_baseline(method, fold, config=config,
                                          num_classes=num_classes, minority=minority))  # fmt: skip
                continue
            runs.append(
                _run_recipe(method, fold, trained[f_index], config=config,
                            num_classes=num_classes, minority=minority, report=report)
            )  # fmt: skip
        seconds[method.name] = time.perf_counter() - method_start
    return runs, seconds


#: What the worker processes of a parallel comparison run: set before they are forked.
_PARALLEL: dict[str, Any] = {}


def _run_fold_job(index: int) -> tuple[list[RunResult], dict[str, float]]:
    """Fold ``index`` of the comparison in ``_PARALLEL``, in a worker process."""
    import torch

    torch.set_num_threads(1)
    job = _PARALLEL
    return _run_all(job["recipes"], [job["folds"][index]], config=job["config"],
                    num_classes=job["num_classes"], minority=job["minority"],
                    baselines=job["baselines"])  # fmt: skip


def _run_parallel(
    recipes: Sequence[Recipe], folds: Sequence[Fold], *, jobs: int, config: CompareConfig,
    num_classes: int, minority: int, progress: Callable[[Progress], None] | None,
    baselines: Sequence[Baseline] = (),
) -> tuple[list[RunResult], dict[str, float]]:  # fmt: skip
    """:func:`_run_all` with the folds in ``jobs`` forked processes.

    The same runs, in the same order (every fold is seeded on its own, so where it runs
    changes nothing).
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    _PARALLEL.update(recipes=recipes, folds=folds, config=config, num_classes=num_classes,
                     minority=minority, baselines=baselines)  # fmt: skip
    methods: list[Recipe | Baseline] = [*recipes, *baselines]
    by_fold: dict[int, list[RunResult]] = {}
    seconds: dict[str, float] = dict.fromkeys((m.name for m in methods), 0.0)
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            futures = {pool.submit(_run_fold_job, i): i for i in range(len(folds))}
            for future in as_completed(futures):
                index = futures[future]
                by_fold[index], fold_seconds = future.result()
                for name, value in fold_seconds.items():
                    seconds[name] += value
                for m_index, method in enumerate(methods):  # report the fold's runs as done
                    if progress is not None:
                        progress(Progress(method.name, m_index, len(methods), index,
                                          len(folds), 0, config.epochs))  # fmt: skip
    finally:
        _PARALLEL.clear()
    runs = [by_fold[f][m] for m in range(len(methods)) for f in range(len(folds))]
    return runs, seconds


def run_fold(
    recipes: Sequence[Recipe],
    fold: Fold,
    *,
    num_classes: int,
    minority: int,
    config: CompareConfig | None = None,
    baselines: Sequence[Baseline] = (),
) -> list[RunResult]:
    """Train and score each recipe, then each baseline, on one fold, as :func:`compare` does.

    Recipes sharing a trained model (post-hoc rules on ``none``) train it once; ``minority``
    is the positive class of the binary metrics (:func:`compare` uses the rarest class of
    the training parts). Returns one :class:`RunResult` per recipe and baseline, in order.
    """
    config = config or CompareConfig()
    runs, _ = _run_all(recipes, [fold], config=config, num_classes=num_classes,
                       minority=minority, baselines=baselines)  # fmt: skip
    return runs


def _with_reference(recipes: Sequence[Recipe]) -> list[Recipe]:
    """``recipes`` with each named once and ``none``, the reference, first when missing."""
    unique = {r.name: r for r in recipes}
    if "none" in unique:
        return list(unique.values())
    return [RECIPES["none"], *unique.values()]


def compare(
    table: Table,
    recipes: Sequence[Recipe],
    *,
    config: CompareConfig | None = None,
    progress: Callable[[Progress], None] | None = None,
    jobs: int = 1,
    baselines: Sequence[Baseline] = (),
) -> Comparison:
    """Run every recipe and baseline on the same folds of ``table``; see the module docstring.

    ``none``, the reference of the paired tests, is added first when missing; a recipe
    named twice runs once. ``baselines`` (see :func:`~underdog.pipeline.resolve_baselines`)
    need a table of feature rows. ``jobs`` > 1 runs the folds in that many forked processes
    (one thread each), with the same results as one process.

    Raises:
        DataError: baselines with a table over a dataset of samples, or a recipe that does
            not fit the table.
    """
    jobs = check_int(jobs, name="jobs", owner="compare", low=1)
    config = config or CompareConfig()
    recipes = _with_reference(recipes)
    baselines = list({b.name: b for b in baselines}.values())
    num_classes = table.num_classes
    config.check(num_classes=num_classes)
    rows = table.dataset is None
    for recipe in recipes:
        recipe.check(num_classes=num_classes, name=table.name, rows=rows, model=config.model)
    if baselines and not rows:
        raise DataError(
            f"The 'baselines' parameter of compare must be empty for a table over a dataset "
            f"of samples ({table.name}): baselines fit a matrix of feature rows. Got "
            f"{', '.join(b.name for b in baselines)} instead."
        )
    started = time.perf_counter()
    folds = [
        prepare_fold(table, train, test, seed=seed, fold=fold, config=config)
        for seed in range(config.seeds)
        for fold, (train, test) in enumerate(table.folds(config.folds, seed=seed))
    ]
    # The class rarest where the models train (for digits-lt the tail of its long-tailed
    # training sets, not of the balanced whole table): the positive class of binary metrics.
    train_counts = np.mean([np.bincount(f.y_train, minlength=num_classes) for f in folds], 0)
    minority = int(np.argmin(train_counts))
    run = _run_parallel if jobs > 1 and len(folds) > 1 else _run_all
    options = {"jobs": min(jobs, len(folds))} if run is _run_parallel else {}
    runs, recipe_seconds = run(
        recipes, folds, config=config, num_classes=num_classes, minority=minority,
        progress=progress, baselines=baselines, **options,
    )  # fmt: skip
    return Comparison(
        table=table,
        recipes=recipes,
        baselines=baselines,
        config=config,
        runs=runs,
        train_counts=train_counts,
        test_counts=np.mean([np.bincount(f.y_test, minlength=num_classes) for f in folds], 0),
        minority=minority,
        seconds=time.perf_counter() - started,
        sizes=(
            float(np.mean([len(f.y) + len(f.y_val) for f in folds])),
            float(np.mean([len(f.y_test) for f in folds])),
        ),
        recipe_seconds=recipe_seconds,
    )
