"""Smoke runs of the quality benchmarks (two datasets, one fold, a few epochs): the scripts
keep working. The full runs are documented in docs/benchmarks.md, not run here."""

from __future__ import annotations

import csv
import importlib.util
import sys
from pathlib import Path

import pytest

from underdog.pipeline.recipes import RECIPES

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
TINY = ["--epochs", "2", "--patience", "2", "--hidden", "8"]


def _load(name: str):
    """Import a benchmark script as a module, registered so that worker processes (forked)
    can unpickle its functions."""
    module_name = f"_underdog_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def keel():
    return _load("bench_keel")


def _keel_args(out: Path, *extra: str) -> list[str]:
    return ["--datasets", "ecoli1,pima", "--repeats", "1", "--first-folds", "1", *TINY,
            "--jobs", "1", "-q", "--out", str(out), *extra]  # fmt: skip


def test_bench_keel_smoke_and_resume(keel, tmp_path, capsys):
    out = tmp_path / "keel"
    result = keel.main(_keel_args(out))
    have_imblearn = keel.imblearn_available()
    baselines = list(keel.BASELINES) if have_imblearn else ["logreg-balanced", "hgb-balanced"]
    recipes = [r for r in RECIPES if have_imblearn or not RECIPES[r].needs_imblearn]
    names = [m for m, _ in result["methods"]]
    assert names == recipes + baselines  # every registered recipe (all fit binary data)
    assert [k for _, k in result["methods"]] == ["recipe"] * len(recipes) + ["baseline"] * len(
        baselines
    )
    printed = capsys.readouterr().out
    assert "| method | kind | G-mean | bal. acc. |" in printed
    assert "s/fold" in printed and "Per-dataset mean seconds per fold" in printed
    assert ("imbalanced-learn is not installed" in printed) is not have_imblearn

    runs = _rows(out / "runs.csv")
    assert len(runs) == 2 * len(names)  # two datasets x one fold
    assert {r["dataset"] for r in runs} == {"ecoli1", "pima"}
    per_dataset = _rows(out / "per_dataset.csv")
    assert len(per_dataset) == 2 * len(names) and all(r["units"] == "1" for r in per_dataset)
    summary = {r["method"]: r for r in _rows(out / "summary.csv")}
    assert set(summary) == set(names)
    for row in summary.values():
        for metric in keel.METRICS:
            assert 0 <= float(row[metric]) <= 1
    assert summary["none"]["wtl_none"] == "—" and summary["balanced"]["wtl_none"].count("/") == 2
    assert result["best_baseline"] in baselines
    assert all(float(row["s_fold"]) > 0 for row in summary.values())
    assert "PARTIAL" not in (out / "summary.md").read_text()

    # Resumable: a rerun finds every unit done and recomputes nothing.
    again = keel.main(_keel_args(out))
    assert again["units"] == 0 and again["skipped"] == result["units"] > 0
    assert again["summary"] == result["summary"]
    # One results directory holds one protocol.
    with pytest.raises(SystemExit, match="other settings"):
        keel.main(_keel_args(out, "--batch-size", "16"))


def test_bench_keel_without_imblearn_skips_its_baselines(keel, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(keel, "imblearn_available", lambda: False)
    result = keel.main(_keel_args(tmp_path / "k", "--recipes",
                                  "none,balanced,not-a-recipe,balanced-bag-forest",
                                  "--jobs", "2"))  # fmt: skip
    assert [m for m, _ in result["methods"]] == ["none", "balanced", "logreg-balanced",
                                                 "hgb-balanced"]  # fmt: skip
    printed = capsys.readouterr().out
    assert "skipping 'smote-logreg': imbalanced-learn is not installed" in printed
    assert "skipping recipe 'balanced-bag-forest': imbalanced-learn is not installed" in printed
    assert "skipping recipe 'not-a-recipe': not registered" in printed


def test_bench_keel_baselines_are_the_librarys(keel, tmp_path):
    """The script fits the baselines of `underdog compare --baselines` (one definition), and
    still reads the old option name."""
    result = keel.main(_keel_args(tmp_path / "k", "--recipes", "none", "--alternatives",
                                  "logreg-balanced"))  # fmt: skip
    assert result["methods"] == [("none", "recipe"), ("logreg-balanced", "baseline")]
    assert keel.BASELINES is __import__("underdog.pipeline.baselines").pipeline.baselines.BASELINES


def test_bench_keel_parses_each_file_once(keel, monkeypatch):
    calls = []
    read_keel = keel.read_keel
    monkeypatch.setattr(keel, "read_keel", lambda path: calls.append(path) or read_keel(path))
    monkeypatch.setattr(keel, "_TABLES", {})
    path = keel.shipped_datasets()["ecoli1"]
    table = keel.load_keel(path)
    assert keel.load_keel(path) is table and len(calls) == 1
    assert table.name == "ecoli1" and table.classes == ("negative", "positive")
    assert table.target == "Class" and len(table.labels) == 336


def test_bench_keel_results_of_before_a_new_setting_stay_usable(keel, tmp_path):
    """A setting added with a None default (eval_batch_size) is no change of protocol."""
    settings = {"folds": 5, "epochs": 200, "eval_batch_size": None}
    (tmp_path / "config.json").write_text('{"folds": 5, "epochs": 200}')
    keel._check_config(tmp_path, settings)
    with pytest.raises(SystemExit, match=r"other settings \(epochs\)"):
        keel._check_config(tmp_path, {**settings, "epochs": 100})


def test_bench_keel_statistics(keel):
    assert keel.wins_ties_losses([0.5, 0.6, 0.7], [0.5, 0.5, 0.8]) == (1, 1, 1)
    assert keel.wilcoxon_p([0.1, 0.2], [0.1, 0.2]) == 1.0
    assert keel.wilcoxon_p([1, 2, 3, 4, 5, 6], [0, 0, 0, 0, 0, 0]) == pytest.approx(0.03125)


@pytest.mark.parametrize(
    ("script", "args", "message"),
    [
        ("bench_keel", ["--hidden", "abc"], "--hidden: expected sizes like 128,64; got 'abc'"),
        ("bench_keel", ["--hidden", "8,0"], "--hidden: expected sizes from 1 to"),
        ("bench_keel", ["--folds", "1"], "--folds: expected an integer of at least 2; got '1'"),
        ("bench_keel", ["--repeats", "x"], "--repeats: expected a positive integer; got 'x'"),
        ("bench_keel", ["--first-folds", "0"], "--first-folds: expected a positive integer"),
        ("bench_keel", ["--epochs", "0"], "--epochs: expected a positive integer"),
        ("bench_keel", ["--patience", "-2"], "--patience: expected a positive integer"),
        ("bench_keel", ["--batch-size", "1.5"], "--batch-size: expected a positive integer"),
        ("bench_keel", ["--jobs", "0"], "--jobs: expected a positive integer"),
        (
            "bench_longtail",
            ["--hidden", ""],
            "--hidden: expected sizes from 1 to 1,048,576 like 128,64; got",
        ),
        ("bench_longtail", ["--seeds", "0"], "--seeds: expected a positive integer; got '0'"),
        ("bench_longtail", ["--epochs", "many"], "--epochs: expected a positive integer"),
        ("bench_longtail", ["--jobs", "-1"], "--jobs: expected a positive integer"),
        ("bench_longtail", ["--ratios", "10,inf"], "--ratios: expected a finite number of at"),
        ("bench_longtail", ["--ratios", "nan"], "--ratios: expected a finite number of at least 1"),
        ("bench_longtail", ["--ratios", ","], "--ratios: expected ratios like 10,50,100; got ','"),
    ],
)
def test_bench_options_are_checked_while_parsing(tmp_path, capsys, script, args, message):
    """A bad option stops the script before any work, as argparse reports its own errors."""
    with pytest.raises(SystemExit) as info:
        _load(script).main([*args, "--out", str(tmp_path / "out")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err, err
    assert not (tmp_path / "out").exists()


def test_bench_longtail_smoke(tmp_path, capsys):
    longtail = _load("bench_longtail")
    out = tmp_path / "lt"
    result = longtail.main(["--ratios", "10,100", "--seeds", "1", *TINY, "--jobs", "1",
                            "--out", str(out)])  # fmt: skip
    expected = list(longtail.DEFAULT_RECIPES)
    assert set(expected) <= set(RECIPES)  # no recipe of the benchmark has gone missing
    assert result["recipes"] == expected
    assert len(result["rows"]) == 2 * len(expected)
    for row in result["rows"]:
        for metric in longtail.METRICS:
            assert 0 <= row[metric] <= 1
    printed = capsys.readouterr().out
    assert "Beside the published CIFAR-10-LT ordering" in printed
    assert "| `ldam-drw` | LDAM-DRW | 77.0 |" in printed
    assert len(_rows(out / "runs.csv")) == len(result["rows"])
    assert set(result["best"]) == {10.0, 100.0}
