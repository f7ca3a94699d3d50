"""Package surface: sorted re-exports, exception types, and every docstring example runs."""

from __future__ import annotations

import ast
import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import underdog
from underdog import (
    DataError,
    InvalidParameterError,
    MissingDependencyError,
    ShapeError,
    UnderdogError,
)


def _modules():
    yield underdog
    for info in pkgutil.walk_packages(underdog.__path__, prefix="underdog."):
        if info.name.endswith("__main__"):
            continue
        yield importlib.import_module(info.name)


@pytest.mark.parametrize("module", ["underdog", "underdog.losses"])
def test_all_is_sorted_and_importable(module):
    mod = importlib.import_module(module)
    assert list(mod.__all__) == sorted(mod.__all__)
    for name in mod.__all__:
        assert hasattr(mod, name), name


def test_version():
    assert isinstance(underdog.__version__, str) and underdog.__version__.count(".") == 2


def test_exception_hierarchy():
    assert issubclass(InvalidParameterError, (UnderdogError, ValueError))
    assert issubclass(InvalidParameterError, TypeError)
    assert issubclass(ShapeError, ValueError) and issubclass(ShapeError, UnderdogError)
    assert issubclass(DataError, ValueError) and issubclass(DataError, UnderdogError)
    assert issubclass(MissingDependencyError, ImportError)
    assert issubclass(MissingDependencyError, UnderdogError)


@pytest.mark.parametrize("module", list(_modules()), ids=lambda m: m.__name__)
def test_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def _imported_modules(path: Path, package: str) -> set[str]:
    """The absolute names of the modules ``path`` imports anywhere (in functions too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module) if part)
            names.add(module)
            names |= {f"{module}.{alias.name}" for alias in node.names}
    return names


def test_no_module_imports_the_command_line():
    """Imports point one way: the CLI imports the library, never the other way round (not
    even inside a function, where a cycle goes unnoticed until that function runs)."""
    root = Path(underdog.__file__).parent
    for path in sorted(root.rglob("*.py")):
        if path.name in ("cli.py", "__main__.py"):
            continue
        package = ".".join(("underdog", *path.parent.relative_to(root).parts))
        assert "underdog.cli" not in _imported_modules(path, package), path.name
