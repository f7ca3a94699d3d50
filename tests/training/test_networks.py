"""The built-in networks and batched inference (underdog.training.networks)."""

import numpy as np
import pytest
import torch

from underdog.exceptions import InvalidParameterError
from underdog.training.networks import mlp, predict_logits


def _data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(np.int64)
    x = rng.normal(size=(n, 4)).astype(np.float32) + y[:, None] * 1.5
    return x, y


def test_predict_logits_in_batches_equals_one_pass():
    x, _ = _data(n=50)
    model = mlp(4, 3, seed=0).train()
    one_pass = predict_logits(model, x, batch_size=50)
    batched = predict_logits(model, x, batch_size=7)
    np.testing.assert_allclose(batched, one_pass, rtol=1e-6, atol=1e-6)
    assert batched.dtype == np.float64 and model.training  # the mode is restored
    with torch.no_grad():
        expected = model.eval()(torch.as_tensor(x, dtype=torch.float32)).double().numpy()
    np.testing.assert_array_equal(one_pass, expected)
    assert predict_logits(model, x[:0]).shape == (0, 3)  # zero rows, still C columns
    with pytest.raises(InvalidParameterError, match="'batch_size' parameter of predict_logits"):
        predict_logits(model, x, batch_size=0)
