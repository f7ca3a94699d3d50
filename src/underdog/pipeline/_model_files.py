"""The files of a model directory: ``model.pt`` (the weights) and ``model.json`` (the rest).

:func:`write_model` writes both as one unit (:func:`underdog._io.replace_directory`), with
the SHA-256 of ``model.pt`` in ``model.json``; :func:`read_description` reads ``model.json``
and checks it (:mod:`underdog.pipeline._model_schema`) and that ``model.pt`` is the file it
describes, so a directory mixing two runs' files cannot load; :func:`read_weights` loads
``model.pt`` without unpickling arbitrary objects and checks it against the module before
anything is allocated for it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from typing import Any

import torch
from torch import nn

from .._io import replace_directory
from ..exceptions import DataError
from ._model_schema import check_description

__all__ = ["FORMAT_VERSION", "read_description", "read_weights", "write_model"]

#: The version of the model directory's format: 2 records the model factory and a checksum.
FORMAT_VERSION = 2


def write_model(directory: str | os.PathLike[str], module: nn.Module, meta: dict[str, Any]) -> None:
    """Write ``model.pt`` and ``model.json`` into ``directory``, as one unit.

    ``model.pt`` holds ``module``'s state dict, ``model.json`` holds ``meta`` with the
    format, version and the weights' checksum.
    """
    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    weights = buffer.getvalue()
    meta = {"format": "underdog-model", "version": FORMAT_VERSION, **meta,
            "weights": {"sha256": hashlib.sha256(weights).hexdigest()}}  # fmt: skip
    text = json.dumps(meta, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    replace_directory(directory, {"model.pt": weights, "model.json": text.encode()})


def _load_json(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    # Only the file's content: not JSON or UTF-8 (JSONDecodeError, UnicodeDecodeError),
    # an int of more digits than Python converts (ValueError), nested too deep.
    except (ValueError, RecursionError) as exc:
        raise DataError(f"The file {path} is not an underdog model description: {exc}.") from exc


def read_description(directory: str | os.PathLike[str]) -> tuple[dict[str, Any], str]:
    """Read and check the ``model.json`` of ``directory``; return ``(meta, weights_path)``.

    The ``model.pt`` at ``weights_path`` is checked to be the file the description describes.

    Raises:
        DataError: a missing directory or file, a ``model.json`` that is not a valid
            description, or a ``model.pt`` whose checksum is not the recorded one (another
            run's file, or a damaged one).
    """
    meta_path = os.path.join(directory, "model.json")
    weights_path = os.path.join(directory, "model.pt")
    for path in (meta_path, weights_path):
        if not os.path.isfile(path):
            raise DataError(
                f"The directory {os.fspath(directory)} is not a model directory: no {path}."
            )
    meta = _load_json(meta_path)
    # Checked entry by entry first, so that the constructors that read it meet only valid
    # input: an error they raise is a bug in underdog, and keeps its traceback.
    check_description(meta, path=meta_path, version=FORMAT_VERSION)
    with open(weights_path, "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    if digest != meta["weights"]["sha256"]:
        raise DataError(
            f"The file {weights_path} does not match its model.json: the "
            "directory mixes two runs' files, or model.pt is damaged."
        )
    return meta, weights_path


def read_weights(path: str, module: nn.Module) -> dict[str, torch.Tensor]:
    """The state dict in ``path``, checked against ``module``'s so that loading it is safe.

    ``module`` may be on the meta device. Checked so that loading the state dict cannot fail
    for the file's sake nor allocate more than the file holds.

    Raises:
        DataError: ``path`` is not a file ``torch.save`` wrote (corrupt, truncated), or does
            not hold tensors of the names, shapes and dtypes of ``module``'s state dict, each
            a dense CPU tensor that stores all of its values, finite where it is floating.
    """
    where = f"The file {path} is not a valid underdog model file"
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, MemoryError):
        raise  # unreadable or out of memory, not corrupt: reported as such
    except Exception as exc:
        # A damaged file makes torch.load fail with almost any type (RuntimeError from the
        # zip reader, UnpicklingError, EOFError, ValueError, KeyError, ...) and messages of
        # many lines; only this call is covered, and the original stays chained.
        raise DataError(f"{where}: torch.load failed with {type(exc).__name__}.") from exc
    if not isinstance(state, dict):
        raise DataError(f"{where}: it holds a {type(state).__name__}, not a model's weights.")
    expected = module.state_dict()
    missing = [key for key in expected if key not in state]
    unexpected = [str(key) for key in state if key not in expected]
    if missing or unexpected:
        parts = [
            f"{label} {', '.join(keys[:4])}{' ...' if len(keys) > 4 else ''}"
            for label, keys in (("missing", missing), ("unexpected", unexpected))
            if keys
        ]
        raise DataError(
            f"{where}: it does not fit the architecture in model.json: {'; '.join(parts)}."
        )
    for key, tensor in expected.items():
        value = state[key]
        if not isinstance(value, torch.Tensor):
            raise DataError(f"{where}: {key!r} is a {type(value).__name__}, not a tensor.")
        if value.layout != torch.strided:
            layout = str(value.layout).removeprefix("torch.")
            raise DataError(f"{where}: {key!r} is a {layout} tensor, not a dense one.")
        if value.device.type != "cpu":  # map_location does not move meta tensors
            raise DataError(f"{where}: {key!r} is a tensor on {value.device}, not on the CPU.")
        if value.dtype != tensor.dtype:
            raise DataError(
                f"{where}: {key!r} has dtype {value.dtype} where the model needs {tensor.dtype}."
            )
        if value.shape != tensor.shape:
            raise DataError(
                f"{where}: {key!r} has shape {tuple(value.shape)} where the architecture in "
                f"model.json needs {tuple(tensor.shape)}."
            )
        stored = value.untyped_storage().nbytes() // value.element_size()
        if stored < value.numel():  # a view with stride 0 (expand) or overlapping rows
            values = "value" if stored == 1 else "values"
            raise DataError(
                f"{where}: {key!r} has shape {tuple(value.shape)} but holds only {stored} {values}."
            )
    for key, value in state.items():
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise DataError(f"{where}: {key!r} holds values that are not finite.")
    return state
