"""Optuna studies: search space from TOML, SQLite and PostgreSQL storage, pruning, failures,
killed workers, memory across trials, bad input, MirroredStrategy."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

from kerasexp.cli import main
from kerasexp.errors import UserError
from kerasexp.tuning.config import load_study_file
from kerasexp.tuning.storage import mask_url
from conftest import requires_fashion

ROOT = Path(__file__).resolve().parents[2]


def study_file(
    tmp_path, pbc96_path, *, epochs=1, limit=240, pruner="none", pruner_params="{}", extra="", name="tiny"
) -> Path:
    """A small real study: pbc96 images at 32x32, MobileNet 0.25 without weights, 1-2 dense layers."""
    path = tmp_path / f"{name}.toml"
    path.write_text(
        textwrap.dedent(f"""
        [dataset]
        name = "image_folder"
        data_dir = "{pbc96_path}"
        image_size = 32
        limit = {limit}
        seed = 0
        [model]
        name = "transfer"
        params = {{ backbone = "MobileNet", weights = "none", backbone_params = {{ alpha = 0.25 }} }}
        [training]
        epochs = {epochs}
        batch_size = 32
        optimizer = "lion"
        class_weight = "balanced"
        seed = 0
        [study]
        metric = "val_accuracy"
        pruner = "{pruner}"
        pruner_params = {pruner_params}
        n_startup_trials = 2
        {extra}
        [search.params]
        "model.params.unfreeze" = {{ low = 0, high = 12, step = 6 }}
        "training.learning_rate" = {{ low = 1e-4, high = 1e-2, log = true }}
        [search.head]
        layers = [1, 2]
        units = [8, 16]
        dropout = [0.0, 0.3]
    """)
    )
    return path


def test_study_file_search_space_becomes_experiments():
    spec = load_study_file(ROOT / "studies" / "pbc96_study.toml", data=False)
    trial = optuna.trial.FixedTrial(
        {
            "unfreeze": 10,
            "learning_rate": 1e-3,
            "head_layers": 2,
            "head_units_0": 256,
            "head_units_1": 64,
            "head_dropout_0": 0.3,
            "head_dropout_1": 0.1,
            "head_batchnorm": True,
        }
    )
    exp = spec.trial_experiment(trial)
    assert exp.model.params["unfreeze"] == 10 and exp.training.learning_rate == 1e-3
    assert exp.model.params["head_units"] == [256, 64] and exp.model.params["head_dropouts"] == [0.3, 0.1]


@pytest.mark.parametrize(
    "text, message",
    [
        ('[search.params]\n"training.nope" = { low = 1, high = 2 }', "unknown key training.nope"),
        (
            '[search.params]\n"training.learning_rate" = { low = 0, high = 1, log = true }',
            "log scale needs low > 0",
        ),
        ('[search.params]\n"dataset.limit" = { low = 1, high = 2 }', "dataset is fixed"),
        ('[study]\npruner = "sometimes"\n[search.head]\nlayers = [1, 2]', "unknown pruner"),
        ('[study]\nmetrc = "val_accuracy"\n[search.head]\nlayers = [1, 2]', "unknown key study.metrc"),
        ('[model]\nname = "transfer"', r"needs a \[search\] section"),
    ],
)
def test_bad_study_files_are_named(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text('[model]\nname = "transfer"\n' + text.replace('[model]\nname = "transfer"', ""))
    with pytest.raises(UserError, match=message):
        load_study_file(path)


@pytest.mark.slow
def test_three_trial_sqlite_study_and_its_report(pbc96_path, tmp_path, capsys):
    toml = study_file(tmp_path, pbc96_path, epochs=2)
    out = tmp_path / "study"
    assert main(["study", str(toml), "--out", str(out), "--n-trials", "3"]) == 0
    url = f"sqlite:///{out / 'study.db'}"
    study = optuna.load_study(study_name="tiny", storage=url)
    states = [t.state for t in study.trials]
    assert states == [TrialState.COMPLETE] * 3
    for t in study.trials:
        assert (
            0.0 <= t.value <= 1.0
            and t.params["unfreeze"] in (0, 6, 12)
            and 1e-4 <= t.params["learning_rate"] <= 1e-2
        )
        assert t.user_attrs["epochs_run"] == 2
    assert len({json.dumps(t.params, sort_keys=True) for t in study.trials}) == 3
    # each trial is its own TensorBoard sub-run
    from kerasexp.training.tensorboard import read_events

    for t in study.trials:
        assert [
            s
            for s, _ in read_events(out / "tensorboard" / f"trial_{t.number}" / "validation")[
                "epoch_accuracy"
            ]
        ] == [1, 2]
    # running the same command again finds the study finished and trains nothing
    assert main(["study", str(toml), "--out", str(out), "--n-trials", "3"]) == 0
    assert len(optuna.load_study(study_name="tiny", storage=url).trials) == 3

    report = tmp_path / "report"
    assert main(["study-report", "--storage", url, "--study-name", "tiny", "--out", str(report)]) == 0
    summary = json.loads((report / "summary.json").read_text())
    assert summary["complete"] == 3 and summary["best_value"] == study.best_value
    md = (report / "summary.md").read_text()
    assert "- epochs run: 6 of at most 6 (3 trials of up to 2); epochs saved by pruning: 0;" in md
    assert (
        f"- best val_accuracy: {study.best_value:.4f} (trial {study.best_trial.number}; selected among 3 "
        "trials: biased upward, so no interval;"
    ) in md  # a selected maximum gets no interval
    assert len((report / "trials.csv").read_text().strip().splitlines()) == 4
    for name in (
        "history.png",
        "parallel_coordinate.png",
        "best/per_class.csv",
        "best/confusion_matrix.png",
        "best_config.toml",
    ):
        assert (report / name).exists(), name
    best_metrics = json.loads((report / "best" / "metrics.json").read_text())
    assert summary["test"]["accuracy"] == best_metrics["accuracy"]
    assert summary["test"]["accuracy_ci95"] == best_metrics["accuracy_ci95"]
    choices = best_metrics["evaluation_choices"]
    assert choices["trial"]["trial"] == study.best_trial.number
    assert choices["epoch"]["epoch"] == study.best_trial.user_attrs["best_epoch"]
    # the best validation value's interval: Wilson over the trial's validation images
    n = study.best_trial.user_attrs["val_images"]
    low, high = summary["best_value_ci95"]
    assert n > 0 and low < study.best_value < high

    # --seeds: one retrain a seed and their mean; a second report loads them without training
    seeded = tmp_path / "seeded"
    args = ["study-report", "--storage", url, "--study-name", "tiny", "--out", str(seeded), "--seeds", "0,1"]
    assert main(args) == 0
    seeds = json.loads((seeded / "best" / "seeds.json").read_text())
    values = [
        json.loads((seeded / "best" / f"seed_{s}" / "metrics.json").read_text())["accuracy"] for s in (0, 1)
    ]
    assert (
        seeds["accuracy"]["values"] == values and values[0] == best_metrics["accuracy"]
    )  # seed 0 is the same run
    capsys.readouterr()
    assert main(args) == 0
    assert "epoch 1/" not in capsys.readouterr().err
    assert json.loads((seeded / "summary.json").read_text())["test"]["accuracy"] == pytest.approx(
        sum(values) / 2
    )
    assert main(["study-compare", str(report), str(seeded), "--out", str(tmp_path / "cmp")]) == 0
    row = pd.read_csv(tmp_path / "cmp.csv").iloc[1]
    assert row["epochs_vs_first"] == 1.0
    assert not {"best_value_ci95", "best_inside_first_ci95"} & set(row.index)  # a selected best: no interval
    assert row["test_significant"].startswith("not paired")


@pytest.mark.slow
def test_pruning_really_prunes_on_the_metric_keras_logs(pbc96_path, tmp_path):
    # A threshold above any accuracy prunes every trial at its first report: proves that the
    # callback found val_accuracy in Keras' logs and that a pruned trial stops training.
    toml = study_file(
        tmp_path, pbc96_path, epochs=3, limit=160, pruner="threshold", pruner_params="{ lower = 1.01 }"
    )
    out = tmp_path / "study"
    assert main(["study", str(toml), "--out", str(out), "--n-trials", "2"]) == 0
    study = optuna.load_study(study_name="tiny", storage=f"sqlite:///{out / 'study.db'}")
    assert [t.state for t in study.trials] == [TrialState.PRUNED] * 2
    assert all(t.user_attrs["epochs_run"] == 1 and list(t.intermediate_values) == [0] for t in study.trials)


def test_a_metric_keras_does_not_log_is_a_one_line_error(pbc96_path, tmp_path, capsys):
    toml = study_file(tmp_path, pbc96_path, limit=160, extra="", name="badmetric")
    toml.write_text(toml.read_text().replace('metric = "val_accuracy"', 'metric = "val_acc"'))
    with pytest.raises(SystemExit) as exit_info:
        main(["study", str(toml), "--out", str(tmp_path / "s"), "--n-trials", "1"])
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and "'val_acc' is not logged" in err and len(err.splitlines()) == 1


@pytest.mark.slow
def test_a_failing_trial_is_recorded_and_the_study_goes_on(pbc96_path, tmp_path, monkeypatch):
    from kerasexp.tuning import run as study_module

    real = study_module.Objective._train
    calls = []

    def sometimes_out_of_memory(self, trial, exp, data):
        calls.append(trial.number)
        if trial.number == 1:
            raise MemoryError("simulated out of memory")
        return real(self, trial, exp, data)

    monkeypatch.setattr(study_module.Objective, "_train", sometimes_out_of_memory)
    spec = load_study_file(study_file(tmp_path, pbc96_path, limit=160))
    study = study_module.run_study(spec, None, n_trials=2, out_dir=tmp_path / "s", log=lambda *_: None)
    states = [t.state for t in study.trials]
    assert states.count(TrialState.FAIL) == 1 and states.count(TrialState.COMPLETE) == 2
    assert "simulated out of memory" in study.trials[1].user_attrs["error"]


def _rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1]) / 1024


@pytest.mark.slow
def test_trials_in_their_own_processes_keep_the_worker_memory_flat(pbc96_path, tmp_path):
    """8 trials, each in a child process: the worker's memory stays flat (in one process Keras
    keeps 10-50 MB of every trained model, so 6 trials would add 60-300 MB), every trial has its
    own process, none is lost."""
    from kerasexp.tuning import run as study_module

    spec = load_study_file(study_file(tmp_path, pbc96_path, limit=160, extra="trial_process = true"))
    out = tmp_path / "s"
    study_module.run_study(spec, None, n_trials=2, out_dir=out, log=lambda *_: None)
    before = _rss_mb()
    study = study_module.run_study(spec, None, n_trials=8, out_dir=out, log=lambda *_: None)
    grown = _rss_mb() - before
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 8
    pids = [t.user_attrs["pid"] for t in study.trials]
    assert len(set(pids)) == 8 and os.getpid() not in pids
    assert grown < 30, f"the worker grew {grown:.0f} MB over 6 trials"


def test_bad_storage_and_study_names_are_one_line_errors_without_the_password(tmp_path, capsys):
    toml = ROOT / "studies" / "pbc96_study.toml"
    for argv, message in (
        (["study", str(toml), "--storage", "postgresql://me:s3cr3t@127.0.0.1:1/db"], "cannot open storage"),
        (
            [
                "study-report",
                "--storage",
                "postgresql://me:s3cr3t@127.0.0.1:1/db",
                "--study-name",
                "x",
                "--out",
                str(tmp_path / "r"),
            ],
            "cannot open storage",
        ),
        (
            [
                "study-report",
                "--storage",
                f"sqlite:///{tmp_path / 'empty.db'}",
                "--study-name",
                "missing",
                "--out",
                str(tmp_path / "r"),
            ],
            "no study 'missing'",
        ),
        (["study", str(toml), "--storage", "nosuchdb://x"], "cannot open storage"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        err = capsys.readouterr().err.strip()
        assert exit_info.value.code == 2 and message in err and len(err.splitlines()) == 1, err
        assert "s3cr3t" not in err
    assert mask_url("postgresql://me:s3cr3t@host/db") == "postgresql://me:***@host/db"


# ---------------------------------------------------------------- several workers on PostgreSQL


def _worker(toml: Path, name: str, n: int, log: Path, storage: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kerasexp",
            "study",
            str(toml),
            "--storage",
            storage,
            "--study-name",
            name,
            "--n-trials",
            str(n),
        ],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )


def _finished(trials) -> list:
    return [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]


@contextlib.contextmanager
def fresh_database(pg_url: str):
    """A new, empty PostgreSQL database on the test server (its role needs CREATEDB, which .ci/run
    grants), dropped afterwards: the state of a machine where nobody has used Optuna yet."""
    import sqlalchemy
    from sqlalchemy.engine import make_url

    admin = sqlalchemy.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    name = f"kerasexp_fresh_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
    except sqlalchemy.exc.ProgrammingError as err:
        admin.dispose()
        pytest.skip(f"the test role cannot create databases (ALTER ROLE ... CREATEDB): {err.orig}")
    try:
        yield make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def fmnist_study_file(tmp_path, limit=1000) -> Path:
    """A tiny real study: the Annex-1 baseline on 1,000 Fashion-MNIST images, one epoch a trial."""
    path = tmp_path / "fmnist_tiny.toml"
    path.write_text(
        textwrap.dedent(f"""
        [dataset]
        name = "fashion_mnist"
        limit = {limit}
        [model]
        name = "baseline"
        [training]
        epochs = 1
        batch_size = 64
        [study]
        pruner = "none"
        n_startup_trials = 2
        [search.params]
        "training.learning_rate" = {{ low = 1e-4, high = 1e-2, log = true }}
    """)
    )
    return path


def _study_worker(argv: list[str], log: str, start) -> None:
    """A `kerasexp study` worker in a process of its own, released with the others by `start`."""
    with open(log, "w") as out, contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        start.wait()
        try:
            code = main(argv)
        except SystemExit as exit_:
            code = exit_.code
    sys.exit(code)


@requires_fashion
@pytest.mark.slow
def test_workers_started_together_on_a_fresh_database_all_succeed(pg_url, tmp_path):
    """optuna#1092: workers that create Optuna's schema at once crashed with a unique-key violation.
    Five rounds, each on a new empty database: 4 worker processes released at the same instant (forks
    of a server that imported TensorFlow once, so a round costs its trials, not 4 imports), 2 trials."""
    import multiprocessing

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tensorflow", "keras", "kerasexp.cli", "kerasexp.tuning.run"])
    toml = fmnist_study_file(tmp_path, limit=200)
    for round_ in range(5):
        with fresh_database(pg_url) as url:
            start = context.Barrier(4)
            logs = [str(tmp_path / f"r{round_}w{i}.log") for i in range(4)]
            argv = ["study", str(toml), "--storage", url, "--study-name", "race", "--n-trials", "2"]
            workers = [context.Process(target=_study_worker, args=(argv, log, start)) for log in logs]
            for w in workers:
                w.start()
            for w in workers:
                w.join(timeout=300)
            codes = [w.exitcode for w in workers]
            assert codes == [0] * 4, "\n".join(Path(log).read_text()[-600:] for log in logs)
            assert [s.study_name for s in optuna.get_all_study_summaries(url)] == ["race"]  # created once
            trials = optuna.load_study(study_name="race", storage=url).trials
            assert sorted(t.number for t in trials) == list(range(len(trials)))
            assert 2 <= len(_finished(trials)) == len(trials) <= 5  # none failed, none left running
            assert len({json.dumps(t.params, sort_keys=True) for t in trials}) == len(trials)
            logs_text = "".join(Path(log).read_text() for log in logs)
            assert "kerasexp:***@" in logs_text and "kerasexp:kerasexp@" not in logs_text  # no password shown


@requires_fashion
def test_create_only_prepares_a_study_on_a_fresh_database(pg_url, tmp_path, capsys):
    toml = fmnist_study_file(tmp_path)
    with fresh_database(pg_url) as url:
        assert main(["study", str(toml), "--storage", url, "--study-name", "prepared", "--create-only"]) == 0
        study = optuna.load_study(study_name="prepared", storage=url)
        assert study.trials == [] and study.user_attrs["study_file"]["name"] == "fmnist_tiny"
    assert "study prepared ready" in capsys.readouterr().out


def test_a_second_worker_on_one_sqlite_file_is_refused_in_one_line(tmp_path, capsys):
    from kerasexp.tuning.storage import worker_lock

    toml = fmnist_study_file(tmp_path)
    out = tmp_path / "s"
    url = f"sqlite:///{out / 'study.db'}"
    with worker_lock(url):  # a first worker holds the file
        with pytest.raises(SystemExit) as exit_info:
            main(["study", str(toml), "--out", str(out), "--n-trials", "1"])
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and len(err.splitlines()) == 1, err
    assert f"pid {os.getpid()}" in err and "PostgreSQL" in err
    assert not (out / "study.db").exists()  # refused before touching the storage
    assert main(["study", str(toml), "--out", str(out), "--create-only"]) == 0  # free again


@pytest.mark.slow
def test_a_killed_worker_trial_is_failed_and_retried(pg_url, pbc96_path, tmp_path):
    toml = study_file(
        tmp_path, pbc96_path, epochs=4, limit=400, extra="heartbeat_interval = 1\ngrace_period = 3"
    )
    name = f"killed-{uuid.uuid4().hex[:8]}"
    victim = _worker(toml, name, 3, tmp_path / "victim.log", pg_url)
    storage = None
    deadline = time.time() + 120
    while time.time() < deadline:  # wait until the victim is inside a trial's training
        time.sleep(0.5)
        try:
            storage = storage or optuna.storages.RDBStorage(pg_url)
            study = optuna.load_study(study_name=name, storage=storage)
        except KeyError:
            continue
        running = study.get_trials(states=(TrialState.RUNNING,))
        if running and "epochs_run" in running[0].user_attrs:
            break
    else:
        victim.kill()
        pytest.fail(
            "the first worker never started a trial: " + (tmp_path / "victim.log").read_text()[-2000:]
        )
    killed_number = running[0].number
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    survivor = _worker(toml, name, 3, tmp_path / "survivor.log", pg_url)
    assert survivor.wait(timeout=300) == 0, (tmp_path / "survivor.log").read_text()[-2000:]
    trials = optuna.load_study(study_name=name, storage=pg_url).trials
    killed = next(t for t in trials if t.number == killed_number)
    assert killed.state == TrialState.FAIL
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == killed_number]
    assert (
        len(retries) == 1 and retries[0].params == killed.params and retries[0].state == TrialState.COMPLETE
    )
    assert len(_finished(trials)) == 3
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    # the retry ends where an uninterrupted trial of those parameters ends, epoch for epoch
    from kerasexp.data import load_dataset
    from kerasexp.training.session import train_experiment

    exp = load_study_file(toml).trial_experiment(optuna.trial.FixedTrial(killed.params))
    _, result = train_experiment(exp, load_dataset(exp.dataset))
    retry = retries[0].intermediate_values
    assert [retry[step] for step in sorted(retry)] == result.history["val_accuracy"]


# ---------------------------------------------------------------- scaling out within a trial


def test_mirrored_strategy_over_two_logical_cpus_trains_a_step(pbc96_path):
    script = textwrap.dedent(f"""
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from kerasexp.data.folders import load_image_folder
        from kerasexp.training.distribute import strategy_scope
        from kerasexp.models import create_model
        from kerasexp.config import TrainConfig
        from kerasexp.training.loop import train
        from dataclasses import replace
        data = load_image_folder("{pbc96_path}", image_size=32, limit=80, seed=0)
        # batch 16: last batches of 1 (train, 33 images; validation, 17) that TF cannot split evenly
        # over two replicas (AddN shapes): train() drops them under a strategy
        data = replace(data, x_train=data.x_train[:33], y_train=data.y_train[:33], x_val=data.x_train[33:50],
                       y_val=data.y_train[33:50])
        with strategy_scope("mirrored", "auto", devices=["/cpu:0", "/cpu:1"]) as strategy:
            model = create_model("transfer", data.input_shape, data.num_classes, backbone="MobileNet",
                                 weights="none", backbone_params={{"alpha": 0.25}}, unfreeze=6, head_units=[8],
                                 head_dropouts=[0.0])
            result = train(model, data, TrainConfig(epochs=1, batch_size=16, optimizer="lion"))
        import math
        print("REPLICAS", strategy.num_replicas_in_sync, "LOSS", result.last("loss"),
              "FINITE", math.isfinite(result.last("loss")), "POLICY", model.dtype_policy.name)
    """)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("REPLICAS")), None)
    assert line is not None, done.stderr[-3000:]
    words = line.split()
    assert words[1] == "2" and words[5] == "True" and words[7] == "float32"  # no mixed precision on a CPU


# ---------------------------------------------------------------- one experiment path


@pytest.mark.slow
def test_a_resnet_study_with_train_statistics_and_class_policies_trains_like_kerasexp_train(
    pbc96_path, tmp_path
):
    """ResNet-18 standardised with the training split's statistics, class_mixup and multicrop fed
    the class counts: study trials, study-report's retrain and `kerasexp train` build it the same
    way (kerasexp.training.session), so a trial's first epoch is `kerasexp train`'s first epoch."""
    toml = tmp_path / "resnet.toml"
    toml.write_text(
        textwrap.dedent(f"""
        [dataset]
        name = "image_folder"
        data_dir = "{pbc96_path}"
        image_size = 32
        limit = 160
        seed = 0
        [model]
        name = "resnet18"
        params = {{ normalize = "train" }}
        [training]
        epochs = 1
        batch_size = 32
        seed = 0
        [augmentation]
        policy = ["class_mixup", "multicrop"]
        [study]
        metric = "val_loss"
        pruner = "none"
        [search.params]
        "training.learning_rate" = {{ low = 1e-4, high = 1e-2, log = true }}
    """)
    )
    out = tmp_path / "study"
    assert main(["study", str(toml), "--out", str(out), "--n-trials", "1"]) == 0
    url = f"sqlite:///{out / 'study.db'}"
    study = optuna.load_study(study_name="resnet", storage=url)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE]

    report = tmp_path / "report"
    assert main(["study-report", "--storage", url, "--study-name", "resnet", "--out", str(report)]) == 0
    summary = json.loads((report / "summary.json").read_text())
    assert 0 <= summary["test"]["accuracy"] <= 1 and (report / "best" / "confusion_matrix.png").exists()

    run = tmp_path / "run"
    assert main(["train", str(report / "best_config.toml"), "--out", str(run)]) == 0
    history = pd.read_csv(run / "history.csv")
    best = study.best_trial
    assert history["val_loss"].tolist() == pytest.approx([best.intermediate_values[0]], rel=1e-12)


def test_optuna_dashboard_serves_a_kerasexp_study(tmp_path, pbc96_path):
    """The optional extra (pip install 'kerasexp[dashboard]') reads kerasexp's storage as it is."""
    import json as json_module
    import socket
    import urllib.request

    if not shutil.which("optuna-dashboard"):
        pytest.skip("optuna-dashboard not installed (pip install 'kerasexp[dashboard]')")
    toml = study_file(tmp_path, pbc96_path, name="dash")
    url = f"sqlite:///{tmp_path / 'dash.db'}"
    assert main(["study", str(toml), "--storage", url, "--create-only"]) == 0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        ["optuna-dashboard", url, "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline, body = time.time() + 60, None
        while body is None and time.time() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=5) as response:
                    body = json_module.loads(response.read())
            except OSError:
                time.sleep(0.3)
        assert body is not None, "optuna-dashboard did not answer"
        (summary,) = body["study_summaries"]
        assert summary["study_name"] == "dash" and summary["directions"] == ["maximize"]
        assert any(attr["key"] == "study_file" for attr in summary["user_attrs"])
    finally:
        server.terminate()
        server.wait(timeout=30)


# ---------------------------------------------------------------- secrets never written


@requires_fashion
def test_no_file_of_a_postgresql_study_and_its_report_holds_the_password(
    pg_url, tmp_path, monkeypatch, capsys
):
    """The command lines recorded in the study's files, summary.json/.md and the retrain's run.json are
    masked (`--storage URL` and `--storage=URL`); printed lines too."""
    from sqlalchemy.engine import make_url

    toml = fmnist_study_file(tmp_path, limit=200)
    with fresh_database(pg_url) as url:
        password = make_url(url).password
        assert password and f":{password}@" in url
        runs = [
            [
                "study",
                str(toml),
                f"--storage={url}",
                "--study-name",
                "leak",
                "--n-trials",
                "1",
                "--out",
                str(tmp_path / "study"),
            ],
            ["study-report", "--storage", url, "--study-name", "leak", "--out", str(tmp_path / "report")],
        ]
        for argv in runs:
            monkeypatch.setattr(sys, "argv", ["kerasexp", *argv])  # what command_line() records
            assert main(argv) == 0
        printed = capsys.readouterr()
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != toml]
    names = {p.relative_to(tmp_path).as_posix() for p in written}
    assert {"report/summary.json", "report/summary.md", "report/best/run.json"} <= names, names
    assert f":{password}@".encode() in url.encode()  # what is looked for
    for path in written:
        data = path.read_bytes()
        assert url.encode() not in data and f":{password}@".encode() not in data, path
    assert f":{password}@" not in printed.out + printed.err
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert ":***@" in summary["command"] and ":***@" in summary["storage"]
    assert ":***@" in json.loads((tmp_path / "report" / "best" / "run.json").read_text())["command"]


def test_a_storage_url_with_a_typo_in_its_scheme_is_named_without_the_password(tmp_path, capsys):
    for url in ("postgressql://kx:TOPSECRET@db.example/studies", "sqllite:///study.db"):
        with pytest.raises(SystemExit) as exit_info:
            main(["study-report", "--storage", url, "--study-name", "x", "--out", str(tmp_path / "r")])
        err = capsys.readouterr().err.strip()
        scheme = url.split(":")[0]
        assert exit_info.value.code == 2 and len(err.splitlines()) == 1 and "TOPSECRET" not in err
        assert f"unknown database scheme {scheme!r}; use sqlite:///path/study.db or postgresql://" in err, err
