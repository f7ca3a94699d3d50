"""Schedules that change a loss between epochs: deferred re-weighting (Cao et al. 2019).

**DRW** (deferred re-weighting): train unweighted, then from a start epoch on weight the
classes by the effective number of samples (Cui et al. 2019) with ``beta`` (reference:
0.9999 from epoch 160 of 200), normalised to sum to ``C``. :class:`DeferredReweighting` is
that schedule as a small object with explicit parameters. It sets the ``weight`` buffer of
any underdog loss that has one (cross-entropy, focal, LDAM, logit-adjusted, ...) between
epochs; the loss's ``forward`` never changes the module.

The start is either an epoch (``start_epoch=160``) or a fraction of the run
(``start_fraction=0.8``: epoch ``int(0.8 * epochs)``, so the schedule then needs the number
of epochs, ``epochs=``, in :meth:`~DeferredReweighting.weight_for` and
:meth:`~DeferredReweighting.step`).

References:
    K. Cao, C. Wei, A. Gaidon, N. Arechiga, T. Ma, "Learning Imbalanced Datasets with
    Label-Distribution-Aware Margin Loss", NeurIPS 2019 (code: kaidic/LDAM-DRW).
    Y. Cui et al., "Class-Balanced Loss Based on Effective Number of Samples", CVPR 2019.
"""

from __future__ import annotations

import torch
from torch import nn

from .._validation import (
    check_counts,
    check_exclusive,
    check_int,
    check_real,
    describe_shape,
    message,
)
from ..exceptions import InvalidParameterError, ShapeError
from ..weights import effective_number_weight

__all__ = ["DeferredReweighting"]


class DeferredReweighting:
    """Deferred re-weighting (DRW): class weights 1, then effective-number weights.

    From the start epoch on, the weights are the effective-number weights (Cui et al.
    2019) normalised to sum to ``C``.

    The weights come from :func:`underdog.class_weight` with ``scheme="effective"`` and
    ``normalize="mean"``, exactly the reference's ``(1 - beta) / (1 - beta ** n_c)`` scaled
    to sum to ``C``.

    Args:
        counts: class counts ``(C,)`` (all positive).
        start_epoch: the first epoch (0-based) that uses the re-weighted classes
            (reference: 160 of 200), an int ``>= 0``.
        start_fraction: or the start as a fraction of the run, in ``[0, 1]``: re-weighting
            starts at epoch ``int(start_fraction * epochs)`` (reference: 0.8), where
            ``epochs`` is given to :meth:`weight_for` and :meth:`step`. Pass exactly one of
            ``start_epoch`` and ``start_fraction``.
        beta: effective-number parameter in ``[0, 1)`` (reference: 0.9999).

    Raises:
        InvalidParameterError: neither or both of ``start_epoch`` and ``start_fraction``, a
            value out of range, bad counts.
        DataError: a class with count 0.

    Example:
        >>> drw = DeferredReweighting([100, 10], start_epoch=2, beta=0.99)
        >>> drw.weight_for(0)
        tensor([1., 1.])
        >>> drw.weight_for(2)
        tensor([0.2621, 1.7379])
        >>> from underdog.losses import LDAMLoss
        >>> loss = LDAMLoss(counts=[100, 10])
        >>> drw.step(loss, epoch=2)  # sets loss.weight
        >>> loss.weight
        tensor([0.2621, 1.7379])
        >>> late = DeferredReweighting([100, 10], start_fraction=0.8, beta=0.99)
        >>> late.start(epochs=200)
        160
        >>> late.weight_for(159, epochs=200)
        tensor([1., 1.])
    """

    def __init__(
        self,
        counts: object,
        *,
        start_epoch: int | None = None,
        start_fraction: float | None = None,
        beta: float = 0.9999,
    ) -> None:
        owner = type(self).__name__
        given = check_exclusive(
            owner, required=True, start_epoch=start_epoch, start_fraction=start_fraction
        )
        self.start_epoch: int | None = None
        self.start_fraction: float | None = None
        if given == "start_epoch":
            self.start_epoch = check_int(start_epoch, name="start_epoch", owner=owner, low=0)
        else:
            self.start_fraction = check_real(
                start_fraction, name="start_fraction", owner=owner, low=0.0, high=1.0
            )
        self.beta = check_real(beta, name="beta", owner=owner, low=0.0, high=1.0, closed="left")
        checked = check_counts(
            counts, owner=owner, positive=True, why=", since its effective number would be 0"
        )
        weight = effective_number_weight(checked, beta=self.beta)
        self.weight = weight.to(torch.get_default_dtype())
        self.num_classes = self.weight.numel()

    def start(self, *, epochs: int | None = None) -> int:
        """The first epoch (0-based) that uses the re-weighted classes.

        Args:
            epochs: the number of epochs of the run; required with ``start_fraction``,
                optional (and only checked) with ``start_epoch``.

        Raises:
            InvalidParameterError: ``epochs`` missing with ``start_fraction``, or not an int
                ``>= 1``.
        """
        return self._start(epochs, owner=f"{type(self).__name__}.start")

    def _start(self, epochs: int | None, *, owner: str) -> int:
        if epochs is not None:
            epochs = check_int(epochs, name="epochs", owner=owner, low=1)
        if self.start_epoch is not None:
            return self.start_epoch
        if epochs is None:
            raise InvalidParameterError(
                message(
                    "epochs",
                    owner,
                    must="be given when the schedule starts at a fraction of the run "
                    f"(start_fraction={self.start_fraction})",
                    got="None",
                )
            )
        assert self.start_fraction is not None  # one of the two is set by __init__
        return int(self.start_fraction * epochs)

    def weight_for(self, epoch: int, *, epochs: int | None = None) -> torch.Tensor:
        """The class weights ``(C,)`` to use in ``epoch`` (0-based) of ``epochs``.

        ``epochs`` is required with ``start_fraction`` (see :meth:`start`).
        """
        return self._weight_for(epoch, epochs, owner=f"{type(self).__name__}.weight_for")

    def _weight_for(self, epoch: int, epochs: int | None, *, owner: str) -> torch.Tensor:
        epoch = check_int(epoch, name="epoch", owner=owner, low=0)
        if epoch < self._start(epochs, owner=owner):
            return torch.ones_like(self.weight)
        return self.weight.clone()

    def step(self, loss: nn.Module, *, epoch: int, epochs: int | None = None) -> None:
        """Set ``loss.weight`` (a buffer) to :meth:`weight_for` ``(epoch, epochs=epochs)``.

        In place when it already holds a tensor of the right shape (no recompilation under
        ``torch.compile``), on the buffer's device and dtype.

        Raises:
            InvalidParameterError: a ``loss`` without a ``weight`` buffer, a bad ``epoch``,
                or ``epochs`` missing with ``start_fraction``.
            ShapeError: a ``weight`` buffer whose shape is not ``(C,)``.
        """
        owner = f"{type(self).__name__}.step"
        if "weight" not in getattr(loss, "_buffers", {}):
            raise InvalidParameterError(
                message(
                    "loss",
                    owner,
                    must="be a module with a 'weight' buffer (an underdog loss such as LDAMLoss)",
                    got=type(loss).__name__,
                )
            )
        weight = self._weight_for(epoch, epochs, owner=owner)
        current = loss.weight
        if current is None:
            like = next(loss.buffers(), None)  # the loss's device and floating dtype
            if like is not None and like.is_floating_point():
                weight = weight.to(dtype=like.dtype, device=like.device)
            loss.weight = weight
        elif isinstance(current, torch.Tensor) and current.shape == weight.shape:
            with torch.no_grad():
                current.copy_(weight)
        else:
            shape = current.shape if isinstance(current, torch.Tensor) else ()
            raise ShapeError(
                message(
                    "loss",
                    owner,
                    must=f"have a 'weight' buffer of shape ({self.num_classes},), one weight "
                    f"per class of the schedule",
                    got=f"a weight of shape {describe_shape(shape)}",
                )
            )

    def __repr__(self) -> str:
        """The class counts' length, the start and ``beta``."""
        start = (
            f"start_epoch={self.start_epoch}"
            if self.start_epoch is not None
            else f"start_fraction={self.start_fraction}"
        )
        return f"{type(self).__name__}(num_classes={self.num_classes}, {start}, beta={self.beta})"
