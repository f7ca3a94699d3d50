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
    only_two = ClassBalancedSampler(labels, num_samples=500, class_probabilities=[0, 0, 1])
    assert set(labels[list(only_two)].tolist()) == {2}  # drawn indices are of the drawn class
    assert set(list(only_two)) == {0, 2, 5}  # and cover it


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
    with pytest.raises(
        InvalidParameterError,
        match=r"^The 'power' parameter of ClassBalancedSampler must be None when "
        r"'class_probabilities' is given \(pass at most one of 'class_probabilities', 'power' "
        r"and 'class_weight'\)\. Got 1\.0 instead\.$",
    ):
        ClassBalancedSampler([0, 1], class_probabilities=[1, 1], power=1.0)
    with pytest.raises(InvalidParameterError, match="'num_samples' parameter"):
        ClassBalancedSampler([0, 1], num_samples=0)
    with pytest.raises(InvalidParameterError, match="one entry per class"):
        ClassBalancedSampler([0, 1, 2], class_probabilities=[1, 1])


# ----------------------------------------------------------------------------- distributed

from torch.utils.data import Dataset, Subset  # noqa: E402

from underdog.samplers import DistributedClassBalancedSampler  # noqa: E402
from underdog.weights import sample_weight  # noqa: E402


def _rank_streams(labels, total, world, seed):
    return [
        list(
            DistributedClassBalancedSampler(
                labels, num_samples=total, num_replicas=world, rank=r, seed=seed
            )
        )
        for r in range(world)
    ]


def _check_exactly_the_one_process_stream(labels, total, world, seed=4):
    """Taken in turn, the ranks' streams are the one-process stream + its first draws."""
    whole = list(ClassBalancedSampler(labels, num_samples=total, seed=seed))
    per_rank = -(-total // world)
    padded = whole + (whole * world)[: per_rank * world - total]  # as DistributedSampler pads
    streams = _rank_streams(labels, total, world, seed)
    assert all(len(s) == per_rank for s in streams)
    interleaved = [stream[i] for i in range(per_rank) for stream in streams]
    assert interleaved == padded  # disjoint positions of exactly the one-process stream


@pytest.mark.parametrize(("total", "world"), [(3000, 2), (3001, 2), (3001, 3), (1001, 2),
                                              (2, 3), (1, 4), (7, 7)])  # fmt: skip
def test_ranks_split_exactly_the_one_process_stream(total, world):
    # 1001 samples on 2 ranks once drew a 1002nd sample instead of repeating the first.
    _check_exactly_the_one_process_stream(LABELS, total, world)


def test_ranks_split_the_one_process_stream_across_chunks():
    # Three ranks drew in chunks of CHUNK - CHUNK % 3, another stream than one process's
    # chunks of CHUNK; 1,200,001 samples cross a chunk boundary and need 2 padded positions.
    _check_exactly_the_one_process_stream(np.array([0, 0, 1, 2]), 1_200_001, 3)


def test_set_epoch_is_shared_by_the_ranks():
    a = DistributedClassBalancedSampler(LABELS, num_replicas=2, rank=0, seed=9)
    b = DistributedClassBalancedSampler(LABELS, num_replicas=2, rank=1, seed=9)
    one = ClassBalancedSampler(LABELS, seed=9)
    for epoch in (0, 5):
        for sampler in (a, b, one):
            sampler.set_epoch(epoch)
        merged = [i for pair in zip(a, b, strict=True) for i in pair]
        assert merged == list(one)


def test_class_weight_draws_like_weighted_random_sampling():
    w = np.array([1.0, 5.0, 20.0])
    sampler = ClassBalancedSampler(LABELS, num_samples=60_000, class_weight=w, seed=0)
    expected = np.bincount(LABELS) * w / (np.bincount(LABELS) * w).sum()
    np.testing.assert_allclose(_freq(sampler), expected, atol=0.01)
    # The same distribution as WeightedRandomSampler over per-sample weights.
    weights = sample_weight(LABELS, torch.tensor(w))
    reference = torch.utils.data.WeightedRandomSampler(
        weights, 60_000, generator=torch.Generator().manual_seed(0)
    )
    np.testing.assert_allclose(_freq(sampler), _freq(reference), atol=0.015)


@pytest.mark.parametrize("power", [0.0, 0.5, 1.0])
def test_power_frequencies_over_an_epoch(power):
    sampler = DistributedClassBalancedSampler(
        LABELS, num_samples=60_000, power=power, num_replicas=2, rank=1, seed=2
    )
    n = np.bincount(LABELS).astype(float)
    expected = n**power / (n**power).sum()
    np.testing.assert_allclose(_freq(sampler), expected, atol=0.01)


class _Labelled(Dataset):
    def __init__(self, labels):
        self.targets = labels

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, index):
        raise AssertionError("the sampler must not load features")


def test_datasets_and_subsets_give_their_labels_without_loading_features():
    data = _Labelled(torch.as_tensor(LABELS))
    assert list(ClassBalancedSampler(data, seed=1)) == list(ClassBalancedSampler(LABELS, seed=1))
    subset = Subset(data, list(range(880, 1000)))  # 20 of class 0, 90 of 1, 10 of 2
    drawn = list(ClassBalancedSampler(subset, num_samples=3000, seed=0))
    assert max(drawn) < 120
    freq = np.bincount(LABELS[880:][drawn], minlength=3) / 3000
    np.testing.assert_allclose(freq, [1 / 3] * 3, atol=0.03)


def test_subset_of_bad_targets_is_reported_by_the_sampler():
    subset = Subset(_Labelled(["cat", "dog", "cat"]), [0, 2])
    with pytest.raises(DataError) as info:
        ClassBalancedSampler(subset)
    assert str(info.value).startswith(
        "The 'labels' parameter of ClassBalancedSampler must hold integer class indices (map "
        "class names to indices first"
    )


def test_more_than_two_to_the_24_samples():
    n = (1 << 24) + 3
    labels = torch.zeros(n, dtype=torch.uint8)
    labels[-2:] = 1  # the only samples of class 1 sit beyond index 2**24
    sampler = DistributedClassBalancedSampler(
        labels, num_samples=2000, num_replicas=2, rank=0, seed=0
    )
    drawn = torch.tensor(list(sampler))
    assert len(drawn) == 1000
    assert (drawn >= 1 << 24).sum() > 300  # class 1 is half of the draws


def test_distributed_defaults_need_a_process_group():
    with pytest.raises(
        InvalidParameterError,
        match=r"^The 'num_replicas' parameter of DistributedClassBalancedSampler must be given "
        r"when torch.distributed is not initialised\. Got None instead\.$",
    ):
        DistributedClassBalancedSampler(LABELS)
    with pytest.raises(InvalidParameterError, match=r"^The 'rank' parameter .* must be given"):
        DistributedClassBalancedSampler(LABELS, num_replicas=2)
    with pytest.raises(
        InvalidParameterError,
        match="The 'rank' parameter of DistributedClassBalancedSampler must be an int in \\[0, 1\\]",
    ):
        DistributedClassBalancedSampler(LABELS, num_replicas=2, rank=2)
    with pytest.raises(
        InvalidParameterError,
        match=r"^The 'class_weight' parameter of ClassBalancedSampler must be None when 'power' "
        r"is given \(pass at most one of 'class_probabilities', 'power' and 'class_weight'\)\. "
        r"Got \[1, 1, 1\] instead\.$",
    ):
        ClassBalancedSampler(LABELS, power=1.0, class_weight=[1, 1, 1])


@pytest.mark.parametrize(
    ("labels", "message"),
    [([0.5, 1.7, 1.2], "must hold integer class indices"), (["a", "b"], "map class names")],
)
def test_labels_are_checked_like_class_counts(labels, message):
    with pytest.raises(DataError, match=message):
        ClassBalancedSampler(labels)


def test_dataset_of_dict_samples_is_read_through_its_label_key():
    class Dicts(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, index):
            return {"x": torch.zeros(2), "label": index % 2}

    drawn = list(ClassBalancedSampler(Dicts(), num_samples=200, seed=0))
    assert set(drawn) == {0, 1, 2, 3}


def test_dataset_of_dict_samples_without_a_label_key_says_sample():
    class Dicts(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, index):
            return {"x": torch.zeros(2), "cls": index % 2}

    with pytest.raises(DataError) as info:
        ClassBalancedSampler(Dicts())
    assert str(info.value).startswith(
        "The 'labels' parameter of ClassBalancedSampler must hold sample dicts with a 'target'"
    )


def test_a_list_of_samples_is_read_like_a_dataset():
    """DataLoader reads a list as a dataset of samples; the sampler draws its indices."""
    small = LABELS[::10]
    expected = list(ClassBalancedSampler(small, num_samples=300, seed=3))
    for samples in (
        [(torch.zeros(2), int(y)) for y in small],
        [(torch.zeros(2), torch.tensor([y])) for y in small],
        [{"x": torch.zeros(2), "label": torch.tensor(y)} for y in small],
    ):
        assert list(ClassBalancedSampler(samples, num_samples=300, seed=3)) == expected


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (
            [(torch.zeros(2), torch.tensor([0, 1])), (torch.zeros(2), torch.tensor([1, 1]))],
            "The 'labels' parameter of ClassBalancedSampler must give one class index per "
            "sample. Got labels of shape (2,) at index 0 instead.",
        ),
        (
            torch.utils.data.TensorDataset(torch.zeros(2, 3), torch.ones(2, 2, dtype=torch.long)),
            "The 'labels' parameter of ClassBalancedSampler must give one class index per "
            "sample. Got labels of shape (2,) at index 0 instead.",
        ),
        (
            [[0, 1], [1, 1]],
            "The 'labels' parameter of ClassBalancedSampler must give one class index per "
            "sample. Got labels of shape (2, 2) instead.",
        ),
    ],
    ids=["samples", "dataset", "matrix"],
)
def test_more_than_one_label_per_sample_raises(labels, message):
    with pytest.raises(DataError) as info:
        ClassBalancedSampler(labels)
    assert str(info.value) == message
