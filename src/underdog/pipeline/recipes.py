"""Named, frozen recipes for training on imbalanced data.

A :class:`Recipe` is plain data saying how to train and decide: a loss factory built from
the training fold's class counts, whether to draw class-balanced batches, an optional
schedule factory (such as LDAM's deferred re-weighting, an object of
:mod:`underdog.losses.schedules`) and an optional post-hoc decision rule
(:mod:`underdog.posthoc`). The registry :data:`RECIPES` is shared by the CLI, the tests and
the benchmarks; :func:`~underdog.pipeline.trainer.train_recipe` trains one.

Adding a recipe is one entry: a name, one line saying what it does, and a factory that
builds the loss from the training fold's counts, for example::

    Recipe("focal", "focal loss, gamma = 2", lambda counts: FocalCrossEntropyLoss(gamma=2.0))

The names of :data:`~underdog.pipeline.baselines.BASELINES` (scikit-learn models that
``compare`` fits beside the recipes) are not recipes: :func:`get_recipe` says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .._validation import describe
from ..counts import MultilabelCounts
from ..exceptions import DataError, InvalidParameterError
from ..losses import (
    BCEWithLogitsLoss,
    ClassBalancedLoss,
    CrossEntropyLoss,
    DeferredReweighting,
    FocalCrossEntropyLoss,
    LDAMLoss,
    LogitAdjustedLoss,
    MinorityLogitLoss,
)
from ..weights import pos_weight
from .baselines import BASELINES

__all__ = [
    "DEFAULT_RECIPE",
    "DEFAULT_RECIPES",
    "EFFECTIVE_BETA",
    "RECIPES",
    "Recipe",
    "get_recipe",
    "recipe_names",
    "recipe_options",
    "resolve_recipes",
]

#: Focusing parameter of the ``focal`` recipes (Lin et al. 2017 use 2; Cui et al. 2019 find
#: 1 best for class-balanced focal loss on CIFAR-10-LT).
FOCAL_GAMMA = 2.0
CB_FOCAL_GAMMA = 1.0
#: ``beta`` of class-balanced focal loss and of LDAM's deferred re-weighting (the papers'
#: value for CIFAR-LT; with class sizes far below 10,000 it is close to inverse frequency).
CB_BETA = 0.9999
#: LDAM on the MLP's plain logits: the reference's scale ``s = 30`` assumes a cosine
#: classifier (logits in [-1, 1]); on unnormalised logits ``s = 1`` keeps the largest margin
#: at 0.5 logit units.
LDAM_SCALE = 1.0
#: Deferred re-weighting starts after this fraction of the maximum epochs. The reference
#: starts at 80% (epoch 160 of 200) and trains without early stopping; here early stopping
#: (patience 20 by default) ends most runs well before 80%, so re-weighting starts at 10%.
DRW_START = 0.1

#: The ``beta`` of the ``effective`` recipe (Cui et al., 2019). With tabular class sizes in
#: the tens to thousands, 0.99 sits between inverse-frequency weights (beta -> 1) and no
#: weights (beta = 0): a class of 10 gets ``(1 - 0.99) / (1 - 0.99**10) ≈ 1/9.6``, a class of
#: 1,000 about ``1/100`` instead of ``1/1000``.
EFFECTIVE_BETA = 0.99


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

    @property
    def trainer(self) -> Recipe:
        """The recipe whose loss and sampler train this recipe's model."""
        return RECIPES[self.base] if self.base else self

    @property
    def training_key(self) -> str:
        """Recipes with the same key train the same model."""
        return self.base or self.name

    def check(self, *, num_classes: int, name: str = "the data") -> None:
        """Raise :class:`DataError` when the recipe does not fit the problem."""
        if self.binary_only and num_classes != 2:
            raise DataError(
                f"The recipe {self.name!r} needs a binary target. Got {num_classes} classes "
                f"in {name} instead."
            )


def _drw_schedule(counts: torch.Tensor) -> DeferredReweighting:
    return DeferredReweighting(counts, start_fraction=DRW_START, beta=CB_BETA)


def _cross_entropy(**options: Any) -> Callable[[torch.Tensor], nn.Module]:
    if not options:
        return lambda counts: CrossEntropyLoss()
    return lambda counts: CrossEntropyLoss.from_counts(counts, **options)


def _pos_weight_loss(counts: torch.Tensor) -> nn.Module:
    minority = int(torch.argmin(counts))
    stats = MultilabelCounts(
        positives=counts[minority : minority + 1].long(),
        negatives=counts[1 - minority : 2 - minority].long(),
        num_samples=int(counts.sum()),
    )
    return MinorityLogitLoss(
        BCEWithLogitsLoss(pos_weight=pos_weight(stats, distributed=False)), minority=minority
    )


RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe("none", "plain cross-entropy, argmax decisions (the baseline)", _cross_entropy()),
        Recipe(
            "balanced",
            "cross-entropy weighted N / (C n_c), as scikit-learn's class_weight='balanced'",
            _cross_entropy(scheme="balanced"),
        ),
        Recipe(
            "inverse",
            "cross-entropy weighted 1 / n_c, weights normalised to mean 1",
            _cross_entropy(scheme="inverse", normalize="mean"),
        ),
        Recipe(
            "inverse-sqrt",
            "cross-entropy weighted 1 / sqrt(n_c), weights normalised to mean 1",
            _cross_entropy(scheme="inverse_sqrt", normalize="mean"),
        ),
        Recipe(
            "effective",
            f"cross-entropy weighted by the effective number (1 - b) / (1 - b^n_c), "
            f"b = {EFFECTIVE_BETA} (Cui et al. 2019), mean 1",
            _cross_entropy(scheme="effective", beta=EFFECTIVE_BETA, normalize="mean"),
        ),
        Recipe(
            "pos-weight",
            "binary cross-entropy with pos_weight = n_majority / n_minority (binary only)",
            _pos_weight_loss,
            binary_only=True,
        ),
        Recipe(
            "focal",
            f"softmax focal loss, gamma = {FOCAL_GAMMA:g} (Lin et al. 2017), unweighted",
            lambda counts: FocalCrossEntropyLoss(gamma=FOCAL_GAMMA),
        ),
        Recipe(
            "class-balanced-focal",
            f"sigmoid focal loss (gamma = {CB_FOCAL_GAMMA:g}) weighted by the effective number, "
            f"b = {CB_BETA} (Cui et al. 2019)",
            lambda counts: ClassBalancedLoss(
                counts=counts, beta=CB_BETA, base="sigmoid", gamma=CB_FOCAL_GAMMA
            ),
        ),
        Recipe(
            "ldam-drw",
            "LDAM margins 0.5 n_c^(-1/4) / max, deferred effective-number re-weighting from "
            f"{DRW_START:.0%} of the epochs (Cao et al. 2019)",
            lambda counts: LDAMLoss(counts=counts, max_margin=0.5, scale=LDAM_SCALE),
            schedule=_drw_schedule,
        ),
        Recipe(
            "logit-adjusted",
            "cross-entropy on logits + log prior, tau = 1 (Menon et al. 2021), which is "
            "balanced softmax (Ren et al. 2020); argmax of the raw logits",
            lambda counts: LogitAdjustedLoss(counts=counts, tau=1.0),
            aliases=("balanced-softmax",),
        ),
        Recipe(
            "resample",
            "plain cross-entropy on class-balanced batches (each class drawn equally often)",
            _cross_entropy(),
            sampler=True,
        ),
        Recipe(
            "threshold",
            "'none', then the decision threshold tuned on the validation split for --metric",
            _cross_entropy(),
            posthoc="threshold",
            base="none",
        ),
        Recipe(
            "prior-correction",
            "'none', then log class priors subtracted from the logits at prediction time",
            _cross_entropy(),
            posthoc="prior-correction",
            base="none",
        ),
    )
}

#: What ``underdog compare`` runs without ``--recipes`` (``pos-weight`` only on binary data).
DEFAULT_RECIPES = (
    "none",
    "balanced",
    "inverse-sqrt",
    "effective",
    "pos-weight",
    "focal",
    "class-balanced-focal",
    "ldam-drw",
    "logit-adjusted",
    "resample",
    "threshold",
    "prior-correction",
)


#: What ``underdog train`` uses without ``--recipe``, and the one the README recommends:
#: chosen from the measured quality benchmarks, see ``docs/benchmarks.md``.
DEFAULT_RECIPE = "logit-adjusted"


#: Other names of recipes -> the recipe's name.
ALIASES = {alias: r.name for r in RECIPES.values() for alias in r.aliases}


def recipe_options() -> tuple[str, ...]:
    """Every name :func:`get_recipe` accepts: the recipes, then their aliases."""
    return (*RECIPES, *ALIASES)


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name`` (or one of its aliases).

    Raises:
        InvalidParameterError: an unknown name; the message lists the valid ones.
    """
    recipe = RECIPES.get(ALIASES.get(name, name)) if isinstance(name, str) else None
    if recipe is None:
        listed = ", ".join(map(repr, recipe_options()))
        if isinstance(name, str) and name in BASELINES:
            raise InvalidParameterError(
                f"The 'name' parameter of get_recipe must be one of {listed}; {name!r} is a "
                "baseline, a scikit-learn model that compare fits beside the recipes, not one "
                f"underdog trains or saves. Got {name!r} instead."
            )
        raise InvalidParameterError(
            f"The 'name' parameter of get_recipe must be one of {listed}. "
            f"Got {describe(name)} instead."
        )
    return recipe


#: Recipe-list words that name a set of recipes rather than recipes: the defaults, or all.
_SET_WORDS = ("", "default", "all")


def _set_word(spec: str | None) -> str | None:
    """The set word ``spec`` is (``""`` for None), or None for a list of names."""
    text = "" if spec is None else spec.strip()
    return text if text in _SET_WORDS else None


def recipe_names(spec: str | None) -> list[str]:
    """The recipe names a recipe list (``--recipes``) spells, in order, each once; unchecked.

    ``None``, ``""`` or ``"default"`` give :data:`DEFAULT_RECIPES`, ``"all"`` every name
    of :data:`RECIPES`; anything else is split at commas, and spaces and empty parts are
    dropped. The names are not looked up: :func:`resolve_recipes` does that.

    Raises:
        InvalidParameterError: a list with no names in it (such as ``","``).

    Example:
        >>> recipe_names(" balanced, focal,,balanced ")
        ['balanced', 'focal']
    """
    text = _set_word(spec)
    if text is not None:
        return list(RECIPES) if text == "all" else list(DEFAULT_RECIPES)
    names = [part.strip() for part in (spec or "").split(",") if part.strip()]
    if not names:
        raise InvalidParameterError(
            f"The 'spec' parameter of recipe_names must name at least one recipe. "
            f"Got {spec!r} instead."
        )
    return list(dict.fromkeys(names))


def resolve_recipes(spec: str | None, *, num_classes: int, name: str = "the data") -> list[Recipe]:
    """Recipes from a comma-separated list, ``"all"`` or ``None`` (the defaults).

    The list is parsed by :func:`recipe_names`. ``"all"`` and the defaults skip recipes
    that do not fit the problem (``pos-weight`` on a multiclass target); naming such a
    recipe explicitly is an error. ``none`` is always included first, as the reference of
    the comparison.
    """
    names = recipe_names(spec)
    if _set_word(spec) is not None:
        chosen = [RECIPES[n] for n in names]
        chosen = [r for r in chosen if not (r.binary_only and num_classes != 2)]
    else:
        chosen = []
        for n in names:
            recipe = get_recipe(n)
            recipe.check(num_classes=num_classes, name=name)
            if recipe not in chosen:  # an alias and its recipe: one run
                chosen.append(recipe)
    if RECIPES["none"] not in chosen:
        chosen.insert(0, RECIPES["none"])
    return chosen
