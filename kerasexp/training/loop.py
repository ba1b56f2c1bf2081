"""The one training loop every experiment calls: input pipeline, compile from a config,
callbacks, fit. Seeded and deterministic on CPU."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

import kerasexp.training.warmup  # noqa: F401  (registers LinearWarmup: saved models with it load)
from kerasexp.config import TrainConfig
from kerasexp.data.dataset import ImageData
from kerasexp.errors import UserError
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
) -> tf.data.Dataset:
    """uint8 images and int labels -> batches of (float32 0-255 images, one-hot labels[, weights]).

    Casting and one-hot happen after batching (one vectorised op a batch); the shuffle order
    is seeded and changes every epoch. `augment(images, labels[, seed]) -> (images, labels)` runs on
    batches (training only); per-class `weights` become per-sample weights y @ w after it, so
    mixed labels are weighted by their mix. `whole_batches` drops a last short batch: under a
    MirroredStrategy TF 2.21 fails on one split unevenly over the replicas (AddN shapes), so
    there training and validation leave out the last len % batch_size images.
    """
    # Shuffle indices, not images: the order is the one shuffling the images with this seed
    # gives, but the buffer holds n integers instead of a copy of the data; a batch is one gather.
    order = tf.data.Dataset.range(len(x))
    if shuffle:
        order = order.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    arrays = tf.data.Dataset.from_tensors((x, y)).repeat()

    def gather_batch(indices, arrays):
        images, labels = arrays
        return tf.cast(tf.gather(images, indices), tf.float32), tf.one_hot(tf.gather(labels, indices), num_classes)

    ds = tf.data.Dataset.zip(order.batch(batch_size, drop_remainder=whole_batches), arrays).map(
        gather_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if augment is not None and getattr(augment, "takes_seed", False):
        # Stateless policies (kerasexp.augment.compose) get one seed pair a batch, new each epoch.
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2, drop_remainder=True)
        ds = tf.data.Dataset.zip(ds, seeds).map(lambda batch, s: augment(*batch, s),
                                                num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    elif augment is not None:
        ds = ds.map(augment, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if weights is not None:
        w = tf.constant(weights, tf.float32)
        ds = ds.map(lambda images, labels: (images, labels, tf.linalg.matvec(labels, w)))
    return ds.prefetch(tf.data.AUTOTUNE).with_options(PIPELINE_OPTIONS)


def _pipeline_options() -> tf.data.Options:
    """tf.data's autotuner off: on 2 cores its background tuning stalled whole epochs of the
    training steps (a core idle, 2,300 instead of 4,300 img/s for the Annex-1 baseline, in about
    one epoch of three; `kerasexp bench train`). Without it the AUTOTUNE'd maps run one call per
    core and prefetch a batch ahead, which keeps these in-memory pipelines ahead of the model."""
    options = tf.data.Options()
    options.autotune.enabled = False
    return options


PIPELINE_OPTIONS = _pipeline_options()


def compile_model(model: keras.Model, cfg: TrainConfig, steps_per_epoch: int) -> keras.Model:
    lr = build_schedule(
        cfg.schedule, cfg.learning_rate, steps_per_epoch, warmup_epochs=cfg.warmup_epochs,
        every=cfg.step_every, factor=cfg.step_factor, epochs=cfg.epochs, min_lr_ratio=cfg.min_lr_ratio,
    )
    model.compile(
        optimizer=OPTIMIZERS[cfg.optimizer](cfg, lr),
        loss=LOSSES[cfg.loss](cfg),
        metrics=metrics_for(cfg),
        jit_compile=use_xla(cfg.jit_compile),
        # Keras 3.15's multi-step loop fails under a MirroredStrategy (an unfed placeholder in
        # its while loop): replicated training runs one step a call.
        steps_per_execution=1 if tf.distribute.get_strategy().num_replicas_in_sync > 1 else cfg.steps_per_execution,
    )
    return model


def metrics_for(cfg: TrainConfig) -> list:
    metrics = ["accuracy"]
    if cfg.macro_f1 or "macro_f1" in cfg.monitor:
        metrics.append(keras.metrics.F1Score(average="macro", name="macro_f1"))
    return metrics


class HistoryFile(keras.callbacks.Callback):
    """history.csv with one row an epoch, rewritten atomically after each; on a resume it keeps
    the rows of the epochs already done (and drops any epoch the backup did not reach)."""

    def __init__(self, path: str | Path):
        super().__init__()
        self.path = Path(path)
        self.rows: list[dict] = []

    def on_train_begin(self, logs=None):
        import pandas as pd

        initial = self.model._initial_epoch or 0
        self.rows = []
        if initial and self.path.exists():
            self.rows = pd.read_csv(self.path).head(initial).to_dict("records")
        self.initial_epoch = initial

    def on_epoch_begin(self, epoch, logs=None):
        self.learning_rate = float(self.model.optimizer.learning_rate)  # the rate this epoch trains at

    def on_epoch_end(self, epoch, logs=None):
        import pandas as pd

        row = {"epoch": epoch, "learning_rate": self.learning_rate,
               **{k: float(v) for k, v in (logs or {}).items() if k != "learning_rate"}}
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
        self.mode = "min" if monitor.endswith("loss") else "max"
        self.history = history
        self.best = None

    def on_train_begin(self, logs=None):
        past = [r[self.monitor] for r in (self.history.rows if self.history else []) if self.monitor in r]
        self.best = (min(past) if self.mode == "min" else max(past)) if past and self.path.exists() else None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            raise UserError(
                f"monitor {self.monitor!r} is not logged; logged: {', '.join(sorted(logs or {}))}"
            )
        better = self.best is None or (value > self.best if self.mode == "max" else value < self.best)
        if better:
            self.best = value
            with atomic_path(self.path) as tmp:
                self.model.save(tmp)


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
    With `resume` too, the run is resumable: backup/ holds the last finished epoch (weights,
    optimizer state, epoch number), history.csv one row an epoch, best.keras the best
    `monitor`, final.weights.h5 and done.json the finished run. Calling again with the same
    out_dir continues a killed run from its last finished epoch; a finished run is loaded,
    not retrained. Seed (seed_everything) before building the model so its initial weights are
    seeded too.
    """
    keras.utils.set_random_seed(cfg.seed)
    weights = class_weights(data.y_train, data.num_classes, cfg.class_weight)
    replicated = tf.distribute.get_strategy().num_replicas_in_sync > 1
    train_ds = make_dataset(data.x_train, data.y_train, data.num_classes, cfg.batch_size, True, cfg.seed,
                            weights=weights, augment=augment, whole_batches=replicated)
    val_ds = make_dataset(data.x_val, data.y_val, data.num_classes, cfg.batch_size, whole_batches=replicated)
    steps_per_epoch = (np.floor if replicated else np.ceil)(len(data.x_train) / cfg.batch_size).astype(int).item()
    compile_model(model, cfg, steps_per_epoch)

    history_file = None
    all_callbacks = []
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        done = out_dir / rundir.DONE
        if resume and done.exists() and (out_dir / rundir.FINAL_WEIGHTS).exists():
            model.load_weights(out_dir / rundir.FINAL_WEIGHTS)
            saved = json.loads(done.read_text())
            return TrainResult(saved["history"], saved["seconds"], saved["epochs_run"], steps_per_epoch,
                               asdict(cfg), resumed_from=saved["epochs_run"])
        history_file = HistoryFile(out_dir / rundir.HISTORY)
        # Order matters: the backup restores the epoch counter that the others read.
        if resume:
            all_callbacks.append(keras.callbacks.BackupAndRestore(str(out_dir / rundir.BACKUP), delete_checkpoint=False))
        all_callbacks += [history_file, AtomicCheckpoint(out_dir / rundir.BEST_MODEL, cfg.monitor, history_file)]
    stopper = None
    if cfg.early_stopping_patience or cfg.restore_best:
        stopper = keras.callbacks.EarlyStopping(
            monitor=cfg.monitor, patience=cfg.early_stopping_patience or cfg.epochs + 1, mode=cfg.monitor_mode,
            restore_best_weights=True,
        )
        all_callbacks.append(stopper)
    if cfg.schedule == "plateau":
        all_callbacks.append(keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss", factor=cfg.plateau_factor, patience=cfg.plateau_patience))
    all_callbacks += list(callbacks)

    start = time.perf_counter()
    history = model.fit(
        train_ds, validation_data=val_ds, epochs=cfg.epochs, callbacks=all_callbacks, shuffle=False, verbose=0
    )
    seconds = time.perf_counter() - start
    if stopper is not None and stopper.best_weights is not None:
        model.set_weights(stopper.best_weights)  # also when patience never ran out
    if history_file is not None:
        hist = history_file.history()
        resumed_from = history_file.initial_epoch
        if resume:
            with atomic_path(out_dir / rundir.FINAL_WEIGHTS, suffix=".weights.h5") as tmp:
                model.save_weights(tmp)
            write_json(done, {"history": hist, "seconds": seconds, "epochs_run": len(hist.get("loss", []))})
    else:
        hist = {k: [float(v) for v in vals] for k, vals in history.history.items()}
        resumed_from = 0
    return TrainResult(hist, seconds, len(hist.get("loss", [])), steps_per_epoch, asdict(cfg), resumed_from)
