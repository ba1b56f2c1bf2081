"""A linear warm-up around any schedule, serialisable so a saved model with it loads again
(the loop imports this module, which registers it with Keras)."""

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
