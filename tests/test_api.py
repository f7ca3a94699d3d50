"""The public API, snapshotted: removing (or renaming) an exported name fails here.

Adding a name is a deliberate change too: add it to the snapshot in the same commit. Every
listed module's ``__all__`` is sorted and every name in it exists; the old import paths of
moved modules keep working (with a DeprecationWarning).
"""

import importlib
import json
import subprocess
import sys

import pytest

from _paths import SRC

PUBLIC_API = {
    "underdog": [
        "AsymmetricLoss",
        "BCEWithLogitsLoss",
        "BalancedSoftmaxLoss",
        "ClassBalancedLoss",
        "ClassBalancedSampler",
        "CrossEntropyLoss",
        "DataError",
        "DeferredReweighting",
        "DistributedClassBalancedSampler",
        "DivergenceError",
        "FocalCrossEntropyLoss",
        "InvalidParameterError",
        "LDAMLoss",
        "LogitAdjustedLoss",
        "MissingDependencyError",
        "MultilabelCounts",
        "PostHoc",
        "RECIPES",
        "Recipe",
        "ShapeError",
        "SigmoidFocalLoss",
        "TrainEvent",
        "TrainResult",
        "UnderdogError",
        "asymmetric_loss_with_logits",
        "balanced_softmax_cross_entropy",
        "binary_class_weight",
        "binary_cross_entropy_with_logits",
        "class_balanced_loss",
        "class_counts",
        "class_weight",
        "cross_entropy",
        "evaluate",
        "fit",
        "focal_cross_entropy",
        "g_mean_score",
        "get_recipe",
        "ldam_cross_entropy",
        "logit_adjusted_cross_entropy",
        "losses",
        "mlp",
        "multilabel_counts",
        "pos_weight",
        "prior_correction",
        "sample_weight",
        "sigmoid_focal_with_logits",
        "tune_threshold",
    ],
    "underdog.losses": [
        "AsymmetricLoss",
        "BCEWithLogitsLoss",
        "BalancedSoftmaxLoss",
        "ClassBalancedLoss",
        "CrossEntropyLoss",
        "DeferredReweighting",
        "FocalCrossEntropyLoss",
        "GlobalMean",
        "LDAMLoss",
        "LogitAdjustedLoss",
        "MinorityLogitLoss",
        "SigmoidFocalLoss",
        "asymmetric_loss_with_logits",
        "balanced_softmax_cross_entropy",
        "binary_cross_entropy_weight_sum",
        "binary_cross_entropy_with_logits",
        "class_balanced_loss",
        "class_balanced_weight",
        "cross_entropy",
        "cross_entropy_weight_sum",
        "focal_cross_entropy",
        "ldam_cross_entropy",
        "ldam_margins",
        "log_prior",
        "logit_adjusted_cross_entropy",
        "sigmoid_focal_with_logits",
    ],
    "underdog.data": [
        "BuiltinDataset",
        "DATASETS",
        "MISSING_LEVEL",
        "Preprocessor",
        "Table",
        "load_dataset",
        "load_table",
        "long_tail_counts",
        "read_frame",
        "read_keel",
        "table_from_dataset",
        "table_from_frame",
    ],
    "underdog.training": [
        "BagForestBlend",
        "BalancedBaggedMLP",
        "TrainEvent",
        "TrainResult",
        "TreeEnsemble",
        "fit",
        "fit_balanced_bag",
        "fit_balanced_forest",
        "mlp",
        "predict_logits",
    ],
    "underdog.pipeline": [
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
    ],
    "underdog.cli": ["main"],
    "underdog.cli.argtypes": [
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
    ],
    "underdog.exceptions": [
        "DataError",
        "DivergenceError",
        "InvalidParameterError",
        "MissingDependencyError",
        "ShapeError",
        "UnderdogError",
    ],
    "underdog.counts": ["MultilabelCounts", "class_counts", "multilabel_counts"],
    "underdog.weights": [
        "NORMALIZATIONS",
        "SCHEMES",
        "ZERO_COUNT_POLICIES",
        "binary_class_weight",
        "class_weight",
        "pos_weight",
        "sample_weight",
    ],
    "underdog.samplers": ["ClassBalancedSampler", "DistributedClassBalancedSampler"],
    "underdog.metrics": [
        "BINARY_METRICS",
        "LABEL_METRICS",
        "METRICS",
        "evaluate",
        "g_mean_score",
        "label_metric",
    ],
    "underdog.posthoc": [
        "PostHoc",
        "prior_correction",
        "softmax",
        "tune_posthoc",
        "tune_threshold",
    ],
    "underdog.sklearn": ["UnderdogClassifier"],
}

#: Old module -> names it must still provide (a sample of what callers used).
OLD_PATHS = {
    "underdog.compare": ["CompareConfig", "Comparison", "Fold", "compare", "paired_test",
                         "prepare_fold", "run_fold", "validation_score"],
    "underdog.folds": ["CompareConfig", "Fold", "prepare_fold", "run_fold", "train_recipe"],
    "underdog.recipes": ["DEFAULT_RECIPE", "RECIPES", "Recipe", "get_recipe", "resolve_recipes"],
    "underdog.train": ["TrainEvent", "TrainResult", "fit", "validation_split"],
    "underdog.networks": ["mlp", "predict_logits"],
    "underdog.launch": ["spawn", "init_from_environment"],
    "underdog.model": ["TrainedModel", "train_model"],
    "underdog.report": ["format_table", "report_files", "write_report", "plot_recall"],
    "underdog.adjust": ["PostHoc", "prior_correction", "tune_threshold"],
}  # fmt: skip


@pytest.mark.parametrize("module", sorted(PUBLIC_API))
def test_the_public_api_is_what_the_snapshot_says(module):
    mod = importlib.import_module(module)
    assert list(mod.__all__) == sorted(mod.__all__)
    assert sorted(mod.__all__) == PUBLIC_API[module]
    for name in mod.__all__:
        assert hasattr(mod, name), name


def test_old_import_paths_keep_working_with_a_deprecation_warning():
    """A fresh interpreter (so that none is imported yet) imports each old path: it warns
    with a DeprecationWarning naming the new path and provides the old names."""
    script = (
        "import importlib, json, sys, warnings\n"
        "import underdog\n"
        "report = {}\n"
        f"for old, names in {OLD_PATHS!r}.items():\n"
        "    with warnings.catch_warnings(record=True) as seen:\n"
        "        warnings.simplefilter('always')\n"
        "        module = importlib.import_module(old)\n"
        "    messages = [str(w.message) for w in seen if w.category is DeprecationWarning]\n"
        "    report[old] = [messages, [n for n in names if not hasattr(module, n)]]\n"
        "print(json.dumps(report))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={"PYTHONPATH": SRC, "PATH": ""}, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert sorted(report) == sorted(OLD_PATHS)
    for old, (messages, missing) in report.items():
        assert len(messages) == 1 and messages[0].startswith(f"{old} has moved to underdog."), old
        assert "import from there" in messages[0]
        assert missing == [], old


def test_an_old_path_gives_the_same_objects_as_the_new_one():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from underdog.compare import CompareConfig, compare

    from underdog.pipeline import CompareConfig as config_class
    from underdog.pipeline import compare as compare_function

    assert CompareConfig is config_class and compare is compare_function
