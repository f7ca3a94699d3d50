"""The report's figures, drawn with matplotlib and returned as base64 PNG.

matplotlib is imported when a figure is drawn; the PNGs are embedded in ``report.html``.

- :func:`plot_distribution`: training and test rows per class;
- :func:`plot_recall`: per-class recall by recipe (a heatmap);
- :func:`plot_pr_curves`: precision-recall curves of the minority class (binary);
- :func:`plot_confusion`: a row-normalised confusion matrix.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np

from ..exceptions import MissingDependencyError
from .results import Comparison

__all__ = [
    "MAX_CLASSES_SHOWN",
    "plot_confusion",
    "plot_distribution",
    "plot_pr_curves",
    "plot_recall",
    "shown_classes",
]

#: The most classes a per-class figure shows; with more, it shows the rarest ones (those
#: with the fewest training rows), so that a figure's size, and memory, stay bounded.
MAX_CLASSES_SHOWN = 40


def shown_classes(comparison: Comparison) -> np.ndarray:
    """The class indices the per-class figures show, in index order.

    All of them, or the :data:`MAX_CLASSES_SHOWN` rarest in training.
    """
    counts = np.asarray(comparison.train_counts)
    if len(counts) <= MAX_CLASSES_SHOWN:
        return np.arange(len(counts))
    return np.sort(np.argsort(counts, kind="stable")[:MAX_CLASSES_SHOWN])


def _text(label: Any, limit: int = 24) -> str:
    """A label for matplotlib: shortened, with '$' escaped so mathtext stays off."""
    s = str(label)
    s = s if len(s) <= limit else s[: limit - 1] + "…"
    return s.replace("$", r"\$")


def _figure(width: float, height: float) -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            "Reports need matplotlib: pip install 'underdog[plots]'"
        ) from exc
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def plot_distribution(comparison: Comparison) -> str:
    """Training and test rows per class: bars, or the sorted counts of many classes."""
    classes = [_text(c) for c in comparison.table.classes]
    if len(classes) > MAX_CLASSES_SHOWN:  # the long tail as curves, in a fixed size
        fig = _figure(7, 3.2)
        ax = fig.add_subplot()
        for counts, label in ((comparison.train_counts, "training rows per fold"),
                              (comparison.test_counts, "test rows per fold")):  # fmt: skip
            ax.plot(np.sort(counts)[::-1], label=label)
        ax.set_xlabel(f"class, by rows ({len(classes)} classes)")
    else:
        x = np.arange(len(classes))
        fig = _figure(max(5, 0.5 * len(classes) + 2), 3.2)
        ax = fig.add_subplot()
        ax.bar(x - 0.2, comparison.train_counts, width=0.4,
               label="training rows per fold (incl. validation)")  # fmt: skip
        ax.bar(x + 0.2, comparison.test_counts, width=0.4, label="test rows per fold")
        ax.set_xticks(x, classes, rotation=45 if len(classes) > 6 else 0, ha="right")
    ax.set_yscale("log")
    ax.set_ylabel("rows (log scale)")
    ax.legend()
    return _png(fig)


def plot_recall(comparison: Comparison, order: list[str]) -> str:
    """Per-class recall by recipe (at most :data:`MAX_CLASSES_SHOWN` classes)."""
    shown = shown_classes(comparison)
    classes = [_text(comparison.table.classes[c]) for c in shown]
    recall = np.array([comparison.per_class(name, "recall")[shown] for name in order])
    fig = _figure(max(5, 0.55 * len(classes) + 3), 0.4 * len(order) + 1.5)
    ax = fig.add_subplot()
    image = ax.imshow(recall, vmin=0, vmax=1, cmap="viridis", aspect="auto")
    ax.set_xticks(np.arange(len(classes)), classes, rotation=45 if len(classes) > 6 else 0)
    ax.set_yticks(np.arange(len(order)), order)
    ax.set_xlabel("class")
    if len(classes) <= 20:
        for (i, j), value in np.ndenumerate(recall):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8,
                    color="white" if value < 0.6 else "black")  # fmt: skip
    fig.colorbar(image, ax=ax, label="recall")
    return _png(fig)


def plot_pr_curves(comparison: Comparison, order: list[str]) -> str:
    """Precision-recall curves of the minority class, with each recipe's decisions."""
    from sklearn.metrics import precision_recall_curve

    m = comparison.minority
    fig = _figure(6, 4.5)
    ax = fig.add_subplot()
    for name in order:
        y_true, proba, y_pred = comparison.pooled(name)
        positive = y_true == m
        precision, recall, _ = precision_recall_curve(positive, proba[:, m])
        (line,) = ax.plot(recall, precision, label=name, linewidth=1.2)
        found = y_pred == m
        op_p = (positive & found).sum() / max(found.sum(), 1)
        op_r = (positive & found).sum() / max(positive.sum(), 1)
        ax.plot([op_r], [op_p], "o", color=line.get_color())
    ax.set_xlabel(f"recall of {_text(comparison.table.classes[m])}")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8)
    return _png(fig)


def plot_confusion(comparison: Comparison, name: str) -> str:
    """The row-normalised confusion matrix of a recipe.

    With more than :data:`MAX_CLASSES_SHOWN` classes, the rows and columns of the rarest
    ones (:func:`shown_classes`); a row is normalised over all predictions of its class.
    """
    from sklearn.metrics import confusion_matrix

    shown = shown_classes(comparison)
    classes = [_text(comparison.table.classes[c]) for c in shown]
    y_true, _, y_pred = comparison.pooled(name)
    labels = np.arange(comparison.table.num_classes)
    matrix = confusion_matrix(y_true, y_pred, labels=labels, normalize="true")[np.ix_(shown, shown)]
    size = max(3.5, 0.3 * len(classes) + 2.5)
    fig = _figure(size + 1, size)
    ax = fig.add_subplot()
    ax.imshow(matrix, vmin=0, vmax=1, cmap="Blues")
    ticks = np.arange(len(classes))
    ax.set_xticks(ticks, classes, rotation=45 if len(classes) > 6 else 0)
    ax.set_yticks(ticks, classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{name} (rows sum to 1)")
    if len(classes) <= 20:
        for (i, j), value in np.ndenumerate(matrix):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if value > 0.5 else "black")  # fmt: skip
    return _png(fig)
