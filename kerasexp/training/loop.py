"""The one training loop every experiment calls: input pipeline, compile from a config,
callbacks, fit. Seeded and deterministic on CPU."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

import kerasexp.training.warmup  # noqa: F401  (registers LinearWarmup: saved models with it load)
from kerasexp.config import TrainConfig
from kerasexp.data.dataset import ImageData
from kerasexp.errors import UserError, first_line
from kerasexp import rundir
from kerasexp.io import atomic_path, write_csv, write_json
from kerasexp.training.losses import LOSSES, class_weights
from kerasexp.training.optimizers import OPTIMIZERS
from kerasexp.training.schedules import build_schedule


@dataclass
class TrainResult:
    history: dict[str, list[float]]
    seconds: float
    epochs_run: int
    steps_per_epoch: int
    config: dict = field(default_factory=dict)
    resumed_from: int = 0

    def last(self, key: str) -> float:
        return float(self.history[key][-1])

    def best(self, key: str) -> float:
        values = self.history[key]
        return float(min(values) if key.endswith("loss") else max(values))


def seed_everything(seed: int) -> None:
    """Same seed, same numbers: seeds every generator and makes TF ops deterministic."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def use_xla(setting: str | bool = "auto") -> bool:
    if setting == "auto":
        return bool(tf.config.list_physical_devices("GPU"))
    return bool(setting)


def make_dataset(
    x: np.ndarray,
    y: np.ndarray,
    num_classes: int,
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
    weights: np.ndarray | None = None,
    augment: Callable | None = None,
    whole_batches: bool = False,
    epoch: int | Callable[[], int] = 0,
) -> tf.data.Dataset:
    """uint8 images and int labels -> batches of (float32 0-255 images, one-hot labels[, weights]).

    One pass over the images a iteration, for the epoch `epoch` (an int, or a function the loop
    points at its epoch counter, read each time an iteration starts). With `shuffle` the order is a
    permutation seeded by (seed, epoch), and each batch's augmentation seed is (seed, epoch) folded
    with the batch's number: functions of where the batch is in the run, never of how many epochs
    this process ran before, so a run resumed at epoch k sees exactly the batches an uninterrupted
    run sees from epoch k on. Casting and one-hot happen after batching (one vectorised op a
    batch). `augment(images, labels[, seed]) -> (images, labels)` runs on batches; per-class
    `weights` become per-sample weights y @ w after it, so mixed labels are weighted by their mix.
    `whole_batches` drops a last short batch: under a MirroredStrategy TF fails on one split
    unevenly over the replicas (AddN shapes), so there training and validation leave out the last
    len % batch_size images.
    """
    n = len(x)
    seed = tf.constant(seed, tf.int64)

    def epoch_batches(epoch):
        key = tf.stack([seed, epoch])
        # Shuffle indices, not images: a batch is one gather, the data is never copied.
        order = tf.range(n, dtype=tf.int64)
        if shuffle:
            order = tf.gather(order, tf.argsort(tf.random.stateless_uniform([n], seed=key)))
        batches = tf.data.Dataset.from_tensor_slices(order).batch(batch_size, drop_remainder=whole_batches)
        return batches.enumerate().map(
            lambda i, indices: (indices, tf.random.experimental.stateless_fold_in(key, i))
        )

    if callable(epoch):

        def current_epoch(_):
            value = tf.py_function(lambda: np.int64(epoch()), [], tf.int64)
            value.set_shape([])
            return value

        epochs = tf.data.Dataset.range(1).map(current_epoch)
    else:
        epochs = tf.data.Dataset.from_tensors(tf.constant(epoch, tf.int64))
    arrays = tf.data.Dataset.from_tensors((x, y)).repeat()

    def gather_batch(batch, arrays):
        (indices, batch_seed), (images, labels) = batch, arrays
        images = tf.cast(tf.gather(images, indices), tf.float32)
        return images, tf.one_hot(tf.gather(labels, indices), num_classes), batch_seed

    batches = n // batch_size if whole_batches else -(-n // batch_size)
    ds = tf.data.Dataset.zip(epochs.flat_map(epoch_batches), arrays).map(
        gather_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
    ds = ds.apply(tf.data.experimental.assert_cardinality(batches))  # Keras knows an epoch's steps up front
    if augment is not None and getattr(augment, "takes_seed", False):
        # Stateless policies (kerasexp.augment.compose) get the batch's seed.
        ds = ds.map(augment, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    elif augment is not None:
        ds = ds.map(
            lambda images, labels, _: augment(images, labels),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
    else:
        ds = ds.map(lambda images, labels, _: (images, labels))
    if weights is not None:
        w = tf.constant(weights, tf.float32)
        ds = ds.map(lambda images, labels: (images, labels, tf.linalg.matvec(labels, w)))
    return ds.prefetch(tf.data.AUTOTUNE).with_options(PIPELINE_OPTIONS)


class EpochCounter(keras.callbacks.Callback):
    """Writes the epoch the loop is in to `box[0]`, for the training pipeline to read when an
    epoch's pass starts (the pipeline holds the box, not this callback: a callback holds the model)."""

    def __init__(self, box: list):
        super().__init__()
        self.box = box

    def on_epoch_begin(self, epoch, logs=None):
        self.box[0] = epoch


def _pipeline_options() -> tf.data.Options:
    """tf.data's autotuner off: on few cores its background tuning stalled whole epochs of the
    training steps (a core left idle; `kerasexp bench train` shows it). Without it the AUTOTUNE'd maps run one call per
    core and prefetch a batch ahead, which keeps these in-memory pipelines ahead of the model."""
    options = tf.data.Options()
    options.autotune.enabled = False
    return options


PIPELINE_OPTIONS = _pipeline_options()


def compile_model(model: keras.Model, cfg: TrainConfig, steps_per_epoch: int) -> keras.Model:
    lr = build_schedule(
        cfg.schedule,
        cfg.learning_rate,
        steps_per_epoch,
        warmup_epochs=cfg.warmup_epochs,
        every=cfg.step_every,
        factor=cfg.step_factor,
        epochs=cfg.epochs,
        min_lr_ratio=cfg.min_lr_ratio,
    )
    model.compile(
        optimizer=OPTIMIZERS[cfg.optimizer](cfg, lr),
        loss=LOSSES[cfg.loss](cfg),
        metrics=metrics_for(cfg),
        jit_compile=use_xla(cfg.jit_compile),
        # Keras' multi-step loop fails under a MirroredStrategy (an unfed placeholder in
        # its while loop): replicated training runs one step a call.
        steps_per_execution=1
        if tf.distribute.get_strategy().num_replicas_in_sync > 1
        else cfg.steps_per_execution,
    )
    return model


def metrics_for(cfg: TrainConfig) -> list:
    metrics = ["accuracy"]
    if cfg.macro_f1 or "macro_f1" in cfg.monitor:
        metrics.append(keras.metrics.F1Score(average="macro", name="macro_f1"))
    return metrics


class HistoryFile(keras.callbacks.Callback):
    """history.csv with one row an epoch, rewritten atomically after each; on a resume at epoch k
    it keeps the first k rows (and drops any epoch the backup did not reach)."""

    def __init__(self, path: str | Path, initial_epoch: int = 0):
        super().__init__()
        self.path = Path(path)
        self.initial_epoch = initial_epoch
        self.rows: list[dict] = []
        if initial_epoch and self.path.exists():
            self.rows = rundir.read_csv(self.path).head(initial_epoch).to_dict("records")

    def on_epoch_begin(self, epoch, logs=None):
        self.learning_rate = float(self.model.optimizer.learning_rate)  # the rate this epoch trains at

    def on_epoch_end(self, epoch, logs=None):
        import pandas as pd

        row = {
            "epoch": epoch,
            "learning_rate": self.learning_rate,
            **{k: float(v) for k, v in (logs or {}).items() if k != "learning_rate"},
        }
        self.rows.append(row)
        write_csv(self.path, pd.DataFrame(self.rows))

    def history(self) -> dict[str, list[float]]:
        keys = [k for k in (self.rows[0] if self.rows else {}) if k != "epoch"]
        return {k: [float(r[k]) for r in self.rows] for k in keys}


class AtomicCheckpoint(keras.callbacks.Callback):
    """Save the model whenever `monitor` improves, via a temporary file and a rename,
    so a crash mid-save never leaves a corrupt checkpoint. On a resume it starts from the
    best value already in the history."""

    def __init__(self, path: str | Path, monitor: str = "val_accuracy", history: HistoryFile | None = None):
        super().__init__()
        self.path = Path(path)
        self.monitor = monitor
        self.history = history
        past = [r[monitor] for r in (history.rows if history else []) if monitor in r]
        self.best = best_value(past, monitor) if past and self.path.exists() else None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            raise UserError(
                f"monitor {self.monitor!r} is not logged; logged: {', '.join(sorted(logs or {}))}"
            )
        if self.best is None or improves(value, self.best, self.monitor):
            self.best = value
            with atomic_path(self.path) as tmp:
                self.model.save(tmp)


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
    epochs come from the history and their best weights from the checkpoint."""

    def __init__(
        self, monitor: str, patience: int = 0, past: list[dict] = (), checkpoint: Path | None = None
    ):
        super().__init__()
        self.monitor, self.patience, self.checkpoint = monitor, patience, checkpoint
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
        elif self.best_epoch >= 0 and self.checkpoint is not None and self.checkpoint.exists():
            model.set_weights(keras.saving.load_model(self.checkpoint, compile=False).get_weights())


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


class EpochBackup(keras.callbacks.Callback):
    """The last finished epochs, for resuming a killed run exactly where it stopped: weights with
    the optimizer's state, the layers' random-generator states and the epoch number. Each epoch
    writes epoch_K.weights.h5, then epoch_K.json (the marker that the backup is whole), both via a
    temporary name and a rename; the newest two are kept, so a damaged file falls back to the one
    before (or to a fresh start), with a one-line warning instead of a traceback."""

    KEEP = 2

    def __init__(self, folder: str | Path):
        super().__init__()
        self.folder = Path(folder)

    def markers(self) -> list[tuple[int, Path]]:
        found = []
        for path in self.folder.glob("epoch_*.json"):
            number = path.stem.split("_", 1)[1]
            if number.isdigit():
                found.append((int(number), path))
        return sorted(found, reverse=True)

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.folder / f"epoch_{done}.weights.h5", suffix=".weights.h5") as tmp:
            self.model.save_weights(tmp)
        write_json(self.folder / f"epoch_{done}.json", {"epoch": done, "rng": rng_states(self.model)})
        for number, marker in self.markers()[self.KEEP :]:
            marker.unlink(missing_ok=True)
            (self.folder / f"epoch_{number}.weights.h5").unlink(missing_ok=True)

    def restore(self, model, warn=None) -> int:
        """Load the newest whole backup into `model` and return its epoch count; 0 (and `model` as
        it was) when there is none or none loads."""
        import sys

        warn = warn or (lambda text: print(f"kerasexp: warning: {text}", file=sys.stderr))
        markers = self.markers()
        if not markers:
            return 0
        for number, marker in markers:
            try:
                meta = json.loads(marker.read_text())
                load_state(model, self.folder / f"epoch_{number}.weights.h5", meta["rng"])
                return int(meta["epoch"])
            except (OSError, ValueError, KeyError, TypeError) as err:
                warn(
                    f"backup of epoch {number} in {self.folder} is damaged ({first_line(err, 120)}); trying an earlier one"
                )
        warn(f"no usable backup in {self.folder}: this run restarts from its first epoch")
        return 0


def train(
    model: keras.Model,
    data: ImageData,
    cfg: TrainConfig,
    out_dir: str | Path | None = None,
    callbacks: list[keras.callbacks.Callback] = (),
    augment: Callable | None = None,
    resume: bool = True,
) -> TrainResult:
    """Compile `model` from `cfg` and fit it on data's train split, validating on its val split.

    With `out_dir`, history.csv has one row an epoch and best.keras the best `monitor`.
    With `resume` too, the run is resumable: backup/ holds the last finished epochs (weights,
    optimizer and random-generator states, epoch number), final.weights.h5 and done.json the
    finished run. Calling again with the same out_dir continues a killed run from its last
    finished epoch and ends where the uninterrupted run ends, bit for bit on CPU; a finished run
    is loaded, not retrained. Seed (seed_everything) before building the model so its initial
    weights are seeded too.
    """
    keras.utils.set_random_seed(cfg.seed)
    weights = class_weights(data.y_train, data.num_classes, cfg.class_weight)
    replicated = tf.distribute.get_strategy().num_replicas_in_sync > 1
    steps_per_epoch = (
        (np.floor if replicated else np.ceil)(len(data.x_train) / cfg.batch_size).astype(int).item()
    )
    compile_model(model, cfg, steps_per_epoch)

    initial, backup, history_file, all_callbacks = 0, None, None, [StopOnNaN(cfg.learning_rate)]
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        if resume:
            finished = load_finished(model, out_dir, steps_per_epoch, cfg)
            if finished is not None:
                return finished
            backup = EpochBackup(out_dir / rundir.BACKUP)
            initial = backup.restore(model)
            if initial:
                import sys

                at = f"epoch {initial + 1} of {cfg.epochs}" if initial < cfg.epochs else "its end"
                print(f"resumed {out_dir} at {at} ({initial} epochs trained before)", file=sys.stderr)
        history_file = HistoryFile(out_dir / rundir.HISTORY, initial)
        check_history_covers(history_file, initial)
        all_callbacks += [
            history_file,
            AtomicCheckpoint(out_dir / rundir.BEST_MODEL, cfg.monitor, history_file),
        ]
    best = None
    if cfg.early_stopping_patience or cfg.restore_best:
        best = BestEpoch(
            cfg.monitor,
            cfg.early_stopping_patience,
            history_file.rows if history_file else [],
            out_dir / rundir.BEST_MODEL if out_dir is not None else None,
        )
        all_callbacks.append(best)
    if cfg.schedule == "plateau":
        all_callbacks.append(
            ResumablePlateau(
                history_file.rows[:initial] if history_file else [],
                monitor="val_loss",
                factor=cfg.plateau_factor,
                patience=cfg.plateau_patience,
            )
        )
    if backup is not None:
        all_callbacks.append(backup)  # after the history and the checkpoint: a backup's epoch is in both
    # the caller's last: the epoch they see is already in the history, the checkpoint and the backup,
    # so one that raises (a user's, kerasexp.train(callbacks=...)) leaves a run that resumes after it
    all_callbacks += list(callbacks)

    epoch_box = [initial]
    counter = EpochCounter(epoch_box)  # first: the pipeline reads the box when the epoch's pass starts
    train_ds = make_dataset(
        data.x_train,
        data.y_train,
        data.num_classes,
        cfg.batch_size,
        True,
        cfg.seed,
        weights=weights,
        augment=augment,
        whole_batches=replicated,
        epoch=lambda: epoch_box[0],
    )
    val_ds = make_dataset(data.x_val, data.y_val, data.num_classes, cfg.batch_size, whole_batches=replicated)
    start = time.perf_counter()
    history = None
    if initial < cfg.epochs and not (best is not None and best.stale()):
        history = model.fit(
            train_ds,
            validation_data=val_ds,
            epochs=cfg.epochs,
            initial_epoch=initial,
            callbacks=[counter, *all_callbacks],
            shuffle=False,
            verbose=0,
        )
    seconds = time.perf_counter() - start
    if best is not None:
        best.restore(model)  # also when patience never ran out
    if history_file is not None:
        hist = history_file.history()
        if resume:
            with atomic_path(out_dir / rundir.FINAL_WEIGHTS, suffix=".weights.h5") as tmp:
                model.save_weights(tmp)
            write_json(
                out_dir / rundir.DONE,
                {
                    "history": hist,
                    "seconds": seconds,
                    "epochs_run": len(hist.get("loss", [])),
                    "rng": rng_states(model),
                },
            )
    else:
        hist = {k: [float(v) for v in vals] for k, vals in history.history.items()}
    return TrainResult(hist, seconds, len(hist.get("loss", [])), steps_per_epoch, asdict(cfg), initial)


def check_history_covers(history_file: HistoryFile, epochs: int) -> None:
    """A resume at epoch k needs the k rows of history.csv before it (early stopping, the best epoch
    and the plateau schedule replay them): with fewer the resumed run would end elsewhere, so it is
    refused rather than rebuilt."""
    if len(history_file.rows) < epochs:
        raise UserError(
            f"{history_file.path} has {len(history_file.rows)} rows but the backup resumes "
            f"after epoch {epochs}; put the history back, or delete {history_file.path.parent} "
            "to start over"
        )


def load_finished(model, out_dir: Path, steps_per_epoch: int, cfg: TrainConfig) -> TrainResult | None:
    """A finished training in out_dir loaded into `model` (None when there is none). Final weights
    that do not load are refused in one line, never taken for damage to repair: they may be another
    config's run (kerasexp.rundir.check_same_config refuses that first, under the folder's lock), and
    only the user deletes done.json."""
    done = out_dir / rundir.DONE
    if not (done.exists() and (out_dir / rundir.FINAL_WEIGHTS).exists()):
        return None
    try:
        saved = json.loads(done.read_text())
        load_state(model, out_dir / rundir.FINAL_WEIGHTS, saved.get("rng"))
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise UserError(
            f"the finished run's weights in {out_dir} do not load into this model "
            f"({first_line(err, 120)}); if they are damaged, delete {done} to retrain from its "
            "backup, else give another --out"
        ) from None
    return TrainResult(
        saved["history"],
        saved["seconds"],
        saved["epochs_run"],
        steps_per_epoch,
        asdict(cfg),
        resumed_from=saved["epochs_run"],
    )
