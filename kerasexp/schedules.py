"""Learning-rate schedules, built from Keras' own so they advance with the optimizer's step
counter (and therefore survive a resume)."""

from __future__ import annotations

import keras


def step_decay(initial_lr: float, steps_per_epoch: int, every: int = 5, factor: float = 0.5):
    """Report 002's step decay: multiply the rate by `factor` every `every` epochs
    (1e-3 -> 5e-4 at epoch 5 -> 2.5e-4 at epoch 10)."""
    return keras.optimizers.schedules.ExponentialDecay(
        initial_lr, decay_steps=every * steps_per_epoch, decay_rate=factor, staircase=True
    )


def constant(initial_lr: float, steps_per_epoch: int, **_):
    return initial_lr


SCHEDULES = {"constant": constant, "step": step_decay}


def lr_at_epoch(schedule, epoch: int, steps_per_epoch: int) -> float:
    """The rate in force during `epoch` (0-based), for tests and reports."""
    if callable(schedule):
        return float(schedule(epoch * steps_per_epoch))
    return float(schedule)
