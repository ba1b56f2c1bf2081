"""Learning-rate schedules, built from Keras' own so they advance with the optimizer's step
counter (and therefore survive a resume). `plateau` is the exception: it needs the validation
loss, so it is a callback (ReduceLROnPlateau) on a constant rate."""

from __future__ import annotations

from kerasexp.registry import SCHEDULES  # the name table; the builders below register into it


@SCHEDULES.register("constant")
def constant(initial_lr: float, steps_per_epoch: int, **_):
    return initial_lr


@SCHEDULES.register("step")
def step_decay(initial_lr: float, steps_per_epoch: int, every: int = 5, factor: float = 0.5, **_):
    """Report 002's step decay: multiply the rate by `factor` every `every` epochs
    (1e-3 -> 5e-4 at epoch 5 -> 2.5e-4 at epoch 10)."""
    import keras

    return keras.optimizers.schedules.ExponentialDecay(
        initial_lr, decay_steps=every * steps_per_epoch, decay_rate=factor, staircase=True
    )


@SCHEDULES.register("cosine")
def cosine(initial_lr: float, steps_per_epoch: int, epochs: int = 1, min_lr_ratio: float = 0.0, **_):
    """Cosine annealing from `initial_lr` to `min_lr_ratio * initial_lr` over the run (001, 004)."""
    import keras

    return keras.optimizers.schedules.CosineDecay(
        initial_lr, decay_steps=max(epochs * steps_per_epoch, 1), alpha=min_lr_ratio
    )


# plateau: a constant rate that a callback lowers (ReduceLROnPlateau, in the loop)
SCHEDULES.register("plateau", constant)


def build_schedule(name: str, initial_lr: float, steps_per_epoch: int, warmup_epochs: int = 0, **kwargs):
    schedule = SCHEDULES[name](initial_lr, steps_per_epoch, **kwargs)
    if warmup_epochs:
        from kerasexp.training.warmup import LinearWarmup

        schedule = LinearWarmup(schedule, warmup_epochs * steps_per_epoch)
    return schedule


def lr_at_epoch(schedule, epoch: int, steps_per_epoch: int) -> float:
    """The rate in force at the first step of `epoch` (0-based), for tests and reports."""
    if callable(schedule):
        return float(schedule(epoch * steps_per_epoch))
    return float(schedule)
