"""README is a promise: its commands are the ones CI runs, and its quick start runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_ci_runs_the_readme_test_command_verbatim():
    ci_lines = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    commands = [line for line in ci_lines if "pytest" in line]
    assert len(commands) == 1
    assert f"\n{commands[0]}\n" in README


def test_ci_runs_the_checks_readme_shows():
    """The static checks CI runs after the tests are the ones README's Development section
    gives (lint, format, types, the import contracts)."""
    ci = (ROOT / ".ci" / "run").read_text()
    for tool in ("ruff check", "ruff format --check", "mypy", "lint-imports"):
        assert tool in ci and tool in README, tool


def test_quick_start_runs():
    block = re.search(r"## Quick start\n\n```python\n(.*?)```", README, re.S).group(1)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    # The values the quick start's comments promise.
    assert namespace["counts"].tolist() == [900, 100]
    weights = namespace["underdog"].class_weight(namespace["counts"])
    assert [round(w, 4) for w in weights.tolist()] == [0.5556, 5.0]
    assert namespace["underdog"].class_weight([100, 800, 100], scheme="inverse").tolist() == [
        10.0, 1.25, 10.0
    ]  # fmt: skip
    assert namespace["bce"].pos_weight.tolist() == [9.0]
    assert namespace["pw"].shape == (5,)
    assert namespace["underdog"].class_counts(namespace["loader"]).tolist() == [900, 100]
