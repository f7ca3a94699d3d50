"""The settings of a comparison (underdog.pipeline.config)."""

import dataclasses

import pytest
import torch

from _tables import TINY, toy_table
from underdog.exceptions import InvalidParameterError
from underdog.pipeline import (
    CompareConfig,
    compare,
)
from underdog.pipeline.recipes import RECIPES


def test_bad_config():
    with pytest.raises(InvalidParameterError, match="'metric' parameter of compare"):
        compare(toy_table(), [RECIPES["none"]], config=CompareConfig(metric="roc_auc"))
    for size in (0, 2.5, "64"):
        with pytest.raises(InvalidParameterError, match="'eval_batch_size' parameter of compare"):
            compare(toy_table(), [RECIPES["none"]], config=CompareConfig(eval_batch_size=size))


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("hidden", (128, 0), "must be a sequence of ints in [1, inf). Got (128, 0) instead."),
        ("hidden", 128, "must be a sequence of ints in [1, inf). Got 128 instead."),
        ("hidden", "128", "must be a sequence of ints in [1, inf). Got '128' instead."),
        ("hidden", (64.0,), "must be a sequence of ints in [1, inf). Got (64.0,) instead."),
        ("hidden", (True,), "must be a sequence of ints in [1, inf). Got (True,) instead."),
        ("num_threads", 0, "must be an int in [1, 1024]. Got 0 instead."),
        ("num_threads", 2.0, "must be an int in [1, 1024]. Got 2.0 instead."),
        ("device", "gpu", "a device string such as 'cpu' or 'cuda:0'. Got 'gpu' instead."),
        ("device", "cuda:-1", "a device string such as 'cpu' or 'cuda:0'. Got 'cuda:-1' instead."),
        ("device", 0, "must be None, a torch.device or a device string such as 'cpu' or"),
    ],
)
def test_bad_model_settings_are_caught_before_training(field, value, expected):
    """hidden, num_threads and device are checked with the other settings, by the config
    itself: not later, inside mlp() or fit()."""
    config = dataclasses.replace(TINY, **{field: value})
    with pytest.raises(InvalidParameterError) as info:
        compare(toy_table(), [RECIPES["none"]], config=config)
    assert str(info.value).startswith(f"The '{field}' parameter of compare ")
    assert expected in str(info.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("hidden", ()),  # a linear model
        ("hidden", [16, 8]),
        ("num_threads", None),  # leaves PyTorch's setting alone
        ("device", "cpu"),
        ("device", torch.device("cpu")),
        ("device", "cuda:1"),  # a valid name; whether it is there is fit's business
    ],
)
def test_valid_model_settings_pass_the_check(field, value):
    dataclasses.replace(TINY, **{field: value}).check(num_classes=3)
