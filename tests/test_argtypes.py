"""The option parsers shared by the CLI and the benchmark scripts: one definition, used by
both, with the CLI's ``expected ...; got '...'`` messages."""

import argparse
import ast
from pathlib import Path

import pytest

from underdog import _argtypes, cli
from underdog._argtypes import (
    hidden_sizes,
    imbalance_ratio,
    int_at_least,
    nonnegative_int,
    positive_int,
)

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.parametrize(
    ("parse", "text", "value"),
    [
        (hidden_sizes, "128", (128,)),
        (hidden_sizes, "128, 64,", (128, 64)),
        (positive_int, "3", 3),
        (nonnegative_int, "0", 0),
        (imbalance_ratio, "1", 1.0),
        (imbalance_ratio, "12.5", 12.5),
    ],
)
def test_valid_text_parses(parse, text, value):
    assert parse(text) == value


@pytest.mark.parametrize(
    ("parse", "text", "message"),
    [
        (hidden_sizes, "abc", "expected sizes like 128,64; got 'abc'"),
        (hidden_sizes, ",", "expected positive sizes like 128,64; got ','"),
        (hidden_sizes, "8,0", "expected positive sizes like 128,64; got '8,0'"),
        (positive_int, "0", "expected a positive integer; got '0'"),
        (positive_int, "1.5", "expected a positive integer; got '1.5'"),
        (nonnegative_int, "-1", "expected a non-negative integer; got '-1'"),
        (imbalance_ratio, "0.5", "expected a finite number of at least 1; got '0.5'"),
        (imbalance_ratio, "inf", "expected a finite number of at least 1; got 'inf'"),
        (imbalance_ratio, "nan", "expected a finite number of at least 1; got 'nan'"),
    ],
)
def test_invalid_text_is_an_argument_type_error(parse, text, message):
    with pytest.raises(argparse.ArgumentTypeError) as info:
        parse(text)
    assert str(info.value) == message


def test_int_at_least_names_what_it_expects():
    assert int_at_least("2", 2, "an integer of at least 2") == 2
    with pytest.raises(argparse.ArgumentTypeError, match="expected an integer of at least 2"):
        int_at_least("1", 2, "an integer of at least 2")


def test_the_cli_uses_the_shared_parsers():
    types = {
        action.dest: action.type
        for sub in cli.build_parser()._subparsers._group_actions[0].choices.values()
        for action in sub._actions
    }
    assert types["hidden"] is hidden_sizes and types["epochs"] is positive_int
    assert types["seed"] is nonnegative_int and types["imbalance_ratio"] is imbalance_ratio


@pytest.mark.parametrize("script", sorted(BENCHMARKS.glob("bench_*.py")), ids=lambda p: p.stem)
def test_benchmarks_import_no_private_cli_helpers(script):
    """The benchmarks take their option parsers from underdog._argtypes, not from the CLI."""
    tree = ast.parse(script.read_text())
    modules = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "underdog.cli" not in modules
    assert set(_argtypes.__all__) >= {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "underdog._argtypes"
        for alias in node.names
    }


def test_run_options_take_their_defaults_from_the_config():
    from underdog.compare import CompareConfig

    defaults = CompareConfig(epochs=9, patience=4, batch_size=11, hidden=(32, 16))
    parser = argparse.ArgumentParser()
    _argtypes.add_run_options(parser, defaults, out="results")
    args = parser.parse_args([])
    assert (args.epochs, args.patience, args.batch_size) == (9, 4, 11)
    assert args.hidden == (32, 16) and args.out == "results"
    helps = {action.dest: action.help for action in parser._actions}
    assert helps["hidden"] == "hidden layer sizes (32,16)" and helps["epochs"] == "(9)"


def test_recipe_list_reads_names_as_the_library_does_and_rejects_empty_lists():
    from underdog._argtypes import recipe_list
    from underdog.recipes import RECIPES, recipe_names

    assert recipe_list(" balanced, focal,,balanced ") == recipe_names("balanced,focal")
    assert recipe_list("all") == list(RECIPES)
    with pytest.raises(argparse.ArgumentTypeError, match="expected recipe names"):
        recipe_list(",")
