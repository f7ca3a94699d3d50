"""The torch.distributed helpers, without a process group and on two gloo ranks."""

from __future__ import annotations

from underdog import _dist
from underdog.losses import CrossEntropyLoss, GlobalMean
from underdog.training._runtime import ranks as _ranks


def test_without_a_process_group():
    assert not _dist.initialized()
    assert not _dist.distributed_active()
    assert (_dist.world_size(), _dist.rank()) == (1, 0)
    assert _ranks(True) == (1, 0)
    assert GlobalMean(CrossEntropyLoss(reduction="sum")).world_size == 1


def test_training_asks_dist_for_its_ranks(monkeypatch):
    """training.fit._ranks goes through underdog._dist, the one place that reads torch.distributed's
    state: patching it is enough to make fit see rank 1 of 3."""
    monkeypatch.setattr(_dist, "world_size", lambda group=None: 3)
    monkeypatch.setattr(_dist, "rank", lambda group=None: 1)
    assert _ranks(True) == (3, 1)
    assert _ranks(False) == (1, 0)


BODY = """
import torch
from underdog import _dist
from underdog.losses import CrossEntropyLoss, GlobalMean
from underdog.samplers import DistributedClassBalancedSampler
from underdog.training._runtime import ranks as _ranks

def run(rank, world):
    sampler = DistributedClassBalancedSampler([0, 1, 1, 2] * 3, seed=0)
    counts = torch.arange(1, 3 + rank, dtype=torch.int64)  # rank 1 has one class more
    return {
        "initialized": _dist.initialized(),
        "active": _dist.distributed_active(),
        "world_rank": [_dist.world_size(), _dist.rank()],
        "train": list(_ranks(True)),
        "train_off": list(_ranks(False)),
        "sampler": [sampler.num_replicas, sampler.rank],
        "global_mean": GlobalMean(CrossEntropyLoss(reduction="sum")).world_size,
        "sum": _dist.sum_across_ranks(counts).tolist(),
    }
"""


def test_on_two_ranks(run_ranks):
    results = run_ranks(BODY)
    for rank, result in enumerate(results):
        assert result["initialized"] and result["active"]
        assert result["world_rank"] == [2, rank]
        assert result["train"] == [2, rank]
        assert result["train_off"] == [1, 0]
        assert result["sampler"] == [2, rank]
        assert result["global_mean"] == 2
        assert result["sum"] == [2, 4, 3]  # [1, 2] padded to [1, 2, 0], plus [1, 2, 3]
