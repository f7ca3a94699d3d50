"""Straightforward float64 implementations of the papers' formulas, for the tests only.

Written independently of the library: plain autograd on the textbook expression, no
log-space tricks, no custom Functions. Use them on moderate logits (they overflow where
the library must not).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def value_and_grad(fn, x):
    """``fn(x)`` and the gradient of its sum with respect to a fresh copy of ``x``."""
    x = x.detach().clone().requires_grad_()
    value = fn(x)
    (grad,) = torch.autograd.grad(value.sum(), x)
    return value.detach(), grad


def weighted_mean(loss, element, reduction):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / element.sum()


def softmax_focal(x, y, *, gamma, weight=None, ignore_index=-100, reduction="mean"):
    """Lin et al.: w_y (1 - p_y)^gamma (-log p_y), mean weighted by w_y."""
    p = torch.softmax(x, 1)
    keep = y != ignore_index
    safe = torch.where(keep, y, 0)
    p_y = p.gather(1, safe.unsqueeze(1)).squeeze(1)
    w = torch.ones_like(p_y) if weight is None else weight[safe]
    w = w * keep
    loss = w * (1 - p_y) ** gamma * -torch.log(p_y)
    return weighted_mean(loss, w, reduction)


def sigmoid_focal(x, t, *, gamma, alpha=None, pos_weight=None, reduction="mean"):
    p = torch.sigmoid(x)
    a = 1.0 if alpha is None else alpha
    b = 1.0 if alpha is None else 1.0 - alpha
    q = 1.0 if pos_weight is None else pos_weight
    loss = q * a * t * (1 - p) ** gamma * -torch.log(p) + b * (1 - t) * p**gamma * -torch.log(1 - p)
    element = torch.ones_like(x) if alpha is None else alpha * t + (1 - alpha) * (1 - t)
    return weighted_mean(loss, element, reduction)


def torchvision_sigmoid_focal(x, t, *, alpha, gamma):
    """torchvision.ops.sigmoid_focal_loss(reduction="mean"), transcribed."""
    p = torch.sigmoid(x)
    ce = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    p_t = p * t + (1 - p) * (1 - t)
    loss = ce * ((1 - p_t) ** gamma)
    alpha_t = alpha * t + (1 - alpha) * (1 - t)
    return (alpha_t * loss).mean()


def effective_weights(counts, beta):
    """Cui et al. reference: (1 - beta) / (1 - beta^n), normalised to sum to C."""
    n = torch.as_tensor(counts, dtype=torch.float64)
    w = (1.0 - beta) / (1.0 - torch.pow(torch.tensor(beta, dtype=torch.float64), n))
    return w / w.sum() * len(n)


def ldam_margins(counts, max_m=0.5):
    """kaidic/LDAM-DRW: 1 / sqrt(sqrt(n)), scaled so that the largest is max_m."""
    m = 1.0 / torch.sqrt(torch.sqrt(torch.as_tensor(counts, dtype=torch.float64)))
    return m * (max_m / m.max())


def ldam(x, y, counts, *, max_m=0.5, s=30.0, weight=None):
    """kaidic/LDAM-DRW LDAMLoss.forward, transcribed (2-D input)."""
    m_list = ldam_margins(counts, max_m).to(x.dtype)
    index = torch.zeros_like(x, dtype=torch.bool)
    index.scatter_(1, y.view(-1, 1), True)
    batch_m = torch.matmul(m_list[None, :], index.to(x.dtype).T).view(-1, 1)
    output = torch.where(index, x - batch_m, x)
    return F.cross_entropy(s * output, y, weight=weight)


def logit_adjusted(x, y, counts, *, tau):
    prior = torch.as_tensor(counts, dtype=torch.float64)
    prior = prior / prior.sum()
    return F.cross_entropy(x + tau * torch.log(prior).to(x.dtype), y)


def balanced_softmax(x, y, counts):
    """Ren et al.: softmax with p_c proportional to n_c exp(x_c)."""
    n = torch.as_tensor(counts, dtype=x.dtype)
    z = n * torch.exp(x)
    p = z / z.sum(1, keepdim=True)
    return -torch.log(p.gather(1, y.unsqueeze(1))).mean()


def asymmetric(x, t, *, gamma_pos, gamma_neg, clip, reduction="mean"):
    """Ridnik et al.: -t (1-p)^g+ log p - (1-t) p_m^g- log(1 - p_m), p_m = max(p - m, 0)."""
    p = torch.sigmoid(x)
    p_m = (p - clip).clamp(min=0)
    loss = -t * (1 - p) ** gamma_pos * torch.log(p) - (1 - t) * p_m**gamma_neg * torch.log(1 - p_m)
    return weighted_mean(loss, torch.ones_like(loss), reduction)


def asl_reference_code(x, y, *, gamma_neg=4, gamma_pos=1, clip=0.05, eps=1e-8):
    """Alibaba-MIIL/ASL AsymmetricLoss.forward (gradient through the focusing weight)."""
    x_sigmoid = torch.sigmoid(x)
    xs_pos = x_sigmoid
    xs_neg = 1 - x_sigmoid
    if clip is not None and clip > 0:
        xs_neg = (xs_neg + clip).clamp(max=1)
    los_pos = y * torch.log(xs_pos.clamp(min=eps))
    los_neg = (1 - y) * torch.log(xs_neg.clamp(min=eps))
    loss = los_pos + los_neg
    if gamma_neg > 0 or gamma_pos > 0:
        pt = xs_pos * y + xs_neg * (1 - y)
        one_sided_gamma = gamma_pos * y + gamma_neg * (1 - y)
        loss = loss * torch.pow(1 - pt, one_sided_gamma)
    return -loss.sum()
