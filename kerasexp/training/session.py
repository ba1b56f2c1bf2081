"""THE one path from an experiment to a trained model: seed -> model (built with the training
split's statistics) -> augmentation policy (built with its class counts) -> optional head-only
phase -> train. Single runs, k-fold folds, study trials (in or out of process), study-report's
retrain, the benches and the variants table all call train_experiment, so one config trains the
same way wherever it runs; nothing else calls create_model, build_policy and train in sequence."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from kerasexp import rundir
from kerasexp.config import Experiment
from kerasexp.data.dataset import ImageData
from kerasexp.errors import UserError
from kerasexp.training.loop import TrainResult


def train_experiment(
    exp: Experiment,
    data: ImageData,
    out_dir: str | Path | None = None,
    *,
    callbacks=(),
    progress=None,
    label: str | None = None,
    resume: bool = True,
    distribute: str = "none",
    mixed_precision: str = "auto",
    logdir: str | Path | None = None,
) -> tuple[keras.Model, TrainResult]:
    """Train `exp` on `data` (its train split; validation on its val split) and return the model
    and the loop's result.

    out_dir: the run folder (history, checkpoints, backup: a rerun resumes; None keeps nothing).
    callbacks: extra Keras callbacks of the main phase (a study's pruning callback, a bench timer, the
      user's from kerasexp.train(callbacks=...)): they run after the loop's own, so the epoch they
      see is already in the history, the checkpoint and the backup (one that raises leaves a run
      that resumes from that epoch). The head-only phase runs without them.
    progress, label: a kerasexp.training.progress.Progress printing one line an epoch as `label`.
    distribute, mixed_precision: a study's scaling settings (kerasexp.training.distribute).
    logdir: TensorBoard folder (default OUT/tensorboard; none without out_dir or with
      [logging] tensorboard = false); the head phase logs into its head/ sub-run.
    """
    from kerasexp.augment.policies import build_policy
    from kerasexp.models import create_model
    from kerasexp.models.normalization import with_train_stats
    from kerasexp.training.distribute import strategy_scope
    from kerasexp.training.finetune import train_head_first
    from kerasexp.training.loop import seed_everything, train

    cfg = exp.training
    label = label or exp.name
    if exp.logging.tensorboard and logdir is None and out_dir is not None:
        logdir = Path(out_dir) / rundir.TENSORBOARD
    if not exp.logging.tensorboard:
        logdir = None
    keras.backend.clear_session()
    seed_everything(cfg.seed)
    with strategy_scope(distribute, mixed_precision):
        model = create_model(
            exp.model.name,
            data.input_shape,
            data.num_classes,
            **with_train_stats(exp.model.params, data.x_train),
        )
        augment = build_policy(
            exp.augmentation,
            seed=cfg.seed,
            class_counts=np.bincount(data.y_train, minlength=data.num_classes),
        )
        if cfg.head_epochs:
            head_callbacks = [progress.callback(f"{label} head", cfg.head_epochs)] if progress else []
            head_callbacks += _scalars(logdir, "head")
            train_head_first(model, data, cfg, out_dir if resume else None, head_callbacks, augment=augment)
        main_callbacks = [progress.callback(label, cfg.epochs)] if progress else []
        main_callbacks += _scalars(logdir)
        result = train(
            model, data, cfg, out_dir, [*main_callbacks, *callbacks], augment=augment, resume=resume
        )
    return model, result


def validate(exp: Experiment) -> None:
    """Names and parameters that only the model and policy registries know, checked before any
    data is read (a run, a study trial)."""
    from kerasexp.augment.policies import build_policy
    from kerasexp.models import check_model

    check_model(exp.model.name, exp.model.params)
    build_policy(exp.augmentation, seed=exp.training.seed)


def check_model_builds(exp: Experiment, data: ImageData) -> None:
    """Build the model once for the data's shape, so that parameter values its builder refuses
    stop the run before its folder is written."""
    from kerasexp.models import create_model
    from kerasexp.models.normalization import with_train_stats

    create_model(
        exp.model.name, data.input_shape, data.num_classes, **with_train_stats(exp.model.params, data.x_train)
    )
    keras.backend.clear_session()


def _scalars(logdir, sub: str = "") -> list:
    if logdir is None:
        return []
    from kerasexp.training.tensorboard import EpochScalars

    return [EpochScalars(Path(logdir) / sub if sub else logdir)]


def user_callbacks(callbacks) -> list[keras.callbacks.Callback]:
    """kerasexp.train's `callbacks=` as a list of keras.callbacks.Callback instances, refused in one
    line naming the item that is not one (a class, a function, a tf.keras 2 callback...)."""
    if callbacks is None:
        return []
    if not isinstance(callbacks, (list, tuple)):
        raise UserError(
            f"callbacks= takes a list of keras.callbacks.Callback instances, got "
            f"{_described(callbacks)}; e.g. callbacks=[{type(callbacks).__name__}(...)]"
        )
    for i, callback in enumerate(callbacks):
        if isinstance(callback, type) and issubclass(callback, keras.callbacks.Callback):
            raise UserError(
                f"callbacks[{i}] is the class {callback.__name__}, not an instance of it; "
                f"pass {callback.__name__}()"
            )
        if not isinstance(callback, keras.callbacks.Callback):
            raise UserError(
                f"callbacks[{i}] is {_described(callback)}, not a keras.callbacks.Callback "
                "(Keras 3); subclass keras.callbacks.Callback, or wrap a function in "
                "keras.callbacks.LambdaCallback(on_epoch_end=...)"
            )
    return list(callbacks)


def _described(value) -> str:
    kind = type(value)
    name = kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    return f"a {name}"
