"""Exact resume: a run stopped after any finished epoch (SIGINT here; SIGKILL in
tests/test_experiment.py) and rerun ends bit for bit where the uninterrupted run ends: the same
history, predictions and test metrics. Plain, augmented (RandAugment, mixup, a weight average), k-fold and
head-first runs, the plateau schedule; a damaged backup falls back with a one-line warning (study
trials: tests/tuning/test_study.py, a killed worker's trial retried ends as an uninterrupted one).
At the end, kerasexp/training/resume.py's parts on a tiny model, without a fit."""

import json
import textwrap

import numpy as np
import pandas as pd
import pytest

from kerasexp.config import load_experiment
from kerasexp.runs import run_experiment
from kerasexp.training import resume

FMNIST = """
[dataset]
name = "fashion_mnist"
limit = 1000
data_dir = "{data}"
[model]
name = "baseline"
[training]
epochs = 3
batch_size = 64
schedule = "cosine"
restore_best = true
{extra}
"""

PBC96 = """
[dataset]
name = "image_folder"
data_dir = "{data}"
image_size = 32
limit = 400
[model]
name = "baseline"
[training]
epochs = 3
batch_size = 32
{extra}
"""


def experiment(tmp_path, template, data, extra=""):
    path = tmp_path / "exp.toml"
    path.write_text(textwrap.dedent(template.format(data=data, extra=textwrap.dedent(extra))))
    return load_experiment(path)


def interrupted_after(monkeypatch, backups: int):
    """Ctrl-C right after the `backups`-th epoch backup of the process (what SIGINT does there)."""
    real = resume.EpochBackup.on_epoch_end
    count = {"n": 0}

    def on_epoch_end(self, epoch, logs=None):
        real(self, epoch, logs)
        count["n"] += 1
        if count["n"] == backups:
            raise KeyboardInterrupt

    monkeypatch.setattr(resume.EpochBackup, "on_epoch_end", on_epoch_end)


def assert_resume_is_exact(tmp_path, monkeypatch, exp, backups=1, histories=("history.csv",)):
    whole, stopped = tmp_path / "whole", tmp_path / "stopped"
    expected = run_experiment(exp, whole)
    with monkeypatch.context() as patch:
        interrupted_after(patch, backups)
        with pytest.raises(KeyboardInterrupt):
            run_experiment(exp, stopped)
    assert not (stopped / "metrics.json").exists()
    done = sum(len(pd.read_csv(stopped / name)) for name in histories if (stopped / name).exists())
    assert done == backups  # stopped where asked, mid-run
    got = run_experiment(exp, stopped)
    for name in histories:
        pd.testing.assert_frame_equal(pd.read_csv(stopped / name), pd.read_csv(whole / name))
    np.testing.assert_array_equal(
        np.load(stopped / "predictions.npz")["probs"], np.load(whole / "predictions.npz")["probs"]
    )
    assert {k: v for k, v in got.items() if k != "run"} == {k: v for k, v in expected.items() if k != "run"}


@pytest.mark.slow
def test_a_plain_run_resumes_exactly(tmp_path, monkeypatch, fashion_path):
    assert_resume_is_exact(tmp_path, monkeypatch, experiment(tmp_path, FMNIST, fashion_path))


@pytest.mark.slow
def test_an_augmented_run_resumes_exactly(tmp_path, monkeypatch, pbc96_path):
    exp = experiment(
        tmp_path,
        PBC96,
        pbc96_path,
        """
        ema_momentum = 0.9  # the weight average is optimizer state, in every backup
        [augmentation]
        policy = ["randaugment", "mixup"]
        params = { mixup = { probability = 0.5 } }
    """,
    )
    assert_resume_is_exact(tmp_path, monkeypatch, exp, backups=2)


@pytest.mark.slow
def test_a_kfold_run_resumes_exactly(tmp_path, monkeypatch, fashion_path):
    exp = experiment(tmp_path, FMNIST, fashion_path, "[evaluation]\nkfold = 2")
    # stopped in fold 2's first epoch: fold 1 is loaded, fold 2 resumes
    assert_resume_is_exact(
        tmp_path, monkeypatch, exp, backups=4, histories=("fold_1/history.csv", "fold_2/history.csv")
    )


@pytest.mark.slow
def test_a_plateau_schedule_resumes_exactly(tmp_path, monkeypatch, fashion_path):
    # patience 1: validation loss improves in epochs 1-3 and not in epoch 4, which halves the rate
    # for epoch 5. Stopped after epoch 3, the resumed run must know epoch 3's best loss to see
    # epoch 4 as no improvement (the plateau's counters come back, not only the rate).
    exp = experiment(
        tmp_path,
        FMNIST.replace("epochs = 3", "epochs = 7").replace('"cosine"', '"plateau"'),
        fashion_path,
        "plateau_patience = 1\nplateau_factor = 0.5\nlearning_rate = 0.003",
    )
    assert_resume_is_exact(tmp_path, monkeypatch, exp, backups=3)
    rates = pd.read_csv(tmp_path / "whole" / "history.csv")["learning_rate"].tolist()
    assert len(set(rates)) > 1, rates  # the schedule did cut the rate in this run


@pytest.mark.slow
def test_a_head_first_run_resumes_exactly(tmp_path, monkeypatch, pbc96_path):
    from conftest import weights_dir

    model = (
        'name = "transfer"\nparams = {{ backbone = "MobileNet", backbone_params = {{ alpha = 0.25 }}, '
        f'weights = "{weights_dir()}/mobilenet_2_5_224_tf_no_top.h5", unfreeze = 10 }}}}'
    )
    template = PBC96.replace('name = "baseline"', model).replace("epochs = 3", "epochs = 2")
    exp = experiment(tmp_path, template, pbc96_path, "head_epochs = 2")
    # stopped after the head phase's second epoch and the main phase's first
    assert_resume_is_exact(
        tmp_path, monkeypatch, exp, backups=3, histories=("head/history.csv", "history.csv")
    )


@pytest.mark.slow
def test_a_damaged_backup_falls_back_with_a_one_line_warning(tmp_path, monkeypatch, fashion_path, capsys):
    exp = experiment(tmp_path, FMNIST, fashion_path)
    whole, stopped = tmp_path / "whole", tmp_path / "stopped"
    run_experiment(exp, whole)
    with monkeypatch.context() as patch:
        interrupted_after(patch, 2)
        with pytest.raises(KeyboardInterrupt):
            run_experiment(exp, stopped)
    newest = stopped / "backup" / "epoch_2.weights.h5"
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])  # truncated
    capsys.readouterr()
    run_experiment(exp, stopped)  # resumes from epoch 1's backup: the same end
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "backup of epoch 2" in warnings[0] and "damaged" in warnings[0]
    pd.testing.assert_frame_equal(pd.read_csv(stopped / "history.csv"), pd.read_csv(whole / "history.csv"))
    for path in (stopped / "backup").glob("*"):  # nothing usable at all: a fresh start, still no traceback
        path.write_bytes(b"garbage")
    for finished in ("done.json", "predictions.npz", "run.json"):  # not finished: it must train again
        (stopped / finished).unlink()
    run_experiment(exp, stopped)
    assert "restarts from its first epoch" in capsys.readouterr().err
    pd.testing.assert_frame_equal(pd.read_csv(stopped / "history.csv"), pd.read_csv(whole / "history.csv"))
    assert (
        json.loads((stopped / "metrics.json").read_text())["accuracy"]
        == json.loads((whole / "metrics.json").read_text())["accuracy"]
    )


# ------------------------------------------------ kerasexp/training/resume.py on its own (no fit)


def tiny_model(seed=0):
    """A compiled model with a Dropout layer (a random-generator state) and an optimizer."""
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), keras.layers.Dropout(0.5)])
    model.compile(optimizer="adam", loss="mse")
    model.optimizer.build(model.trainable_variables)
    return model


def test_random_generator_states_round_trip_and_a_wrong_count_is_refused():
    model = tiny_model()
    states = resume.rng_states(model)
    assert len(states) == 1
    resume.set_rng_states(model, [[7, 9]])
    assert resume.rng_states(model) == [[7, 9]]
    with pytest.raises(ValueError, match="^2 random-generator states saved, the model has 1$"):
        resume.set_rng_states(model, states * 2)


def test_the_backup_keeps_the_newest_two_and_falls_back_past_a_damaged_one(tmp_path):
    model, folder = tiny_model(), tmp_path / "backup"
    backup = resume.EpochBackup(folder)
    backup.set_model(model)
    saved = {}
    for epoch in range(3):
        resume.set_rng_states(model, [[epoch, 1]])
        backup.on_epoch_end(epoch)
        saved[epoch + 1] = [w.copy() for w in model.get_weights()]
        model.set_weights([w + 1 for w in model.get_weights()])
    assert sorted(p.name for p in folder.iterdir()) == [
        "epoch_2.json", "epoch_2.weights.h5", "epoch_3.json", "epoch_3.weights.h5"
    ]  # fmt: skip
    assert json.loads((folder / "epoch_3.json").read_text()) == {"epoch": 3, "rng": [[2, 1]]}
    (folder / "epoch_3.weights.h5").write_bytes(b"garbage")
    warnings, fresh = [], tiny_model(seed=1)
    assert backup.restore(fresh, warn=warnings.append) == 2
    assert len(warnings) == 1 and warnings[0].startswith(f"backup of epoch 3 in {folder} is damaged (")
    for got, want in zip(fresh.get_weights(), saved[2]):
        np.testing.assert_array_equal(got, want)
    assert resume.rng_states(fresh) == [[1, 1]]
    (folder / "epoch_2.json").write_text("{")
    before = [w.copy() for w in fresh.get_weights()]
    assert backup.restore(fresh, warn=warnings.append) == 0
    assert warnings[-1] == f"no usable backup in {folder}: this run restarts from its first epoch"
    for got, want in zip(fresh.get_weights(), before):  # a failed load leaves the model as it was
        np.testing.assert_array_equal(got, want)


def test_a_finished_run_loads_and_final_weights_that_do_not_load_are_one_line(tmp_path):
    from kerasexp import rundir
    from kerasexp.errors import UserError

    model = tiny_model()
    assert resume.load_finished(model, tmp_path) is None  # nothing finished here
    record = {"history": {"loss": [1.0]}, "seconds": 2.0, "epochs_run": 1, "rng": [[4, 4]]}
    rundir.save_finished(model, tmp_path, record)
    fresh = tiny_model(seed=1)
    assert resume.load_finished(fresh, tmp_path) == record
    for got, want in zip(fresh.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(got, want)
    assert resume.rng_states(fresh) == [[4, 4]]
    (tmp_path / "final.weights.h5").write_bytes(b"garbage")
    with pytest.raises(
        UserError, match=f"^the finished run's weights in {tmp_path} do not load into this model"
    ):
        resume.load_finished(fresh, tmp_path)


def test_a_resume_past_the_end_of_its_history_is_refused(tmp_path):
    from types import SimpleNamespace

    from kerasexp.errors import UserError

    history = SimpleNamespace(rows=[{}, {}], path=tmp_path / "history.csv")
    resume.check_history_covers(history, 2)
    with pytest.raises(UserError, match=r"has 2 rows but the backup resumes after epoch 3; put the history"):
        resume.check_history_covers(history, 3)
