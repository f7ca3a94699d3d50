"""What fit trains on (underdog.training.data): every input kind trains the same model as
tensors with the same seed and order; batches as tuples or dicts; the hook for others."""

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, IterableDataset, TensorDataset

from underdog.exceptions import DataError, InvalidParameterError
from underdog.losses import CrossEntropyLoss
from underdog.training import fit
from underdog.training.data import call_model, rank_batches, split_batch

N, F, C = 48, 4, 3


def _data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(N, F, generator=g)
    y = torch.randint(0, C, (N,), generator=g)
    return x, y


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(F, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, C))


def _params(model):
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


OPTIONS = dict(loss=CrossEntropyLoss(), epochs=3, batch_size=8, seed=4)


class _Stream(IterableDataset):
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __iter__(self):
        return iter(zip(self.x, self.y, strict=True))


class _Dicts(Dataset):
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return {"features": self.x[i], "label": self.y[i]}


class _Named(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, features):
        return self.inner(features)


def test_every_input_kind_trains_the_tensor_model():
    """Arrays, a map-style dataset, a DataLoader and an IterableDataset give the model of
    tensors, for the same order (here the rows in order: a sequential sampler). The
    DataLoader gets a generator of its own, as the docs advise: without one it draws its
    workers' seed from the global RNG, which dropout draws from too."""
    x, y = _data()
    order = range(N)
    expected = _params(fit(_model(), x, y, sampler=order, **OPTIONS).model)
    got = {
        "arrays": fit(_model(), x.numpy(), y.numpy(), sampler=order, **OPTIONS).model,
        "dataset": fit(_model(), TensorDataset(x, y), sampler=order, **OPTIONS).model,
        "loader": fit(
            _model(),
            DataLoader(TensorDataset(x, y), batch_size=8, generator=torch.Generator()),
            **OPTIONS,
        ).model,
        "iterable": fit(_model(), _Stream(x, y), **OPTIONS).model,
    }
    for kind, model in got.items():
        torch.testing.assert_close(_params(model), expected, rtol=0, atol=0, msg=kind)


def test_a_shuffled_dataset_trains_the_shuffled_tensor_model():
    x, y = _data()
    expected = _params(fit(_model(), x, y, **OPTIONS).model)
    torch.testing.assert_close(
        _params(fit(_model(), TensorDataset(x, y), **OPTIONS).model), expected, rtol=0, atol=0
    )


def test_dict_batches_go_to_the_model_as_keywords():
    x, y = _data()
    expected = _params(fit(_model(), x, y, **OPTIONS).model)
    model = _Named(_model())
    fit(model, _Dicts(x, y), **OPTIONS)
    torch.testing.assert_close(_params(model), expected, rtol=0, atol=0)


def test_batch_to_inputs_maps_other_batches():
    x, y = _data()
    expected = _params(fit(_model(), x, y, **OPTIONS).model)
    swapped = TensorDataset(y, x)  # (label, features): not what split_batch reads

    def hook(batch):
        label, features = batch
        return features, label, None

    got = fit(_model(), swapped, batch_to_inputs=hook, **OPTIONS).model
    torch.testing.assert_close(_params(got), expected, rtol=0, atol=0)


def test_validation_in_every_form_gives_the_same_scores():
    x, y = _data()
    base = fit(_model(), x, y, x_val=x[:20], y_val=y[:20], **OPTIONS).history
    for val in (
        TensorDataset(x[:20], y[:20]),
        DataLoader(TensorDataset(x[:20], y[:20]), batch_size=7),
    ):
        history = fit(_model(), x, y, x_val=val, **OPTIONS).history
        assert [e.val_loss for e in history] == pytest.approx([e.val_loss for e in base], rel=1e-6)


def test_split_batch_reads_tuples_and_dicts():
    x, y, w = torch.zeros(2, 3), torch.tensor([0, 1]), torch.ones(2)
    assert split_batch((x, y)) == (x, y, None)
    assert split_batch([x, y, w]) == (x, y, w)
    inputs, target, weight = split_batch(
        {"input_ids": x, "mask": x, "labels": y, "sample_weight": w}
    )
    assert list(inputs) == ["input_ids", "mask"] and target is y and weight is w


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        (torch.zeros(4, 3), "a loader that yields only features has no labels"),
        ((torch.zeros(4, 3),), "Got a tuple of length 1 instead"),
        ({"features": torch.zeros(4, 3)}, "Got the keys \\['features'\\] instead"),
    ],
)
def test_batches_without_labels_are_data_errors(batch, message):
    with pytest.raises(DataError, match=message):
        split_batch(batch)


def test_a_loader_of_features_only_is_one_clear_error():
    loader = DataLoader(torch.randn(10, F), batch_size=5)
    with pytest.raises(DataError, match="yields only features has no labels"):
        fit(_model(), loader, loss=CrossEntropyLoss(), epochs=1)


def test_call_model_spreads_tuples_and_dicts():
    assert call_model(lambda a, b: a + b, (1, 2)) == 3
    assert call_model(lambda *, a: a, {"a": 5}) == 5
    assert call_model(lambda v: v * 2, 4) == 8


def test_rank_batches_split_each_global_batch_between_the_ranks():
    order = torch.arange(11)
    one = [b.tolist() for b in rank_batches(order, batch_size=4, world=1, rank=0, split=False)]
    ranks = [
        [b.tolist() for b in rank_batches(order, batch_size=4, world=2, rank=r, split=False)]
        for r in (0, 1)
    ]
    assert one == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10]]
    assert ranks == [[[0, 2], [4, 6], [8, 10]], [[1, 3], [5, 7], [9]]]
    # A rank-split stream is cut into batches of batch_size / world: the same rows.
    local = [
        b.tolist() for b in rank_batches(order[1::2], batch_size=4, world=2, rank=1, split=True)
    ]
    assert local == ranks[1]


def test_y_with_a_dataset_and_missing_y_with_arrays_are_errors():
    x, y = _data()
    with pytest.raises(InvalidParameterError, match="The 'y' parameter of fit must be None"):
        fit(_model(), TensorDataset(x, y), y, loss=CrossEntropyLoss())
    with pytest.raises(
        InvalidParameterError, match="The 'y' parameter of fit must hold the labels"
    ):
        fit(_model(), x, loss=CrossEntropyLoss())


@pytest.mark.parametrize("x", [[[1.0, 2.0], [3.0]], {"a": 1}], ids=["ragged", "dict"])
def test_features_that_are_no_array_are_one_data_error(x):
    with pytest.raises(
        DataError,
        match="The 'x' parameter of fit must be an array, a tensor, a Dataset or a DataLoader. "
        "Got .* instead.",
    ):
        fit(_model(), x, [0, 1], loss=CrossEntropyLoss())


def test_features_take_the_dtype_of_the_model():
    x, y = _data()
    model = _model().double()
    fit(model, x.numpy().astype(np.float32), y, **OPTIONS)  # float32 features, float64 model
    # The features were converted (exactly) to float64, not the model to float32: the same
    # float64 model as on float64 features.
    reference = _model().double()
    fit(reference, x.numpy().astype(np.float32).astype(np.float64), y, **OPTIONS)
    torch.testing.assert_close(_params(model), _params(reference), rtol=0, atol=0)
