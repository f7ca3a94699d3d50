"""Data-parallel training: `underdog train --nproc 2` trains the one-process model."""

from __future__ import annotations

import json
import os

import pytest
import torch

import underdog.pipeline
import underdog.training.launch
from _tables import binary_csv
from underdog import cli
from underdog.cli import commands
from underdog.data import load_table
from underdog.exceptions import DataError
from underdog.pipeline.model import TrainedModel
from underdog.training.launch import spawn

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


def _fail(*args, **kwargs):
    raise AssertionError("trained or spawned before the output was checked")


@pytest.mark.parametrize("nproc", ["1", "2"])
@pytest.mark.parametrize("where", ["under a file", "locked"])
def test_an_unwritable_out_is_one_line_before_any_training(
    tmp_path, capsys, monkeypatch, nproc, where
):
    """--out is checked in the parent before training or spawning (it used to be a
    ProcessRaisedException traceback after all the training with --nproc 2)."""
    if where == "locked" and os.geteuid() == 0:
        pytest.skip("root writes into any directory")
    monkeypatch.setattr(underdog.pipeline, "train_model", _fail)
    monkeypatch.setattr(underdog.training.launch, "spawn", _fail)
    blocker = tmp_path / "blocker"
    if where == "locked":
        blocker.mkdir(mode=0o500)
        message = f"cannot write or read {blocker / 'model'}: Permission denied"
    else:
        blocker.write_text("not a directory")
        message = f"cannot write or read: {blocker} exists and is not a directory"
    try:
        code = cli.main(["train", *ARGS, "--recipe", "logit-adjusted", "--out", str(blocker / "model"),
                         "--nproc", nproc])  # fmt: skip
    finally:
        blocker.chmod(0o700)
    captured = capsys.readouterr()
    assert (code, captured.out) == (2, ""), captured.err
    assert captured.err == f"underdog: error: {message}\n"
    assert os.listdir(tmp_path) == ["blocker"]
    assert blocker.is_file() or os.listdir(blocker) == []


def test_bad_input_found_in_a_worker_is_one_line(tmp_path, capsys, monkeypatch):
    """An UnderdogError raised in a process of --nproc 2 is reported as in one process."""
    good = load_table(binary_csv(tmp_path), target="label")
    monkeypatch.setattr(commands, "load_data", lambda args: good)  # the parent's table only
    bad = tmp_path / "bad.csv"
    bad.write_text("x1,x2\n1,2\n")  # what each worker loads: no target column
    out = tmp_path / "model"
    code = cli.main(["train", str(bad), "--target", "label", "--recipe", "logit-adjusted", "--epochs",
                     "2", "--out", str(out), "--nproc", "2"])  # fmt: skip
    captured = capsys.readouterr()
    assert (code, captured.out) == (2, ""), captured.err
    assert captured.err == (
        "underdog: error: The target column 'label' is not in bad.csv; its columns: x1, x2.\n"
    )
    assert sorted(os.listdir(tmp_path)) == ["bad.csv", "binary.csv"]  # no model, no leftovers


def _raise_on_rank_1(local_rank: int, error: Exception) -> None:
    if local_rank == 1:
        raise error


def test_spawn_raises_a_workers_bad_input_or_file_error_again():
    with pytest.raises(DataError, match="^bad rows$") as info:
        spawn(_raise_on_rank_1, 2, DataError("bad rows"))
    assert "Traceback" in str(info.value.__cause__)  # the worker's, kept for debugging
    with pytest.raises(torch.multiprocessing.ProcessRaisedException, match="a bug"):
        spawn(_raise_on_rank_1, 2, RuntimeError("a bug"))
    # A file that cannot be written (a full disk): the CLI reports it as in one process.
    with pytest.raises(OSError) as info:
        spawn(_raise_on_rank_1, 2, OSError(28, "No space left on device", "/out/model.pt"))
    assert (info.value.errno, info.value.filename) == (28, "/out/model.pt")


def _rank_times_ten(local_rank: int, offset: int) -> int:
    return local_rank * 10 + offset


def test_spawn_returns_what_process_0_returned():
    assert spawn(_rank_times_ten, 2, 7) == 7


@pytest.mark.parametrize("nproc", ["1", "2"])
def test_train_builds_its_config_once_and_does_not_reload_the_model(
    tmp_path, capsys, monkeypatch, nproc
):
    """The parent's checked config is what trains (workers get it too), and the summary
    comes from the training, not from loading the saved model back."""
    built = []
    config = commands.load_config
    monkeypatch.setattr(commands, "load_config", lambda *a, **k: built.append(1) or config(*a, **k))
    monkeypatch.setattr(TrainedModel, "load", _fail)
    args = ["train", "--dataset", "ecoli1", "--recipe", "logit-adjusted", "--epochs", "2",
            "--out", str(tmp_path / "m")]  # fmt: skip
    assert cli.main([*args, "--nproc", nproc]) == 0
    assert len(built) == 1
    assert "trained logit-adjusted on 336 rows of ecoli1" in capsys.readouterr().out


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX signals")
def test_an_interrupt_of_the_parent_stops_the_workers_and_writes_nothing(tmp_path):
    """SIGINT to the parent of ``train --nproc 2`` alone (as a supervisor sends it) stops
    both workers within seconds: exit 130, one line, no model directory."""
    import signal
    import subprocess
    import sys
    import time

    from _paths import SRC

    out = tmp_path / "model"
    command = [sys.executable, "-m", "underdog", "train", "--dataset", "ecoli1",
               "--recipe", "logit-adjusted", "--epochs", "100000", "--patience", "100000", "--nproc", "2", "--out", str(out)]  # fmt: skip
    parent = subprocess.Popen(command, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": SRC})  # fmt: skip
    children = []
    deadline = time.monotonic() + 90
    while len(children) < 2 and time.monotonic() < deadline:  # the two workers are up
        time.sleep(0.5)
        children = [int(p) for p in subprocess.run(
            ["pgrep", "-P", str(parent.pid)], capture_output=True, text=True
        ).stdout.split()]  # fmt: skip
    time.sleep(3)  # training
    parent.send_signal(signal.SIGINT)
    _, err = parent.communicate(timeout=30)
    assert parent.returncode == 130, err
    assert err.strip().splitlines()[-1] == "underdog: interrupted"
    time.sleep(0.5)
    alive = [c for c in children if os.path.exists(f"/proc/{c}") and
             "zombie" not in open(f"/proc/{c}/status").read().lower()]  # fmt: skip
    assert children and alive == []
    assert not out.exists()
