"""Exact resume: what Keras does not save with the weights (the layers' random-generator states),
the backup of the last finished epochs, and loading a finished or partial run's state back into a
model. A killed run rerun into the same folder ends bit for bit where the uninterrupted one ends
(on CPU); the files themselves are written and read by kerasexp.rundir."""

from __future__ import annotations

import sys
from pathlib import Path

import keras
import numpy as np

from kerasexp import rundir
from kerasexp.errors import UserError, first_line

# what a damaged backup or finished run raises when read or loaded
DAMAGE = (OSError, ValueError, KeyError, TypeError)


def rng_states(model) -> list[list[int]]:
    """The states of the model's random generators (Dropout and other layers' SeedGenerators):
    Keras does not save them with the weights, and an exact resume needs them."""
    return [v.numpy().tolist() for v in model.variables if v.path.endswith("seed_generator_state")]


def set_rng_states(model, states: list) -> None:
    variables = [v for v in model.variables if v.path.endswith("seed_generator_state")]
    if len(variables) != len(states):
        raise ValueError(f"{len(states)} random-generator states saved, the model has {len(variables)}")
    for variable, state in zip(variables, states):
        variable.assign(np.asarray(state, dtype=variable.dtype))


def load_state(model, weights: Path, rng: list | None) -> None:
    """Load weights (with the optimizer's state, built first so it is read too) and the random-
    generator states into `model`; if that fails, put `model` back as it was and re-raise."""
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    variables = [*model.variables, *(model.optimizer.variables if model.optimizer else [])]
    saved = [v.numpy() for v in variables]
    try:
        model.load_weights(weights)
        if rng is not None:
            set_rng_states(model, rng)
    except BaseException:
        for variable, value in zip(variables, saved):
            variable.assign(value)
        raise


def _warn(text: str) -> None:
    print(f"kerasexp: warning: {text}", file=sys.stderr)


class EpochBackup(keras.callbacks.Callback):
    """The last finished epochs, for resuming a killed run exactly where it stopped: weights with
    the optimizer's state, the layers' random-generator states and the epoch number. Each epoch
    writes epoch_K.weights.h5, then epoch_K.json (the marker that the backup is whole), both via a
    temporary name and a rename (rundir.save_backup); the newest two are kept, so a damaged file
    falls back to the one before (or to a fresh start), with a one-line warning instead of a
    traceback."""

    KEEP = 2

    def __init__(self, folder: str | Path):
        super().__init__()
        self.folder = Path(folder)

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        record = {"epoch": done, "rng": rng_states(self.model)}
        rundir.save_backup(self.model, self.folder, done, record, keep=self.KEEP)

    def restore(self, model, warn=None) -> int:
        """Load the newest whole backup into `model` and return its epoch count; 0 (and `model` as
        it was) when there is none or none loads."""
        warn = warn or _warn
        numbers = rundir.backup_epochs(self.folder)
        if not numbers:
            return 0
        for number in numbers:
            try:
                meta, weights = rundir.read_backup(self.folder, number)
                load_state(model, weights, meta["rng"])
                return int(meta["epoch"])
            except DAMAGE as err:
                warn(
                    f"backup of epoch {number} in {self.folder} is damaged ({first_line(err, 120)}); "
                    "trying an earlier one"
                )
        warn(f"no usable backup in {self.folder}: this run restarts from its first epoch")
        return 0


def check_history_covers(history_file, epochs: int) -> None:
    """A resume at epoch k needs the k rows of history.csv before it (early stopping, the best epoch
    and the plateau schedule replay them; `history_file` a callbacks.HistoryFile): with fewer the
    resumed run would end elsewhere, so it is refused rather than rebuilt."""
    if len(history_file.rows) < epochs:
        raise UserError(
            f"{history_file.path} has {len(history_file.rows)} rows but the backup resumes "
            f"after epoch {epochs}; put the history back, or delete {history_file.path.parent} "
            "to start over"
        )


def load_finished(model, out_dir: Path) -> dict | None:
    """A finished training in out_dir loaded into `model`: its done.json record (None when there
    is none). Final weights that do not load are refused in one line, never taken for damage to
    repair: they may be another config's run (kerasexp.rundir.check_same_config refuses that first,
    under the folder's lock), and only the user deletes done.json."""
    try:
        finished = rundir.read_finished(out_dir)
        if finished is None:
            return None
        saved, weights = finished
        load_state(model, weights, saved.get("rng"))
    except DAMAGE as err:
        raise UserError(
            f"the finished run's weights in {out_dir} do not load into this model "
            f"({first_line(err, 120)}); if they are damaged, delete {Path(out_dir) / rundir.DONE} "
            "to retrain from its backup, else give another --out"
        ) from None
    return saved
