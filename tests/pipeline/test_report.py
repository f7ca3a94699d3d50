import base64
import csv
import dataclasses
import io
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import matplotlib.image
import numpy as np
import pytest

from _tables import TINY, make_frame
from underdog.data.tables import Table
from underdog.pipeline import compare
from underdog.pipeline.recipes import RECIPES
from underdog.pipeline.report import format_table, report_files, write_report

EVIL = "<script>alert(1)</script>"


def _comparison(classes, weights, *, name="toy.csv", column="x1", rows=90):
    frame = make_frame(rows, classes=classes, weights=weights)
    labels = np.searchsorted(classes, frame.pop("label").to_numpy())
    frame = frame.rename(columns={"x1": column})
    table = Table(features=frame, labels=labels, classes=tuple(classes), target=column,
                  name=name)  # fmt: skip
    recipes = [RECIPES[n] for n in ("none", "balanced", "threshold")]
    return compare(table, recipes, config=TINY)


@pytest.fixture(scope="module")
def multiclass():
    return _comparison(sorted(["a", EVIL, "c$x$"]), (0.6, 0.3, 0.1), name=f"{EVIL}.csv",
                       column=f"<b>{EVIL}")  # fmt: skip


@pytest.fixture(scope="module")
def binary():
    return _comparison(("no", "yes"), (0.8, 0.2))


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.images, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "img":
            self.images.append(dict(attrs)["src"])

    def handle_data(self, data):
        self.text.append(data)


def _check_html(text):
    ET.fromstring(text.split("\n", 1)[1])  # well-formed XML after the doctype
    parser = _Collector()
    parser.feed(text)
    parser.close()
    for src in parser.images:
        prefix = "data:image/png;base64,"
        assert src.startswith(prefix)
        png = base64.b64decode(src[len(prefix) :], validate=True)
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        image = matplotlib.image.imread(io.BytesIO(png), format="png")
        assert image.ndim == 3 and min(image.shape[:2]) > 50
    return parser


def test_html_is_well_formed_and_images_decode(multiclass, binary):
    multi = _check_html(report_files(multiclass)["report.html"].decode())
    two = _check_html(report_files(binary)["report.html"].decode())
    # recall, confusion matrices of the best and none (one if none is best), distribution
    expected = 2 + len({multiclass.best, "none"})
    assert len(multi.images) == expected
    assert len(two.images) == 2 + len({binary.best, "none"}) + 1  # + precision-recall curves
    assert "Precision-recall curves" in "".join(two.text)
    assert "Precision-recall curves" not in "".join(multi.text)
    assert "script" not in multi.tags


def test_user_strings_are_escaped(multiclass):
    text = report_files(multiclass)["report.html"].decode()
    assert EVIL not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<script" not in text and "<b><script" not in text
    parser = _check_html(text)
    joined = "".join(parser.text)
    assert f"<b>{EVIL}" in joined  # shown as text: column name
    assert f"{EVIL}.csv" in joined  # file name
    assert f"{EVIL}: " in joined  # class label


def test_results_csv_has_one_row_per_recipe_fold_seed_metric(binary):
    files = report_files(binary)
    rows = list(csv.DictReader(io.StringIO(files["results.csv"].decode())))
    scalar = [r for r in rows if r["class"] == ""]
    per_class = [r for r in rows if r["class"] != ""]
    runs = 3 * TINY.folds * TINY.seeds
    assert len(scalar) == runs * 7  # 4 label metrics + 3 binary ones
    assert len(per_class) == runs * 3 * 2
    assert {r["metric"] for r in scalar} == set(binary.metrics)
    one = next(r for r in scalar if r["recipe"] == "balanced" and r["metric"] == "mcc")
    run = next(r for r in binary.runs if r.recipe == "balanced" and r.fold == int(one["fold"]))
    assert float(one["value"]) == run.scalars["mcc"]


def test_summary_json(binary):
    summary = json.loads(report_files(binary)["summary.json"])
    assert summary["metric"] == "balanced_accuracy"
    assert [r["recipe"] for r in summary["recipes"]] == [r["recipe"] for r in binary.summary()]
    first = summary["recipes"][0]
    assert first["balanced_accuracy"]["mean"] == pytest.approx(
        binary.values(first["recipe"], "balanced_accuracy").mean()
    )
    assert summary["dataset"]["classes"] == ["no", "yes"]
    assert summary["dataset"]["minority"] == "yes"
    assert summary["config"]["folds"] == TINY.folds


def test_write_report_is_atomic_and_replaces_files(tmp_path, binary):
    out = tmp_path / "report"
    paths = write_report(binary, out)
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "results.csv", "summary.json"]
    assert paths["report.html"].endswith("report.html")
    (out / "keep.txt").write_text("mine")
    write_report(binary, out)
    assert sorted(p.name for p in out.iterdir()) == [
        "keep.txt", "report.html", "results.csv", "summary.json"
    ]  # fmt: skip
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_format_table(binary):
    text = format_table(binary)
    lines = text.splitlines()
    assert lines[1].split()[:3] == ["recipe", "bal_acc", "macro_f1"]
    body = [line.split()[0] for line in lines[3:]]
    assert body == [r["recipe"] for r in binary.summary()]
    assert re.search(r"\d\.\d{3} ± \d\.\d{3}", lines[3])


def test_nan_metrics_become_null(binary):
    broken = dataclasses.replace(binary.runs[0], scalars={**binary.runs[0].scalars,
                                                          "roc_auc": float("nan")})  # fmt: skip
    copy = dataclasses.replace(binary, runs=[broken, *binary.runs[1:]])
    json.loads(report_files(copy)["summary.json"])  # allow_nan=False would raise


def test_the_summary_is_computed_once_per_report(binary, monkeypatch):
    import underdog.pipeline.results

    calls = []
    paired_test = underdog.pipeline.results.paired_test
    monkeypatch.setattr(underdog.pipeline.results, "paired_test",
                        lambda *a, **k: calls.append(a) or paired_test(*a, **k))  # fmt: skip
    fresh = dataclasses.replace(binary)  # a new comparison, nothing computed yet
    files = report_files(fresh)
    text = format_table(fresh)
    assert len(calls) == len(fresh.recipes) - 1  # one test per recipe against none, once
    assert files == report_files(binary) and text == format_table(binary)
    rows = fresh.summary()
    rows[0]["recipe"] = "changed"  # callers get a copy
    assert fresh.summary()[0]["recipe"] == fresh.best != "changed"


def test_the_results_are_written_before_the_figures(tmp_path, binary, monkeypatch):
    """A failure while drawing (here: out of memory) keeps results.csv and summary.json."""
    from underdog import UnderdogError
    from underdog.pipeline import report

    def out_of_memory(comparison):
        raise MemoryError

    monkeypatch.setattr(report, "render_html", out_of_memory)
    with pytest.raises(UnderdogError, match="results.csv and summary.json are in"):
        write_report(binary, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.csv", "summary.json"]
    assert json.loads((tmp_path / "summary.json").read_text())["recipes"]


def _many_classes(count):
    classes = [f"c{i:03d}" for i in range(count)]
    weights = np.linspace(2.0, 1.0, count)
    return _comparison(classes, tuple(weights / weights.sum()), name=f"{count}.csv",
                       rows=count * 8)  # fmt: skip


def test_per_class_figures_show_at_most_the_rarest_classes():
    """Past MAX_CLASSES_SHOWN classes the per-class figures keep the rarest ones: the same
    size for 45 classes as for 60, so a figure's memory does not grow with the classes."""
    from underdog.pipeline.plots import MAX_CLASSES_SHOWN, plot_recall, shown_classes

    sizes = []
    for count in (MAX_CLASSES_SHOWN + 5, MAX_CLASSES_SHOWN + 20):
        comparison = _many_classes(count)
        shown = shown_classes(comparison)
        counts = np.asarray(comparison.train_counts)
        assert len(shown) == MAX_CLASSES_SHOWN and np.all(np.diff(shown) > 0)
        assert counts[shown].max() <= np.delete(counts, shown).min()  # the rarest ones
        png = base64.b64decode(plot_recall(comparison, ["none", "balanced"]))
        sizes.append(matplotlib.image.imread(io.BytesIO(png), format="png").shape)
        _check_html(report_files(comparison)["report.html"].decode())
    assert sizes[0] == sizes[1]
