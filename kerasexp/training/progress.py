"""One progress line an epoch: which run, which epoch, the metrics, and the time left; in a
notebook, a tqdm bar a run instead (tqdm.auto: a widget where ipywidgets is installed)."""

from __future__ import annotations

import sys
import time

import keras


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where a line an epoch would flood the cell's output)."""
    shell = sys.modules.get("IPython")
    try:
        return shell is not None and "IPKernelApp" in shell.get_ipython().config
    except AttributeError:  # IPython imported, no shell running
        return False


def format_seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class Progress:
    """Shared across several runs so the estimate covers the whole job."""

    def __init__(self, total_epochs: int, stream=None, bars: bool | None = None):
        self.total_epochs = total_epochs
        self.done_epochs = 0
        self.seconds = 0.0
        self.stream = stream or sys.stderr
        self.bars = in_notebook() if bars is None else bars
        self.prefix = ""  # e.g. "seed 1 ": which of the runs sharing this progress is training

    def callback(self, label: str, epochs: int) -> keras.callbacks.Callback:
        return _EpochLine(self, self.prefix + label, epochs)

    def skip(self, epochs: int) -> None:
        """Epochs that will not run (early stopping) leave the estimate."""
        self.total_epochs -= epochs


class _EpochLine(keras.callbacks.Callback):
    def __init__(self, progress: Progress, label: str, epochs: int):
        super().__init__()
        self.progress, self.label, self.epochs = progress, label, epochs
        self.ran = 0
        self.bar = None

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()
        if self.progress.bars and self.bar is None:
            import importlib.util

            # tqdm's widget needs ipywidgets (tqdm.auto without it warns "IProgress not found");
            # without, tqdm's text bar, which a notebook shows as well.
            if importlib.util.find_spec("ipywidgets") is not None:
                from tqdm.notebook import tqdm
            else:
                from tqdm.std import tqdm

            self.bar = tqdm(
                total=self.epochs, initial=epoch, desc=self.label, unit="epoch", file=self.progress.stream
            )

    def on_epoch_end(self, epoch, logs=None):
        p = self.progress
        took = time.perf_counter() - self.start
        p.done_epochs += 1
        p.seconds += took
        self.ran += 1
        per_epoch = p.seconds / p.done_epochs
        left_run = per_epoch * (self.epochs - epoch - 1)
        left_all = per_epoch * (p.total_epochs - p.done_epochs)
        shown = {k: v for k, v in (logs or {}).items() if k != "learning_rate"}
        if self.bar is not None:
            self.bar.set_postfix({k: f"{v:.4f}" for k, v in shown.items()}, refresh=False)
            self.bar.update(1)
            return
        metrics = "  ".join(f"{k} {v:.4f}" for k, v in shown.items())
        print(
            f"[{self.label}] epoch {epoch + 1}/{self.epochs}  {metrics}  {took:.1f}s"
            f"  ~{format_seconds(left_run)} left here, ~{format_seconds(left_all)} in all",
            file=p.stream,
            flush=True,
        )

    def on_train_end(self, logs=None):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        self.progress.skip(self.epochs - self.ran)
