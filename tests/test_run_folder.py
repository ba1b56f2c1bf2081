"""The run folder keeps what it holds: lock first, then decide (a finished run of another config is
refused, never overwritten), a refusal leaves nothing behind, damaged record files are named, a
resume never trusts a history shorter than its backup, and files follow the umask."""

import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kerasexp import rundir
from kerasexp.cli import main
from kerasexp.errors import UserError

from conftest import refused

TINY = """
[dataset]
name = "fashion_mnist"
limit = 200
data_dir = "{data}"
[model]
name = "{model}"
[training]
epochs = {epochs}
batch_size = 64
{extra}
"""


def write_exp(path: Path, data, model="baseline", epochs=1, extra="") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(TINY.format(data=data, model=model, epochs=epochs, extra=textwrap.dedent(extra)))
    return path


def hashes(folder: Path) -> dict[str, str]:
    """Every file's SHA-256 but the lock's (it records only the last pid that asked for the lock)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != rundir.LOCK
    }


@pytest.fixture(scope="module")
def finished(tmp_path_factory, fashion_path):
    """One finished tiny run (baseline, 1 epoch on 200 images), copied by each test that changes it."""
    root = tmp_path_factory.mktemp("finished")
    exp = write_exp(root / "tiny.toml", fashion_path)
    assert main(["train", str(exp), "--out", str(root / "run")]) == 0
    return exp, root / "run"


def copy_run(finished, tmp_path, name="run") -> Path:
    shutil.copytree(finished[1], tmp_path / name)
    return tmp_path / name


# ---------------------------------------------------------------- 1. two configs, one folder, at once

RACER = """
import pathlib, sys, time
from kerasexp.cli import main
import tensorflow  # imported before the barrier: both start training at once
ready, go, exp = (pathlib.Path(a) for a in sys.argv[1:4])
ready.touch()
while not go.exists():
    time.sleep(0.01)
main(["train", str(exp)])
"""


@pytest.mark.slow
def test_two_configs_released_together_into_one_folder_one_runs_the_other_is_refused(
    tmp_path, fashion_path, capsys, monkeypatch
):
    # the case: two configs with the same file stem, so the same default --out runs/tiny
    configs = {
        "baseline": write_exp(tmp_path / "a" / "tiny.toml", fashion_path, "baseline"),
        "bn": write_exp(tmp_path / "b" / "tiny.toml", fashion_path, "bn"),
    }
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    procs = {
        model: subprocess.Popen(
            [sys.executable, "-c", RACER, str(tmp_path / f"ready_{model}"), str(go), str(exp)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for model, exp in configs.items()
    }
    deadline = time.time() + 120
    while not all((tmp_path / f"ready_{m}").exists() for m in procs) and time.time() < deadline:
        time.sleep(0.05)
    go.touch()  # the barrier: both released together
    results = {model: (proc.wait(), proc.communicate()[1]) for model, proc in procs.items()}
    winners = [m for m, (code, _) in results.items() if code == 0]
    assert len(winners) == 1, results
    winner, loser = winners[0], next(m for m in results if m not in winners)
    code, err = results[loser]
    line = err.strip().splitlines()[-1]
    assert code == 2 and "Traceback" not in err, err
    assert "in use by another process" in line or "holds a run of a different config (model.name" in line, (
        line
    )
    run = tmp_path / "runs" / "tiny"
    assert f'name = "{winner}"' in (run / "config.toml").read_text()
    before = hashes(run)
    assert {"done.json", "final.weights.h5", "predictions.npz", "metrics.json", "history.csv"} <= set(before)
    # the loser's command again, now surely after the winner finished: refused, by key; nothing changes
    monkeypatch.chdir(tmp_path)
    refused(
        ["train", str(configs[loser])],
        capsys,
        f'holds a run of a different config (model.name: "{winner}" -> "{loser}")',
    )
    assert hashes(run) == before  # byte for byte: done.json, weights, predictions, history, metrics


def test_a_finished_runs_weights_that_do_not_load_are_refused_and_done_json_kept(finished, tmp_path, capsys):
    run = copy_run(finished, tmp_path)
    weights = run / "final.weights.h5"
    weights.write_bytes(weights.read_bytes()[:200])
    (run / "predictions.npz").unlink()  # not finished: train loads the final weights to predict again
    before = hashes(run)
    refused(["train", str(finished[0]), "--out", str(run)], capsys, f"delete {run / 'done.json'} to retrain")
    assert hashes(run) == before and (run / "done.json").exists()


# ---------------------------------------------------------------- 2. a late refusal leaves nothing behind


def test_a_refusal_after_the_folder_was_made_removes_it_and_the_fixed_command_runs(
    tmp_path, fashion_path, capsys
):
    # class_weight's length needs the data's class count: a check that can only fail late
    bad = write_exp(tmp_path / "tiny.toml", fashion_path, extra="class_weight = [1.0, 2.0]")
    out, empty = tmp_path / "new" / "run", tmp_path / "empty"
    refused(["train", str(bad), "--out", str(out)], capsys, "training.class_weight")
    assert not (tmp_path / "new").exists()  # the folder and the parent this command made
    empty.mkdir()
    refused(["train", str(bad), "--out", str(empty)], capsys, "training.class_weight")
    assert list(empty.iterdir()) == []  # no config.toml, no .lock
    good = write_exp(tmp_path / "tiny.toml", fashion_path)
    old_umask = os.umask(0o022)
    try:
        assert main(["train", str(good), "--out", str(out)]) == 0  # not "a run of a different config"
    finally:
        os.umask(old_umask)
    # 6. files follow the umask (tempfile.mkstemp made them 0600), still renamed into place
    for name in (
        "config.toml",
        "metrics.json",
        "predictions.npz",
        "history.csv",
        "best.keras",
        "run.json",
        "done.json",
        "final.weights.h5",
        "curves.png",
        "backup/epoch_1.weights.h5",
    ):
        assert oct((out / name).stat().st_mode & 0o777) == "0o644", name


# ---------------------------------------------------------------- 3. damaged record files are named


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize("name", ["metrics.json", "predictions.npz"])
def test_compare_names_a_truncated_record(name, finished, tmp_path, capsys):
    a, b = copy_run(finished, tmp_path, "a"), copy_run(finished, tmp_path, "b")
    truncate(b / name)
    refused(["compare", str(a), str(b), "--out", str(tmp_path / "cmp")], capsys, f"{b / name} is damaged")
    assert not (tmp_path / "cmp.csv").exists()


def test_the_api_names_a_damaged_record(finished, tmp_path):
    from kerasexp import load_run

    run = copy_run(finished, tmp_path)
    truncate(run / "metrics.json")
    (run / "history.csv").write_bytes(b"\xff\xfe\x00 not a table")
    with pytest.raises(UserError, match=f"{run / 'metrics.json'} is damaged .*; rebuild it with `kerasexp"):
        _ = load_run(run).metrics
    with pytest.raises(UserError, match=f"{run / 'history.csv'} is damaged"):
        _ = load_run(run).history


def test_a_truncated_metrics_json_is_rebuilt_by_report_and_train(finished, tmp_path, capsys):
    run = copy_run(finished, tmp_path)
    expected = json.loads((run / "metrics.json").read_text())
    truncate(run / "metrics.json")
    assert main(["report", str(run)]) == 0
    assert json.loads((run / "metrics.json").read_text()) == expected
    truncate(run / "metrics.json")
    assert main(["train", str(finished[0]), "--out", str(run)]) == 0
    assert json.loads((run / "metrics.json").read_text())["accuracy"] == expected["accuracy"]


@pytest.mark.parametrize("name", ["predictions.npz", "run.json"])
def test_report_and_train_name_a_damaged_record_and_change_nothing(name, finished, tmp_path, capsys):
    run = copy_run(finished, tmp_path)
    truncate(run / name)
    before = hashes(run)
    refused(["report", str(run)], capsys, f"{run / name} is damaged")
    refused(["train", str(finished[0]), "--out", str(run)], capsys, f"{run / name} is damaged")
    assert hashes(run) == before


def test_reports_check_names_each_damaged_folder_and_goes_on(finished, tmp_path, capsys):
    root = tmp_path / "reports"
    root.mkdir()
    runs = {
        name: copy_run(finished, root, name)
        for name in ("a_metrics", "b_record", "c_config", "d_fine", "e_predictions")
    }
    truncate(runs["a_metrics"] / "metrics.json")
    truncate(runs["b_record"] / "run.json")
    (runs["c_config"] / "config.toml").write_text("[training\nepochs = = 3")
    truncate(runs["e_predictions"] / "predictions.npz")
    capsys.readouterr()
    assert main(["reports", "check", "--root", str(root)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in out[:-3]] == [  # then the commits, what is not checked, the tally
        f"damaged {runs[n]}" for n in ("a_metrics", "b_record", "c_config", "e_predictions")
    ]
    for line, name in zip(out, ("metrics.json", "run.json", "config.toml", "predictions.npz")):
        assert "is damaged" in line and name in line, line
    assert out[-1].startswith(f"1 of 5 run folders under {root}")


# ---------------------------------------------------------------- 4. a resume needs its history


def interrupted(tmp_path, fashion_path, monkeypatch) -> tuple:
    """A 2-epoch run stopped (Ctrl-C) right after its first epoch's backup."""
    from kerasexp.config import load_experiment
    from kerasexp.runs import run_experiment
    from kerasexp.training import resume

    exp = load_experiment(write_exp(tmp_path / "tiny.toml", fashion_path, epochs=2))
    real = resume.EpochBackup.on_epoch_end

    def on_epoch_end(self, epoch, logs=None):
        real(self, epoch, logs)
        raise KeyboardInterrupt

    out = tmp_path / "run"
    with monkeypatch.context() as patch:
        patch.setattr(resume.EpochBackup, "on_epoch_end", on_epoch_end)
        with pytest.raises(KeyboardInterrupt):
            run_experiment(exp, out)
    return exp, out


def test_a_resume_without_its_history_is_refused_and_a_resume_removes_temporaries(
    tmp_path, fashion_path, monkeypatch, capsys
):
    from kerasexp.runs import run_experiment

    exp, out = interrupted(tmp_path, fashion_path, monkeypatch)
    history = (out / "history.csv").read_bytes()
    (out / "history.csv").unlink()
    before = hashes(out)
    with pytest.raises(UserError, match=r"history.csv has 0 rows but the backup resumes after epoch 1; put"):
        run_experiment(exp, out)
    assert hashes(out) == before  # the backup and everything else kept
    (out / "history.csv").write_bytes(history)  # put back: the resume goes on
    left = [
        out / ".best.k2j4h5g6.keras",
        out / "backup" / ".epoch_2.weights.0a1b2c3d.weights.h5",
        out / ".history.3f9e1c2b.csv",
    ]  # a SIGKILLed writer's: mkstemp's names (before), atomic_path's (now)
    for path in left:
        path.write_bytes(b"half")
    mine = out / ".notes.txt"
    mine.write_text("the user's")
    capsys.readouterr()
    run_experiment(exp, out)
    said = capsys.readouterr().err.splitlines()
    assert f"resumed {out} at epoch 2 of 2 (1 epochs trained before)" in said
    assert f"trained {out} (1 epoch, resumed at epoch 2)" in said
    assert not any(path.exists() for path in left) and mine.read_text() == "the user's"
    assert len(pd.read_csv(out / "history.csv")) == 2
    assert not [p for p in out.rglob(".*") if rundir.TEMPORARY.fullmatch(p.name)]


# ---------------------------------------------------------------- 5. a full disk, NaN in JSON


def test_a_full_disk_is_one_line_and_the_rerun_resumes(finished, tmp_path, fashion_path, monkeypatch, capsys):

    exp = write_exp(tmp_path / "tiny.toml", fashion_path)
    out = tmp_path / "run"

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(pd.DataFrame, "to_csv", full)  # history.csv after the first epoch
        refused(
            ["train", str(exp), "--out", str(out)],
            capsys,
            f"cannot write {out / 'history.csv'}: the disk is full; free space",
        )
    assert (out / "config.toml").exists()  # kept for the rerun: a full disk is not a wrong config
    assert not [p for p in out.rglob(".*") if p.name != ".lock"]  # no temporary left
    assert main(["train", str(exp), "--out", str(out)]) == 0
    assert (
        json.loads((out / "metrics.json").read_text())["accuracy"]
        == json.loads((finished[1] / "metrics.json").read_text())["accuracy"]
    )


def test_json_with_nan_is_refused_naming_the_key(tmp_path):
    from kerasexp.atomic import write_json

    with pytest.raises(UserError, match=r"x.json is not written: history.loss\[1\] is NaN or infinite"):
        write_json(tmp_path / "x.json", {"history": {"loss": [0.5, np.float32("nan")]}})
    assert list(tmp_path.iterdir()) == []
    write_json(tmp_path / "y.json", {"a": np.float32(0.5), "b": np.arange(2)})
    assert json.loads((tmp_path / "y.json").read_text()) == {"a": 0.5, "b": [0, 1]}


# ---------------------------------------------------------------- single runs and --seeds groups


def test_a_seeds_group_and_a_single_run_do_not_share_a_folder(finished, tmp_path, capsys):
    run = copy_run(finished, tmp_path)
    before = hashes(run)
    refused(
        ["train", str(finished[0]), "--seeds", "0,1", "--out", str(run)],
        capsys,
        "holds a single run, not a group of `--seeds` runs",
    )
    assert hashes(run) == before and not (run / "seed_0").exists()
    group = tmp_path / "group"
    shutil.copytree(run, group / "seed_0")
    refused(["train", str(finished[0]), "--out", str(group)], capsys, "holds a group of `--seeds` runs")
    assert sorted(p.name for p in group.iterdir()) == ["seed_0"]


def test_a_class_without_test_images_has_no_recall_interval_and_the_json_stays_strict(tmp_path):
    from kerasexp.runs import report_run

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 60)  # class "c" has no test image: its recall interval is undefined
    np.savez(
        tmp_path / "predictions.npz", probs=np.eye(3)[y], y_true=y, class_names=np.array(["a", "b", "c"])
    )
    metrics = report_run(tmp_path)
    assert metrics["per_class"]["c"]["recall_ci95"] == [None, None]
    assert json.loads((tmp_path / "metrics.json").read_text(), parse_constant=lambda c: pytest.fail(c))[
        "per_class"
    ]["c"]["recall_ci95"] == [None, None]


def test_a_refusal_after_an_epoch_was_recorded_keeps_what_was_trained(tmp_path):
    """A late refusal (a NaN loss at epoch 5, the last seed of a group) never throws away the
    epochs or seeds already trained: the folder stays, and a rerun resumes."""
    group = tmp_path / "group"
    with pytest.raises(UserError), rundir.claim(group):
        (group / "seed_0").mkdir()
        (group / "seed_0" / rundir.HISTORY).write_text("epoch,loss\n0,1.0\n")
        raise UserError("training diverged: loss is nan at epoch 5")
    assert (group / "seed_0" / rundir.HISTORY).read_text() == "epoch,loss\n0,1.0\n"
    with pytest.raises(UserError), rundir.claim(tmp_path / "fresh"):
        (tmp_path / "fresh" / rundir.CONFIG).write_text("[training]\n")
        raise UserError("refused before training")
    assert not (tmp_path / "fresh").exists()
