"""Speed of the training engine, side by side with the tree ensembles a tabular user would
otherwise fit, measured in one run.

For each table size (scikit-learn's ``make_classification(n, n_features=20,
n_informative=8, weights=[0.98], flip_y=0.01, random_state=0)``, label column
``"fraud"`` / ``"ok"``, written to Parquet):

- ``underdog train FILE --target label`` end to end, in a subprocess: wall seconds and peak
  resident memory (the process starts, reads the file, preprocesses, trains and writes the
  model). Its default recipe depends on the size (``underdog.pipeline.default_recipe``):
  ``balanced-bag-forest`` up to ``LARGE_TABLE_ROWS`` rows, the ``logit-adjusted`` MLP above;
- ``fit`` alone (the ``logit-adjusted`` MLP's training on the preprocessed matrix, as
  ``train`` runs it): seconds, epochs and rows per second (training rows x epochs /
  seconds); and ``balanced-bag-forest``'s training on the same matrix: seconds (the evidence
  for the size rule, with the scores below);
- the baselines ``balanced-rf`` (imbalanced-learn's ``BalancedRandomForestClassifier``, 100
  trees, ``n_jobs=1``) and ``hgb-balanced`` (scikit-learn's
  ``HistGradientBoostingClassifier(class_weight="balanced")``) of
  ``underdog.pipeline.BASELINES``, fit on the same preprocessed matrix: seconds;
- the ratio of ``underdog train``'s wall time to the forest's fit time, and every model's
  G-mean and balanced accuracy on a held-out fifth of the rows (the same for all).

Then a stream: ``fit`` on an ``IterableDataset`` that generates ``--stream-rows`` rows of 64
float32 features on the fly (20 million rows: 5.1 GB as one tensor), in a subprocess, for
one epoch: rows per second and peak resident memory, which stays bounded by the batch.

    python benchmarks/bench_train.py                      # 10k, 200k and 1M rows; 20M streamed
    python benchmarks/bench_train.py --sizes 200000 --stream-rows 0

Every process trains with one thread (``--threads``), and the forest with ``n_jobs=1``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# One thread per process: set before torch / numpy start their pools.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from underdog.cli.argtypes import nonnegative_int, positive_int  # noqa: E402

FEATURES = 20


def make_table(rows: int, path: Path) -> None:
    """The issue's table: 20 features, 2% positives, 1% of labels flipped."""
    import pandas as pd
    from sklearn.datasets import make_classification

    x, y = make_classification(n_samples=rows, n_features=FEATURES, n_informative=8,
                               weights=[0.98], flip_y=0.01, random_state=0)  # fmt: skip
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(FEATURES)])
    frame["label"] = np.where(y == 1, "fraud", "ok")
    frame.to_parquet(path)


def run_child(args: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """``(wall seconds, peak RSS in MB, stdout)`` of a child process."""
    started = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out, err = process.communicate()
    _, status, usage = os.wait4(process.pid, 0) if process.returncode is None else (0, 0, None)
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"bench_train: {' '.join(args)} failed:\n{err.decode()}")
    peak = usage.ru_maxrss / 1024 if usage is not None else float("nan")
    return wall, peak, out.decode()


def cli_train(path: Path, out: Path, threads: int) -> tuple[float, float, str]:
    """``underdog train`` end to end: wall seconds, the child's peak RSS (MB), the recipe."""
    options = ["--target", "label", "--out", str(out), "--threads", str(threads)]
    script = (
        "import resource, sys\n"
        "from underdog.cli import main\n"
        f"code = main(['train', {str(path)!r}, *{options!r}])\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
        "sys.exit(code)\n"
    )
    wall, _, stdout = run_child([sys.executable, "-c", script])
    lines = stdout.strip().splitlines()
    recipe = lines[0].split()[1]  # "trained RECIPE on N rows of ..."
    return wall, int(lines[-1]) / 1024, recipe


def score(y_true: np.ndarray, proba: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    from underdog.metrics import evaluate

    scalars, _ = evaluate(y_true, proba, y_pred=y_pred, minority=1)
    return {"g_mean": scalars["g_mean"], "balanced_accuracy": scalars["balanced_accuracy"]}


def in_process(path: Path, threads: int) -> dict[str, Any]:
    """fit, the forest and gradient boosting on one 80/20 split of the table."""
    import torch
    from sklearn.model_selection import StratifiedShuffleSplit

    from underdog.data import load_table
    from underdog.pipeline import (
        BASELINES,
        CompareConfig,
        fit_posthoc,
        get_recipe,
        prepare_fold,
        train_recipe,
    )
    from underdog.training import predict_logits

    torch.set_num_threads(threads)
    table = load_table(path, target="label")
    split = StratifiedShuffleSplit(n_splits=1, test_size=0.2, random_state=0)
    train, test = next(split.split(np.zeros(len(table.labels)), table.labels))
    config = CompareConfig(num_threads=threads)
    fold = prepare_fold(table, train, test, seed=0, fold=0, config=config)
    recipe = get_recipe("logit-adjusted")
    started = time.perf_counter()
    result = train_recipe(recipe, fold, config=config, num_classes=2)
    seconds = time.perf_counter() - started
    proba, y_pred = fit_posthoc(recipe, result.model, fold, config=config).apply(
        predict_logits(result.model, fold.x_test)
    )
    report: dict[str, Any] = {
        "fit": {
            "seconds": seconds,
            "epochs": result.epochs_run,
            "rows_per_second": len(fold.y) * result.epochs_run / seconds,
            **score(fold.y_test, proba, y_pred),
        },  # fmt: skip
    }
    default = get_recipe("balanced-bag-forest")
    started = time.perf_counter()
    model = train_recipe(default, fold, config=config, num_classes=2).model
    seconds = time.perf_counter() - started
    proba, y_pred = fit_posthoc(default, model, fold, config=config).apply(
        predict_logits(model, fold.x_test)
    )
    report["bag_forest"] = {"seconds": seconds, **score(fold.y_test, proba, y_pred)}
    # The library's own baselines: the same estimators `underdog compare --baselines` fits.
    estimators = {"hist_gradient_boosting": BASELINES["hgb-balanced"].build(0, fold.y_train)}
    if BASELINES["balanced-rf"].available:
        estimators["balanced_random_forest"] = BASELINES["balanced-rf"].build(0, fold.y_train)
    else:
        print("note: imbalanced-learn is not installed: no balanced random forest")
    for name, estimator in estimators.items():
        started = time.perf_counter()
        estimator.fit(fold.x_train, fold.y_train)
        seconds = time.perf_counter() - started
        report[name] = {"seconds": seconds, **score(fold.y_test, estimator.predict_proba(
            fold.x_test), estimator.predict(fold.x_test))}  # fmt: skip
    return report


STREAM = r"""
import json, resource, sys, time
import torch
from underdog.losses import CrossEntropyLoss
from underdog.training import fit, mlp

rows, batch, threads = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
direction = torch.linspace(-1, 1, 64)


class Generated(torch.utils.data.IterableDataset):
    # 64 float32 features per row, made in chunks as they are read: never all at once.
    def __iter__(self):
        generator = torch.Generator().manual_seed(0)
        for start in range(0, rows, 65536):
            n = min(65536, rows - start)
            x = torch.randn(n, 64, generator=generator)
            y = (x @ direction > 4.0).long()  # about 2% positives
            yield from zip(x, y)


class Batches(torch.utils.data.IterableDataset):
    # The same rows, batched by the generator itself (a DataLoader would collate rows).
    def __iter__(self):
        generator = torch.Generator().manual_seed(0)
        for start in range(0, rows, batch):
            n = min(batch, rows - start)
            x = torch.randn(n, 64, generator=generator)
            yield x, (x @ direction > 4.0).long()


loader = torch.utils.data.DataLoader(Batches(), batch_size=None)
started = time.perf_counter()
result = fit(mlp(64, 2, seed=0, dropout=0.0), loader, loss=CrossEntropyLoss(), epochs=1,
             batch_size=batch, num_threads=threads, lr=4e-3)
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"rows": rows, "seconds": seconds, "rows_per_second": rows / seconds,
                  "peak_mb": peak, "steps": result.history[-1].steps}))
"""


def stream(rows: int, batch: int, threads: int) -> dict[str, Any]:
    """fit on a generated stream in a subprocess: its rows/s and peak RSS (MB)."""
    _, _, stdout = run_child([sys.executable, "-c", STREAM, str(rows), str(batch), str(threads)])
    result: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    result["as_one_tensor_mb"] = rows * 64 * 4 / 2**20
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; print the tables; return the measurements."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,200000,1000000", help="table rows (10k,200k,1M)")
    parser.add_argument("--stream-rows", type=nonnegative_int, default=20_000_000,
                        help="rows of the generated stream, 0 to skip (20,000,000)")  # fmt: skip
    parser.add_argument("--stream-batch", type=positive_int, default=4096, help="(4096)")
    parser.add_argument("--threads", type=positive_int, default=1, help="torch threads (1)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    results: dict[str, Any] = {"tables": {}}
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        for rows in sizes:
            path = Path(tmp) / f"t{rows}.parquet"
            make_table(rows, path)
            wall, peak, recipe = cli_train(path, Path(tmp) / f"m{rows}", args.threads)
            results["tables"][rows] = {
                "underdog_train": {"seconds": wall, "peak_mb": peak, "recipe": recipe},
                **in_process(path, args.threads),
            }  # fmt: skip
    if args.stream_rows:
        results["stream"] = stream(args.stream_rows, args.stream_batch, args.threads)
    print_tables(results)
    return results


def print_tables(results: dict[str, Any]) -> None:
    print("| rows | `underdog train` trains | `underdog train` (s) | peak RSS (MB) | train / RF | "
          "MLP fit (s) | epochs | MLP fit rows/s | bag + forest fit (s) | balanced RF fit (s) | "
          "HGB fit (s) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for rows, r in results["tables"].items():
        rf = r.get("balanced_random_forest", {}).get("seconds", float("nan"))
        train = r["underdog_train"]
        print(
            f"| {rows:,} | `{train['recipe']}` | {train['seconds']:.1f} | "
            f"{train['peak_mb']:.0f} | {train['seconds'] / rf:.2f} | "
            f"{r['fit']['seconds']:.1f} | {r['fit']['epochs']} | "
            f"{r['fit']['rows_per_second']:,.0f} | {r['bag_forest']['seconds']:.1f} | {rf:.1f} | "
            f"{r['hist_gradient_boosting']['seconds']:.1f} |"
        )
    print()
    print("| rows | model | G-mean | balanced accuracy |")
    print("|---|---|---|---|")
    for rows, r in results["tables"].items():
        labels = {
            "fit": "underdog `logit-adjusted`",
            "bag_forest": "underdog `balanced-bag-forest`",
        }
        for name in ("fit", "bag_forest", "balanced_random_forest", "hist_gradient_boosting"):
            if name in r:
                label = labels.get(name, name.replace("_", " "))
                print(
                    f"| {rows:,} | {label} | {r[name]['g_mean']:.4f} | "
                    f"{r[name]['balanced_accuracy']:.4f} |"
                )
    if "stream" in results:
        s = results["stream"]
        print()
        print(
            f"stream: {s['rows']:,} rows x 64 float32 ({s['as_one_tensor_mb']:,.0f} MB as one "
            f"tensor), one epoch in {s['seconds']:.1f} s ({s['rows_per_second']:,.0f} rows/s, "
            f"{s['steps']} steps), peak RSS {s['peak_mb']:.0f} MB"
        )


if __name__ == "__main__":
    main()
