"""Exception types raised by underdog.

Every error the library raises on purpose derives from :class:`UnderdogError`, and each
also derives from the built-in exception that generic code expects (``ValueError`` or
``TypeError``), so ``except ValueError`` keeps working.

- :class:`InvalidParameterError`: a parameter has the wrong type or value (``gamma=-1``,
  an unknown scheme). It is both a ``ValueError`` and a ``TypeError``, as in scikit-learn.
- :class:`ShapeError`: tensors whose shapes or dtypes do not fit together.
- :class:`DataError`: the data itself breaks a requirement (negative labels, a class with
  no samples under the default policy, an empty label set).
- :class:`DivergenceError`: training stopped because its loss stopped being finite (a
  learning rate too high, non-finite inputs); nothing is saved. It is a
  ``FloatingPointError``.
- :class:`MissingDependencyError`: an optional dependency (an extra such as
  ``underdog[data]``) is not installed; the message says what to install. It is an
  ``ImportError``.
"""

from __future__ import annotations

__all__ = [
    "DataError",
    "DivergenceError",
    "InvalidParameterError",
    "MissingDependencyError",
    "ShapeError",
    "UnderdogError",
]


class UnderdogError(Exception):
    """Base class of every exception underdog raises on purpose."""


class InvalidParameterError(UnderdogError, ValueError, TypeError):
    """A parameter has a value or type outside its documented constraints."""


class ShapeError(UnderdogError, ValueError):
    """Tensors or arrays whose shapes or dtypes do not fit together."""


class DataError(UnderdogError, ValueError):
    """The data breaks a documented requirement (label range, empty input, zero counts)."""


class MissingDependencyError(UnderdogError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


class DivergenceError(UnderdogError, FloatingPointError):
    """Training diverged: its loss stopped being finite, so no model is returned."""
