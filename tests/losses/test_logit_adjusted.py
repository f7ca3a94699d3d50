import pytest
import torch
import torch.nn.functional as F
from loss_references import balanced_softmax, logit_adjusted, value_and_grad

import underdog
from underdog import (
    BalancedSoftmaxLoss,
    DataError,
    InvalidParameterError,
    LogitAdjustedLoss,
    balanced_softmax_cross_entropy,
    logit_adjusted_cross_entropy,
)

COUNTS = [700, 200, 60, 15, 3]


@pytest.fixture
def data():
    g = torch.Generator().manual_seed(5)
    x = torch.randn(20, 5, generator=g, dtype=torch.float64)
    y = torch.randint(0, 5, (20,), generator=g)
    return x, y


@pytest.mark.parametrize("tau", [-0.5, 0.0, 1.0, 2.0])
def test_logit_adjusted_matches_formula(data, tau):
    x, y = data
    got = value_and_grad(lambda z: logit_adjusted_cross_entropy(z, y, counts=COUNTS, tau=tau), x)
    want = value_and_grad(lambda z: logit_adjusted(z, y, COUNTS, tau=tau), x)
    torch.testing.assert_close(got, want)


def test_tau_zero_is_cross_entropy(data):
    x, y = data
    got = value_and_grad(lambda z: logit_adjusted_cross_entropy(z, y, counts=COUNTS, tau=0.0), x)
    want = value_and_grad(lambda z: F.cross_entropy(z, y), x)
    torch.testing.assert_close(got, want)


def test_balanced_softmax_matches_its_definition(data):
    x, y = data
    got = value_and_grad(lambda z: balanced_softmax_cross_entropy(z, y, counts=COUNTS), x)
    want = value_and_grad(lambda z: balanced_softmax(z, y, COUNTS), x)
    torch.testing.assert_close(got, want)


def test_balanced_softmax_is_cross_entropy_on_logits_plus_log_counts(data):
    """Balanced softmax adds log n_c; logit adjustment with tau = 1 adds log pi_c = log n_c -
    log N. The constant cancels in the softmax, so both equal CE on x + log n."""
    x, y = data
    w = torch.rand(5, dtype=torch.float64)
    log_n = torch.log(torch.as_tensor(COUNTS, dtype=torch.float64))
    for kwargs in ({}, {"weight": w, "label_smoothing": 0.1}):
        want = value_and_grad(lambda z, kw=kwargs: F.cross_entropy(z + log_n, y, **kw), x)
        for loss in (
            lambda z, kw=kwargs: balanced_softmax_cross_entropy(z, y, counts=COUNTS, **kw),
            lambda z, kw=kwargs: logit_adjusted_cross_entropy(z, y, counts=COUNTS, tau=1.0, **kw),
        ):
            torch.testing.assert_close(value_and_grad(loss, x), want, rtol=1e-12, atol=1e-12)


def test_cross_entropy_options_carry_over(data):
    x, y = data
    y = y.clone()
    y[0] = -100
    w = torch.rand(5, dtype=torch.float64) + 0.1
    sw = torch.rand(20, dtype=torch.float64)
    shift = torch.log(torch.tensor(COUNTS, dtype=torch.float64) / sum(COUNTS)) * 0.7
    got = logit_adjusted_cross_entropy(
        x, y, counts=COUNTS, tau=0.7, weight=w, sample_weight=sw, label_smoothing=0.05
    )
    want = underdog.cross_entropy(x + shift, y, weight=w, sample_weight=sw, label_smoothing=0.05)
    torch.testing.assert_close(got, want)
    probs = torch.softmax(torch.randn(20, 5, dtype=torch.float64), 1)
    torch.testing.assert_close(
        logit_adjusted_cross_entropy(x, probs, counts=COUNTS, tau=0.7),
        underdog.cross_entropy(x + shift, probs),
    )


def test_dense_input():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 5, 3, 3, generator=g, dtype=torch.float64)
    y = torch.randint(0, 5, (2, 3, 3), generator=g)
    got = logit_adjusted_cross_entropy(x, y, counts=COUNTS, tau=1.0, reduction="none")
    flat = logit_adjusted(x.movedim(1, -1).reshape(-1, 5), y.reshape(-1), COUNTS, tau=1.0)
    torch.testing.assert_close(got.mean(), flat)


def test_modules(data):
    x, y = data
    labels = torch.repeat_interleave(torch.arange(5), torch.tensor(COUNTS))
    la = LogitAdjustedLoss.from_labels(labels, tau=1.5)
    torch.testing.assert_close(
        la.log_prior.double().exp(), torch.tensor(COUNTS, dtype=torch.float64) / sum(COUNTS)
    )
    x32, y32 = x.float(), y
    want = logit_adjusted_cross_entropy(x32, y32, counts=COUNTS, tau=1.5)
    torch.testing.assert_close(la(x32, y32), want)
    bs = BalancedSoftmaxLoss(counts=COUNTS)
    torch.testing.assert_close(
        bs(x32, y32), balanced_softmax_cross_entropy(x32, y32, counts=COUNTS)
    )
    assert set(bs.state_dict()) == {"log_prior"}


def test_errors(data):
    x, y = data
    with pytest.raises(
        InvalidParameterError,
        match=r"The 'tau' parameter of logit_adjusted_cross_entropy must be a float in "
        r"\(-inf, inf\)\. Got inf instead\.",
    ):
        logit_adjusted_cross_entropy(x, y, counts=COUNTS, tau=float("inf"))
    with pytest.raises(InvalidParameterError, match="'tau' parameter of LogitAdjustedLoss"):
        LogitAdjustedLoss(counts=COUNTS, tau=float("nan"))
    with pytest.raises(
        DataError, match=r"needs log-priors .*\. Got classes \[2\] with no samples instead\.$"
    ):
        LogitAdjustedLoss(counts=[3, 4, 0, 1, 2])
    with pytest.raises(DataError, match="BalancedSoftmaxLoss"):
        BalancedSoftmaxLoss(counts=[0, 1, 2, 3, 4])
    with pytest.raises(DataError, match="balanced_softmax_cross_entropy"):
        balanced_softmax_cross_entropy(x, y, counts=[0, 1, 2, 3, 4])
    with pytest.raises(InvalidParameterError, match="must be non-negative"):
        LogitAdjustedLoss(counts=[3, -4, 1, 1, 2])
    with pytest.raises(underdog.ShapeError, match=r"\(5,\)"):
        logit_adjusted_cross_entropy(x, y, counts=[1, 2, 3])
    with pytest.raises(InvalidParameterError, match=r"'weight' parameter of LogitAdjustedLoss"):
        LogitAdjustedLoss(counts=COUNTS, weight=[1.0, 2.0])


@pytest.mark.parametrize("make", [underdog.LogitAdjustedLoss, underdog.LDAMLoss])
def test_smoothed_path_has_exact_second_derivatives(make):
    # With label smoothing the shifted logits go through plain autograd, which is
    # differentiable twice; the fused kernel (no smoothing) refuses instead.
    x = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 3, 1])
    smoothed = make(counts=[50, 20, 5, 2], label_smoothing=0.1, reduction="sum").double()
    assert torch.autograd.gradgradcheck(lambda z: smoothed(z, y), (x,))
    fused = make(counts=[50, 20, 5, 2], reduction="sum").double()
    with pytest.raises(NotImplementedError, match="first-order only"):
        torch.autograd.gradgradcheck(lambda z: fused(z, y), (x,))
