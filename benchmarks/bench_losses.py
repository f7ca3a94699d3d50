"""Imbalance losses side by side: time and memory kept for backward, on CPU.

For each loss, forward + backward on the same float32 logits ``(N, C)`` is timed against
the PyTorch baseline it builds on (``F.cross_entropy(weight=...)`` for the softmax losses,
``F.binary_cross_entropy_with_logits(pos_weight=...)`` for the sigmoid ones) and against a
plain autograd implementation of the same formula (the usual way it is written). All
cases run interleaved, round after round, in one process; the median is reported.

"kept" is the memory autograd keeps for backward, as a multiple of the logits' size: the
unique storages of every tensor saved for backward (``torch.autograd.graph.
saved_tensors_hooks``) plus any tensor a custom ``autograd.Function`` stores on its ``ctx``
outside ``save_for_backward``, excluding the target (the caller's tensor).

Usage::

    python benchmarks/bench_losses.py                 # N=8192, C=1000, one thread
    python benchmarks/bench_losses.py --n 1024 --c 100 --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

import underdog as ud


@dataclass
class Case:
    name: str
    fn: Callable[[torch.Tensor], torch.Tensor]
    input: torch.Tensor


# ----------------------------------------------------------------------------- plain autograd
# Straightforward implementations of each formula, as they are usually written.


def plain_softmax_focal(x, y, weight, gamma=2.0):
    log_p = F.log_softmax(x, dim=1)
    p = log_p.exp()
    focal = -((1 - p) ** gamma) * log_p
    one_hot = F.one_hot(y, x.shape[1]).to(x.dtype)
    loss = (one_hot * focal).sum(1) * weight[y]
    return loss.sum() / weight[y].sum()


def plain_ldam(x, y, margins, weight, s=30.0):  # kaidic/LDAM-DRW
    index = torch.zeros_like(x, dtype=torch.bool)
    index.scatter_(1, y.view(-1, 1), True)
    batch_m = torch.matmul(margins[None, :], index.to(x.dtype).T).view(-1, 1)
    output = torch.where(index, x - batch_m, x)
    return F.cross_entropy(s * output, y, weight=weight)


def plain_logit_adjusted(x, y, log_prior, tau=1.0):
    return F.cross_entropy(x + tau * log_prior, y)


def plain_balanced_softmax(x, y, counts):
    return F.cross_entropy(x + counts.log(), y)


def plain_sigmoid_focal(x, t, pos_weight, gamma=2.0):  # torchvision-style
    p = torch.sigmoid(x)
    ce = F.binary_cross_entropy_with_logits(x, t, pos_weight=pos_weight, reduction="none")
    p_t = p * t + (1 - p) * (1 - t)
    return (ce * ((1 - p_t) ** gamma)).mean()


def plain_asymmetric(x, t, gamma_neg=4.0, gamma_pos=1.0, clip=0.05, eps=1e-8):  # Alibaba-MIIL
    xs_pos = torch.sigmoid(x)
    xs_neg = (1 - xs_pos + clip).clamp(max=1)
    loss = t * torch.log(xs_pos.clamp(min=eps)) + (1 - t) * torch.log(xs_neg.clamp(min=eps))
    pt = xs_pos * t + xs_neg * (1 - t)
    loss = loss * torch.pow(1 - pt, gamma_pos * t + gamma_neg * (1 - t))
    return -loss.mean()


# ----------------------------------------------------------------------------- measuring


def kept_bytes(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, target) -> int:
    """Bytes autograd keeps for backward after ``fn(x)``, the target excluded."""
    storages: dict[int, int] = {}
    skip = target.untyped_storage().data_ptr()

    def add(tensor: torch.Tensor) -> None:
        storage = tensor.untyped_storage()
        if storage.data_ptr() != skip:
            storages[storage.data_ptr()] = storage.nbytes()

    def pack(tensor):
        add(tensor)
        return tensor

    leaf = x.detach().requires_grad_()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        loss = fn(leaf)
    # Tensors a custom Function keeps on ctx outside save_for_backward.
    seen, stack = set(), [loss.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if isinstance(node, torch.autograd.function.BackwardCFunction):
            for value in vars(node).values():
                if isinstance(value, torch.Tensor):
                    add(value)
        stack.extend(next_fn for next_fn, _ in node.next_functions)
    return sum(storages.values())


def time_cases(cases: Sequence[Case], repeats: int) -> dict[str, float]:
    times: dict[str, list[float]] = {case.name: [] for case in cases}
    for round_ in range(repeats + 2):  # two warm-up rounds
        for case in cases:
            leaf = case.input.detach().clone().requires_grad_()
            start = time.perf_counter()
            case.fn(leaf).backward()
            elapsed = time.perf_counter() - start
            if round_ >= 2:
                times[case.name].append(elapsed)
            del leaf
    return {name: statistics.median(values) for name, values in times.items()}


def build(n: int, c: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, c, generator=g) * 3
    # LDAM scales by s=30 the logits of a normalised classifier (cosines in [-1, 1]);
    # on N(0, 9) logits, 30x would drive most of exp() into float32 denormals.
    cosine = x / x.abs().amax(1, keepdim=True)
    y = torch.randint(0, c, (n,), generator=g)
    t = (torch.rand(n, c, generator=g) < 0.05).float()
    counts = torch.randint(5, 5000, (c,), generator=g).double()
    weight = ud.class_weight(counts, scheme="balanced")
    pos_weight = torch.rand(c, generator=g) * 5 + 1
    log_prior = ud.losses.log_prior(counts).float()
    margins = ud.losses.ldam_margins(counts).float()

    focal = ud.FocalCrossEntropyLoss(gamma=2.0, weight=weight)
    ldam = ud.LDAMLoss(counts=counts, weight=weight)
    la = ud.LogitAdjustedLoss(counts=counts, tau=1.0)
    bs = ud.BalancedSoftmaxLoss(counts=counts)
    cb = ud.ClassBalancedLoss(counts=counts, beta=0.999, gamma=2.0)
    sfocal = ud.SigmoidFocalLoss(gamma=2.0, alpha=None, pos_weight=pos_weight)
    sfocal_alpha = ud.SigmoidFocalLoss(gamma=2.0, alpha=0.25, pos_weight=pos_weight)
    asl = ud.AsymmetricLoss()

    rows = [
        # (loss case, baseline case, plain autograd case or None, target, logits)
        (
            "focal_cross_entropy (gamma=2, weight)",
            lambda z: focal(z, y),
            "ce",
            lambda z: plain_softmax_focal(z, y, weight),
            y,
            x,
        ),
        (
            "class_balanced_loss (softmax, gamma=2)",
            lambda z: cb(z, y),
            "ce",
            lambda z: plain_softmax_focal(z, y, cb.weight),
            y,
            x,
        ),
        (
            "ldam_cross_entropy (weight; cosine logits)",
            lambda z: ldam(z, y),
            "ce",
            lambda z: plain_ldam(z, y, margins, weight),
            y,
            cosine,
        ),
        (
            "logit_adjusted_cross_entropy (tau=1)",
            lambda z: la(z, y),
            "ce",
            lambda z: plain_logit_adjusted(z, y, log_prior),
            y,
            x,
        ),
        (
            "balanced_softmax_cross_entropy",
            lambda z: bs(z, y),
            "ce",
            lambda z: plain_balanced_softmax(z, y, counts.float()),
            y,
            x,
        ),
        (
            "sigmoid_focal_with_logits (gamma=2, pos_weight)",
            lambda z: sfocal(z, t),
            "bce",
            lambda z: plain_sigmoid_focal(z, t, pos_weight),
            t,
            x,
        ),
        (
            "sigmoid_focal_with_logits (gamma=2, alpha=0.25, pos_weight)",
            lambda z: sfocal_alpha(z, t),
            "bce",
            None,
            t,
            x,
        ),
        (
            "asymmetric_loss_with_logits (4, 1, 0.05)",
            lambda z: asl(z, t),
            "bce",
            lambda z: plain_asymmetric(z, t),
            t,
            x,
        ),
    ]
    baselines = {
        "ce": Case("F.cross_entropy(weight=)", lambda z: F.cross_entropy(z, y, weight=weight), x),
        "bce": Case(
            "F.binary_cross_entropy_with_logits(pos_weight=)",
            lambda z: F.binary_cross_entropy_with_logits(z, t, pos_weight=pos_weight),
            x,
        ),
    }
    return x, y, t, rows, baselines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=8192, help="rows (default 8192)")
    parser.add_argument("--c", type=int, default=1000, help="classes / labels (default 1000)")
    parser.add_argument("--repeats", type=int, default=15, help="timed rounds (default 15)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    x, y, t, rows, baselines = build(args.n, args.c, args.seed)
    cases = list(baselines.values())
    for name, fn, _, plain, _, logits in rows:
        cases.append(Case(name, fn, logits))
        if plain is not None:
            cases.append(Case("plain: " + name, plain, logits))
    times = time_cases(cases, args.repeats)
    logits_bytes = x.numel() * x.element_size()

    print(
        f"N={args.n}, C={args.c}, float32, CPU, {args.threads} thread(s), torch "
        f"{torch.__version__}; forward+backward, median of {args.repeats} interleaved rounds."
    )
    print()
    print("| loss | ms | vs baseline | plain autograd ms | vs plain | kept | plain kept |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for key, baseline in baselines.items():
        target = y if key == "ce" else t
        kept = kept_bytes(baseline.fn, x, target) / logits_bytes
        print(f"| {baseline.name} | {times[baseline.name] * 1e3:.1f} | 1.00 | | | {kept:.2f}x | |")
    for name, fn, key, plain, target, logits in rows:
        base = times[baselines[key].name]
        ours = times[name]
        kept = kept_bytes(fn, logits, target) / logits_bytes
        if plain is not None:
            plain_ms = f"{times['plain: ' + name] * 1e3:.1f}"
            vs_plain = f"{ours / times['plain: ' + name]:.2f}"
            plain_kept = f"{kept_bytes(plain, logits, target) / logits_bytes:.2f}x"
        else:
            plain_ms = vs_plain = plain_kept = ""
        print(
            f"| {name} | {ours * 1e3:.1f} | {ours / base:.2f} | {plain_ms} | {vs_plain} | "
            f"{kept:.2f}x | {plain_kept} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
