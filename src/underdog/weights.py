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

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from ._validation import (
    INT64_MAX,
    INT64_MIN,
    check_counts,
    check_int,
    check_no_empty,
    check_option,
    check_real,
    check_vector,
    check_weight,
    describe,
    listed,
    message,
)
from .counts import MultilabelCounts, count_multilabel
from .exceptions import DataError, InvalidParameterError
from .labels import (
    as_label_tensor,
    check_class_indices,
    check_classes,
    check_integer_labels,
    check_not_one_hot,
    encode_labels,
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


def _check_total(counts: torch.Tensor, *, name: str, owner: str) -> None:
    """Every row of ``counts`` ``(..., C)`` has a positive total (DataError)."""
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
    _check_total(counts, name=name, owner=owner)
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
    scheme: str | Mapping[Any, float] = "balanced",
    beta: float | None = None,
    normalize: str | None = None,
    max_weight: float | None = None,
    zero_count: str = "raise",
    classes: object = None,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Per-class weights from class counts.

    The weight of class ``c`` for each ``scheme`` is given in the module docstring; for
    example ``"balanced"`` is ``N / (C * n_c)``, identical to scikit-learn's
    ``compute_class_weight("balanced")``, so that ``sum_c n_c * w_c = N``.

    Labels of any type, as in scikit-learn: ``counts`` may be a mapping ``{label: count}``
    (such as ``collections.Counter(y)``), ``scheme`` a mapping ``{label: weight}``
    (scikit-learn's ``class_weight`` dict), and ``classes`` says which label each entry of
    the result is for. ``class_weight(Counter(y), scheme=s, classes=c)`` equals
    ``compute_class_weight(s, classes=c, y=y)`` for ``s`` ``"balanced"`` or a dict.

    Args:
        counts: per-class counts of shape ``(C,)``, as returned by :func:`class_counts`, or
            a mapping ``{label: count}`` (labels of any type; classes missing from it count
            0).
        scheme: one of ``"balanced"``, ``"inverse"``, ``"inverse_sqrt"``, ``"effective"``,
            ``"median"``, ``"uniform"``; or a mapping ``{label: weight}`` of explicit
            weights: each class gets its weight, 1 when it is not in the mapping (as in
            scikit-learn); a key that is not a class raises. ``zero_count`` does not apply
            to explicit weights; ``normalize`` and ``max_weight`` do.
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
        classes: the class labels, in the order of the result (scikit-learn's
            ``classes``, an estimator's ``classes_``). By default the sorted keys of a
            mapping ``counts``, else ``0, ..., C-1``. With a ``(C,)`` vector of counts it
            names their entries (``C`` labels), so that a mapping ``scheme`` can use them.
        dtype: floating dtype of the result; defaults to ``torch.get_default_dtype()``.
            Weights are computed in float64 either way.

    Returns:
        A tensor of shape ``(C,)``: the weight of ``classes[c]`` at ``c``.

    Raises:
        DataError: a class with no samples under ``zero_count="raise"``, or all counts 0.
        InvalidParameterError: an unknown scheme or normalisation, a bad ``beta``, negative
            or non-finite counts, a mapping with a key that is not a class, ``classes`` of
            the wrong length, a floating ``dtype`` that cannot hold the weights.

    References:
        Y. Cui et al., "Class-Balanced Loss Based on Effective Number of Samples", CVPR 2019.
        D. Eigen and R. Fergus, "Predicting Depth, Surface Normals and Semantic Labels with a
        Common Multi-Scale Convolutional Architecture", ICCV 2015.

    Example:
        >>> class_weight([900, 100], dtype=torch.float64)
        tensor([0.5556, 5.0000], dtype=torch.float64)
        >>> class_weight([100, 800, 100], scheme="inverse")
        tensor([10.0000,  1.2500, 10.0000])
        >>> class_weight({"ok": 900, "fraud": 100}, classes=["ok", "fraud"])
        tensor([0.5556, 5.0000])
        >>> class_weight([900, 100], scheme={1: 10.0})
        tensor([ 1., 10.])
    """
    owner = "class_weight"
    counts64, labels = _counts_and_classes(counts, classes, owner)
    if not isinstance(scheme, Mapping):
        beta = _check_scheme_options(owner, scheme, beta, normalize, max_weight, zero_count)
        weights = _weights_from_counts(
            counts64,
            scheme=scheme,
            beta=beta,
            normalize=normalize,
            max_weight=max_weight,
            zero_count=zero_count,
            owner=owner,
        )
        return _in_dtype(weights, dtype, owner)
    _check_explicit_options(owner, beta, normalize, max_weight, zero_count)
    _check_total(counts64, name="counts", owner=owner)
    explicit = _explicit_weights(scheme, labels, name="scheme", owner=owner)
    weights = _capped(_normalized(explicit, counts64, normalize), max_weight)
    return _in_dtype(weights, dtype, owner)


def _counts_and_classes(
    counts: object, classes: object, owner: str
) -> tuple[torch.Tensor, list[object]]:
    """Checked float64 counts ``(C,)`` and the label of each entry.

    From a ``(C,)`` vector (labels ``0, ..., C-1`` unless ``classes`` names them) or a
    mapping ``{label: count}`` (labels: ``classes``, else the sorted keys).
    """
    if isinstance(counts, Mapping):
        if classes is None:
            try:
                labels = sorted(counts)
            except TypeError as exc:  # keys of types that do not compare
                must = "be given when the labels of counts cannot be sorted"
                raise InvalidParameterError(
                    message("classes", owner, must=must, got="None")
                ) from exc
        else:
            labels = check_classes(classes, owner=owner)
        unknown = [key for key in counts if key not in set(labels)]
        if unknown:
            must = "include every label of counts"
            got = f"{listed(labels)}, without {listed(unknown)}"
            raise InvalidParameterError(message("classes", owner, must=must, got=got))
        return check_counts([counts.get(label, 0) for label in labels], owner=owner), labels
    counts64 = check_counts(counts, owner=owner)
    if classes is None:
        return counts64, list(range(counts64.numel()))
    labels = check_classes(classes, owner=owner)
    if len(labels) != counts64.numel():
        must = f"name the {counts64.numel()} entries of counts, one label each"
        raise InvalidParameterError(
            message("classes", owner, must=must, got=f"{len(labels)} labels")
        )
    return counts64, labels


def _check_explicit_options(
    owner: str, beta: object, normalize: str | None, max_weight: float | None, zero_count: str
) -> None:
    """The options with explicit weights: no ``beta``; ``normalize`` and the cap apply."""
    if normalize is not None:
        check_option(normalize, name="normalize", owner=owner, options=(None, *NORMALIZATIONS))
    _check_zero_count_and_cap(owner, zero_count, max_weight)
    if beta is not None:
        must = "be None with explicit weights (a mapping scheme)"
        raise InvalidParameterError(message("beta", owner, must=must, got=repr(beta)))


def _explicit_weights(
    mapping: Mapping[Any, object],
    labels: list[object],
    *,
    name: str,
    owner: str,
    strict: bool = True,
) -> torch.Tensor:
    """Float64 weights ``(C,)`` of the classes ``labels`` from ``{label: weight}``.

    A class missing from the mapping gets 1 (scikit-learn's rule); a key that is not a
    class raises when ``strict`` (else it is skipped: a class absent from the labels).
    """
    position = {label: index for index, label in enumerate(labels)}
    unknown = [key for key in mapping if key not in position]
    if unknown and strict:
        must = f"map classes ({listed(labels)}) to weights"
        got = f"the keys {listed(unknown)}, which are not classes,"
        raise InvalidParameterError(message(name, owner, must=must, got=got))
    known = [key for key in mapping if key in position]
    values = check_vector([mapping[key] for key in known], name=name, owner=owner)
    weights = torch.ones(len(labels), dtype=torch.float64)
    weights[[position[key] for key in known]] = values.to(torch.float64)
    return weights


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
    labels: object,
    class_weight: object,
    *,
    classes: object = None,
    ignore_index: int | None = None,
) -> torch.Tensor:
    """Per-sample weights: the weight of each sample's class, ``class_weight[labels]``.

    As scikit-learn's ``compute_sample_weight(class_weight, y)``, ``class_weight`` may be
    ``"balanced"`` or a mapping ``{label: weight}``, and the labels then of any type
    (strings, ...); with a ``(C,)`` vector the labels are class indices, or labels of any
    type listed by ``classes``.

    Args:
        labels: the labels, of any shape: class indices ``0, ..., C-1``; with a mapping,
            ``"balanced"`` or ``classes``, labels of any type.
        class_weight: per-class weights of shape ``(C,)``; a mapping ``{label: weight}``
            (labels not in it get 1, keys that are no label are skipped, as in
            scikit-learn); or ``"balanced"``: ``N / (C * n_c)`` over the ``C`` classes
            present in ``labels`` (``ignore_index`` not counted).
        classes: the class labels in the order of a vector ``class_weight`` (or, with a
            mapping, the only labels allowed); every label must be one of them.
        ignore_index: a label value that gets weight 0.

    Returns:
        A tensor shaped like ``labels``, with the dtype of ``class_weight`` when it is a
        floating tensor, else ``torch.get_default_dtype()``.

    Raises:
        DataError: labels that are not integers (without a mapping, ``"balanced"`` or
            ``classes``), outside ``[0, C)`` or not among ``classes`` (other than
            ``ignore_index``), one-hot rows.
        InvalidParameterError: a bad ``class_weight``, ``classes`` or ``ignore_index``.

    Example:
        >>> sample_weight([0, 1, 1], [0.5, 2.0])
        tensor([0.5000, 2.0000, 2.0000])
        >>> sample_weight(["a", "b", "b", "b"], "balanced")
        tensor([2.0000, 0.6667, 0.6667, 0.6667])
        >>> sample_weight(["ok", "fraud", "ok"], {"fraud": 9.0})
        tensor([1., 9., 1.])
    """
    owner = "sample_weight"
    if ignore_index is not None:
        ignore_index = check_int(
            ignore_index, name="ignore_index", owner=owner, low=INT64_MIN, high=INT64_MAX
        )
    if isinstance(class_weight, (str, Mapping)) or classes is not None:
        return _weights_by_label(labels, class_weight, classes, ignore_index, owner)
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


def _weights_by_label(
    labels: object,
    class_weight: object,
    classes: object,
    ignore_index: int | None,
    owner: str,
) -> torch.Tensor:
    """:func:`sample_weight` for labels of any type: ``"balanced"``, a mapping or ``classes``."""
    if isinstance(class_weight, str):
        check_option(class_weight, name="class_weight", owner=owner, options=("balanced",))
    listed_classes = None if classes is None else check_classes(classes, owner=owner)
    codes, found, keep = encode_labels(
        labels, listed_classes, ignore_index=ignore_index, name="labels", owner=owner
    )
    dtype = torch.get_default_dtype()
    if isinstance(class_weight, str):  # "balanced", over the classes present
        counts = torch.from_numpy(np.bincount(codes[keep], minlength=len(found))).double()
        present = counts > 0
        weights = torch.where(present, counts.sum() / (present.sum() * counts), 0.0)
    elif isinstance(class_weight, Mapping):
        strict = listed_classes is not None
        weights = _explicit_weights(
            class_weight, found, name="class_weight", owner=owner, strict=strict
        )
    else:  # a vector whose entries classes names
        weights = check_weight(class_weight, name="class_weight", owner=owner, length=len(found))
        dtype = weights.dtype
    out = weights.to(dtype)[torch.from_numpy(codes)]
    return torch.where(torch.from_numpy(keep), out, torch.zeros_like(out))
