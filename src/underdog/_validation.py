"""Parameter constraints and shape checks shared by the whole library.

Two tiers (see the house style): parameters and data facts are checked once, where they
enter a public function or constructor, with messages of the form

    The 'gamma' parameter of focal_loss must be a float in [0, inf). Got -1.0 instead.

while code that runs inside a training step checks only shapes and dtypes, never tensor
values, so that nothing synchronises a GPU and ``torch.compile(fullgraph=True)`` works.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch

from .exceptions import InvalidParameterError

__all__ = [
    "check_bool",
    "check_device",
    "check_int",
    "check_int_sequence",
    "check_option",
    "check_real",
    "check_reduction",
    "check_vector",
    "check_weight",
    "describe",
]

REDUCTIONS = ("mean", "none", "sum")


def describe(value: Any) -> str:
    """Short, readable rendering of a value for an error message."""
    if isinstance(value, torch.Tensor):
        if value.numel() <= 8:
            return f"tensor({value.tolist()}) of dtype {value.dtype}"
        return f"a tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    if isinstance(value, np.ndarray):
        if value.size <= 8:
            return f"array({value.tolist()}) of dtype {value.dtype}"
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _interval(low: float | None, high: float | None, closed: str) -> str:
    left = "[" if closed in ("both", "left") and low is not None else "("
    right = "]" if closed in ("both", "right") and high is not None else ")"
    lo = "-inf" if low is None else f"{low:g}"
    hi = "inf" if high is None else f"{high:g}"
    return f"{left}{lo}, {hi}{right}"


def _in_interval(x: float, low: float | None, high: float | None, closed: str) -> bool:
    if math.isnan(x):
        return False
    if low is not None and (x < low or (x == low and closed not in ("both", "left"))):
        return False
    if high is not None and (x > high or (x == high and closed not in ("both", "right"))):
        return False
    return True


def check_real(
    value: Any,
    *,
    name: str,
    owner: str,
    low: float | None = None,
    high: float | None = None,
    closed: str = "both",
) -> float:
    """Return ``value`` as a float after checking it is a finite real in the interval.

    ``closed`` is one of ``"both"``, ``"left"``, ``"right"``, ``"neither"`` and says which
    ends of ``[low, high]`` are allowed. A missing end means unbounded.
    """
    interval = _interval(low, high, closed)
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        x = float(value)
        ok = math.isfinite(x) and _in_interval(x, low, high, closed)
    if not ok:
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must be a float in {interval}. "
            f"Got {describe(value)} instead."
        )
    return float(value)


def check_int(
    value: Any, *, name: str, owner: str, low: int | None = None, high: int | None = None
) -> int:
    """Return ``value`` as an int after checking it is an integer in ``[low, high]``."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if ok:
        ok = (low is None or value >= low) and (high is None or value <= high)
    if not ok:
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must be an int in "
            f"{_interval(low, high, 'both')}. Got {describe(value)} instead."
        )
    return int(value)


def check_int_sequence(value: Any, *, name: str, owner: str, low: int | None = None) -> tuple:
    """Return ``value`` as a tuple of ints after checking it is a sequence (a tuple, list,
    ..., not a string) of integers of at least ``low``; it may be empty.
    """
    ok = isinstance(value, Sequence) and not isinstance(value, (str, bytes))
    if ok:
        ok = all(
            isinstance(v, numbers.Integral)
            and not isinstance(v, bool)
            and (low is None or v >= low)
            for v in value
        )
    if not ok:
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must be a sequence of ints in "
            f"{_interval(low, None, 'both')}. Got {describe(value)} instead."
        )
    return tuple(int(v) for v in value)


def check_device(value: Any, *, name: str, owner: str) -> torch.device | None:
    """Return ``value`` as a ``torch.device`` (``None`` stays ``None``) after checking it is a
    ``torch.device`` or a string that ``torch.device`` accepts, such as ``"cuda:0"``.

    Whether such a device is present is not checked: that is for the code that uses it.
    """
    device = None
    if isinstance(value, (str, torch.device)):
        try:
            device = torch.device(value)
        except RuntimeError:  # torch's only error for a string it cannot parse
            pass
    if device is None and value is not None:
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must be None, a torch.device or a device "
            f"string such as 'cpu' or 'cuda:0'. Got {describe(value)} instead."
        )
    return device


def check_bool(value: Any, *, name: str, owner: str) -> bool:
    """Return ``value`` after checking it is a bool."""
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must be a bool. Got {describe(value)} instead."
        )
    return bool(value)


def check_option(value: Any, *, name: str, owner: str, options: Iterable[Any]) -> Any:
    """Return ``value`` after checking it is one of ``options``."""
    options = tuple(options)
    if not any(value is opt or (type(value) is type(opt) and value == opt) for opt in options):
        listed = ", ".join(repr(opt) for opt in options)
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must be one of {listed}. "
            f"Got {describe(value)} instead."
        )
    return value


def check_reduction(value: Any, *, owner: str) -> str:
    """Check a ``reduction`` argument: one of ``"mean"``, ``"sum"``, ``"none"``."""
    return check_option(value, name="reduction", owner=owner, options=REDUCTIONS)


def check_vector(
    value: Any,
    *,
    name: str,
    owner: str,
    length: int | None = None,
    shape: Sequence[int] | None = None,
    nonnegative: bool = True,
) -> torch.Tensor:
    """Return ``value`` as a float tensor after checking shape, finiteness and sign.

    Accepts tensors, arrays, lists and scalars. Integer input becomes float64 (exact for
    counts up to 2**53); floating input keeps its dtype. This reads tensor values, so call
    it where parameters enter (constructors and public functions), never inside a training
    step.
    """
    try:
        if isinstance(value, torch.Tensor):
            tensor = value.detach()
        else:
            tensor = torch.as_tensor(np.asarray(value))
    except (TypeError, ValueError, RuntimeError) as exc:
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must be a sequence of numbers. "
            f"Got {describe(value)} instead."
        ) from exc
    if tensor.dtype == torch.bool or tensor.is_complex():
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must hold real numbers. "
            f"Got {describe(value)} instead."
        )
    if not tensor.is_floating_point():
        tensor = tensor.to(torch.float64)
    if tensor.ndim == 0:
        tensor = tensor.reshape(1)
    expected = tuple(shape) if shape is not None else None
    if expected is None and length is not None:
        expected = (length,)
    if expected is not None and tuple(tensor.shape) != expected:
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must have shape {expected}. "
            f"Got shape {tuple(tensor.shape)} instead."
        )
    if expected is None and tensor.ndim != 1:
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must be one-dimensional. "
            f"Got shape {tuple(tensor.shape)} instead."
        )
    if not bool(torch.isfinite(tensor).all()):
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must be finite. Got {describe(value)} instead."
        )
    if nonnegative and bool((tensor < 0).any()):
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must be non-negative. "
            f"Got {describe(value)} instead."
        )
    return tensor


def check_weight(value: Any, *, name: str, owner: str, **kwargs: Any) -> torch.Tensor:
    """:func:`check_vector` for weights: a floating tensor keeps its dtype, anything else
    (lists, arrays, integer tensors) becomes ``torch.get_default_dtype()``.
    """
    tensor = check_vector(value, name=name, owner=owner, **kwargs)
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return tensor
    return tensor.to(torch.get_default_dtype())
