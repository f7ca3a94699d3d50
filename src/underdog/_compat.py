"""The import paths of modules that moved when the package was laid out by floor.

``import underdog.compare`` (and ``from underdog.compare import compare``) keeps working:
an import hook builds a module of that old name holding the public names (``__all__``) of
the modules its contents moved to, and warns with a :class:`DeprecationWarning` that names
the new path. The hook only answers for the names in :data:`MOVED`, after every other
finder, so it never shadows a real module.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType

__all__ = ["MOVED", "install"]

#: Old module -> the modules whose public names it now gathers, in order.
MOVED: dict[str, tuple[str, ...]] = {
    "underdog.adjust": ("underdog.posthoc",),
    "underdog.train": ("underdog.training.loop", "underdog.pipeline.folds"),
    "underdog.networks": ("underdog.training.networks",),
    "underdog.launch": ("underdog.training.launch",),
    "underdog.recipes": ("underdog.pipeline.recipes",),
    "underdog.folds": (
        "underdog.pipeline.config",
        "underdog.pipeline.folds",
        "underdog.pipeline.runs",
        "underdog.pipeline.results",
        "underdog.pipeline.trainer",
    ),
    "underdog.compare": (
        "underdog.pipeline.runs",
        "underdog.pipeline.config",
        "underdog.pipeline.folds",
        "underdog.pipeline.results",
        "underdog.pipeline.trainer",
    ),
    "underdog.model": ("underdog.pipeline.model",),
    "underdog.report": ("underdog.pipeline.report", "underdog.pipeline.plots"),
}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds and loads the old module names of :data:`MOVED`."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None  # the default module

    def exec_module(self, module: ModuleType) -> None:
        sources = MOVED[module.__name__]
        names: list[str] = []
        for source in sources:
            moved = importlib.import_module(source)
            for name in getattr(moved, "__all__", ()):
                setattr(module, name, getattr(moved, name))
                names.append(name)
        module.__dict__["__all__"] = sorted(set(names))
        module.__doc__ = f"Moved to {', '.join(sources)}; this old path will be removed."
        warnings.warn(
            f"{module.__name__} has moved to {', '.join(sources)}; import from there "
            "(the old path will be removed in a later release)",
            DeprecationWarning,
            stacklevel=2,
        )


_FINDER = _MovedModules()


def install() -> None:
    """Put the hook last on ``sys.meta_path`` (once)."""
    if not any(isinstance(finder, _MovedModules) for finder in sys.meta_path):
        sys.meta_path.append(_FINDER)
