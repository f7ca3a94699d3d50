import pytest
import torch
import torch.nn.functional as F
from loss_references import asl_reference_code, asymmetric, value_and_grad

from underdog import AsymmetricLoss, InvalidParameterError, asymmetric_loss_with_logits


@pytest.fixture
def data():
    g = torch.Generator().manual_seed(11)
    x = torch.randn(10, 6, generator=g, dtype=torch.float64) * 3
    t = (torch.rand(10, 6, generator=g) < 0.3).double()
    return x, t


@pytest.mark.parametrize(
    "gamma_pos,gamma_neg,clip",
    [
        (1.0, 4.0, 0.05),
        (0.0, 0.0, 0.0),
        (0.5, 0.3, 0.0),
        (0.5, 0.3, 0.2),
        (2.0, 2.5, 0.1),
        (0.0, 0.0, 0.1),
        (1.0, 0.0, 0.05),
        (0.0, 1.0, 0.1),
        (1.0, 3.0, 0.05),
    ],
)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_matches_formula(data, gamma_pos, gamma_neg, clip, reduction):
    x, t = data
    kw = dict(gamma_pos=gamma_pos, gamma_neg=gamma_neg, clip=clip, reduction=reduction)
    got = value_and_grad(lambda z: asymmetric_loss_with_logits(z, t, **kw), x)
    want = value_and_grad(lambda z: asymmetric(z, t, **kw), x)
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)


def test_matches_reference_code_with_defaults(data):
    x, t = data
    x = x.clamp(-18, 18)  # where the reference's eps clamp is inactive (docs: |x| < 18)
    got = value_and_grad(lambda z: asymmetric_loss_with_logits(z, t, reduction="sum"), x)
    want = value_and_grad(lambda z: asl_reference_code(z, t), x)
    torch.testing.assert_close(got, want)


def test_no_focusing_no_clip_is_bce(data):
    x, t = data
    x32, t32 = x.float(), t.float()
    got = value_and_grad(
        lambda z: asymmetric_loss_with_logits(z, t32, gamma_pos=0.0, gamma_neg=0.0, clip=0.0), x32
    )
    want = value_and_grad(lambda z: F.binary_cross_entropy_with_logits(z, t32), x32)
    torch.testing.assert_close(got, want)


def test_reference_eps_saturates_but_ours_does_not():
    x = torch.tensor([[-40.0]], dtype=torch.float64)
    t = torch.ones_like(x)
    ours = asymmetric_loss_with_logits(x, t, reduction="sum")
    torch.testing.assert_close(ours, torch.tensor(40.0, dtype=torch.float64))
    assert asl_reference_code(x, t) < 19  # -log(1e-8) = 18.4


@pytest.mark.parametrize("clip", [0.05, 0.0])
@pytest.mark.parametrize("label", [1.0, 0.0])
def test_float32_exact_where_p_underflows_or_rounds_to_one(label, clip):
    # float32 sigmoid is subnormal below x = -87, 0 below -104 and 1 above 17; the loss
    # and its gradient must still follow the float64 log-space formula there.
    x = torch.tensor([-1e4, -200.0, -103.5, -95.0, -88.0, -50.0, -5.0, 0.3, 17.5, 25.0, 1e4])
    target = torch.full_like(x, label)
    got_loss, got_grad = value_and_grad(
        lambda v: asymmetric_loss_with_logits(v, target, clip=clip, reduction="none"), x
    )
    z, t = x.double(), target.double()
    p, q = torch.sigmoid(z), torch.sigmoid(-z)
    sn, sp = F.softplus(-z), F.softplus(z)  # -log p, -log(1 - p)
    # A positive: loss q sn, dl/dx = -q (q + p sn).
    loss_pos, grad_pos = q * sn, -q * (q + p * sn)
    if clip == 0.0:  # a negative: loss p^4 sp, dl/dx = p^4 (p + 4 q sp)
        loss_neg, grad_neg = p**4 * sp, p**4 * (p + 4 * q * sp)
    else:  # p_m^4 (-log(1 - p_m)), dl/dx = p q p_m^3 (p_m / (1 - p_m) - 4 log(1 - p_m))
        p_m = (p - clip).clamp(min=0)
        loss_neg = -(p_m**4) * torch.log1p(-p_m)
        grad_neg = p * q * p_m**3 * (p_m / (1 - p_m) - 4 * torch.log1p(-p_m))
    loss = t * loss_pos + (1 - t) * loss_neg
    grad = t * grad_pos + (1 - t) * grad_neg
    torch.testing.assert_close(got_loss.double(), loss, rtol=1e-6, atol=1e-30)
    torch.testing.assert_close(got_grad.double(), grad, rtol=1e-5, atol=1e-30)


def test_clip_discards_easy_negatives():
    x = torch.tensor([-5.0, -3.0, 5.0], requires_grad=True)  # p = 0.0067, 0.047, 0.993
    t = torch.zeros(3)
    loss = asymmetric_loss_with_logits(x, t, clip=0.05, reduction="none")
    loss.sum().backward()
    assert loss[0] == 0 and loss[1] == 0 and loss[2] > 0
    assert x.grad[0] == 0 and x.grad[1] == 0 and x.grad[2] > 0


def test_ignore_index_and_sample_weight(data):
    x, t = data
    t = t.clone()
    t[1, 2] = -1
    sw = torch.rand(10, dtype=torch.float64)
    keep = t != -1
    got = asymmetric_loss_with_logits(x, t, ignore_index=-1, sample_weight=sw)
    per = asymmetric(
        x, torch.where(keep, t, 0), gamma_pos=1.0, gamma_neg=4.0, clip=0.05, reduction="none"
    )
    e = keep * sw[:, None]
    torch.testing.assert_close(got, (per * e).sum() / e.sum())


def test_module(data):
    x, t = data
    loss = AsymmetricLoss(gamma_pos=0.0, gamma_neg=2.0, clip=0.1, reduction="sum")
    want = asymmetric_loss_with_logits(
        x, t, gamma_pos=0.0, gamma_neg=2.0, clip=0.1, reduction="sum"
    )
    assert loss(x, t) == want
    assert "gamma_neg=2.0" in repr(loss)


def test_errors(data):
    x, t = data
    with pytest.raises(
        InvalidParameterError,
        match=r"The 'gamma_neg' parameter of asymmetric_loss_with_logits must be a float in "
        r"\[0, inf\)\. Got -4\.0 instead\.",
    ):
        asymmetric_loss_with_logits(x, t, gamma_neg=-4.0)
    with pytest.raises(
        InvalidParameterError, match=r"'clip' parameter of AsymmetricLoss.*\[0, 1\)"
    ):
        AsymmetricLoss(clip=1.0)
    with pytest.raises(InvalidParameterError, match="'gamma_pos' parameter of AsymmetricLoss"):
        AsymmetricLoss(gamma_pos=float("inf"))


@pytest.mark.parametrize("clip", [0.05, 0.0])
@pytest.mark.parametrize("gamma", [1e-46, 1e-300, 1e-45, 0.3])
def test_focusing_exponents_too_small_for_float32_stay_finite_and_exact(gamma, clip):
    # gamma_pos below ~1.4e-45 rounded to 0 in float32: inf * 0 = NaN at x = 1e4 (item 12).
    x = torch.tensor([1e4, -1e4, 30.0, 0.0, -5.0, 3.0, -1e4, 1e4])
    t = torch.tensor([1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0])
    got = value_and_grad(
        lambda z: asymmetric_loss_with_logits(
            z, t, gamma_pos=gamma, gamma_neg=gamma, clip=clip, reduction="none"
        ),
        x,
    )
    want = value_and_grad(
        lambda z: asymmetric_loss_with_logits(
            z, t.double(), gamma_pos=gamma, gamma_neg=gamma, clip=clip, reduction="none"
        ),
        x.double(),
    )  # float64 represents these exponents
    assert all(torch.isfinite(part).all() for part in got)
    torch.testing.assert_close(got, tuple(part.float() for part in want))
