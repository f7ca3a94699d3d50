"""Package surface: exception types, the version, and every docstring example runs (the
exported names are snapshotted in test_api.py)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

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
