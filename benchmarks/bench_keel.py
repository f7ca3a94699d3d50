"""Recipe quality on KEEL imbalanced tables, against the tools people use instead.

Protocol (``docs/benchmarks.md``): repeated stratified k-fold cross-validation (5 folds x 3
repeats, seeds 0, 1, 2 by default), the folds and per-fold preprocessing of
``underdog compare`` (:func:`underdog.pipeline.prepare_fold`: one-hot + median imputation +
standardisation fit on the training part only). On every fold, on the same preprocessed
rows:

- every recipe of ``underdog.pipeline.RECIPES`` (the MLP of the training loop, early
  stopping on a validation split of the training part; :func:`underdog.pipeline.run_fold`);
- the baselines of ``underdog compare --baselines`` (:mod:`underdog.pipeline.baselines`):
  scikit-learn ``LogisticRegression(class_weight="balanced")`` and
  ``HistGradientBoostingClassifier(class_weight="balanced")``; imbalanced-learn ``SMOTE`` +
  ``LogisticRegression`` and ``BalancedRandomForestClassifier`` (skipped, with a note, when
  imbalanced-learn is not installed: ``pip install "underdog[bench]"``; so is the recipe
  ``balanced-bag-forest``).

The baselines are fit on the whole training part (they have no use for a validation
split), with default hyper-parameters. Metrics: G-mean and balanced accuracy of each
model's own decisions, minority F1, ROC-AUC and average precision of the minority class;
and the seconds of each unit (training and predicting one method on one fold, one thread).

Each (dataset, method, repeat, fold) result is written as a small JSON file under
``OUT/units/`` as soon as it is done; a rerun with the same ``--out`` skips finished
units (resumable). Work runs in ``--jobs`` processes with one thread each. At the end the
script writes ``OUT/runs.csv`` (every unit), ``OUT/per_dataset.csv`` (means and standard
deviations per dataset and method), ``OUT/summary.csv`` / ``OUT/summary.md`` and prints the
summary: mean over datasets, mean rank, wins / ties / losses (per dataset, on mean G-mean,
tie when ``|difference| < 0.005``) and the Wilcoxon signed-rank p-value over datasets,
against ``none`` and against the best baseline (the one with the highest mean G-mean), and
the seconds per fold, their maximum and their ratio to the best baseline's; then the
per-dataset mean G-mean, balanced accuracy and seconds per fold.

    python benchmarks/bench_keel.py                              # the 5 shipped datasets
    python benchmarks/bench_keel.py --data-dir DIR --out OUT     # plus every DIR/*.dat
    python benchmarks/bench_keel.py --datasets pima,ecoli1 --first-folds 1 --epochs 5
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

# One thread per process: set before torch / numpy start their pools in the workers.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import torch  # noqa: E402
from _common import add_run_options, recipe_list, write_atomically  # noqa: E402

from underdog.cli.argtypes import int_at_least, positive_int  # noqa: E402
from underdog.data import DATASETS, read_keel, table_from_frame  # noqa: E402
from underdog.pipeline import RECIPES, CompareConfig, prepare_fold, run_fold  # noqa: E402
from underdog.pipeline.baselines import BASELINES  # noqa: E402
from underdog.pipeline.recipes import ALIASES  # noqa: E402
from underdog.training import forests  # noqa: E402

#: Metrics reported, in table order (all higher-is-better).
METRICS = ("g_mean", "balanced_accuracy", "minority_f1", "roc_auc", "average_precision")
SHORT = {
    "g_mean": "G-mean",
    "balanced_accuracy": "bal. acc.",
    "minority_f1": "min. F1",
    "roc_auc": "ROC-AUC",
    "average_precision": "AP",
}
#: Per dataset, two methods tie on mean G-mean when they differ by less than this.
TIE = 0.005
REFERENCE = "none"


# ----------------------------------------------------------------------------- baselines


def imblearn_available() -> bool:
    """Whether imbalanced-learn is installed (its baselines and ``balanced-bag-forest``)."""
    return forests.imblearn_available()


# ----------------------------------------------------------------------------- datasets


def shipped_datasets() -> dict[str, Path]:
    """The KEEL tables shipped with underdog: name -> path."""
    root = resources.files("underdog.data").joinpath("keel")
    return {
        name: Path(str(root.joinpath(f"{name}.dat"))) for name in DATASETS if name != "digits-lt"
    }


_TABLES: dict[str, Any] = {}


def load_keel(path: str | os.PathLike) -> Any:
    """A KEEL ``.dat`` file as a :class:`~underdog.data.Table` (the last column is the
    class), cached per process."""
    key = os.fspath(path)
    if key not in _TABLES:
        frame = read_keel(key)  # parsed once: the class column is the last one
        _TABLES[key] = table_from_frame(frame, target=frame.columns[-1], name=Path(key).stem)
    return _TABLES[key]


# ----------------------------------------------------------------------------- units


def _unit_path(out: Path, dataset: str, method: str, repeat: int, fold: int) -> Path:
    return out / "units" / dataset / method / f"r{repeat}-f{fold}.json"


def _init_worker() -> None:
    torch.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        pass


def run_unit(unit: dict) -> list[dict]:
    """Train and score one group of methods on one fold; write one JSON file per method.

    A group is either the recipes sharing one trained model (``none`` and its post-hoc
    rules) or one baseline.
    """
    config = CompareConfig(**unit["config"])
    table = load_keel(unit["path"])
    repeat, fold_index = unit["repeat"], unit["fold"]
    train, test = table.folds(config.folds, seed=repeat)[fold_index]
    fold = prepare_fold(table, train, test, seed=repeat, fold=fold_index, config=config)
    minority = int(table.counts.argmin())
    recipe = unit["kind"] == "recipe"
    runs = run_fold(
        [RECIPES[m] for m in unit["methods"]] if recipe else [],
        fold,
        num_classes=table.num_classes,
        minority=minority,
        config=config,
        baselines=[] if recipe else [BASELINES[m] for m in unit["methods"]],
    )
    rows = [
        {
            "method": run.recipe,
            "kind": unit["kind"],
            "scalars": run.scalars,
            "best_epoch": run.best_epoch if recipe else None,
            "seconds": run.seconds,
        }
        for run in runs
    ]
    out = Path(unit["out"])
    for row in rows:
        row.update(
            dataset=unit["dataset"],
            repeat=repeat,
            fold=fold_index,
            n_train=len(fold.y_train),
            n_test=len(fold.y_test),
        )
        row["scalars"] = {k: float(v) for k, v in row["scalars"].items()}
        path = _unit_path(out, unit["dataset"], row["method"], repeat, fold_index)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, (json.dumps(row) + "\n").encode())
    return rows


def _check_config(out: Path, settings: dict) -> None:
    """Keep one ``OUT`` directory to one protocol: results of other settings never mix."""
    path = out / "config.json"
    if path.exists():
        saved = json.loads(path.read_text())
        # A setting missing on one side is None there: a setting added to CompareConfig
        # with a None default (eval_batch_size) keeps older results usable.
        keys = set(saved) | set(settings)
        changed = sorted(k for k in keys if saved.get(k) != settings.get(k))
        if changed:
            raise SystemExit(
                f"bench_keel: {out} holds results of other settings ({', '.join(changed)}); "
                "use another --out or delete it"
            )
    else:
        out.mkdir(parents=True, exist_ok=True)
        write_atomically(path, (json.dumps(settings, indent=2) + "\n").encode())


# ----------------------------------------------------------------------------- options


def _folds(text: str) -> int:
    """``--folds``: stratified k-fold needs two folds or more."""
    return int_at_least(text, 2, "an integer of at least 2")


# ----------------------------------------------------------------------------- summary


def wilcoxon_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided Wilcoxon signed-rank p-value of paired ``a - b`` (1.0 when all equal)."""
    from scipy.stats import wilcoxon

    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    d = d[np.isfinite(d)]
    if len(d) == 0 or np.all(d == 0):
        return 1.0
    return float(wilcoxon(d).pvalue)


def wins_ties_losses(a: Sequence[float], b: Sequence[float], *, tie: float = TIE) -> tuple:
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    return int((d >= tie).sum()), int((np.abs(d) < tie).sum()), int((d <= -tie).sum())


def summarise(
    per_dataset: dict[tuple[str, str], dict], methods: list[tuple[str, str]], datasets: list[str]
) -> tuple[list[dict], str | None]:
    """Summary rows (one per method) and the name of the best baseline."""
    from scipy.stats import rankdata

    def matrix(metric: str) -> np.ndarray:
        return np.array(
            [[per_dataset[(d, m)][metric]["mean"] for d in datasets] for m, _ in methods]
        )

    g = matrix("g_mean")
    ranks = {
        metric: np.mean(
            [rankdata(-np.nan_to_num(col, nan=-1.0)) for col in matrix(metric).T], axis=0
        )
        for metric in ("g_mean", "balanced_accuracy")
    }
    names = [m for m, _ in methods]
    baselines = [i for i, (_, kind) in enumerate(methods) if kind == "baseline"]
    best_alt = max(baselines, key=lambda i: np.nanmean(g[i])) if baselines else None
    seconds = [np.concatenate([per_dataset[(d, m)]["seconds"] for d in datasets])
               for m, _ in methods]  # fmt: skip
    ref = names.index(REFERENCE) if REFERENCE in names else None
    rows = []
    for i, (name, kind) in enumerate(methods):
        row: dict[str, Any] = {"method": name, "kind": kind}
        for metric in METRICS:
            row[metric] = float(np.nanmean(matrix(metric)[i]))
        row["rank_g_mean"] = float(ranks["g_mean"][i])
        row["rank_balanced_accuracy"] = float(ranks["balanced_accuracy"][i])
        row["s_fold"] = float(np.mean(seconds[i])) if len(seconds[i]) else float("nan")
        row["s_fold_max"] = float(np.max(seconds[i])) if len(seconds[i]) else float("nan")
        if best_alt is not None and len(seconds[best_alt]):
            row["time_vs_best_alt"] = row["s_fold"] / float(np.mean(seconds[best_alt]))
        for label, j in (("none", ref), ("best_alt", best_alt)):
            if j is None or j == i:
                row[f"wtl_{label}"], row[f"p_{label}"] = None, None
            else:
                row[f"wtl_{label}"] = wins_ties_losses(g[i], g[j])
                row[f"p_{label}"] = wilcoxon_p(g[i], g[j])
        rows.append(row)
    rows.sort(key=lambda r: -r["g_mean"])
    return rows, names[best_alt] if best_alt is not None else None


def _f(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, tuple):
        return "/".join(str(v) for v in value)
    if isinstance(value, float) and not np.isfinite(value):
        return "n/a"
    return f"{value:.{digits}f}"


def format_summary(rows: list[dict], best_alt: str | None, n_datasets: int) -> str:
    head = [
        "method",
        "kind",
        *(SHORT[m] for m in METRICS),
        "rank (G)",
        "rank (BA)",
        "W/T/L vs none",
        "p vs none",
    ]
    if best_alt is not None:
        head += [f"W/T/L vs {best_alt}", f"p vs {best_alt}"]
    head += ["s/fold", "s/fold max"] + ([f"time / {best_alt}"] if best_alt is not None else [])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [
            f"`{r['method']}`",
            r["kind"],
            *(_f(r[m]) for m in METRICS),
            _f(r["rank_g_mean"], 2),
            _f(r["rank_balanced_accuracy"], 2),
            _f(r["wtl_none"]),
            _f(r["p_none"]),
        ]
        if best_alt is not None:
            cells += [_f(r["wtl_best_alt"]), _f(r["p_best_alt"])]
        cells += [_f(r["s_fold"]), _f(r["s_fold_max"], 2)]
        if best_alt is not None:
            cells.append(_f(r.get("time_vs_best_alt"), 2))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        f"Means over {n_datasets} datasets of the per-dataset means over folds x repeats. "
        "Ranks: 1 is best, averaged over datasets. W/T/L: datasets where the method's mean "
        f"G-mean is higher / within {TIE} / lower. p: two-sided Wilcoxon signed-rank test "
        "of the per-dataset mean G-means. s/fold: mean (and largest) wall seconds to train "
        "and predict one fold (one process, one thread), over every unit; time: its ratio to "
        "the best baseline's."
    )
    return "\n".join(lines)


def format_per_dataset(
    per_dataset: dict, methods: list[tuple[str, str]], datasets: list[str], metric: str = "g_mean"
) -> str:
    """One row per method, one column per dataset: the mean ``metric`` (best in bold), or
    the mean seconds per fold for ``metric="seconds"``."""
    head = ["method", *datasets]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, _ in methods:
        if metric == "seconds":
            cells = [_f(float(np.mean(per_dataset[(d, name)]["seconds"]))) for d in datasets]
            lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
            continue
        values = [per_dataset[(d, name)][metric]["mean"] for d in datasets]
        best = [max(per_dataset[(d, m)][metric]["mean"] for m, _ in methods) for d in datasets]
        cells = [
            f"**{v:.3f}**" if np.isfinite(v) and v >= b - 1e-12 else _f(v)
            for v, b in zip(values, best, strict=True)
        ]
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _csv(rows: list[dict], columns: list[str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k) for k in columns})
    return buffer.getvalue().encode()


def versions() -> str:
    import sklearn

    parts = [
        f"Python {platform.python_version()}",
        f"torch {torch.__version__}",
        f"scikit-learn {sklearn.__version__}",
        f"numpy {np.__version__}",
    ]
    if imblearn_available():
        import imblearn

        parts.append(f"imbalanced-learn {imblearn.__version__}")
    return ", ".join(parts)


# ----------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> dict[str, Any]:
    d = CompareConfig()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", help="more KEEL .dat files, one per dataset")
    parser.add_argument(
        "--data-dir",
        action="append",
        default=[],
        help="add every .dat file of this directory (repeatable)",
    )
    parser.add_argument("--datasets", help="only these datasets (comma-separated names)")
    parser.add_argument(
        "--recipes",
        type=recipe_list,
        default="all",
        help="comma-separated recipe names, or 'all' (default)",
    )
    parser.add_argument(
        "--baselines",
        "--alternatives",
        dest="baselines",
        default=",".join(BASELINES),
        help="comma-separated baselines, '' for none (default: all)",
    )
    parser.add_argument("--folds", type=_folds, default=5, help="stratified folds (5)")
    parser.add_argument("--repeats", type=positive_int, default=3, help="repeats, seeds 0.. (3)")
    parser.add_argument(
        "--first-folds",
        type=positive_int,
        help="run only the first N folds of each repeat (smoke runs)",
    )
    add_run_options(parser, d, out="bench-results/keel")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    started = time.perf_counter()

    # Datasets: the shipped ones, then --data-dir and FILES (a later one of the same name wins).
    paths = dict(shipped_datasets())
    for directory in args.data_dir:
        paths.update({p.stem: p for p in sorted(Path(directory).glob("*.dat"))})
    paths.update({Path(f).stem: Path(f) for f in args.files})
    if args.datasets:
        wanted = [n.strip() for n in args.datasets.split(",") if n.strip()]
        unknown = [n for n in wanted if n not in paths]
        if unknown:
            raise SystemExit(
                f"bench_keel: unknown dataset(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(paths))}"
            )
        paths = {n: paths[n] for n in wanted}
    tables = {name: load_keel(path) for name, path in paths.items()}
    datasets = sorted(tables, key=lambda n: -len(tables[n].labels))  # large first: balance
    binary = all(t.num_classes == 2 for t in tables.values())

    # Methods: recipe names (parsed as `underdog compare --recipes` parses them) looked up in
    # the registry, then the baselines.
    notes = []
    # As `underdog compare --recipes` parses them; an alias names its recipe (once).
    names = list(dict.fromkeys(ALIASES.get(n, n) for n in args.recipes))
    if REFERENCE not in names:
        names.insert(0, REFERENCE)
    recipes = []
    for name in names:
        if name not in RECIPES:
            notes.append(f"skipping recipe {name!r}: not registered in underdog.pipeline.RECIPES")
        elif RECIPES[name].binary_only and not binary:
            notes.append(f"skipping recipe {name!r}: binary only, and not every dataset is")
        elif RECIPES[name].needs_imblearn and not imblearn_available():
            notes.append(
                f"skipping recipe {name!r}: imbalanced-learn is not installed "
                "(pip install 'underdog[bench]')"
            )
        else:
            recipes.append(name)
    baselines = []
    for name in [n.strip() for n in args.baselines.split(",") if n.strip()]:
        if name not in BASELINES:
            raise SystemExit(
                f"bench_keel: unknown baseline {name!r}; choose from {', '.join(BASELINES)}"
            )
        if BASELINES[name].needs_imblearn and not imblearn_available():
            notes.append(
                f"skipping {name!r}: imbalanced-learn is not installed "
                "(pip install 'underdog[bench]')"
            )
        else:
            baselines.append(name)
    methods = [(n, "recipe") for n in recipes] + [(n, "baseline") for n in baselines]
    for note in notes:
        print(f"note: {note}")

    hidden = args.hidden  # a tuple of sizes: checked while parsing, as the CLI does
    sizes = ",".join(map(str, hidden))  # as given: 128,64
    config = CompareConfig(
        folds=args.folds,
        epochs=args.epochs,
        patience=args.patience,
        batch_size=args.batch_size,
        hidden=hidden,
    )
    config_dict = {k: v for k, v in asdict(config).items() if k not in ("seeds", "device")}
    out = Path(args.out)
    _check_config(out, {**config_dict, "hidden": list(hidden)})

    # Units: one per (dataset, repeat, fold, trained model or baseline); skip done ones.
    groups: dict[str, list[str]] = {}
    for name in recipes:
        groups.setdefault(RECIPES[name].training_key, []).append(name)
    folds = range(min(args.folds, args.first_folds or args.folds))
    units, skipped = [], 0
    for dataset in datasets:
        for repeat in range(args.repeats):
            for fold in folds:
                todo = [("recipe", g) for g in groups.values()]
                todo += [("baseline", [b]) for b in baselines]
                for kind, members in todo:
                    if all(_unit_path(out, dataset, m, repeat, fold).exists() for m in members):
                        skipped += 1
                        continue
                    units.append(
                        {
                            "dataset": dataset,
                            "path": os.fspath(paths[dataset]),
                            "repeat": repeat,
                            "fold": fold,
                            "kind": kind,
                            "methods": members,
                            "config": config_dict,
                            "out": os.fspath(out),
                        }
                    )
    if not args.quiet:
        print(
            f"{len(datasets)} datasets x {args.repeats} repeats x {len(folds)} folds, "
            f"{len(methods)} methods: {len(units)} units to run, {skipped} done before, "
            f"{args.jobs} jobs",
            file=sys.stderr,
            flush=True,
        )

    done, last = 0, time.perf_counter()

    def tick() -> None:
        nonlocal done, last
        done += 1
        now = time.perf_counter()
        if not args.quiet and (now - last > 30 or done == len(units)):
            last = now
            elapsed = now - started
            eta = elapsed / done * (len(units) - done)
            print(
                f"  {done}/{len(units)} units, {elapsed:.0f} s, about {eta:.0f} s left",
                file=sys.stderr,
                flush=True,
            )

    if args.jobs <= 1:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):
            for unit in units:
                run_unit(unit)
                tick()
    elif units:
        with ProcessPoolExecutor(max_workers=args.jobs, initializer=_init_worker) as pool:
            for future in as_completed([pool.submit(run_unit, u) for u in units]):
                future.result()
                tick()
    run_seconds = time.perf_counter() - started

    # Collect every unit of the selected datasets and methods (this run's and earlier ones).
    records = []
    for dataset in datasets:
        for name, _ in methods:
            for repeat in range(args.repeats):
                for fold in folds:
                    path = _unit_path(out, dataset, name, repeat, fold)
                    if path.exists():
                        records.append(json.loads(path.read_text()))
    per_dataset: dict[tuple[str, str], dict] = {}
    per_rows = []
    for dataset in datasets:
        for name, kind in methods:
            mine = [r for r in records if r["dataset"] == dataset and r["method"] == name]
            entry: dict[str, Any] = {}
            row: dict[str, Any] = {
                "dataset": dataset,
                "method": name,
                "kind": kind,
                "units": len(mine),
                "seconds": sum(r["seconds"] for r in mine),
            }
            for metric in METRICS:
                v = np.array([r["scalars"].get(metric, np.nan) for r in mine], dtype=float)
                ok = np.isfinite(v)
                mean = float(v[ok].mean()) if ok.any() else float("nan")
                std = float(v[ok].std(ddof=1)) if ok.sum() > 1 else 0.0
                entry[metric] = {"mean": mean, "std": std}
                row[f"{metric}_mean"], row[f"{metric}_std"] = mean, std
            entry["seconds"] = np.array([r["seconds"] for r in mine], dtype=float)
            per_dataset[(dataset, name)] = entry
            per_rows.append(row)
    expected = args.repeats * len(folds)
    incomplete = sorted(
        {f"{r['dataset']}/{r['method']}" for r in per_rows if r["units"] < expected}
    )
    rows, best_alt = summarise(per_dataset, methods, datasets)

    run_columns = [
        "dataset",
        "method",
        "kind",
        "repeat",
        "fold",
        *METRICS,
        "best_epoch",
        "seconds",
        "n_train",
        "n_test",
    ]
    flat = [{**r, **r["scalars"]} for r in records]
    per_columns = ["dataset", "method", "kind", "units", "seconds"]
    per_columns += [f"{m}_{s}" for m in METRICS for s in ("mean", "std")]
    summary_csv = [
        {**r, "wtl_none": _f(r["wtl_none"]), "wtl_best_alt": _f(r["wtl_best_alt"])} for r in rows
    ]
    summary_columns = [
        "method",
        "kind",
        *METRICS,
        "rank_g_mean",
        "rank_balanced_accuracy",
        "wtl_none",
        "p_none",
        "wtl_best_alt",
        "p_best_alt",
        "s_fold",
        "s_fold_max",
        "time_vs_best_alt",
    ]
    table = format_summary(rows, best_alt, len(datasets))
    per_tables = {
        title: format_per_dataset(per_dataset, methods, datasets, metric)
        for title, metric in (
            ("mean G-mean (best in bold)", "g_mean"),
            ("mean balanced accuracy (best in bold)", "balanced_accuracy"),
            ("mean seconds per fold (training and predicting, one thread)", "seconds"),
        )
    }
    header = (
        f"{len(datasets)} datasets ({', '.join(datasets)}), {args.repeats} x {len(folds)}-fold "
        f"of {args.folds}, epochs {args.epochs}, patience {args.patience}, batch "
        f"{args.batch_size}, hidden {sizes}; {versions()}; {os.cpu_count()} CPUs, "
        f"{args.jobs} jobs; wall {run_seconds:.0f} s for {len(units)} units "
        f"({skipped} done before)"
    )
    markdown = f"{header}\n\n{table}\n"
    for title, text in per_tables.items():
        markdown += f"\nPer-dataset {title}:\n\n{text}\n"
    if incomplete:
        markdown += f"\nPARTIAL: missing units for {', '.join(incomplete)}\n"
    write_atomically(out / "runs.csv", _csv(flat, run_columns))
    write_atomically(out / "per_dataset.csv", _csv(per_rows, per_columns))
    write_atomically(out / "summary.csv", _csv(summary_csv, summary_columns))
    write_atomically(out / "summary.md", markdown.encode())
    print(markdown)
    return {
        "summary": rows,
        "best_baseline": best_alt,
        "per_dataset": per_dataset,
        "datasets": datasets,
        "methods": methods,
        "units": len(units),
        "skipped": skipped,
        "seconds": run_seconds,
        "notes": notes,
    }


if __name__ == "__main__":
    main()
