"""Class-balanced loss (Cui et al. 2019): effective-number class weights over a base loss.

The effective number of samples of class ``c`` is ``E_c = (1 - beta ** n_c) / (1 - beta)``;
its inverse, normalised so that the weights sum to the number of classes ``C``,

    w_c = C * (1 / E_c) / sum_c' (1 / E_c')

weights the base loss of every sample of class ``c``. The weights are exactly
:func:`underdog.class_weight` ``(counts, scheme="effective", beta=beta, normalize="mean")``.
``beta = 0`` gives weights 1 (the unweighted loss); ``beta -> 1`` tends to inverse
frequency. The base loss, for class-index targets ``y``:

- ``base="softmax"``: :func:`~underdog.cross_entropy` (``gamma=0``) or the softmax
  :func:`~underdog.losses.focal_cross_entropy` (``gamma > 0``) with ``weight=w``;
- ``base="sigmoid"``: one binary term per class on the one-hot target, as in the
  reference code, each term of sample ``i`` weighted by ``w[y_i]``: binary cross-entropy
  (``gamma=0``) or the sigmoid focal loss without ``alpha`` (``gamma > 0``; the
  reference's "focal" setting, ``gamma=2``).

``"mean"`` is the library's weighted mean: ``sum_i l_i / sum_i w[y_i]`` for the softmax
base, and over the ``N * C`` binary terms (each of weight ``w[y_i]``) for the sigmoid base.
Label smoothing and probability targets are not supported.

References:
    Y. Cui, M. Jia, T.-Y. Lin, Y. Song, S. Belongie, "Class-Balanced Loss Based on
    Effective Number of Samples", CVPR 2019 (code: richardaecn/class-balanced-loss).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .._validation import check_counts, check_option, check_real, check_reduction
from ..weights import effective_number_weight
from ._base import FromCounts
from ._checks import broadcast_sample_weight, check_class_vector, check_index_input
from ._reduction import cross_entropy_weight_sum
from ._softmax_kernel import softmax_rows
from .focal import sigmoid_focal_with_logits

__all__ = ["ClassBalancedLoss", "class_balanced_loss", "class_balanced_weight"]

#: The base losses: softmax cross-entropy / focal, or one sigmoid term per class.
BASES = ("softmax", "sigmoid")


def _effective_weight(counts: object, *, beta: float, owner: str) -> torch.Tensor:
    """The class-balanced weights of positive ``counts``, errors in the name of ``owner``."""
    checked = check_counts(
        counts, owner=owner, positive=True, why=", since its effective number would be 0"
    )
    return effective_number_weight(checked, beta=beta).to(torch.get_default_dtype())


def class_balanced_weight(counts: object, *, beta: float = 0.9999) -> torch.Tensor:
    """The class-balanced weights ``(C,)``: effective-number weights summing to ``C``.

    Exactly :func:`underdog.class_weight` ``(counts, scheme="effective", beta=beta,
    normalize="mean")``.

    Args:
        counts: positive class counts ``(C,)``.
        beta: effective-number parameter in ``[0, 1)`` (reference: 0.9999).

    Returns:
        A tensor of shape ``(C,)`` in the default dtype.

    Raises:
        DataError: a class with count 0.
        InvalidParameterError: bad counts or ``beta``.

    Example:
        >>> class_balanced_weight([100, 10], beta=0.99)
        tensor([0.2621, 1.7379])
    """
    owner = "class_balanced_weight"
    beta = check_real(beta, name="beta", owner=owner, low=0.0, high=1.0, closed="left")
    return _effective_weight(counts, beta=beta, owner=owner)


def _class_balanced(
    input: torch.Tensor,
    target: torch.Tensor,
    *,
    weight: torch.Tensor,
    base: str,
    gamma: float,
    sample_weight: torch.Tensor | None,
    ignore_index: int,
    reduction: str,
    owner: str,
) -> torch.Tensor:
    """The loss with class weights ``weight`` ``(C,)`` already computed (the Module's)."""
    # Shapes and class range are checked here, in this loss's name, before either base.
    target = check_index_input(input, target, None, owner, ignore_index=ignore_index)
    check_class_vector(weight, input, name="counts", owner=owner, each="count")
    if base == "softmax":  # checked above: straight to the focal rows
        return softmax_rows(
            input, target, gamma=gamma, weight=weight, sample_weight=sample_weight,
            ignore_index=ignore_index, reduction=reduction, owner=owner,
        )  # fmt: skip
    keep = target != ignore_index
    safe = torch.where(keep, target, torch.zeros_like(target))
    dtype = torch.promote_types(input.dtype, torch.float32)  # weights stay float32 in half
    one_hot = F.one_hot(safe, input.shape[1]).movedim(-1, 1).to(dtype)
    element = weight.to(dtype=one_hot.dtype, device=one_hot.device)[safe] * keep
    if sample_weight is not None:
        element = element * broadcast_sample_weight(
            sample_weight.to(element.dtype), target, owner=owner
        )
    loss = sigmoid_focal_with_logits(
        input,
        one_hot,
        gamma=gamma,
        alpha=None,
        sample_weight=element.unsqueeze(1).expand_as(one_hot),
        reduction=reduction,
    )
    return loss.sum(1) if reduction == "none" else loss


def _class_balanced_weight_sum(
    target: torch.Tensor,
    *,
    weight: torch.Tensor,
    base: str,
    sample_weight: torch.Tensor | None,
    ignore_index: int,
) -> torch.Tensor:
    """``sum_i e_i``: the cross-entropy sum (``C`` times that for the sigmoid base).

    The sigmoid base averages ``C`` binary terms per position.
    """
    total = cross_entropy_weight_sum(
        target, weight=weight, sample_weight=sample_weight, ignore_index=ignore_index
    )
    return total * weight.numel() if base == "sigmoid" else total


def class_balanced_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    *,
    counts: object,
    beta: float = 0.9999,
    base: str = "softmax",
    gamma: float = 0.0,
    sample_weight: torch.Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> torch.Tensor:
    """Class-balanced loss of logits and class indices (see the module docstring).

    Args:
        input: logits ``(N, C)`` or ``(N, C, d1, ...)``.
        target: int64 class indices ``(N,)`` or ``(N, d1, ...)``.
        counts: class counts ``(C,)``; checked and turned into weights on every call, so
            in a training loop prefer :class:`ClassBalancedLoss`.
        beta: effective-number parameter in ``[0, 1)`` (reference: 0.9999).
        base: ``"softmax"`` or ``"sigmoid"``.
        gamma: focusing parameter in ``[0, inf)``; 0 for the cross-entropy bases.
        sample_weight: per-sample weights ``(N,)`` or the target's shape.
        ignore_index: class-index target value that is skipped (loss 0, not in the mean).
        reduction: ``"mean"`` (weighted mean), ``"sum"`` or ``"none"``.

    Returns:
        A scalar, or for ``"none"`` a tensor shaped like ``target`` (for the sigmoid base,
        the sum of each position's ``C`` binary terms).

    Shape:
        input ``(N, C, *)``, target ``(N, *)``, counts ``(C,)``.

    Raises:
        InvalidParameterError: ``beta`` outside ``[0, 1)``, ``gamma < 0``, an unknown base.
        DataError: a class with count 0; a class index outside ``[0, C)`` (checked on CPU).
        ShapeError: shapes that do not fit.

    References:
        Cui et al., "Class-Balanced Loss Based on Effective Number of Samples", CVPR 2019.

    Example:
        >>> x = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
        >>> class_balanced_loss(x, torch.tensor([0, 1]), counts=[100, 10], beta=0.99)
        tensor(0.2888)
    """
    owner = "class_balanced_loss"
    check_reduction(reduction, owner=owner)
    check_option(base, name="base", owner=owner, options=BASES)
    gamma = check_real(gamma, name="gamma", owner=owner, low=0.0)
    beta = check_real(beta, name="beta", owner=owner, low=0.0, high=1.0, closed="left")
    return _class_balanced(
        input,
        target,
        weight=_effective_weight(counts, beta=beta, owner=owner),
        base=base,
        gamma=gamma,
        sample_weight=sample_weight,
        ignore_index=ignore_index,
        reduction=reduction,
        owner=owner,
    )


class ClassBalancedLoss(FromCounts):
    """Module form of :func:`class_balanced_loss`; the weights are the ``weight`` buffer.

    Args:
        counts: class counts ``(C,)``.
        beta: effective-number parameter in ``[0, 1)`` (reference: 0.9999).
        base: ``"softmax"`` (default) or ``"sigmoid"`` (the reference's "focal" setting is
            ``base="sigmoid", gamma=2.0``).
        gamma: focusing parameter; 0 for cross-entropy.
        ignore_index, reduction: as for the function.

    Example:
        >>> loss = ClassBalancedLoss.from_labels(torch.tensor([0] * 100 + [1] * 10), beta=0.99)
        >>> loss.weight
        tensor([0.2621, 1.7379])
    """

    weight: torch.Tensor
    _loss = staticmethod(_class_balanced)
    _forwarded = ("weight", "base", "gamma", "ignore_index", "reduction")
    _names_itself = True
    _weight_sum = staticmethod(_class_balanced_weight_sum)
    _summed = ("weight", "base", "ignore_index")
    _shown = ("beta", "base", "gamma", "ignore_index", "reduction")

    def __init__(
        self,
        *,
        counts: object,
        beta: float = 0.9999,
        base: str = "softmax",
        gamma: float = 0.0,
        ignore_index: int = -100,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        owner = self._set_options(reduction=reduction, ignore_index=ignore_index)
        self.beta = check_real(beta, name="beta", owner=owner, low=0.0, high=1.0, closed="left")
        self.base = check_option(base, name="base", owner=owner, options=BASES)
        self.gamma = check_real(gamma, name="gamma", owner=owner, low=0.0)
        self.register_buffer("weight", _effective_weight(counts, beta=self.beta, owner=owner))
