"""The library half of the fuzz suite: bad tensors and parameters for every public entry point.

Hypothesis generates labels, counts, weights, logits, targets and parameters, valid and not,
for the counts, weights, samplers and losses (functions and Modules), and checks the
contract (issue 14) on every example:

- a typed, one-line error: an ``UnderdogError`` whose message has the library's grammar; or
- a correct answer: equal to a reference where one exists (numpy's ``bincount``,
  scikit-learn, PyTorch's losses, the reduction identities), finite for finite input;

never a raw ``IndexError`` / ``RuntimeError`` / ``TypeError`` (any other exception fails the
test with its traceback) and never a silently wrong result: where the reference says the
input breaks a documented rule, the library must have raised.

Deterministic (``derandomize=True``, a fixed ``max_examples`` per test): it runs with the
normal test command in a few seconds. ``UNDERDOG_FUZZ_REPORT=1`` prints the cases tried by
category and outcome.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import underdog as ud
from underdog import UnderdogError

T = TypeVar("T")

#: The one grammar of every message (tests/test_errors.py).
GRAMMAR = re.compile(r"^The '\w+' parameter of [\w.]+ must [^\n]*\. Got [^\n]* instead\.$")
#: Cases tried, by (category, outcome).
TALLY: Counter[tuple[str, str]] = Counter()
#: A label that makes the counts refuse to infer their length (2**24).
INFERRED_LIMIT = 1 << 24


def fuzz(examples: int) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Hypothesis settings of the suite: derandomized, ``examples`` cases, no deadline."""
    return settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


@pytest.fixture(scope="module", autouse=True)
def _report(request: pytest.FixtureRequest):
    yield
    if os.environ.get("UNDERDOG_FUZZ_REPORT"):
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        capture = request.config.pluginmanager.get_plugin("capturemanager")
        with capture.global_and_fixture_disabled():
            for category in sorted({category for category, _ in TALLY}):
                answers, errors = TALLY[category, "answer"], TALLY[category, "typed error"]
                reporter.write_line(
                    f"fuzz {category}: {answers + errors} cases, {answers} answers, "
                    f"{errors} typed errors"
                )


def attempt(category: str, call: Callable[[], T]) -> T | None:
    """``call()``; None when it raised a typed one-line error in the grammar.

    Any other exception propagates: the contract is broken, and the test fails with it.
    """
    try:
        result = call()
    except UnderdogError as error:
        text = str(error)
        assert GRAMMAR.match(text), f"{type(error).__name__} not in the grammar: {text!r}"
        TALLY[category, "typed error"] += 1
        return None
    TALLY[category, "answer"] += 1
    return result


def expect(category: str, call: Callable[[], T], reference: Any) -> T | None:
    """:func:`attempt`, and the answer equals ``reference`` (None: the input is invalid).

    An answer for input that the reference (the documented rules) says is invalid is a
    silently wrong result.
    """
    result = attempt(category, call)
    if result is not None:
        assert reference is not None, f"accepted invalid input, returned {result!r}"
        assert _equal(result, reference), f"{result!r} != reference {reference!r}"
    return result


def _equal(result: Any, reference: Any) -> bool:
    if isinstance(result, tuple):
        return all(_equal(a, b) for a, b in zip(result, reference, strict=True))
    if isinstance(result, torch.Tensor):
        expected = torch.as_tensor(np.asarray(reference), dtype=torch.float64)
        got = result.detach().double().cpu()
        return got.shape == expected.shape and torch.allclose(got, expected, rtol=1e-5, atol=1e-6)
    return bool(result == reference)


#: Any value where a parameter belongs: valid ones and every kind of wrong one.
ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 12),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "mean", "x", "balanced", "SUM"]),
    st.just([1, 2]),
    st.just(np.int64(3)),
    st.just(torch.tensor(2)),
    st.just(object()),
)


def mostly(usual: st.SearchStrategy[Any], rare: st.SearchStrategy[Any], odds: int = 3):
    """``usual`` ``odds`` times as often as ``rare``."""
    return st.integers(0, odds).flatmap(lambda pick: rare if pick == 1 else usual)


def is_int(value: object) -> bool:
    """What ``check_int`` accepts: an integral number that is not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


# ----------------------------------------------------------------------------- label containers

DTYPES = ["int64", "int32", "int16", "int8", "uint8", "uint16", "uint32", "uint64", "bool",
          "float32", "float64", "complex64", "object", "str", "datetime64[D]"]  # fmt: skip
INTEGER_KINDS = "iub"


SPECIAL_LABELS = [-1, -100, 255, INFERRED_LIMIT, 2**40, 2**63 - 1, 2**63 + 5]


@st.composite
def label_arrays(
    draw: st.DrawFn, *, low: int = 0, high: int = 12, matrix: bool = True
) -> np.ndarray:
    """A numpy array of labels: any dtype, 1-D or 2-D, small or absurd values."""
    value = mostly(st.integers(low, high), st.sampled_from(SPECIAL_LABELS), odds=12)
    values = draw(st.lists(value, max_size=24))
    dtype = draw(mostly(st.just("int64"), st.sampled_from(DTYPES), odds=2))
    wide = np.array(values, dtype=object)
    if dtype in ("object", "str"):
        array = wide.astype(dtype)
    elif dtype == "datetime64[D]":
        array = np.array([v % 10_000 for v in values], dtype="int64").astype(dtype)
    else:  # wrap around as a cast to the dtype does
        with np.errstate(over="ignore", invalid="ignore"):
            array = np.array([_wrap(v, dtype) for v in values], dtype=dtype)
    if array.size and array.size % 2 == 0 and draw(st.integers(0, 3 if matrix else 9)) == 1:
        array = array.reshape(-1, 2)
    one_hot = draw(st.integers(0, 5 if matrix else 15)) == 1
    if one_hot and array.ndim == 1 and array.size and dtype in ("int64", "uint8"):
        array = np.eye(3, dtype=dtype)[np.clip(array.astype(np.int64), 0, 2)]  # one-hot rows
    return array


def _wrap(value: int, dtype: str) -> object:
    if dtype in ("float32", "float64", "complex64"):
        return float(value)
    if dtype == "bool":
        return bool(value % 2)
    bits = np.iinfo(dtype).bits
    value %= 2**bits
    return value - 2**bits if np.iinfo(dtype).min < 0 and value >= 2 ** (bits - 1) else value


@st.composite
def label_containers(draw: st.DrawFn, array: np.ndarray) -> tuple[object, list[np.ndarray]]:
    """``(source, parts)``: the labels as a list, numpy array, tensor (dense, sparse, meta),
    Series or a stream of batches, and the arrays it holds (one per batch of a stream)."""
    kind = draw(
        mostly(st.sampled_from(["numpy", "list", "torch", "iter"]),
               st.sampled_from(["sparse", "meta", "series"]))
    )  # fmt: skip
    if kind == "list":  # numpy reads it again: object arrays of ints become int64
        return array.tolist(), [np.asarray(array.tolist())]
    if kind == "series" and array.ndim == 1:
        import pandas as pd

        return pd.Series(array), [array]
    if kind in ("torch", "sparse", "meta", "iter") and array.dtype.kind in "iubfc":
        tensor = torch.from_numpy(array.copy())
        if kind == "sparse" and tensor.ndim >= 1 and array.dtype.kind in "ibf":
            return tensor.to_sparse(), [array]
        if kind == "meta":
            return tensor.to("meta"), [array]
        if kind == "iter" and tensor.ndim >= 1:  # a stream of batches of up to 3 rows
            parts = list(torch.split(tensor, 3))
            return iter(parts), [part.numpy() for part in parts]
        return tensor, [array]
    return array, [array]


def _readable(source: object) -> bool:
    if isinstance(source, torch.Tensor):
        return source.layout == torch.strided and not source.is_meta
    return True


def _one_hot(array: np.ndarray) -> bool:
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] < 2:
        return False
    values = array.astype(np.int64)
    return bool(((values == 0) | (values == 1)).all() and (values.sum(1) == 1).all())


# ----------------------------------------------------------------------------- counts


def reference_class_counts(
    source: object, parts: list[np.ndarray], num_classes: object, ignore_index: object
) -> np.ndarray | None:
    """``np.bincount`` of the labels, or None where class_counts must raise."""
    if not (num_classes is None or (is_int(num_classes) and 1 <= num_classes <= 2**28)):
        return None
    if not (ignore_index is None or is_int(ignore_index)):
        return None
    if not _readable(source) or any(part.dtype.kind not in INTEGER_KINDS for part in parts):
        return None
    if any(_one_hot(part) for part in parts):
        return None
    values = [int(v) for part in parts for v in part.ravel().tolist()]
    if values and max(values) > 2**63 - 1:  # uint64 beyond int64
        return None
    if ignore_index is not None:
        values = [v for v in values if v != ignore_index]
    bound = INFERRED_LIMIT if num_classes is None else num_classes
    if not values or min(values) < 0 or max(values) >= bound:
        return None
    return np.bincount(values, minlength=num_classes or 0)


@fuzz(200)
@given(st.data())
def test_class_counts(data: st.DataObject) -> None:
    array = data.draw(label_arrays())
    source, parts = data.draw(label_containers(array))
    num_classes = data.draw(mostly(st.none() | st.integers(1, 14), ANY))
    ignore_index = data.draw(mostly(st.none() | st.sampled_from([-100, 255, 0]), ANY))
    reference = reference_class_counts(source, parts, num_classes, ignore_index)
    expect(
        "counts",
        lambda: ud.class_counts(source, num_classes=num_classes, ignore_index=ignore_index),
        reference,
    )


def reference_multilabel(array: np.ndarray, source: object, ignore_index: object) -> Any:
    """``(positives, negatives, rows)`` of 0/1 targets, or None where it must raise."""
    if not _readable(source) or array.dtype.kind not in "iubf" or array.size == 0:
        return None
    if not (ignore_index is None or (is_int(ignore_index) and ignore_index not in (0, 1))):
        return None
    matrix = array.astype(np.float64).reshape(array.shape[0], -1) if array.ndim > 1 else (
        array.astype(np.float64).reshape(-1, 1))  # fmt: skip
    known = matrix != ignore_index if ignore_index is not None else np.ones_like(matrix, bool)
    if not np.isin(matrix[known], (0.0, 1.0)).all():
        return None
    positives = ((matrix == 1) & known).sum(0)
    negatives = ((matrix == 0) & known).sum(0)
    return positives, negatives, matrix.shape[0]


@fuzz(100)
@given(st.data())
def test_multilabel_counts(data: st.DataObject) -> None:
    array = data.draw(label_arrays(low=0, high=1))
    source, parts = data.draw(label_containers(array))
    if hasattr(source, "__next__"):  # a stream: batches of rows, the same counts
        source = array
    array = parts[0] if len(parts) == 1 else array
    ignore_index = data.draw(mostly(st.none() | st.sampled_from([-1, 2]), ANY))
    reference = reference_multilabel(array, source, ignore_index)
    result = attempt("counts", lambda: ud.multilabel_counts(source, ignore_index=ignore_index))
    if result is not None:
        assert reference is not None, f"accepted invalid targets: {result}"
        positives, negatives, rows = reference
        assert result.positives.tolist() == positives.tolist()
        assert result.negatives.tolist() == negatives.tolist()
        assert result.num_samples == rows


# ----------------------------------------------------------------------------- weights

SCHEMES = ["balanced", "inverse", "inverse_sqrt", "effective", "median", "uniform"]
FLOAT_DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16]


def _real(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def _scheme_weights(n: np.ndarray, scheme: str, beta: float | None) -> np.ndarray:
    """The raw weights of a scheme; classes without samples get placeholder values."""
    present = n > 0
    total, classes, safe = n.sum(), len(n), np.where(present, n, 1.0)
    if scheme == "balanced":
        return total / (classes * safe)
    if scheme == "inverse":
        return total / safe
    if scheme == "inverse_sqrt":
        return np.sqrt(total / safe)
    if scheme == "effective":
        assert beta is not None
        return (1 - beta) / -np.expm1(safe * np.log(beta)) if beta > 0 else np.ones_like(n)
    if scheme == "median":
        return np.median(n[present]) / safe
    return np.ones_like(n)


def reference_class_weight(counts: object, kwargs: dict[str, Any]) -> np.ndarray | None:
    """The weights by the documented formulas (float64 numpy), or None where it must raise."""
    scheme, beta = kwargs["scheme"], kwargs["beta"]
    normalize, max_weight = kwargs["normalize"], kwargs["max_weight"]
    zero_count, dtype = kwargs["zero_count"], kwargs["dtype"]
    if scheme not in SCHEMES or not isinstance(scheme, str):
        return None
    if (scheme == "effective") != (beta is not None):
        return None
    if beta is not None and not (_real(beta) and 0 <= beta < 1):
        return None
    if not (
        normalize is None
        or (isinstance(normalize, str) and normalize in ("mean", "samples", "max"))
    ):
        return None
    if not (max_weight is None or (_real(max_weight) and 0 < max_weight < math.inf)):
        return None
    if not (isinstance(zero_count, str) and zero_count in ("raise", "zero", "max")):
        return None
    if not (dtype is None or (isinstance(dtype, torch.dtype) and dtype.is_floating_point)):
        return None
    if isinstance(counts, torch.Tensor) and (counts.is_meta or counts.layout != torch.strided):
        return None
    try:
        n = np.asarray(counts.tolist() if isinstance(counts, torch.Tensor) else counts)
    except ValueError:
        return None
    if n.ndim != 1 or n.size == 0 or n.dtype.kind not in "iuf":
        return None
    n = n.astype(np.float64)
    if not np.isfinite(n).all() or (n < 0).any() or n.sum() <= 0:
        return None
    present = n > 0
    if zero_count == "raise" and not present.all():
        return None
    w = _scheme_weights(n, scheme, beta)
    w = np.where(present, w, 0.0 if zero_count != "max" else w[present].max())
    if normalize == "mean":
        w = w / w.mean()
    elif normalize == "samples":
        w = w * n.sum() / (w * n).sum()
    elif normalize == "max":
        w = w / w.max()
    if max_weight is not None:
        w = np.minimum(w, max_weight)
    out = torch.tensor(w).to(dtype or torch.get_default_dtype())
    if not torch.isfinite(out).all() or ((out == 0) & torch.tensor(w > 0)).any():
        return None  # a dtype that cannot hold the weights
    return out.double().numpy()


COUNT_VECTORS = mostly(
    st.lists(mostly(st.integers(1, 1000), st.just(0), odds=6), min_size=1, max_size=6),
    st.sampled_from(
        [[], [0, 0], [-1, 3], [float("nan"), 2], [float("inf"), 1], [[1, 2]], [2.5, 0.5],
         ["a", "b"], [True, False], [10**9, 1], [1, 10**9]]
    )
    | st.just(torch.ones(2, device="meta"))
    | st.just(torch.tensor([3, 1]).to_sparse()),
)  # fmt: skip


@fuzz(150)
@given(st.data())
def test_class_weight(data: st.DataObject) -> None:
    counts = data.draw(COUNT_VECTORS)
    scheme = data.draw(mostly(st.sampled_from(SCHEMES), ANY))
    beta = data.draw(
        mostly(st.floats(0.0, 0.9999) if scheme == "effective" else st.none(), ANY, odds=5)
    )
    kwargs = {
        "scheme": scheme,
        "beta": beta,
        "normalize": data.draw(mostly(st.sampled_from([None, "mean", "samples", "max"]), ANY)),
        "max_weight": data.draw(mostly(st.none() | st.floats(0.01, 100.0), ANY)),
        "zero_count": data.draw(mostly(st.sampled_from(["raise", "zero", "max"]), ANY)),
        "dtype": data.draw(
            mostly(st.none() | st.sampled_from(FLOAT_DTYPES),
                   st.sampled_from([torch.int64, torch.bool, torch.complex64, "float32"]))
        ),
    }  # fmt: skip
    reference = reference_class_weight(counts, kwargs)
    expect("weights", lambda: ud.class_weight(counts, **kwargs), reference)


@fuzz(80)
@given(st.data())
def test_class_weight_dicts_and_label_types_match_sklearn(data: st.DataObject) -> None:
    from sklearn.utils.class_weight import compute_class_weight

    names = ["ok", "fraud", "chargeback", "other"]
    y = np.array(data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=30)))
    classes = np.unique(y)
    scheme = data.draw(
        mostly(
            st.just("balanced")
            | st.dictionaries(st.sampled_from(list(classes)), st.floats(0.0, 20.0)),
            st.dictionaries(st.sampled_from(names + [3]), ANY, max_size=2) | ANY,
        )
    )
    counter = Counter(y.tolist())
    try:
        expected = compute_class_weight(scheme, classes=classes, y=y)
        valid = isinstance(scheme, (str, dict)) and (
            isinstance(scheme, str) or set(scheme) <= set(classes.tolist())
        )
    except Exception:  # scikit-learn refuses it too
        expected, valid = None, False
    reference = expected if valid else None
    expect(
        "weights",
        lambda: ud.class_weight(counter, scheme=scheme, classes=classes, dtype=torch.float64),
        reference,
    )


@fuzz(100)
@given(st.data())
def test_pos_weight_and_binary_class_weight(data: st.DataObject) -> None:
    array = data.draw(label_arrays(low=0, high=1))
    source, parts = data.draw(label_containers(array))
    if hasattr(source, "__next__"):
        source, parts = array, [array]
    ignore_index = data.draw(mostly(st.none() | st.just(-1), ANY))
    max_weight = data.draw(mostly(st.none() | st.floats(0.5, 10.0), ANY))
    zero_count = data.draw(mostly(st.sampled_from(["raise", "zero", "max"]), ANY))
    counts = reference_multilabel(parts[0], source, ignore_index)
    reference = None
    if counts is not None and (max_weight is None or (_real(max_weight) and max_weight > 0)):
        if isinstance(zero_count, str) and zero_count in ("raise", "zero", "max"):
            pos, neg, _ = (np.asarray(c, dtype=np.float64) for c in counts)
            if pos.size and (zero_count != "raise" or (pos > 0).all()):
                w = np.where(pos > 0, neg / np.where(pos > 0, pos, 1), 0.0)
                if zero_count == "max":
                    w = np.where(pos > 0, w, w[pos > 0].max() if (pos > 0).any() else 0.0)
                reference = w if max_weight is None else np.minimum(w, max_weight)
    options = {"ignore_index": ignore_index, "max_weight": max_weight, "zero_count": zero_count}
    expect("weights", lambda: ud.pos_weight(source, **options), reference)
    attempt("weights", lambda: ud.binary_class_weight(source, **options))


@fuzz(120)
@given(st.data())
def test_sample_weight(data: st.DataObject) -> None:
    array = data.draw(label_arrays())
    source, parts = data.draw(label_containers(array))
    if hasattr(source, "__next__"):
        source, parts = array, [array]
    class_weight = data.draw(
        mostly(
            st.lists(st.floats(0.0, 10.0), min_size=1, max_size=14),
            st.just("balanced") | st.dictionaries(st.integers(0, 12), st.floats(0.0, 5.0)) | ANY,
        )
    )
    ignore_index = data.draw(mostly(st.none() | st.just(-100), ANY))
    reference = None
    labels = parts[0]
    if (
        isinstance(class_weight, list)
        and _readable(source)
        and labels.dtype.kind in INTEGER_KINDS
        and not _one_hot(labels)
        and (ignore_index is None or is_int(ignore_index))
    ):
        values = labels.astype(object)
        keep = values != ignore_index if ignore_index is not None else np.ones(values.shape, bool)
        if all(0 <= int(v) < len(class_weight) for v in values[keep].ravel()):
            table = np.asarray(class_weight, dtype=np.float64)
            reference = np.where(keep, table[np.where(keep, values, 0).astype(np.int64)], 0.0)
            reference = reference.reshape(labels.shape)
    result = attempt("weights", lambda: ud.sample_weight(source, class_weight,
                                                         ignore_index=ignore_index))  # fmt: skip
    if result is not None and isinstance(class_weight, list):
        assert reference is not None, f"accepted invalid input: {result}"
        assert _equal(result, reference)
    elif result is not None:
        assert torch.isfinite(result).all() and (result >= 0).all()


# ----------------------------------------------------------------------------- samplers


@fuzz(100)
@given(st.data())
def test_class_balanced_sampler(data: st.DataObject) -> None:
    array = data.draw(label_arrays(high=5, matrix=False))
    source, parts = data.draw(label_containers(array))
    if hasattr(source, "__next__"):
        source, parts = array, [array]
    option = data.draw(st.sampled_from(["none", "power", "class_probabilities", "class_weight"]))
    kwargs: dict[str, Any] = {}
    if option == "power":
        kwargs["power"] = data.draw(mostly(st.floats(0.0, 2.0), ANY))
    elif option != "none":
        kwargs[option] = data.draw(
            mostly(st.lists(st.floats(0.0, 3.0), min_size=1, max_size=8), ANY)
        )
    replicas = data.draw(mostly(st.integers(1, 4), ANY, odds=6))
    rank = data.draw(mostly(st.integers(0, replicas - 1) if is_int(replicas) and replicas >= 1
                            else st.just(0), ANY, odds=6))  # fmt: skip
    num_samples = data.draw(mostly(st.none() | st.integers(1, 50), ANY, odds=6))
    sampler = attempt(
        "samplers",
        lambda: ud.DistributedClassBalancedSampler(
            source, num_samples=num_samples, num_replicas=replicas, rank=rank, seed=3, **kwargs
        ),
    )
    if sampler is None:
        return
    labels = np.concatenate([part.ravel() for part in parts]).astype(np.int64)
    drawn = list(sampler)
    assert len(drawn) == len(sampler) == -(-sampler.num_samples // replicas)
    assert all(0 <= index < len(labels) for index in drawn)
    q = sampler.class_probabilities
    assert all(q[labels[index]] > 0 for index in drawn)  # only classes it may draw


# ----------------------------------------------------------------------------- losses

REDUCTIONS = ["mean", "sum", "none"]


def _vector(size: int, *, low: float = 0.0, high: float = 5.0) -> st.SearchStrategy[Any]:
    """A valid per-class vector of ``size``, or a broken one (shape, sign, NaN, device)."""
    good = st.lists(st.floats(low, high), min_size=size, max_size=size).map(torch.tensor)
    bad = st.sampled_from(
        [
            torch.ones(size + 1),
            torch.full((size,), -1.0),
            torch.full((size,), float("nan")),
            torch.full((size,), float("inf")),
            torch.ones(size, device="meta"),
            torch.ones(size, dtype=torch.int64),
            torch.ones(1, size),
        ]
    )
    return mostly(good, bad)


@st.composite
def logits(draw: st.DrawFn, shape: tuple[int, ...]) -> torch.Tensor:
    """Logits of ``shape``: mostly moderate float32, else extreme, non-finite, odd dtypes."""
    values = torch.randn(shape, generator=torch.Generator().manual_seed(draw(st.integers(0, 9))))
    scale = draw(mostly(st.just(3.0), st.sampled_from([1e4, 1e30, float("nan"), float("inf")])))
    x = values * scale
    dtype = draw(mostly(st.just(torch.float32), st.sampled_from(
        [torch.float64, torch.float16, torch.bfloat16, torch.int64, torch.bool])))  # fmt: skip
    x = x.to(dtype)
    layout = draw(mostly(st.just("dense"), st.sampled_from(["sparse", "meta", "1-D"]), odds=8))
    if layout == "sparse" and x.ndim:
        return x.to_sparse()
    if layout == "meta":
        return x.to("meta")
    return x.reshape(-1) if layout == "1-D" else x


@st.composite
def class_targets(draw: st.DrawFn, n: int, c: int, dense: tuple[int, ...]) -> torch.Tensor:
    """Class indices ``(N, *)`` with some -100, or broken ones (range, dtype, shape, device)."""
    values = draw(st.lists(mostly(st.integers(0, c - 1), st.sampled_from([-100, -1, c]), odds=8),
                           min_size=n * math.prod(dense), max_size=n * math.prod(dense)))  # fmt: skip
    t = torch.tensor(values, dtype=torch.int64).reshape((n, *dense))
    kind = draw(mostly(st.just("ok"), st.sampled_from(
        ["float", "int32", "uint8", "bool", "shape", "meta", "sparse", "probabilities"])))  # fmt: skip
    if kind == "float":
        return t.float()
    if kind in ("int32", "uint8", "bool"):
        return t.clamp(min=0).to(getattr(torch, kind))
    if kind == "shape":
        return t.reshape(-1)[: max(0, t.numel() - 1)]
    if kind == "meta":
        return t.to("meta")
    if kind == "sparse" and t.ndim:
        return t.to_sparse()
    if kind == "probabilities":
        return torch.softmax(torch.randn((n, c, *dense)), 1)
    return t


@st.composite
def binary_targets(draw: st.DrawFn, shape: tuple[int, ...]) -> torch.Tensor:
    """0/1 targets of ``shape`` with some -1 (ignored), or soft, integer, misshapen ones."""
    size = math.prod(shape)
    values = draw(st.lists(mostly(st.sampled_from([0.0, 1.0]), st.sampled_from([-1.0, 0.3])),
                           min_size=size, max_size=size))  # fmt: skip
    t = torch.tensor(values).reshape(shape)
    kind = draw(mostly(st.just("ok"), st.sampled_from(["int", "shape", "meta", "double"])))
    if kind == "int":
        return t.long()
    if kind == "shape":
        return t.reshape(-1, 1) if t.ndim == 1 else t.reshape(-1)
    if kind == "meta":
        return t.to("meta")
    return t.double() if kind == "double" else t


COUNTS_STRATEGY = {
    c: mostly(st.lists(st.integers(1, 500), min_size=c, max_size=c),
              st.sampled_from([[], [0] * c, [-1] * c, [1] * (c + 1), [float("nan")] * c]))
    for c in range(1, 5)
}  # fmt: skip


def _loss_options(draw: st.DrawFn, name: str, c: int) -> dict[str, Any]:
    """The options of the loss ``name`` beyond the shared ones: valid, or any value."""
    gamma = mostly(st.sampled_from([0.0, 0.5, 1.0, 2.0, 1e-46]), ANY)
    real = mostly(st.floats(-3.0, 3.0), ANY)
    choices: dict[str, dict[str, st.SearchStrategy[Any]]] = {
        "cross_entropy": {"weight": st.none() | _vector(c)},
        "focal_cross_entropy": {"gamma": gamma, "weight": st.none() | _vector(c)},
        "class_balanced_loss": {"counts": COUNTS_STRATEGY[c], "gamma": gamma,
                                "beta": mostly(st.floats(0.0, 0.9999), ANY),
                                "base": mostly(st.sampled_from(["softmax", "sigmoid"]), ANY)},
        "ldam_cross_entropy": {"counts": COUNTS_STRATEGY[c], "weight": st.none() | _vector(c),
                               "max_margin": mostly(st.floats(0.0, 1.0), ANY),
                               "scale": mostly(st.floats(0.5, 30.0), ANY)},
        "logit_adjusted_cross_entropy": {"counts": COUNTS_STRATEGY[c], "tau": real,
                                         "weight": st.none() | _vector(c)},
        "balanced_softmax_cross_entropy": {"counts": COUNTS_STRATEGY[c],
                                           "weight": st.none() | _vector(c)},
        "binary_cross_entropy_with_logits": {
            "pos_weight": st.none() | _vector(c), "class_weight": st.none() | _vector(2)},
        "sigmoid_focal_with_logits": {
            "gamma": gamma, "pos_weight": st.none() | _vector(c),
            "alpha": mostly(st.none() | st.floats(0.0, 1.0), ANY)},
        "asymmetric_loss_with_logits": {
            "gamma_pos": gamma, "gamma_neg": gamma,
            "clip": mostly(st.sampled_from([0.0, 0.05, 0.5]), ANY)},
    }  # fmt: skip
    options = {key: draw(strategy) for key, strategy in choices[name].items()}
    smoothing = name not in (
        "focal_cross_entropy",
        "class_balanced_loss",
        "asymmetric_loss_with_logits",
    )
    if smoothing:
        options["label_smoothing"] = draw(mostly(st.sampled_from([0.0, 0.1]), ANY))
    if name == "binary_cross_entropy_with_logits" and options["class_weight"] is not None:
        options["pos_weight"] = draw(mostly(st.none(), st.just(options["pos_weight"])))
    return options


BINARY = {"binary_cross_entropy_with_logits", "sigmoid_focal_with_logits",
          "asymmetric_loss_with_logits"}  # fmt: skip
LOSSES = {
    "cross_entropy": (ud.cross_entropy, ud.CrossEntropyLoss),
    "focal_cross_entropy": (ud.focal_cross_entropy, ud.FocalCrossEntropyLoss),
    "class_balanced_loss": (ud.class_balanced_loss, ud.ClassBalancedLoss),
    "ldam_cross_entropy": (ud.ldam_cross_entropy, ud.LDAMLoss),
    "logit_adjusted_cross_entropy": (ud.logit_adjusted_cross_entropy, ud.LogitAdjustedLoss),
    "balanced_softmax_cross_entropy": (ud.balanced_softmax_cross_entropy, ud.BalancedSoftmaxLoss),
    "binary_cross_entropy_with_logits": (ud.binary_cross_entropy_with_logits, ud.BCEWithLogitsLoss),
    "sigmoid_focal_with_logits": (ud.sigmoid_focal_with_logits, ud.SigmoidFocalLoss),
    "asymmetric_loss_with_logits": (ud.asymmetric_loss_with_logits, ud.AsymmetricLoss),
}  # fmt: skip


@st.composite
def loss_calls(draw: st.DrawFn, name: str) -> tuple[torch.Tensor, torch.Tensor, dict[str, Any]]:
    """``(input, target, options)`` for the loss ``name``: valid or broken in one place or more."""
    n, c = draw(st.integers(0, 4)), draw(st.integers(1, 4))
    dense = draw(mostly(st.just(()), st.just((2,))))
    x = draw(logits((n, c, *dense)))
    binary = name in BINARY
    t = draw(binary_targets((n, c, *dense)) if binary else class_targets(n, c, dense))
    options = _loss_options(draw, name, c)
    options["reduction"] = draw(mostly(st.sampled_from(REDUCTIONS), ANY))
    options["sample_weight"] = draw(mostly(st.none(), st.none() | _vector(n)))
    ignore = draw(mostly(st.none(), ANY, odds=5))
    if ignore is not None or binary:
        options["ignore_index"] = ignore if ignore is not None else -1
    return x, t, options


def _finite_inputs(x: torch.Tensor, options: dict[str, Any]) -> bool:
    tensors = [x, *(v for v in options.values() if isinstance(v, torch.Tensor))]
    return all(
        t.is_floating_point() is False or bool(torch.isfinite(t.float()).all()) for t in tensors
    )


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    a, b = a.detach().double(), b.detach().double()
    scale = 1e-4 * max(1.0, float(b.abs().max()) if b.numel() else 1.0)
    return a.shape == b.shape and bool(torch.allclose(a, b, rtol=1e-4, atol=scale, equal_nan=True))


def check_loss_answer(name: str, x: torch.Tensor, t: torch.Tensor, options: dict[str, Any],
                      value: torch.Tensor) -> None:  # fmt: skip
    """An answer is right: the Module's, consistent across reductions, finite, referenced."""
    function, module_class = LOSSES[name]
    if value.is_meta:
        return
    sample_weight = options.get("sample_weight")
    built = {k: v for k, v in options.items() if k != "sample_weight"}
    module = module_class(**built)  # what the function accepted, the Module accepts
    assert _close(module(x, t, sample_weight=sample_weight), value), "Module != function"
    if not _finite_inputs(x, options):
        return
    total = function(x, t, **{**options, "reduction": "sum"})
    each = function(x, t, **{**options, "reduction": "none"})
    mean = function(x, t, **{**options, "reduction": "mean"})
    assert torch.isfinite(total) and torch.isfinite(each).all(), f"not finite: {each}"
    assert (each >= -1e-6).all(), f"a negative loss: {each}"
    assert _close(total, each.sum()), f"sum {total} != none.sum() {each.sum()}"
    denominator = module.weight_sum(t, sample_weight=sample_weight).double()
    if float(denominator) == 0:
        assert torch.isnan(mean), "0 / 0 must be PyTorch's nan"
    else:
        assert _close(mean, total.double() / denominator), f"mean {mean} != sum / weight_sum"
    _check_reference(name, x, t, options, value)


def _check_reference(name: str, x: torch.Tensor, t: torch.Tensor, options: dict[str, Any],
                     value: torch.Tensor) -> None:  # fmt: skip
    """Where PyTorch has the same loss, the answer is PyTorch's."""
    import torch.nn.functional as F

    reduction = options["reduction"]
    plain = options.get("sample_weight") is None and x.shape[0] > 0
    if name in ("cross_entropy", "focal_cross_entropy") and plain and not t.is_floating_point():
        if name == "focal_cross_entropy" and options["gamma"] != 0.0:
            return
        weight = options.get("weight")
        want = F.cross_entropy(
            x.float(), t.long(), weight=None if weight is None else weight.float(),
            ignore_index=options.get("ignore_index", -100), reduction=reduction,
            label_smoothing=options.get("label_smoothing", 0.0),
        )  # fmt: skip
        assert _close(value, want), f"{value} != F.cross_entropy {want}"
    bce = name == "binary_cross_entropy_with_logits" and options.get("class_weight") is None
    if bce and plain and options.get("ignore_index") is None and x.ndim == 2:
        smoothing = options.get("label_smoothing", 0.0)
        pos_weight = options.get("pos_weight")
        want = F.binary_cross_entropy_with_logits(
            x.float(), t.float() * (1 - smoothing) + smoothing / 2, reduction=reduction,
            pos_weight=None if pos_weight is None else pos_weight.float(),
        )  # fmt: skip
        assert _close(value, want), f"{value} != F.binary_cross_entropy_with_logits {want}"


@pytest.mark.parametrize("name", sorted(LOSSES))
@fuzz(50)
@given(data=st.data())
def test_loss_function_and_module(name: str, data: st.DataObject) -> None:
    x, t, options = data.draw(loss_calls(name))
    function, _ = LOSSES[name]
    value = attempt("losses", lambda: function(x, t, **options))
    if value is not None:
        check_loss_answer(name, x, t, options, value)


@fuzz(120)
@given(st.data())
def test_loss_modules_built_with_any_parameters(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(LOSSES)))
    _, module_class = LOSSES[name]
    x, t, options = data.draw(loss_calls(name))
    options.pop("sample_weight")
    key = data.draw(st.sampled_from(sorted(options)))
    options[key] = data.draw(ANY)  # one parameter, any value
    module = attempt("loss modules", lambda: module_class(**options))
    if module is not None:
        value = attempt("loss modules", lambda: module(x, t))
        if value is not None and not value.is_meta and _finite_inputs(x, {}):
            assert torch.isfinite(value).all() or torch.isnan(value).all()


# ----------------------------------------------------------------------------- loss helpers


def _positive_counts(counts: object) -> np.ndarray | None:
    """Counts that the count-based losses accept (1-D, finite, all positive), else None."""
    try:
        n = np.asarray(counts, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if n.ndim != 1 or n.size == 0 or not np.isfinite(n).all() or (n <= 0).any():
        return None
    return n


@fuzz(100)
@given(st.data())
def test_count_based_helpers(data: st.DataObject) -> None:
    counts = data.draw(mostly(COUNTS_STRATEGY[3], COUNT_VECTORS))
    n = _positive_counts(counts)
    beta = data.draw(mostly(st.floats(0.0, 0.9999), ANY))
    max_margin = data.draw(mostly(st.floats(0.0, 2.0), ANY))
    valid_beta = _real(beta) and 0 <= beta < 1
    effective = None
    if n is not None and valid_beta:
        w = _scheme_weights(n, "effective", beta)
        effective = w / w.mean()
    expect("loss helpers", lambda: ud.losses.class_balanced_weight(counts, beta=beta), effective)
    margins = None
    if n is not None and _real(max_margin) and 0 <= max_margin < math.inf:
        margins = max_margin * (n.min() / n) ** 0.25
    expect("loss helpers", lambda: ud.losses.ldam_margins(counts, max_margin=max_margin), margins)
    prior = None if n is None else np.log(n / n.sum())
    expect("loss helpers", lambda: ud.losses.log_prior(counts), prior)
    start = data.draw(mostly(st.integers(0, 5), ANY))
    schedule = attempt("loss helpers", lambda: ud.DeferredReweighting(counts, start_epoch=start,
                                                                      beta=beta))  # fmt: skip
    if schedule is not None:
        assert n is not None and valid_beta and is_int(start) and start >= 0
        epoch = data.draw(mostly(st.integers(0, 8), ANY))
        weight = attempt("loss helpers", lambda: schedule.weight_for(epoch))
        if weight is not None:
            want = np.ones_like(n) if epoch < start else effective
            assert _equal(weight, want)


@fuzz(100)
@given(st.data())
def test_weight_sums_global_mean_and_minority_logit(data: st.DataObject) -> None:
    n, c = data.draw(st.integers(0, 4)), data.draw(st.integers(2, 3))
    target = data.draw(class_targets(n, c, ()))
    weight = data.draw(st.none() | _vector(c))
    sample_weight = data.draw(mostly(st.none(), _vector(n)))
    ignore_index = data.draw(mostly(st.just(-100), ANY, odds=6))
    total = attempt("loss helpers", lambda: ud.losses.cross_entropy_weight_sum(
        target, weight=weight, sample_weight=sample_weight, ignore_index=ignore_index))  # fmt: skip
    if total is not None and not target.is_floating_point() and not total.is_meta:
        keep = target != ignore_index
        safe = torch.where(keep, target.long(), 0)
        per_class = torch.ones(c) if weight is None else weight.double()
        if bool(((safe >= 0) & (safe < c)).all()) and per_class.shape == (c,):
            e = per_class.double()[safe] * keep
            if sample_weight is not None:
                e = e * sample_weight.double()
            assert _close(total, e.sum())
    binary = data.draw(binary_targets((n, c)))
    attempt("loss helpers", lambda: ud.losses.binary_cross_entropy_weight_sum(
        binary, class_weight=data.draw(st.none() | _vector(2)), sample_weight=sample_weight,
        ignore_index=data.draw(mostly(st.none() | st.just(-1), ANY))))  # fmt: skip
    x = data.draw(logits((n, c)))
    criterion = attempt("loss helpers", lambda: ud.losses.GlobalMean(
        ud.CrossEntropyLoss(reduction=data.draw(mostly(st.just("sum"), ANY))),
        world_size=data.draw(mostly(st.none() | st.integers(1, 3), ANY))))  # fmt: skip
    if criterion is not None:
        denominator = attempt("loss helpers", lambda: criterion.denominator(target))
        if denominator is not None:
            attempt("loss helpers", lambda: criterion(x, target, denominator=denominator))
    minority = data.draw(mostly(st.integers(0, 1), ANY))
    module = attempt("loss helpers", lambda: ud.losses.MinorityLogitLoss(
        ud.BCEWithLogitsLoss(), minority=minority))  # fmt: skip
    if module is not None:
        attempt("loss helpers", lambda: module(x, target))
