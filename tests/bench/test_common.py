"""The helpers the benchmark scripts share (benchmarks/_common.py)."""

import argparse

import pytest
from _common import add_run_options, recipe_list, write_atomically

from underdog.pipeline import RECIPES, CompareConfig
from underdog.pipeline.recipes import recipe_names


def test_run_options_take_their_defaults_from_the_config():
    defaults = CompareConfig(epochs=9, patience=4, batch_size=11, hidden=(32, 16))
    parser = argparse.ArgumentParser()
    add_run_options(parser, defaults, out="results")
    args = parser.parse_args([])
    assert (args.epochs, args.patience, args.batch_size) == (9, 4, 11)
    assert args.hidden == (32, 16) and args.out == "results"
    helps = {action.dest: action.help for action in parser._actions}
    assert helps["hidden"] == "hidden layer sizes (32,16)" and helps["epochs"] == "(9)"


def test_recipe_list_reads_names_as_the_library_does_and_rejects_empty_lists():
    assert recipe_list(" balanced, focal,,balanced ") == recipe_names("balanced,focal")
    assert recipe_list("all") == list(RECIPES)
    with pytest.raises(argparse.ArgumentTypeError, match="expected recipe names"):
        recipe_list(",")


def test_write_atomically_replaces_the_whole_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "out.csv"
    path.write_bytes(b"old content that is longer")
    write_atomically(path, b"new")
    assert path.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
