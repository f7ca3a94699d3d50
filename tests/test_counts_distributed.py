"""Counts are summed across ranks: two gloo processes started by the test itself."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap

WORKER = textwrap.dedent(
    """
    import json, sys
    import torch
    import torch.distributed as dist
    import torch.multiprocessing as mp
    from torch.utils.data import DataLoader, TensorDataset
    from underdog import class_counts, class_weight, multilabel_counts, pos_weight

    LABELS = [[0, 1, 1, 3, 0, 0], [2, 5, 1, 0]]  # rank 1 sees the largest label
    MULTI = [[[1, 0], [0, 0], [1, 1]], [[0, 1], [1, 1]]]

    def run(rank, port, out):
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}",
                                rank=rank, world_size=2, timeout=__import__("datetime").timedelta(seconds=60))
        mine = torch.tensor(LABELS[rank])
        loader = DataLoader(TensorDataset(torch.zeros(len(mine), 1), mine), batch_size=3)
        result = {
            "array": class_counts(mine).tolist(),
            "loader": class_counts(loader).tolist(),
            "local": class_counts(mine, distributed=False).tolist(),
            "weights": class_weight(class_counts(mine), zero_count="zero").tolist(),
            "multi_pos": multilabel_counts(torch.tensor(MULTI[rank])).positives.tolist(),
            "multi_rows": multilabel_counts(torch.tensor(MULTI[rank])).num_samples,
            "pos_weight": pos_weight(torch.tensor(MULTI[rank]).float(), dtype=torch.float64).tolist(),
        }
        with open(f"{out}.{rank}", "w") as fh:
            json.dump(result, fh)
        dist.destroy_process_group()

    if __name__ == "__main__":
        mp.spawn(run, args=(int(sys.argv[1]), sys.argv[2]), nprocs=2, join=True)
    """
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_counts_and_weights_are_global_on_every_rank(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    out = tmp_path / "result"
    subprocess.run(
        [sys.executable, str(script), str(_free_port()), str(out)],
        check=True,
        timeout=180,
        cwd=tmp_path,
    )
    results = [json.loads((tmp_path / f"result.{rank}").read_text()) for rank in (0, 1)]
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
