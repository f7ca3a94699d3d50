"""Class weights, ``pos_weight`` and per-sample weights computed from counts.

With ``n_c`` the count of class ``c``, ``N = sum_c n_c`` and ``C`` the number of classes:

=================  =====================================  ===============================
scheme             weight of class ``c``                  reference
=================  =====================================  ===============================
``balanced``       ``N / (C * n_c)``                      scikit-learn ``"balanced"``
``inverse``        ``N / n_c``
``inverse_sqrt``   ``sqrt(N / n_c)``
``effective``      ``(1 - beta) / (1 - beta ** n_c)``     Cui et al., CVPR 2019
``median``         ``median_c'(n_c') / n_c``              Eigen & Fergus, ICCV 2015
``uniform``        ``1``
=================  =====================================  ===============================

Then, in this order: classes with no samples are handled by ``zero_count``, the weights
are normalised by ``normalize`` and capped at ``max_weight``.
"""

from __future__ import annotations

import torch

from ._validation import (
    check_counts,
    check_int,
    check_no_empty,
    check_option,
    check_real,
    check_weight,
    describe,
    message,
)
from .counts import MultilabelCounts, count_multilabel
from .exceptions import DataError, InvalidParameterError
from .labels import (
    as_label_tensor,
    check_class_indices,
    check_integer_labels,
    check_not_one_hot,
    is_label_container,
    list_batch_kind,
)

__all__ = [
    "NORMALIZATIONS",
    "SCHEMES",
    "ZERO_COUNT_POLICIES",
    "binary_class_weight",
    "class_weight",
    "pos_weight",
    "sample_weight",
]

#: The ``scheme`` names of :func:`class_weight` and :func:`binary_class_weight`.
SCHEMES = ("balanced", "inverse", "inverse_sqrt", "effective", "median", "uniform")
#: The ``normalize`` options besides ``None``.
NORMALIZATIONS = ("mean", "samples", "max")
#: The ``zero_count`` policies for classes (or labels) without samples.
ZERO_COUNT_POLICIES = ("raise", "zero", "max")
#: The way out of a ``zero_count="raise"`` error, in its message.
_UNLESS_ZERO_COUNT = " unless zero_count is 'zero' or 'max'"


def _check_zero_count_and_cap(owner: str, zero_count: str, max_weight: float | None) -> None:
    """The options shared by every weight function: ``zero_count`` and ``max_weight``."""
    check_option(zero_count, name="zero_count", owner=owner, options=ZERO_COUNT_POLICIES)
    if max_weight is not None:
        check_real(max_weight, name="max_weight", owner=owner, low=0.0, closed="neither")


def _check_scheme_options(
    owner: str,
    scheme: str,
    beta: float | None,
    normalize: str | None,
    max_weight: float | None,
    zero_count: str,
) -> float | None:
    """Check the options of a weighting scheme; return ``beta`` (a float for "effective")."""
    check_option(scheme, name="scheme", owner=owner, options=SCHEMES)
    if normalize is not None:
        check_option(normalize, name="normalize", owner=owner, options=(None, *NORMALIZATIONS))
    _check_zero_count_and_cap(owner, zero_count, max_weight)
    if scheme == "effective":
        if beta is None:
            raise InvalidParameterError(
                message(
                    "beta",
                    owner,
                    must="be a float in [0, 1) when scheme='effective' (Cui et al. use 0.9 "
                    "to 0.9999)",
                    got="None",
                )
            )
        return check_real(beta, name="beta", owner=owner, low=0.0, high=1.0, closed="left")
    if beta is not None:
        raise InvalidParameterError(
            message(
                "beta",
                owner,
                must=f"be None unless scheme='effective' (it is unused with scheme={scheme!r})",
                got=repr(beta),
            )
        )
    return None


def _scheme_weights(
    counts: torch.Tensor, present: torch.Tensor, scheme: str, beta: float | None
) -> torch.Tensor:
    """The raw weights of ``scheme`` along the last dim of float64 counts ``(..., C)``.

    Classes without samples get finite placeholder weights (see :func:`_fill_absent`).
    """
    safe = torch.where(present, counts, torch.ones_like(counts))
    total = counts.sum(-1, keepdim=True)
    if scheme == "balanced":
        return total / (counts.shape[-1] * safe)
    if scheme == "inverse":
        return total / safe
    if scheme == "inverse_sqrt":
        return torch.sqrt(total / safe)
    if scheme == "effective":
        assert beta is not None  # checked by _check_scheme_options
        # 1 - beta**n computed as -expm1(n * log(beta)): exact for beta near 1.
        log_beta = torch.log(torch.tensor(beta, dtype=counts.dtype))
        return (1.0 - beta) / -torch.expm1(safe * log_beta)
    if scheme == "median":
        masked = torch.where(present, counts, torch.full_like(counts, float("nan")))
        return torch.nanquantile(masked, 0.5, dim=-1, keepdim=True) / safe
    return torch.ones_like(counts)  # uniform


def _fill_absent(weights: torch.Tensor, present: torch.Tensor, zero_count: str) -> torch.Tensor:
    """Apply the ``zero_count`` policy along the last dim.

    The weight of every class (or label) that is not ``present`` becomes 0 (``"zero"``) or
    the largest weight of those present (``"max"``); ``"raise"`` has raised already.
    """
    if zero_count == "zero":
        return torch.where(present, weights, torch.zeros_like(weights))
    if zero_count == "max":
        largest = torch.where(present, weights, torch.zeros_like(weights)).amax(-1, keepdim=True)
        return torch.where(present, weights, largest.expand_as(weights))
    return weights


def _normalized(weights: torch.Tensor, counts: torch.Tensor, normalize: str | None) -> torch.Tensor:
    """Rescale the weights along the last dim as ``normalize`` says."""
    if normalize == "mean":
        return weights / weights.mean(-1, keepdim=True)
    if normalize == "samples":
        total = counts.sum(-1, keepdim=True)
        return weights * total / (weights * counts).sum(-1, keepdim=True)
    if normalize == "max":
        return weights / weights.amax(-1, keepdim=True)
    return weights


def _capped(weights: torch.Tensor, max_weight: float | None) -> torch.Tensor:
    return weights if max_weight is None else weights.clamp(max=max_weight)


def effective_number_weight(counts: torch.Tensor, *, beta: float) -> torch.Tensor:
    """Class-balanced weights: ``scheme="effective"``, ``normalize="mean"``, of checked counts.

    For callers that check positive float64 ``counts`` ``(C,)`` (with
    :func:`~underdog._validation.check_counts`) and ``beta`` themselves, in their own name,
    on a path that may run every step (:func:`underdog.losses.class_balanced_loss`);
    :func:`class_weight` checks both and gives the same weights, in float64.
    """
    present = torch.ones_like(counts, dtype=torch.bool)
    return _normalized(_scheme_weights(counts, present, "effective", beta), counts, "mean")


def _weights_from_counts(
    counts: torch.Tensor,
    *,
    scheme: str,
    beta: float | None,
    normalize: str | None,
    max_weight: float | None,
    zero_count: str,
    owner: str,
    name: str = "counts",
    must: str = "be positive for every class",
    entries: str = "classes",
) -> torch.Tensor:
    """Weights along the last dim of float64 ``counts`` of shape ``(..., C)``.

    In this order: the scheme, the ``zero_count`` policy, the normalisation, the cap.
    ``name``, ``must`` and ``entries`` word the error for classes without samples.
    """
    empty = counts.sum(-1) <= 0
    if bool(empty.any()):
        rows = "" if counts.ndim == 1 else f" for labels {empty.nonzero().reshape(-1).tolist()}"
        raise DataError(
            message(
                name,
                owner,
                must=f"have a positive total{rows}",
                got=describe(counts if counts.ndim == 1 else counts[empty]),
            )
        )
    present = counts > 0
    if zero_count == "raise":
        check_no_empty(
            counts, name=name, owner=owner, must=must + _UNLESS_ZERO_COUNT, entries=entries
        )
    weights = _fill_absent(_scheme_weights(counts, present, scheme, beta), present, zero_count)
    return _capped(_normalized(weights, counts, normalize), max_weight)


def class_weight(
    counts: object,
    *,
    scheme: str = "balanced",
    beta: float | None = None,
    normalize: str | None = None,
    max_weight: float | None = None,
    zero_count: str = "raise",
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Per-class weights from class counts.

    The weight of class ``c`` for each ``scheme`` is given in the module docstring; for
    example ``"balanced"`` is ``N / (C * n_c)``, identical to scikit-learn's
    ``compute_class_weight("balanced")``, so that ``sum_c n_c * w_c = N``.

    Args:
        counts: per-class counts of shape ``(C,)``, as returned by :func:`class_counts`.
        scheme: one of ``"balanced"``, ``"inverse"``, ``"inverse_sqrt"``, ``"effective"``,
            ``"median"``, ``"uniform"``.
        beta: the effective-number hyper-parameter in ``[0, 1)``; required by
            ``scheme="effective"`` and rejected by the others. ``beta=0`` gives weights 1.
        normalize: ``None`` (raw weights), ``"mean"`` (the mean over classes is 1, that is
            the weights sum to C), ``"samples"`` (the mean over samples is 1:
            ``sum_c n_c * w_c = N``, so the loss keeps its unweighted scale) or ``"max"``
            (the largest weight is 1).
        max_weight: cap applied after normalisation.
        zero_count: what to do with classes of count 0: ``"raise"`` (default, a
            :class:`DataError` naming them), ``"zero"`` (weight 0) or ``"max"`` (the largest
            weight of the classes that occur). Absent classes count in ``C``.
        dtype: floating dtype of the result; defaults to ``torch.get_default_dtype()``.
            Weights are computed in float64 either way.

    Returns:
        A tensor of shape ``(C,)``.

    Raises:
        DataError: a class with no samples under ``zero_count="raise"``, or all counts 0.
        InvalidParameterError: an unknown scheme or normalisation, a bad ``beta``, negative
            or non-finite counts.

    References:
        Y. Cui et al., "Class-Balanced Loss Based on Effective Number of Samples", CVPR 2019.
        D. Eigen and R. Fergus, "Predicting Depth, Surface Normals and Semantic Labels with a
        Common Multi-Scale Convolutional Architecture", ICCV 2015.

    Example:
        >>> class_weight([900, 100], dtype=torch.float64)
        tensor([0.5556, 5.0000], dtype=torch.float64)
        >>> class_weight([100, 800, 100], scheme="inverse")
        tensor([10.0000,  1.2500, 10.0000])
    """
    owner = "class_weight"
    beta = _check_scheme_options(owner, scheme, beta, normalize, max_weight, zero_count)
    weights = _weights_from_counts(
        check_counts(counts, owner=owner),
        scheme=scheme,
        beta=beta,
        normalize=normalize,
        max_weight=max_weight,
        zero_count=zero_count,
        owner=owner,
    )
    return _in_dtype(weights, dtype, owner)


def _in_dtype(weights: torch.Tensor, dtype: object, owner: str) -> torch.Tensor:
    """The float64 ``weights`` in ``dtype`` (default: ``torch.get_default_dtype()``).

    Raises:
        InvalidParameterError: ``dtype`` is not a floating dtype (an integer dtype would
            truncate the weights), or cannot hold them: a weight above its largest finite
            value (float16 would make it ``inf``) or a positive weight that it rounds to 0.
    """
    if dtype is None:
        dtype = torch.get_default_dtype()
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise InvalidParameterError(
            message(
                "dtype",
                owner,
                must="be None or a floating-point torch.dtype such as torch.float32 (weights "
                "are fractions: an integer dtype would truncate them)",
                got=describe(dtype),
            )
        )
    result = weights.to(dtype)
    overflow = bool(torch.isinf(result).any())
    if overflow or bool(((result == 0) & (weights > 0)).any()):
        if overflow:
            largest = torch.finfo(dtype).max
            fits = f"which reach {float(weights.max()):.6g}, above {dtype}'s largest {largest:.6g}"
            remedy = ", or cap them with max_weight"
        else:
            smallest = float(weights[weights > 0].min())
            fits = f"which go down to {smallest:.6g}, which {dtype} rounds to 0"
            remedy = ""
        raise InvalidParameterError(
            message(
                "dtype",
                owner,
                must=f"hold the weights, {fits} (use a wider dtype{remedy})",
                got=str(dtype),
            )
        )
    return result


def _label_counts(
    targets: object, *, ignore_index: int | None, distributed: bool, owner: str
) -> tuple[MultilabelCounts, bool]:
    """(MultilabelCounts, was_vector) from 0/1 targets or ready-made counts.

    ``was_vector`` is True for a 1-D container (a binary problem with one target per
    sample); loaders and datasets count as multilabel (``(2, L)`` weights).
    """
    if isinstance(targets, MultilabelCounts):
        return targets, False
    vector = False
    if is_label_container(targets) and list_batch_kind(targets) is None:  # batches: as given
        targets = as_label_tensor(targets, name="targets", owner=owner)
        vector = targets.ndim == 1
    counts = count_multilabel(
        targets, ignore_index=ignore_index, target=None, distributed=distributed, owner=owner
    )
    return counts, vector


def pos_weight(
    targets: object,
    *,
    ignore_index: int | None = None,
    max_weight: float | None = None,
    zero_count: str = "raise",
    distributed: bool = True,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """``pos_weight = n_neg / n_pos`` for ``BCEWithLogitsLoss``, one value per label.

    Args:
        targets: 0/1 targets, a vector ``(N,)`` (binary) or a matrix ``(N, L)`` /
            ``(N, L, d1, ...)`` (multilabel), or a :class:`MultilabelCounts`. Anything that
            :func:`multilabel_counts` accepts, loaders included.
        ignore_index: a target value marking unknown entries, which are skipped.
        max_weight: cap on the result.
        zero_count: labels without positives: ``"raise"`` (default), ``"zero"`` or
            ``"max"`` (the largest ``pos_weight`` of the other labels).
        distributed: sum the counts across ranks (see :func:`class_counts`).
        dtype: floating dtype of the result; defaults to ``torch.get_default_dtype()``.

    Returns:
        A tensor of shape ``(L,)``; ``(1,)`` for a binary vector. A label with no negatives
        gets ``pos_weight`` 0 (``n_neg / n_pos``), which removes its positive term from the
        loss: such a label carries no information to learn.

    Example:
        >>> pos_weight([0, 0, 0, 1])
        tensor([3.])
    """
    owner = "pos_weight"
    _check_zero_count_and_cap(owner, zero_count, max_weight)
    counts, _ = _label_counts(
        targets, ignore_index=ignore_index, distributed=distributed, owner=owner
    )
    pos = counts.positives.to(torch.float64)
    neg = counts.negatives.to(torch.float64)
    if zero_count == "raise":
        check_no_empty(
            pos,
            name="targets",
            owner=owner,
            must="have a positive for every label" + _UNLESS_ZERO_COUNT,
            entries="labels",
            lacking="positives",
        )
    present = pos > 0
    weights = _fill_absent(
        neg / torch.where(present, pos, torch.ones_like(pos)), present, zero_count
    )
    return _in_dtype(_capped(weights, max_weight), dtype, owner)


def binary_class_weight(
    targets: object,
    *,
    scheme: str = "balanced",
    beta: float | None = None,
    normalize: str | None = None,
    max_weight: float | None = None,
    zero_count: str = "raise",
    ignore_index: int | None = None,
    distributed: bool = True,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """True per-class weights ``(w_neg, w_pos)`` for a binary or multilabel problem.

    Each label's two counts ``(n_neg, n_pos)`` go through :func:`class_weight` with the
    given ``scheme``: ``"balanced"`` gives ``w_neg = N / (2 n_neg)``, ``w_pos = N / (2 n_pos)``.
    The result is what ``binary_cross_entropy_with_logits(class_weight=...)`` takes.

    Args:
        targets: 0/1 targets or a :class:`MultilabelCounts` (see :func:`pos_weight`).
        scheme: as for :func:`class_weight`, applied to each label separately.
        beta: as for :func:`class_weight`.
        normalize: as for :func:`class_weight`, over each label's two classes.
        max_weight: as for :func:`class_weight`.
        zero_count: as for :func:`class_weight`, for a label without negatives or
            positives.
        ignore_index: a target value marking unknown entries, which are skipped.
        distributed: sum the counts across ranks (see :func:`class_counts`).
        dtype: floating dtype of the result; defaults to ``torch.get_default_dtype()``.

    Returns:
        ``(2,)`` for a binary vector, else ``(2, L)``: row 0 weights negatives, row 1
        positives.

    Example:
        >>> binary_class_weight([0] * 900 + [1] * 100, dtype=torch.float64)
        tensor([0.5556, 5.0000], dtype=torch.float64)
    """
    owner = "binary_class_weight"
    beta = _check_scheme_options(owner, scheme, beta, normalize, max_weight, zero_count)
    counts, vector = _label_counts(
        targets, ignore_index=ignore_index, distributed=distributed, owner=owner
    )
    stacked = torch.stack([counts.negatives, counts.positives], dim=-1).to(torch.float64)
    weights = _weights_from_counts(
        stacked,
        scheme=scheme,
        beta=beta,
        normalize=normalize,
        max_weight=max_weight,
        zero_count=zero_count,
        owner=owner,
        name="targets",
        must="have samples of both classes for every label",
        entries="(label, class) pairs",
    ).T.contiguous()
    if vector:
        weights = weights.reshape(2)
    return _in_dtype(weights, dtype, owner)


def sample_weight(
    labels: object, class_weight: object, *, ignore_index: int | None = None
) -> torch.Tensor:
    """Per-sample weights: the weight of each sample's class, ``class_weight[labels]``.

    Args:
        labels: integer class indices of any shape.
        class_weight: per-class weights of shape ``(C,)``.
        ignore_index: a label value that gets weight 0.

    Returns:
        A tensor shaped like ``labels``, with the dtype of ``class_weight`` when it is a
        floating tensor, else ``torch.get_default_dtype()``.

    Raises:
        DataError: labels that are not integers, or outside ``[0, C)`` (other than
            ``ignore_index``).
        InvalidParameterError: a bad ``class_weight`` or ``ignore_index``.

    Example:
        >>> sample_weight([0, 1, 1], [0.5, 2.0])
        tensor([0.5000, 2.0000, 2.0000])
    """
    owner = "sample_weight"
    if ignore_index is not None:
        ignore_index = check_int(ignore_index, name="ignore_index", owner=owner)
    weights = check_weight(class_weight, name="class_weight", owner=owner)
    tensor = check_integer_labels(
        as_label_tensor(labels, name="labels", owner=owner), name="labels", owner=owner
    )
    check_not_one_hot(tensor, name="labels", owner=owner)
    tensor = tensor.long()
    keep = torch.ones_like(tensor, dtype=torch.bool)
    if ignore_index is not None:
        keep = tensor != ignore_index
    valid = tensor[keep]
    if valid.numel():
        check_class_indices(
            valid,
            num_classes=weights.numel(),
            ignore_index=ignore_index,
            name="labels",
            owner=owner,
            bound=f" to index class_weight of length {weights.numel()}",
        )
    safe = torch.where(keep, tensor, torch.zeros_like(tensor))
    out = weights.to(tensor.device)[safe]
    return torch.where(keep, out, torch.zeros_like(out))
