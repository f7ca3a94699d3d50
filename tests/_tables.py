"""Shared helpers of the CLI-side tests: small tables on disk and training settings that run
in moments. (A plain module, imported as ``from _tables import ...``.)"""

from __future__ import annotations

import numpy as np
import pandas as pd

from underdog.pipeline import CompareConfig

#: Tiny training settings: every test that trains uses these.
TINY = CompareConfig(folds=2, epochs=4, patience=2, hidden=(8,), batch_size=32)
#: The same settings as command-line options.
TINY_ARGS = [
    *("--folds", str(TINY.folds), "--epochs", str(TINY.epochs), "--patience", str(TINY.patience)),
    *("--hidden", ",".join(map(str, TINY.hidden)), "--batch-size", str(TINY.batch_size), "-q"),
]


def make_frame(n: int = 120, *, classes=("a", "b", "c"), weights=(0.6, 0.3, 0.1), seed: int = 0):
    """A table with a numeric, a categorical and a partly missing column, and a separable-ish
    label that depends on them."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(len(classes), size=n, p=weights)
    labels[: len(classes) * 3] = np.repeat(np.arange(len(classes)), 3)  # every class >= 3
    x1 = labels + rng.normal(scale=0.5, size=n)
    x2 = rng.normal(size=n)
    x2[rng.random(n) < 0.1] = np.nan
    color = np.array(["red", "green", "blue"])[(labels + rng.integers(0, 2, n)) % 3]
    return pd.DataFrame(
        {"x1": x1, "x2": x2, "color": color, "label": np.asarray(classes, dtype=object)[labels]}
    )


def multiclass_csv(tmp_path, name: str = "multi.csv"):
    path = tmp_path / name
    make_frame().to_csv(path, index=False)
    return path


def binary_csv(tmp_path, name: str = "binary.csv"):
    path = tmp_path / name
    make_frame(classes=("no", "yes"), weights=(0.85, 0.15)).to_csv(path, index=False)
    return path


def toy_table(n: int = 90):
    """A three-class :class:`~underdog.data.Table` of ``make_frame(n)`` (classes a, b, c)."""
    import numpy as np

    from underdog.data import Table

    frame = make_frame(n)
    labels = np.searchsorted(["a", "b", "c"], frame.pop("label").to_numpy())
    return Table(features=frame, labels=labels, classes=("a", "b", "c"), target="label",
                 name="toy")  # fmt: skip
