"""The structure of ``model.json``, checked before any of it is used.

:func:`check_description` checks the parsed JSON of a model directory against
:data:`SCHEMA` (required entries, their types and ranges), then the entries that must agree
with each other (distinct class labels, one median, mean and scale per numeric column, one
prior per class, ``in_features`` equal to the number of features the preprocessing
produces) and what the post-hoc rule of each kind needs. A description that passes is one
that :func:`~underdog.training.mlp`, :meth:`Preprocessor.from_dict
<underdog.data.Preprocessor.from_dict>` and :meth:`PostHoc.from_dict
<underdog.posthoc.PostHoc.from_dict>` accept, so :meth:`TrainedModel.load
<underdog.pipeline.model.TrainedModel.load>` calls them outside any ``try``: an error they raise is
a bug in underdog, not a bad file.

A schema is plain data: a ``dict`` is a JSON object with those entries (a name ending in
``?`` is optional; other entries are ignored), a one-item ``list`` is a JSON array whose
items all match that item, a :class:`_Leaf` is a test of one value with the words for what
it expects, and :class:`_Nullable` also allows ``null``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._validation import describe
from ..exceptions import DataError
from ..posthoc import KINDS

__all__ = ["MAX_HIDDEN", "SCHEMA", "check_description"]


@dataclass(frozen=True)
class _Leaf:
    what: str
    test: Callable[[Any], bool]


@dataclass(frozen=True)
class _Nullable:
    spec: Any


def _int(low: int, high: int | None = None) -> _Leaf:
    what = f"an int of at least {low}" if high is None else f"an int in [{low}, {high}]"
    return _Leaf(
        what,
        lambda v: (
            isinstance(v, int)
            and not isinstance(v, bool)
            and low <= v
            and (high is None or v <= high)
        ),
    )


def _finite(v: int | float) -> bool:
    """``math.isfinite``, but false for the ints of JSON beyond float range.

    ``math.isfinite`` raises ``OverflowError`` for those.
    """
    try:
        return math.isfinite(v)
    except OverflowError:
        return False


def _real(what: str, within: Callable[[float], bool] = lambda x: True) -> _Leaf:
    def test(v: Any) -> bool:
        number = isinstance(v, (int, float)) and not isinstance(v, bool)
        return number and _finite(v) and within(v)

    return _Leaf(what, test)


def _one_of(*options: str) -> _Leaf:
    return _Leaf(
        "one of " + ", ".join(map(repr, options)), lambda v: isinstance(v, str) and v in options
    )


_STR = _Leaf("a string", lambda v: isinstance(v, str))
_LABEL = _Leaf("a string, number or boolean", lambda v: isinstance(v, (str, int, float, bool)))
_REAL = _real("a finite number")
_POSITIVE = _real("a finite number above 0", lambda x: x > 0)
#: The largest hidden layer size (that of ``--hidden``): the bytes of any two sizes' product
#: must fit PyTorch's int64 sizes for a module to be built on the ``meta`` device, where the
#: weights' shapes are compared before anything is allocated.
MAX_HIDDEN = 2**20
#: The largest size of an input dimension or number of features.
MAX_SIZE = 2**31 - 1
#: The most members of a bag or trees of a forest, and nodes of a tree, in a model
#: directory: bounds that keep the sizes of the arrays built to check the weights in range.
MAX_MEMBERS = 2**16
MAX_NODES = 2**24


def _sha256(v: Any) -> bool:
    return isinstance(v, str) and len(v) == 64 and all(c in "0123456789abcdef" for c in v)


#: What ``model.json`` holds besides ``format`` and ``version`` (see ``docs/cli.md``).
SCHEMA: dict[str, Any] = {
    "recipe": _STR,
    "target": _STR,
    "classes": [_LABEL],
    "model": {
        "factory": _STR,
        "arguments": {
            "num_features": _int(1, MAX_SIZE),
            "input_shape": [_int(1, MAX_SIZE)],
            "num_classes": _int(2),
            "hidden": [_int(1, MAX_HIDDEN)],
            "dropout": _real("a number in [0, 1)", lambda x: 0 <= x < 1),
            "seed": _int(0),
            # The sizes of the networks recipes train themselves (RECIPE_MODELS).
            "members?": _int(1, MAX_MEMBERS),
            "trees?": _int(1, MAX_MEMBERS),
            "nodes?": _int(1, MAX_NODES),
            "depth?": _int(0, MAX_NODES),
        },
    },
    "data?": _Nullable(_STR),
    "preprocessing": _Nullable(
        {
            "numeric": [_STR],
            "medians": [_REAL],
            "means": [_REAL],
            "scales": [_POSITIVE],
            "categorical": [_STR],
            "levels": [[_STR]],
        }
    ),
    "posthoc": {
        "kind": _one_of(*KINDS),
        "priors?": _Nullable([_POSITIVE]),
        "tau?": _REAL,
        "threshold?": _Nullable(_real("a number in [0, 1]", lambda x: 0 <= x <= 1)),
        "minority?": _Nullable(_int(0)),
    },
    "training?": {},
    "weights": {"sha256": _Leaf("64 lowercase hexadecimal digits", _sha256)},
}


class _Invalid(Exception):
    """What is wrong with one entry of a model description; the message names the entry.

    :func:`check_description` turns it into a :class:`DataError` naming the file.
    """


def _check(value: Any, spec: Any, key: str) -> None:
    """Check ``value`` (the entry ``key``) against ``spec``; raise :class:`_Invalid`."""
    if isinstance(spec, _Nullable):
        if value is not None:
            _check(value, spec.spec, key)
    elif isinstance(spec, dict):
        if not isinstance(value, dict):
            raise _Invalid(f"'{key}' must be an object, got {describe(value)}")
        for name, sub in spec.items():
            entry = name.rstrip("?")
            path = f"{key}.{entry}" if key else entry
            if entry in value:
                _check(value[entry], sub, path)
            elif not name.endswith("?"):
                raise _Invalid(f"it has no '{path}' entry")
    elif isinstance(spec, list):
        if not isinstance(value, list):
            raise _Invalid(f"'{key}' must be a list, got {describe(value)}")
        for i, item in enumerate(value):
            _check(item, spec[0], f"{key}[{i}]")
    elif not spec.test(value):
        raise _Invalid(f"'{key}' must be {spec.what}, got {describe(value)}")


def _check_agreement(meta: dict) -> None:
    """The entries that must agree with each other, and what each post-hoc kind needs."""
    classes, post = meta["classes"], meta["posthoc"]
    n = len(classes)
    if n < 2 or len(set(classes)) < n:
        raise _Invalid(f"'classes' must list 2 or more distinct labels, got {describe(classes)}")
    _check_preprocessing(meta)
    _check_posthoc(post, n)


def _check_preprocessing(meta: dict[str, Any]) -> None:
    """The preprocessing's lists agree with each other and with the model's input."""
    pre, arguments = meta["preprocessing"], meta["model"]["arguments"]
    if arguments["num_classes"] != len(meta["classes"]):
        raise _Invalid(
            f"'model.arguments.num_classes' must be {len(meta['classes'])} (the number of "
            f"classes), got {arguments['num_classes']}"
        )
    if pre is None:  # a model of a dataset's samples: no preprocessing
        return
    numeric, categorical = len(pre["numeric"]), len(pre["categorical"])
    features = numeric + sum(len(levels) for levels in pre["levels"])
    lengths = {  # entry: (the length it must have, why)
        "preprocessing.medians": (numeric, "one per numeric column"),
        "preprocessing.means": (numeric, "one per numeric column"),
        "preprocessing.scales": (numeric, "one per numeric column"),
        "preprocessing.levels": (categorical, "one list per categorical column"),
    }
    for key, (expected, why) in lengths.items():
        got = pre[key.split(".")[1]]
        if len(got) != expected:
            entries = "entry" if expected == 1 else "entries"
            raise _Invalid(f"'{key}' must have {expected} {entries} ({why}), got {len(got)}")
    if arguments["num_features"] != features:
        raise _Invalid(
            f"'model.arguments.num_features' must be {features} (the number of preprocessed "
            f"features), got {arguments['num_features']}"
        )


def _check_posthoc(post: dict[str, Any], n: int) -> None:
    """What the post-hoc rule of each kind needs, for ``n`` classes."""
    priors = post.get("priors")
    if priors is not None and len(priors) != n:
        raise _Invalid(f"'posthoc.priors' must have {n} entries (one per class), got {len(priors)}")
    kind, threshold, minority = (post.get(k) for k in ("kind", "threshold", "minority"))
    if minority is not None and minority >= n:
        raise _Invalid(f"'posthoc.minority' must be a class index below {n}, got {minority}")
    if kind == "threshold" and threshold is not None:
        if n != 2:
            raise _Invalid(
                f"'posthoc.threshold' must be null with {n} classes (one threshold is for 2), "
                f"got {describe(threshold)}"
            )
        if minority is None:
            raise _Invalid("'posthoc.minority' must be a class index with a threshold, got None")
    elif kind != "none" and priors is None:
        raise _Invalid(f"'posthoc.priors' must be a list for the post-hoc kind {kind!r}, got None")


def check_description(meta: Any, *, path: str, version: int) -> None:
    """Check the parsed ``model.json`` at ``path``, of the format ``version``.

    Raises:
        DataError: one sentence naming ``path`` and the offending entry, such as
            ``The file .../model.json is not a valid underdog model description:
            'architecture.hidden[0]' must be an int in [1, 2147483647], got 0.``
    """
    if not isinstance(meta, dict) or meta.get("format") != "underdog-model":
        raise DataError(f"The file {path} is not an underdog model description.")
    if meta.get("version") != version or isinstance(meta.get("version"), bool):
        raise DataError(
            f"The file {path} has model format version {describe(meta.get('version'))}; this "
            f"underdog reads version {version}."
        )
    try:
        _check(meta, SCHEMA, "")
        _check_agreement(meta)
    except _Invalid as exc:
        raise DataError(
            f"The file {path} is not a valid underdog model description: {exc}."
        ) from None
