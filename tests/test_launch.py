"""Data-parallel training: `underdog train --nproc 2` trains the one-process model."""

from __future__ import annotations

import json
import os

import pytest
import torch

from underdog import cli
from underdog.model import TrainedModel

ARGS = ["--dataset", "ecoli1", "--epochs", "8", "--dropout", "0", "--patience", "8"]


@pytest.mark.parametrize("recipe", ["balanced", "pos-weight", "resample"])
def test_two_processes_train_the_one_process_model(tmp_path, capsys, recipe):
    one, two = tmp_path / "one", tmp_path / "two"
    assert cli.main(["train", *ARGS, "--recipe", recipe, "--out", str(one)]) == 0
    assert cli.main(["train", *ARGS, "--recipe", recipe, "--out", str(two), "--nproc", "2"]) == 0
    assert "on 2 processes" in capsys.readouterr().out
    a = torch.load(one / "model.pt", weights_only=True)
    b = torch.load(two / "model.pt", weights_only=True)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-5)
    info = json.loads((two / "model.json").read_text())["training"]
    assert (
        info["epochs_run"] == json.loads((one / "model.json").read_text())["training"]["epochs_run"]
    )
    model = TrainedModel.load(two)
    assert model.recipe == recipe
    assert sorted(os.listdir(two)) == ["model.json", "model.pt"]  # written once, no leftovers


def test_nproc_must_be_positive(capsys):
    assert cli.main(["train", "--dataset", "ecoli1", "--out", "m", "--nproc", "0"]) == 2
    assert "--nproc: expected a positive integer; got '0'" in capsys.readouterr().err


def test_torchrun_trains_the_one_process_model(tmp_path):
    import subprocess
    import sys

    one, two = tmp_path / "one", tmp_path / "two"
    args = ["train", *ARGS, "--recipe", "ldam-drw"]
    assert cli.main([*args, "--out", str(one)]) == 0
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2"]
    done = subprocess.run(
        [*torchrun, "-m", "underdog", *args, "--out", str(two)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("trained ldam-drw") == 1  # rank 0 reports, once
    a = torch.load(one / "model.pt", weights_only=True)
    b = torch.load(two / "model.pt", weights_only=True)
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-5)
