"""Fixtures the loss tests share."""

import pytest
import torch


@pytest.fixture
def five_class_logits():
    """24 rows of float64 logits over 5 classes and their targets (LDAM and its schedule)."""
    g = torch.Generator().manual_seed(7)
    x = torch.randn(24, 5, generator=g, dtype=torch.float64) * 0.3
    y = torch.randint(0, 5, (24,), generator=g)
    return x, y
