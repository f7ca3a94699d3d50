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

Two recipes train a network of their own with their own procedure instead
(:attr:`Recipe.model`): ``balanced-bag``, a balanced random forest of MLPs
(:mod:`underdog.training.ensembles`), and ``balanced-bag-forest``, the same averaged with
imbalanced-learn's balanced random forest (:mod:`underdog.training.forests`), the default
for tables (:func:`default_recipe`). They need a table of feature rows and the default
``model``; the second needs imbalanced-learn.

The names of :data:`~underdog.pipeline.baselines.BASELINES` (scikit-learn models that
``compare`` fits beside the recipes) are not recipes: :func:`get_recipe` says so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .._validation import describe
from ..counts import MultilabelCounts
from ..exceptions import InvalidParameterError
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
from ..training.forests import imblearn_available
from ..weights import pos_weight
from ._recipe import Recipe
from .baselines import BASELINES

__all__ = [
    "DEFAULT_LOSS_RECIPE",
    "DEFAULT_NEURAL_RECIPE",
    "DEFAULT_RECIPE",
    "DEFAULT_RECIPES",
    "EFFECTIVE_BETA",
    "LARGE_TABLE_ROWS",
    "RECIPES",
    "Recipe",
    "default_recipe",
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
        Recipe(
            "balanced-bag",
            "8 MLPs (64 units), each trained with plain cross-entropy on its own "
            "class-balanced bootstrap, probabilities averaged: a balanced random forest of "
            "MLPs (100 steps, no early stopping; tables only)",
            _cross_entropy(),
            model="balanced-bag",
        ),
        Recipe(
            "balanced-bag-forest",
            "'balanced-bag' averaged 50/50 with imbalanced-learn's balanced random forest "
            "(100 trees, stored as tensors); the default for tables",
            _cross_entropy(),
            model="balanced-bag-forest",
            needs_imblearn=True,
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
    "balanced-bag",
    "balanced-bag-forest",
)


#: What ``underdog train`` uses on a table without ``--recipe``, and the one the README
#: recommends for tables: chosen from the measured quality benchmarks, see
#: ``docs/benchmarks.md``. :func:`default_recipe` says what runs where it cannot.
DEFAULT_RECIPE = "balanced-bag-forest"
#: The default for tables without imbalanced-learn.
DEFAULT_NEURAL_RECIPE = "balanced-bag"
#: The default for a dataset of samples or a model of the user's (``--data``, ``--model``),
#: and for a table of more than :data:`LARGE_TABLE_ROWS` rows.
DEFAULT_LOSS_RECIPE = "logit-adjusted"
#: Above this many rows a table's default is :data:`DEFAULT_LOSS_RECIPE`: the bags
#: learn each member from a class-balanced sample the size of the minority, which leaves most
#: of a large table's rows unused, while one MLP trained on every row with the table-size
#: batch policy was ahead in quality, in half to two thirds the time, at 200,000 and 1,000,000
#: rows, and behind at 10,000 (``benchmarks/bench_train.py``, docs/tables.md). Fixed once
#: between those sizes.
LARGE_TABLE_ROWS = 50_000


def default_recipe(*, rows: bool = True, model: str = "mlp", num_rows: int = 0) -> str:
    """The recipe ``underdog train`` trains without ``--recipe``.

    :data:`DEFAULT_RECIPE` for a table of feature rows with the default model and at most
    :data:`LARGE_TABLE_ROWS` rows (``num_rows``, the table's; 0 counts as small);
    :data:`DEFAULT_NEURAL_RECIPE` there without imbalanced-learn; else (a larger table, a
    dataset of samples, another ``model``) :data:`DEFAULT_LOSS_RECIPE`.
    """
    if not rows or model != "mlp" or num_rows > LARGE_TABLE_ROWS:
        return DEFAULT_LOSS_RECIPE
    return DEFAULT_RECIPE if imblearn_available() else DEFAULT_NEURAL_RECIPE


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


def resolve_recipes(
    spec: str | None,
    *,
    num_classes: int,
    name: str = "the data",
    rows: bool = True,
    model: str = "mlp",
) -> list[Recipe]:
    """Recipes from a comma-separated list, ``"all"`` or ``None`` (the defaults).

    The list is parsed by :func:`recipe_names`. ``"all"`` and the defaults skip recipes
    that do not fit the problem (see :meth:`Recipe.problem`: ``pos-weight`` on a multiclass
    target, the recipes of their own network on a dataset of samples or with another
    ``model``, ``balanced-bag-forest`` without imbalanced-learn); naming such a recipe
    explicitly is an error. ``none`` is always included first, as the reference of the
    comparison.
    """
    names = recipe_names(spec)
    facts: dict[str, Any] = {"num_classes": num_classes, "name": name, "rows": rows,
                             "model": model}  # fmt: skip
    if _set_word(spec) is not None:
        chosen = [RECIPES[n] for n in names if RECIPES[n].problem(**facts) is None]
    else:
        chosen = []
        for n in names:
            recipe = get_recipe(n)
            recipe.check(**facts)
            if recipe not in chosen:  # an alias and its recipe: one run
                chosen.append(recipe)
    if RECIPES["none"] not in chosen:
        chosen.insert(0, RECIPES["none"])
    return chosen
