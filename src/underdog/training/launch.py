"""Run a function on several local processes joined by ``torch.distributed``.

:func:`spawn` starts ``nproc`` processes on this machine (``torch.multiprocessing``), joins
them in a process group on a free loopback port, with the ``gloo`` backend on CPU or
``nccl`` when there is a GPU for every process (each process then uses ``cuda:rank``), runs
the function in each, and tears the group down. :func:`init_from_environment` joins the
group that ``torchrun`` describes in the environment instead.
"""

from __future__ import annotations

import datetime
import gc
import os
import pickle
import signal
import socket
import tempfile
from collections.abc import Callable
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from .. import _dist
from .._validation import check_int
from ..exceptions import InvalidParameterError, UnderdogError

__all__ = [
    "backend_for",
    "device_for_rank",
    "init_from_environment",
    "shutdown",
    "spawn",
    "world_size_from_environment",
]

TIMEOUT = datetime.timedelta(minutes=10)


def backend_for(nproc: int) -> str:
    """``"nccl"`` when there is a CUDA device for each of ``nproc`` processes, else ``"gloo"``."""
    if torch.cuda.is_available() and torch.cuda.device_count() >= nproc:
        return "nccl"
    return "gloo"


def device_for_rank(local_rank: int) -> torch.device:
    """The device a process trains on: its own GPU under NCCL, else the CPU."""
    if _dist.initialized() and dist.get_backend() == "nccl":
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _post(outbox: str, name: str, value: Any) -> None:
    """Leave ``value`` for the parent in the file ``name`` of ``outbox``.

    It is pickled first, so that a file, once there, is whole.
    """
    data = pickle.dumps(value)
    with open(os.path.join(outbox, name), "wb") as handle:
        handle.write(data)


def _collect(outbox: str, name: str) -> Any:
    with open(os.path.join(outbox, name), "rb") as handle:  # ours, in our directory
        return pickle.load(handle)


def _worker(
    local_rank: int,
    fn: Callable[..., Any],
    nproc: int,
    port: int,
    backend: str,
    args: tuple[Any, ...],
    outbox: str,
) -> None:
    # An interrupt is the parent's to handle: it stops every worker (a Ctrl-C reaches the
    # whole process group, and a worker dying of it on its own would print a traceback).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
    dist.init_process_group(
        backend,
        init_method=f"tcp://127.0.0.1:{port}",
        rank=local_rank,
        world_size=nproc,
        timeout=TIMEOUT,
    )
    try:
        result = fn(local_rank, *args)
    except (UnderdogError, OSError) as exc:
        # Bad input, or a file that cannot be read or written (a full disk, a folder removed
        # since the check): torch gives the parent only the text of the traceback; the
        # parent raises this again, as one process would have.
        _post(outbox, f"error.{local_rank}", exc)
        raise
    else:
        if local_rank == 0:
            _post(outbox, "result", result)
    finally:
        shutdown()


def shutdown() -> None:
    """Tear down this process's ``torch.distributed`` group; nothing when there is none.

    DDP reducers (held in reference cycles) are freed while the group still exists, every
    rank is waited for, then the group is destroyed.
    """
    if not _dist.initialized():
        return
    gc.collect()
    try:
        dist.barrier()
    finally:
        dist.destroy_process_group()


def spawn(fn: Callable[..., Any], nproc: int, *args: Any) -> Any:
    """Run ``fn(local_rank, *args)`` in ``nproc`` processes of one process group.

    ``fn``, ``args`` and what ``fn`` returns must be picklable (a module-level function and
    plain data).

    Args:
        fn: the function each process runs, called with its local rank first.
        nproc: the number of processes.
        *args: the further arguments of ``fn``.

    Returns:
        What ``fn`` returned in process 0.

    Raises:
        UnderdogError, OSError: the one that ``fn`` raised in the process that failed first
            (bad input found there, a file that no longer reads or cannot be written),
            raised again here as in one process; the process's traceback is chained as its
            cause.
        torch.multiprocessing.ProcessRaisedException: a process failed with any other
            exception.
    """
    nproc = check_int(nproc, name="nproc", owner="spawn", low=1)
    with tempfile.TemporaryDirectory(prefix="underdog-spawn-") as outbox:
        context = mp.start_processes(  # type: ignore[no-untyped-call]  # torch leaves it untyped
            _worker,
            args=(fn, nproc, _free_port(), backend_for(nproc), args, outbox),
            nprocs=nproc,
            join=False,
            start_method="spawn",
        )
        try:
            while not context.join():
                pass
        except mp.ProcessRaisedException as failure:
            name = f"error.{failure.error_index}"
            if not os.path.exists(os.path.join(outbox, name)):
                raise
            raise _collect(outbox, name) from failure
        except BaseException:  # KeyboardInterrupt, SystemExit: the workers stop too
            _stop(context.processes)
            raise
        return _collect(outbox, "result")


def _stop(processes: list[Any], grace: float = 5.0) -> None:
    """Terminate the worker processes, killing those still alive after ``grace`` seconds.

    Nothing they would have written afterwards gets written.
    """
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(grace)
        if process.is_alive():
            process.kill()
            process.join()


def _environment_int(name: str, default: int) -> int:
    text = os.environ.get(name)
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        raise InvalidParameterError(
            f"The environment variable {name} must be an integer (torchrun sets it). "
            f"Got {text!r} instead."
        ) from None


def world_size_from_environment() -> int:
    """``WORLD_SIZE`` as ``torchrun`` sets it; 1 when unset.

    Raises:
        InvalidParameterError: a value that is not an integer.
    """
    return _environment_int("WORLD_SIZE", 1)


def init_from_environment() -> int | None:
    """Join the process group that ``torchrun`` set up; returns the local rank.

    Returns ``None`` (and does nothing) when the environment describes no group of more
    than one process, or when a group is already initialised.
    """
    world_size = world_size_from_environment()
    if _dist.initialized() or world_size <= 1:
        return None
    local_rank = _environment_int("LOCAL_RANK", 0)
    backend = backend_for(_environment_int("LOCAL_WORLD_SIZE", world_size))
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend, init_method="env://", timeout=TIMEOUT)
    return local_rank
