"""The one training loop every experiment calls: compile from a config, then fit with the loop's
callbacks (training.callbacks), the input pipeline (training.pipeline) and exact resume
(training.resume). Seeded and deterministic on CPU."""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

import kerasexp.training.warmup  # noqa: F401  (registers LinearWarmup: saved models with it load)
from kerasexp import rundir
from kerasexp.config import TrainConfig
from kerasexp.data.dataset import ImageData
from kerasexp.training.callbacks import (
    AtomicCheckpoint,
    BestEpoch,
    EpochCounter,
    HistoryFile,
    ResumablePlateau,
    StopOnNaN,
)
from kerasexp.training.losses import LOSSES, class_weights
from kerasexp.training.optimizers import OPTIMIZERS
from kerasexp.training.pipeline import make_dataset
from kerasexp.training.resume import EpochBackup, check_history_covers, load_finished, rng_states
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
        out_dir = rundir.training_folder(out_dir)
        if resume:
            finished = load_finished(model, out_dir)
            if finished is not None:
                return TrainResult(
                    finished["history"],
                    finished["seconds"],
                    finished["epochs_run"],
                    steps_per_epoch,
                    asdict(cfg),
                    resumed_from=finished["epochs_run"],
                )
            backup = EpochBackup(out_dir / rundir.BACKUP)
            initial = backup.restore(model)
            if initial:
                at = f"epoch {initial + 1} of {cfg.epochs}" if initial < cfg.epochs else "its end"
                print(f"resumed {out_dir} at {at} ({initial} epochs trained before)", file=sys.stderr)
        history_file = HistoryFile(out_dir, initial)
        check_history_covers(history_file, initial)
        all_callbacks += [
            history_file,
            AtomicCheckpoint(out_dir, cfg.monitor, history_file),
        ]
    best = None
    if cfg.early_stopping_patience or cfg.restore_best:
        best = BestEpoch(
            cfg.monitor,
            cfg.early_stopping_patience,
            history_file.rows if history_file else [],
            out_dir,
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
            rundir.save_finished(
                model,
                out_dir,
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
