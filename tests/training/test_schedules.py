import keras
import numpy as np
import pytest

from kerasexp.training.schedules import lr_at_epoch, step_decay


@pytest.mark.parametrize("epoch,lr", [(0, 1e-3), (4, 1e-3), (5, 5e-4), (9, 5e-4), (10, 2.5e-4)])
def test_step_decay_halves_every_five_epochs(epoch, lr):
    assert lr_at_epoch(step_decay(1e-3, steps_per_epoch=375), epoch, 375) == pytest.approx(lr)


def test_step_decay_is_constant_within_an_epoch():
    sched = step_decay(1e-3, steps_per_epoch=10)
    assert float(sched(49)) == pytest.approx(1e-3) and float(sched(50)) == pytest.approx(5e-4)


def test_the_optimizer_sees_the_halved_rate_at_epoch_5(fashion_2000):
    """Train for real and read the rate the optimizer applies at the start of each epoch."""
    from kerasexp.models import create_model
    from kerasexp.config import TrainConfig
    from kerasexp.training.loop import seed_everything, train

    seen = []

    class Record(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            opt = self.model.optimizer
            seen.append(float(opt.learning_rate))

    data = fashion_2000
    small = type(data)(
        data.x_train[:256],
        data.y_train[:256],
        data.x_val[:64],
        data.y_val[:64],
        data.x_test,
        data.y_test,
        data.class_names,
    )
    seed_everything(0)
    model = create_model("baseline", small.input_shape, 10)
    train(model, small, TrainConfig(epochs=11, batch_size=128, schedule="step"), callbacks=[Record()])
    np.testing.assert_allclose(seen, [1e-3] * 5 + [5e-4] * 5 + [2.5e-4], rtol=1e-6)


def test_cosine_anneals_to_the_floor():
    from kerasexp.training.schedules import cosine

    sched = cosine(0.1, steps_per_epoch=100, epochs=50, min_lr_ratio=0.0)
    assert lr_at_epoch(sched, 0, 100) == pytest.approx(0.1)
    assert lr_at_epoch(sched, 25, 100) == pytest.approx(0.05, rel=1e-4)
    assert lr_at_epoch(sched, 50, 100) == pytest.approx(0.0, abs=1e-7)


def test_warmup_ramps_then_follows_the_schedule():
    from kerasexp.training.schedules import build_schedule

    sched = build_schedule("step", 1e-3, steps_per_epoch=10, warmup_epochs=2, every=5, factor=0.5)
    assert float(sched(0)) == pytest.approx(1e-3 / 20)
    assert float(sched(9)) == pytest.approx(1e-3 / 2)
    assert lr_at_epoch(sched, 2, 10) == pytest.approx(1e-3)
    assert lr_at_epoch(sched, 5, 10) == pytest.approx(5e-4)
    restored = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(sched))
    assert float(restored(55)) == pytest.approx(float(sched(55)))
