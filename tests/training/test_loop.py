"""The training loop: fit (underdog.training.loop)."""

import dataclasses
import time

import numpy as np
import pytest
import torch

from underdog.exceptions import InvalidParameterError
from underdog.losses import CrossEntropyLoss
from underdog.samplers import ClassBalancedSampler
from underdog.training import TrainEvent, fit
from underdog.training.networks import mlp, predict_logits


def _data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(np.int64)
    x = rng.normal(size=(n, 4)).astype(np.float32) + y[:, None] * 1.5
    return x, y


def _params(model):
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def test_fit_is_deterministic_and_leaves_the_global_rng_alone():
    x, y = _data()
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    a = fit(mlp(4, 2, seed=0), x, y, loss=CrossEntropyLoss(), epochs=3, seed=5).model
    after = torch.rand(3)
    assert torch.equal(before, after)
    b = fit(mlp(4, 2, seed=0), x, y, loss=CrossEntropyLoss(), epochs=3, seed=5).model
    c = fit(mlp(4, 2, seed=0), x, y, loss=CrossEntropyLoss(), epochs=3, seed=6).model
    assert torch.equal(_params(a), _params(b))
    assert not torch.equal(_params(a), _params(c))


def test_fit_learns():
    x, y = _data()
    result = fit(mlp(4, 2, seed=0), x, y, loss=CrossEntropyLoss(), epochs=30, lr=1e-2)
    accuracy = (predict_logits(result.model, x).argmax(1) == y).mean()
    assert accuracy > 0.85
    assert result.history[-1].train_loss < result.history[0].train_loss


def test_early_stopping_restores_the_best_epoch():
    x, y = _data()
    scores = iter([0.1, 0.5, 0.2, 0.3, 0.4, 0.9, 0.9])
    snapshots = []

    def monitor(logits, y_val):
        return next(scores)

    def remember(event):
        snapshots.append(_params(model).clone())

    model = mlp(4, 2, seed=0)
    result = fit(model, x, y, loss=CrossEntropyLoss(), x_val=x[:50], y_val=y[:50], epochs=10,
                 patience=3, monitor=monitor, callbacks=[remember])  # fmt: skip
    assert result.best_epoch == 2 and result.epochs_run == 5
    assert result.history[-1].stopping and not result.history[-2].stopping
    assert torch.equal(_params(result.model), snapshots[1])


def test_callbacks_events_and_epoch_hook():
    x, y = _data()
    events, starts = [], []
    fit(mlp(4, 2, seed=0), x, y, loss=CrossEntropyLoss(), x_val=x, y_val=y, epochs=4,
        callbacks=[events.append], on_epoch_start=lambda e, n: starts.append((e, n)))  # fmt: skip
    assert [e.epoch for e in events] == [1, 2, 3, 4]
    assert all(isinstance(e, TrainEvent) and e.epochs == 4 for e in events)
    assert all(np.isfinite(e.val_loss) and e.val_score == -e.val_loss for e in events)
    assert starts == [(0, 4), (1, 4), (2, 4), (3, 4)]


def test_sampler_is_used_and_its_epoch_set():
    x, y = _data()

    class Recording(ClassBalancedSampler):
        epochs: list = []

        def set_epoch(self, epoch):
            self.epochs.append(epoch)
            super().set_epoch(epoch)

    class RecordingLoss(CrossEntropyLoss):
        targets: list = []

        def forward(self, input, target):
            self.targets.append(target.clone())
            return super().forward(input, target)

    sampler = Recording(y, num_samples=64, class_probabilities=[0, 1], seed=0)
    loss = RecordingLoss()
    fit(mlp(4, 2, seed=0), x, y, loss=loss, sampler=sampler, epochs=3, batch_size=32)
    assert sampler.epochs == [0, 1, 2]
    # The batches are the sampler's draws: 64 rows per epoch, 2 batches, all of class 1.
    assert len(loss.targets) == 3 * 2 and all(len(t) == 32 for t in loss.targets)
    assert all(bool((t == 1).all()) for t in loss.targets)
    # Not a property of the data: without the sampler, the same training sees class 0.
    RecordingLoss.targets = []
    fit(mlp(4, 2, seed=0), x, y, loss=RecordingLoss(), epochs=1, batch_size=32)
    assert any(bool((t == 0).any()) for t in RecordingLoss.targets)


def test_threads_are_restored():
    x, y = _data()
    before = torch.get_num_threads()
    seen = []
    fit(mlp(4, 2), x, y, loss=CrossEntropyLoss(), epochs=1, num_threads=1,
        callbacks=[lambda e: seen.append(torch.get_num_threads())])  # fmt: skip
    assert seen == [1]
    assert torch.get_num_threads() == before


def test_any_module_works():
    x, y = _data()
    model = torch.nn.Linear(4, 2)
    result = fit(model, x, y, loss=torch.nn.CrossEntropyLoss(), epochs=2)
    assert result.model is model and not model.training


def test_bad_parameters():
    x, y = _data()
    with pytest.raises(InvalidParameterError, match="'epochs' parameter of fit"):
        fit(mlp(4, 2), x, y, loss=CrossEntropyLoss(), epochs=0)
    with pytest.raises(InvalidParameterError, match="'dropout' parameter of mlp"):
        mlp(4, 2, dropout=1.0)
    with pytest.raises(InvalidParameterError, match="'device' parameter of fit"):
        fit(mlp(4, 2), x, y, loss=CrossEntropyLoss(), device="gpu")
    for name in ("compile", "distributed"):
        for value in ("no", 1, None):
            with pytest.raises(
                InvalidParameterError,
                match=f"The '{name}' parameter of fit must be a bool. Got {value!r} instead.",
            ):
                fit(mlp(4, 2), x, y, loss=CrossEntropyLoss(), **{name: value})


class _NoNumpy(torch.Tensor):
    """A tensor that fails if anything converts it through numpy (``np.asarray``)."""

    def __array__(self, *args, **kwargs):
        raise AssertionError("a tensor input went through numpy")


def _accuracy_monitor(logits, y_val):
    assert isinstance(logits, np.ndarray) and isinstance(y_val, np.ndarray)
    return float((logits.argmax(1) == y_val).mean())


def _assert_same_history(a, b, *, exact=True):
    assert a.best_epoch == b.best_epoch and a.epochs_run == b.epochs_run
    for event_a, event_b in zip(a.history, b.history, strict=True):
        values_a, values_b = dataclasses.astuple(event_a), dataclasses.astuple(event_b)
        if exact:
            assert values_a == values_b
        else:  # logits may differ in the last bits with the batch size (matmul kernels)
            assert values_a == pytest.approx(values_b, rel=1e-6, abs=1e-7)


def test_batched_validation_equals_one_forward_pass():
    x, y = _data(n=300)
    x_val, y_val = x[:97], y[:97]  # 97 rows: batches of 8 leave a short last one
    loss = CrossEntropyLoss(weight=torch.tensor([1.0, 3.0]))
    seen = []

    def monitor(logits, target):
        seen.append(logits)
        return _accuracy_monitor(logits, target)

    def reference(event):
        # After each epoch, one full forward pass over the validation split.
        with torch.no_grad():
            logits = model(torch.as_tensor(x_val, dtype=torch.float32))
            assert event.val_loss == pytest.approx(float(loss(logits, torch.as_tensor(y_val))))
        np.testing.assert_allclose(seen[-1], logits.double().numpy(), rtol=1e-6, atol=1e-6)

    model = mlp(4, 2, seed=0)
    kwargs = dict(loss=loss, x_val=x_val, y_val=y_val, epochs=8, batch_size=32, patience=3,
                  monitor=monitor, seed=1)  # fmt: skip
    batched = fit(model, x[97:], y[97:], eval_batch_size=8, callbacks=[reference], **kwargs)
    assert len(seen) == batched.epochs_run and all(s.shape == (97, 2) for s in seen)
    one_pass = fit(mlp(4, 2, seed=0), x[97:], y[97:], eval_batch_size=97, **kwargs)
    assert torch.equal(_params(batched.model), _params(one_pass.model))
    _assert_same_history(batched, one_pass, exact=False)


def test_tensor_inputs_train_as_numpy_inputs_without_numpy():
    x, y = _data()
    kwargs = dict(loss=CrossEntropyLoss(), epochs=4, patience=2, monitor=_accuracy_monitor,
                  batch_size=16, eval_batch_size=10, seed=2)  # fmt: skip
    from_numpy = fit(mlp(4, 2, seed=0), x[50:], y[50:], x_val=x[:50], y_val=y[:50], **kwargs)
    xt = torch.from_numpy(x).as_subclass(_NoNumpy)
    yt = torch.from_numpy(y).as_subclass(_NoNumpy)
    from_tensors = fit(mlp(4, 2, seed=0), xt[50:], yt[50:], x_val=xt[:50], y_val=yt[:50], **kwargs)
    assert torch.equal(_params(from_tensors.model), _params(from_numpy.model))
    _assert_same_history(from_tensors, from_numpy)
    # Other dtypes are converted by torch: float64 features, int32 labels.
    converted = fit(mlp(4, 2, seed=0), xt[50:].double(), yt[50:].int(), x_val=xt[:50].double(),
                    y_val=yt[:50].int(), **kwargs)  # fmt: skip
    assert torch.equal(_params(converted.model), _params(from_numpy.model))
    np.testing.assert_array_equal(
        predict_logits(from_numpy.model, xt), predict_logits(from_numpy.model, x)
    )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_tensor_inputs():
    """CUDA tensors train on the GPU and give the CPU's training up to rounding: the same
    batches and the same losses for the epochs both ran. Rounding may move the best epoch
    and so where early stopping ends, so the two models need only agree on most rows."""
    x, y = _data()
    xc, yc = torch.from_numpy(x).cuda(), torch.from_numpy(y).cuda()
    kwargs = dict(loss=CrossEntropyLoss(), epochs=3, monitor=_accuracy_monitor, patience=2,
                  batch_size=16, eval_batch_size=10)  # fmt: skip
    # No dropout: its masks come from each device's own generator.
    result = fit(mlp(4, 2, dropout=0.0, seed=0).cuda(), xc[50:], yc[50:], x_val=xc[:50],
                 y_val=yc[:50], **kwargs)  # fmt: skip
    assert all(p.is_cuda for p in result.model.parameters())
    assert 1 <= result.best_epoch <= result.epochs_run <= 3
    on_cpu = fit(mlp(4, 2, dropout=0.0, seed=0), x[50:], y[50:], x_val=x[:50], y_val=y[:50],
                 **kwargs)  # fmt: skip
    both = min(result.epochs_run, on_cpu.epochs_run)
    np.testing.assert_allclose(
        [e.train_loss for e in result.history[:both]],
        [e.train_loss for e in on_cpu.history[:both]],
        rtol=1e-3,
    )
    logits = predict_logits(result.model, xc)
    assert logits.dtype == np.float64 and logits.shape == (len(x), 2)
    assert np.isfinite(logits).all()
    np.testing.assert_allclose(predict_logits(result.model, x), logits, rtol=1e-5, atol=1e-6)
    agree = (logits.argmax(1) == predict_logits(on_cpu.model, x).argmax(1)).mean()
    assert agree >= 0.9, agree


# ----------------------------------------------------------------------------- the engine


def _engine_data(n=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (n,), generator=g)
    y[::5] = -100
    w = torch.rand(n, generator=g, dtype=torch.float64) + 0.5
    return x, y, w


def _engine_model():
    torch.manual_seed(2)
    return torch.nn.Sequential(
        torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 3)
    ).double()


def _sgd(params):
    return torch.optim.SGD(params, lr=0.1)


def test_accumulation_is_the_exact_weighted_mean_of_the_whole_step():
    """Micro-batches of 4 accumulated twice equal batches of 8: the step's loss divides by
    the weight sum of all its rows (class weights, ignored rows and sample weights)."""
    x, y, w = _engine_data()
    weight = torch.tensor([0.3, 2.0, 1.0], dtype=torch.float64)  # float64, as the model
    loss = CrossEntropyLoss(weight=weight, label_smoothing=0.05)
    common = dict(loss=loss, sample_weight=w, optimizer=_sgd, epochs=2, seed=1)
    big = fit(_engine_model(), x, y, batch_size=8, **common).model
    small = fit(_engine_model(), x, y, batch_size=4, accumulate=2, **common).model
    naive = _engine_model()  # what averaging the micro-batches' own means would give
    for p, q in zip(_params(small), _params(big), strict=True):
        assert abs(p - q) < 1e-10
    fit(naive, x, y, batch_size=4, **common)
    assert (_params(naive) - _params(big)).abs().max() > 1e-3


def test_an_optimizer_and_scheduler_factory_train_as_a_hand_written_loop():
    x, y, _ = _engine_data()
    x, y = x[y >= 0], y[y >= 0]
    loss = CrossEntropyLoss()
    model = fit(
        _engine_model(), x, y, loss=loss, sampler=range(len(y)), batch_size=len(y), epochs=3,
        optimizer=lambda p: torch.optim.SGD(p, lr=0.5, momentum=0.9),
        scheduler=lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=1, gamma=0.5),
        grad_clip=0.1,
    ).model  # fmt: skip
    manual = _engine_model()
    optimizer = torch.optim.SGD(manual.parameters(), lr=0.5, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    for _ in range(3):
        loss(manual(x), y).backward()
        torch.nn.utils.clip_grad_norm_(manual.parameters(), 0.1)
        optimizer.step()
        optimizer.zero_grad()
        scheduler.step()
    torch.testing.assert_close(_params(model), _params(manual), rtol=0, atol=1e-12)


def test_a_scheduler_can_step_every_optimizer_step():
    x, y, _ = _engine_data()
    seen = []

    def scheduler(optimizer):
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: seen.append(step) or 1.0)

    fit(_engine_model(), x, y, loss=CrossEntropyLoss(), batch_size=10, epochs=2,
        scheduler=scheduler, scheduler_interval="step")  # fmt: skip
    assert seen == list(range(9))  # the constructor's call, then one per step (2 x 4)


def test_max_steps_and_max_time_stop_the_training():
    x, y, _ = _engine_data()
    result = fit(_engine_model(), x, y, loss=CrossEntropyLoss(), batch_size=4, epochs=50,
                 max_steps=13)  # fmt: skip
    assert result.history[-1].steps == 13 and result.epochs_run == 2
    assert result.history[-1].stopping

    def guard(event):  # fails instead of hanging when max_time is not applied
        assert time.perf_counter() - started < 30, "max_time=0.5 did not stop the training"

    started = time.perf_counter()
    timed = fit(_engine_model(), x, y, loss=CrossEntropyLoss(), batch_size=4, epochs=10**6,
                max_time=0.5, callbacks=[guard])  # fmt: skip
    elapsed = time.perf_counter() - started
    # Stopped by the budget: after 0.5 s (not before) and soon after it, in the middle of
    # the epochs, with the last event flagged.
    assert 0.5 <= elapsed < 10, elapsed
    assert 2 <= timed.epochs_run < 10**6 and timed.history[-1].stopping
    assert timed.history[-1].epoch == timed.epochs_run < timed.history[-1].epochs


def test_bf16_autocast_trains_close_to_float32_and_fp16_needs_cuda():
    x, y, _ = _engine_data()
    x = x.float()
    options = dict(loss=CrossEntropyLoss(), batch_size=8, epochs=2, seed=0)
    full = fit(mlp(4, 3, seed=0), x, y, **options).model
    half = fit(mlp(4, 3, seed=0), x, y, precision="bf16", **options).model
    assert (_params(full) - _params(half)).abs().max() < 0.05
    assert all(p.dtype == torch.float32 for p in half.parameters())  # autocast, not a cast
    with pytest.raises(
        InvalidParameterError, match="'precision' parameter of fit must be '32' or 'bf16'"
    ):
        fit(mlp(4, 3), x, y, precision="fp16", **options)


def test_compiled_training_equals_eager():
    x, y, _ = _engine_data(n=16)
    x = x.float()
    options = dict(loss=CrossEntropyLoss(), batch_size=8, epochs=2, seed=0, sampler=range(16))
    eager = fit(mlp(4, 3, seed=0, dropout=0.0), x, y, **options).model
    compiled = fit(mlp(4, 3, seed=0, dropout=0.0), x, y, compile=True, **options).model
    torch.testing.assert_close(_params(compiled), _params(eager), rtol=1e-5, atol=1e-6)


def test_early_stopping_on_a_named_metric():
    x, y = _data()
    result = fit(mlp(4, 2, seed=0), x, y, loss=CrossEntropyLoss(), x_val=x[:60], y_val=y[:60],
                 epochs=5, monitor="balanced_accuracy")  # fmt: skip
    from sklearn.metrics import balanced_accuracy_score

    logits = predict_logits(result.model, x[:60])
    assert result.history[-1].val_score == pytest.approx(
        balanced_accuracy_score(y[:60], logits.argmax(1))
    )


@pytest.mark.parametrize("monitor", ["roc_auc", "average_precision", "minority_f1"])
def test_a_two_class_metric_is_refused_for_more_classes(monitor):
    x, y = _data()
    y3 = y.copy()
    y3[:20] = 2
    events = []
    refused = "'monitor' parameter of fit must be 'val_loss', a callable or one of"
    # Labels in memory: refused before the first step.
    with pytest.raises(InvalidParameterError, match=f"{refused}.*Got '{monitor}' with labels up"):
        fit(mlp(4, 3, seed=0), x, y3, loss=CrossEntropyLoss(), x_val=x[:60], y_val=y3[:60],
            epochs=2, monitor=monitor, callbacks=[events.append])  # fmt: skip
    assert events == []
    # Two labels but three logits, or labels in datasets: refused at the first validation.
    data = torch.utils.data.TensorDataset(torch.from_numpy(x).float(), torch.from_numpy(y3))
    val = torch.utils.data.Subset(data, range(60))
    for train, labels, x_val, y_val in ((x, y, x[:60], y[:60]), (data, None, val, None)):
        with pytest.raises(InvalidParameterError, match=f"Got '{monitor}' with a model of 3 out"):
            fit(mlp(4, 3, seed=0), train, labels, loss=CrossEntropyLoss(), x_val=x_val,
                y_val=y_val, epochs=2, monitor=monitor)  # fmt: skip
    # Two classes: accepted, and a score that is a number.
    result = fit(mlp(4, 2, seed=0), x, y, loss=CrossEntropyLoss(), x_val=x[:60], y_val=y[:60],
                 epochs=2, monitor=monitor)  # fmt: skip
    assert np.isfinite(result.history[-1].val_score)


@pytest.mark.parametrize("classes", [2, 3])
def test_the_monitored_metric_is_the_one_evaluate_gives(classes):
    from underdog.metrics import METRICS, evaluate
    from underdog.posthoc import softmax
    from underdog.training._steps import Objective
    from underdog.training.evaluation import score

    g = torch.Generator().manual_seed(classes)
    logits = torch.randn(300, classes, generator=g) * 3
    target = torch.randint(0, classes, (300,), generator=g)
    target[:200] = logits[:200].argmax(1)  # better than chance
    expected, _ = evaluate(target.numpy(), softmax(logits.double().numpy()))
    assert len(expected) == len(METRICS if classes == 2 else METRICS[:4])
    for name, value in expected.items():
        got = score(Objective(CrossEntropyLoss()), logits, target, None, name)[1]
        assert got == value, name  # the same number, not a close one


def test_a_diverging_training_raises_instead_of_returning_nan_weights():
    from underdog.exceptions import DivergenceError

    x, y = _data()
    with pytest.raises(
        DivergenceError,
        match=r"^Training diverged in epoch \d+: (the parameter .* is not finite|no step had a finite loss)",
    ):
        fit(mlp(4, 2, seed=0), x, y, loss=CrossEntropyLoss(), lr=1e30, epochs=5)


def test_sample_weights_need_a_loss_that_takes_them():
    x, y, w = _engine_data()
    with pytest.raises(InvalidParameterError, match="must take sample_weight"):
        fit(_engine_model(), x, y, sample_weight=w, loss=torch.nn.CrossEntropyLoss(), epochs=1)


def test_accumulation_needs_a_loss_with_a_weight_sum():
    x, y, _ = _engine_data()
    with pytest.raises(InvalidParameterError, match="must offer weight_sum"):
        fit(_engine_model(), x, y, loss=torch.nn.CrossEntropyLoss(), accumulate=2, epochs=1)
