"""Shared fixtures."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest

_LAUNCH = textwrap.dedent(
    """
    import datetime, json, sys
    import torch.distributed as dist
    import torch.multiprocessing as mp

    {body}

    def _entry(rank, port, out, world):
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{{port}}", rank=rank,
                                world_size=world, timeout=datetime.timedelta(seconds=60))
        try:
            result = run(rank, world)
            # Free DDP reducers (held in reference cycles) while the group still exists,
            # and let every rank finish before it is torn down.
            __import__("gc").collect()
            dist.barrier()
        finally:
            dist.destroy_process_group()
        with open(f"{{out}}.{{rank}}", "w") as fh:
            json.dump(result, fh)

    if __name__ == "__main__":
        mp.spawn(_entry, args=(int(sys.argv[1]), sys.argv[2], int(sys.argv[3])),
                 nprocs=int(sys.argv[3]), join=True)
    """
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def run_ranks(tmp_path):
    """Run ``run(rank, world_size) -> json-able`` from ``body`` on gloo ranks; return results.

    The processes are started by the test (``torch.multiprocessing.spawn``) on a free
    loopback port, with a timeout, and are joined before the fixture returns.
    """

    def launch(body: str, world_size: int = 2, timeout: float = 180) -> list:
        script = tmp_path / "ranks.py"
        script.write_text(_LAUNCH.format(body=textwrap.dedent(body)))
        out = tmp_path / "result"
        # The ranks must import the underdog under test, even when it is found through a
        # relative PYTHONPATH (such as src): they run in tmp_path.
        import underdog

        source = os.path.dirname(os.path.dirname(os.path.abspath(underdog.__file__)))
        path = os.pathsep.join(p for p in (source, os.environ.get("PYTHONPATH")) if p)
        subprocess.run(
            [sys.executable, str(script), str(_free_port()), str(out), str(world_size)],
            check=True,
            timeout=timeout,
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": path},
        )
        return [json.loads((tmp_path / f"result.{rank}").read_text()) for rank in range(world_size)]

    return launch
