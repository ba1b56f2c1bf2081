"""TensorBoard event files: per-epoch scalars a run in Keras' layout (train/ and validation/ runs
with the same tags, so one chart overlays both), a sub-run a fold, images at the end, and no
change to any result."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kerasexp
from kerasexp.training.tensorboard import read_events

STEP = Path(__file__).resolve().parents[2] / "studies" / "fmnist_step_decay.toml"


def tiny(fashion_path, **extra):
    return {
        "dataset.data_dir": str(fashion_path),
        "dataset.limit": 600,
        "training.epochs": 2,
        "training.step_every": 1,
        **extra,
    }


def test_train_and_validation_runs_share_their_tags_as_keras_writes_them(tmp_path):
    """A two-epoch fit read back from the event files: epoch_loss in train/ and validation/ (one
    chart, two curves), each equal to Keras' history; the learning rate beside them in train/."""
    import keras

    from kerasexp.training.tensorboard import EpochScalars

    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(
        optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    history = model.fit(
        x[:48],
        y[:48],
        validation_data=(x[48:], y[48:]),
        epochs=2,
        verbose=0,
        callbacks=[EpochScalars(tmp_path)],
    ).history
    train, validation = read_events(tmp_path / "train"), read_events(tmp_path / "validation")
    assert set(train) == {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"}
    assert set(validation) == {"epoch_loss", "epoch_accuracy"}
    for key in ("loss", "accuracy"):
        assert [s for s, _ in train[f"epoch_{key}"]] == [1, 2]
        assert [v for _, v in train[f"epoch_{key}"]] == pytest.approx(history[key], rel=1e-6)
        assert [v for _, v in validation[f"epoch_{key}"]] == pytest.approx(history[f"val_{key}"], rel=1e-6)
    assert [v for _, v in train["epoch_learning_rate"]] == pytest.approx([0.01, 0.01])
    assert not list(tmp_path.glob("events.out.tfevents.*"))  # no third run of scalars beside them


def test_drawing_test_images_keeps_to_its_layer_and_the_users_backend(tmp_path):
    """tensorboard.py draws its own confusion matrix (training does not call up into evaluation)
    on plain Figures, so the user's matplotlib backend is untouched."""
    code = f"""
import sys, numpy as np
from kerasexp.training.tensorboard import write_test_images, read_events
y = np.array([0, 1, 2, 2]); probs = np.eye(3)[[0, 2, 2, 1]]
write_test_images({str(tmp_path)!r}, np.zeros((4, 8, 8, 1)), y, probs, ["a", "b", "c"], step=3)
events = read_events({str(tmp_path)!r})
assert sorted(events) == ["test/confusion_matrix", "test/misclassified"], sorted(events)
assert all(s == 3 and bytes(v[2]).startswith(b"\\x89PNG") for tag in events for s, v in events[tag])
import matplotlib
print("kerasexp.evaluation.report" in sys.modules, matplotlib.get_backend())
"""
    env = {**os.environ, "MPLBACKEND": "pdf"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "False pdf"


@pytest.mark.slow
def test_event_files_hold_every_epoch_and_change_no_result(fashion_path, tmp_path):
    run = kerasexp.train(STEP, out=tmp_path / "on", overrides=tiny(fashion_path))
    train, validation = (read_events(run.dir / "tensorboard" / sub) for sub in ("train", "validation"))
    history = run.history
    for key in ("loss", "accuracy"):
        for events, column in ((train, key), (validation, f"val_{key}")):
            steps, values = zip(*events[f"epoch_{key}"])
            assert steps == (1, 2) and values == pytest.approx(history[column].tolist(), rel=1e-6)
    # the step schedule halves the rate after every epoch: the logged rate is the applied one
    assert [v for _, v in train["epoch_learning_rate"]] == pytest.approx([1e-3, 5e-4])
    images = read_events(run.dir / "tensorboard")
    for tag in ("test/confusion_matrix", "test/misclassified"):
        ((step, image),) = images[tag]
        assert step == 2 and bytes(image[2]).startswith(b"\x89PNG")  # [width, height, png]
    off = kerasexp.train(
        STEP, out=tmp_path / "off", overrides=tiny(fashion_path, **{"logging.tensorboard": False})
    )
    assert not (off.dir / "tensorboard").exists()
    pd.testing.assert_frame_equal(off.history, history)
    assert off.metrics["accuracy"] == run.metrics["accuracy"]


@pytest.mark.slow
def test_each_fold_is_its_own_sub_run(fashion_path, tmp_path):
    run = kerasexp.train(
        STEP,
        out=tmp_path / "kfold",
        overrides=tiny(fashion_path, **{"evaluation.kfold": 2, "training.epochs": 1}),
    )
    for fold in (1, 2):
        steps = [
            s
            for s, _ in read_events(run.dir / f"fold_{fold}" / "tensorboard" / "validation")["epoch_accuracy"]
        ]
        assert steps == [1]
    assert "test/confusion_matrix" in read_events(run.dir / "tensorboard")  # the ensemble's
