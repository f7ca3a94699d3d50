"""Tiny randomly initialised BERT classifiers and data for tests/test_transformers.py (no
download), also imported by its ranks."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"

import torch  # noqa: E402
import transformers  # noqa: E402

import underdog  # noqa: E402
from underdog.transformers import WeightedLossTrainer  # noqa: E402

transformers.logging.set_verbosity_error()

VOCAB, LENGTH, CLASSES = 30, 5, 3
WEIGHT = torch.tensor([0.5, 2.0, 4.0])


def model(task: str, *, num_labels: int = CLASSES) -> transformers.PreTrainedModel:
    """The same random model every time; dropout off, so training is deterministic."""
    config = transformers.BertConfig(
        vocab_size=VOCAB,
        hidden_size=8,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=16,
        max_position_embeddings=16,
        num_labels=num_labels,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    torch.manual_seed(0)
    if task == "token":
        return transformers.BertForTokenClassification(config)
    return transformers.BertForSequenceClassification(config)


def samples(task: str, n: int, *, seed: int = 0) -> list[dict[str, torch.Tensor]]:
    """``n`` samples; labels 5:2:1 of classes 0, 1, 2, and -100 on some tokens for ``"token"``."""
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, VOCAB, (n, LENGTH), generator=generator)
    shape = torch.Size((n, LENGTH) if task == "token" else (n,))
    pattern = torch.tensor([0, 1, 0, 2, 0, 0, 1, 0]).repeat(shape.numel() // 8 + 1)
    order = torch.randperm(shape.numel(), generator=generator)
    labels = pattern[: shape.numel()][order].reshape(shape)
    if task == "token":
        labels[torch.rand(shape, generator=generator) < 0.2] = -100
    return [
        {
            "input_ids": ids[i],
            "attention_mask": torch.ones(LENGTH, dtype=torch.long),
            "labels": labels[i],
        }
        for i in range(n)
    ]


def arguments(output_dir: str, *, batch_size: int, accumulation: int, epochs: int = 1, **kwargs):
    """Plain SGD at a constant rate without clipping: the update is the gradient itself."""
    return transformers.TrainingArguments(
        output_dir,
        per_device_train_batch_size=batch_size,
        gradient_accumulation_steps=accumulation,
        num_train_epochs=epochs,
        learning_rate=0.5,
        optim="sgd",
        lr_scheduler_type="constant",
        max_grad_norm=0.0,
        report_to="none",
        save_strategy="no",
        logging_strategy="no",
        use_cpu=True,
        disable_tqdm=True,
        seed=0,
        **kwargs,
    )


def train(task: str, data: list, output_dir: str, *, trainer_class=WeightedLossTrainer, **kwargs):
    """Train a fresh model on ``data`` with the weighted loss; return the trained model."""
    trained = model(task)
    loss = underdog.CrossEntropyLoss(weight=WEIGHT, reduction="sum")
    args = arguments(output_dir, **kwargs)
    trainer_class(trained, args, train_dataset=data, loss=loss).train()
    return trained
