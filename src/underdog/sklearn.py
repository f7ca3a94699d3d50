"""scikit-learn integration: :class:`UnderdogClassifier`, a recipe as an estimator.

The estimator trains what ``underdog train`` trains: the pipeline's MLP with a recipe of
:data:`underdog.RECIPES` (its loss from the class counts, its class-balanced sampler, its
schedule), early stopping on the balanced accuracy of a validation split carved per class
from the training data, and the recipe's post-hoc decision rule tuned on that split
(:func:`underdog.pipeline.train_recipe` and :func:`~underdog.pipeline.fit_posthoc`).

Weights. ``sample_weight`` and ``class_weight`` weight the rows of the training loss, and
multiply, as in scikit-learn's ``LogisticRegression``: row ``i`` of class ``c`` weighs
``sample_weight[i] * class_weight[c]``, and the loss is the weighted mean. They act on top
of the recipe, which keeps its own loss, sampler and decision rule: ``class_weight`` with a
weighted recipe (``balanced``, ``logit-adjusted``, ...) corrects the imbalance twice, so use
it with ``recipe="none"`` (``recipe="none", class_weight="balanced"`` is the ``balanced``
recipe). The recipe's class counts are numbers of rows, not sums of weights. Early stopping
follows the weights (:meth:`underdog._sklearn_weights.RowWeights.monitor`); the post-hoc
rule is tuned on the validation split unweighted.

Inputs are used as given: scale numeric columns and encode categorical ones in a
``Pipeline`` before the estimator (a ``StandardScaler``, a ``ColumnTransformer``), as for
``MLPClassifier``. Sparse input is made dense.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin

from ._sklearn_weights import row_weights, train_weighted
from ._validation import message
from .counts import class_counts
from .data import Preprocessor
from .exceptions import DataError, InvalidParameterError, MissingDependencyError
from .metrics import METRICS
from .pipeline.config import CompareConfig
from .pipeline.folds import Fold, validation_split
from .pipeline.recipes import DEFAULT_LOSS_RECIPE, Recipe, get_recipe, recipe_options
from .pipeline.trainer import fit_posthoc, train_recipe
from .training import predict_logits
from .training._runtime import threads

try:  # validate_data and __sklearn_tags__ are scikit-learn 1.6's
    from sklearn.utils._param_validation import (
        Interval,
        StrOptions,
        validate_parameter_constraints,
    )
    from sklearn.utils._param_validation import InvalidParameterError as _SklearnParameterError
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import (
        _check_sample_weight,
        check_is_fitted,
        check_random_state,
        validate_data,
    )
except ImportError as error:  # pragma: no cover - scikit-learn < 1.6
    raise MissingDependencyError(
        "underdog.sklearn needs scikit-learn 1.6 or later: pip install 'scikit-learn>=1.6'."
    ) from error

__all__ = ["UnderdogClassifier"]

_OWNER = "UnderdogClassifier"
_SPARSE = ("csr", "csc", "coo")
_DEFAULTS = CompareConfig()


class UnderdogClassifier(ClassifierMixin, BaseEstimator):
    """An MLP trained with an underdog recipe, as a scikit-learn classifier.

    Labels may be of any type (strings, integers, bools); ``classes_`` holds them sorted.
    See the module docstring for how ``sample_weight`` and ``class_weight`` combine with the
    recipe. The engine's settings left ``None`` follow the table-size policy of
    :meth:`underdog.pipeline.CompareConfig.plan` (``underdog compare`` / ``train``).

    Args:
        recipe: a name (or alias) of :data:`underdog.RECIPES`, such as ``"none"``,
            ``"balanced"``, ``"threshold"``; default ``"logit-adjusted"``, the recommended
            recipe for an MLP (the settings below are the MLP's). ``"balanced-bag"`` and
            ``"balanced-bag-forest"`` (the default of ``underdog train`` on a table) train
            networks of their own with fixed settings, ignore the MLP's, and take no
            ``class_weight`` or ``sample_weight``.
        hidden: the MLP's hidden layer sizes (empty: a linear model).
        dropout: dropout after each hidden layer; None: 0.1 up to 8,192 training rows, else 0.
        epochs: the maximum number of epochs.
        batch_size: rows per batch; None: 64 for small tables, more for large ones.
        lr: AdamW's learning rate; None: ``1e-3 * sqrt(batch_size / 64)``.
        weight_decay: AdamW's weight decay.
        patience: epochs without a better validation score before stopping; None: 20 up to
            8,192 training rows, else 10.
        val_fraction: the fraction of each class held out for early stopping and the
            post-hoc rule (0: train on every row, for ``epochs`` epochs).
        metric: what the ``threshold`` recipe's rule maximises on the validation split.
        class_weight: None, ``"balanced"`` (``n_samples / (n_classes * n_c)``, counting
            each row by its sample weight) or ``{label: weight}`` (classes left out weigh 1).
        device: where to train and predict (None: the CPU).
        num_threads: PyTorch's intra-op threads while fitting and predicting (None: leave
            the setting); 1 keeps ``n_jobs`` processes from oversubscribing the cores.
        random_state: seeds the validation split, initialisation, batch order and dropout.

    Attributes:
        classes_: the class labels, sorted; column ``j`` of ``predict_proba`` is
            ``classes_[j]``.
        n_features_in_: the number of features seen in ``fit``.
        feature_names_in_: the column names of a ``DataFrame`` seen in ``fit``.
        model_: the trained ``torch.nn.Module`` (best weights restored, eval mode).
        posthoc_: the :class:`underdog.PostHoc` decision rule of ``predict``.
        class_counts_: rows of each class the network trained on (less the validation split).
        n_iter_: epochs run; ``best_epoch_``: the epoch whose weights were kept.

    Example:
        >>> from sklearn.datasets import make_classification
        >>> X, y = make_classification(200, weights=[0.9], random_state=0)
        >>> clf = UnderdogClassifier(hidden=(16,), epochs=5, random_state=0).fit(X, y)
        >>> clf.predict_proba(X[:2]).shape, clf.decision_function(X[:2]).shape
        ((2, 2), (2,))
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "recipe": [StrOptions(set(recipe_options()))],
        "hidden": [tuple, list],
        "dropout": [Interval(Real, 0, 1, closed="left"), None],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "lr": [Interval(Real, 0, None, closed="neither"), None],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "patience": [Interval(Integral, 1, None, closed="left"), None],
        "val_fraction": [Interval(Real, 0, 0.9, closed="both")],
        "metric": [StrOptions(set(METRICS))],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "device": [str, torch.device, None],
        "num_threads": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        recipe: str = DEFAULT_LOSS_RECIPE,
        *,
        hidden: tuple[int, ...] | list[int] = _DEFAULTS.hidden,
        dropout: float | None = _DEFAULTS.dropout,
        epochs: int = _DEFAULTS.epochs,
        batch_size: int | None = _DEFAULTS.batch_size,
        lr: float | None = _DEFAULTS.lr,
        weight_decay: float = _DEFAULTS.weight_decay,
        patience: int | None = _DEFAULTS.patience,
        val_fraction: float = _DEFAULTS.val_fraction,
        metric: str = _DEFAULTS.metric,
        class_weight: str | dict[Any, float] | None = None,
        device: str | torch.device | None = _DEFAULTS.device,
        num_threads: int | None = _DEFAULTS.num_threads,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.recipe = recipe
        self.hidden = hidden
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.patience = patience
        self.val_fraction = val_fraction
        self.metric = metric
        self.class_weight = class_weight
        self.device = device
        self.num_threads = num_threads
        self.random_state = random_state

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> UnderdogClassifier:
        """Train the recipe's network on ``X``, ``y`` and tune its decision rule.

        Args:
            X: features ``(n_samples, n_features)``: an array, a sparse matrix or a
                ``DataFrame`` of numbers.
            y: class labels ``(n_samples,)`` of any type, at least two classes.
            sample_weight: non-negative weights ``(n_samples,)`` of the training loss.

        Returns:
            The fitted estimator.

        Raises:
            InvalidParameterError: a parameter out of its constraints.
            DataError: a single class, or a recipe that does not fit the number of classes.
        """
        recipe = self._check_params()
        X, y = validate_data(self, X, y, accept_sparse=_SPARSE, dtype=np.float32)
        check_classification_targets(y)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        num_classes = len(self.classes_)
        if num_classes < 2:
            raise DataError(
                message("y", f"{_OWNER}.fit", must="hold at least two classes",
                        got=f"one class, {self.classes_.tolist()[0]!r},")
            )  # fmt: skip
        recipe.check(num_classes=num_classes, name="y")
        config = self._config()
        config.check(num_classes=num_classes, owner=_OWNER)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
        self._train(recipe, config, _dense(X), encoded.astype(np.int64), sample_weight)
        return self

    def _train(
        self,
        recipe: Recipe,
        config: CompareConfig,
        x: np.ndarray,
        encoded: np.ndarray,
        sample_weight: np.ndarray | None,
    ) -> None:
        """Carve the validation split, train the network, tune the decision rule."""
        seed = _seed(self.random_state)
        num_classes = len(self.classes_)
        train, val = validation_split(encoded, fraction=config.val_fraction, seed=seed)
        fold = _fold(x, encoded, train, val, seed=seed, num_classes=num_classes)
        weights = row_weights(self.class_weight, sample_weight, classes=self.classes_,
                              encoded=encoded, train=train, owner=_OWNER)  # fmt: skip
        if weights is not None and recipe.trainer.model is not None:
            raise InvalidParameterError(
                message("recipe", _OWNER,
                        must="be a recipe that trains with a loss when class_weight or "
                             "sample_weight is given (the bag recipes train on class-balanced "
                             "bootstraps and take no per-row weights)",
                        got=repr(self.recipe))
            )  # fmt: skip
        if weights is None:
            result = train_recipe(recipe, fold, config=config, num_classes=num_classes)
        else:
            result = train_weighted(recipe, fold, config=config, num_classes=num_classes,
                                    weights=weights, train=train, val=val)  # fmt: skip
        self.model_ = result.model
        self.posthoc_ = fit_posthoc(recipe, result.model, fold, config=config)
        self.class_counts_ = fold.counts.numpy()
        self.n_iter_, self.best_epoch_ = result.epochs_run, result.best_epoch

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(n_samples, n_classes)``, columns in ``classes_`` order.

        The softmax of the logits after the recipe's prior correction, if it has one (the
        ``threshold`` recipe moves the decision, not the probabilities).
        """
        logits = self._logits(X)
        return self.posthoc_.apply(logits)[0]

    def predict(self, X: Any) -> np.ndarray:
        """Class labels under the recipe's decision rule.

        The argmax of the logits, with the recipe's prior correction or tuned threshold.
        """
        logits = self._logits(X)
        return np.asarray(self.classes_[self.posthoc_.apply(logits)[1]])

    def decision_function(self, X: Any) -> np.ndarray:
        """Scores whose sign (binary) or argmax (multiclass) is ``predict``.

        The logits after the recipe's prior correction; for two classes, the log-odds of
        ``classes_[1]`` less those of the tuned threshold, shape ``(n_samples,)``, positive
        where ``predict`` gives ``classes_[1]``. Multiclass: shape ``(n_samples, n_classes)``.
        """
        logits = self._logits(X)  # checks that the estimator is fitted
        rule = self.posthoc_
        logits = rule.corrected(logits)
        threshold = rule.threshold if rule.kind == "threshold" else None
        if logits.shape[1] > 2:
            return logits
        scores = logits[:, 1] - logits[:, 0]
        if threshold is not None:  # p_minority >= t, as the log-odds of classes_[1]
            t = threshold if rule.minority == 1 else 1.0 - threshold
            t = float(np.clip(t, 1e-12, 1 - 1e-12))
            scores = scores - np.log(t / (1.0 - t))
        return scores

    def _logits(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, accept_sparse=_SPARSE, dtype=np.float32)
        with threads(self.num_threads):
            return predict_logits(self.model_, _dense(X))

    def _check_params(self) -> Recipe:
        """Check the parameters against their constraints; return the recipe."""
        try:
            validate_parameter_constraints(
                self._parameter_constraints, self.get_params(deep=False), caller_name=_OWNER
            )
        except _SklearnParameterError as error:  # the same grammar, underdog's type
            raise InvalidParameterError(str(error)) from None
        CompareConfig(hidden=tuple(self.hidden), device=self.device).check(
            num_classes=2, owner=_OWNER
        )  # each hidden size an int >= 1, a device string torch can parse
        return get_recipe(self.recipe)

    def _config(self) -> CompareConfig:
        return CompareConfig(
            metric=self.metric, hidden=tuple(self.hidden), dropout=self.dropout, lr=self.lr,
            weight_decay=self.weight_decay, epochs=self.epochs, batch_size=self.batch_size,
            patience=self.patience, val_fraction=self.val_fraction,
            num_threads=self.num_threads, device=self.device,
        )  # fmt: skip


def _seed(random_state: Any) -> int:
    """An int seed: ``random_state`` itself, or one drawn from it (None: fresh)."""
    if isinstance(random_state, Integral):
        return int(random_state)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def _dense(X: Any) -> np.ndarray:
    return np.asarray(X.toarray() if sparse.issparse(X) else X)


def _fold(
    x: np.ndarray, y: np.ndarray, train: np.ndarray, val: np.ndarray, *, seed: int, num_classes: int
) -> Fold:
    """The :class:`Fold` of rows ``train`` and validation rows ``val``, no test part.

    The features are used as given (an identity preprocessor records their number).
    """
    names = [f"x{j}" for j in range(x.shape[1])]
    identity = Preprocessor(numeric=names, medians=[0.0] * len(names), means=[0.0] * len(names),
                            scales=[1.0] * len(names), categorical=[], levels=[])  # fmt: skip
    return Fold(
        seed=seed, fold=0, x=x[train], y=y[train], x_val=x[val], y_val=y[val],
        x_test=x[:0], y_test=y[:0], preprocessor=identity, test_index=val[:0],
        counts=class_counts(y[train], num_classes=num_classes, distributed=False),
        model_seed=seed,
    )  # fmt: skip
