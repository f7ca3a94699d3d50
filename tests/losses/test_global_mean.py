"""GlobalMean: the weighted mean of the whole step, across micro-batches and DDP ranks."""

from __future__ import annotations

import pytest
import torch

from underdog import BCEWithLogitsLoss, CrossEntropyLoss, InvalidParameterError
from underdog.losses import GlobalMean

f64 = torch.float64


def _ce_case():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(12, 3, dtype=f64, generator=g)
    y = torch.tensor([0, 0, 0, 0, 0, 1, 0, 2, 0, -100, 1, 0])
    return x, y, dict(weight=torch.tensor([0.2, 1.5, 4.0], dtype=f64), label_smoothing=0.1)


@pytest.mark.parametrize(
    ("make", "target"),
    [
        (
            lambda r: CrossEntropyLoss(weight=[0.2, 1.5, 4.0], reduction=r),
            torch.tensor([0, 2, -100, 1]),
        ),
        (lambda r: CrossEntropyLoss(reduction=r, ignore_index=1), torch.tensor([0, 2, 1, 1])),
        (
            lambda r: BCEWithLogitsLoss(
                class_weight=[[0.5, 2.0, 1.0], [3.0, 1.0, 0.2]], reduction=r, ignore_index=-1
            ),
            torch.tensor([[1.0, 0.0, -1.0], [0.0, 0.0, 1.0], [1.0, 1.0, 0.0], [0.0, -1.0, 0.0]]),
        ),
        (
            lambda r: BCEWithLogitsLoss(pos_weight=[4.0, 1.0, 2.0], reduction=r),
            torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0], [1.0, 1.0, 0.0], [0.0, 1.0, 0.0]]),
        ),
    ],
    ids=["ce-weighted", "ce-ignore", "bce-class-weight", "bce-pos-weight"],
)
def test_weight_sum_is_what_mean_divides_by(make, target):
    x = torch.randn(4, 3, dtype=f64) if target.ndim == 1 else torch.randn(target.shape, dtype=f64)
    s = torch.tensor([0.5, 1.0, 2.0, 0.25], dtype=f64)
    total, mean = make("sum").double(), make("mean").double()
    for weight in (None, s):
        expected = mean(x, target, sample_weight=weight)
        got = total(x, target, sample_weight=weight) / total.weight_sum(
            target, sample_weight=weight
        )
        torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)


def test_micro_batches_give_the_full_batch_gradient():
    x, y, kwargs = _ce_case()
    full = x.clone().requires_grad_(True)
    CrossEntropyLoss(**kwargs)(full, y).backward()

    criterion = GlobalMean(CrossEntropyLoss(reduction="sum", **kwargs))
    assert criterion.world_size == 1
    split = x.clone().requires_grad_(True)
    chunks = list(zip(split.split(4), y.split(4), strict=True))
    denominator = criterion.denominator([t for _, t in chunks])
    for logits, target in chunks:
        criterion(logits, target, denominator=denominator).backward()
    torch.testing.assert_close(split.grad, full.grad, rtol=1e-12, atol=1e-12)

    naive = x.clone().requires_grad_(True)
    for logits, target in zip(naive.split(4), y.split(4), strict=True):
        (CrossEntropyLoss(**kwargs)(logits, target) / 3).backward()
    assert not torch.allclose(naive.grad, full.grad)


def test_bad_construction():
    with pytest.raises(
        InvalidParameterError, match="must be built with reduction='sum'. Got reduction='mean'"
    ):
        GlobalMean(CrossEntropyLoss())
    with pytest.raises(
        InvalidParameterError, match="must be an underdog loss with a weight_sum method"
    ):
        GlobalMean(torch.nn.CrossEntropyLoss(reduction="sum"))
    with pytest.raises(InvalidParameterError, match="'world_size' parameter of GlobalMean"):
        GlobalMean(CrossEntropyLoss(reduction="sum"), world_size=0)


DDP_BODY = """
from contextlib import nullcontext
import torch
from torch.nn.parallel import DistributedDataParallel as DDP
from underdog import BCEWithLogitsLoss, CrossEntropyLoss, FocalCrossEntropyLoss
from underdog.losses import GlobalMean

f64 = torch.float64
N, D = 16, 5
g = torch.Generator().manual_seed(0)
X = torch.randn(N, D, dtype=f64, generator=g)
Y = torch.tensor([0, 0, 1, 0, 0, 0, 2, 0, 0, 0, -100, 0, 1, 0, 2, 1])
YM = (torch.rand(N, 4, generator=g) < 0.3).to(f64)
YM[2, 1] = -1
LOSSES = {
    "ce": (3, Y, lambda r: CrossEntropyLoss(weight=[0.2, 1.5, 4.0], label_smoothing=0.1, reduction=r)),
    "focal": (3, Y, lambda r: FocalCrossEntropyLoss(gamma=2.0, weight=[0.2, 1.5, 4.0], reduction=r)),
    "bce": (4, YM, lambda r: BCEWithLogitsLoss(
        class_weight=[[0.5, 1.0, 2.0, 0.7], [3.0, 1.0, 0.25, 2.0]], ignore_index=-1, reduction=r)),
}

def model(out):
    torch.manual_seed(1)
    return torch.nn.Linear(D, out).to(f64)

def grad(m):
    return torch.cat([p.grad.reshape(-1) for p in m.parameters()])

def run(rank, world):
    result = {}
    for name, (out, targets, make) in LOSSES.items():
        reference = model(out)
        make("mean").to(f64)(reference(X), targets).backward()
        full = grad(reference)
        shard = slice(rank * N // world, (rank + 1) * N // world)
        for accumulation in (1, 2):
            net = DDP(model(out))
            criterion = GlobalMean(make("sum").to(f64))
            micro = list(zip(X[shard].chunk(accumulation), targets[shard].chunk(accumulation)))
            denominator = criterion.denominator([t for _, t in micro])
            for step, (x, t) in enumerate(micro):
                sync = net.no_sync() if step < accumulation - 1 else nullcontext()
                with sync:
                    criterion(net(x), t, denominator=denominator).backward()
            result[f"{name}-{accumulation}"] = (grad(net.module) - full).abs().max().item()
        naive = DDP(model(out))
        make("mean").to(f64)(naive(X[shard]), targets[shard]).backward()
        result[f"{name}-naive-ratio"] = (grad(naive.module).norm() / full.norm()).item()
        result[f"{name}-naive-diff"] = (grad(naive.module) - full).abs().max().item()
    return result
"""


def test_ddp_gradient_equals_the_full_batch_gradient(run_ranks):
    results = run_ranks(DDP_BODY)
    for result in results:
        for name in ("ce", "focal", "bce"):
            assert result[f"{name}-1"] < 1e-6, (name, result)
            assert result[f"{name}-2"] < 1e-6, (name, result)
            # Without GlobalMean the per-rank weighted means give another gradient.
            assert result[f"{name}-naive-diff"] > 1e-3, (name, result)
    assert results[0] == results[1]
