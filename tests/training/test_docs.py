"""docs/training.md is true: its Python examples run, and the factory file works with the
command line as the page shows."""

from __future__ import annotations

import io
import re

from _paths import ROOT
from underdog.cli import main

PAGE = (ROOT / "docs" / "training.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", PAGE, re.S)


def test_the_examples_run(capsys):
    assert len(BLOCKS) == 3
    for block in BLOCKS[:2]:
        exec(compile(block, "docs/training.md", "exec"), {})  # noqa: S102 - our own docs
    printed = capsys.readouterr().out
    assert "best epoch" in printed and "optimizer steps" in printed


def test_the_factory_file_works_on_the_command_line(tmp_path, monkeypatch):
    (tmp_path / "mymod.py").write_text(BLOCKS[2])
    monkeypatch.chdir(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    args = ["--data", "mymod.py:dataset", "--model", "mymod.py:net", "--epochs", "3", "-q"]
    assert main(["compare", *args, "--folds", "2", "--recipes", "balanced"],
                stdout=out, stderr=err) == 0, err.getvalue()  # fmt: skip
    assert "mymod.py:dataset: 400 rows, 2 classes" in out.getvalue()
    assert main(["train", *args, "--out", "model"], stdout=out, stderr=err) == 0
    preds = tmp_path / "preds.csv"
    assert main(["predict", "model", "--data", "mymod.py:dataset", "--model", "mymod.py:net",
                 "--out", str(preds)], stdout=out, stderr=err) == 0  # fmt: skip
    assert len(preds.read_text().splitlines()) == 401
    err = io.StringIO()
    assert main(["predict", "model", "--data", "mymod.py:dataset"], stdout=out, stderr=err) == 2
    assert (
        "must be 'mymod.py:net', the factory the model in model was trained with" in err.getvalue()
    )
