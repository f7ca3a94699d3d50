"""Parameter constraints, shape checks and the one grammar of underdog's error messages.

Every error message the library raises on purpose is built by :func:`message`, one line of
complete sentences:

    The 'gamma' parameter of focal_loss must be a float in [0, inf). Got -1.0 instead.

that is ``The '<name>' parameter of <owner> must <expectation>. Got <what> instead.``, where
``<owner>`` is the public function, class or method that received the parameter (tensors
passed to a loss are parameters too: ``The 'target' parameter of cross_entropy ...``). The
exception class says which rule was broken:

- :class:`~underdog.InvalidParameterError`: a parameter of the wrong type or value, an
  unknown name or option (the message lists the valid ones), two exclusive options;
- :class:`~underdog.ShapeError`: tensors or arrays whose shapes or dtypes do not fit;
- :class:`~underdog.DataError`: bad label *values* (negative, out of range, not integers,
  NaN) and data that breaks a requirement (a class without samples, no labels at all).

Checks come in two tiers (see the house style): parameters and data facts are checked
once, where they enter a public function or constructor, while code that runs inside a
training step checks only shapes and dtypes, never tensor values, so that nothing
synchronises a GPU and ``torch.compile(fullgraph=True)`` works (:func:`eager`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import TypeVar

import numpy as np
import torch

from .exceptions import DataError, InvalidParameterError

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "REDUCTIONS",
    "check_bool",
    "check_counts",
    "check_device",
    "check_exclusive",
    "check_int",
    "check_int_sequence",
    "check_no_empty",
    "check_option",
    "check_real",
    "check_reduction",
    "check_vector",
    "check_weight",
    "describe",
    "describe_shape",
    "eager",
    "listed",
    "message",
    "quoted",
]

#: The ``reduction`` options of every loss.
REDUCTIONS = ("mean", "none", "sum")
#: The range of an ``ignore_index`` (a label value: int64, as tensors of labels hold).
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

_Option = TypeVar("_Option")


# ----------------------------------------------------------------------------- the grammar


def message(name: str, owner: str, *, must: str, got: str) -> str:
    """The one grammar of the library's errors, as one line.

    Args:
        name: the parameter (argument) that is wrong, without quotes.
        owner: the public function, class or method that received it.
        must: what the parameter must be or hold, without the leading "must" and without a
            final period; a reason or a hint belongs here, before the value.
        got: what was received, without a final period.

    Returns:
        ``"The '<name>' parameter of <owner> must <must>. Got <got> instead."``

    Example:
        >>> message("gamma", "focal_loss", must="be a float in [0, inf)", got="-1.0")
        "The 'gamma' parameter of focal_loss must be a float in [0, inf). Got -1.0 instead."
    """
    return f"The '{name}' parameter of {owner} must {must}. Got {got} instead."


def describe(value: object) -> str:
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


def describe_shape(shape: Sequence[int]) -> str:
    """A shape as Python writes a tuple: ``(4,)``, ``(4, 3)``."""
    return "(" + ", ".join(str(int(s)) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def quoted(names: Sequence[str]) -> str:
    """``'a'``, ``'a' and 'b'``, ``'a', 'b' and 'c'``: parameter names in a sentence."""
    parts = [f"'{name}'" for name in names]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def listed(items: Sequence[object], limit: int = 10) -> str:
    """A list of at most ``limit`` items for a message, ``" ..."`` marking the rest."""
    return f"{list(items[:limit])}{' ...' if len(items) > limit else ''}"


def eager() -> bool:
    """False while ``torch.compile`` traces: checks of Python scalars are skipped there.

    The Modules check their hyper-parameters once, at construction; under ``torch.compile``
    Dynamo may trace a float attribute as symbolic, which ``math.isfinite`` cannot read.
    """
    return not torch.compiler.is_compiling()


# ----------------------------------------------------------------------------- scalars


def _interval(low: float | None, high: float | None, closed: str) -> str:
    left = "[" if closed in ("both", "left") and low is not None else "("
    right = "]" if closed in ("both", "right") and high is not None else ")"
    lo = "-inf" if low is None else _number(low)
    hi = "inf" if high is None else _number(high)
    return f"{left}{lo}, {hi}{right}"


def _number(bound: float) -> str:
    """An int as it is (2**28 is 268435456), a float as ``:g`` writes it."""
    return str(bound) if isinstance(bound, int) else f"{bound:g}"


def _in_interval(x: float, low: float | None, high: float | None, closed: str) -> bool:
    if math.isnan(x):
        return False
    if low is not None and (x < low or (x == low and closed not in ("both", "left"))):
        return False
    if high is not None and (x > high or (x == high and closed not in ("both", "right"))):
        return False
    return True


def check_real(
    value: object,
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
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        x = float(value)
        if math.isfinite(x) and _in_interval(x, low, high, closed):
            return x
    raise InvalidParameterError(
        message(
            name,
            owner,
            must=f"be a float in {_interval(low, high, closed)}",
            got=describe(value),
        )
    )


def check_int(
    value: object, *, name: str, owner: str, low: int | None = None, high: int | None = None
) -> int:
    """Return ``value`` as an int after checking it is an integer in ``[low, high]``."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        number = int(value)
        if (low is None or number >= low) and (high is None or number <= high):
            return number
    raise InvalidParameterError(
        message(
            name,
            owner,
            must=f"be an int in {_interval(low, high, 'both')}",
            got=describe(value),
        )
    )


def check_int_sequence(
    value: object, *, name: str, owner: str, low: int | None = None
) -> tuple[int, ...]:
    """Return ``value`` as a tuple of ints after checking it is a sequence of ints.

    A tuple, list, ... (not a string) of integers of at least ``low``; it may be empty.
    """
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        items = list(value)
        if all(
            isinstance(v, numbers.Integral)
            and not isinstance(v, bool)
            and (low is None or int(v) >= low)
            for v in items
        ):
            return tuple(int(v) for v in items)
    raise InvalidParameterError(
        message(
            name,
            owner,
            must=f"be a sequence of ints in {_interval(low, None, 'both')}",
            got=describe(value),
        )
    )


def check_device(value: object, *, name: str, owner: str) -> torch.device | None:
    """Return ``value`` as a ``torch.device`` after checking it names one.

    ``value`` is a ``torch.device`` or a string that ``torch.device`` accepts, such as
    ``"cuda:0"``; ``None`` stays ``None``.

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
            message(
                name,
                owner,
                must="be None, a torch.device or a device string such as 'cpu' or 'cuda:0'",
                got=describe(value),
            )
        )
    return device


def check_bool(value: object, *, name: str, owner: str) -> bool:
    """Return ``value`` after checking it is a bool."""
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidParameterError(message(name, owner, must="be a bool", got=describe(value)))
    return bool(value)


def check_option(value: object, *, name: str, owner: str, options: Iterable[_Option]) -> _Option:
    """Return ``value`` after checking it is one of ``options`` (the message lists them)."""
    choices = tuple(options)
    for option in choices:
        if value is option or (type(value) is type(option) and value == option):
            return option
    raise InvalidParameterError(
        message(
            name,
            owner,
            must="be one of " + ", ".join(repr(option) for option in choices),
            got=describe(value),
        )
    )


def check_reduction(value: object, *, owner: str) -> str:
    """Check a ``reduction`` argument: one of ``"mean"``, ``"none"``, ``"sum"``."""
    return check_option(value, name="reduction", owner=owner, options=REDUCTIONS)


def check_exclusive(owner: str, *, required: bool = False, **values: object) -> str | None:
    """Check that at most one of ``values`` (exactly one when ``required``) is not None.

    Args:
        owner: the function or class that received the parameters.
        required: one of them must be given.
        **values: the exclusive parameters by name, in the order of the signature.

    Returns:
        The name of the parameter that was given, or None when none was.

    Raises:
        InvalidParameterError: two of them given (the message names the second), or none
            given when ``required``.

    Example:
        >>> check_exclusive("f", power=None, class_weight=[1, 2])
        'class_weight'
    """
    given = [name for name, value in values.items() if value is not None]
    names = quoted(list(values))
    rule = f"pass {'exactly' if required else 'at most'} one of {names}"
    if len(given) > 1:
        first, second = given[:2]
        raise InvalidParameterError(
            message(
                second,
                owner,
                must=f"be None when '{first}' is given ({rule})",
                got=describe(values[second]),
            )
        )
    if required and not given:
        raise InvalidParameterError(
            message(next(iter(values)), owner, must=f"be given ({rule})", got="None")
        )
    return given[0] if given else None


# ----------------------------------------------------------------------------- vectors


def _as_real_tensor(value: object, *, name: str, owner: str) -> torch.Tensor:
    """``value`` as a floating tensor (integers become float64, exact up to 2**53)."""
    try:
        if isinstance(value, torch.Tensor):
            tensor = value.detach()
        else:
            tensor = torch.as_tensor(np.asarray(value))
    except (TypeError, ValueError, RuntimeError) as exc:
        raise InvalidParameterError(
            message(name, owner, must="be a sequence of numbers", got=describe(value))
        ) from exc
    if tensor.layout != torch.strided or tensor.is_meta:
        raise InvalidParameterError(
            message(
                name,
                owner,
                must="be a dense tensor with values (not sparse, not on the meta device)",
                got=f"a tensor of layout {tensor.layout} on the {tensor.device.type} device",
            )
        )
    if tensor.dtype == torch.bool or tensor.is_complex():
        raise InvalidParameterError(
            message(name, owner, must="hold real numbers", got=describe(value))
        )
    if not tensor.is_floating_point():
        tensor = tensor.to(torch.float64)
    return tensor.reshape(1) if tensor.ndim == 0 else tensor


def check_vector(
    value: object,
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
    tensor = _as_real_tensor(value, name=name, owner=owner)
    expected = tuple(shape) if shape is not None else None
    if expected is None and length is not None:
        expected = (length,)
    got_shape = f"shape {describe_shape(tensor.shape)}"
    if expected is not None and tuple(tensor.shape) != expected:
        must = f"have shape {describe_shape(expected)}"
        raise InvalidParameterError(message(name, owner, must=must, got=got_shape))
    if expected is None and tensor.ndim != 1:
        raise InvalidParameterError(message(name, owner, must="be one-dimensional", got=got_shape))
    if not bool(torch.isfinite(tensor).all()):
        raise InvalidParameterError(message(name, owner, must="be finite", got=describe(value)))
    if nonnegative and bool((tensor < 0).any()):
        raise InvalidParameterError(
            message(name, owner, must="be non-negative", got=describe(value))
        )
    return tensor


def check_weight(
    value: object,
    *,
    name: str,
    owner: str,
    length: int | None = None,
    shape: Sequence[int] | None = None,
) -> torch.Tensor:
    """:func:`check_vector` for weights, in the dtype the weights keep.

    A floating tensor keeps its dtype, anything else (lists, arrays, integer tensors)
    becomes ``torch.get_default_dtype()``.
    """
    tensor = check_vector(value, name=name, owner=owner, length=length, shape=shape)
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return tensor
    return tensor.to(torch.get_default_dtype())


def check_no_empty(
    counts: torch.Tensor,
    *,
    name: str,
    owner: str,
    must: str = "be positive for every class",
    entries: str = "classes",
    lacking: str = "samples",
) -> None:
    """Raise :class:`DataError` naming the entries of ``counts`` that are 0.

    The one check of "classes have no samples": ``counts`` is ``(C,)`` (entries named by
    index) or ``(L, C)`` (by ``(row, column)`` pairs); ``must`` ends with the reason or the
    way out, for example ``"be positive for every class unless zero_count is 'zero'"``.

    Example:
        >>> try:
        ...     check_no_empty(torch.tensor([3.0, 0.0, 1.0]), name="counts", owner="f")
        ... except DataError as error:
        ...     print(error)
        The 'counts' parameter of f must be positive for every class. Got classes [1] with no
        samples instead.
    """
    empty = (counts <= 0).nonzero().tolist()
    if empty:
        indices = [index[-1] if counts.ndim == 1 else tuple(index) for index in empty]
        raise DataError(
            message(name, owner, must=must, got=f"{entries} {listed(indices)} with no {lacking}")
        )


def check_counts(
    value: object, *, owner: str, name: str = "counts", positive: bool = False, why: str = ""
) -> torch.Tensor:
    """Return class counts ``(C,)`` as a float64 CPU tensor after checking them.

    The counts must be one-dimensional, finite and non-negative
    (:class:`~underdog.InvalidParameterError` otherwise) and hold at least one class
    (:class:`DataError`); with ``positive`` a class with count 0 raises :class:`DataError`
    naming it (:func:`check_no_empty`), ``why`` saying why, as a clause such as
    ``", since its log-prior would be -inf"``.
    """
    counts = check_vector(value, name=name, owner=owner).to(torch.float64).cpu()
    if counts.numel() == 0:
        raise DataError(
            message(name, owner, must="hold the count of at least one class", got="none")
        )
    if positive:
        check_no_empty(counts, name=name, owner=owner, must="be positive for every class" + why)
    return counts
