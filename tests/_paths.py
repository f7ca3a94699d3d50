"""Paths the tests share: the source directory of the underdog under test, the repository."""

from pathlib import Path

import underdog

#: The directory that holds the ``underdog`` package under test (``src`` in a checkout):
#: subprocesses get it on ``PYTHONPATH`` so that they import this code, not another install.
SRC = str(Path(underdog.__file__).resolve().parents[1])
#: The repository root (README.md, docs/, benchmarks/).
ROOT = Path(__file__).resolve().parents[1]


def load_benchmark(name: str):
    """The script ``benchmarks/NAME.py`` as a module, without running its ``main``."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
