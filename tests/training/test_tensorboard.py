"""TensorBoard event files: per-epoch scalars a run, a sub-run a fold, images at the end, and
no change to any result."""

from pathlib import Path

import pandas as pd
import pytest

import kerasexp
from kerasexp.training.tensorboard import read_events

STEP = Path(__file__).resolve().parents[2] / "studies" / "fmnist_step_decay.toml"


def tiny(fashion_path, **extra):
    return {"dataset.data_dir": str(fashion_path), "dataset.limit": 600, "training.epochs": 2,
            "training.step_every": 1, **extra}


@pytest.mark.slow
def test_event_files_hold_every_epoch_and_change_no_result(fashion_path, tmp_path):
    run = kerasexp.train(STEP, out=tmp_path / "on", overrides=tiny(fashion_path))
    events = read_events(run.dir / "tensorboard")
    history = run.history
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        steps, values = zip(*events[f"epoch/{key}"])
        assert steps == (1, 2) and values == pytest.approx(history[key].tolist(), rel=1e-6)
    # the step schedule halves the rate after every epoch: the logged rate is the applied one
    assert [v for _, v in events["epoch/learning_rate"]] == pytest.approx([1e-3, 5e-4])
    for tag in ("test/confusion_matrix", "test/misclassified"):
        (step, image), = events[tag]
        assert step == 2 and bytes(image[2]).startswith(b"\x89PNG")  # [width, height, png]
    off = kerasexp.train(STEP, out=tmp_path / "off", overrides=tiny(fashion_path, **{"logging.tensorboard": False}))
    assert not (off.dir / "tensorboard").exists()
    pd.testing.assert_frame_equal(off.history, history)
    assert off.metrics["accuracy"] == run.metrics["accuracy"]


@pytest.mark.slow
def test_each_fold_is_its_own_sub_run(fashion_path, tmp_path):
    run = kerasexp.train(STEP, out=tmp_path / "kfold",
                         overrides=tiny(fashion_path, **{"evaluation.kfold": 2, "training.epochs": 1}))
    for fold in (1, 2):
        steps = [s for s, _ in read_events(run.dir / f"fold_{fold}" / "tensorboard")["epoch/val_accuracy"]]
        assert steps == [1]
    assert "test/confusion_matrix" in read_events(run.dir / "tensorboard")  # the ensemble's
