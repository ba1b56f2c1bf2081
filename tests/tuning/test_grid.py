"""kerasexp grid: the --grid values, bad input refused before TensorFlow, and a grid of 4 runs
shared by two workers on one PostgreSQL storage, with and without a worker killed mid-run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

from conftest import refused, requires_fashion
from kerasexp.errors import UserError
from kerasexp.tuning.grid import parse_grid

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = ROOT / "studies" / "variants" / "baseline.toml"
SEEDS = ["training.seed=0,1,2,3"]
POINTS = [f"training.seed={seed}" for seed in range(4)]  # the run folders' names


def test_grid_values_are_toml_and_name_one_folder_a_point():
    grid = parse_grid(
        ["training.seed=0,1", "training.learning_rate=1e-3,3e-3", "augmentation.policy=none,flip"]
    )
    assert grid.values == {
        "training.seed": [0, 1],
        "training.learning_rate": [0.001, 0.003],
        "augmentation.policy": ["none", "flip"],  # bare words are strings
    }
    points = grid.points()
    assert len(points) == 8 and points[0] == {
        "training.seed": 0,
        "training.learning_rate": 0.001,
        "augmentation.policy": "none",
    }
    assert grid.folder(points[-1]) == "training.seed=1,training.learning_rate=0.003,augmentation.policy=flip"
    assert parse_grid(['dataset.name="a/b",c']).folder({"dataset.name": "a/b"}) == "dataset.name=a_b"
    assert parse_grid(["training.restore_best=true,false"]).values == {"training.restore_best": [True, False]}
    with pytest.raises(UserError, match="share the run folder name 'dataset.name=a_b'"):
        parse_grid(['dataset.name="a/b","a:b"'])


@pytest.mark.parametrize(
    "argv, match",
    [
        ([], "no grid given"),
        (["--grid", "training.seed"], "expected section.key=v1,v2"),
        (["--grid", "training.seed="], "no values after '='"),
        (["--grid", "training.seed=0,,1"], "an empty value"),
        (["--grid", "training.seed=0,0"], "lists 0 twice"),
        (["--grid", "training.seed=[1],2"], "[1] is not a number, string or boolean"),
        (["--grid", "training.seed=0", "--grid", "training.seed=1"], "given twice"),
        (["--grid", "training.sed=0,1"], "unknown key training.sed"),
        (["--grid", "model.params.filters=0,16"], "filters = 0 for 'baseline'"),
        (["--grid", "training.seed=0,1", "--metric", "accuracy"], "--metric 'accuracy'"),
        (["--grid", "training.seed=0,1", "--storage", "nonsense"], "not a database URL"),
        (
            ["--grid", "training.seed=0,1", "--storage", "postgres://me:s3cr3t@db/x"],
            "unknown database scheme 'postgres'",
        ),
    ],
)
def test_bad_grid_input_is_one_line_and_writes_nothing(argv, match, tmp_path, capsys):
    out = tmp_path / "grid"
    line = refused(["grid", str(EXPERIMENT), "--out", str(out), *argv], capsys, match)
    assert "s3cr3t" not in line and not out.exists()


def test_bad_grid_input_is_refused_before_tensorflow_and_optuna_are_imported():
    script = (
        "import sys\nfrom kerasexp.cli import main\ntry:\n"
        f"    main(['grid', {str(EXPERIMENT)!r}, '--grid', 'training.sed=0,1'])\n"
        "except SystemExit as e:\n"
        "    print('EXIT', e.code, *(m in sys.modules for m in ('tensorflow', 'keras', 'optuna')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.stdout.split() == ["EXIT", "2", "False", "False", "False"], done.stderr[-2000:]


# ---------------------------------------------------------------- workers on one PostgreSQL storage


def _worker(storage: str, name: str, out: Path, log: Path, epochs: int) -> subprocess.Popen:
    argv = ["grid", str(EXPERIMENT), "--grid", SEEDS[0], "--storage", storage, "--study-name", name]
    sets = ["dataset.limit=200", f"training.epochs={epochs}", "logging.tensorboard=false"]
    argv += [a for s in sets for a in ("--set", s)] + ["--out", str(out)]
    argv += ["--heartbeat", "5"]  # a grace of 15 s: a loaded machine may starve a heartbeat or two
    return subprocess.Popen(
        [sys.executable, "-m", "kerasexp", *argv], stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=ROOT
    )


def _wait(worker: subprocess.Popen, log: Path) -> None:
    """The worker's exit 0 (killed after 20 minutes: a loaded machine is slow, a hung worker never ends)."""
    try:
        code = worker.wait(timeout=1200)
    except subprocess.TimeoutExpired:
        worker.kill()
        code = worker.wait()
    assert code == 0, log.read_text()[-2000:]


def _check_grid_done(study, out: Path, logs: list[Path], epochs: int) -> dict[str, object]:
    """Every point complete exactly once: 4 complete trials, one a point; one folder a point, each
    finished, one history row an epoch; each trained by exactly one worker; grid.csv says so.
    Returns each point's complete trial."""
    trials = study.get_trials()
    complete = {
        t.user_attrs["run_dir"].rsplit("/", 1)[-1]: t for t in trials if t.state == TrialState.COMPLETE
    }
    assert sorted(complete) == POINTS and len([t for t in trials if t.state == TrialState.COMPLETE]) == 4
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    extra = [t for t in trials if t.state == TrialState.PRUNED]
    assert all("duplicate_of" in t.user_attrs and "run_dir" not in t.user_attrs for t in extra)
    # no other folder; the test ledger of the points' looks sits beside them (evaluation/ledger.py)
    assert sorted(p.name for p in out.iterdir()) == sorted([*POINTS, "grid.csv", "test_ledger.csv"])
    text = "".join(log.read_text() for log in logs)
    for name, trial in complete.items():
        folder = out / name
        assert (folder / "done.json").exists() and (folder / "predictions.npz").exists()
        history = pd.read_csv(folder / "history.csv")
        assert history["epoch"].tolist() == list(range(epochs))
        assert trial.value == history["val_accuracy"].max()  # validation, at the epoch kept (restore_best)
        assert trial.params == {"training.seed": int(name.split("=")[1])}
        assert text.count(f"trained {folder} ") == 1 and f"loaded {folder}" not in text
    table = pd.read_csv(out / "grid.csv")
    assert table["run"].tolist() == POINTS and set(table["state"]) == {"complete"}
    assert table["val_accuracy"].tolist() == [complete[p].value for p in POINTS]
    return complete


@requires_fashion
@pytest.mark.slow
def test_two_workers_share_a_four_run_grid_each_run_once(pg_url, tmp_path):
    name, out = f"grid-{uuid.uuid4().hex[:8]}", tmp_path / "grid"
    logs = [tmp_path / "w1.log", tmp_path / "w2.log"]
    workers = [_worker(pg_url, name, out, log, epochs=1) for log in logs]
    for worker, log in zip(workers, logs):
        _wait(worker, log)
    study = optuna.load_study(study_name=name, storage=pg_url)
    complete = _check_grid_done(study, out, logs, epochs=1)
    assert not [t for t in study.trials if t.state == TrialState.FAIL]
    for trial in complete.values():
        assert (
            json.loads((out / trial.user_attrs["run_dir"].rsplit("/", 1)[-1] / "run.json").read_text())[
                "resumed_from"
            ]
            == 0
        )


@requires_fashion
@pytest.mark.slow
def test_a_worker_killed_mid_run_is_retried_and_its_folder_resumed(pg_url, tmp_path):
    name, out = f"grid-{uuid.uuid4().hex[:8]}", tmp_path / "grid"
    victim = _worker(pg_url, name, out, tmp_path / "victim.log", epochs=3)
    deadline, killed = time.time() + 900, None  # a loaded machine: minutes before the first epoch ends
    while killed is None and time.time() < deadline and victim.poll() is None:
        time.sleep(0.2)
        for marker in out.glob("*/backup/epoch_1.json"):  # epoch 1 backed up whole, the run not finished
            if not (marker.parents[1] / "done.json").exists():
                os.kill(victim.pid, signal.SIGKILL)
                killed = marker.parents[1]
                break
    victim.kill()
    victim.wait()
    assert killed is not None, "no run was caught mid-way: " + (tmp_path / "victim.log").read_text()[-2000:]
    survivor = _worker(pg_url, name, out, tmp_path / "survivor.log", epochs=3)
    _wait(survivor, tmp_path / "survivor.log")
    study = optuna.load_study(study_name=name, storage=pg_url)
    complete = _check_grid_done(study, out, [tmp_path / "victim.log", tmp_path / "survivor.log"], epochs=3)
    (failed,) = [t for t in study.trials if t.state == TrialState.FAIL]  # failed by its stale heartbeat
    assert failed.user_attrs["run_dir"] == str(killed)
    retry = complete[killed.name]
    assert retry.system_attrs["failed_trial"] == failed.number and retry.params == failed.params
    record = json.loads((killed / "run.json").read_text())
    assert record["resumed_from"] >= 1 and record["epochs_run"] == 3  # resumed, not trained again
    resumed = record["resumed_from"]
    assert (
        f"trained {killed} ({3 - resumed} epoch{'s' if resumed == 1 else ''}, resumed at epoch {resumed + 1})"
        in (tmp_path / "survivor.log").read_text()
    )
