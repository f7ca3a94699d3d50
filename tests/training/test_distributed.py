"""Data-parallel fit on two gloo ranks equals one process (float64, to 1e-6).

Each scenario trains the same model on one process and on two ranks: tensors and a sharded
map-style dataset (each rank reads only its own rows), weighted losses with ignore_index,
sample weights and gradient accumulation, a sum-reduced loss, a sampler that already
splits its stream between the ranks, a step in which one rank's rows are all ignored (a zero
gradient there, not NaN), and early stopping on validation data split between the ranks.
"""

from __future__ import annotations

import ast
import importlib

import torch

SCENARIOS = """
import torch
import underdog
from underdog.losses import (CrossEntropyLoss, DeferredReweighting, FocalCrossEntropyLoss,
                             LDAMLoss, LogitAdjustedLoss)
from underdog.samplers import ClassBalancedSampler, DistributedClassBalancedSampler

N, F, C = 60, 3, 3


def data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(N, F, generator=g, dtype=torch.float64)
    y = torch.randint(0, C, (N,), generator=g)
    y[::7] = -100  # ignored rows, some batches' shares on a rank have several
    w = torch.rand(N, generator=g, dtype=torch.float64) + 0.5
    return x, y, w


class Rows(torch.utils.data.Dataset):
    def __init__(self, x, y, w):
        self.x, self.y, self.w, self.read, self.epoch = x, y, w, [], 0

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        self.read.append((self.epoch, int(i)))
        return self.x[i], self.y[i], self.w[i]


def model():
    torch.manual_seed(1)
    return torch.nn.Sequential(torch.nn.Linear(F, 8), torch.nn.Tanh(),
                               torch.nn.Linear(8, C)).double()


def params(net):
    return torch.cat([p.detach().reshape(-1) for p in net.parameters()]).tolist()


def counts():
    y = data()[1]
    return torch.bincount(y[y >= 0], minlength=C)


def losses():
    return {
        "weighted-ce": lambda: CrossEntropyLoss(weight=[0.5, 2.0, 1.5], label_smoothing=0.1),
        "focal": lambda: FocalCrossEntropyLoss(gamma=2.0, weight=[1.0, 2.0, 0.5]),
        "ldam": lambda: LDAMLoss(counts=counts(), scale=2.0),
        "logit-adjusted": lambda: LogitAdjustedLoss(counts=counts()),
        "sum": lambda: CrossEntropyLoss(reduction="sum", weight=[0.5, 2.0, 1.5]),
    }


def train(name, kind, world_sampler=False):
    x, y, w = data()
    loss = losses()[name]()
    hook = None
    if name == "ldam":
        drw = DeferredReweighting(counts(), start_epoch=1, beta=0.9)
        hook = lambda epoch, epochs: drw.step(loss, epoch=epoch)
    # SGD, not AdamW: Adam's update ignores a constant factor of the gradient, which would
    # hide a wrongly scaled step loss (the mean or sum over ranks and micro-batches).
    sgd = lambda params: torch.optim.SGD(params, lr=0.05, momentum=0.5)
    options = dict(loss=loss, epochs=3, batch_size=8, accumulate=2, optimizer=sgd, seed=3,
                   on_epoch_start=hook)
    net = model()
    read = best = None
    if kind == "tensors":
        underdog.fit(net, x, y, sample_weight=w, **options)
    elif kind == "dataset":
        rows = Rows(x, y, w)
        options["on_epoch_start"] = lambda epoch, epochs: setattr(rows, "epoch", epoch)
        underdog.fit(net, rows, **options)
        read = sorted(rows.read)
    elif kind == "ignored-share":  # rank 0's rows of the whole first step are all ignored
        ignored = [i for i in range(N) if y[i] < 0][:8]
        kept = [i for i in range(N) if i not in ignored]
        order = [i for pair in zip(ignored, kept) for i in pair] + kept[len(ignored):]
        underdog.fit(net, x, y, sample_weight=w, sampler=order, **options)
    elif kind == "validation":  # the best epoch is chosen on the whole validation set
        g = torch.Generator().manual_seed(9)
        xv, yv = torch.randn(30, F, generator=g, dtype=torch.float64), torch.arange(30) % C
        result = underdog.fit(net, x, y, sample_weight=w, x_val=xv, y_val=yv, patience=1,
                              monitor="balanced_accuracy", **options)
        best = result.best_epoch
    else:  # a class-balanced sampler: global on one process, rank-split on several
        labels = y.clamp(min=0)
        cls = DistributedClassBalancedSampler if world_sampler else ClassBalancedSampler
        sampler = cls(labels, seed=5)
        underdog.fit(net, x, y, sample_weight=w, sampler=sampler, **options)
    return {"params": params(net), "read": read, "best": best}


CASES = [("weighted-ce", "tensors"), ("focal", "dataset"), ("ldam", "tensors"),
         ("logit-adjusted", "dataset"), ("sum", "tensors"), ("weighted-ce", "sampler"),
         ("focal", "ignored-share"), ("logit-adjusted", "validation")]
"""

BODY = (
    SCENARIOS
    + """
def run(rank, world):
    return [train(name, kind, world_sampler=True) for name, kind in CASES]
"""
)


def _one_process():
    namespace: dict = {}
    exec(SCENARIOS, namespace)  # the same definitions as the ranks
    return namespace, [namespace["train"](name, kind) for name, kind in namespace["CASES"]]


def test_two_ranks_train_the_one_process_model(run_ranks):
    namespace, single = _one_process()
    ranks = run_ranks(BODY)
    for case, expected, first, second in zip(namespace["CASES"], single, *ranks, strict=True):
        for got in (first, second):
            torch.testing.assert_close(
                torch.tensor(got["params"]), torch.tensor(expected["params"]),
                rtol=0, atol=1e-6, msg=lambda m, c=case: f"{c}: {m}",
            )  # fmt: skip
        assert first["best"] == second["best"] == expected["best"], case
        if case[1] == "dataset":  # in every epoch each rank read only its own rows, once
            for epoch in range(3):
                read = [[i for e, i in rank["read"] if e == epoch] for rank in (first, second)]
                assert sorted(read[0] + read[1]) == list(range(namespace["N"])), (case, epoch)


def test_the_scenarios_train_weighted_models_that_differ():
    """The comparison above is not vacuous: the scenarios train different models, and
    training moves the parameters."""
    namespace, single = _one_process()
    before = namespace["params"](namespace["model"]())
    params = [tuple(case["params"]) for case in single]
    assert len(set(params)) == len(params)
    assert all(max(abs(a - b) for a, b in zip(p, before, strict=True)) > 1e-3 for p in params)


def test_the_imports_of_the_scenarios_are_the_public_api():
    """The rank script imports and uses only public names (in their module's ``__all__``)."""
    tree = ast.parse(SCENARIOS)
    imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    used = []
    for node in imports:
        if isinstance(node, ast.ImportFrom) and node.module.startswith("underdog"):
            used += [(node.module, alias.name) for alias in node.names]
    used += [  # underdog.<name> in the script
        ("underdog", node.attr)
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "underdog"
    ]
    assert ("underdog", "fit") in used and ("underdog.losses", "LDAMLoss") in used
    for module, name in used:
        assert name in importlib.import_module(module).__all__, f"{module}.{name}"
    exec(compile(ast.Module(body=imports, type_ignores=[]), "<scenarios>", "exec"), {})
