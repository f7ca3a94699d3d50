"""The comparison pipeline: recipes, folds, training a recipe, comparing, models, reports.

- :mod:`~underdog.pipeline.config`: :class:`CompareConfig`, the settings;
- :mod:`~underdog.pipeline.recipes`: the named recipes (plain data);
- :mod:`~underdog.pipeline.baselines`: the scikit-learn / imbalanced-learn models compared
  beside the recipes;
- :mod:`~underdog.pipeline.folds`: one fold's validation split, preprocessing and counts;
- :mod:`~underdog.pipeline.trainer`: :func:`train_recipe`, the one function that trains a
  recipe, for ``compare`` and ``train`` alike;
- :mod:`~underdog.pipeline.runs`: recipes x folds x seeds (:func:`compare`);
- :mod:`~underdog.pipeline.results`: :class:`Comparison`, the paired tests;
- :mod:`~underdog.pipeline.model`: a trained recipe to save, load and predict with;
- :mod:`~underdog.pipeline.report`: the report files (and :mod:`~underdog.pipeline.plots`).
"""

from .baselines import BASELINES, Baseline, resolve_baselines
from .config import CompareConfig
from .folds import Fold, prepare_fold, prepare_training_split, validation_split
from .model import TrainedModel, train_model
from .recipes import (
    DEFAULT_RECIPE,
    DEFAULT_RECIPES,
    RECIPES,
    Recipe,
    default_recipe,
    get_recipe,
    resolve_recipes,
)
from .report import format_table, report_files, write_report
from .results import Comparison, RunResult, paired_test
from .runs import Progress, compare, run_fold
from .trainer import fit_posthoc, train_recipe, validation_score

__all__ = [
    "BASELINES",
    "Baseline",
    "CompareConfig",
    "Comparison",
    "DEFAULT_RECIPE",
    "DEFAULT_RECIPES",
    "Fold",
    "Progress",
    "RECIPES",
    "Recipe",
    "RunResult",
    "TrainedModel",
    "compare",
    "default_recipe",
    "fit_posthoc",
    "format_table",
    "get_recipe",
    "paired_test",
    "prepare_fold",
    "prepare_training_split",
    "report_files",
    "resolve_baselines",
    "resolve_recipes",
    "run_fold",
    "train_model",
    "train_recipe",
    "validation_score",
    "validation_split",
    "write_report",
]
