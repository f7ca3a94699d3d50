"""Class-balanced sampling: draw a class, then a sample of that class.

:class:`ClassBalancedSampler` yields ``num_samples`` indices per epoch. Each index is drawn
by first picking a class ``c`` with probability ``q_c``, then a sample of class ``c``
uniformly (with replacement). With the default ``q_c = 1 / C`` every class is seen equally
often (class-balanced resampling, as in Kang et al., 2020); ``power`` interpolates towards
instance-balanced sampling: ``q_c ∝ n_c ** power`` (``power=1`` is plain random sampling
with replacement, ``power=0.5`` is square-root sampling).

The draw is reproducible: epoch ``e`` uses a generator seeded with ``(seed, e)``; call
:meth:`ClassBalancedSampler.set_epoch` between epochs, as with PyTorch's
``DistributedSampler``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import Sampler

from ._validation import check_int, check_real, check_vector
from .counts import class_counts
from .exceptions import DataError, InvalidParameterError

__all__ = ["ClassBalancedSampler"]


class ClassBalancedSampler(Sampler[int]):
    """Sample indices so that classes appear with chosen probabilities.

    Args:
        labels: integer class indices ``(N,)`` of the dataset (anything
            :func:`underdog.class_counts` accepts as a container).
        num_samples: indices per epoch; defaults to ``N``.
        class_probabilities: ``q_c`` of shape ``(C,)``, normalised here; classes without
            samples must have probability 0. Mutually exclusive with ``power``.
        power: ``q_c ∝ n_c ** power``; the default (``None`` and no probabilities) is
            ``power=0``, uniform over the classes that occur.
        seed: base seed of the per-epoch generator.

    Example:
        >>> sampler = ClassBalancedSampler([0] * 90 + [1] * 10, num_samples=1000, seed=0)
        >>> labels = torch.tensor([0] * 90 + [1] * 10)[list(sampler)]
        >>> 400 < int(labels.sum()) < 600
        True

    References:
        B. Kang et al., "Decoupling Representation and Classifier for Long-Tailed
        Recognition", ICLR 2020.
    """

    def __init__(
        self,
        labels: Any,
        *,
        num_samples: int | None = None,
        class_probabilities: Any = None,
        power: float | None = None,
        seed: int = 0,
    ) -> None:
        owner = type(self).__name__
        if isinstance(labels, torch.Tensor):
            tensor = labels.detach().cpu().reshape(-1).long()
        else:
            tensor = torch.as_tensor(labels).reshape(-1).long()
        counts = class_counts(tensor, distributed=False)
        self.num_samples = check_int(
            len(tensor) if num_samples is None else num_samples,
            name="num_samples",
            owner=owner,
            low=1,
        )
        self.seed = check_int(seed, name="seed", owner=owner)
        if class_probabilities is not None and power is not None:
            raise InvalidParameterError(
                f"The 'class_probabilities' and 'power' parameters of {owner} are mutually "
                "exclusive. Got both."
            )
        if class_probabilities is not None:
            q = check_vector(class_probabilities, name="class_probabilities", owner=owner).to(
                torch.float64
            )
            if q.numel() < counts.numel():
                raise InvalidParameterError(
                    f"The 'class_probabilities' parameter of {owner} must have one entry per "
                    f"class ({counts.numel()}). Got {q.numel()} instead."
                )
            counts = torch.nn.functional.pad(counts, (0, q.numel() - counts.numel()))
            empty = (q > 0) & (counts == 0)
            if bool(empty.any()):
                raise DataError(
                    f"The 'class_probabilities' parameter of {owner} gives probability to "
                    f"classes {empty.nonzero().reshape(-1).tolist()}, which have no samples."
                )
        else:
            p = 0.0 if power is None else check_real(power, name="power", owner=owner, low=0)
            q = torch.where(counts > 0, counts.to(torch.float64) ** p, 0.0)
        if float(q.sum()) <= 0:
            raise DataError(f"The 'class_probabilities' parameter of {owner} sums to 0.")
        self.class_probabilities = q / q.sum()
        order = torch.argsort(tensor, stable=True)
        self._sorted = order
        self._starts = torch.cumsum(counts, 0) - counts
        self._counts = counts
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Use the draw of ``epoch`` on the next iteration."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.num_samples

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        classes = torch.multinomial(
            self.class_probabilities, self.num_samples, replacement=True, generator=generator
        )
        within = torch.rand(self.num_samples, generator=generator, dtype=torch.float64)
        offsets = (within * self._counts[classes]).long()
        yield from self._sorted[self._starts[classes] + offsets].tolist()
