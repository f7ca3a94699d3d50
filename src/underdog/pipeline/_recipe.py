"""The :class:`Recipe` type: plain data saying how to train and decide.

The registry of named recipes, :data:`~underdog.pipeline.recipes.RECIPES`, is in
:mod:`underdog.pipeline.recipes`, which re-exports this class.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..exceptions import DataError, InvalidParameterError, MissingDependencyError
from ..training.forests import imblearn_available

__all__ = ["Recipe"]


@dataclass(frozen=True)
class Recipe:
    """One way to train (and decide) on imbalanced data.

    Attributes:
        name: the registry key, as typed on the command line.
        summary: one line saying what the recipe does.
        loss: ``loss(counts) -> nn.Module`` from the training fold's class counts
            (int64 ``(C,)``); the module maps ``(logits (B, C), y (B,))`` to a scalar.
        sampler: draw training batches class-balanced
            (:class:`~underdog.samplers.ClassBalancedSampler`) instead of shuffling.
        posthoc: the decision rule applied at prediction time: ``"none"`` (argmax),
            ``"threshold"`` or ``"prior-correction"`` (see :mod:`underdog.posthoc`).
        binary_only: the recipe needs exactly two classes.
        schedule: ``schedule(counts)`` builds an object whose ``step(loss, epoch=,
            epochs=)`` runs before each epoch (from 0), such as
            :class:`~underdog.losses.DeferredReweighting`.
        on_epoch_start: a plain ``hook(loss, epoch, epochs)`` before each epoch, for
            schedules that are not objects.
        base: the recipe whose trained model this one reuses because training would give
            the same model (post-hoc recipes reuse ``"none"``); ``None`` trains its own.
        aliases: other names of this recipe (``balanced-softmax`` is the logit-adjusted
            loss by construction, so it is an alias of ``logit-adjusted``, not a second row).
        model: the network the recipe trains with its own procedure, a name of
            :data:`~underdog.pipeline.factories.RECIPE_MODELS` (``loss`` then only says
            what its members minimise); None trains the configuration's model with
            ``loss``, ``sampler`` and ``schedule``. Such a recipe needs a table of feature
            rows and the configuration's default model (``"mlp"``).
        needs_imblearn: the recipe needs imbalanced-learn.
    """

    name: str
    summary: str
    loss: Callable[[torch.Tensor], nn.Module]
    sampler: bool = False
    posthoc: str = "none"
    binary_only: bool = False
    on_epoch_start: Callable[[nn.Module, int, int], None] | None = None
    base: str | None = None
    schedule: Callable[[torch.Tensor], Any] | None = None
    aliases: tuple[str, ...] = ()
    model: str | None = None
    needs_imblearn: bool = False

    @property
    def trainer(self) -> Recipe:
        """The recipe whose loss and sampler train this recipe's model."""
        from .recipes import RECIPES

        return RECIPES[self.base] if self.base else self

    @property
    def training_key(self) -> str:
        """Recipes with the same key train the same model."""
        return self.base or self.name

    def problem(
        self, *, num_classes: int, name: str = "the data", rows: bool = True, model: str = "mlp"
    ) -> Exception | None:
        """Why the recipe cannot run on the problem (the error :meth:`check` raises), or None.

        ``rows``: the data is a table of feature rows (not a dataset of samples); ``model``:
        the configuration's model factory.
        """
        if self.binary_only and num_classes != 2:
            return DataError(
                f"The recipe {self.name!r} needs a binary target. Got {num_classes} classes "
                f"in {name} instead."
            )
        if self.model is not None and not rows:
            return DataError(
                f"The recipe {self.name!r} needs a table of feature rows (it trains its own "
                f"network on them). Got a dataset of samples in {name} instead."
            )
        if self.model is not None and model != "mlp":
            return InvalidParameterError(
                f"The 'model' parameter of CompareConfig must be 'mlp' (the default) with the "
                f"recipe {self.name!r}, which trains its own network. Got {model!r} instead."
            )
        if self.needs_imblearn and not imblearn_available():
            return MissingDependencyError(
                f"The recipe {self.name!r} needs imbalanced-learn: pip install 'underdog[tables]'."
            )
        return None

    def check(
        self, *, num_classes: int, name: str = "the data", rows: bool = True, model: str = "mlp"
    ) -> None:
        """Raise the error of :meth:`problem` when the recipe does not fit the problem.

        Raises:
            DataError: a binary-only recipe on more classes, or a recipe of its own network
                on a dataset of samples.
            InvalidParameterError: a recipe of its own network with another ``model``.
            MissingDependencyError: imbalanced-learn is needed and not installed.
        """
        error = self.problem(num_classes=num_classes, name=name, rows=rows, model=model)
        if error is not None:
            raise error
