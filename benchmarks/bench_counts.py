"""Counts + balanced weights for many labels: underdog against scikit-learn, side by side.

Prints the time of each, their ratio and whether the weights are identical; the time of
``class_counts`` relative to ``np.bincount`` on the same array (interleaved repeats, median),
and the time of counting the same labels streamed from a loader relative to counting them in
memory.

Targets: at least 50x faster than ``sklearn.utils.class_weight.compute_class_weight`` with
identical values; ``class_counts`` within 1.25x of ``np.bincount`` (its checks ride on the
count); streaming within 2x of in-memory counting.

    python benchmarks/bench_counts.py                 # 10 million labels, 1,000 classes
    python benchmarks/bench_counts.py --n 100000      # a quick run
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
from sklearn.utils.class_weight import compute_class_weight
from torch.utils.data import DataLoader, TensorDataset

from underdog import class_counts, class_weight


def _median_time(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def _interleaved(fns: list[Callable[[], object]], repeats: int) -> list[float]:
    """The median time of each of ``fns``, run in turn ``repeats`` times (after a warm-up)."""
    times: list[list[float]] = [[] for _ in fns]
    for round_ in range(repeats + 1):
        for fn, seconds in zip(fns, times, strict=True):
            start = time.perf_counter()
            fn()
            if round_:
                seconds.append(time.perf_counter() - start)
    return [statistics.median(seconds) for seconds in times]


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000_000, help="number of labels")
    parser.add_argument("--classes", type=int, default=1000, help="number of classes")
    parser.add_argument("--batch", type=int, default=65_536, help="loader batch size")
    parser.add_argument("--repeats", type=int, default=9, help="runs per measurement")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    # A long-tailed label distribution over all classes (every class present).
    probs = 1.0 / np.arange(1, args.classes + 1)
    labels = rng.choice(args.classes, size=args.n, p=probs / probs.sum())
    labels[: args.classes] = np.arange(args.classes)
    classes = np.arange(args.classes)

    def underdog_weights():
        return class_weight(class_counts(labels), scheme="balanced", dtype=torch.float64)

    def sklearn_weights():
        return compute_class_weight("balanced", classes=classes, y=labels)

    # Interleave the two so that machine noise hits both alike; one warm-up run each.
    ours, theirs = underdog_weights(), sklearn_weights()
    ours_s, theirs_s = _interleaved([underdog_weights, sklearn_weights], args.repeats)
    identical = bool(np.array_equal(ours.numpy(), theirs))
    # class_counts against the bare count it rides on, on the same array, interleaved.
    assert np.array_equal(class_counts(labels).numpy(), np.bincount(labels))
    counts_s, bincount_s = _interleaved(
        [lambda: class_counts(labels), lambda: np.bincount(labels)], args.repeats
    )

    tensor = torch.from_numpy(labels)
    chunks = list(torch.split(tensor, args.batch))
    dataset = TensorDataset(tensor)
    # A DataLoader yielding whole batches: its sampler hands out slices, which a
    # TensorDataset serves as views, so the loader's own cost is small.
    slices = [slice(i, i + args.batch) for i in range(0, args.n, args.batch)]
    loader = DataLoader(dataset, sampler=slices, batch_size=None)
    memory_s, counts = _median_time(lambda: class_counts(tensor), args.repeats)
    chunks_s, streamed = _median_time(lambda: class_counts(iter(chunks)), args.repeats)
    loader_s, loaded = _median_time(lambda: class_counts(loader, target=0), args.repeats)
    assert torch.equal(counts, streamed) and torch.equal(counts, loaded)

    rows = [
        ("sklearn compute_class_weight(balanced)", theirs_s, "1.00"),
        ("underdog class_weight(class_counts(y))", ours_s, f"{theirs_s / ours_s:.1f}x faster"),
        ("np.bincount(y)", bincount_s, "1.00"),
        ("class_counts(y), same array", counts_s, f"{counts_s / bincount_s:.2f}x np.bincount"),
        ("class_counts, labels in memory (tensor)", memory_s, "1.00"),
        (
            f"class_counts, streamed chunks of {args.batch}",
            chunks_s,
            f"{chunks_s / memory_s:.2f}x in-memory time",
        ),
        (
            "class_counts, streamed from a DataLoader",
            loader_s,
            f"{loader_s / memory_s:.2f}x in-memory time",
        ),
    ]
    threads = torch.get_num_threads()
    print(f"labels: {args.n:,}, classes: {args.classes:,}, torch threads: {threads}")
    print(f"{'what':44s} {'seconds':>9s}  ratio")
    for what, seconds, ratio in rows:
        print(f"{what:44s} {seconds:9.4f}  {ratio}")
    print(f"weights identical: {identical}")
    return {
        "speedup": theirs_s / ours_s,
        "identical": float(identical),
        "bincount_ratio": counts_s / bincount_s,
        "stream_ratio": chunks_s / memory_s,
        "loader_ratio": loader_s / memory_s,
    }


if __name__ == "__main__":
    main()
