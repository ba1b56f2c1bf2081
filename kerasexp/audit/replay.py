"""`kerasexp reports check --replay N`: retrain a recorded run's first epoch and compare it.

The run's full config trains (its epochs too: a schedule depends on them) into a temporary
folder and a callback stops it after epoch 1; history.csv's first row must then equal the
recorded one exactly. That only holds on the same kernels: where the record's CPU flags, cores or
libraries differ from this machine's, the run is named as not compared, and why. The replay trains
in a process of its own at the thread settings the run recorded (a run of the many-runs fast path
trained at one thread), so those are reproduced rather than compared."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from kerasexp import rundir
from kerasexp.errors import UserError

# the machine record's keys that decide a training's last bits (kerasexp.provenance)
SAME_MACHINE = ("cpu_flags", "cores", "onednn", "tensorflow", "keras", "numpy")


def machine_difference(recorded: dict, here: dict) -> str | None:
    """Why a recorded run's bits cannot be expected here (None: same kernels and libraries)."""
    for key in SAME_MACHINE:
        if recorded.get(key) != here.get(key):
            return f"its machine's {key} is {recorded.get(key)!r}, here {here.get(key)!r}"
    return None


def replayable(run: Path, max_images: int | None) -> str | None:
    """Why a run's first epoch cannot be replayed alone (None: it can)."""
    config, record = rundir.read_config(run), rundir.read_record(run)
    if not (run / rundir.HISTORY).exists():
        return "no history.csv (a k-fold run keeps one a fold)"
    if config.get("training", {}).get("head_epochs"):
        return "its first epochs train the head alone (head/): replay covers one-phase runs"
    if max_images and (record.get("train_images") or 0) > max_images:
        return f"{record.get('train_images')} training images, more than --replay-max-images {max_images}"
    return None


def choose(runs: list[Path], n: int, seed: int, max_images: int | None) -> list[Path]:
    """n replayable runs, drawn by `seed` (the same seed draws the same runs)."""
    candidates = [r for r in runs if (r / rundir.PREDICTIONS).exists() and replayable(r, max_images) is None]
    return sorted(random.Random(seed).sample(candidates, min(n, len(candidates))))


def first_epoch(run: Path) -> dict:
    """history.csv's first row of the run's first epoch trained again, in a process of its own at
    the run's recorded TF threads (global to a process, and fixed once TF has run an op)."""
    from kerasexp.processes import call_in_child

    threads = rundir.read_record(run).get("machine", {}).get("tf_threads") or {}
    kind, value = call_in_child(
        _first_epoch_at, str(run), threads.get("intra_op", 0), threads.get("inter_op", 0)
    )
    if kind == "refused":
        raise UserError(value)
    return value


def _first_epoch_at(run: str, intra_op: int, inter_op: int) -> tuple[str, object]:
    import kerasexp

    tf = kerasexp.import_tensorflow_quietly()
    tf.config.threading.set_intra_op_parallelism_threads(intra_op)
    tf.config.threading.set_inter_op_parallelism_threads(inter_op)
    try:
        return "done", _first_epoch(Path(run))
    except UserError as err:
        return "refused", str(err)


def _first_epoch(run: Path) -> dict:
    """Train the run's config for its first epoch in a temporary folder; history.csv's first row."""
    import keras

    from kerasexp.config import experiment_from_dict
    from kerasexp.data import load_dataset
    from kerasexp.training.session import train_experiment

    class StopAfterFirstEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = True

    exp = experiment_from_dict(rundir.read_config(run))
    data = load_dataset(exp.dataset)
    with tempfile.TemporaryDirectory(prefix="kerasexp-replay-") as folder:
        train_experiment(exp, data, folder, callbacks=[StopAfterFirstEpoch()], resume=False)
        return first_row(Path(folder) / rundir.HISTORY)


def first_row(history: Path) -> dict[str, str]:
    """history.csv's first epoch as written: {column: its text} (text, so equal means bit-equal)."""
    import csv

    with open(history, newline="", encoding="utf-8") as f:
        rows = csv.DictReader(f)
        row = next(rows, None)
    if row is None:
        raise UserError(f"{history} has no epoch row; train the run again")
    return row


def replay_one(run: Path) -> tuple[str, str]:
    """("ok" | "failed" | "not compared", why) for one run."""
    from kerasexp.provenance import machine_description

    why = machine_difference(rundir.read_record(run).get("machine", {}), machine_description())
    if why:
        return "not compared", why
    recorded = first_row(run / rundir.HISTORY)
    try:
        replayed = first_epoch(run)
    except UserError as err:
        return "not compared", f"it does not train here ({err})"
    differ = [k for k in sorted(set(recorded) | set(replayed)) if recorded.get(k) != replayed.get(k)]
    if differ:
        key = differ[0]
        return "failed", (
            f"first epoch's {key} is {replayed.get(key)!r} replayed, {recorded.get(key)!r} "
            f"recorded ({len(differ)} columns differ)"
        )
    return "ok", f"first epoch equals history.csv's first row ({', '.join(sorted(recorded))})"


def replay_runs(runs: list[Path], n: int, seed: int, max_images: int | None, audit) -> None:
    """Replay n runs drawn by `seed`; a mismatch is a problem, a run not comparable a note."""
    import kerasexp

    kerasexp.import_tensorflow_quietly()
    chosen = choose(runs, n, seed, max_images)
    if len(chosen) < n:
        limit = f", at most {max_images} training images" if max_images else ""
        audit.notes.append(
            f"replay: {len(chosen)} of the {n} runs asked for can be replayed "
            f"(single split, one phase{limit})"
        )
    for run in chosen:
        verdict, why = replay_one(run)
        if verdict == "failed":
            audit.fail("replay-failed", run, why)
        else:
            audit.notes.append(f"replay {verdict} {run}: {why}")
