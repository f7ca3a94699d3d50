"""Tensors on other devices or in other layouts: a typed error or a correct answer.

Input and weights on different devices, sparse or meta targets, gave raw ``RuntimeError``,
``NotImplementedError`` or ``IndexError`` tracebacks (issue 14, item 11). The ``meta``
device reproduces a device mismatch on a CPU-only machine: a loss whose inputs live there
returns a meta result (PyTorch's meaning), and one that must read or move values that a
meta tensor lacks raises ``ShapeError`` naming the tensor.
"""

from __future__ import annotations

import pytest
import torch
from test_contract import REGISTRY, make_data

import underdog as ud
from underdog import InvalidParameterError, ShapeError

MODULES = [(entry.name, entry.make, entry.kind) for entry in REGISTRY] + [
    ("CrossEntropyLoss", lambda: ud.CrossEntropyLoss(weight=[1.0] * 6), "index"),
    ("BCEWithLogitsLoss-class_weight", lambda: ud.BCEWithLogitsLoss(class_weight=[1.0, 2.0]),
     "binary"),
    ("BCEWithLogitsLoss-pos_weight", lambda: ud.BCEWithLogitsLoss(pos_weight=[2.0] * 6),
     "binary"),
]  # fmt: skip


class _Kind:
    def __init__(self, kind: str) -> None:
        self.kind = kind


def _data(kind):
    return make_data(_Kind(kind))


@pytest.mark.parametrize(("name", "make", "kind"), MODULES, ids=[m[0] for m in MODULES])
def test_every_loss_on_meta_tensors_gives_a_meta_result(name, make, kind):
    x, t = _data(kind)
    for module in (make(), make().to("meta")):  # buffers on the CPU are moved to meta
        value = module(x.to("meta"), t.to("meta"))
        assert value.is_meta and value.shape == ()


@pytest.mark.parametrize(("name", "make", "kind"), MODULES, ids=[m[0] for m in MODULES])
def test_every_loss_refuses_tensors_it_cannot_use_with_a_shape_error(name, make, kind):
    x, t = _data(kind)
    module, meta_module = make(), make().to("meta")
    cases = {
        "target": lambda: module(x, t.to("meta")),
        "sample_weight": lambda: module(x, t, sample_weight=torch.ones(8, device="meta")),
        "target ": lambda: module(x, t.to_sparse()),
        "input": lambda: module(x.to_sparse(), t),
    }
    if any(b is not None and b.is_floating_point() for b in meta_module.buffers()):
        # A buffer on the meta device has no values to move to the CPU input's device.
        cases["counts|weight|class_weight|pos_weight"] = lambda: meta_module(x, t)
    for argument, call in cases.items():
        with pytest.raises(ShapeError, match=rf"^The '({argument.strip()})' parameter of \w+ "):
            call()


def test_cpu_weights_follow_a_meta_input_and_meta_weights_are_refused_on_the_cpu():
    x, t = _data("index")
    weight = torch.ones(6)
    assert ud.cross_entropy(x.to("meta"), t.to("meta"), weight=weight).is_meta
    with pytest.raises(ShapeError, match=r"^The 'weight' parameter of focal_cross_entropy must "
                       r"hold values that can be moved to the input's device \(cpu\)\. Got a "
                       r"tensor on the meta device, which has none, instead\.$"):  # fmt: skip
        ud.focal_cross_entropy(x, t, weight=weight.to("meta"))


@pytest.mark.parametrize(
    "target", [torch.tensor([0, -1, 2, 1]), torch.tensor([0, 3, 2, 1])], ids=["-1", "C"]
)
def test_cross_entropy_out_of_range_is_a_data_error_like_every_loss(target):
    # F.cross_entropy raises IndexError; the other losses raise DataError (CPU, eager).
    x = torch.randn(4, 3)
    for loss in (ud.cross_entropy, ud.focal_cross_entropy, ud.CrossEntropyLoss()):
        with pytest.raises(ud.DataError, match=r"must hold class indices in \[0, 3\)"):
            loss(x, target)


@pytest.mark.parametrize("value", [True, 1.0, "x", None])
def test_ignore_index_must_be_an_int_in_every_function(value):
    x, y, t = torch.randn(4, 3), torch.tensor([0, 1, 2, 1]), torch.zeros(4, 3)
    calls = {
        "cross_entropy": lambda: ud.cross_entropy(x, y, ignore_index=value),
        "focal_cross_entropy": lambda: ud.focal_cross_entropy(x, y, ignore_index=value),
        "ldam_cross_entropy": lambda: ud.ldam_cross_entropy(x, y, counts=[3, 2, 1],
                                                            ignore_index=value),
        "cross_entropy_weight_sum": lambda: ud.losses.cross_entropy_weight_sum(
            y, ignore_index=value),
    }  # fmt: skip
    if value is not None:  # None means "nothing ignored" for the binary losses
        calls["binary_cross_entropy_with_logits"] = lambda: ud.binary_cross_entropy_with_logits(
            x, t, ignore_index=value
        )
        calls["asymmetric_loss_with_logits"] = lambda: ud.asymmetric_loss_with_logits(
            x, t, ignore_index=value
        )
    for owner, call in calls.items():
        with pytest.raises(
            InvalidParameterError, match=rf"^The 'ignore_index' parameter of {owner} must be an int"
        ):
            call()
