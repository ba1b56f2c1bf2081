"""Scaling one training out: tf.distribute.MirroredStrategy over the visible GPUs, and mixed
precision only where it pays (a GPU). On a CPU both stay off (XLA too: train.use_xla)."""

from __future__ import annotations

import contextlib

DISTRIBUTE = ("none", "mirrored")
MIXED_PRECISION = ("auto", "on", "off")


def has_gpu() -> bool:
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def make_strategy(name: str, devices: list[str] | None = None):
    """None for "none"; MirroredStrategy over `devices` (default: all visible GPUs, else the CPU)."""
    if name == "none":
        return None
    import tensorflow as tf

    return tf.distribute.MirroredStrategy(devices=devices)


def set_mixed_precision(setting: str = "auto") -> str:
    """Set Keras' global dtype policy; returns the policy name. "auto" = mixed_float16 on a GPU."""
    import keras

    use = setting == "on" or (setting == "auto" and has_gpu())
    policy = "mixed_float16" if use else "float32"
    keras.mixed_precision.set_global_policy(policy)
    return policy


@contextlib.contextmanager
def strategy_scope(name: str = "none", mixed_precision: str = "auto", devices: list[str] | None = None):
    """Build and train inside this: models, optimizers and metrics are created under the
    strategy (replicated on every device) with the chosen dtype policy."""
    set_mixed_precision(mixed_precision)
    strategy = make_strategy(name, devices)
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        yield strategy
