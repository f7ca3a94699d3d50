"""The process around a training run: ranks, threads, generators and lockstep.

Here are the pieces of :func:`~underdog.training.fit` that touch the process rather than the
model: the data-parallel world (:func:`ranks`, through :mod:`underdog._dist`), PyTorch's
intra-op threads (:func:`threads`), the generators dropout draws from (:func:`seeded`,
:func:`cuda_indices`) and keeping ranks whose loaders differ in length in step
(:func:`in_lockstep`). Each restores what it changes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from .. import _dist
from .data import Batch

__all__ = ["cuda_indices", "in_lockstep", "ranks", "seeded", "threads"]


def in_lockstep(
    groups: Iterator[list[Batch]], device: torch.device, world: int
) -> Iterator[list[Batch]]:
    """The groups of a loader whose ranks may hold different numbers of batches, in lockstep.

    Every rank stops at the first step some rank has no batch for (one small collective a
    step).
    """
    for group in groups:
        if world > 1:
            more = torch.ones((), device=device)
            torch.distributed.all_reduce(more, op=torch.distributed.ReduceOp.MIN)
            if not bool(more):
                return
        yield group
    if world > 1:  # this rank ran out: tell the others once
        torch.distributed.all_reduce(
            torch.zeros((), device=device), op=torch.distributed.ReduceOp.MIN
        )


def ranks(distributed: bool) -> tuple[int, int]:
    """(world size, rank) of data-parallel training; (1, 0) without it."""
    if distributed and _dist.distributed_active():
        return _dist.world_size(), _dist.rank()
    return 1, 0


@contextlib.contextmanager
def threads(num_threads: int | None) -> Iterator[None]:
    """Run with ``num_threads`` intra-op threads (None: leave the setting) and restore it."""
    previous = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def cuda_indices(device: torch.device) -> list[int]:
    """The CUDA device whose generator training draws from, as a list (none on the CPU)."""
    if device.type != "cuda":
        return []
    return [torch.cuda.current_device() if device.index is None else device.index]


@contextlib.contextmanager
def seeded(device: torch.device, seed: int) -> Iterator[None]:
    """Seed the generators dropout draws from, restoring them afterwards.

    Only the CPU's and, when training on one, that CUDA device's generator are seeded:
    ``torch.manual_seed`` would reseed every CUDA device of the caller, or queue it until
    CUDA starts.
    """
    cuda = cuda_indices(device)
    with torch.random.fork_rng(devices=cuda):
        torch.random.default_generator.manual_seed(seed)
        for index in cuda:
            torch.cuda.default_generators[index].manual_seed(seed)
        yield
