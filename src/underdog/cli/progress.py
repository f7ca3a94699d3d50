"""Progress bars of the long commands, drawn by tqdm on stderr.

A bar shows up only when stderr is a terminal and ``-q`` is not given: a log file or a
pipe gets no progress lines. ``compare`` counts runs (recipe x fold x seed) and shows the
recipe and epoch of the current run; ``train`` counts epochs.
"""

from __future__ import annotations

from typing import Any, TextIO

__all__ = ["CompareProgress", "EpochProgress", "wanted"]


def wanted(stream: TextIO, quiet: bool) -> bool:
    """Whether to draw a bar on ``stream``: a terminal, and not ``--quiet``."""
    isatty = getattr(stream, "isatty", None)
    return not quiet and callable(isatty) and bool(isatty())


def _bar(stream: TextIO, total: int, unit: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, file=stream, leave=False, dynamic_ncols=True)


class CompareProgress:
    """The progress bar of ``compare``: one step per run, showing its recipe and epoch.

    It is the ``progress`` callback of :func:`~underdog.pipeline.compare`, called as
    ``progress(p)``; a run is one recipe x fold x seed.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.bar: Any = None
        self.current: tuple[int, int] | None = None

    def __call__(self, p: Any) -> None:
        """Show the progress report ``p``; the first report creates the bar.

        Epoch 0 of a new run counts the previous run as finished.

        Args:
            p: a :class:`~underdog.pipeline.Progress` report.
        """
        if self.bar is None:
            self.bar = _bar(self.stream, p.recipes * p.runs, "run")
        run = (p.recipe_index, p.run)
        if p.epoch == 0 and self.current is not None and run != self.current:
            self.bar.update(1)  # the previous run has finished
        self.current = run
        self.bar.set_description(f"{p.recipe} ({p.run + 1}/{p.runs})", refresh=False)
        self.bar.set_postfix_str(f"epoch {p.epoch}/{p.epochs}")

    def done(self, runs: int = 1) -> None:
        """Count ``runs`` finished runs (the parallel runner reports whole folds)."""
        if self.bar is not None:
            self.bar.update(runs)

    def close(self) -> None:
        """Finish the bar and clear its line."""
        if self.bar is not None:
            self.bar.close()


class EpochProgress:
    """A ``fit`` callback: one step per epoch, with the losses and the best epoch."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.bar: Any = None

    def __call__(self, event: Any) -> None:
        """Count the epoch of ``event`` and show its loss and best epoch so far.

        The first event creates the bar, with one step per epoch of ``event.epochs``.

        Args:
            event: the :class:`~underdog.training.TrainEvent` of the epoch just finished.
        """
        if self.bar is None:
            self.bar = _bar(self.stream, event.epochs, "epoch")
        self.bar.update(1)
        self.bar.set_postfix_str(
            f"loss {event.train_loss:.4f}, best epoch {event.best_epoch}", refresh=True
        )

    def close(self) -> None:
        """Finish the bar and clear its line."""
        if self.bar is not None:
            self.bar.close()
