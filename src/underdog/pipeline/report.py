"""Render a :class:`~underdog.pipeline.results.Comparison` as files: CSV, JSON and HTML.

:func:`report_files` returns ``{"results.csv", "summary.json", "report.html"}`` as bytes and
:func:`write_report` writes them atomically into a directory.

- ``results.csv``: one row per recipe x seed x fold x metric (and class, for the per-class
  precision / recall / F1), columns ``recipe,seed,fold,metric,class,value,kind``; ``kind``
  is ``recipe`` or ``baseline`` (a scikit-learn model fit beside the recipes).
- ``summary.json``: the dataset, the settings, and per recipe and baseline (``kind``) the
  mean and standard deviation of every metric, the difference to ``none`` and the
  paired-test p-value.
- ``report.html``: self-contained (inline CSS, plots as base64 PNG, no scripts): the result
  table, per-class recall by recipe, precision-recall curves (binary), the confusion
  matrices of the best recipe and of ``none``, and the class distribution.

Every string that comes from the user's data (file, column and class names) is HTML-escaped,
and the markup is well-formed XML, so a label such as ``<script>`` shows as text.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import os
import platform
from typing import Any

import numpy as np

from .._io import write_files_atomically
from ..exceptions import UnderdogError
from .plots import (
    MAX_CLASSES_SHOWN,
    plot_confusion,
    plot_distribution,
    plot_pr_curves,
    plot_recall,
)
from .results import Comparison

__all__ = ["format_table", "report_files", "write_report"]

NAMES = {
    "balanced_accuracy": "balanced accuracy",
    "macro_f1": "macro-F1",
    "g_mean": "G-mean",
    "mcc": "MCC",
    "roc_auc": "ROC-AUC",
    "average_precision": "average precision",
    "minority_f1": "minority F1",
}


def _clean(value: Any) -> Any:
    """JSON-safe: NaN -> None, numpy scalars -> Python."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


#: What marks a baseline's row in the tables.
BASELINE_MARK = " (baseline)"
BASELINE_NOTE = (
    "(baseline): a scikit-learn / imbalanced-learn model fit on the same folds and "
    "preprocessed rows, with the settings `underdog recipes` lists; underdog does not train it."
)


def _label(comparison: Comparison, name: str) -> str:
    """A method's name as the tables show it: baselines marked."""
    return name + BASELINE_MARK if comparison.kind(name) == "baseline" else name


def results_csv(comparison: Comparison) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["recipe", "seed", "fold", "metric", "class", "value", "kind"])
    classes = comparison.table.classes
    for run in comparison.runs:
        where, kind = (run.recipe, run.seed, run.fold), comparison.kind(run.recipe)
        for metric, value in run.scalars.items():
            writer.writerow([*where, metric, "", repr(float(value)), kind])
        for metric, values in run.per_class.items():
            for label, value in zip(classes, values, strict=True):
                writer.writerow([*where, metric, label, repr(float(value)), kind])
    return buffer.getvalue().encode()


def summary_dict(comparison: Comparison) -> dict:
    import torch

    table, config = comparison.table, comparison.config
    return _clean(
        {
            "dataset": {
                "name": table.name,
                "target": table.target,
                "rows": len(table.labels),
                "features": table.num_features,
                "classes": list(table.classes),
                "counts": table.counts,
                "train_counts_per_fold": comparison.train_counts,
                "test_counts_per_fold": comparison.test_counts,
                "minority": table.classes[comparison.minority],
                "folds": table.description,
            },
            "config": {k: getattr(config, k) for k in config.__dataclass_fields__},
            "metric": config.metric,
            "best": comparison.best,
            "test": "Nadeau-Bengio corrected paired t-test over folds x seeds, vs 'none'",
            "recipes": comparison.summary(),
            "seconds": comparison.seconds,
            "versions": {
                "python": platform.python_version(),
                "torch": torch.__version__,
            },
        }
    )


# ----------------------------------------------------------------------------- HTML

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;
max-width:1280px;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85em}th,td{padding:.25em .45em;text-align:right;
border-bottom:1px solid #eee;white-space:nowrap}th:first-child,td:first-child{text-align:left}
tr.best td{font-weight:bold}.note{color:#555;font-size:.9em}.wide{overflow-x:auto}
img{max-width:100%;height:auto}.row{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}
.row img{max-width:calc(50% - .5em)}.meta{color:#555;font-size:.9em}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}f}"


def _fmt_p(value: Any) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _img(data: str, alt: str) -> str:
    return f'<img src="data:image/png;base64,{data}" alt="{_e(alt)}" />'


def _results_section(comparison: Comparison, rows: list[dict[str, Any]]) -> list[str]:
    """The result table (best first), its caption and the recipes' legend."""
    config, metrics = comparison.config, comparison.metrics
    head = "".join(f"<th>{_e(NAMES[m])}</th>" for m in metrics)
    body = []
    for i, row in enumerate(rows):
        cells = "".join(f"<td>{_fmt(row[m]['mean'])} ± {_fmt(row[m]['std'])}</td>" for m in metrics)
        delta = "" if row["recipe"] == "none" else f"{row['delta']:+.3f}"
        p = _e(_fmt_p(row["p_value"])) if row["p_value"] is not None else ""
        best = ' class="best"' if i == 0 else ""
        name = _e(_label(comparison, row["recipe"]))
        body.append(f"<tr{best}><td>{name}</td>{cells}<td>{delta}</td><td>{p}</td></tr>")
    legend = "".join(
        f"<li><b>{_e(_label(comparison, r['recipe']))}</b>: {_e(r['summary'])}</li>" for r in rows
    )
    note = f"<p class='note'>{_e(BASELINE_NOTE)}</p>" if comparison.baselines else ""
    return [
        "<h2>Results</h2>",
        f"<p>Mean ± standard deviation over {config.folds} folds × {config.seeds} seed(s), "
        f"sorted by {_e(NAMES[config.metric])}. Δ is the mean difference to <i>none</i> in "
        f"{_e(NAMES[config.metric])}; p is the two-sided p-value of the Nadeau–Bengio "
        "corrected paired t-test over the folds × seeds pairs.</p>",
        f"<div class='wide'><table><thead><tr><th>recipe</th>{head}<th>Δ vs none</th>"
        f"<th>p</th></tr></thead><tbody>{''.join(body)}</tbody></table></div>",
        f"<ul class='note'>{legend}</ul>",
        note,
    ]


def _figure_sections(comparison: Comparison, order: list[str]) -> list[str]:
    """Per-class recall, precision-recall curves (binary), confusion matrices, classes.

    With more than :data:`~underdog.pipeline.plots.MAX_CLASSES_SHOWN` classes, the
    per-class figures show the rarest ones, and say so.
    """
    table = comparison.table
    note = ""
    if table.num_classes > MAX_CLASSES_SHOWN:
        note = (
            f"<p class='note'>The per-class figures show the {MAX_CLASSES_SHOWN} classes with "
            f"the fewest training rows, of {table.num_classes}; results.csv has every class.</p>"
        )
    sections = [
        "<h2>Per-class recall by recipe</h2>",
        note,
        _img(plot_recall(comparison, order), "per-class recall by recipe"),
    ]
    if table.num_classes == 2:
        sections += [
            "<h2>Precision-recall curves</h2>",
            f"<p>Minority class {_e(table.classes[comparison.minority])}, test predictions "
            "pooled over folds and seeds; dots mark each recipe's decisions. Post-hoc "
            "recipes move the operating point along the curve of <i>none</i>.</p>",
            _img(plot_pr_curves(comparison, order), "precision-recall curves"),
        ]
    shown = [order[0]] if order[0] == "none" else [order[0], "none"]
    images = [_img(plot_confusion(comparison, n), f"confusion matrix of {n}") for n in shown]
    counts = ", ".join(f"{_e(c)}: {n}" for c, n in zip(table.classes, table.counts, strict=True))
    return sections + [
        "<h2>Confusion matrices</h2>",
        "<p>Best method and <i>none</i>, test predictions pooled over folds.</p>",
        f"<div class='row'>{''.join(images)}</div>",
        "<h2>Class distribution</h2>",
        f"<p>All rows: {counts}.</p>",
        _img(plot_distribution(comparison), "class distribution"),
    ]


def _description(comparison: Comparison) -> str:
    """The paragraph under the title: the data, the folds and the settings."""
    table, config = comparison.table, comparison.config
    ratio = comparison.train_counts.max() / max(comparison.train_counts.min(), 1e-12)
    overall = table.counts.max() / table.counts.min()
    settings = ", ".join(
        f"{k}={_e(getattr(config, k))}"
        for k in config.__dataclass_fields__
        if k != "metric" and getattr(config, k) is not None  # device=None: the default
    )
    return f"""<p class="meta">Target column <b>{_e(table.target)}</b>; {len(table.labels)} rows,
{table.num_features} features, {table.num_classes} classes; imbalance ratio
(largest / smallest class) {ratio:.1f} in the training part of the folds, {overall:.1f}
over all rows.
Folds: {_e(table.description)}. Settings: {settings}. Wall time {comparison.seconds:.1f} s.</p>"""


def render_html(comparison: Comparison) -> str:
    """``report.html``: one self-contained, well-formed page (see the module docstring)."""
    rows = comparison.summary()
    order = [r["recipe"] for r in rows]
    sections = _results_section(comparison, rows) + _figure_sections(comparison, order)
    name = _e(comparison.table.name)
    return f"""<!DOCTYPE html>
<html lang="en" xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta charset="utf-8" />
<meta name="viewport" content="width=device-width, initial-scale=1" />
<title>underdog report: {name}</title>
<style>{CSS}</style>
</head>
<body>
<h1>underdog compare: {name}</h1>
{_description(comparison)}
{chr(10).join(sections)}
</body>
</html>
"""


def format_table(comparison: Comparison) -> str:
    """The result table as plain text, best recipe first."""
    table, config = comparison.table, comparison.config
    short = {"balanced_accuracy": "bal_acc", "average_precision": "avg_prec"}
    metrics = comparison.metrics
    width = max(len("recipe"), *(len(_label(comparison, m.name)) for m in comparison.methods))
    head = f"{'recipe':<{width}}" + "".join(f"  {short.get(m, m):>13}" for m in metrics)
    head += f"  {'Δ ' + short.get(config.metric, config.metric):>12}  {'p':>6}"
    lines = [
        f"{table.name}: {len(table.labels)} rows, {table.num_classes} classes, "
        f"{config.folds} folds x {config.seeds} seed(s), sorted by {config.metric}",
        head,
        "-" * len(head),
    ]
    for row in comparison.summary():
        line = f"{_label(comparison, row['recipe']):<{width}}"
        line += "".join(
            f"  {_fmt(row[m]['mean'])} ± {_fmt(row[m]['std'])}".rjust(15) for m in metrics
        )
        if row["recipe"] == "none":
            line += f"  {'':>12}  {'':>6}"
        else:
            line += f"  {row['delta']:>+12.3f}  {_fmt_p(row['p_value']):>6}"
        lines.append(line)
    if comparison.baselines:
        lines.append(BASELINE_NOTE)
    return "\n".join(lines)


def _summary_json(comparison: Comparison) -> bytes:
    summary = json.dumps(summary_dict(comparison), indent=2, ensure_ascii=False, allow_nan=False)
    return (summary + "\n").encode()


def report_files(comparison: Comparison) -> dict[str, bytes]:
    """The report's files, name -> content."""
    return {
        "results.csv": results_csv(comparison),
        "summary.json": _summary_json(comparison),
        "report.html": render_html(comparison).encode(),
    }


def write_report(comparison: Comparison, directory: str | os.PathLike) -> dict[str, str]:
    """Write the report files atomically into ``directory``; returns name -> path.

    ``results.csv`` and ``summary.json`` are written first: a failure while drawing
    ``report.html`` never loses the results of the comparison.

    Raises:
        UnderdogError: the report's figures ran out of memory (the results are written).
    """
    data = {"results.csv": results_csv(comparison), "summary.json": _summary_json(comparison)}
    write_files_atomically(directory, data)
    try:
        page = render_html(comparison).encode()
    except MemoryError as exc:
        raise UnderdogError(
            f"The report's figures ran out of memory; results.csv and summary.json are in "
            f"{os.fspath(directory)}."
        ) from exc
    write_files_atomically(directory, {"report.html": page})
    return {name: os.path.join(os.fspath(directory), name) for name in (*data, "report.html")}
