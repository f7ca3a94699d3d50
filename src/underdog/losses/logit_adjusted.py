"""Logit-adjusted loss (Menon et al. 2021) and balanced softmax (Ren et al. 2020).

Both add a per-class offset to the logits and take :func:`~underdog.cross_entropy` of the
result. With class counts ``n_c``, priors ``pi_c = n_c / sum_c' n_c`` and logits ``x``
``(N, C, d1, ...)``:

    logit-adjusted:    l_i = CE(x_i + tau * log(pi), y_i)
    balanced softmax:  l_i = CE(x_i + log(n), y_i)

Cross-entropy is invariant to adding the same constant to every logit, and
``log(n_c) = log(pi_c) + log(N)``, so balanced softmax **is** the logit-adjusted loss with
``tau = 1`` (the tests check the identity). ``tau = 0`` is plain cross-entropy. At test time
predict with the raw logits ``x``: the adjustment is a training-time margin.

Everything :func:`~underdog.cross_entropy` supports carries over unchanged: class weights,
sample weights, ``ignore_index``, ``label_smoothing``, probability targets and dense input,
with the same weighted ``"mean"``. Counts must be positive (``log 0`` is ``-inf``): a class
without samples raises :class:`~underdog.DataError`.

References:
    A. K. Menon, S. Jayasumana, A. S. Rawat, H. Jain, A. Veit, S. Kumar, "Long-tail
    learning via logit adjustment", ICLR 2021.
    J. Ren, C. Yu, S. Sheng, X. Ma, H. Zhao, S. Yi, H. Li, "Balanced Meta-Softmax for
    Long-Tailed Visual Recognition", NeurIPS 2020.
"""

from __future__ import annotations

from typing import ClassVar

import torch

from .._validation import check_counts, check_real
from ._base import FromCounts
from ._reduction import cross_entropy_weight_sum
from ._softmax_kernel import shifted_cross_entropy

__all__ = [
    "BalancedSoftmaxLoss",
    "LogitAdjustedLoss",
    "balanced_softmax_cross_entropy",
    "log_prior",
    "logit_adjusted_cross_entropy",
]


def log_prior(counts: object, *, owner: str = "log_prior") -> torch.Tensor:
    """``log(n_c / sum n)`` in float64 from positive class counts ``(C,)``.

    Args:
        counts: positive class counts ``(C,)``.
        owner: the public function or class named in error messages.

    Returns:
        A float64 tensor of shape ``(C,)``.

    Raises:
        DataError: a class with count 0 (its log-prior would be ``-inf``).
        InvalidParameterError: negative, non-finite or non-numeric counts.

    Example:
        >>> log_prior([1, 3]).exp()
        tensor([0.2500, 0.7500], dtype=torch.float64)
    """
    why = (
        ", since the loss needs log-priors (drop the classes without samples, or pass "
        "num_classes matching the classes present)"
    )
    counts64 = check_counts(counts, owner=owner, positive=True, why=why)
    return counts64.log() - counts64.sum().log()


def _logit_adjusted(
    input: torch.Tensor,
    target: torch.Tensor,
    *,
    log_prior: torch.Tensor,
    tau: float,
    weight: torch.Tensor | None,
    sample_weight: torch.Tensor | None,
    ignore_index: int,
    label_smoothing: float,
    reduction: str,
    owner: str,
) -> torch.Tensor:
    """``cross_entropy(x + tau * log_prior)``: the Module's kernel, from its buffer."""
    return shifted_cross_entropy(
        input, target, bias=log_prior if tau == 1.0 else log_prior * tau, weight=weight,
        sample_weight=sample_weight, ignore_index=ignore_index,
        label_smoothing=label_smoothing, reduction=reduction, owner=owner,
    )  # fmt: skip


def logit_adjusted_cross_entropy(
    input: torch.Tensor,
    target: torch.Tensor,
    *,
    counts: object,
    tau: float = 1.0,
    weight: torch.Tensor | None = None,
    sample_weight: torch.Tensor | None = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
) -> torch.Tensor:
    """Cross-entropy of the logits shifted by ``tau * log(prior)`` (Menon et al. 2021).

    ``l_i = CE(x_i + tau * log(pi), y_i)`` with ``pi = counts / counts.sum()``.

    Args:
        input: logits ``(N, C)`` or ``(N, C, d1, ...)``.
        target: class indices ``(N,)`` / ``(N, d1, ...)`` or probabilities shaped like input.
        counts: class counts ``(C,)``, all positive (e.g. from :func:`underdog.class_counts`).
            Checked on every call (this reads their values); in a training loop prefer
            :class:`LogitAdjustedLoss`, which checks them once.
        tau: scale of the adjustment, finite (paper: 1); 0 gives cross-entropy.
        weight: per-class weights ``(C,)``.
        sample_weight: per-sample weights ``(N,)`` or the target's shape.
        ignore_index: class-index target value that is skipped (loss 0, not in the mean).
        label_smoothing: ``eps`` in ``[0, 1]``.
        reduction: ``"mean"`` (weighted mean), ``"sum"`` or ``"none"``.

    Returns:
        A scalar, or for ``"none"`` a tensor shaped like the class-index target.

    Shape:
        input ``(N, C, *)``, target ``(N, *)`` or ``(N, C, *)``, counts and weight ``(C,)``.

    Raises:
        DataError: a zero count; a class index outside ``[0, C)`` (checked on CPU).
        InvalidParameterError: a non-finite ``tau``, bad counts.
        ShapeError: shapes that do not fit.

    References:
        Menon et al., "Long-tail learning via logit adjustment", ICLR 2021.

    Example:
        >>> x = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
        >>> logit_adjusted_cross_entropy(x, torch.tensor([0, 1]), counts=[90, 10])
        tensor(0.7380)
    """
    owner = "logit_adjusted_cross_entropy"
    tau = check_real(tau, name="tau", owner=owner)
    return shifted_cross_entropy(
        input,
        target,
        bias=log_prior(counts, owner=owner) * tau,
        weight=weight,
        sample_weight=sample_weight,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        reduction=reduction,
        owner=owner,
    )


def balanced_softmax_cross_entropy(
    input: torch.Tensor,
    target: torch.Tensor,
    *,
    counts: object,
    weight: torch.Tensor | None = None,
    sample_weight: torch.Tensor | None = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
) -> torch.Tensor:
    """Balanced softmax (Ren et al. 2020): cross-entropy of ``x + log(counts)``.

    Equal to :func:`logit_adjusted_cross_entropy` with ``tau=1``. Arguments as there.

    References:
        Ren et al., "Balanced Meta-Softmax for Long-Tailed Visual Recognition", NeurIPS 2020.

    Example:
        >>> x = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
        >>> balanced_softmax_cross_entropy(x, torch.tensor([0, 1]), counts=[90, 10])
        tensor(0.7380)
    """
    owner = "balanced_softmax_cross_entropy"
    return shifted_cross_entropy(
        input,
        target,
        bias=log_prior(counts, owner=owner),  # log(n) up to a constant
        weight=weight,
        sample_weight=sample_weight,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        reduction=reduction,
        owner=owner,
    )


class LogitAdjustedLoss(FromCounts):
    """Module form of :func:`logit_adjusted_cross_entropy`.

    The buffer ``log_prior`` ``(C,)`` holds ``log(n_c / N)``; ``weight`` is an optional
    class-weight buffer (for example set by :class:`~underdog.losses.DeferredReweighting`).

    Args:
        counts: positive class counts ``(C,)``.
        tau: adjustment scale (paper: 1).
        weight, ignore_index, label_smoothing, reduction: as for the function.

    Example:
        >>> loss = LogitAdjustedLoss.from_labels(torch.tensor([0, 0, 0, 1]))
        >>> loss.log_prior.exp()
        tensor([0.7500, 0.2500])
    """

    log_prior: torch.Tensor
    weight: torch.Tensor | None
    _loss = staticmethod(_logit_adjusted)
    _forwarded = ("log_prior", "tau", "weight", "ignore_index", "label_smoothing", "reduction")
    _names_itself = True
    _weight_sum = staticmethod(cross_entropy_weight_sum)
    _summed = ("weight", "ignore_index")
    _shown: ClassVar[tuple[str, ...]] = ("tau", "ignore_index", "label_smoothing", "reduction")

    def __init__(
        self,
        *,
        counts: object,
        tau: float = 1.0,
        weight: object = None,
        ignore_index: int = -100,
        label_smoothing: float = 0.0,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        owner = self._set_options(
            reduction=reduction, ignore_index=ignore_index, label_smoothing=label_smoothing
        )
        self.tau = check_real(tau, name="tau", owner=owner)
        prior = log_prior(counts, owner=owner).to(torch.get_default_dtype())
        self.register_buffer("log_prior", prior)
        self._register_weight("weight", weight, length=prior.numel())


class BalancedSoftmaxLoss(LogitAdjustedLoss):
    """Module form of :func:`balanced_softmax_cross_entropy`.

    :class:`LogitAdjustedLoss` with ``tau = 1`` fixed.

    Example:
        >>> loss = BalancedSoftmaxLoss(counts=[90, 10])
        >>> loss(torch.tensor([[2.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 1]))
        tensor(0.7380)
    """

    _shown: ClassVar[tuple[str, ...]] = ("ignore_index", "label_smoothing", "reduction")

    def __init__(
        self,
        *,
        counts: object,
        weight: object = None,
        ignore_index: int = -100,
        label_smoothing: float = 0.0,
        reduction: str = "mean",
    ) -> None:
        super().__init__(
            counts=counts,
            tau=1.0,
            weight=weight,
            ignore_index=ignore_index,
            label_smoothing=label_smoothing,
            reduction=reduction,
        )
