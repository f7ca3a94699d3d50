"""Counts are summed across ranks: two gloo processes started by the test itself."""

from __future__ import annotations

BODY = """
import torch
from torch.utils.data import DataLoader, TensorDataset
from underdog import class_counts, class_weight, multilabel_counts, pos_weight

LABELS = [[0, 1, 1, 3, 0, 0], [2, 5, 1, 0]]  # rank 1 sees the largest label
MULTI = [[[1, 0], [0, 0], [1, 1]], [[0, 1], [1, 1]]]

def run(rank, world):
    mine = torch.tensor(LABELS[rank])
    loader = DataLoader(TensorDataset(torch.zeros(len(mine), 1), mine), batch_size=3)
    multi = torch.tensor(MULTI[rank])
    return {
        "array": class_counts(mine).tolist(),
        "loader": class_counts(loader).tolist(),
        "local": class_counts(mine, distributed=False).tolist(),
        "weights": class_weight(class_counts(mine), zero_count="zero").tolist(),
        "multi_pos": multilabel_counts(multi).positives.tolist(),
        "multi_rows": multilabel_counts(multi).num_samples,
        "pos_weight": pos_weight(multi.float(), dtype=torch.float64).tolist(),
    }
"""


def test_counts_and_weights_are_global_on_every_rank(run_ranks):
    results = run_ranks(BODY)
    whole = [4, 3, 1, 1, 0, 1]  # counts of both shards together
    for result in results:
        assert result["array"] == whole
        assert result["loader"] == whole
        assert result["multi_pos"] == [3, 3]
        assert result["multi_rows"] == 5
        assert result["pos_weight"] == [2 / 3, 2 / 3]
    assert results[0]["local"] == [3, 2, 0, 1]
    assert results[1]["local"] == [1, 1, 1, 0, 0, 1]
    assert results[0]["weights"] == results[1]["weights"]
