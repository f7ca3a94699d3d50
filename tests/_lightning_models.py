"""A tiny LightningModule and data for tests/test_lightning.py, also imported by its ranks."""

from __future__ import annotations

import lightning as L
import torch
from torch.utils.data import Dataset, IterableDataset

import underdog

QUIET = {
    "accelerator": "cpu",
    "logger": False,
    "enable_checkpointing": False,
    "enable_progress_bar": False,
    "enable_model_summary": False,
    "num_sanity_val_steps": 0,
}


def data(n: int, *, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` samples of 3 imbalanced classes (7:2:1), 4 features that tell them apart a bit."""
    generator = torch.Generator().manual_seed(seed)
    y = torch.tensor([0] * (7 * n // 10) + [1] * (2 * n // 10) + [2] * (n - 9 * n // 10))
    y = y[torch.randperm(n, generator=generator)]
    x = torch.randn(n, 4, generator=generator) + torch.nn.functional.one_hot(y, 4)
    return x, y


class Indexed(Dataset):
    """``(x, y, index)`` samples, with the labels as ``targets``."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.x, self.targets = x, y

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i: int):
        return self.x[i], self.targets[i], i


class Shard(IterableDataset):
    """The samples ``rank, rank + world, ...`` of ``(x, y)``, streamed."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, *, rank: int, world: int) -> None:
        self.x, self.y, self.rank, self.world = x, y, rank, world

    def __iter__(self):
        for i in range(self.rank, len(self.y), self.world):
            yield self.x[i], self.y[i], i


class Classifier(L.LightningModule):
    """A linear classifier that records, per training batch, the epoch, the sample indices
    and the class weights its loss used."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = torch.nn.Linear(4, 3)
        self.criterion = underdog.CrossEntropyLoss()
        self.batches: list[dict] = []

    def training_step(self, batch, batch_idx):
        x, y, index = batch
        weight = self.criterion.weight
        self.batches.append(
            {
                "epoch": self.current_epoch,
                "index": index.tolist(),
                "weight": None if weight is None else weight.tolist(),
            }
        )
        return self.criterion(self.net(x), y)

    def validation_step(self, batch, batch_idx):
        x, y, _ = batch
        return self.net(x)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.5)

    def epoch_indices(self) -> dict[int, list[int]]:
        """The training indices of each epoch, in order."""
        epochs: dict[int, list[int]] = {}
        for batch in self.batches:
            epochs.setdefault(batch["epoch"], []).extend(batch["index"])
        return epochs

    def epoch_weights(self) -> dict[int, list[float] | None]:
        """The loss's class weights in the first batch of each epoch."""
        weights: dict[int, list[float] | None] = {}
        for batch in self.batches:
            weights.setdefault(batch["epoch"], batch["weight"])
        return weights


def sklearn_metrics(model: Classifier, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """scikit-learn's per-class recall and balanced accuracy of ``model`` on ``(x, y)``."""
    from sklearn.metrics import balanced_accuracy_score, recall_score

    with torch.no_grad():
        predicted = model.net(x).argmax(1).numpy()
    recall = recall_score(y.numpy(), predicted, labels=[0, 1, 2], average=None, zero_division=0)
    metrics = {f"val_recall_{c}": float(r) for c, r in enumerate(recall)}
    metrics["val_balanced_accuracy"] = float(balanced_accuracy_score(y.numpy(), predicted))
    return metrics
