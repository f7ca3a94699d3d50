"""Models and data named by the user: built-in names, or ``MODULE:FUNCTION`` factories.

A model is ``"mlp"`` (the default), ``"cnn"``, or ``"MODULE:FUNCTION"`` where ``MODULE`` is
an importable module name (``mypkg.models``) or the path of a ``.py`` file
(``models.py``, ``./nets/small.py``) and ``FUNCTION`` a factory returning an
``nn.Module``. The factory is called with the keyword arguments it accepts of
``num_features`` (the width of a preprocessed table row), ``input_shape`` (the shape of
one sample's input), ``num_classes``, ``hidden``, ``dropout`` and ``seed`` (all of them when it
takes ``**kwargs``), under a fixed seed, so that its initial weights are reproducible.

Data is ``"MODULE:FUNCTION"`` too: a factory called without arguments that returns a
``Dataset`` whose labels can be read without loading features (a ``targets`` or
``labels`` attribute, as torchvision's datasets have), a pandas ``DataFrame`` (with
``--target``) or a :class:`~underdog.data.Table`.

Importing a file or module runs its code: only names given by the user are ever
imported, never one read from a model directory (``predict`` checks that the ``--model``
given is the one a model was trained with).

:data:`RECIPE_MODELS` are the networks that recipes train with procedures of their own
(``balanced-bag``, ``balanced-bag-forest``): a model directory records them by name, with
the sizes their factory needs besides the common arguments (:func:`recipe_model_arguments`),
but ``--model`` does not name them.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .._validation import describe
from ..exceptions import InvalidParameterError
from ..training.ensembles import MEMBERS, BalancedBaggedMLP
from ..training.forests import BagForestBlend, TreeEnsemble
from ..training.networks import cnn, mlp

__all__ = [
    "BUILTIN_MODELS",
    "RECIPE_MODELS",
    "Factory",
    "build_model",
    "load_data",
    "load_factory",
    "recipe_model_arguments",
]


def _mlp(
    *, num_features: int, num_classes: int, hidden: Sequence[int], dropout: float, seed: int
) -> nn.Module:
    return mlp(num_features, num_classes, hidden=hidden, dropout=dropout, seed=seed)


def _cnn(*, input_shape: Sequence[int], num_classes: int, dropout: float, seed: int) -> nn.Module:
    return cnn(input_shape, num_classes, dropout=dropout, seed=seed)


#: The models known by name.
BUILTIN_MODELS: dict[str, Callable[..., nn.Module]] = {"mlp": _mlp, "cnn": _cnn}


def _balanced_bag(
    *, num_features: int, num_classes: int, hidden: Sequence[int], members: int = MEMBERS
) -> nn.Module:
    return BalancedBaggedMLP(num_features, num_classes, members=members, hidden=hidden[0])


def _balanced_bag_forest(
    *, num_features: int, num_classes: int, hidden: Sequence[int], trees: int, nodes: int,
    depth: int, members: int = MEMBERS,
) -> nn.Module:  # fmt: skip
    bag = BalancedBaggedMLP(num_features, num_classes, members=members, hidden=hidden[0])
    forest = TreeEnsemble(trees=trees, nodes=nodes, depth=depth, num_features=num_features,
                          num_classes=num_classes)  # fmt: skip
    return BagForestBlend(bag, forest)


#: The models recipes train with their own procedures (see :attr:`Recipe.model
#: <underdog.pipeline.recipes.Recipe.model>`), by the name a model directory records.
RECIPE_MODELS: dict[str, Callable[..., nn.Module]] = {
    "balanced-bag": _balanced_bag,
    "balanced-bag-forest": _balanced_bag_forest,
}


def recipe_model_arguments(module: nn.Module) -> dict[str, Any]:
    """The arguments of a :data:`RECIPE_MODELS` factory that come from the trained module.

    The bag's width and members, and the forest's sizes (known once it is fit).
    """
    bag = module.bag if isinstance(module, BagForestBlend) else module
    if not isinstance(bag, BalancedBaggedMLP):
        raise TypeError(f"not a model of RECIPE_MODELS: {type(module).__name__}")  # a bug
    arguments: dict[str, Any] = {"hidden": (bag.hidden,), "dropout": 0.0, "members": bag.members}
    if isinstance(module, BagForestBlend):
        forest = module.forest
        arguments.update(trees=forest.trees, nodes=forest.nodes, depth=forest.depth)
    return arguments


@dataclass(frozen=True)
class Factory:
    """A factory named by ``spec``: a built-in model, or ``FUNCTION`` of ``MODULE``."""

    spec: str
    function: Callable[..., Any]

    @property
    def builtin(self) -> bool:
        """True for a model of underdog's (``mlp``, ``cnn``, :data:`RECIPE_MODELS`)."""
        return self.spec in BUILTIN_MODELS or self.spec in RECIPE_MODELS

    def call(self, available: dict[str, Any], *, owner: str, name: str) -> Any:
        """Call the function with the arguments of ``available`` that it accepts.

        Raises:
            InvalidParameterError: it needs an argument that is not available.
        """
        parameters = inspect.signature(self.function).parameters.values()
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
            return self.function(**available)
        accepted = {p.name for p in parameters if p.kind is not inspect.Parameter.VAR_POSITIONAL}
        needed = [
            p.name for p in parameters
            if p.default is inspect.Parameter.empty and p.name not in available
            and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        ]  # fmt: skip
        if needed:
            raise InvalidParameterError(
                f"The '{name}' parameter of {owner} must name a factory whose arguments are "
                f"among {', '.join(available)}. Got {self.spec!r}, which also needs "
                f"{', '.join(map(repr, needed))} instead."
            )
        return self.function(**{k: v for k, v in available.items() if k in accepted})


def _bad_spec(name: str, owner: str, expected: str, spec: Any, why: str = "") -> Exception:
    reason = f" ({why})" if why else ""
    return InvalidParameterError(
        f"The '{name}' parameter of {owner} must be {expected}. Got {describe(spec)}{reason} "
        "instead."
    )


def _import(module: str, *, name: str, owner: str, spec: str) -> Any:
    """The module ``module``: an importable name, or a ``.py`` file's path."""
    if module.endswith(".py") or os.sep in module or "/" in module:
        path = os.path.abspath(module)
        if not os.path.isfile(path):
            raise _bad_spec(name, owner, "MODULE:FUNCTION with MODULE a module or .py file",
                            spec, f"there is no file {path}")  # fmt: skip
        unique = "underdog_user_" + hashlib.sha1(path.encode()).hexdigest()[:12]
        if unique in sys.modules:
            return sys.modules[unique]
        loader_spec = importlib.util.spec_from_file_location(unique, path)
        assert loader_spec is not None and loader_spec.loader is not None
        loaded = importlib.util.module_from_spec(loader_spec)
        sys.modules[unique] = loaded  # so that what it defines can be pickled
        loader_spec.loader.exec_module(loaded)
        return loaded
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise _bad_spec(name, owner, "MODULE:FUNCTION with MODULE a module or .py file",
                        spec, f"no module named {exc.name!r}") from exc  # fmt: skip


def load_factory(
    spec: Any, *, name: str = "model", owner: str = "compare", builtins: bool = True
) -> Factory:
    """The factory ``spec`` names (see the module docstring).

    Raises:
        InvalidParameterError: not a known name nor ``MODULE:FUNCTION``, a module that does
            not import, a function that is not there or not callable.
    """
    names = ", ".join(map(repr, BUILTIN_MODELS)) + " or " if builtins else ""
    expected = f"{names}MODULE:FUNCTION"
    if builtins and spec in BUILTIN_MODELS:
        return Factory(spec, BUILTIN_MODELS[spec])
    if not isinstance(spec, str) or spec.count(":") < 1:
        raise _bad_spec(name, owner, expected, spec)
    module_name, _, function_name = spec.rpartition(":")
    if not module_name or not function_name.isidentifier():
        raise _bad_spec(name, owner, expected, spec)
    module = _import(module_name, name=name, owner=owner, spec=spec)
    function = getattr(module, function_name, None)
    if not callable(function):
        raise _bad_spec(name, owner, expected, spec,
                        f"{module_name} has no function {function_name!r}")  # fmt: skip
    return Factory(spec, function)


def build_model(
    factory: Factory,
    *,
    num_features: int,
    input_shape: Sequence[int],
    num_classes: int,
    hidden: Sequence[int],
    dropout: float,
    seed: int,
    owner: str = "compare",
    sizes: dict[str, int] | None = None,
) -> nn.Module:
    """The model ``factory`` builds for a problem, under the seed ``seed``.

    ``sizes``: more integer arguments, such as the forest's sizes that a model directory
    records for a model of :data:`RECIPE_MODELS`.

    Raises:
        InvalidParameterError: the factory returned something else than an ``nn.Module``.
    """
    available = {"num_features": int(num_features), "input_shape": tuple(input_shape),
                 "num_classes": int(num_classes), "hidden": tuple(hidden),
                 "dropout": float(dropout), "seed": int(seed)}  # fmt: skip
    available.update({k: int(v) for k, v in (sizes or {}).items()})
    with torch.random.fork_rng(devices=[]):
        torch.random.default_generator.manual_seed(seed)
        model = factory.call(available, owner=owner, name="model")
    if not isinstance(model, nn.Module):
        raise _bad_spec("model", owner, "a factory that returns an nn.Module", factory.spec,
                        f"it returned {describe(model)}")  # fmt: skip
    return model


def load_data(spec: Any, *, owner: str = "compare") -> Any:
    """Call the data factory ``spec`` (``MODULE:FUNCTION``) and return what it returns.

    That is a ``Dataset``, a ``DataFrame`` or a :class:`~underdog.data.Table`, which the
    caller checks.
    """
    return load_factory(spec, name="data", owner=owner, builtins=False).call(
        {}, owner=owner, name="data"
    )
