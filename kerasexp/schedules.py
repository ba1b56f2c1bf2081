"""Learning-rate schedules, built from Keras' own so they advance with the optimizer's step
counter (and therefore survive a resume). `plateau` is the exception: it needs the validation
loss, so it is a callback (ReduceLROnPlateau) on a constant rate."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable("kerasexp")
class LinearWarmup(keras.optimizers.schedules.LearningRateSchedule):
    """Ramp linearly from ~0 to the wrapped schedule over `warmup_steps`, then follow it."""

    def __init__(self, schedule, warmup_steps: int):
        self.schedule = schedule
        self.warmup_steps = int(warmup_steps)

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        base = self.schedule(step) if callable(self.schedule) else self.schedule
        ramp = keras.ops.minimum(1.0, (step + 1.0) / float(max(self.warmup_steps, 1)))
        return base * ramp

    def get_config(self):
        inner = self.schedule
        if isinstance(inner, keras.optimizers.schedules.LearningRateSchedule):
            inner = keras.optimizers.schedules.serialize(inner)
        return {"schedule": inner, "warmup_steps": self.warmup_steps}

    @classmethod
    def from_config(cls, config):
        inner = config["schedule"]
        if isinstance(inner, dict):
            inner = keras.optimizers.schedules.deserialize(inner)
        return cls(inner, config["warmup_steps"])


def step_decay(initial_lr: float, steps_per_epoch: int, every: int = 5, factor: float = 0.5, **_):
    """Report 002's step decay: multiply the rate by `factor` every `every` epochs
    (1e-3 -> 5e-4 at epoch 5 -> 2.5e-4 at epoch 10)."""
    return keras.optimizers.schedules.ExponentialDecay(
        initial_lr, decay_steps=every * steps_per_epoch, decay_rate=factor, staircase=True
    )


def cosine(initial_lr: float, steps_per_epoch: int, epochs: int = 1, min_lr_ratio: float = 0.0, **_):
    """Cosine annealing from `initial_lr` to `min_lr_ratio * initial_lr` over the run (001, 004)."""
    return keras.optimizers.schedules.CosineDecay(
        initial_lr, decay_steps=max(epochs * steps_per_epoch, 1), alpha=min_lr_ratio
    )


def constant(initial_lr: float, steps_per_epoch: int, **_):
    return initial_lr


SCHEDULES = {"constant": constant, "step": step_decay, "cosine": cosine, "plateau": constant}


def build_schedule(name: str, initial_lr: float, steps_per_epoch: int, warmup_epochs: int = 0, **kwargs):
    schedule = SCHEDULES[name](initial_lr, steps_per_epoch, **kwargs)
    if warmup_epochs:
        schedule = LinearWarmup(schedule, warmup_epochs * steps_per_epoch)
    return schedule


def lr_at_epoch(schedule, epoch: int, steps_per_epoch: int) -> float:
    """The rate in force at the first step of `epoch` (0-based), for tests and reports."""
    if callable(schedule):
        return float(schedule(epoch * steps_per_epoch))
    return float(schedule)
