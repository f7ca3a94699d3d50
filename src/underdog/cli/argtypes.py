"""Option types of the command line, shared with the benchmark scripts.

Each is an ``argparse`` ``type=`` function: it turns the option's text into a value or
raises :class:`argparse.ArgumentTypeError` with ``expected ...; got '...'``, which argparse
prints as one line naming the option. ``benchmarks/*.py`` import them from here, so both
read options the same way.
"""

from __future__ import annotations

import argparse
import math

__all__ = [
    "baseline_spec",
    "device_name",
    "hidden_sizes",
    "imbalance_ratio",
    "int_at_least",
    "nonnegative_int",
    "path_name",
    "positive_int",
    "recipe_name",
    "recipe_spec",
]


#: The widest hidden layer ``--hidden`` takes (about a million units: a layer of this width
#: over a thousand features is already 4 GB of weights).
MAX_HIDDEN = 2**20


def hidden_sizes(text: str) -> tuple[int, ...]:
    """``--hidden``: comma-separated positive layer sizes, such as ``128,64``."""
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 128,64; got {text!r}") from None
    if not sizes or min(sizes) < 1 or max(sizes) > MAX_HIDDEN:
        raise argparse.ArgumentTypeError(
            f"expected sizes from 1 to {MAX_HIDDEN:,} like 128,64; got {text!r}"
        )
    return sizes


def path_name(text: str) -> str:
    """``--out``: a path, not empty (an empty one would write into the current directory)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"expected a path; got {text!r}")
    return text


def int_at_least(text: str, low: int, what: str) -> int:
    """An integer of at least ``low``; ``what`` describes it in the error message."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}; got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"expected {what}; got {text!r}")
    return value


def positive_int(text: str) -> int:
    """An integer of at least 1."""
    return int_at_least(text, 1, "a positive integer")


def nonnegative_int(text: str) -> int:
    """An integer of at least 0."""
    return int_at_least(text, 0, "a non-negative integer")


def imbalance_ratio(text: str) -> float:
    """``--imbalance-ratio``: a finite number of at least 1."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 1):
        raise argparse.ArgumentTypeError(f"expected a finite number of at least 1; got {text!r}")
    return value


def recipe_spec(text: str) -> str:
    """``--recipes``: ``default``, ``all`` or comma-separated names of registered recipes.

    Aliases count as names. The text is returned as given, for
    :func:`underdog.pipeline.resolve_recipes`.
    """
    from ..exceptions import InvalidParameterError
    from ..pipeline.recipes import recipe_names, recipe_options

    try:
        names = recipe_names(text) if text.strip() else []
    except InvalidParameterError:
        names = []
    if not names:
        raise argparse.ArgumentTypeError(
            f"expected recipe names like none,balanced, 'default' or 'all'; got {text!r}"
        )
    unknown = [name for name in names if name not in recipe_options()]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"expected recipe names from {', '.join(recipe_options())}; got "
            f"{unknown[0]!r}{_baseline_hint(unknown[0], '--baselines')}"
        )
    return text


def _baseline_hint(name: str, where: str) -> str:
    """For a baseline's name where a recipe is expected: what it is, and where it goes."""
    from ..pipeline.baselines import BASELINES

    if name not in BASELINES:
        return ""
    return f" (a baseline, a scikit-learn model underdog does not train: {where})"


def recipe_name(text: str) -> str:
    """``--recipe``: one registered recipe name (or alias).

    A baseline's name is refused with a hint: ``train`` trains and saves recipes only.
    """
    from ..pipeline.recipes import recipe_options

    if text not in recipe_options():
        hint = _baseline_hint(text, "compare it with `underdog compare --baselines`")
        raise argparse.ArgumentTypeError(
            f"expected a recipe name from {', '.join(recipe_options())}; got {text!r}{hint}"
        )
    return text


def baseline_spec(text: str) -> str:
    """``--baselines``: ``all`` or comma-separated baseline names, each registered.

    Returned as given, for :func:`underdog.pipeline.resolve_baselines`.
    """
    from ..pipeline.baselines import BASELINES, baseline_names

    names = baseline_names(text)
    if not names:
        raise argparse.ArgumentTypeError(
            f"expected baseline names like logreg-balanced,balanced-rf or 'all'; got {text!r}"
        )
    unknown = [name for name in names if name not in BASELINES]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"expected baseline names from {', '.join(BASELINES)} or 'all'; got {unknown[0]!r}"
        )
    return text


def device_name(text: str) -> str:
    """``--device``: ``auto``, or a device torch knows (``cpu``, ``cuda``, ``cuda:1``)."""
    if text == "auto":
        return text
    import torch

    try:
        torch.device(text)
    except RuntimeError:
        raise argparse.ArgumentTypeError(
            f"expected auto, cpu, cuda or cuda:N; got {text!r}"
        ) from None
    return text
