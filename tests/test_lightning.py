"""underdog.lightning with a real lightning.Trainer on the CPU: one process, then two (gloo)."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader

import underdog
from _lightning_models import QUIET, Classifier, Indexed, data, sklearn_metrics
from underdog.lightning import ImbalanceCallback, LightningClassBalancedSampler, recall_metrics

X, Y = data(40, seed=0)
X_VAL, Y_VAL = data(20, seed=1)


def _fit(callback, *, sampler=None, max_epochs=3, model=None):
    model = model or Classifier()
    train = Indexed(X, Y)
    loader = DataLoader(train, batch_size=8, sampler=sampler)
    trainer = L.Trainer(max_epochs=max_epochs, callbacks=[callback], **QUIET)
    trainer.fit(model, loader, DataLoader(Indexed(X_VAL, Y_VAL), batch_size=8))
    return model, trainer


def _one_process_stream(labels, *, seed, epoch):
    sampler = underdog.ClassBalancedSampler(labels, seed=seed)
    sampler.set_epoch(epoch)
    return list(sampler)


def test_counts_sampler_schedule_and_metrics_in_one_process():
    drw = underdog.DeferredReweighting(underdog.class_counts(Y), start_epoch=2, beta=0.99)
    callback = ImbalanceCallback(
        attribute="criterion",
        schedule=lambda counts: underdog.DeferredReweighting(counts, start_epoch=2, beta=0.99),
    )
    sampler = LightningClassBalancedSampler(Indexed(X, Y), seed=3)
    model, trainer = _fit(callback, sampler=sampler)

    assert trainer.train_dataloader.sampler is sampler  # Lightning left it in place
    assert callback.counts.tolist() == underdog.class_counts(Y).tolist() == [28, 8, 4]
    streams = model.epoch_indices()
    for epoch in range(3):  # Lightning calls set_epoch: a new draw every epoch
        assert streams[epoch] == _one_process_stream(Y, seed=3, epoch=epoch)
    assert streams[0] != streams[1]
    weights = model.epoch_weights()  # deferred re-weighting switches at epoch 2
    assert weights[0] == weights[1] == [1.0, 1.0, 1.0]
    assert weights[2] == pytest.approx(drw.weight.tolist())
    expected = sklearn_metrics(model, X_VAL, Y_VAL)
    assert callback.metrics == pytest.approx(expected, abs=1e-12)
    logged = {name: float(value) for name, value in trainer.callback_metrics.items()}
    assert logged == pytest.approx(expected, abs=1e-6)
    assert 0 < expected["val_balanced_accuracy"] < 1


def test_scheme_sets_the_weight_buffer():
    model, _ = _fit(ImbalanceCallback(attribute="criterion", scheme="balanced"), max_epochs=1)
    expected = underdog.class_weight([28, 8, 4], scheme="balanced")
    assert torch.equal(model.criterion.weight, expected)
    assert model.epoch_weights()[0] == pytest.approx(expected.tolist())
    assert "criterion.weight" in model.state_dict()


def test_loss_factory_assigns_a_new_loss_before_training():
    callback = ImbalanceCallback(
        attribute="criterion",
        loss_factory=lambda counts: underdog.CrossEntropyLoss.from_counts(counts, scheme="inverse"),
    )
    model, _ = _fit(callback, max_epochs=1)
    assert model.epoch_weights()[0] == pytest.approx([40 / 28, 40 / 8, 40 / 4])


def test_loss_factory_must_return_a_module():
    callback = ImbalanceCallback(attribute="criterion", loss_factory=lambda counts: counts)
    with pytest.raises(underdog.InvalidParameterError, match="must return a torch.nn.Module"):
        _fit(callback, max_epochs=1)


def test_scheme_needs_a_loss_with_a_weight_buffer():
    model = Classifier()
    model.criterion = torch.nn.MSELoss()
    callback = ImbalanceCallback(attribute="criterion", scheme="balanced")
    with pytest.raises(underdog.InvalidParameterError, match="'weight' buffer .* Got MSELoss"):
        _fit(callback, model=model, max_epochs=1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"attribute": "a b"},
            "The 'attribute' parameter of ImbalanceCallback must be an attribute name. Got 'a b'",
        ),
        (
            {"scheme": "balanced"},
            "'attribute' parameter .* must name the module's loss .* Got None instead",
        ),
        (
            {"attribute": "c", "scheme": "balanced", "loss_factory": len},
            "'scheme' parameter .* must be None when loss_factory is given .* Got 'balanced' instead",
        ),
        (
            {"attribute": "c", "scheme": "balanced", "schedule": len},
            "must be None when schedule is given",
        ),
        (
            {"attribute": "c", "loss_factory": 3},
            "'loss_factory' parameter .* must be a callable .* Got int",
        ),
        ({"num_classes": 1}, "'num_classes' parameter .* must be an int >= 2. Got 1 instead"),
        ({"prefix": None}, "'prefix' parameter .* must be a str. Got NoneType"),
    ],
)
def test_bad_parameters(kwargs, message):
    with pytest.raises(underdog.InvalidParameterError, match=message):
        ImbalanceCallback(**kwargs)


def _validate(callback, outputs, batch):
    """Run the validation hooks on one batch, with a one-process stand-in for the Trainer."""
    logged = {}
    trainer = SimpleNamespace(strategy=SimpleNamespace(reduce=lambda t, reduce_op: t))
    module = SimpleNamespace(log=lambda name, value, **_: logged.__setitem__(name, value))
    callback.on_validation_epoch_start(trainer, module)
    callback.on_validation_batch_end(trainer, module, outputs, batch, 0)
    callback.on_validation_epoch_end(trainer, module)
    return logged


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_metrics_of_token_logits_skip_ignore_index():
    from sklearn.metrics import balanced_accuracy_score

    logits = torch.randn(3, 4, 5, generator=torch.Generator().manual_seed(0))  # (N, C, T)
    target = torch.randint(0, 4, (3, 5), generator=torch.Generator().manual_seed(1))
    target[0, :2] = -100
    logged = _validate(ImbalanceCallback(ignore_index=-100), {"logits": logits}, {"labels": target})
    keep = target != -100
    expected = balanced_accuracy_score(target[keep].numpy(), logits.argmax(1)[keep].numpy())
    assert logged["val_balanced_accuracy"] == pytest.approx(expected)


def test_metrics_of_one_logit_per_sample_and_explicit_target():
    logits = torch.tensor([[2.0], [-1.0], [0.5], [-3.0]])  # (N, 1): predicted 1, 0, 1, 0
    target = torch.tensor([1.0, 1.0, 0.0, 0.0])
    logged = _validate(ImbalanceCallback(), {"logits": logits, "target": target}, None)
    assert logged == {"val_recall_0": 0.5, "val_recall_1": 0.5, "val_balanced_accuracy": 0.5}


@pytest.mark.parametrize("key", ["target", "targets", "label", "labels", "y"])
def test_a_dict_batch_gives_its_target_under_every_key_class_counts_reads(key):
    from underdog.labels import _LABEL_KEYS
    from underdog.training.data import TARGET_KEYS

    assert TARGET_KEYS == _LABEL_KEYS == ("target", "targets", "label", "labels", "y")
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, 0.0], [0.0, 2.0]])  # predicted 0, 1, 0, 1
    target = torch.tensor([0, 1, 1, 1])
    logged = _validate(ImbalanceCallback(), logits, {"x": torch.zeros(4, 2), key: target})
    assert logged == pytest.approx(
        {"val_recall_0": 1.0, "val_recall_1": 2 / 3, "val_balanced_accuracy": 5 / 6}
    )


def test_recall_of_a_class_without_samples_is_zero_and_left_out_of_balanced_accuracy():
    metrics = recall_metrics(torch.tensor([[3, 1, 0], [0, 2, 0], [0, 0, 0]]))
    assert metrics == {
        "recall_0": 0.75,
        "recall_1": 1.0,
        "recall_2": 0.0,
        "balanced_accuracy": 0.875,
    }


def test_validation_outputs_must_be_logits():
    with pytest.raises(underdog.InvalidParameterError, match="must return logits"):
        _validate(ImbalanceCallback(), None, (torch.zeros(2, 3), torch.zeros(2)))
    with pytest.raises(
        underdog.ShapeError,
        match="logits of shape \\(2, 3, 4\\) and dtype torch.float32 for a target of shape \\(2,\\)",
    ):
        _validate(ImbalanceCallback(), torch.zeros(2, 3, 4), (None, torch.zeros(2).long()))
    with pytest.raises(underdog.ShapeError, match="must return float logits .* dtype torch.int64"):
        _validate(ImbalanceCallback(), torch.zeros(2, 3).long(), (None, torch.zeros(2).long()))
    with pytest.raises(underdog.InvalidParameterError, match="'target' parameter .* Got Tensor"):
        _validate(ImbalanceCallback(), torch.zeros(2, 3), torch.zeros(2))


def test_sampler_follows_the_process_group_and_matches_the_core_sampler():
    sampler = LightningClassBalancedSampler(Y, num_samples=30, power=0.5, seed=4)
    assert isinstance(sampler, torch.utils.data.DistributedSampler)
    assert len(sampler) == 30 and sampler.num_replicas == 1
    assert list(sampler) == list(
        underdog.ClassBalancedSampler(Y, num_samples=30, power=0.5, seed=4)
    )
    with pytest.raises(
        underdog.InvalidParameterError,
        match=r"must be None when 'power' is given \(pass at most one of",
    ):
        LightningClassBalancedSampler(Y, power=0.5, class_weight=[1, 2, 3])


RANKS = """
    import os, sys
    sys.path.insert(0, {tests!r})
    import lightning as L
    import torch
    from _lightning_models import QUIET, Classifier, Indexed, Shard, data, sklearn_metrics
    from torch.utils.data import DataLoader

    import underdog
    from underdog.lightning import ImbalanceCallback, LightningClassBalancedSampler

    def fit(model, callback, train, *, epochs, val=None):
        trainer = L.Trainer(devices=2, strategy="ddp", max_epochs=epochs, callbacks=[callback], **QUIET)
        trainer.fit(model, train, val)
        return trainer

    def run(rank, world):
        os.environ["LOCAL_RANK"] = str(rank)  # a launched process, as under torchrun
        x, y = data(40, seed=0)
        x_val, y_val = data(20, seed=1)
        callback = ImbalanceCallback(
            attribute="criterion",
            schedule=lambda counts: underdog.DeferredReweighting(counts, start_epoch=2, beta=0.99))
        model = Classifier()
        sampler = LightningClassBalancedSampler(Indexed(x, y), seed=3)
        trainer = fit(model, callback, DataLoader(Indexed(x, y), batch_size=8, sampler=sampler),
                      epochs=3, val=DataLoader(Indexed(x_val, y_val), batch_size=4))
        result = {{
            "kept": trainer.train_dataloader.sampler is sampler,
            "counts": callback.counts.tolist(),
            "streams": model.epoch_indices(),
            "weights": model.epoch_weights(),
            "metrics": callback.metrics,
            "sklearn": sklearn_metrics(model, x_val, y_val),
        }}
        # Lightning re-shards a sampler that is not a DistributedSampler: refused.
        core = underdog.DistributedClassBalancedSampler(Indexed(x, y), seed=3)
        try:
            fit(Classifier(), callback, DataLoader(Indexed(x, y), batch_size=8, sampler=core), epochs=1)
        except underdog.InvalidParameterError as error:
            result["resharded"] = str(error)
        # Lightning shards a one-process sampler itself; the callback sets its epoch.
        plain = Classifier()
        one_process = underdog.ClassBalancedSampler(Indexed(x, y), seed=3)
        fit(plain, ImbalanceCallback(), DataLoader(Indexed(x, y), batch_size=8, sampler=one_process), epochs=2)
        result["wrapped_streams"] = plain.epoch_indices()
        # An iterable dataset is each rank's shard: its counts are summed across ranks.
        shard = ImbalanceCallback(attribute="criterion", scheme="balanced", metrics=False)
        fit(Classifier(), shard, DataLoader(Shard(x, y, rank=rank, world=world), batch_size=8), epochs=1)
        result["shard_counts"] = shard.counts.tolist()
        return result
"""


def test_two_processes(run_ranks):
    tests = str(Path(__file__).resolve().parent)
    results = run_ranks(RANKS.format(tests=tests), world_size=2, timeout=240)
    counts = underdog.class_counts(Y).tolist()
    drw = underdog.DeferredReweighting(counts, start_epoch=2, beta=0.99).weight.tolist()
    for result in results:
        assert result["kept"]
        assert result["counts"] == counts  # the whole dataset once, not once per rank
        assert result["shard_counts"] == counts  # two shards, summed
        assert result["weights"]["0"] == result["weights"]["1"] == [1.0, 1.0, 1.0]
        assert result["weights"]["2"] == pytest.approx(drw)
        assert result["metrics"] == pytest.approx(result["sklearn"], abs=1e-12)
        assert "wrapped in its own distributed sampler" in result["resharded"]
    assert results[0]["sklearn"] == results[1]["sklearn"]  # the same model on both ranks
    for epoch in ("0", "1", "2"):
        first, second = (result["streams"][epoch] for result in results)
        assert len(first) == len(second) == 20
        # Rank r holds positions r, r + 2, ... of the one-process stream: disjoint parts.
        merged = [index for pair in zip(first, second, strict=True) for index in pair]
        assert merged == _one_process_stream(Y, seed=3, epoch=int(epoch))
    assert results[0]["streams"]["0"] != results[0]["streams"]["1"]
    for epoch in ("0", "1"):  # Lightning shards (and shuffles) a one-process sampler's stream
        first, second = (result["wrapped_streams"][epoch] for result in results)
        assert sorted(first + second) == sorted(_one_process_stream(Y, seed=3, epoch=int(epoch)))


def test_the_docs_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = (Path(__file__).resolve().parents[1] / "docs" / "lightning.md").read_text()
    namespace: dict = {}
    for block in re.findall(r"```python\n(.*?)```", text, re.S):
        exec(compile(block, "docs/lightning.md", "exec"), namespace)  # noqa: S102 - our docs
    callback = namespace["callback"]
    assert callback.counts.tolist() == [900, 90, 10]
    assert set(callback.metrics) == {
        "val_recall_0",
        "val_recall_1",
        "val_recall_2",
        "val_balanced_accuracy",
    }
    assert list(tmp_path.iterdir()) == []  # it writes nothing
