"""The networks the CLI trains, and batched inference with any model.

:func:`mlp` builds the multilayer perceptron of ``underdog compare`` / ``underdog train``
(``--model mlp``, the default); :func:`cnn` a small convolutional network for small images
(``--model cnn``, e.g. digits-lt as 1x8x8 images). :func:`predict_logits` runs any model
over rows, tensors or a dataset in batches, on the model's device. Tensors are converted
with torch operations only, never through numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from .._validation import check_int, check_int_sequence, check_real
from ..exceptions import InvalidParameterError
from ._tensors import as_tensor, batched_logits, module_device
from .data import call_model, split_batch, to_device

__all__ = ["cnn", "mlp", "predict_logits"]


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


class _Images(nn.Module):
    """Rows of ``prod(shape)`` features seen as images of ``shape`` (channels first)."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape((x.shape[0], *self.shape))

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


def cnn(
    input_shape: Sequence[int],
    num_classes: int,
    *,
    channels: Sequence[int] = (16, 32),
    dropout: float = 0.1,
    seed: int | None = None,
) -> nn.Sequential:
    """A small convolutional network for images ``(C, H, W)`` (or ``(H, W)``, one channel).

    ``[Conv 3x3 (padding 1) -> ReLU] * len(channels) -> MaxPool 2x2 -> Dropout -> Linear``
    (no global pooling: small images keep where their strokes are). It takes images or
    their flattened rows (a table of ``C * H * W`` pixel columns, such as digits-lt's 64),
    which it reshapes. ``seed`` fixes the initial weights without touching the global RNG.

    Example:
        >>> cnn((1, 8, 8), 10, seed=0)(torch.zeros(2, 64)).shape
        torch.Size([2, 10])
    """
    owner = "cnn"
    shape = check_int_sequence(input_shape, name="input_shape", owner=owner, low=1)
    if len(shape) not in (2, 3):
        raise InvalidParameterError(
            f"The 'input_shape' parameter of {owner} must be 2 or 3 sizes, (H, W) or "
            f"(C, H, W). Got {shape} instead."
        )
    shape = shape if len(shape) == 3 else (1, *shape)
    check_int(num_classes, name="num_classes", owner=owner, low=1)
    check_real(dropout, name="dropout", owner=owner, low=0.0, high=1.0, closed="left")
    sizes = check_int_sequence(channels, name="channels", owner=owner, low=1)
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.random.default_generator.manual_seed(seed)
        layers: list[nn.Module] = [_Images(shape)]
        width = shape[0]
        for size in sizes:
            layers += [nn.Conv2d(width, size, kernel_size=3, padding=1), nn.ReLU()]
            width = size
        layers += [nn.MaxPool2d(2, ceil_mode=True), nn.Flatten()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        pooled = width * -(-shape[1] // 2) * -(-shape[2] // 2)
        layers.append(nn.Linear(pooled, num_classes))
        return nn.Sequential(*layers)


def _dataset_logits(model: nn.Module, data: Any, batch_size: int) -> torch.Tensor:
    """``model`` over a dataset's or loader's batches (their inputs), concatenated."""
    loader = data if isinstance(data, DataLoader) else DataLoader(data, batch_size=batch_size)
    device = module_device(model)
    parts = []
    with torch.no_grad():
        for batch in loader:
            inputs = split_batch(batch)[0] if isinstance(batch, (tuple, list, dict)) else batch
            parts.append(call_model(model, to_device(inputs, device)))
    return torch.cat(parts) if parts else torch.zeros(0, 0)


def predict_logits(model: nn.Module, x: Any, *, batch_size: int = 4096) -> np.ndarray:
    """Logits of ``model`` on ``x`` in eval mode, as a float64 array ``(N, C)``.

    ``x`` is a numpy array or a tensor on any device (converted to the model's dtype), or a
    ``Dataset`` / ``DataLoader`` whose batches are ``(inputs, ...)``, dicts or inputs
    alone; the model runs on ``batch_size`` rows at a time, each moved to the model's
    device.
    """
    batch_size = check_int(batch_size, name="batch_size", owner="predict_logits", low=1)
    was_training = model.training
    model.eval()
    try:
        if isinstance(x, (Dataset, DataLoader)):
            logits = _dataset_logits(model, x, batch_size)
        else:
            dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), None)
            x = as_tensor(x, dtype=dtype or torch.float32)
            logits = batched_logits(model, x, batch_size=batch_size)
        return logits.double().cpu().numpy()
    finally:
        model.train(was_training)
