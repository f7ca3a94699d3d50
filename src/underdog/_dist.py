"""``torch.distributed`` in one place, for every module of the library.

Is a process group running, its size, this rank, and the all-reduce of small CPU tensors
that counts need.

Imports only torch, so every module of the library may use it.
"""

from __future__ import annotations

import torch

__all__ = [
    "all_reduce",
    "distributed_active",
    "initialized",
    "rank",
    "sum_across_ranks",
    "world_size",
]


def initialized() -> bool:
    """True when ``torch.distributed`` is built in and a default process group exists."""
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def world_size(group: torch.distributed.ProcessGroup | None = None) -> int:
    """The number of ranks in ``group`` (default: the world); 1 without a process group."""
    return torch.distributed.get_world_size(group) if initialized() else 1


def rank(group: torch.distributed.ProcessGroup | None = None) -> int:
    """This process's rank in ``group`` (default: the world); 0 without a process group."""
    return torch.distributed.get_rank(group) if initialized() else 0


def distributed_active() -> bool:
    """True when a process group of more than one rank runs: only then is there a reduction."""
    return world_size() > 1


def _reduce_device() -> torch.device:
    """NCCL reduces on the current CUDA device, every other backend on the CPU."""
    if torch.distributed.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def all_reduce(tensor: torch.Tensor, op: torch.distributed.ReduceOp.RedOpType) -> torch.Tensor:
    """All-reduce a copy of ``tensor`` with ``op`` across the world; returns a CPU tensor."""
    buffer = tensor.to(device=_reduce_device(), copy=True)
    torch.distributed.all_reduce(buffer, op=op)
    return buffer.cpu()


def sum_across_ranks(counts: torch.Tensor) -> torch.Tensor:
    """Sum int64 counts of shape ``(..., K)`` across ranks, padding ``K`` to the largest."""
    size = torch.tensor([counts.shape[-1]], dtype=torch.int64)
    width = int(all_reduce(size, torch.distributed.ReduceOp.MAX)[0])
    if width > counts.shape[-1]:
        counts = torch.nn.functional.pad(counts, (0, width - counts.shape[-1]))
    return all_reduce(counts, torch.distributed.ReduceOp.SUM)
