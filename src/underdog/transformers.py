"""Hugging Face transformers integration: any underdog loss, averaged over the whole step.

:class:`WeightedLossTrainer` is a ``transformers.Trainer`` whose loss is an underdog loss
Module built with ``reduction="sum"``, for sequence classification (logits ``(B, C)``,
labels ``(B,)``), token classification (logits ``(B, T, C)``, labels ``(B, T)`` with -100
for positions to ignore), and binary or multilabel classification (float labels shaped like
the logits, or ``(B,)`` for one logit per sample).

The weighted mean of an optimizer step with ``k`` micro-batches on ``R`` ranks is
``L = sum_{r,m} S_{r,m} / E``, with ``S_{r,m}`` the summed loss of a micro-batch and ``E``
the weight sum (``loss.weight_sum``) of all of them, as :class:`underdog.losses.GlobalMean`
computes it. The Trainer's own mechanism carries ``E``:

- ``get_batch_samples`` collects the step's micro-batches; :class:`WeightedLossTrainer`
  returns their weight sum as ``num_items_in_batch``, all-reduced across ranks when
  ``TrainingArguments.average_tokens_across_devices`` is True (the default in 5.24; 4.49
  and 4.50 default to False);
- the loss, passed as ``compute_loss_func``, is ``S_{r,m} / E``; the Trainer does not divide
  it by the accumulation steps again, and multiplies it by ``R`` when ``E`` spans the ranks,
  so that DDP's average of the gradients is the gradient of ``L``.

Gradient accumulation therefore gives the update of one large batch. In evaluation the loss
is the weighted mean of each batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, cast

import torch
from torch import nn

from .exceptions import InvalidParameterError, MissingDependencyError

try:
    import transformers
except ImportError as error:
    raise MissingDependencyError(
        "underdog.transformers needs Hugging Face transformers, which is not installed: "
        "pip install 'underdog[hf]'."
    ) from error

__all__ = ["WeightedLossTrainer", "classes_on_dim1"]


def classes_on_dim1(
    logits: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Reshape a model's logits and labels to underdog's layout, with classes on dim 1.

    Hugging Face models put classes last: token classification gives logits ``(B, T, C)``
    for labels ``(B, T)``, which become ``(B, C, T)``. Float labels shaped like logits of
    more than 2 dimensions move the same way, and one logit per float label,
    ``(B, 1)`` for labels ``(B,)``, loses its last dimension. Anything else is returned as
    it is, for the loss to check.

    Args:
        logits: the model's logits.
        labels: the labels of the batch.

    Returns:
        ``(input, target)`` for an underdog loss.

    Example:
        >>> input, target = classes_on_dim1(torch.zeros(2, 5, 3), torch.zeros(2, 5).long())
        >>> tuple(input.shape), tuple(target.shape)
        ((2, 3, 5), (2, 5))
    """
    if labels.is_floating_point():
        if logits.shape == labels.shape + (1,):
            logits = logits.squeeze(-1)
        if logits.ndim > 2 and logits.shape == labels.shape:
            return logits.movedim(-1, 1), labels.movedim(-1, 1)
        return logits, labels
    if logits.ndim > 2 and logits.ndim == labels.ndim + 1:
        return logits.movedim(-1, 1), labels
    return logits, labels


def _target_on_dim1(labels: torch.Tensor) -> torch.Tensor:
    """The target :func:`classes_on_dim1` makes of ``labels``, without the logits."""
    return labels.movedim(-1, 1) if labels.is_floating_point() and labels.ndim > 2 else labels


class WeightedLossTrainer(transformers.Trainer):
    """A ``transformers.Trainer`` whose loss is an underdog loss, weighted over the step.

    It takes the arguments of ``transformers.Trainer`` except ``compute_loss_func``, which it
    provides, and the keyword-only ``loss``.

    Args:
        *args: positional arguments of ``transformers.Trainer`` (``model``, ``args``, ...).
        loss: an underdog loss Module built with ``reduction="sum"`` (it must offer
            ``weight_sum``, as every underdog loss does), such as
            ``underdog.CrossEntropyLoss.from_labels(y, scheme="balanced", reduction="sum")``.
            It is moved to the training device.
        **kwargs: keyword arguments of ``transformers.Trainer``.

    Raises:
        InvalidParameterError: ``loss`` is not an underdog loss with ``reduction="sum"``,
            ``compute_loss_func`` is given, ``args.label_smoothing_factor`` is not 0 (the
            loss has its own ``label_smoothing``), or the process would use
            ``torch.nn.DataParallel`` over several GPUs (run one process per GPU).

    Example:
        >>> import tempfile, underdog
        >>> loss = underdog.CrossEntropyLoss(weight=torch.tensor([0.5, 5.0]), reduction="sum")
        >>> config = transformers.BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1,
        ...     num_attention_heads=2, intermediate_size=16, num_labels=2)
        >>> model = transformers.BertForSequenceClassification(config)
        >>> with tempfile.TemporaryDirectory() as out:
        ...     args = transformers.TrainingArguments(out, report_to="none", use_cpu=True)
        ...     trainer = WeightedLossTrainer(model, args, loss=loss)
        >>> batches = [{"input_ids": torch.tensor([[1, 2, 3], [4, 5, 6]]),
        ...             "labels": torch.tensor([0, 1])},
        ...            {"input_ids": torch.tensor([[7, 8, 9]]), "labels": torch.tensor([1])}]
        >>> trainer.step_weight_sum(batches)  # 0.5 + 5.0 + 5.0: the weight sum of the step
        tensor(10.5000)
    """

    # Read by transformers >= 5: the loss is already normalised over the accumulated step.
    loss_is_scaled_for_ga = True

    def __init__(self, *args: Any, loss: nn.Module, **kwargs: Any) -> None:
        owner = "WeightedLossTrainer"
        if not isinstance(loss, nn.Module) or not callable(getattr(loss, "weight_sum", None)):
            raise InvalidParameterError(
                f"The 'loss' parameter of {owner} must be an underdog loss Module with a "
                f"weight_sum method. Got {type(loss).__name__} instead."
            )
        if getattr(loss, "reduction", None) != "sum":
            raise InvalidParameterError(
                f"The 'loss' parameter of {owner} must be built with reduction='sum'. "
                f"Got reduction={getattr(loss, 'reduction', None)!r} instead."
            )
        if kwargs.get("compute_loss_func") is not None:
            raise InvalidParameterError(
                f"The 'compute_loss_func' parameter of {owner} must be None: it computes the "
                "loss from 'loss'. Got "
                f"{type(kwargs['compute_loss_func']).__name__} instead."
            )
        kwargs["compute_loss_func"] = self._step_loss
        super().__init__(*args, **kwargs)
        if self.args.label_smoothing_factor != 0:
            raise InvalidParameterError(
                f"The 'args' parameter of {owner} must have label_smoothing_factor=0: the "
                "Trainer would not apply it to the underdog loss (use the loss's own "
                f"label_smoothing). Got {self.args.label_smoothing_factor} instead."
            )
        if self.args.n_gpu > 1:
            raise InvalidParameterError(
                f"The 'args' parameter of {owner} must give one GPU per process (launch with "
                "torchrun): torch.nn.DataParallel over several GPUs of one process rescales "
                f"the loss. Got n_gpu={self.args.n_gpu} instead."
            )
        self.weighted_loss = loss.to(self.args.device)

    def step_weight_sum(self, batches: list[Any]) -> torch.Tensor | None:
        """``E``: the loss's weight sum over the labels of the step's micro-batches.

        Args:
            batches: the micro-batches of one optimizer step on this rank.

        Returns:
            The weight sum, summed across ranks when ``average_tokens_across_devices`` is
            set; None when a batch has no ``"labels"``.
        """
        if not batches or not all(isinstance(b, Mapping) and "labels" in b for b in batches):
            return None
        device = self.args.device
        total = sum(
            (self._weight_sum(_target_on_dim1(batch["labels"].to(device))) for batch in batches),
            torch.zeros((), device=device),
        )
        if getattr(self.args, "average_tokens_across_devices", False) and self.args.world_size > 1:
            total = self.accelerator.gather(total.reshape(1)).sum()
        return total

    def get_batch_samples(
        self, epoch_iterator: Iterator[Any], num_batches: int, *args: Any, **kwargs: Any
    ) -> tuple[list[Any], Any]:
        """The Trainer's micro-batches of one step, with ``E`` as ``num_items_in_batch``."""
        batches, _ = super().get_batch_samples(epoch_iterator, num_batches, *args, **kwargs)
        return batches, self.step_weight_sum(batches)

    def compute_loss(
        self,
        model: nn.Module,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: Any = None,
    ) -> Any:
        """The Trainer's ``compute_loss``, with the weighted mean of the batch in evaluation.

        Outside training ``num_items_in_batch`` is the Trainer's count of labels, not ``E``.
        """
        if not model.training:
            num_items_in_batch = None
        return super().compute_loss(
            model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch
        )

    def _step_loss(
        self, outputs: Any, labels: torch.Tensor, num_items_in_batch: Any = None
    ) -> torch.Tensor:
        """``S / E`` for one micro-batch (``compute_loss_func``)."""
        logits = outputs["logits"] if isinstance(outputs, Mapping) else outputs[0]
        input, target = classes_on_dim1(logits, labels)
        summed: torch.Tensor = self.weighted_loss(input, target)
        denominator = self._weight_sum(target) if num_items_in_batch is None else num_items_in_batch
        return summed / denominator

    def _weight_sum(self, target: torch.Tensor) -> torch.Tensor:
        return cast(Callable[..., torch.Tensor], self.weighted_loss.weight_sum)(target)
