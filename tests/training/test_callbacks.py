"""The loop's own callbacks (kerasexp/training/callbacks.py) on their own, without a fit: what each
keeps from a resumed run's earlier epochs, and what it writes through kerasexp.rundir. Whole runs:
test_loop.py, test_resume.py, test_nan_loss.py."""

import math
from types import SimpleNamespace

import pandas as pd
import pytest

from kerasexp.errors import UserError
from kerasexp.training.callbacks import (
    AtomicCheckpoint,
    BestEpoch,
    EpochCounter,
    HistoryFile,
    StopOnNaN,
    best_value,
    improves,
)

PAST = [
    {"epoch": 0, "learning_rate": 0.1, "loss": 1.0, "val_loss": 3.0, "val_accuracy": 0.5},
    {"epoch": 1, "learning_rate": 0.1, "loss": 0.8, "val_loss": 2.0, "val_accuracy": 0.7},
    {"epoch": 2, "learning_rate": 0.1, "loss": 0.7, "val_loss": 2.5, "val_accuracy": 0.6},
]


def test_the_monitor_direction_is_read_from_its_name():
    assert improves(1.0, 2.0, "val_loss") and not improves(2.0, 1.0, "val_loss")
    assert improves(0.8, 0.7, "val_accuracy") and not improves(0.7, 0.7, "val_accuracy")
    assert best_value([3.0, 2.0, 2.5], "loss") == 2.0 and best_value([0.5, 0.7, 0.6], "val_macro_f1") == 0.7


def test_the_epoch_counter_writes_the_epoch_into_the_pipelines_box():
    box = [0]
    EpochCounter(box).on_epoch_begin(4)
    assert box == [4]


def test_a_resumed_history_keeps_its_first_rows_and_appends_through_rundir(tmp_path):
    pd.DataFrame(PAST).to_csv(tmp_path / "history.csv", index=False)
    assert HistoryFile(tmp_path, 0).rows == []  # a fresh start ignores an old file
    history = HistoryFile(tmp_path, 2)  # the backup reached epoch 2: epoch 3's row is dropped
    assert history.rows == PAST[:2] and history.path == tmp_path / "history.csv"
    history.learning_rate = 0.05
    history.on_epoch_end(2, {"loss": 0.5, "val_loss": 1.5, "val_accuracy": 0.75, "learning_rate": 9.0})
    written = pd.read_csv(tmp_path / "history.csv").to_dict("records")
    assert written == [
        *PAST[:2],
        {"epoch": 2, "learning_rate": 0.05, "loss": 0.5, "val_loss": 1.5, "val_accuracy": 0.75},
    ]
    assert history.history()["val_loss"] == [3.0, 2.0, 1.5]


def test_the_checkpoint_resumes_from_the_best_saved_value_only_when_best_keras_is_there(tmp_path):
    history = SimpleNamespace(rows=PAST)
    assert AtomicCheckpoint(tmp_path, "val_accuracy", history).best is None  # nothing saved yet
    (tmp_path / "best.keras").write_bytes(b"")
    assert AtomicCheckpoint(tmp_path, "val_accuracy", history).best == 0.7
    assert AtomicCheckpoint(tmp_path, "val_loss", history).best == 2.0


def test_a_monitor_the_loop_does_not_log_is_one_line(tmp_path):
    with pytest.raises(UserError, match=r"^monitor 'val_f1' is not logged; logged: loss, val_loss$"):
        AtomicCheckpoint(tmp_path, "val_f1").on_epoch_end(0, {"val_loss": 1.0, "loss": 2.0})


def test_a_diverged_loss_stops_at_its_step_in_one_line():
    stop = StopOnNaN(0.3)
    stop.on_epoch_begin(1)
    stop.on_train_batch_end(0, {"loss": 1.5})  # finite: nothing happens
    with pytest.raises(UserError) as err:
        stop.on_train_batch_end(6, {"loss": math.inf})
    assert str(err.value) == (
        "training diverged: loss is inf at epoch 2 step 7; lower training.learning_rate (now 0.3)"
    )


class FakeModel:
    """What BestEpoch reads of a model: its weights and the stop flag."""

    def __init__(self):
        self.stop_training, self.weights = False, None

    def get_weights(self):
        return ["weights of the epoch"]

    def set_weights(self, weights):
        self.weights = weights


def test_best_epoch_replays_a_resumed_runs_epochs_and_stops_after_patience():
    best = BestEpoch("val_loss", patience=2, past=PAST)
    assert (best.best, best.best_epoch, best.epochs_seen, best.stale()) == (2.0, 1, 3, False)
    model = FakeModel()
    best.set_model(model)
    best.on_epoch_end(3, {"val_loss": 2.2})  # epoch 4: second without a better loss
    assert best.stale() and model.stop_training and best.weights is None
    assert BestEpoch("val_loss", patience=0, past=PAST + PAST).stale() is False  # 0: never stops


def test_best_epoch_restores_from_memory_else_leaves_the_model_without_a_checkpoint(tmp_path):
    best = BestEpoch("val_accuracy", past=PAST, out_dir=tmp_path)
    model = FakeModel()
    best.restore(model)  # the best epoch ran before this process and no best.keras: nothing to load
    assert model.weights is None
    best.set_model(model)
    best.on_epoch_end(3, {"val_accuracy": 0.9})
    best.restore(model)
    assert best.best_epoch == 3 and model.weights == ["weights of the epoch"]
