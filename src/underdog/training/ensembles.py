"""Balanced bagging of small MLPs: a balanced random forest with MLPs instead of trees.

:class:`BalancedBaggedMLP` packs ``members`` independent one-hidden-layer MLPs into one
module (weights ``(members, in, out)``, one ``torch.baddbmm`` per layer). Its ``forward``
takes a batch of rows and returns the log of the members' averaged softmax probabilities,
so it is used like any classifier (``predict_logits``, post-hoc rules, saving and loading).

:func:`fit_balanced_bag` trains it as imbalanced-learn's ``BalancedRandomForestClassifier``
grows its trees (``sampling_strategy="all", replacement=True``): before training, member
``j`` draws its own class-balanced bootstrap of the rows (:func:`balanced_bootstrap`: ``m``
rows with replacement from every class, ``m`` the lower median of the class sizes, which is
the minority's size for two classes), and trains on it alone with plain cross-entropy. Every
member sees a balanced problem and memorises its classes symmetrically, so the average of
their probabilities decides by argmax, with no threshold to tune. Training is a fixed budget
with no early stopping: ``steps`` AdamW steps (learning rate ``3e-3``, weight decay ``1e-4``
on the weights only), each on a member's whole sample while it has at most ``max_batch`` rows,
else on a fresh random ``max_batch``-row part of it. With no early stopping there is no use for
a validation split: the pipeline trains the bag on the training and validation rows together.

The settings (:data:`MEMBERS`, :data:`HIDDEN`, :data:`STEPS`, :data:`LR`,
:data:`WEIGHT_DECAY`, :data:`MAX_BATCH`) were fixed once on 20 development tables that are
not the benchmark's (see ``docs/tables.md``), never per dataset. The steps run through
:func:`~underdog.training.fit`: a loader yields the members' stacked batches, the optimizer
factory holds the two parameter groups, and each step is one "epoch" of ``fit``
(``epochs=steps``), so callbacks see every step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, IterableDataset

from .._validation import check_int, check_real
from ..exceptions import ShapeError
from ..labels import as_label_tensor, check_class_indices, check_integer_labels
from ._tensors import as_tensor
from .loop import TrainEvent, TrainResult, fit

__all__ = [
    "HIDDEN",
    "LR",
    "MAX_BATCH",
    "MEMBERS",
    "STEPS",
    "WEIGHT_DECAY",
    "BalancedBaggedMLP",
    "balanced_bootstrap",
    "fit_balanced_bag",
]

#: The bag's fixed settings (chosen on development tables, see the module docstring).
MEMBERS = 8
HIDDEN = 64
STEPS = 100
LR = 3e-3
WEIGHT_DECAY = 1e-4
MAX_BATCH = 512


class BalancedBaggedMLP(nn.Module):
    """``members`` MLPs ``Linear(in_features, hidden) -> ReLU -> Linear(hidden, C)``, packed.

    Each member is initialised as ``nn.Linear`` initialises its layers (weights and biases
    uniform in ``±1/sqrt(fan_in)``); ``seed`` fixes them without touching the global RNG.

    Args:
        in_features: the width of a row.
        num_classes: the number of classes ``C``.
        members: the number of MLPs.
        hidden: the hidden width of each.
        seed: the seed of the initial weights (None: the global RNG).

    Shape:
        - ``forward``: input ``(B, in_features)``; output ``(B, C)``, the log of the mean of
          the members' softmax probabilities (floored at the dtype's smallest normal number,
          so always finite).
        - :meth:`member_logits`: input ``(B, in_features)`` (the same rows for every member)
          or ``(members, B, in_features)``; output ``(members, B, C)``.

    Example:
        >>> bag = BalancedBaggedMLP(4, 3, seed=0)
        >>> bag(torch.zeros(2, 4)).shape, bag.member_logits(torch.zeros(2, 4)).shape
        (torch.Size([2, 3]), torch.Size([8, 2, 3]))
    """

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        *,
        members: int = MEMBERS,
        hidden: int = HIDDEN,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        owner = "BalancedBaggedMLP"
        self.in_features = check_int(in_features, name="in_features", owner=owner, low=1)
        self.num_classes = check_int(num_classes, name="num_classes", owner=owner, low=2)
        self.members = check_int(members, name="members", owner=owner, low=1)
        self.hidden = check_int(hidden, name="hidden", owner=owner, low=1)
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.random.default_generator.manual_seed(seed)
            self.weight1 = nn.Parameter(torch.empty(self.members, self.in_features, self.hidden))
            self.bias1 = nn.Parameter(torch.empty(self.members, 1, self.hidden))
            self.weight2 = nn.Parameter(torch.empty(self.members, self.hidden, self.num_classes))
            self.bias2 = nn.Parameter(torch.empty(self.members, 1, self.num_classes))
            layers = ((self.weight1, self.bias1, self.in_features),
                      (self.weight2, self.bias2, self.hidden))  # fmt: skip
            with torch.no_grad():
                for weight, bias, fan_in in layers:
                    bound = fan_in**-0.5
                    weight.uniform_(-bound, bound)
                    bias.uniform_(-bound, bound)

    def member_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Every member's logits, ``(members, B, C)`` (see the class's Shape)."""
        if x.dim() == 2:
            x = x.expand(self.members, -1, -1)
        hidden = torch.relu(torch.baddbmm(self.bias1, x, self.weight1))
        return torch.baddbmm(self.bias2, hidden, self.weight2)

    def proba(self, x: torch.Tensor) -> torch.Tensor:
        """The mean of the members' softmax probabilities, ``(B, C)``."""
        return torch.softmax(self.member_logits(x), dim=-1).mean(0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The log of the members' mean probabilities, ``(B, C)``."""
        proba = self.proba(x)
        return proba.clamp_min(torch.finfo(proba.dtype).tiny).log()

    def extra_repr(self) -> str:
        """The sizes, in the module's repr."""
        return (f"in_features={self.in_features}, num_classes={self.num_classes}, "
                f"members={self.members}, hidden={self.hidden}")  # fmt: skip


def balanced_bootstrap(
    y: torch.Tensor, *, members: int, num_classes: int, generator: torch.Generator
) -> torch.Tensor:
    """Row indices ``(members, k * m)`` of ``members`` class-balanced bootstraps of ``y``.

    For each member and each of the ``k`` classes present in ``y`` (in class order), ``m``
    rows of that class drawn with replacement; ``m`` is the lower median of the present
    classes' sizes: the minority's size for two classes (the balanced random forest's
    rule); with many long-tailed classes the rare ones are over-sampled and the frequent
    ones under-sampled, instead of cutting every class down to the rarest one's few rows.

    Example:
        >>> y = torch.tensor([0, 0, 0, 0, 1, 1])
        >>> rows = balanced_bootstrap(y, members=3, num_classes=2,
        ...                           generator=torch.Generator().manual_seed(0))
        >>> rows.shape, torch.bincount(y[rows[0]]).tolist()
        (torch.Size([3, 4]), [2, 2])
    """
    by_class = [torch.nonzero(y == c).flatten() for c in range(num_classes)]
    by_class = [rows for rows in by_class if len(rows)]
    sizes = sorted(len(rows) for rows in by_class)
    m = sizes[(len(sizes) - 1) // 2]
    draws = [rows[torch.randint(len(rows), (members, m), generator=generator)] for rows in by_class]
    return torch.cat(draws, dim=1)


class _MemberBatches(IterableDataset[tuple[torch.Tensor, torch.Tensor]]):
    """One step's rows per iteration, every member's stacked: ``(members, B, ...)``.

    The whole sample of each member, or a random ``max_batch`` rows of it.
    """

    def __init__(
        self, x: torch.Tensor, y: torch.Tensor, pool: torch.Tensor, *, max_batch: int,
        generator: torch.Generator,
    ) -> None:  # fmt: skip
        self.x, self.y, self.pool = x, y, pool
        self.max_batch, self.generator = max_batch, generator
        self.whole = (x[pool], y[pool]) if pool.shape[1] <= max_batch else None

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        if self.whole is not None:
            yield self.whole
            return
        members, size = self.pool.shape
        pick = torch.randint(size, (members, self.max_batch), generator=self.generator)
        rows = torch.gather(self.pool, 1, pick).flatten()
        x = self.x.index_select(0, rows).view(members, self.max_batch, *self.x.shape[1:])
        yield x, self.y.index_select(0, rows).view(members, self.max_batch)


class _Members(nn.Module):
    """The bag seen by the training loop: member-stacked rows in, every member's logits out."""

    def __init__(self, bag: BalancedBaggedMLP) -> None:
        super().__init__()
        self.bag = bag

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bag.member_logits(x)


def _members_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy averaged over each member's rows, summed over the members.

    Every member trains as if alone (AdamW normalises each parameter's step anyway).
    """
    return F.cross_entropy(logits.flatten(0, 1), target.flatten()) * logits.shape[0]


def _adamw(
    bag: BalancedBaggedMLP, *, lr: float, weight_decay: float
) -> Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]:
    """AdamW with weight decay on the bag's weights, none on its biases.

    The factory ignores the parameters ``fit`` passes: they are the bag's four, in groups.
    """

    def build(parameters: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
        groups = [
            {"params": [bag.weight1, bag.weight2], "weight_decay": weight_decay},
            {"params": [bag.bias1, bag.bias2], "weight_decay": 0.0},
        ]
        return torch.optim.AdamW(groups, lr=lr)

    return build


def _rows(x: Any, y: Any, num_classes: int | None) -> tuple[torch.Tensor, torch.Tensor, int]:
    """``x`` as float32 ``(N, F)``, ``y`` as int64 ``(N,)`` in ``[0, C)``, and ``C``."""
    owner = "fit_balanced_bag"
    x_t = as_tensor(x, dtype=torch.float32)
    y_t = as_label_tensor(y, name="y", owner=owner)
    y_t = check_integer_labels(y_t, name="y", owner=owner).long()
    if x_t.dim() != 2 or y_t.dim() != 1 or len(x_t) != len(y_t) or len(y_t) == 0:
        raise ShapeError(
            f"The 'x' and 'y' parameters of {owner} must be rows (N, F) and labels (N,) with "
            f"N >= 1. Got shapes {tuple(x_t.shape)} and {tuple(y_t.shape)} instead."
        )
    if num_classes is not None:
        num_classes = check_int(num_classes, name="num_classes", owner=owner, low=2)
    check_class_indices(y_t, num_classes=num_classes, ignore_index=None, name="y", owner=owner)
    return x_t, y_t, num_classes or max(int(y_t.max()) + 1, 2)


def fit_balanced_bag(
    x: Any,
    y: Any,
    *,
    num_classes: int | None = None,
    seed: int = 0,
    members: int = MEMBERS,
    hidden: int = HIDDEN,
    steps: int = STEPS,
    lr: float = LR,
    weight_decay: float = WEIGHT_DECAY,
    max_batch: int = MAX_BATCH,
    callbacks: Sequence[Callable[[TrainEvent], None]] = (),
    num_threads: int | None = 1,
    device: str | torch.device | None = None,
) -> TrainResult:
    """Train a :class:`BalancedBaggedMLP` on ``x`` and ``y`` (see the module docstring).

    Args:
        x: float features ``(N, F)`` (an array or a tensor), preprocessed.
        y: int labels ``(N,)`` in ``[0, num_classes)``.
        num_classes: the number of classes (default ``max(y) + 1``, at least 2).
        seed: seeds the initial weights, the bootstraps and the minibatches.
        members: the number of MLPs.
        hidden: the hidden width of each.
        steps: optimizer steps (every one reported to ``callbacks`` as an epoch).
        lr: AdamW's learning rate.
        weight_decay: AdamW's weight decay, on the weights only (not the biases).
        max_batch: the largest batch of one member per step.
        callbacks: each gets a :class:`~underdog.training.TrainEvent` after every step.
        num_threads: intra-op threads while training, as for :func:`~underdog.training.fit`.
        device: where to train (default: the CPU).

    Returns:
        A :class:`~underdog.training.TrainResult` whose ``model`` is the bag, in eval mode.

    Raises:
        ShapeError: ``x`` and ``y`` are not rows and labels of the same length.
        DataError: labels outside ``[0, num_classes)``.
        InvalidParameterError: a setting out of its range.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(300, 5)).astype(np.float32)
        >>> y = (x[:, 0] > 1.2).astype(int)                 # about 12 % positive
        >>> bag = fit_balanced_bag(x, y, seed=0, steps=20).model
        >>> bag(torch.as_tensor(x)).shape
        torch.Size([300, 2])
    """
    owner = "fit_balanced_bag"
    x_t, y_t, classes = _rows(x, y, num_classes)
    max_batch = check_int(max_batch, name="max_batch", owner=owner, low=1)
    steps = check_int(steps, name="steps", owner=owner, low=1)
    lr = check_real(lr, name="lr", owner=owner, low=0.0, closed="neither")
    weight_decay = check_real(weight_decay, name="weight_decay", owner=owner, low=0.0)
    seed = check_int(seed, name="seed", owner=owner, low=0)
    bag = BalancedBaggedMLP(x_t.shape[1], classes, members=members, hidden=hidden, seed=seed)
    generator = torch.Generator().manual_seed(seed)
    pool = balanced_bootstrap(y_t, members=bag.members, num_classes=classes, generator=generator)
    batches = _MemberBatches(x_t, y_t, pool, max_batch=max_batch, generator=generator)
    result = fit(
        _Members(bag),
        DataLoader(batches, batch_size=None),
        loss=_members_cross_entropy,
        epochs=steps,
        optimizer=_adamw(bag, lr=lr, weight_decay=weight_decay),
        callbacks=callbacks,
        seed=seed,
        num_threads=num_threads,
        device=device,
        distributed=False,  # each process trains the whole bag: it is small
    )
    bag.eval()
    return TrainResult(bag, result.best_epoch, result.epochs_run, result.history)
