"""Decision forests as tensors, and the bag of MLPs blended with a balanced random forest.

:class:`TreeEnsemble` holds the arrays of fitted scikit-learn decision trees (each node's
feature, threshold, children and class fractions) as buffers, padded to one node count, and
predicts by walking every tree at once, a fixed number of steps (the deepest tree's depth):
no Python branching on the data, no pickle. It equals the forest's ``predict_proba``
(tested): rows are rounded to float32 and compared with the float64 thresholds as
scikit-learn compares them, and the trees' probabilities are summed in the forest's order.
A model directory stores it with the other weights (``torch.load(weights_only=True)``), so
loading never unpickles code; a state dict whose indices point outside the arrays is
refused when it is loaded.

:func:`fit_balanced_forest` fits imbalanced-learn's ``BalancedRandomForestClassifier``
(:func:`balanced_random_forest`, the ``balanced-rf`` baseline of ``underdog compare``) and
converts it; imbalanced-learn is an optional dependency (``pip install 'underdog[tables]'``),
imported only there. :class:`BagForestBlend` averages a
:class:`~underdog.training.ensembles.BalancedBaggedMLP` and a forest's probabilities.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from .._validation import check_int, check_real
from ..exceptions import DataError, MissingDependencyError
from .ensembles import BalancedBaggedMLP

__all__ = [
    "FOREST_WEIGHT",
    "TREES",
    "BagForestBlend",
    "TreeEnsemble",
    "balanced_random_forest",
    "fit_balanced_forest",
    "imblearn_available",
]

#: The trees of the balanced random forest.
TREES = 100
#: The forest's share of the blend's probabilities: a plain average of the two ensembles,
#: fixed before any measurement, not tuned.
FOREST_WEIGHT = 0.5


def imblearn_available() -> bool:
    """Whether imbalanced-learn can be imported (without importing it)."""
    return importlib.util.find_spec("imblearn") is not None


def balanced_random_forest(seed: int) -> Any:
    """imbalanced-learn's ``BalancedRandomForestClassifier`` as underdog uses it.

    100 trees, each grown on a bootstrap that draws every class with replacement to the
    minority's size (imbalanced-learn >= 0.13's defaults, spelled out so that older
    versions agree), one process.

    Raises:
        MissingDependencyError: imbalanced-learn is not installed.
    """
    try:
        from imblearn.ensemble import BalancedRandomForestClassifier
    except ImportError as exc:
        raise MissingDependencyError(
            "The balanced random forest needs imbalanced-learn: pip install 'underdog[tables]'."
        ) from exc
    return BalancedRandomForestClassifier(
        n_estimators=TREES, sampling_strategy="all", replacement=True, bootstrap=False,
        random_state=seed, n_jobs=1,
    )  # fmt: skip


class TreeEnsemble(nn.Module):
    """The mean class probabilities of ``trees`` decision trees, from tensors.

    Node ``n`` of tree ``t`` sends a row to node ``left[t, n]`` when its feature
    ``feature[t, n]`` (rounded to float32) is at most ``threshold[t, n]``, else to
    ``right[t, n]``; a leaf points at itself, so ``depth`` steps from the root reach every
    row's leaf, whose ``value[t, n]`` holds the class fractions. :meth:`from_sklearn` fills
    the buffers.

    Args:
        trees: the number of trees.
        nodes: nodes per tree (the largest tree's; smaller ones are padded).
        depth: the deepest tree's depth.
        num_features: the width of a row.
        num_classes: the number of classes ``C``.

    Shape:
        input ``(B, num_features)``; output ``(B, C)`` float64 probabilities.
    """

    def __init__(
        self, *, trees: int, nodes: int, depth: int, num_features: int, num_classes: int
    ) -> None:
        super().__init__()
        owner = "TreeEnsemble"
        shape = (check_int(trees, name="trees", owner=owner, low=1),
                 check_int(nodes, name="nodes", owner=owner, low=1))  # fmt: skip
        self.depth = check_int(depth, name="depth", owner=owner, low=0)
        self.num_features = check_int(num_features, name="num_features", owner=owner, low=1)
        self.num_classes = check_int(num_classes, name="num_classes", owner=owner, low=2)
        self.register_buffer("feature", torch.zeros(shape, dtype=torch.long))
        self.register_buffer("threshold", torch.zeros(shape, dtype=torch.float64))
        self.register_buffer("left", torch.zeros(shape, dtype=torch.long))
        self.register_buffer("right", torch.zeros(shape, dtype=torch.long))
        self.register_buffer("value", torch.zeros((*shape, num_classes), dtype=torch.float64))
        self.register_load_state_dict_post_hook(_check_loaded)  # type: ignore[no-untyped-call]

    @property
    def trees(self) -> int:
        """The number of trees."""
        return int(self.feature.shape[0])

    @property
    def nodes(self) -> int:
        """Nodes per tree."""
        return int(self.feature.shape[1])

    feature: torch.Tensor
    threshold: torch.Tensor
    left: torch.Tensor
    right: torch.Tensor
    value: torch.Tensor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The trees' mean class probabilities of the rows ``x``, ``(B, C)`` float64."""
        rows = x.to(torch.float32).to(torch.float64)  # scikit-learn rounds X to float32
        node = torch.zeros((self.trees, rows.shape[0]), dtype=torch.long, device=rows.device)
        for _ in range(self.depth):
            feature = torch.gather(self.feature, 1, node)
            left = rows.gather(1, feature.t()).t() <= torch.gather(self.threshold, 1, node)
            node = torch.where(left, torch.gather(self.left, 1, node),
                               torch.gather(self.right, 1, node))  # fmt: skip
        leaves = torch.gather(
            self.value, 1, node.unsqueeze(-1).expand(-1, -1, self.num_classes)
        )  # (trees, B, C)
        total = torch.zeros_like(leaves[0])
        for tree in leaves:  # in order, as the forest sums its trees
            total += tree
        return total / self.trees

    @classmethod
    def from_sklearn(
        cls, estimators: Sequence[Any], classes: Any, *, num_features: int, num_classes: int
    ) -> TreeEnsemble:
        """The trees of a fitted scikit-learn forest (its ``estimators_``).

        ``classes`` is the forest's ``classes_``: class indices in ``[0, num_classes)``
        (a class missing from the training rows has probability 0).
        """
        arrays = [_tree_arrays(tree, np.asarray(classes), num_classes) for tree in estimators]
        nodes = max(len(a["feature"]) for a in arrays)
        depth = max(int(tree.tree_.max_depth) for tree in estimators)
        ensemble = cls(trees=len(arrays), nodes=nodes, depth=depth, num_features=num_features,
                       num_classes=num_classes)  # fmt: skip
        with torch.no_grad():
            for t, a in enumerate(arrays):
                n = len(a["feature"])
                for name in ("feature", "threshold", "left", "right", "value"):
                    getattr(ensemble, name)[t, :n] = torch.as_tensor(a[name])
                ensemble.left[t, n:] = ensemble.right[t, n:] = torch.arange(n, nodes)  # padding
        return ensemble

    def extra_repr(self) -> str:
        """The sizes, in the module's repr."""
        return (f"trees={self.trees}, nodes={self.nodes}, depth={self.depth}, "
                f"num_features={self.num_features}, num_classes={self.num_classes}")  # fmt: skip


def _tree_arrays(tree: Any, classes: np.ndarray, num_classes: int) -> dict[str, np.ndarray]:
    """One fitted tree's node arrays, its leaves pointing at themselves.

    The tree's class columns are mapped to ``classes``, the forest's labels of the tree's
    encoded classes.
    """
    arrays = tree.tree_
    n = int(arrays.node_count)
    leaf = arrays.children_left[:n] < 0
    own = np.arange(n)
    fractions = np.asarray(arrays.value[:n, 0, : len(tree.classes_)], dtype=np.float64)
    sums = fractions.sum(1, keepdims=True)
    if not np.allclose(sums, 1.0):  # scikit-learn < 1.4 stores counts and normalises them
        fractions = fractions / np.where(sums == 0.0, 1.0, sums)
    value = np.zeros((n, num_classes))
    value[:, classes[np.asarray(tree.classes_, dtype=int)]] = fractions
    return {
        "feature": np.where(leaf, 0, arrays.feature[:n]).astype(np.int64),
        "threshold": np.asarray(arrays.threshold[:n], dtype=np.float64),
        "left": np.where(leaf, own, arrays.children_left[:n]).astype(np.int64),
        "right": np.where(leaf, own, arrays.children_right[:n]).astype(np.int64),
        "value": value,
    }


def _check_loaded(module: nn.Module, incompatible: Any) -> None:
    """Refuse a loaded state whose indices point outside the arrays (before any use)."""
    assert isinstance(module, TreeEnsemble)
    bounds = {"feature": module.num_features, "left": module.nodes, "right": module.nodes}
    for name, high in bounds.items():
        index = getattr(module, name)
        if bool((index < 0).any() | (index >= high).any()):
            raise DataError(
                f"The forest's '{name}' indices must lie in [0, {high}). Got indices from "
                f"{int(index.min())} to {int(index.max())} instead."
            )


def fit_balanced_forest(x: Any, y: Any, *, num_classes: int, seed: int) -> TreeEnsemble:
    """A :func:`balanced_random_forest` fit on ``x`` and ``y``, as a :class:`TreeEnsemble`.

    ``y`` holds class indices in ``[0, num_classes)``.

    Raises:
        MissingDependencyError: imbalanced-learn is not installed.
    """
    x = np.asarray(x)
    forest = balanced_random_forest(seed).fit(x, np.asarray(y))
    classes = np.asarray(forest.classes_, dtype=int)
    return TreeEnsemble.from_sklearn(
        forest.estimators_, classes, num_features=x.shape[1], num_classes=num_classes
    )


class BagForestBlend(nn.Module):
    """``(1 - w)`` times a bag's probabilities plus ``w`` times a forest's.

    Args:
        bag: a :class:`~underdog.training.ensembles.BalancedBaggedMLP`.
        forest: a :class:`TreeEnsemble` of the same classes.
        forest_weight: ``w``, in [0, 1].

    Shape:
        input ``(B, F)``; output ``(B, C)`` float64 log-probabilities (floored at the
        smallest normal float64, so always finite).
    """

    def __init__(
        self, bag: BalancedBaggedMLP, forest: TreeEnsemble, *, forest_weight: float = FOREST_WEIGHT
    ) -> None:
        super().__init__()
        owner = "BagForestBlend"
        if forest.num_classes != bag.num_classes or forest.num_features != bag.in_features:
            raise DataError(
                f"The 'forest' parameter of {owner} must have the bag's {bag.in_features} "
                f"features and {bag.num_classes} classes. Got {forest.num_features} and "
                f"{forest.num_classes} instead."
            )
        self.bag, self.forest = bag, forest
        self.forest_weight = check_real(
            forest_weight, name="forest_weight", owner=owner, low=0.0, high=1.0
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The log of the blended probabilities, ``(B, C)`` float64."""
        bag = self.bag.proba(x).to(torch.float64)
        proba = (1.0 - self.forest_weight) * bag + self.forest_weight * self.forest(x)
        return torch.log(proba.clamp_min(torch.finfo(torch.float64).tiny))
