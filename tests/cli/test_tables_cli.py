"""The command line's tabular parts: ``compare --baselines``, the tabular default of
``train``, and what happens without imbalanced-learn."""

import io
import json
import sys
import textwrap

import pytest

from _tables import TINY_ARGS, binary_csv
from underdog.cli import main
from underdog.pipeline import BASELINES

pytest.importorskip("imblearn")


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in args], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _bad(args, message):
    code, out, err = run(*args)
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert err.startswith("underdog: error: ") and message in err, err


def test_compare_with_every_baseline_on_a_keel_table(tmp_path):
    code, out, err = run("compare", "--dataset", "ecoli1", "--recipes", "none,balanced-bag",
                         "--baselines", "all", "--out", tmp_path / "r", *TINY_ARGS)  # fmt: skip
    assert code == 0, err
    for name in BASELINES:
        assert f"{name} (baseline)" in out
    assert "\nbalanced-bag " in out and "underdog does not train it" in out
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    kinds = {row["recipe"]: row["kind"] for row in summary["recipes"]}
    assert kinds == {"none": "recipe", "balanced-bag": "recipe", **dict.fromkeys(BASELINES,
                                                                              "baseline")}  # fmt: skip
    assert "note:" not in err


def test_compare_baselines_on_a_builtin_table_with_jobs(tmp_path):
    code, out, err = run("compare", "--dataset", "digits-lt", "--recipes", "none",
                         "--baselines", "logreg-balanced,balanced-rf", "--jobs", "2",
                         "--out", tmp_path / "r", *TINY_ARGS)  # fmt: skip
    assert code == 0, err
    assert "logreg-balanced (baseline)" in out and "balanced-rf (baseline)" in out


def test_a_baseline_is_never_taken_for_a_recipe(tmp_path):
    path = binary_csv(tmp_path)
    _bad(
        ["train", path, "--target", "label", "--recipe", "balanced-rf", "--out", tmp_path / "m"],
        "got 'balanced-rf' (a baseline, a scikit-learn model underdog does not train",
    )
    _bad(["compare", path, "--target", "label", "--recipes", "none,logreg-balanced"],
         "got 'logreg-balanced' (a baseline, a scikit-learn model underdog does not train: "
         "--baselines)")  # fmt: skip
    _bad(
        ["compare", path, "--target", "label", "--baselines", "logreg"],
        "argument --baselines: expected baseline names from logreg-balanced",
    )
    _bad(
        ["compare", path, "--target", "label", "--baselines", ","],
        "argument --baselines: expected baseline names like",
    )
    assert not (tmp_path / "m").exists()


def test_baselines_need_a_table_of_feature_rows(tmp_path):
    factory = tmp_path / "samples.py"
    factory.write_text(
        textwrap.dedent("""
        import torch
        from torch.utils.data import TensorDataset

        def samples():
            data = TensorDataset(torch.randn(40, 3), torch.tensor([0, 1] * 20))
            data.targets = data.tensors[1]
            return data
    """)
    )
    _bad(["compare", "--data", f"{factory}:samples", "--baselines", "all", "--out",
          tmp_path / "r", *TINY_ARGS], "need a table of feature rows")  # fmt: skip
    _bad(["compare", "--data", f"{factory}:samples", "--recipes", "balanced-bag", "--out",
          tmp_path / "r", *TINY_ARGS], "needs a table of feature rows")  # fmt: skip
    train_args = TINY_ARGS[2:]  # train has no --folds
    code, out, err = run("train", "--data", f"{factory}:samples", "--out", tmp_path / "m",
                         *train_args)  # fmt: skip
    assert code == 0, err
    assert json.loads((tmp_path / "m" / "model.json").read_text())["recipe"] == "logit-adjusted"


def test_train_defaults_to_the_hybrid_on_a_table(tmp_path):
    code, out, err = run("train", binary_csv(tmp_path), "--target", "label", "--out",
                         tmp_path / "m", "-q")  # fmt: skip
    assert code == 0, err
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["recipe"] == meta["model"]["factory"] == "balanced-bag-forest"
    assert "(100 steps, no early stopping)" in out and "note:" not in err
    code, out, err = run("train", binary_csv(tmp_path), "--target", "label", "--out",
                         tmp_path / "m", "-q", "--recipe", "balanced-bag", "--hidden", "8",
                         "--epochs", "3")  # fmt: skip
    assert code == 0, err
    assert (
        "note: balanced-bag trains with its own fixed settings; ignoring --epochs, --hidden" in err
    )
    assert json.loads((tmp_path / "m" / "model.json").read_text())["model"]["arguments"][
        "hidden"
    ] == [64]


def test_train_defaults_to_one_mlp_on_a_large_table(tmp_path, monkeypatch):
    """Above LARGE_TABLE_ROWS rows (lowered here) the default is the logit-adjusted MLP."""
    path = binary_csv(tmp_path)
    rows = len(path.read_text().splitlines()) - 1
    monkeypatch.setattr("underdog.pipeline.recipes.LARGE_TABLE_ROWS", rows - 1)
    code, out, err = run("train", path, "--target", "label", "--out", tmp_path / "m", "-q",
                         "--epochs", "2")  # fmt: skip
    assert code == 0, err
    assert json.loads((tmp_path / "m" / "model.json").read_text())["recipe"] == "logit-adjusted"
    assert out.startswith(f"trained logit-adjusted on {rows} rows") and "note:" not in err
    monkeypatch.setattr("underdog.pipeline.recipes.LARGE_TABLE_ROWS", rows)
    code, out, err = run("train", path, "--target", "label", "--out", tmp_path / "m", "-q")
    assert code == 0, err
    assert out.startswith(f"trained balanced-bag-forest on {rows} rows")


def test_without_imblearn_one_note_and_the_bag(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "imblearn", None)
    path = binary_csv(tmp_path)
    code, out, err = run("compare", path, "--target", "label", "--baselines", "all",
                         "--out", tmp_path / "r", *TINY_ARGS)  # fmt: skip
    assert code == 0, err
    assert (
        err.count("note:") == 1
        and (
            "imbalanced-learn is not installed: skipping balanced-bag-forest, balanced-rf, "
            "smote-logreg (pip install 'underdog[tables]')"
        )
        in err
    )
    assert "logreg-balanced (baseline)" in out and "balanced-rf" not in out
    assert "\nbalanced-bag " in out
    code, out, err = run("train", path, "--target", "label", "--out", tmp_path / "m", "-q")
    assert code == 0, err
    assert "note: imbalanced-learn is not installed: training balanced-bag" in err
    assert json.loads((tmp_path / "m" / "model.json").read_text())["recipe"] == "balanced-bag"
    _bad(
        ["compare", path, "--target", "label", "--baselines", "balanced-rf"],
        "'balanced-rf' need imbalanced-learn",
    )
    _bad(["train", path, "--target", "label", "--recipe", "balanced-bag-forest", "--out",
          tmp_path / "n"], "The recipe 'balanced-bag-forest' needs imbalanced-learn")  # fmt: skip


def test_recipes_lists_the_baselines_and_the_defaults():
    code, out, _ = run("recipes")
    assert code == 0
    assert "* balanced-bag-forest" in out and "`underdog train` without --recipe: " in out
    listing = out.split("\nbaselines ", 1)[1]
    for baseline in BASELINES.values():
        assert f"  {baseline.name}" in listing and baseline.summary in listing
