"""The CPU sweep in blocks of rows gives what the formula gives, on every block layout."""

import pytest
import torch
from loss_references import asymmetric, sigmoid_focal, value_and_grad

from underdog import asymmetric_loss_with_logits, sigmoid_focal_with_logits
from underdog.losses import _sigmoid_kernel


@pytest.fixture
def blocks(monkeypatch):
    """Shrink the block to ``size`` elements per thread and count the blocks swept."""
    calls = []
    sweep = _sigmoid_kernel._sweep

    def counting(block, input, target, *args):
        def counted(*block_args, out):
            calls.append(block_args[0].shape[0])
            return block(*block_args, out=out)

        return sweep(counted, input, target, *args)

    monkeypatch.setattr(_sigmoid_kernel, "_sweep", counting)

    def shrink(size):
        monkeypatch.setattr(_sigmoid_kernel, "_BLOCK", size)
        calls.clear()
        return calls

    return shrink


def data(shape, seed=3):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g, dtype=torch.float64) * 4
    t = (torch.rand(shape, generator=g) < 0.3).double()
    return x, t


@pytest.mark.parametrize("size", [1, 7, 12, 25])  # one row, ragged, whole rows, two rows
def test_asymmetric_blocks_match_formula(blocks, size):
    x, t = data((9, 6, 2))
    budget = size * torch.get_num_threads()  # elements per block
    calls = blocks(size)
    got = value_and_grad(lambda z: asymmetric_loss_with_logits(z, t, reduction="none"), x)
    rows = max(1, budget // 12)
    assert calls == ([9] if budget >= 108 else [min(rows, 9 - s) for s in range(0, 9, rows)])
    kw = dict(gamma_pos=1.0, gamma_neg=4.0, clip=0.05, reduction="none")
    want = value_and_grad(lambda z: asymmetric(z, t, **kw), x)
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
def test_sigmoid_focal_blocks_match_formula(blocks, gamma):
    x, t = data((11, 5))
    pos_weight = torch.linspace(0.5, 3.0, 5, dtype=torch.float64)
    calls = blocks(3)
    got = value_and_grad(
        lambda z: sigmoid_focal_with_logits(
            z, t, gamma=gamma, alpha=0.25, pos_weight=pos_weight, reduction="sum"
        ),
        x,
    )
    assert len(calls) > 1
    want = value_and_grad(
        lambda z: sigmoid_focal(
            z, t, gamma=gamma, alpha=0.25, pos_weight=pos_weight, reduction="sum"
        ),
        x,
    )
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)


def test_blocks_keep_ignored_elements_out(blocks):
    x, t = data((8, 4, 3))
    t[1, 2, 0] = t[6, 0, 2] = -1.0
    whole = value_and_grad(lambda z: asymmetric_loss_with_logits(z, t, ignore_index=-1), x)
    calls = blocks(5)
    blocked = value_and_grad(lambda z: asymmetric_loss_with_logits(z, t, ignore_index=-1), x)
    assert len(calls) > 1
    torch.testing.assert_close(blocked, whole, rtol=1e-12, atol=1e-14)
    assert blocked[1][1, 2, 0] == 0 and blocked[1][6, 0, 2] == 0
