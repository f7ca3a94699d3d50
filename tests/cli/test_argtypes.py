"""The option types of the CLI, shared with the benchmark scripts: one definition, used by
both, with the CLI's ``expected ...; got '...'`` messages."""

import argparse
import ast
from pathlib import Path

import pytest

from underdog.cli import argtypes, parser
from underdog.cli.argtypes import (
    device_name,
    hidden_sizes,
    imbalance_ratio,
    int_at_least,
    nonnegative_int,
    path_name,
    positive_int,
)

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


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
        (hidden_sizes, ",", "expected sizes from 1 to 1,048,576 like 128,64; got ','"),
        (hidden_sizes, "8,0", "expected sizes from 1 to 1,048,576 like 128,64; got '8,0'"),
        (
            hidden_sizes,
            "99999999999999",
            "expected sizes from 1 to 1,048,576 like 128,64; got '99999999999999'",
        ),
        (path_name, "", "expected a path; got ''"),
        (path_name, "  ", "expected a path; got '  '"),
        (device_name, "gpu", "expected auto, cpu, cuda or cuda:N; got 'gpu'"),
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
        for sub in parser.build_parser()._subparsers._group_actions[0].choices.values()
        for action in sub._actions
    }
    assert types["hidden"] is hidden_sizes and types["epochs"] is positive_int
    assert types["seed"] is nonnegative_int and types["imbalance_ratio"] is imbalance_ratio


@pytest.mark.parametrize("script", sorted(BENCHMARKS.glob("*.py")), ids=lambda p: p.stem)
def test_benchmarks_import_only_public_modules(script):
    """The benchmarks take option types from underdog.cli.argtypes and their own helpers from
    benchmarks/_common.py, never a private module of underdog."""
    tree = ast.parse(script.read_text())
    modules = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    modules |= {
        a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names
    }
    private = [m for m in modules if m and m.startswith("underdog") and "._" in m]
    assert private == []
    assert set(argtypes.__all__) >= {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "underdog.cli.argtypes"
        for alias in node.names
    }
