"""Asymmetric loss (Ridnik et al. 2021) for multilabel classification.

For logits ``x`` and 0/1 targets ``t`` of the same shape, ``p = sigmoid(x)`` and the
shifted probability ``p_m = max(p - clip, 0)`` of the negatives:

    l_i = -t_i * (1 - p_i) ** gamma_pos * log(p_i)
          - (1 - t_i) * p_m,i ** gamma_neg * log(1 - p_m,i)

Easy negatives are down-weighted by ``gamma_neg`` and discarded outright when
``p <= clip`` (the "probability margin"), positives keep a milder ``gamma_pos``.
Defaults are the reference's: ``gamma_neg=4``, ``gamma_pos=1``, ``clip=0.05``. With
``gamma_pos = gamma_neg = clip = 0`` the loss is binary cross-entropy.

Differences from the reference code (Alibaba-MIIL/ASL), on purpose:

- no ``eps``: the reference clamps probabilities at ``eps=1e-8`` before the log, so its
  loss saturates at ``-log(1e-8) = 18.4`` with a zero gradient for ``|x| > 18``, and the
  clamp underflows in float16. Here ``-log p = softplus(-x)``, computed as
  ``log1p(sigmoid(-x) / sigmoid(x))`` (``-x`` where the ratio overflows), and
  ``-log(1 - p_m) = log1p(p_m / (1 - p_m))``: exact to rounding for any finite logit;
- the gradient flows through the focusing weights (the reference's default
  ``disable_torch_grad_focal_loss=False``), analytically, finite for any ``gamma`` in
  ``[0, inf)`` including (0, 1);
- ``"mean"`` is the mean over the elements that are not ignored (weighted by sample
  weights), the library's one meaning; the reference returns ``-loss.sum()``, which is
  ``reduction="sum"`` here.

Soft targets weight the two terms by ``t`` and ``1 - t``. Class weights and label smoothing
are not part of the loss and are not supported.

References:
    T. Ridnik, E. Ben-Baruch, N. Zamir, A. Noy, I. Friedman, M. Protter, L. Zelnik-Manor,
    "Asymmetric Loss For Multi-Label Classification", ICCV 2021.
"""

from __future__ import annotations

import torch

from .._validation import check_real, check_reduction, eager
from ._base import LossModule
from ._checks import check_binary_input, upcast
from ._reduction import binary_cross_entropy_weight_sum, binary_denominator, reduce_loss
from ._sigmoid_kernel import Asymmetric, binary_target

__all__ = ["AsymmetricLoss", "asymmetric_loss_with_logits"]


def _check_params(
    gamma_pos: float, gamma_neg: float, clip: float, owner: str
) -> tuple[float, float, float]:
    """``(gamma_pos, gamma_neg, clip)`` as floats, checked."""
    return (
        check_real(gamma_pos, name="gamma_pos", owner=owner, low=0.0),
        check_real(gamma_neg, name="gamma_neg", owner=owner, low=0.0),
        check_real(clip, name="clip", owner=owner, low=0.0, high=1.0, closed="left"),
    )


def asymmetric_loss_with_logits(
    input: torch.Tensor,
    target: torch.Tensor,
    *,
    gamma_pos: float = 1.0,
    gamma_neg: float = 4.0,
    clip: float = 0.05,
    sample_weight: torch.Tensor | None = None,
    ignore_index: int | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """Asymmetric loss of logits and 0/1 targets (see the module docstring).

    Args:
        input: logits ``(N,)``, ``(N, L)`` or ``(N, L, d1, ...)``.
        target: float targets in ``[0, 1]`` with the input's shape.
        gamma_pos: focusing parameter of the positives in ``[0, inf)`` (reference: 1).
        gamma_neg: focusing parameter of the negatives in ``[0, inf)`` (reference: 4).
        clip: probability margin ``m`` in ``[0, 1)`` (reference: 0.05); 0 disables it.
        sample_weight: ``(N,)`` or the target's shape.
        ignore_index: a target value marking unknown entries (loss 0, not in the mean).
        reduction: ``"mean"`` (weighted mean), ``"sum"`` or ``"none"``.

    Returns:
        A scalar, or for ``"none"`` a tensor shaped like ``input``.

    Shape:
        input ``(N, *)``, target ``(N, *)``.

    Raises:
        InvalidParameterError: a negative ``gamma_pos`` / ``gamma_neg``, ``clip`` outside
            ``[0, 1)``, an unknown reduction.
        ShapeError: integer targets or a target of another shape.

    References:
        Ridnik et al., "Asymmetric Loss For Multi-Label Classification", ICCV 2021.

    Example:
        >>> x = torch.tensor([[2.0, -1.0, 0.5]])
        >>> t = torch.tensor([[1.0, 0.0, 0.0]])
        >>> asymmetric_loss_with_logits(x, t)
        tensor(0.0357)
    """
    owner = "asymmetric_loss_with_logits"
    check_reduction(reduction, owner=owner)
    if eager():
        gamma_pos, gamma_neg, clip = _check_params(gamma_pos, gamma_neg, clip, owner)
    check_binary_input(input, target, owner, ignore_index=ignore_index)
    x = upcast(input)
    hard, keep = binary_target(target, x.dtype, ignore_index)
    # torch declares Function.apply without types:
    loss: torch.Tensor = Asymmetric.apply(  # type: ignore[no-untyped-call]
        x, hard, keep, gamma_pos, gamma_neg, clip
    )
    loss, element = binary_denominator(loss, hard, keep, None, sample_weight, reduction, owner)
    return reduce_loss(loss, element, reduction, owner)


class AsymmetricLoss(LossModule):
    """Module form of :func:`asymmetric_loss_with_logits`.

    Args:
        gamma_pos, gamma_neg, clip: as for the function (reference: 1, 4, 0.05).
        ignore_index, reduction: as for the function.

    Example:
        >>> loss = AsymmetricLoss(reduction="sum")
        >>> loss(torch.tensor([[2.0, -1.0, 0.5]]), torch.tensor([[1.0, 0.0, 0.0]]))
        tensor(0.1070)
    """

    _loss = staticmethod(asymmetric_loss_with_logits)
    _forwarded = ("gamma_pos", "gamma_neg", "clip", "ignore_index", "reduction")
    _weight_sum = staticmethod(binary_cross_entropy_weight_sum)
    _summed = ("ignore_index",)
    _shown = _forwarded

    def __init__(
        self,
        *,
        gamma_pos: float = 1.0,
        gamma_neg: float = 4.0,
        clip: float = 0.05,
        ignore_index: int | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        owner = self._set_options(
            reduction=reduction, ignore_index=ignore_index, no_ignore_index=True
        )
        self.gamma_pos, self.gamma_neg, self.clip = _check_params(gamma_pos, gamma_neg, clip, owner)
