"""The classifier the CLI trains and batched inference with it.

:func:`mlp` builds the multilayer perceptron of ``underdog compare`` / ``underdog train``;
:func:`predict_logits` runs any model over rows in batches, on the model's device. Inputs
are numpy arrays or tensors on any device: tensors are converted with torch operations
only, never through numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from .._validation import check_int, check_real
from ._tensors import as_tensor, batched_logits

__all__ = ["mlp", "predict_logits"]


def mlp(
    in_features: int,
    num_classes: int,
    *,
    hidden: Sequence[int] = (128,),
    dropout: float = 0.1,
    seed: int | None = None,
) -> nn.Sequential:
    """A multilayer perceptron: ``[Linear -> ReLU -> Dropout] * len(hidden) -> Linear``.

    ``seed`` fixes the initial weights without touching the global RNG.

    Example:
        >>> mlp(4, 3, hidden=(8,), seed=0)(torch.zeros(2, 4)).shape
        torch.Size([2, 3])
    """
    owner = "mlp"
    check_int(in_features, name="in_features", owner=owner, low=1)
    check_int(num_classes, name="num_classes", owner=owner, low=1)
    check_real(dropout, name="dropout", owner=owner, low=0.0, high=1.0, closed="left")
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.random.default_generator.manual_seed(seed)  # built on the CPU
        layers: list[nn.Module] = []
        width = in_features
        for size in hidden:
            check_int(size, name="hidden", owner=owner, low=1)
            layers += [nn.Linear(width, size), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = size
        layers.append(nn.Linear(width, num_classes))
        return nn.Sequential(*layers)


def predict_logits(model: nn.Module, x: Any, *, batch_size: int = 4096) -> np.ndarray:
    """Logits of ``model`` on ``x`` in eval mode, as a float64 array ``(N, C)``.

    ``x`` is a numpy array or a tensor on any device; the model runs on ``batch_size`` rows
    at a time, each moved to the model's device.
    """
    batch_size = check_int(batch_size, name="batch_size", owner="predict_logits", low=1)
    x = as_tensor(x, dtype=torch.float32)
    was_training = model.training
    model.eval()
    try:
        return batched_logits(model, x, batch_size=batch_size).double().cpu().numpy()
    finally:
        model.train(was_training)
