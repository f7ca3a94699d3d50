"""Shared pieces of every loss: the one meaning of ``reduction`` and shape checks.

``reduction`` means the same thing for every underdog loss:

- ``"none"``: the per-element loss, shaped like the target (ignored elements are 0);
- ``"sum"``: the sum of the per-element losses;
- ``"mean"``: the **weighted mean** ``sum_i l_i / sum_i e_i``, where ``l_i`` already
  includes the element's weights and ``e_i`` is the element's weight: the product of its
  sample weight and the class weight of its target (0 for ignored elements). Without any
  weights this is the plain mean over the elements that are not ignored.

These checks run inside a training step, so they read only shapes and dtypes, never
tensor values: nothing here synchronises a GPU or breaks ``torch.compile``.
"""

from __future__ import annotations

import torch

from ..exceptions import ShapeError

__all__ = [
    "align_to_class_dim",
    "broadcast_sample_weight",
    "cross_entropy_weight_sum",
    "eager",
    "first_order_only",
    "reduce_loss",
    "shape_str",
    "upcast",
]


def shape_str(shape: torch.Size | tuple) -> str:
    return "(" + ", ".join(str(int(s)) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def reduce_loss(
    loss: torch.Tensor, element_weight: torch.Tensor | None, reduction: str
) -> torch.Tensor:
    """Apply ``reduction``; ``element_weight`` is the denominator's weight per element."""
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if element_weight is None:
        return loss.mean()
    return loss.sum() / element_weight.sum()


def align_to_class_dim(
    vector: torch.Tensor, input: torch.Tensor, *, name: str, owner: str
) -> torch.Tensor:
    """View a per-class ``(K,)`` vector so that it broadcasts along dim 1 of ``input``.

    ``K`` must equal ``input.shape[1]`` or be 1 (the same value for every class). For a
    1-D input (a binary problem with one logit per sample) only ``K == 1`` fits. Never
    aligns with the last dimension, unlike ``torch.nn.BCEWithLogitsLoss(pos_weight=...)``.
    """
    if vector.ndim != 1:
        raise ShapeError(
            f"The '{name}' parameter of {owner} must be one-dimensional, one value per class. "
            f"Got shape {shape_str(vector.shape)} instead."
        )
    k = vector.shape[0]
    if input.ndim < 2:
        if k != 1:
            raise ShapeError(
                f"The '{name}' parameter of {owner} must have shape (1,) for a 1-D input of "
                f"shape {shape_str(input.shape)} (one logit per sample). Got shape "
                f"{shape_str(vector.shape)} instead."
            )
        return vector
    classes = input.shape[1]
    if k not in (1, classes):
        raise ShapeError(
            f"The '{name}' parameter of {owner} must have shape ({classes},) to match dim 1 "
            f"(the class dimension) of the input of shape {shape_str(input.shape)}, or (1,). "
            f"Got shape {shape_str(vector.shape)} instead."
        )
    return vector.reshape((k,) + (1,) * (input.ndim - 2))


def broadcast_sample_weight(
    sample_weight: torch.Tensor, target_shape: torch.Size, *, owner: str
) -> torch.Tensor:
    """View per-sample weights, ``(N,)`` or the target's shape, to broadcast on the target."""
    if tuple(sample_weight.shape) == tuple(target_shape):
        return sample_weight
    if (
        sample_weight.ndim == 1
        and len(target_shape) >= 1
        and sample_weight.shape[0] == target_shape[0]
    ):
        return sample_weight.reshape((-1,) + (1,) * (len(target_shape) - 1))
    raise ShapeError(
        f"The 'sample_weight' parameter of {owner} must have shape ({target_shape[0]},) or the "
        f"target's shape {shape_str(target_shape)}. Got shape "
        f"{shape_str(sample_weight.shape)} instead."
    )


def _element_weight(
    target: torch.Tensor,
    probabilities: bool,
    weight: torch.Tensor | None,
    ignore_index: int,
    dtype: torch.dtype,
) -> torch.Tensor:
    """e_i: the weight of each element's target in the denominator of "mean"."""
    if probabilities:
        if weight is None:
            return torch.ones(
                target.shape[:1] + target.shape[2:], dtype=dtype, device=target.device
            )
        view = weight.reshape((-1,) + (1,) * (target.ndim - 2))
        return (target * view).sum(1).to(dtype)
    keep = target != ignore_index
    if weight is None:
        return keep.to(dtype)
    return (weight[torch.where(keep, target, 0)] * keep).to(dtype)


def cross_entropy_weight_sum(
    target: torch.Tensor,
    *,
    weight: torch.Tensor | None = None,
    sample_weight: torch.Tensor | None = None,
    ignore_index: int = -100,
) -> torch.Tensor:
    """The denominator of :func:`cross_entropy`'s ``"mean"`` for ``target``: ``sum_i e_i``.

    Floating targets are probability targets (classes on dim 1). Used to divide a summed
    loss by a denominator gathered over several batches or ranks (see
    :class:`underdog.losses.GlobalMean`).

    Example:
        >>> cross_entropy_weight_sum(torch.tensor([0, 1, 1, -100]), weight=torch.tensor([0.5, 2.0]))
        tensor(4.5000)
    """
    probabilities = target.is_floating_point()
    if not probabilities:
        target = target.long()
    dtype = weight.dtype if weight is not None else torch.get_default_dtype()
    if weight is not None:
        weight = weight.to(target.device)
    element = _element_weight(target, probabilities, weight, ignore_index, dtype)
    if sample_weight is not None:
        element = element * broadcast_sample_weight(
            sample_weight.to(dtype), element.shape, owner="cross_entropy_weight_sum"
        )
    return element.sum()


def eager() -> bool:
    """False while ``torch.compile`` traces: Python-scalar checks are skipped there.

    The Modules check their hyper-parameters once, at construction; under ``torch.compile``
    Dynamo may trace a float attribute as symbolic, which ``math.isfinite`` cannot read.
    """
    return not torch.compiler.is_compiling()


def upcast(input: torch.Tensor) -> torch.Tensor:
    """float16 / bfloat16 logits to float32 (the loss is computed in float32)."""
    if input.dtype in (torch.float16, torch.bfloat16):
        return input.float()
    return input


def first_order_only(what: str) -> None:
    """Refuse a backward pass that records a graph (``create_graph=True``).

    The hand-written backward kernels compute the gradient from tensors saved without a
    graph, so differentiating them again would silently miss every term that depends on
    the logits; ``once_differentiable`` does not catch that case (a second derivative
    taken only with respect to the logits never reaches its error node).
    """
    if torch.is_grad_enabled():
        raise NotImplementedError(
            f"The gradient of {what} is hand-written and first-order only: "
            "differentiating it again (backward with create_graph=True) is not supported."
        )
