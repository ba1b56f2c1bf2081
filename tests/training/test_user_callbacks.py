"""kerasexp.train(callbacks=[...]): the user's Keras callbacks see every epoch the loop trains, with
the run's own epoch numbers, also after a resume; one that raises leaves a run that resumes; a
finished run trains nothing; seeds share the callback objects. docs/extending.md's example is run
as written (tiny data: Fashion-MNIST, 200 images, batch 64, 3 epochs)."""

import re
from pathlib import Path

import keras
import pandas as pd
import pytest

import kerasexp
from kerasexp.errors import UserError

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "extending.md"
STEP = ROOT / "studies" / "fmnist_step_decay.toml"
LOGGED = {"loss", "accuracy", "val_loss", "val_accuracy"}


def tiny(fashion_path, **extra):
    return {
        "dataset.data_dir": str(fashion_path),
        "dataset.limit": 200,
        "training.batch_size": 64,
        "training.epochs": 3,
        "logging.tensorboard": False,
        **extra,
    }


class Recorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs, self.logs, self.models = [], [], []

    def on_train_begin(self, logs=None):
        self.models.append(self.model)

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(epoch)
        self.logs.append(dict(logs))


class Interrupted(Exception):
    pass


class StopAfterFirstEpoch(Recorder):
    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        raise Interrupted(f"stopped after epoch {epoch}")


def docs_example() -> str:
    section = DOCS.read_text().split("## Your own callbacks", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.fixture
def tiny_train(fashion_path, tmp_path, monkeypatch):
    """kerasexp.train on 200 images into tmp_path, whatever the caller's paths (the docs example's)."""
    real = kerasexp.train

    def train(experiment, out, overrides=None, **kwargs):
        return real(
            ROOT / experiment,
            out=tmp_path / Path(out).name,
            overrides={**tiny(fashion_path), **(overrides or {})},
            **kwargs,
        )

    monkeypatch.setattr(kerasexp, "train", train)
    return train


@pytest.mark.slow  # three short trainings (a whole run, one cut after an epoch, its resume)
def test_user_callbacks_see_every_epoch_also_after_a_resume_and_nothing_of_a_finished_run(
    tiny_train, tmp_path
):
    # the uninterrupted run: docs/extending.md's example, as written
    namespace = {}
    exec(compile(docs_example(), str(DOCS), "exec"), namespace)
    log = namespace["log"]
    whole = tmp_path / "step_log"
    history = pd.read_csv(whole / "history.csv")
    assert [epoch for epoch, _, _ in log.rows] == [0, 1, 2] == history["epoch"].tolist()
    assert [(row[1], row[2]) for row in log.rows] == list(zip(history["val_loss"], history["val_accuracy"]))

    stopper = StopAfterFirstEpoch()
    with pytest.raises(Interrupted, match="stopped after epoch 0"):
        tiny_train("studies/fmnist_step_decay.toml", out="cut", callbacks=[stopper])
    cut = tmp_path / "cut"
    assert stopper.epochs == [0] and LOGGED <= set(stopper.logs[0])
    assert (cut / "backup" / "epoch_1.json").exists() and len(pd.read_csv(cut / "history.csv")) == 1
    assert not (cut / "done.json").exists() and not (cut / "metrics.json").exists()

    resumed = Recorder()
    run = tiny_train("studies/fmnist_step_decay.toml", out="cut", callbacks=[resumed])
    assert resumed.epochs == [1, 2]  # the run's epoch numbers, not 0 and 1
    assert all(LOGGED <= set(logs) for logs in resumed.logs)
    # the same epochs as the uninterrupted run's, bit for bit (CPU)
    assert [(logs["val_loss"], logs["val_accuracy"]) for logs in resumed.logs] == [
        row[1:] for row in log.rows[1:]
    ]
    assert stopper.logs[0]["val_loss"] == log.rows[0][1]
    pd.testing.assert_frame_equal(pd.read_csv(cut / "history.csv"), history)
    assert run.metrics["run"]["resumed_from"] == 1

    loaded = Recorder()
    tiny_train("studies/fmnist_step_decay.toml", out="step_log", callbacks=[loaded])
    assert loaded.epochs == [] and loaded.models == []  # a finished run is loaded, not trained


@pytest.mark.slow  # two one-epoch runs
def test_the_same_callback_sees_every_seeds_epochs(tiny_train, tmp_path):
    seen = Recorder()
    tiny_train(
        "studies/fmnist_step_decay.toml",
        out="seeds",
        seeds=[0, 1],
        callbacks=[seen],
        overrides={"training.epochs": 1},
    )
    assert seen.epochs == [0, 0] and len(seen.models) == 2 and seen.models[0] is not seen.models[1]
    assert (tmp_path / "seeds" / "seeds.json").exists()


@pytest.mark.parametrize(
    "callbacks, message",
    [
        ([Recorder], r"^callbacks\[0\] is the class Recorder, not an instance of it; pass Recorder\(\)$"),
        (
            [Recorder(), print],
            r"^callbacks\[1\] is a builtin_function_or_method, not a keras\.callbacks\.Callback",
        ),
        (
            Recorder(),
            r"^callbacks= takes a list of keras\.callbacks\.Callback instances, got a .*Recorder; "
            r"e\.g\. callbacks=\[Recorder\(\.\.\.\)\]$",
        ),
    ],
)
def test_what_is_not_a_list_of_callbacks_is_refused_in_one_line_before_anything_is_written(
    fashion_path, tmp_path, callbacks, message
):
    with pytest.raises(UserError, match=message):
        kerasexp.train(STEP, out=tmp_path / "run", overrides=tiny(fashion_path), callbacks=callbacks)
    assert not (tmp_path / "run").exists()
