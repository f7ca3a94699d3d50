import numpy as np
import pytest
import torch

from underdog.exceptions import DataError, InvalidParameterError
from underdog.samplers import ClassBalancedSampler

LABELS = np.array([0] * 900 + [1] * 90 + [2] * 10)


def _freq(sampler):
    return np.bincount(LABELS[list(sampler)], minlength=3) / len(sampler)


def test_default_is_class_balanced():
    sampler = ClassBalancedSampler(LABELS, num_samples=30_000, seed=0)
    np.testing.assert_allclose(_freq(sampler), [1 / 3] * 3, atol=0.015)
    assert len(sampler) == 30_000


def test_power_one_is_instance_sampling_and_probabilities_are_used():
    sampler = ClassBalancedSampler(LABELS, num_samples=30_000, power=1.0, seed=0)
    np.testing.assert_allclose(_freq(sampler), [0.9, 0.09, 0.01], atol=0.01)
    custom = ClassBalancedSampler(LABELS, num_samples=30_000, class_probabilities=[1, 0, 3])
    np.testing.assert_allclose(_freq(custom), [0.25, 0, 0.75], atol=0.015)


def test_indices_belong_to_the_drawn_class_and_cover_it():
    labels = torch.tensor([2, 0, 2, 1, 0, 2])
    sampler = ClassBalancedSampler(labels, num_samples=3000, seed=3)
    drawn = list(sampler)
    assert set(drawn) == set(range(6))
    assert sampler.class_probabilities.tolist() == pytest.approx([1 / 3] * 3)


def test_reproducible_per_seed_and_epoch():
    a, b = ClassBalancedSampler(LABELS, seed=1), ClassBalancedSampler(LABELS, seed=1)
    assert list(a) == list(b)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first
    b.set_epoch(1)
    assert list(a) == list(b)
    assert list(ClassBalancedSampler(LABELS, seed=2)) != first
    assert len(first) == len(LABELS)


def test_works_with_a_dataloader():
    dataset = torch.utils.data.TensorDataset(torch.arange(1000), torch.as_tensor(LABELS))
    sampler = ClassBalancedSampler(LABELS, num_samples=600, seed=0)
    loader = torch.utils.data.DataLoader(dataset, batch_size=100, sampler=sampler)
    labels = torch.cat([y for _, y in loader])
    assert len(labels) == 600 and (labels == 2).sum() > 100


def test_bad_parameters():
    with pytest.raises(DataError, match="classes \\[1\\], which have no samples"):
        ClassBalancedSampler([0, 0, 2], class_probabilities=[1, 1, 1])
    with pytest.raises(InvalidParameterError, match="mutually exclusive"):
        ClassBalancedSampler([0, 1], class_probabilities=[1, 1], power=1.0)
    with pytest.raises(InvalidParameterError, match="'num_samples' parameter"):
        ClassBalancedSampler([0, 1], num_samples=0)
    with pytest.raises(InvalidParameterError, match="one entry per class"):
        ClassBalancedSampler([0, 1, 2], class_probabilities=[1, 1])
