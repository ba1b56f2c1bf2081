"""The training loop's own Keras callbacks: the epoch counter the input pipeline reads, history.csv,
the best checkpoint, a stop at a diverged loss, early stopping with the best epoch's weights, and a
plateau schedule that a resumed run rebuilds. Each that keeps state across epochs takes a resumed
run's earlier epochs (from its history) so the run ends where an uninterrupted one ends."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from kerasexp import rundir
from kerasexp.errors import UserError


class EpochCounter(keras.callbacks.Callback):
    """Writes the epoch the loop is in to `box[0]`, for the training pipeline to read when an
    epoch's pass starts (the pipeline holds the box, not this callback: a callback holds the model)."""

    def __init__(self, box: list):
        super().__init__()
        self.box = box

    def on_epoch_begin(self, epoch, logs=None):
        self.box[0] = epoch


class HistoryFile(keras.callbacks.Callback):
    """history.csv with one row an epoch, rewritten atomically after each; on a resume at epoch k
    it keeps the first k rows (and drops any epoch the backup did not reach)."""

    def __init__(self, out_dir: str | Path, initial_epoch: int = 0):
        super().__init__()
        self.out_dir = Path(out_dir)
        self.path = self.out_dir / rundir.HISTORY  # named in messages; rundir writes it
        self.initial_epoch = initial_epoch
        self.rows: list[dict] = rundir.read_history_rows(self.out_dir, initial_epoch)

    def on_epoch_begin(self, epoch, logs=None):
        self.learning_rate = float(self.model.optimizer.learning_rate)  # the rate this epoch trains at

    def on_epoch_end(self, epoch, logs=None):
        row = {
            "epoch": epoch,
            "learning_rate": self.learning_rate,
            **{k: float(v) for k, v in (logs or {}).items() if k != "learning_rate"},
        }
        self.rows.append(row)
        rundir.write_history(self.out_dir, self.rows)

    def history(self) -> dict[str, list[float]]:
        keys = [k for k in (self.rows[0] if self.rows else {}) if k != "epoch"]
        return {k: [float(r[k]) for r in self.rows] for k in keys}


class AtomicCheckpoint(keras.callbacks.Callback):
    """Save the model (rundir.save_best: a temporary file and a rename) whenever `monitor`
    improves. On a resume it starts from the best value already in the history."""

    def __init__(
        self, out_dir: str | Path, monitor: str = "val_accuracy", history: HistoryFile | None = None
    ):
        super().__init__()
        self.out_dir = Path(out_dir)
        self.monitor = monitor
        self.history = history
        past = [r[monitor] for r in (history.rows if history else []) if monitor in r]
        saved = rundir.best_model(self.out_dir) is not None
        self.best = best_value(past, monitor) if past and saved else None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            raise UserError(
                f"monitor {self.monitor!r} is not logged; logged: {', '.join(sorted(logs or {}))}"
            )
        if self.best is None or improves(value, self.best, self.monitor):
            self.best = value
            rundir.save_best(self.model, self.out_dir)


class StopOnNaN(keras.callbacks.Callback):
    """Stop at the first step whose loss is NaN or infinite with one line that says so (Keras'
    TerminateOnNaN stops silently, and the run would end "finished" with NaN metrics). The TF
    backend hands callbacks every step's logs as Python numbers anyway, so this costs nothing."""

    def __init__(self, learning_rate: float):
        super().__init__()
        self.learning_rate, self.epoch = learning_rate, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(loss):
            raise UserError(
                f"training diverged: loss is {float(loss)} at epoch {self.epoch + 1} step "
                f"{batch + 1}; lower training.learning_rate (now {self.learning_rate:g})"
            )


def improves(value: float, best: float, monitor: str) -> bool:
    return value < best if monitor.endswith("loss") else value > best


def best_value(values, monitor: str) -> float:
    return min(values) if monitor.endswith("loss") else max(values)


class BestEpoch(keras.callbacks.Callback):
    """Early stopping and "end with the best epoch's weights", over a resumed run's earlier epochs
    too (Keras' EarlyStopping forgets them): stops after `patience` epochs without a better
    `monitor` (0: never) and keeps the best epoch's weights in memory; on a resume the earlier
    epochs come from the history and their best weights from out_dir's checkpoint."""

    def __init__(self, monitor: str, patience: int = 0, past: list[dict] = (), out_dir: Path | None = None):
        super().__init__()
        self.monitor, self.patience, self.out_dir = monitor, patience, out_dir
        values = [r[monitor] for r in past]
        self.best = best_value(values, monitor) if values else None
        self.best_epoch = values.index(self.best) if values else -1
        self.epochs_seen = len(values)
        self.weights = None  # in memory when the best epoch ran in this process

    def on_epoch_end(self, epoch, logs=None):
        value = float((logs or {})[self.monitor])
        self.epochs_seen = epoch + 1
        if self.best is None or improves(value, self.best, self.monitor):
            self.best, self.best_epoch, self.weights = value, epoch, self.model.get_weights()
        elif self.stale():
            self.model.stop_training = True

    def stale(self) -> bool:
        return (
            bool(self.patience)
            and self.best_epoch >= 0
            and self.epochs_seen - 1 - self.best_epoch >= self.patience
        )

    def restore(self, model) -> None:
        """Put the best epoch's weights into `model` (from memory, else the checkpoint)."""
        if self.weights is not None:
            model.set_weights(self.weights)
            return
        checkpoint = rundir.best_model(self.out_dir) if self.out_dir is not None else None
        if self.best_epoch >= 0 and checkpoint is not None:
            model.set_weights(keras.saving.load_model(checkpoint, compile=False).get_weights())


class ResumablePlateau(keras.callbacks.ReduceLROnPlateau):
    """ReduceLROnPlateau that a resumed run rebuilds from the epochs it already trained: its
    counters (best, wait, cooldown) replay those epochs' `monitor` values, so it lowers the rate at
    the same epochs as an uninterrupted run. The rate itself comes back with the optimizer's
    state (a variable of it), so the replay leaves it as restored."""

    def __init__(self, past: list[dict], **kwargs):
        super().__init__(**kwargs)
        self.past = [dict(row) for row in past]

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if not self.past:
            return
        restored = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        for epoch, row in enumerate(self.past):
            super().on_epoch_end(epoch, {self.monitor: row[self.monitor]})
        self.model.optimizer.learning_rate = restored
