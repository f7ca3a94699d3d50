"""The command line's parser: its options take their defaults from the library."""

import dataclasses

import underdog.cli.parser
from underdog.cli.parser import build_parser
from underdog.data import DATASETS
from underdog.pipeline import CompareConfig


@dataclasses.dataclass(frozen=True)
class _OtherDefaults(CompareConfig):
    """Defaults unlike CompareConfig's, to see that the help follows them."""

    folds: int = 7
    seeds: int = 3
    metric: str = "macro_f1"
    hidden: tuple[int, ...] = (32, 16)
    dropout: float = 0.25
    lr: float = 0.02
    weight_decay: float = 0.5
    epochs: int = 9
    batch_size: int = 11
    patience: int = 4
    val_fraction: float = 0.3
    num_threads: int | None = 2


def test_help_shows_the_defaults_of_the_library(monkeypatch):
    """Each default in the help is the one an option left out gets: CompareConfig's
    (replaced here by other values) and digits-lt's imbalance ratio."""
    monkeypatch.setattr(underdog.cli.parser, "CompareConfig", _OtherDefaults)
    digits = dataclasses.replace(DATASETS["digits-lt"], imbalance_ratio=12.5)
    monkeypatch.setitem(DATASETS, "digits-lt", digits)
    d = _OtherDefaults()
    expected = {
        "folds": d.folds, "seeds": d.seeds, "metric": d.metric, "hidden": "32,16",
        "dropout": d.dropout, "lr": d.lr, "weight_decay": d.weight_decay, "epochs": d.epochs,
        "batch_size": d.batch_size, "patience": d.patience, "val_fraction": d.val_fraction,
        "threads": d.num_threads, "imbalance_ratio": "12.5", "seed": 0, "nproc": 1,
    }  # fmt: skip
    commands = build_parser()._subparsers._group_actions[0].choices
    seen = set()
    for command in ("compare", "train"):
        for action in commands[command]._actions:
            if action.dest in expected:
                text = commands[command]._get_formatter()._expand_help(action)
                assert text.endswith(f"({expected[action.dest]})"), (command, text)
                seen.add(action.dest)
    assert seen == set(expected)


def test_help_describes_the_batch_and_learning_rate_policy_by_default():
    commands = build_parser()._subparsers._group_actions[0].choices
    helps = {
        action.dest: commands["train"]._get_formatter()._expand_help(action)
        for action in commands["train"]._actions
        if action.dest in ("batch_size", "lr")
    }
    assert helps["batch_size"] == "batch size (64 up to 8,192 rows, then larger)"
    assert helps["lr"] == "AdamW learning rate (1e-3 at batch 64, x sqrt(batch / 64))"
