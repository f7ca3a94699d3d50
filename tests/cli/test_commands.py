import io
import json
import os
import subprocess
import sys
import textwrap

import pandas as pd
import pytest
import torch

import underdog.cli.parser
import underdog.pipeline
import underdog.weights
from _paths import SRC
from _tables import TINY_ARGS, binary_csv, make_frame, multiclass_csv
from underdog.cli import main
from underdog.cli.parser import DEFAULT_BETA
from underdog.data import Preprocessor
from underdog.pipeline.recipes import DEFAULT_RECIPE
from underdog.weights import NORMALIZATIONS, SCHEMES, class_weight


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in args], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def assert_bad_input(tmp_path, args, message, *, out_dir=None):
    """Exit 2, one line on stderr naming the problem, no traceback, nothing written."""
    code, out, err = run(*args)
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("underdog: error: "), err
    assert "Traceback" not in err and out == ""
    assert message in err, err
    if out_dir is not None:
        assert not out_dir.exists()
        assert not [p for p in out_dir.parent.iterdir() if p.name.startswith(".")]


def test_compare_bad_inputs(tmp_path):
    multi = multiclass_csv(tmp_path)
    out = tmp_path / "report"
    common = ["--out", out, *TINY_ARGS]
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("a,b,y\n1,2,0\n3,4,1\n5,6,7,8\n")
    bad_keel = tmp_path / "bad.dat"
    bad_keel.write_text("@relation r\n@attribute a real\n@attribute y {p, n}\n@data\n1,p\n2\n")
    one = tmp_path / "one.csv"
    one.write_text("x,y\n1,a\n2,a\n3,a\n")
    nan = tmp_path / "nan.csv"
    nan.write_text("x,y\n1,a\n2,\n3,b\n")
    dup = tmp_path / "dup.csv"
    dup.write_text("x,y,x\n1,a,2\n3,b,4\n")
    cases = [
        ([tmp_path / "missing.csv", "--target", "y"], "missing.csv does not exist"),
        ([bad_csv, "--target", "y"], "Cannot parse bad.csv: Expected 3 fields in line 4, saw 4"),
        ([bad_keel, "--target", "y"], "Cannot parse bad.dat, line 6: expected 2"),
        (
            [multi, "--target", "nope"],
            "'nope' is not in multi.csv; its columns: x1, x2, color, label",
        ),
        ([one, "--target", "y"], "only one class ('a')"),
        ([nan, "--target", "y"], "1 missing label(s), in data row(s) 2"),
        ([dup, "--target", "y"], "The column name 'x' appears more than once in dup.csv"),
        (
            [multi, "--target", "label", "--recipes", "none,nope"],
            "argument --recipes: expected recipe names from none, balanced,",
        ),
        ([multi, "--target", "label", "--recipes", ""], "argument --recipes: expected recipe"),
        (
            ["--dataset", "nope"],
            "argument --dataset: invalid choice: 'nope' (choose from 'digits-lt', 'pima'",
        ),
        ([multi, "--target", "label", "--recipes", "pos-weight"], "'pos-weight' needs a binary"),
        (
            [multi, "--target", "label", "--folds", "50"],
            "The smallest class of multi.csv must have at least one row per fold. Got 21 rows",
        ),
        ([multi], "needs --target COLUMN"),
        ([multi, "--target", "label", "--metric", "roc_auc"], "needs a binary target"),
        ([multi, "--target", "label", "--dataset", "pima"], "not FILE and --dataset"),
        (
            ["--dataset", "pima", "--imbalance-ratio", "3"],
            "--imbalance-ratio applies to --dataset digits-lt only; 'pima' has a fixed one",
        ),
        ([tmp_path / "data.xlsx", "--target", "y"], "unknown file type '.xlsx'"),
    ]
    for args, message in cases:
        assert_bad_input(tmp_path, ["compare", *common, *args], message, out_dir=out)


def test_argparse_errors_are_one_line_and_exit_2(tmp_path):
    assert_bad_input(tmp_path, ["compare", "--folds", "zero"], "expected a positive integer")
    out_dir = tmp_path / "o"
    for command in (["compare", "--out", out_dir], ["weights"], ["train", "--out", out_dir]):
        for ratio in ("inf", "nan", "0.5", "ten"):
            message = (
                f"argument --imbalance-ratio: expected a finite number of at least 1; got {ratio!r}"
            )
            assert_bad_input(tmp_path, [*command, "--imbalance-ratio", ratio], message)
            assert not out_dir.exists()
    assert_bad_input(tmp_path, ["frobnicate"], "invalid choice: 'frobnicate'")
    assert_bad_input(tmp_path, ["weights", "--scheme", "bogus"], "(see 'underdog weights --help')")


def test_eval_batch_size_option(tmp_path, monkeypatch):
    import underdog.pipeline.trainer

    seen = []
    fit = underdog.pipeline.trainer.fit
    monkeypatch.setattr(
        underdog.pipeline.trainer, "fit", lambda *a, **k: seen.append(k) or fit(*a, **k)
    )
    path = multiclass_csv(tmp_path)
    code, _, err = run("train", path, "--target", "label", "--out", tmp_path / "m", "--epochs",
                       "2", "--eval-batch-size", "16", "--recipe", "logit-adjusted")  # fmt: skip
    assert code == 0, err
    assert [k["eval_batch_size"] for k in seen] == [16] and seen[0]["batch_size"] == 64
    code, _, err = run("compare", path, "--target", "label", "--eval-batch-size", "0")
    assert code == 2 and "--eval-batch-size: expected a positive integer; got '0'" in err


def test_out_is_a_file(tmp_path):
    path = multiclass_csv(tmp_path)
    blocker = tmp_path / "report"
    blocker.write_text("not a directory")
    assert_bad_input(tmp_path, ["compare", path, "--target", "label", "--out", blocker,
                                *TINY_ARGS], "exists and is not a directory")  # fmt: skip
    assert blocker.read_text() == "not a directory"


def test_an_unwritable_out_fails_before_the_comparison(tmp_path, monkeypatch):
    import underdog.pipeline.runs

    def must_not_run(*args, **kwargs):
        raise AssertionError("compared although --out cannot be written")

    monkeypatch.setattr(underdog.pipeline, "compare", must_not_run)
    path = multiclass_csv(tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("")
    out = blocker / "report"  # under a regular file: no directory can be made there
    assert_bad_input(tmp_path, ["compare", path, "--target", "label", "--out", out,
                                *TINY_ARGS], str(blocker))  # fmt: skip


def test_compare_writes_the_report(tmp_path):
    path = binary_csv(tmp_path)
    out = tmp_path / "report"
    code, stdout, err = run("compare", path, "--target", "label", "--out", out,
                            "--recipes", "balanced,threshold", *TINY_ARGS)  # fmt: skip
    assert code == 0, err
    assert sorted(os.listdir(out)) == ["report.html", "results.csv", "summary.json"]
    lines = stdout.splitlines()
    assert lines[0].startswith("binary.csv: 120 rows, 2 classes, 2 folds x 1 seed(s)")
    assert {line.split()[0] for line in lines[3:6]} == {"none", "balanced", "threshold"}
    assert f"report: {out}" in stdout
    assert err == ""  # -q


class _Terminal(io.StringIO):
    """A stream that says it is a terminal, as stderr is in an interactive shell."""

    def isatty(self):
        return True


def _compare_on_a_terminal(tmp_path, recipes, *extra):
    path = multiclass_csv(tmp_path)
    args = [a for a in TINY_ARGS if a != "-q"]
    out, err = io.StringIO(), _Terminal()
    code = main(["compare", str(path), "--target", "label", "--out", str(tmp_path / "r"),
                 "--recipes", recipes, *args, *extra], stdout=out, stderr=err)  # fmt: skip
    return code, err.getvalue()


def test_progress_is_a_bar_with_an_eta_on_a_terminal(tmp_path):
    code, err = _compare_on_a_terminal(tmp_path, "balanced")
    assert code == 0
    assert "none (1/2)" in err and "balanced (2/2)" in err  # the recipe and the run
    assert "epoch " in err and "<" in err and "run/s" in err  # tqdm's time left and rate
    assert err.splitlines()[-1].startswith("done in ")


def test_progress_names_recipes_that_reuse_a_model(tmp_path):
    code, err = _compare_on_a_terminal(tmp_path, "threshold")
    assert code == 0
    assert "threshold (1/2)" in err and "threshold (2/2)" in err  # threshold reuses none


def test_no_progress_when_stderr_is_not_a_terminal_or_with_quiet(tmp_path):
    path = multiclass_csv(tmp_path)
    args = [a for a in TINY_ARGS if a != "-q"]
    code, _, err = run("compare", path, "--target", "label", "--out", tmp_path / "r",
                       "--recipes", "balanced", *args)  # fmt: skip
    assert code == 0 and err.splitlines() == [err.splitlines()[-1]]
    assert err.startswith("done in ")
    code, err = _compare_on_a_terminal(tmp_path, "balanced", "-q")
    assert code == 0 and err == ""


def test_compare_on_a_builtin_dataset(tmp_path):
    code, stdout, err = run("compare", "--dataset", "digits-lt", "--out", tmp_path / "r",
                            "--recipes", "prior-correction", "--imbalance-ratio", "10",
                            *TINY_ARGS)  # fmt: skip
    assert code == 0, err
    assert stdout.startswith("digits-lt: 1797 rows, 10 classes")
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["dataset"]["train_counts_per_fold"][0] / summary["dataset"][
        "train_counts_per_fold"
    ][-1] == pytest.approx(10, rel=0.2)


def test_datasets_and_recipes_listings():
    code, out, _ = run("datasets")
    assert code == 0
    for name in ("digits-lt", "pima", "ecoli1", "flare-F", "yeast4", "abalone19"):
        assert f"\n{name} " in out
    assert out.count("source: ") == 6
    code, out, _ = run("recipes")
    assert code == 0 and "prior-correction" in out and "pos-weight" in out


def test_weights_table_and_json(tmp_path):
    path = multiclass_csv(tmp_path)
    code, out, _ = run("weights", path, "--target", "label", "--json")
    assert code == 0
    payload = json.loads(out)
    counts = [row["count"] for row in payload["classes"]]
    expected = class_weight(counts, scheme="balanced")
    assert [row["weight"] for row in payload["classes"]] == pytest.approx(expected.tolist())
    assert [row["class"] for row in payload["classes"]] == ["a", "b", "c"]
    code, out, _ = run("weights", path, "--target", "label", "--scheme", "inverse-sqrt")
    assert code == 0 and out.splitlines()[0].split() == ["class", "count", "weight"]
    assert len(out.splitlines()) == 4
    assert_bad_input(tmp_path, ["weights", path, "--target", "label", "--beta", "0.9"], "--beta")
    assert_bad_input(tmp_path, ["weights", tmp_path / "no.csv", "--target", "y"], "no.csv")


def test_weights_schemes_are_the_librarys_spelled_with_hyphens(tmp_path):
    path = multiclass_csv(tmp_path)
    spelled = {"inverse_sqrt": "inverse-sqrt"}  # the spelling users already have
    for scheme in SCHEMES:
        beta = DEFAULT_BETA if scheme == "effective" else None
        for normalize in (None, *NORMALIZATIONS):
            extra = ["--normalize", normalize] if normalize else []
            code, out, err = run("weights", path, "--target", "label", "--json",
                                 "--scheme", spelled.get(scheme, scheme), *extra)  # fmt: skip
            assert code == 0, err
            payload = json.loads(out)
            assert payload["scheme"] == scheme and payload["normalize"] == normalize
            counts = [row["count"] for row in payload["classes"]]
            expected = class_weight(counts, scheme=scheme, beta=beta, normalize=normalize)
            assert [row["weight"] for row in payload["classes"]] == pytest.approx(expected.tolist())
    code, _, err = run("weights", path, "--target", "label", "--scheme", "inverse_sqrt")
    assert code == 2 and "invalid choice: 'inverse_sqrt'" in err and "inverse-sqrt" in err


def test_train_and_predict_round_trip(tmp_path):
    path = binary_csv(tmp_path)
    model_dir = tmp_path / "model"
    code, out, err = run("train", path, "--target", "label", "--recipe", "threshold",
                         "--out", model_dir, "--epochs", "5", "--hidden", "8")  # fmt: skip
    assert code == 0, err
    assert sorted(os.listdir(model_dir)) == ["model.json", "model.pt"]
    meta = json.loads((model_dir / "model.json").read_text())
    assert meta["classes"] == ["no", "yes"] and meta["recipe"] == "threshold"
    assert meta["posthoc"]["kind"] == "threshold" and 0 <= meta["posthoc"]["threshold"] <= 1
    state = torch.load(model_dir / "model.pt", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())

    new = tmp_path / "new.csv"
    make_frame(15, classes=("no", "yes"), weights=(0.8, 0.2), seed=9).drop(columns="label").to_csv(
        new, index=False
    )
    preds = tmp_path / "preds.csv"
    code, out, err = run("predict", model_dir, new, "--out", preds)
    assert code == 0, err
    frame = pd.read_csv(preds)
    assert list(frame.columns) == ["prediction", "proba_no", "proba_yes"]
    assert len(frame) == 15 and set(frame["prediction"]) <= {"no", "yes"}
    assert frame[["proba_no", "proba_yes"]].sum(axis=1).round(6).eq(1).all()
    threshold = meta["posthoc"]["threshold"]
    assert ((frame["proba_yes"] >= threshold) == (frame["prediction"] == "yes")).all()
    code, stdout, _ = run("predict", model_dir, path)  # with the target column, to stdout
    assert code == 0 and stdout.startswith("prediction,proba_no,proba_yes\n")
    header_only = tmp_path / "none.csv"
    header_only.write_text("x1,x2,color\n")
    code, stdout, err = run("predict", model_dir, header_only)  # no rows: no predictions
    assert code == 0 and stdout == "prediction,proba_no,proba_yes\n", err


def test_train_and_predict_bad_inputs(tmp_path):
    multi = multiclass_csv(tmp_path)
    out = tmp_path / "model"
    assert_bad_input(tmp_path, ["train", multi, "--target", "label", "--recipe", "pos-weight",
                                "--out", out], "needs a binary target", out_dir=out)  # fmt: skip
    assert_bad_input(tmp_path, ["train", multi, "--target", "label", "--recipe", "x",
                                "--out", out], "argument --recipe: expected a recipe name from none,",
                     out_dir=out)  # fmt: skip
    assert_bad_input(tmp_path, ["predict", tmp_path, multi], "is not a model directory")
    code, _, _ = run("train", multi, "--target", "label", "--out", out, "--epochs", "2")
    assert code == 0
    assert json.loads((out / "model.json").read_text())["recipe"] == DEFAULT_RECIPE
    other = tmp_path / "other.csv"
    pd.DataFrame({"x1": [1.0]}).to_csv(other, index=False)
    preds = tmp_path / "p.csv"
    assert_bad_input(tmp_path, ["predict", out, other, "--out", preds], "x2, color")
    twice = tmp_path / "twice.csv"
    twice.write_text("x1,x2,color,x2\n1,2,red,3\n")
    assert_bad_input(tmp_path, ["predict", out, twice, "--out", preds],
                     "The column name 'x2' appears more than once in twice.csv")  # fmt: skip
    assert not preds.exists()
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "model.json").write_bytes((out / "model.json").read_bytes())
    for content in (b"", (out / "model.pt").read_bytes()[:200]):  # empty, truncated
        (corrupt / "model.pt").write_bytes(content)
        code, _, err = run("predict", corrupt, multi)
        assert code == 2 and len(err) < 200, err
        assert_bad_input(tmp_path, ["predict", corrupt, multi],
                         f"{corrupt / 'model.pt'} does not match its model.json")  # fmt: skip
    missing = tmp_path / "no-such-dir" / "p.csv"  # the message names it, not a temporary file
    assert_bad_input(tmp_path, ["predict", out, multi, "--out", missing], f"{missing}: ")


def test_python_m_underdog():
    env = {**os.environ, "PYTHONPATH": SRC}
    done = subprocess.run([sys.executable, "-m", "underdog", "compare", "--dataset", "nope"],
                          capture_output=True, text=True, env=env)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr == (
        "underdog: error: argument --dataset: invalid choice: 'nope' (choose from 'digits-lt', "
        "'pima', 'ecoli1', 'flare-F', 'yeast4', 'abalone19') (see 'underdog compare --help')\n"
    )


def test_train_on_digits_lt_uses_its_long_tailed_training_set(tmp_path):
    out = io.StringIO()
    args = ["train", "--dataset", "digits-lt", "--out", str(tmp_path / "m"), "--epochs", "2"]
    assert main(args, stdout=out, stderr=io.StringIO()) == 0
    info = json.loads((tmp_path / "m" / "model.json").read_text())["training"]
    counts = info["counts"]  # the fit part, after the validation split
    assert counts == sorted(counts, reverse=True)  # class 0 is the head, class 9 the tail
    assert counts[0] / counts[-1] > 20
    assert info["rows"] < 1797 and f"on {info['rows']} rows of digits-lt" in out.getvalue()


def test_weights_on_digits_lt_count_its_long_tailed_training_rows():
    out = io.StringIO()
    assert main(["weights", "--dataset", "digits-lt", "--json"], stdout=out) == 0
    counts = [row["count"] for row in json.loads(out.getvalue())["classes"]]
    assert counts == sorted(counts, reverse=True) and counts[0] / counts[-1] > 20


def test_a_closed_pipe_is_not_an_error():
    class ClosedPipe(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

    err = io.StringIO()
    assert main(["weights", "--dataset", "pima"], stdout=ClosedPipe(), stderr=err) == 0
    assert err.getvalue() == ""


def test_bad_input_reported_by_other_libraries_is_bad_input(tmp_path, monkeypatch):
    """What pandas, numpy or the environment reject in the user's input is turned into the
    library's errors where it arises: one line, exit 2."""
    multi = multiclass_csv(tmp_path)
    latin = tmp_path / "latin.dat"
    latin.write_bytes(b"@relation r\n@attribute a real\n@attribute y {p, n}\n@data\n1,p\n\xe92,n\n")
    twice = tmp_path / "twice.dat"
    twice.write_text(
        "@relation r\n@attribute a real\n@attribute a real\n@attribute y {p, n}\n@data\n"
    )
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.json").write_text('{"format": "underdog-model", "version": 2}')
    (broken / "model.pt").write_bytes(b"not a state dict")
    out = tmp_path / "out"
    cases = [
        (["compare", latin, "--target", "y"], "Cannot parse latin.dat: it is not UTF-8 text"),
        (["compare", twice, "--target", "y"], "line 3: the attribute 'a' is declared twice"),
        (
            ["predict", broken, multi],
            "model.json is not a valid underdog model description: it has",
        ),
    ]
    for args, message in cases:
        assert_bad_input(tmp_path, args, message)
    code, _, err = run("train", multi, "--target", "label", "--seed", "-1", "--out", out)
    assert code == 2 and "--seed: expected a non-negative integer; got '-1'" in err
    monkeypatch.setenv("WORLD_SIZE", "two")
    assert_bad_input(tmp_path, ["train", multi, "--target", "label", "--out", out],
                     "The environment variable WORLD_SIZE must be an integer", out_dir=out)  # fmt: skip


def test_a_missing_optional_dependency_is_one_line(tmp_path, monkeypatch):
    path = tmp_path / "table.parquet"
    path.write_bytes(b"never read")
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)  # as if pyarrow were missing
    assert_bad_input(tmp_path, ["compare", path, "--target", "y"], "pip install 'underdog[data]'")


@pytest.mark.parametrize("error", [ValueError, ImportError, TypeError])
def test_internal_errors_are_not_reported_as_bad_input(tmp_path, monkeypatch, error):
    """A bug that raises a plain ValueError (or ImportError, ...) propagates: main() raises,
    and the console script prints the traceback and exits 1."""
    path = multiclass_csv(tmp_path)

    def broken(*args, **kwargs):
        raise error("a bug, not the user's input")

    monkeypatch.setattr(underdog.weights, "class_weight", broken)
    with pytest.raises(error, match="a bug"):
        run("weights", path, "--target", "label")
    monkeypatch.setattr(Preprocessor, "fit", broken)  # deep inside compare's folds
    with pytest.raises(error, match="a bug"):
        run("compare", path, "--target", "label", "--out", tmp_path / "r", *TINY_ARGS)
    assert not (tmp_path / "r").exists()


def test_an_internal_error_exits_with_its_traceback(tmp_path):
    path = multiclass_csv(tmp_path)
    script = textwrap.dedent(f"""
        import sys
        import underdog.weights

        def broken(*args, **kwargs):
            raise ValueError("a bug, not the user's input")

        underdog.weights.class_weight = broken
        from underdog.cli import main
        sys.exit(main(["weights", {str(path)!r}, "--target", "label"]))
    """)
    env = {**os.environ, "PYTHONPATH": SRC}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert done.returncode == 1
    assert "Traceback" in done.stderr and "ValueError: a bug" in done.stderr
    assert "underdog: error" not in done.stderr
