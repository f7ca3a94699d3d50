"""Every shape, dtype and target check of the losses, in one place.

These checks run inside a training step, so they read only shapes and dtypes, never tensor
values: nothing here synchronises a GPU or breaks ``torch.compile``. The one exception,
:func:`check_class_targets`, reads the class indices only on the CPU in eager mode, where
that costs no device synchronisation. Messages follow the library's grammar
(:func:`underdog._validation.message`); every error is a :class:`~underdog.ShapeError`
except an out-of-range class index, which is a :class:`~underdog.DataError`, and a
negative or non-finite weight (:func:`check_weight_values`, also CPU and eager only), an
:class:`~underdog.InvalidParameterError` as when a Module is built with one.

Also here: :func:`upcast` (the dtype a loss is computed in) and :func:`first_order_only`
(the hand-written backward kernels refuse a second derivative).
"""

from __future__ import annotations

import math

import torch

from .._validation import INT64_MAX, INT64_MIN, check_int, describe, describe_shape, eager, message
from ..exceptions import DataError, InvalidParameterError, ShapeError

__all__ = [
    "align_to_class_dim",
    "broadcast_sample_weight",
    "check_binary_input",
    "check_binary_target",
    "check_class_targets",
    "check_class_vector",
    "check_dense",
    "check_ignore_index",
    "check_logits",
    "check_index_input",
    "check_movable",
    "check_pair",
    "check_softmax_input",
    "check_weight_sum_target",
    "check_weight_values",
    "first_order_only",
    "split_class_weight",
    "upcast",
]


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


# ----------------------------------------------------------------------------- softmax losses


def check_logits(input: torch.Tensor, owner: str) -> None:
    """The input of a loss holds floating-point logits."""
    if not input.is_floating_point():
        raise ShapeError(
            message("input", owner, must="be floating-point logits", got=f"dtype {input.dtype}")
        )


def check_ignore_index(value: object, owner: str, *, optional: bool = False) -> None:
    """``ignore_index`` is an int (or None when ``optional``); a bool is not an int.

    A Python-scalar check, skipped while ``torch.compile`` traces (the Modules check theirs
    at construction).
    """
    if eager() and (value is not None or not optional):
        check_int(value, name="ignore_index", owner=owner, low=INT64_MIN, high=INT64_MAX)


def check_dense(tensor: torch.Tensor, *, name: str, owner: str) -> None:
    """A tensor of the strided layout (PyTorch's loss kernels take no other)."""
    if tensor.layout != torch.strided:
        raise ShapeError(
            message(
                name,
                owner,
                must="be a dense tensor (convert a sparse one with .to_dense())",
                got=f"a tensor of layout {tensor.layout}",
            )
        )


def check_pair(input: torch.Tensor, target: torch.Tensor, owner: str) -> None:
    """Input and target are dense tensors on one device (PyTorch's kernels need both)."""
    check_dense(input, name="input", owner=owner)
    check_dense(target, name="target", owner=owner)
    if target.device != input.device:
        raise ShapeError(
            message(
                "target",
                owner,
                must=f"be on the input's device ({input.device})",
                got=f"a target on {target.device}",
            )
        )


def check_softmax_input(
    input: torch.Tensor, target: torch.Tensor, owner: str, *, ignore_index: object
) -> bool:
    """Check the logits and the target of a softmax loss; True for probability targets.

    Logits ``(N, C, *)``; a class-index target ``(N, *)``, or a probability target of the
    input's shape, dense and on the input's device; ``ignore_index`` an int.
    """
    check_ignore_index(ignore_index, owner)
    check_pair(input, target, owner)
    check_logits(input, owner)
    if input.ndim < 2:
        raise ShapeError(
            message(
                "input",
                owner,
                must="have shape (N, C) or (N, C, d1, ...), with classes on dim 1 (for one "
                "logit per sample use binary_cross_entropy_with_logits)",
                got=f"shape {describe_shape(input.shape)}",
            )
        )
    index_shape = input.shape[:1] + input.shape[2:]
    if target.is_floating_point():
        if target.shape != input.shape:
            hint = " (class-index targets must be integers: use target.long())"
            raise ShapeError(
                message(
                    "target",
                    owner,
                    must=f"have the input's shape {describe_shape(input.shape)} when it holds "
                    f"probabilities{hint if target.shape == index_shape else ''}",
                    got=f"shape {describe_shape(target.shape)} and dtype {target.dtype}",
                )
            )
        return True
    if target.dtype == torch.bool or target.is_complex():
        must = "hold int64 class indices or float probabilities"
        raise ShapeError(message("target", owner, must=must, got=f"dtype {target.dtype}"))
    if target.shape != index_shape:
        raise ShapeError(
            message(
                "target",
                owner,
                must=f"have shape {describe_shape(index_shape)} for an input of shape "
                f"{describe_shape(input.shape)} (the input without its class dim 1) when it "
                "holds class indices",
                got=f"shape {describe_shape(target.shape)}",
            )
        )
    return False


def check_class_vector(
    vector: torch.Tensor, input: torch.Tensor, *, name: str, owner: str, each: str = "value"
) -> None:
    """Check a per-class vector of a softmax loss: ``(C,)``, one ``each`` per class.

    ``weight``, or ``counts`` held as a tensor; ``C`` is dim 1 of ``input``. It may be on
    another device than the input (the loss moves it there), unless it has no values to
    move (:func:`check_movable`).
    """
    check_movable(vector, input, name=name, owner=owner)
    classes = input.shape[1]
    if vector.shape != (classes,):
        raise ShapeError(
            message(
                name,
                owner,
                must=f"have shape ({classes},), one {each} per class of dim 1 of the input "
                f"{describe_shape(input.shape)}",
                got=f"shape {describe_shape(vector.shape)}",
            )
        )


def check_weight_sum_target(
    target: torch.Tensor, weight: torch.Tensor | None, owner: str, *, ignore_index: int | None
) -> bool:
    """Check the target (and class weights) of a cross-entropy weight sum; True for probabilities.

    Class indices ``(N, *)``, or float probabilities ``(N, C, *)`` with classes on dim 1;
    ``weight`` ``(C,)``, dense, with valid values; class indices in ``[0, C)`` (CPU, eager)
    when ``weight`` gives ``C``.
    """
    check_ignore_index(ignore_index, owner)
    check_dense(target, name="target", owner=owner)
    probabilities = target.is_floating_point()
    if target.dtype == torch.bool or target.is_complex() or (probabilities and target.ndim < 2):
        raise ShapeError(
            message(
                "target",
                owner,
                must="hold int64 class indices (N, *) or float probabilities (N, C, *) with "
                "classes on dim 1",
                got=f"shape {describe_shape(target.shape)} and dtype {target.dtype}",
            )
        )
    if weight is None:
        return probabilities
    if probabilities:
        check_class_vector(weight, target, name="weight", owner=owner)
    else:
        check_movable(weight, target, name="weight", owner=owner)
        if weight.ndim != 1:
            raise _vector_shape_error(weight, "weight", owner, "be one-dimensional, one per class")
        check_class_targets(target.long(), weight.shape[0], ignore_index, owner=owner)
    check_weight_values(weight, name="weight", owner=owner)
    return probabilities


def check_movable(vector: torch.Tensor, input: torch.Tensor, *, name: str, owner: str) -> None:
    """A per-class vector the loss moves to the input's device: dense, with values there.

    A tensor on the meta device holds no values to move to a real device (an input on the
    meta device takes any vector: the result is a meta tensor).
    """
    if vector.layout != torch.strided:
        raise ShapeError(
            message(
                name,
                owner,
                must="be a dense tensor (convert a sparse one with .to_dense())",
                got=f"a tensor of layout {vector.layout}",
            )
        )
    if vector.is_meta and not input.is_meta:
        raise ShapeError(
            message(
                name,
                owner,
                must=f"hold values that can be moved to the input's device ({input.device})",
                got="a tensor on the meta device, which has none,",
            )
        )


def check_weight_values(vector: torch.Tensor, *, name: str, owner: str) -> None:
    """Raise :class:`InvalidParameterError` for a negative or non-finite weight (CPU, eager).

    The one value check of the weights a loss function receives (``weight``,
    ``class_weight``, ``pos_weight``, ``sample_weight``), as the Modules check theirs at
    construction. It reads the values, so it runs only on the CPU in eager mode, where that
    costs no device synchronisation (one ``aminmax`` over a small vector); on an
    accelerator or under ``torch.compile`` it checks nothing.
    """
    if vector.device.type != "cpu" or vector.numel() == 0 or torch.compiler.is_compiling():
        return
    if not vector.is_floating_point():
        vector = vector.double()  # integer weights: every value is finite
    low, high = (float(v) for v in torch.aminmax(vector))  # nan where any value is nan
    if not (math.isfinite(low) and math.isfinite(high)):
        must = "be finite"
    elif low < 0:
        must = "be non-negative"
    else:
        return
    raise InvalidParameterError(message(name, owner, must=must, got=describe(vector)))


def check_class_targets(
    target: torch.Tensor, classes: int, ignore_index: int | None, *, owner: str
) -> None:
    """Raise :class:`DataError` for a class index outside ``[0, C)`` (CPU, eager only).

    On an accelerator or under ``torch.compile`` this reads nothing (a value check would
    synchronise the device); there an out-of-range target fails in the indexing kernel.
    """
    if target.device.type != "cpu" or target.numel() == 0 or torch.compiler.is_compiling():
        return
    low, high = (int(v) for v in torch.aminmax(target))
    if 0 <= low and high < classes:
        return  # every index in range: ignore_index need not be looked at
    if ignore_index is not None:  # ignored entries count as class 0 (no nonzero() call)
        valid = torch.where(target != ignore_index, target, torch.zeros_like(target))
        low, high = (int(v) for v in torch.aminmax(valid))
    if low < 0 or high >= classes:
        ignored = "" if ignore_index is None else f" (or ignore_index={ignore_index})"
        raise DataError(
            message(
                "target",
                owner,
                must=f"hold class indices in [0, {classes}){ignored} for an input with "
                f"{classes} classes on dim 1",
                got=f"the class index {low if low < 0 else high}",
            )
        )


def check_index_input(
    input: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None,
    owner: str,
    *,
    ignore_index: int | None,
) -> torch.Tensor:
    """Check the input of a softmax loss that needs class indices; return the int64 target.

    Shapes, the weight's length and the class range (:func:`check_class_targets`).
    """
    if check_softmax_input(input, target, owner, ignore_index=ignore_index):
        index_shape = describe_shape(input.shape[:1] + input.shape[2:])
        raise ShapeError(
            message(
                "target",
                owner,
                must=f"hold int64 class indices of shape {index_shape} (probability targets "
                "are not supported)",
                got=f"a float target of shape {describe_shape(target.shape)}",
            )
        )
    if weight is not None:
        check_class_vector(weight, input, name="weight", owner=owner)
        check_weight_values(weight, name="weight", owner=owner)
    target = target.long()
    check_class_targets(target, input.shape[1], ignore_index, owner=owner)
    return target


# ----------------------------------------------------------------------------- binary losses


def check_binary_target(target: torch.Tensor, owner: str) -> None:
    """The target of a binary loss holds floats (0/1 values or probabilities)."""
    if not target.is_floating_point():
        raise ShapeError(
            message(
                "target",
                owner,
                must="be floating-point 0/1 values or probabilities (use target.float(); for "
                "class indices use cross_entropy)",
                got=f"dtype {target.dtype}",
            )
        )


def check_binary_input(
    input: torch.Tensor, target: torch.Tensor, owner: str, *, ignore_index: object
) -> None:
    """Check the logits and the float target of a binary loss: one target per logit.

    Both dense and on one device; ``ignore_index`` an int or None.
    """
    check_ignore_index(ignore_index, owner, optional=True)
    check_pair(input, target, owner)
    check_logits(input, owner)
    check_binary_target(target, owner)
    if target.shape != input.shape:
        raise ShapeError(
            message(
                "target",
                owner,
                must=f"have the input's shape {describe_shape(input.shape)}, one target per "
                "logit (squeeze or reshape explicitly rather than rely on broadcasting)",
                got=f"shape {describe_shape(target.shape)}",
            )
        )


def _vector_shape_error(vector: torch.Tensor, name: str, owner: str, must: str) -> ShapeError:
    return ShapeError(message(name, owner, must=must, got=f"shape {describe_shape(vector.shape)}"))


def align_to_class_dim(
    vector: torch.Tensor, input: torch.Tensor, *, name: str, owner: str
) -> torch.Tensor:
    """View a per-class ``(K,)`` vector so that it broadcasts along dim 1 of ``input``.

    ``K`` must equal ``input.shape[1]`` or be 1 (the same value for every class). For a
    1-D input (a binary problem with one logit per sample) only ``K == 1`` fits. Never
    aligns with the last dimension, unlike ``torch.nn.BCEWithLogitsLoss(pos_weight=...)``.
    """
    check_movable(vector, input, name=name, owner=owner)
    if vector.ndim != 1:
        raise _vector_shape_error(vector, name, owner, "be one-dimensional, one value per class")
    check_weight_values(vector, name=name, owner=owner)
    k = vector.shape[0]
    if input.ndim < 2:
        if k != 1:
            must = (
                f"have shape (1,) for a 1-D input of shape {describe_shape(input.shape)} "
                "(one logit per sample)"
            )
            raise _vector_shape_error(vector, name, owner, must)
        return vector
    classes = input.shape[1]
    if k != 1 and k != classes:
        must = (
            f"have shape ({classes},) to match dim 1 (the class dimension) of the input of "
            f"shape {describe_shape(input.shape)}, or (1,)"
        )
        raise _vector_shape_error(vector, name, owner, must)
    return vector.reshape((k,) + (1,) * (input.ndim - 2))


def split_class_weight(
    class_weight: torch.Tensor, input: torch.Tensor, owner: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(w_neg, w_pos)`` of a binary ``class_weight`` ``(2,)`` or ``(2, L)``.

    Each is viewed to broadcast along dim 1 of ``input``, in its dtype and on its device.
    """
    check_movable(class_weight, input, name="class_weight", owner=owner)
    if class_weight.ndim not in (1, 2) or class_weight.shape[0] != 2:
        raise ShapeError(
            message(
                "class_weight",
                owner,
                must="have shape (2,) or (2, L) (row 0 weights negatives, row 1 positives)",
                got=f"shape {describe_shape(class_weight.shape)}",
            )
        )
    class_weight = class_weight.to(dtype=input.dtype, device=input.device)
    if class_weight.ndim == 1:
        class_weight = class_weight.reshape(2, 1)
    w_neg = align_to_class_dim(class_weight[0], input, name="class_weight", owner=owner)
    w_pos = align_to_class_dim(class_weight[1], input, name="class_weight", owner=owner)
    return w_neg, w_pos


# ----------------------------------------------------------------------------- sample weights


def broadcast_sample_weight(
    sample_weight: torch.Tensor, target: torch.Tensor, *, owner: str
) -> torch.Tensor:
    """View per-sample weights, ``(N,)`` or the shape of ``target``, to broadcast on it.

    They must be dense and on the target's device (like the target itself, a tensor of
    the batch); their values are checked as every weight's (:func:`check_weight_values`).
    """
    if sample_weight.layout != torch.strided or sample_weight.device != target.device:
        raise ShapeError(
            message(
                "sample_weight",
                owner,
                must=f"be a dense tensor on the input's device ({target.device})",
                got=f"a tensor of layout {sample_weight.layout} on {sample_weight.device}",
            )
        )
    check_weight_values(sample_weight, name="sample_weight", owner=owner)
    target_shape = target.shape
    if tuple(sample_weight.shape) == tuple(target_shape):
        return sample_weight
    if (
        sample_weight.ndim == 1
        and len(target_shape) >= 1
        and sample_weight.shape[0] == target_shape[0]
    ):
        return sample_weight.reshape((-1,) + (1,) * (len(target_shape) - 1))
    raise ShapeError(
        message(
            "sample_weight",
            owner,
            must=f"have shape ({target_shape[0]},) or the target's shape "
            f"{describe_shape(target_shape)}",
            got=f"shape {describe_shape(sample_weight.shape)}",
        )
    )
