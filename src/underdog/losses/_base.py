"""The base of the loss Modules and their ``from_counts`` / ``from_labels`` constructors.

- :class:`LossModule` knows its loss function: ``forward`` and ``weight_sum`` call the
  functions the class names, with the options (buffers included) the Module holds, so a
  Module declares them and never writes either method; ``repr`` prints the options;
- :class:`FromClassWeights`: ``from_counts(counts, scheme=...)`` / ``from_labels(labels,
  scheme=...)`` for losses whose only use of the counts is their class ``weight``
  (cross-entropy, softmax focal);
- :class:`FromCounts`: ``from_counts(counts)`` / ``from_labels(labels)`` for losses that take
  ``counts=`` themselves (class-balanced, LDAM, logit-adjusted, balanced softmax).
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, TypeVar

import torch
from torch import nn

from .._validation import (
    INT64_MAX,
    INT64_MIN,
    check_int,
    check_real,
    check_reduction,
    check_weight,
)
from ..counts import class_counts
from ..weights import class_weight as compute_class_weight

__all__ = ["FromClassWeights", "FromCounts", "LossModule"]

_WEIGHT_OPTIONS = ("beta", "normalize", "max_weight", "zero_count", "classes")

#: The ``label_smoothing`` of a loss that has none (focal, class-balanced, asymmetric).
_NO_SMOOTHING = object()

_WeightedLoss = TypeVar("_WeightedLoss", bound="FromClassWeights")
_CountedLoss = TypeVar("_CountedLoss", bound="FromCounts")


class LossModule(nn.Module):
    """A loss Module whose ``forward`` and ``weight_sum`` call the functions it names.

    A subclass sets, as class attributes:

    - ``_loss``: ``staticmethod(f)`` with ``f(input, target, *, sample_weight, **options)``,
      the loss function (a public one, or a private kernel that takes a buffer);
    - ``_forwarded``: the attributes (buffers included) passed to ``_loss`` as keywords of
      the same name; with ``_names_itself`` also ``owner=`` the class name, for the error
      messages of private kernels;
    - ``_weight_sum`` and ``_summed``: the same for ``weight_sum`` (``sum_i e_i``, the
      denominator of ``"mean"``), ``f(target, *, sample_weight, **options)``;
    - ``_shown``: the attributes printed by ``repr`` (strings quoted).
    """

    _loss: ClassVar[Callable[..., torch.Tensor]]
    _forwarded: ClassVar[tuple[str, ...]] = ()
    _names_itself: ClassVar[bool] = False
    _weight_sum: ClassVar[Callable[..., torch.Tensor]]
    _summed: ClassVar[tuple[str, ...]] = ()
    _shown: ClassVar[tuple[str, ...]] = ()

    ignore_index: int | None
    reduction: str

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Give each loss class its own copy of :meth:`forward`'s code.

        ``torch.compile`` keeps its graphs per code object (at most
        ``torch._dynamo.config.recompile_limit``, 8, and with ``fullgraph=True`` one more is
        an error) and its shape heuristics per code name. One shared ``forward`` would make
        every loss class share them; with a copy named ``<Class>.forward`` each class has
        its own, as when each wrote its forward.
        """
        super().__init_subclass__(**kwargs)
        if "forward" not in cls.__dict__:
            forward = _copy_of(LossModule.forward, code_name=f"{cls.__name__}.forward")
            cls.forward = forward  # type: ignore[method-assign]  # the same method, copied

    def forward(
        self,
        input: torch.Tensor,
        target: torch.Tensor,
        *,
        sample_weight: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The loss of ``input`` (logits) and ``target``, as the loss function computes it."""
        return self._loss(input, target, sample_weight=sample_weight, **self.options())

    def weight_sum(
        self, target: torch.Tensor, *, sample_weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``sum_i e_i`` for ``target``: what ``reduction="mean"`` divides by."""
        options = {name: getattr(self, name) for name in self._summed}
        return self._weight_sum(target, sample_weight=sample_weight, **options)

    def options(self) -> dict[str, Any]:
        """The keyword arguments ``forward`` passes to the loss function."""
        options = {name: getattr(self, name) for name in self._forwarded}
        if self._names_itself:
            options["owner"] = type(self).__name__
        return options

    def extra_repr(self) -> str:
        """The options named by ``_shown``, as ``name=value``."""
        return ", ".join(f"{name}={getattr(self, name)!r}" for name in self._shown)

    def _set_options(
        self,
        *,
        reduction: str,
        ignore_index: int | None,
        label_smoothing: object = _NO_SMOOTHING,
        no_ignore_index: bool = False,
    ) -> str:
        """Check and set the options the losses share, once, at construction.

        Returns the loss's name, for error messages.

        ``ignore_index`` must be an int; None too with ``no_ignore_index`` (the binary
        losses, where None means nothing is ignored). ``label_smoothing``, when the loss has
        it (the argument is passed), must be a float in ``[0, 1]``: None is refused like any
        other non-float, never read as "no smoothing".
        """
        owner = type(self).__name__
        if ignore_index is not None or not no_ignore_index:
            ignore_index = check_int(
                ignore_index, name="ignore_index", owner=owner, low=INT64_MIN, high=INT64_MAX
            )
        self.ignore_index = ignore_index
        if label_smoothing is not _NO_SMOOTHING:
            self.label_smoothing = check_real(
                label_smoothing, name="label_smoothing", owner=owner, low=0.0, high=1.0
            )
        self.reduction = check_reduction(reduction, owner=owner)
        return owner

    def _register_weight(
        self,
        name: str,
        value: object,
        *,
        length: int | None = None,
        shape: Sequence[int] | None = None,
    ) -> None:
        """Check a weight vector and hold it as the buffer ``name``; None stays None.

        See :func:`~underdog._validation.check_weight` for the checks.
        """
        tensor = None
        if value is not None:
            owner = type(self).__name__
            tensor = check_weight(value, name=name, owner=owner, length=length, shape=shape)
        self.register_buffer(name, tensor)


def _copy_of(function: Callable[..., Any], *, code_name: str) -> Callable[..., Any]:
    """The same function with its own code object, named ``code_name``.

    See :meth:`LossModule.__init_subclass__` for why.
    """
    assert isinstance(function, types.FunctionType)  # a plain function, never a builtin
    copy = types.FunctionType(
        function.__code__.replace(co_name=code_name),
        function.__globals__,
        function.__name__,
        function.__defaults__,
        function.__closure__,
    )
    copy.__kwdefaults__ = function.__kwdefaults__
    functools.update_wrapper(copy, function)
    copy.__qualname__ = code_name
    return copy


def _count(
    labels: object, num_classes: int | None, distributed: bool, kwargs: dict[str, Any]
) -> torch.Tensor:
    """Class counts of ``labels``, skipping the loss's ``ignore_index`` (default -100)."""
    return class_counts(
        labels,
        num_classes=num_classes,
        distributed=distributed,
        ignore_index=kwargs.get("ignore_index", -100),
    )


class FromClassWeights(LossModule):
    """A :class:`LossModule` whose constructors turn counts into its ``weight`` buffer."""

    @classmethod
    def from_counts(
        cls: type[_WeightedLoss], counts: object, *, scheme: str = "balanced", **kwargs: Any
    ) -> _WeightedLoss:
        """Build the loss with :func:`underdog.class_weight` of ``counts``.

        Keyword arguments named like :func:`underdog.class_weight`'s (``beta``,
        ``normalize``, ``max_weight``, ``zero_count``, ``classes``) go there; the rest to the
        constructor. ``counts`` may be a mapping ``{label: count}`` and ``scheme`` a mapping
        ``{label: weight}``, as for :func:`underdog.class_weight`.
        """
        options = {name: kwargs.pop(name) for name in _WEIGHT_OPTIONS if name in kwargs}
        return cls(weight=compute_class_weight(counts, scheme=scheme, **options), **kwargs)

    @classmethod
    def from_labels(
        cls: type[_WeightedLoss],
        labels: object,
        *,
        scheme: str = "balanced",
        num_classes: int | None = None,
        distributed: bool = True,
        **kwargs: Any,
    ) -> _WeightedLoss:
        """Count ``labels`` with :func:`underdog.class_counts`, then :meth:`from_counts`.

        ``ignore_index`` (default -100) is skipped when counting too.
        """
        counts = _count(labels, num_classes, distributed, kwargs)
        return cls.from_counts(counts, scheme=scheme, **kwargs)


class FromCounts(LossModule):
    """A :class:`LossModule` that takes ``counts=`` itself, also from labels."""

    @classmethod
    def from_counts(cls: type[_CountedLoss], counts: object, **kwargs: Any) -> _CountedLoss:
        """Same as the constructor, with the counts positional."""
        return cls(counts=counts, **kwargs)

    @classmethod
    def from_labels(
        cls: type[_CountedLoss],
        labels: object,
        *,
        num_classes: int | None = None,
        distributed: bool = True,
        **kwargs: Any,
    ) -> _CountedLoss:
        """Count ``labels`` with :func:`underdog.class_counts` (skipping ``ignore_index``)."""
        return cls(counts=_count(labels, num_classes, distributed, kwargs), **kwargs)
