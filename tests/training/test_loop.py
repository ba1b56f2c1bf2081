"""The training loop on real Fashion-MNIST subsets (and what train() leaves behind: issue 3's
throughput work)."""

import gc
import weakref

import numpy as np
import pytest

from kerasexp.errors import UserError
from kerasexp.models import create_model
from kerasexp.config import TrainConfig
from kerasexp.evaluation.predict import predict_proba
from kerasexp.training.loop import seed_everything, train


def _fit(data, seed=0, name="baseline", out_dir=None, **cfg):
    seed_everything(seed)
    model = create_model(name, data.input_shape, data.num_classes)
    result = train(model, data, TrainConfig(seed=seed, **cfg), out_dir=out_dir)
    return model, result


def test_one_epoch_on_2000_real_images_beats_60_percent(fashion_2000, tmp_path):
    model, result = _fit(fashion_2000, epochs=1, batch_size=32, out_dir=tmp_path)
    assert result.epochs_run == 1
    assert result.last("val_accuracy") > 0.60
    # The artefacts of a run: a history row an epoch and a loadable best checkpoint.
    assert len((tmp_path / "history.csv").read_text().strip().splitlines()) == 2
    import keras

    restored = keras.models.load_model(tmp_path / "best.keras")
    np.testing.assert_allclose(
        predict_proba(restored, fashion_2000.x_val[:50]),
        predict_proba(model, fashion_2000.x_val[:50]),
        atol=1e-6,
    )


def test_same_seed_same_numbers_other_seed_other_numbers(fashion_2000):
    runs = [_fit(fashion_2000, seed=s, epochs=2, batch_size=64)[1].history for s in (5, 5, 6)]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_steps_per_execution_changes_speed_not_numbers(fashion_2000):
    """The default runs 8 steps per graph call; the weights and history equal one step a call,
    including a last call with fewer steps (2000 images at batch 64: 32 steps, 4 x 8)."""
    runs = [
        _fit(fashion_2000, epochs=2, batch_size=64, steps_per_execution=k, schedule="step", step_every=1)
        for k in (1, 8, 5)
    ]  # 5: 32 steps = 6 x 5 + 2
    assert TrainConfig().steps_per_execution == 8
    for model, result in runs[1:]:
        assert result.history == runs[0][1].history
        for a, b in zip(model.get_weights(), runs[0][0].get_weights()):
            np.testing.assert_array_equal(a, b)


def test_a_weight_average_changes_the_final_weights_not_the_training(fashion_2000):
    """training.ema_momentum: the same epochs (history) as without, then the model ends with the
    average of its last steps' weights: close to the raw last weights, not equal to them."""
    (raw, plain), (averaged, ema) = (
        _fit(fashion_2000, epochs=2, batch_size=64, optimizer="adamw", ema_momentum=m) for m in (0.0, 0.9)
    )
    assert ema.history == plain.history
    gaps = [
        np.abs(a - b).max() / (np.abs(b).max() + 1e-12)
        for a, b in zip(averaged.get_weights(), raw.get_weights())
        if a.size > 1
    ]
    assert 0 < max(gaps) < 0.5
    x, y = fashion_2000.x_val, fashion_2000.y_val
    assert np.mean(predict_proba(averaged, x).argmax(1) == y) > 0.6


def test_a_weight_average_cannot_be_chosen_by_epoch():
    for bad in ({"restore_best": True}, {"early_stopping_patience": 2}):
        with pytest.raises(UserError, match="ema_momentum ends training with the averaged weights"):
            TrainConfig(ema_momentum=0.99, **bad)
    with pytest.raises(UserError, match=r"ema_momentum must be in \[0, 1\)"):
        TrainConfig(ema_momentum=1.0)


def test_unknown_optimizer_is_a_user_error():
    with pytest.raises(UserError, match="unknown optimizer 'adamax'.*adam"):
        TrainConfig(optimizer="adamax")


def test_xla_is_chosen_per_device_and_can_be_forced(monkeypatch):
    # On a CPU XLA is ~14x slower for these CNNs: "auto" compiles with it only where a GPU is seen.
    import tensorflow as tf

    from kerasexp.models import create_model
    from kerasexp.training.loop import compile_model, use_xla

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("checks the CPU choice")
    model = compile_model(create_model("baseline", (28, 28, 1), 10), TrainConfig(jit_compile="auto"), 10)
    assert model.jit_compile is False
    assert use_xla(True) is True and use_xla(False) is False and use_xla("auto") is False
    monkeypatch.setattr(
        tf.config, "list_physical_devices", lambda kind=None: ["gpu:0"] if kind == "GPU" else []
    )
    assert use_xla("auto") is True and use_xla(False) is False


def test_train_keeps_no_reference_to_the_model(fashion_2000):
    """k-fold runs and in-process studies call train() many times: the model (its variables,
    optimizer, traced steps and datasets) must be collectable once the caller drops it."""
    seed_everything(0)
    model = create_model("baseline", fashion_2000.input_shape, fashion_2000.num_classes)
    train(model, fashion_2000, TrainConfig(epochs=1, batch_size=256))
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None
