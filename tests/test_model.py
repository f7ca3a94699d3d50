"""Model directories: a corrupt or mismatched ``model.pt`` is bad input, said in one short
line naming the file; errors that are not about the file keep their own type."""

import io
import shutil

import numpy as np
import pytest
import torch
from torch import nn

from _tables import TINY, make_frame
from underdog.data import table_from_frame
from underdog.exceptions import DataError
from underdog.model import TrainedModel, train_model
from underdog.recipes import RECIPES


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    table = table_from_frame(make_frame(), target="label", name="multi")
    directory = tmp_path_factory.mktemp("models") / "model"
    train_model(table, RECIPES["none"], config=TINY).save(directory)
    return directory


def _copy_with_weights(model_dir, tmp_path, content: bytes):
    copy = tmp_path / "copy"
    shutil.copytree(model_dir, copy)
    (copy / "model.pt").write_bytes(content)
    return copy


def _saved(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def test_a_saved_model_loads_and_predicts(model_dir):
    model = TrainedModel.load(model_dir)
    labels, proba = model.predict(make_frame(10, seed=1))
    assert len(labels) == 10 and set(labels) <= {"a", "b", "c"}
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-5)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"not a state dict", id="text"),
        pytest.param("first half", id="truncated"),
        pytest.param("flipped bytes", id="corrupt"),
    ],
)
def test_a_corrupt_weights_file_is_one_short_line(model_dir, tmp_path, content):
    good = (model_dir / "model.pt").read_bytes()
    if content == "first half":
        content = good[: len(good) // 2]
    elif content == "flipped bytes":
        content = good[:64] + bytes(b ^ 0xFF for b in good[64:128]) + good[128:]
    copy = _copy_with_weights(model_dir, tmp_path, content)
    with pytest.raises(DataError) as info:
        TrainedModel.load(copy)
    message = str(info.value)
    assert f"{copy / 'model.pt'} is not a valid underdog model file" in message
    assert "\n" not in message and len(message) < 250, message
    assert info.value.__cause__ is not None  # torch's own error stays chained


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (torch.zeros(3), "model.pt is not a valid underdog model file: it holds a Tensor, not"),
        ({"foo": torch.zeros(3)}, "does not fit the architecture in model.json: missing 0.weight"),
        ("wrong shape", "'0.weight' has shape (8, 3) where the architecture in model.json"),
        ("not a tensor", "'0.bias' is a list, not a tensor"),
    ],
)
def test_weights_that_do_not_fit_the_description(model_dir, tmp_path, state, message):
    good = torch.load(model_dir / "model.pt", weights_only=True)
    if state == "wrong shape":
        state = {**good, "0.weight": torch.zeros(8, 3)}
    elif state == "not a tensor":
        state = {**good, "0.bias": [0.0] * len(good["0.bias"])}
    copy = _copy_with_weights(model_dir, tmp_path, _saved(state))
    with pytest.raises(DataError) as info:
        TrainedModel.load(copy)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_errors_that_are_not_about_the_file_keep_their_type(model_dir, monkeypatch):
    """A bug while loading the checked weights into the module is not reported as a bad
    model file."""

    def broken(self, *args, **kwargs):
        raise RuntimeError("a bug, not the user's file")

    monkeypatch.setattr(nn.Module, "load_state_dict", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        TrainedModel.load(model_dir)
