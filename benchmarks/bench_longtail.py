"""Long-tail recipes on digits-lt at several imbalance ratios, beside the published ordering.

Protocol (``docs/benchmarks.md``): the built-in ``digits-lt`` (scikit-learn's 8x8 digits made
long-tailed as CIFAR-10-LT: class ``c`` keeps ``n_max * IR^(-c/9)`` training images, the test
set is balanced) at imbalance ratios 10, 50 and 100; for each of five seeds ``s``, fold 0 of
the seed-``s`` 5-fold protocol of ``underdog compare`` (a long-tailed training part and a
balanced, disjoint test part), every recipe trained and scored by
:func:`underdog.pipeline.run_fold` with the CLI's training defaults. Metrics: balanced test
accuracy, macro-F1, and the accuracy on the test images of the rarest third of the classes
(the 3 classes with the fewest training images).

Then a table puts the IR-100 balanced accuracies beside the published CIFAR-10-LT
(IR 100, ResNet-32) top-1 accuracies, CE 70.4, focal 70.4, CB-focal 74.6, LDAM-DRW 77.0,
logit-adjusted 77.7 (Cao et al. 2019; Menon et al. 2021), and counts how many of the
published pairwise orderings hold here.

    python benchmarks/bench_longtail.py                       # 3 ratios x 5 seeds x 9 recipes
    python benchmarks/bench_longtail.py --ratios 50 --seeds 1 --epochs 5
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import platform
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np

# One thread per process: set before torch / numpy start their pools in the workers.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import torch  # noqa: E402
from _common import add_run_options, recipe_list, write_atomically  # noqa: E402

from underdog.cli.argtypes import imbalance_ratio, positive_int  # noqa: E402
from underdog.data import load_dataset  # noqa: E402
from underdog.pipeline import RECIPES, CompareConfig, prepare_fold, run_fold  # noqa: E402
from underdog.pipeline.recipes import ALIASES  # noqa: E402
from underdog.training import forests  # noqa: E402

#: The recipes of this benchmark, looked up in the registry (missing ones are skipped).
#: ``focal`` is there so that every method of the published ordering is measured.
DEFAULT_RECIPES = (
    "none",
    "balanced",
    "focal",
    "class-balanced-focal",
    "ldam-drw",
    "logit-adjusted",
    "prior-correction",
    "balanced-bag",
    "balanced-bag-forest",
)
METRICS = ("balanced_accuracy", "macro_f1", "rare_accuracy")
TITLES = {
    "balanced_accuracy": "Balanced test accuracy",
    "macro_f1": "Macro-F1",
    "rare_accuracy": "Accuracy on the rarest third of the classes",
}
#: CIFAR-10-LT, imbalance ratio 100, ResNet-32, top-1 accuracy on the balanced test set:
#: Cao et al. 2019 (LDAM, Table 2: CE, focal, CB-focal, LDAM-DRW) and Menon et al. 2021
#: (logit adjustment, Table 2: the logit-adjusted loss). recipe -> (paper's name, accuracy).
PUBLISHED = {
    "none": ("CE (ERM)", 70.4),
    "focal": ("Focal", 70.4),
    "class-balanced-focal": ("CB focal", 74.6),
    "ldam-drw": ("LDAM-DRW", 77.0),
    "logit-adjusted": ("Logit-adjusted loss", 77.7),
}
PUBLISHED_RATIO = 100.0
#: A published ordering "holds" when the measured difference has its sign and is at least
#: this many points; differences smaller than this count as ties (5 seeds: noise).
ORDER_TIE = 0.5


def _ratios(text: str) -> list[float]:
    """``--ratios``: comma-separated imbalance ratios, each as ``--imbalance-ratio`` takes it."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts:
        raise argparse.ArgumentTypeError(f"expected ratios like 10,50,100; got {text!r}")
    return [imbalance_ratio(part) for part in parts]


_TABLES: dict[float, Any] = {}


def _table(ratio: float) -> Any:
    if ratio not in _TABLES:
        _TABLES[ratio] = load_dataset("digits-lt", imbalance_ratio=ratio)
    return _TABLES[ratio]


def _init_worker() -> None:
    torch.set_num_threads(1)
    _quiet()


def _quiet() -> None:
    # At IR 100 the tail class can have a single training image, so the validation split
    # lacks it and scikit-learn warns while scoring early stopping; the score is still
    # the balanced accuracy over the classes the split has.
    warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")


def run_unit(unit: dict) -> list[dict]:
    """One (ratio, seed) fold and the recipes sharing one trained model: one row each."""
    config = CompareConfig(**unit["config"])
    table = _table(unit["ratio"])
    seed = unit["seed"]
    train, test = table.folds(config.folds, seed=seed)[0]
    fold = prepare_fold(table, train, test, seed=seed, fold=0, config=config)
    counts = np.bincount(fold.y_train, minlength=table.num_classes)
    third = max(1, round(table.num_classes / 3))
    rare = np.argsort(counts, kind="stable")[:third]
    runs = run_fold(
        [RECIPES[m] for m in unit["methods"]],
        fold,
        num_classes=table.num_classes,
        minority=int(np.argmin(counts)),
        config=config,
    )
    rows = []
    for run in runs:
        mask = np.isin(run.y_true, rare)
        rows.append(
            {
                "ratio": unit["ratio"],
                "seed": seed,
                "recipe": run.recipe,
                "balanced_accuracy": run.scalars["balanced_accuracy"],
                "macro_f1": run.scalars["macro_f1"],
                "rare_accuracy": float(np.mean(run.y_pred[mask] == run.y_true[mask])),
                "best_epoch": run.best_epoch,
                "seconds": run.seconds,
                "train_counts": " ".join(str(int(c)) for c in counts),
            }
        )
    return rows


def _mean_sd(values: list[float]) -> str:
    v = 100 * np.asarray(values, dtype=float)
    return f"{v.mean():.1f} ± {v.std(ddof=1):.1f}" if len(v) > 1 else f"{v.mean():.1f}"


def format_tables(rows: list[dict], recipes: list[str], ratios: list[float]) -> str:
    parts = []
    for metric in METRICS:
        head = ["recipe", *(f"IR {r:g}" for r in ratios)]
        lines = [f"{TITLES[metric]} (%, mean ± sd over seeds):", ""]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for recipe in recipes:
            cells = []
            for ratio in ratios:
                values = [r[metric] for r in rows if r["recipe"] == recipe and r["ratio"] == ratio]
                cells.append(_mean_sd(values) if values else "—")
            lines.append(f"| `{recipe}` | " + " | ".join(cells) + " |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def gains(rows: list[dict], recipes: list[str], ratio: float) -> dict[str, float]:
    """Mean balanced-accuracy gain over ``none`` (points), per recipe, at ``ratio``."""

    def mean(recipe: str) -> float:
        v = [r["balanced_accuracy"] for r in rows if r["recipe"] == recipe and r["ratio"] == ratio]
        return 100 * float(np.mean(v)) if v else float("nan")

    return {recipe: mean(recipe) - mean("none") for recipe in recipes}


def published_comparison(rows: list[dict], recipes: list[str]) -> tuple[str, dict]:
    """The published CIFAR-10-LT ordering beside the measured IR-100 balanced accuracy."""
    from scipy.stats import kendalltau

    measured = {}
    for recipe in PUBLISHED:
        v = [
            r["balanced_accuracy"]
            for r in rows
            if r["recipe"] == recipe and r["ratio"] == PUBLISHED_RATIO
        ]
        measured[recipe] = 100 * float(np.mean(v)) if v else None
    present = [r for r in PUBLISHED if measured[r] is not None]
    head = ["recipe", "paper's name", "CIFAR-10-LT IR 100 (published)",
            "digits-lt IR 100 (measured)"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for recipe, (paper, value) in PUBLISHED.items():
        ours = f"{measured[recipe]:.2f}" if measured[recipe] is not None else "not run"
        lines.append(f"| `{recipe}` | {paper} | {value:.1f} | {ours} |")
    pairs = concordant = tied = 0
    details = []
    for i, a in enumerate(present):
        for b in present[i + 1 :]:
            pa, pb = PUBLISHED[a][1], PUBLISHED[b][1]
            if pa == pb:
                continue
            pairs += 1
            lo, hi = (a, b) if pa < pb else (b, a)
            diff = measured[hi] - measured[lo]
            if abs(diff) < ORDER_TIE:
                tied += 1
                verdict = "tie"
            elif diff > 0:
                concordant += 1
                verdict = "holds"
            else:
                verdict = "reversed"
            published = PUBLISHED[hi][1] - PUBLISHED[lo][1]
            shown = round(diff, 1) + 0.0  # no "-0.0"
            details.append(
                f"`{hi}` > `{lo}` ({published:+.1f} published, {shown:+.1f} measured): {verdict}"
            )
    tau = (
        float(kendalltau([PUBLISHED[r][1] for r in present], [measured[r] for r in present])[0])
        if len(present) > 1
        else float("nan")
    )
    text = "\n".join(lines)
    text += (
        f"\n\nPublished pairwise orderings (pairs tied in the papers excluded) on digits-lt: "
        f"{concordant} of {pairs} hold, {tied} tie (|difference| < {ORDER_TIE} points), "
        f"{pairs - concordant - tied} reversed; Kendall tau-b {tau:.2f}.\n"
    )
    text += "".join(f"\n- {d}" for d in details)
    result = {"pairs": pairs, "concordant": concordant, "tied": tied, "tau": tau,
              "measured": measured}  # fmt: skip
    return text, result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    d = CompareConfig()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--ratios", type=_ratios, default="10,50,100", help="imbalance ratios (10,50,100)"
    )
    parser.add_argument("--seeds", type=positive_int, default=5, help="seeds 0.. (5)")
    parser.add_argument(
        "--recipes",
        type=recipe_list,
        default=",".join(DEFAULT_RECIPES),
        help="comma-separated recipe names ('all': the registry)",
    )
    add_run_options(parser, d, out="bench-results/longtail")
    args = parser.parse_args(argv)
    started = time.perf_counter()

    ratios = args.ratios
    # As `underdog compare --recipes` parses them; an alias names its recipe (once).
    names = list(dict.fromkeys(ALIASES.get(n, n) for n in args.recipes))
    if "none" not in names:
        names.insert(0, "none")
    notes, recipes = [], []
    for name in names:
        if name not in RECIPES:
            notes.append(f"skipping recipe {name!r}: not registered in underdog.pipeline.RECIPES")
        elif RECIPES[name].binary_only:
            notes.append(f"skipping recipe {name!r}: binary only")
        elif RECIPES[name].needs_imblearn and not forests.imblearn_available():
            notes.append(f"skipping recipe {name!r}: imbalanced-learn is not installed")
        else:
            recipes.append(name)
    for note in notes:
        print(f"note: {note}")

    hidden = args.hidden  # a tuple of sizes: checked while parsing, as the CLI does
    sizes = ",".join(map(str, hidden))  # as given: 128,64
    config = {"epochs": args.epochs, "patience": args.patience,
              "batch_size": args.batch_size, "hidden": hidden}  # fmt: skip
    groups: dict[str, list[str]] = {}
    for name in recipes:
        groups.setdefault(RECIPES[name].training_key, []).append(name)
    units = [
        {"ratio": ratio, "seed": seed, "methods": members, "config": config}
        for ratio in ratios
        for seed in range(args.seeds)
        for members in groups.values()
    ]
    rows: list[dict] = []
    if args.jobs <= 1:
        _quiet()
        for unit in units:
            rows += run_unit(unit)
    else:
        with ProcessPoolExecutor(max_workers=args.jobs, initializer=_init_worker) as pool:
            for future in as_completed([pool.submit(run_unit, u) for u in units]):
                rows += future.result()
    seconds = time.perf_counter() - started
    rows.sort(key=lambda r: (r["ratio"], r["seed"], recipes.index(r["recipe"])))

    import sklearn

    header = (
        f"digits-lt, IR {', '.join(f'{r:g}' for r in ratios)}, {args.seeds} seeds (fold 0 of "
        f"each seed's 5-fold protocol), epochs {args.epochs}, patience {args.patience}, batch "
        f"{args.batch_size}, hidden {sizes}; Python {platform.python_version()}, torch "
        f"{torch.__version__}, scikit-learn {sklearn.__version__}; {os.cpu_count()} CPUs, "
        f"{args.jobs} jobs; wall {seconds:.0f} s"
    )
    text = f"{header}\n\n{format_tables(rows, recipes, ratios)}\n"
    result: dict[str, Any] = {"rows": rows, "recipes": recipes, "seconds": seconds,
                              "notes": notes}  # fmt: skip
    for ratio in ratios:
        g = gains(rows, recipes, ratio)
        best = max((r for r in recipes if r != "none"), key=lambda r: g[r], default=None)
        if best is not None:
            text += (
                f"\nIR {ratio:g}: best recipe by balanced accuracy `{best}`, "
                f"{g[best]:+.1f} points over `none`."
            )
            result.setdefault("best", {})[ratio] = (best, g[best])
    if PUBLISHED_RATIO in ratios:
        table, ordering = published_comparison(rows, recipes)
        text += f"\n\nBeside the published CIFAR-10-LT ordering:\n\n{table}\n"
        result["ordering"] = ordering
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    columns = ["ratio", "seed", "recipe", *METRICS, "best_epoch", "seconds", "train_counts"]
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_atomically(out / "runs.csv", buffer.getvalue().encode())
    write_atomically(out / "summary.md", text.encode())
    print(text)
    print(f"wrote {out / 'runs.csv'} and {out / 'summary.md'}", file=sys.stderr)
    return result


if __name__ == "__main__":
    main()
