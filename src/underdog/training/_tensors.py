"""Tensors and devices for the training engine: conversion, a module's device, batched logits.

Inputs are numpy arrays or tensors on any device. Tensors are converted with torch
operations only, never through numpy, so CUDA tensors work and a CPU tensor of the right
dtype and device is not copied.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["as_tensor", "batched_logits", "feature_dtype", "module_device"]


def as_tensor(data: Any, *, dtype: torch.dtype, device: torch.device | None = None) -> torch.Tensor:
    """``data`` as a ``dtype`` tensor on ``device`` (``None``: a tensor's own device, else CPU).

    A tensor is converted with torch operations from whatever device it is on, never
    through numpy (a CUDA tensor cannot be, and a CPU tensor of this dtype and device is
    returned without a copy); anything else goes through ``np.asarray``.
    """
    if isinstance(data, torch.Tensor):
        return data.detach().to(device=device, dtype=dtype)
    return torch.as_tensor(np.asarray(data), dtype=dtype, device=device)


def module_device(model: nn.Module) -> torch.device:
    """The device of the module's first parameter; the CPU for a module without any."""
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def batched_logits(model: nn.Module, x: torch.Tensor, *, batch_size: int) -> torch.Tensor:
    """``model(x)`` without gradients, ``batch_size`` rows at a time, concatenated.

    Each batch is moved to the model's device as it is used, so ``x`` may live elsewhere;
    the logits stay on the model's device. The caller sets the model's mode.
    """
    device = module_device(model)
    with torch.no_grad():
        return torch.cat(
            # At least one batch, so that zero rows give logits of shape (0, C).
            [model(x[i : i + batch_size].to(device)) for i in range(0, max(len(x), 1), batch_size)]
        )


def feature_dtype(model: nn.Module) -> torch.dtype:
    """The dtype array features become: that of the model's floating parameters."""
    parameter = next((p for p in model.parameters() if p.is_floating_point()), None)
    return torch.float32 if parameter is None else parameter.dtype
