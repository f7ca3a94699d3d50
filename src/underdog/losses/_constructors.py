"""The base and mixins shared by the loss Modules.

- :class:`LossModule`: forwards the Module's options to its loss function by keyword and
  prints them in ``repr``, so that ``forward`` is one call;
- :class:`FromClassWeights`: ``from_counts(counts, scheme=...)`` / ``from_labels(labels,
  scheme=...)`` for losses whose only use of the counts is their class ``weight``
  (cross-entropy, softmax focal);
- :class:`FromCounts`: ``from_counts(counts)`` / ``from_labels(labels)`` for losses that take
  ``counts=`` themselves (class-balanced, LDAM, logit-adjusted, balanced softmax);
- :class:`ClassWeightedMean`: ``weight_sum`` of the losses over class indices whose
  ``"mean"`` divides by ``sum_i s_i weight[y_i]``, as ``F.cross_entropy`` does.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from .._validation import check_int, check_real, check_reduction, check_weight
from ..counts import class_counts
from ..weights import class_weight as compute_class_weight
from ._common import cross_entropy_weight_sum

__all__ = ["ClassWeightedMean", "FromClassWeights", "FromCounts", "LossModule"]

_WEIGHT_OPTIONS = ("beta", "normalize", "max_weight", "zero_count")


class LossModule(nn.Module):
    """A loss Module whose ``forward`` calls its function with the options it holds.

    ``_forwarded`` names the attributes (buffers included) passed to the function as
    keywords of the same name, ``_shown`` those printed by ``repr`` (strings quoted).
    """

    _forwarded: ClassVar[tuple[str, ...]] = ()
    _shown: ClassVar[tuple[str, ...]] = ()

    def _set_options(
        self,
        *,
        reduction: str,
        ignore_index: int | None,
        label_smoothing: float | None = None,
        no_ignore_index: bool = False,
    ) -> str:
        """Check and set the options the losses share, once, at construction; return the
        loss's name for error messages (also kept as ``_owner``).

        ``ignore_index`` must be an int; None too with ``no_ignore_index`` (the binary
        losses, where None means nothing is ignored). ``label_smoothing`` None: the loss
        has no smoothing.
        """
        owner = self._owner = type(self).__name__
        if ignore_index is not None or not no_ignore_index:
            ignore_index = check_int(ignore_index, name="ignore_index", owner=owner)
        self.ignore_index = ignore_index
        if label_smoothing is not None:
            self.label_smoothing = check_real(
                label_smoothing, name="label_smoothing", owner=owner, low=0.0, high=1.0
            )
        self.reduction = check_reduction(reduction, owner=owner)
        return owner

    def _register_weight(self, name: str, value: Any, **constraints: Any) -> None:
        """Check a weight vector (see :func:`~underdog._validation.check_weight`) and hold
        it as the buffer ``name``; None stays None.
        """
        if value is not None:
            value = check_weight(value, name=name, owner=type(self).__name__, **constraints)
        self.register_buffer(name, value)

    def options(self) -> dict[str, Any]:
        """The keyword arguments ``forward`` passes to the loss function."""
        return {name: getattr(self, name) for name in self._forwarded}

    def extra_repr(self) -> str:
        return ", ".join(f"{name}={getattr(self, name)!r}" for name in self._shown)


def _count(labels: Any, num_classes: int | None, distributed: bool, kwargs: dict) -> torch.Tensor:
    """Class counts of ``labels``, skipping the loss's ``ignore_index`` (default -100)."""
    return class_counts(
        labels,
        num_classes=num_classes,
        distributed=distributed,
        ignore_index=kwargs.get("ignore_index", -100),
    )


class FromClassWeights:
    """``from_counts`` / ``from_labels`` that turn counts into the ``weight`` buffer."""

    @classmethod
    def from_counts(cls, counts: Any, *, scheme: str = "balanced", **kwargs: Any):
        """Build the loss with :func:`underdog.class_weight` of ``counts``.

        Keyword arguments named like :func:`underdog.class_weight`'s (``beta``,
        ``normalize``, ``max_weight``, ``zero_count``) go there; the rest to the constructor.
        """
        options = {name: kwargs.pop(name) for name in _WEIGHT_OPTIONS if name in kwargs}
        return cls(weight=compute_class_weight(counts, scheme=scheme, **options), **kwargs)

    @classmethod
    def from_labels(
        cls,
        labels: Any,
        *,
        scheme: str = "balanced",
        num_classes: int | None = None,
        distributed: bool = True,
        **kwargs: Any,
    ):
        """Count ``labels`` with :func:`underdog.class_counts`, then :meth:`from_counts`.

        ``ignore_index`` (default -100) is skipped when counting too.
        """
        counts = _count(labels, num_classes, distributed, kwargs)
        return cls.from_counts(counts, scheme=scheme, **kwargs)


class FromCounts:
    """``from_counts`` / ``from_labels`` for losses that take ``counts=`` themselves."""

    @classmethod
    def from_counts(cls, counts: Any, **kwargs: Any):
        """Same as the constructor, with the counts positional."""
        return cls(counts=counts, **kwargs)

    @classmethod
    def from_labels(
        cls,
        labels: Any,
        *,
        num_classes: int | None = None,
        distributed: bool = True,
        **kwargs: Any,
    ):
        """Count ``labels`` with :func:`underdog.class_counts` (skipping ``ignore_index``)."""
        return cls(counts=_count(labels, num_classes, distributed, kwargs), **kwargs)


class ClassWeightedMean:
    """``weight_sum`` for losses whose ``"mean"`` divides by ``sum_i s_i weight[y_i]``."""

    weight: torch.Tensor | None
    ignore_index: int

    def weight_sum(
        self, target: torch.Tensor, *, sample_weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``sum_i e_i`` for ``target``: what ``reduction="mean"`` divides by."""
        return cross_entropy_weight_sum(
            target,
            weight=self.weight,
            sample_weight=sample_weight,
            ignore_index=self.ignore_index,
        )
