"""underdog.transformers with a real transformers.Trainer and a tiny random BERT (no download)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
import torch
import transformers

import underdog
from _hf_models import WEIGHT, arguments, model, samples, train
from underdog.transformers import WeightedLossTrainer, classes_on_dim1

COUNTS = [7, 2, 1]


def _params(trained):
    return torch.cat([p.detach().reshape(-1) for p in trained.parameters()])


def _collate(batch):
    return {key: torch.stack([sample[key] for sample in batch]) for key in batch[0]}


# Each case: the task, the model's number of logits, the loss (built with the reduction
# given), and how to turn the labels of samples() into the loss's target.
LOSSES = {
    "cross_entropy": (
        "sequence",
        3,
        lambda r: underdog.CrossEntropyLoss(weight=WEIGHT, label_smoothing=0.1, reduction=r),
    ),
    "token_cross_entropy": (
        "token",
        3,
        lambda r: underdog.CrossEntropyLoss(weight=WEIGHT, reduction=r),
    ),
    "focal": (
        "sequence",
        3,
        lambda r: underdog.FocalCrossEntropyLoss(gamma=2.0, weight=WEIGHT, reduction=r),
    ),
    "token_ldam": (
        "token",
        3,
        lambda r: underdog.LDAMLoss(counts=COUNTS, weight=WEIGHT, reduction=r),
    ),
    "logit_adjusted": (
        "sequence",
        3,
        lambda r: underdog.LogitAdjustedLoss(counts=COUNTS, reduction=r),
    ),
    "balanced_softmax": (
        "sequence",
        3,
        lambda r: underdog.BalancedSoftmaxLoss(counts=COUNTS, reduction=r),
    ),
    "class_balanced": (
        "sequence",
        3,
        lambda r: underdog.ClassBalancedLoss(counts=COUNTS, beta=0.9, reduction=r),
    ),
    "multilabel_bce": (
        "multilabel",
        3,
        lambda r: underdog.BCEWithLogitsLoss(
            class_weight=torch.tensor([[1.0, 0.5, 2.0], [3.0, 1.0, 5.0]]), reduction=r
        ),
    ),
    "multilabel_asymmetric": ("multilabel", 3, lambda r: underdog.AsymmetricLoss(reduction=r)),
    "binary_one_logit": (
        "binary",
        1,
        lambda r: underdog.BCEWithLogitsLoss(class_weight=torch.tensor([1.0, 4.0]), reduction=r),
    ),
}


def _batch(task, n, *, seed):
    data = samples("token" if task == "token" else "sequence", n, seed=seed)
    batch = _collate(data)
    if task == "multilabel":
        batch["labels"] = torch.nn.functional.one_hot(batch["labels"], 3).float()
        batch["labels"][:, 1] = 1.0 - batch["labels"][:, 1]  # several labels per sample
    elif task == "binary":
        batch["labels"] = (batch["labels"] > 0).float()
    return batch


@pytest.mark.parametrize("case", list(LOSSES))
def test_loss_is_the_weighted_loss_of_the_logits(case, tmp_path):
    task, num_labels, build = LOSSES[case]
    net = model("token" if task == "token" else "sequence", num_labels=num_labels)
    args = arguments(str(tmp_path), batch_size=4, accumulation=1)
    trainer = WeightedLossTrainer(net, args, loss=build("sum"))
    reference = build("mean")
    micro = [_batch(task, 3, seed=1), _batch(task, 5, seed=2)]
    whole = {key: torch.cat([b[key] for b in micro]) for key in micro[0]}
    with torch.no_grad():
        logits = net(input_ids=whole["input_ids"], attention_mask=whole["attention_mask"]).logits
        expected = reference(*classes_on_dim1(logits, whole["labels"]))

        net.eval()  # evaluation: the weighted mean of the batch
        assert trainer.compute_loss(net, dict(whole)) == pytest.approx(float(expected), rel=1e-6)

        net.train()  # training: each micro-batch is divided by the weight sum of the step
        device = (
            "device" in inspect.signature(transformers.Trainer.get_batch_samples).parameters
        ) * [net.device]
        batches, denominator = trainer.get_batch_samples(iter(micro), 2, *device)
        assert batches == micro and torch.equal(denominator, trainer.step_weight_sum(micro))
        target = classes_on_dim1(logits, whole["labels"])[1]
        assert float(denominator) == pytest.approx(float(reference.weight_sum(target)), rel=1e-6)
        step = sum(
            trainer.compute_loss(net, dict(b), num_items_in_batch=denominator) for b in micro
        )
    assert float(step) == pytest.approx(float(expected), rel=1e-5)


@pytest.mark.parametrize("task", ["sequence", "token"])
def test_accumulation_gives_the_update_of_one_large_batch(task, tmp_path):
    data = samples(task, 16)
    initial = _params(model(task))
    large = _params(train(task, data, str(tmp_path / "a"), batch_size=8, accumulation=1))
    accumulated = _params(train(task, data, str(tmp_path / "b"), batch_size=2, accumulation=4))
    assert (large - initial).abs().max() > 1e-2  # it trained
    torch.testing.assert_close(accumulated, large, rtol=0, atol=1e-6)

    class PerMicroBatchMean(WeightedLossTrainer):  # what a per-micro-batch mean would give
        loss_is_scaled_for_ga = False

        def step_weight_sum(self, batches):
            return None

    naive = _params(
        train(
            task,
            data,
            str(tmp_path / "c"),
            batch_size=2,
            accumulation=4,
            trainer_class=PerMicroBatchMean,
        )
    )
    assert (naive - large).abs().max() > 1e-4


def test_bad_parameters(tmp_path):
    net, args = model("sequence"), arguments(str(tmp_path), batch_size=2, accumulation=1)
    with pytest.raises(
        underdog.InvalidParameterError,
        match="must be built with reduction='sum'. Got reduction='mean' instead",
    ):
        WeightedLossTrainer(net, args, loss=underdog.CrossEntropyLoss())
    with pytest.raises(
        underdog.InvalidParameterError,
        match="must be an underdog loss Module with a weight_sum method. Got CrossEntropyLoss",
    ):
        WeightedLossTrainer(net, args, loss=torch.nn.CrossEntropyLoss(reduction="sum"))
    with pytest.raises(
        underdog.InvalidParameterError,
        match="'compute_loss_func' parameter of WeightedLossTrainer must be None: .* Got builtin_function_or_method instead",
    ):
        WeightedLossTrainer(
            net, args, loss=underdog.CrossEntropyLoss(reduction="sum"), compute_loss_func=len
        )


def test_trainer_options_that_would_rescale_or_ignore_the_loss_are_refused(tmp_path, monkeypatch):
    loss = underdog.CrossEntropyLoss(reduction="sum")
    args = arguments(str(tmp_path), batch_size=2, accumulation=1, label_smoothing_factor=0.1)
    with pytest.raises(
        underdog.InvalidParameterError, match="label_smoothing_factor=0: .* Got 0.1 instead"
    ):
        WeightedLossTrainer(model("sequence"), args, loss=loss)
    args = arguments(str(tmp_path), batch_size=2, accumulation=1)
    monkeypatch.setattr(type(args), "n_gpu", property(lambda self: 2))  # DataParallel
    with pytest.raises(
        underdog.InvalidParameterError, match="one GPU per process .* Got n_gpu=2 instead"
    ):
        WeightedLossTrainer(model("sequence"), args, loss=loss)


def test_batches_without_labels_have_no_step_weight_sum(tmp_path):
    args = arguments(str(tmp_path), batch_size=2, accumulation=1)
    trainer = WeightedLossTrainer(
        model("sequence"), args, loss=underdog.CrossEntropyLoss(reduction="sum")
    )
    assert trainer.step_weight_sum([{"input_ids": torch.ones(2, 3).long()}]) is None
    assert trainer.step_weight_sum([]) is None


RANKS = """
    import os, sys
    sys.path.insert(0, {tests!r})
    from _hf_models import samples, train

    def run(rank, world):
        # A launched process, as under torchrun; the process group is already initialised.
        os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world),
                          MASTER_ADDR="127.0.0.1", MASTER_PORT="0")
        result = {{}}
        for average in (True, False):  # False: each rank divides by its own weight sum
            trained = train("sequence", samples("sequence", 8), {out!r} + str(rank),
                            batch_size=2, accumulation=2, epochs=2,
                            average_tokens_across_devices=average)
            result[str(average)] = [p.detach().reshape(-1).tolist() for p in trained.parameters()]
        return result
"""


def test_two_processes_give_the_update_of_one_large_batch(run_ranks, tmp_path):
    """2 ranks x 2 micro-batches x 2 samples = one step on the 8 samples, twice."""
    tests = str(Path(__file__).resolve().parent)
    results = run_ranks(RANKS.format(tests=tests, out=str(tmp_path / "rank")), timeout=240)
    data = samples("sequence", 8)
    large = _params(
        train("sequence", data, str(tmp_path / "one"), batch_size=8, accumulation=1, epochs=2)
    )
    for result in results:
        ddp, local = (
            torch.tensor([v for p in result[key] for v in p]) for key in ("True", "False")
        )
        torch.testing.assert_close(ddp, large, rtol=0, atol=1e-6)
        assert (local - large).abs().max() > 1e-4  # per-rank denominators are not the step's


def test_the_docs_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = (Path(__file__).resolve().parents[1] / "docs" / "transformers.md").read_text()
    namespace: dict = {}
    for block in re.findall(r"```python\n(.*?)```", text, re.S):
        exec(compile(block, "docs/transformers.md", "exec"), namespace)  # noqa: S102 - our docs
    trainer = namespace["trainer"]
    assert trainer.state.global_step == 4  # 32 sequences / (4 x 4) per step x 2 epochs
    assert torch.isfinite(torch.tensor(trainer.evaluate()["eval_loss"]))
