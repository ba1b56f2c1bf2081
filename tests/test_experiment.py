"""`kerasexp train | report | compare` end to end on real data, a SIGKILLed run resumed, and
a run folder of another config refused."""

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

TINY = """
[dataset]
name = "fashion_mnist"
limit = {limit}
data_dir = "{data_dir}"

[model]
name = "baseline"

[training]
epochs = {epochs}
batch_size = 32
schedule = "step"
step_every = 2

[evaluation]
kfold = {kfold}
tta = "flip"

[reference]
source = "a test"
test_accuracy = 0.5
"""


def kerasexp(*args):
    return subprocess.run([sys.executable, "-m", "kerasexp", *args], capture_output=True, text=True)


def start_training(exp, out) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "kerasexp", "train", str(exp), "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_for(condition, seconds: float = 300) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline and not condition():
        time.sleep(0.1)


def write_exp(tmp_path, fashion_path, epochs=2, limit=1000, kfold=0, name="tiny.toml"):
    path = tmp_path / name
    path.write_text(TINY.format(epochs=epochs, limit=limit, kfold=kfold, data_dir=fashion_path))
    return path


@pytest.mark.slow
def test_train_writes_the_run_folder_and_report_rebuilds_it(tmp_path, fashion_path):
    out = tmp_path / "run"
    proc = kerasexp("train", str(write_exp(tmp_path, fashion_path)), "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in (
        "config.toml",
        "history.csv",
        "metrics.json",
        "per_class.csv",
        "per_class.md",
        "confusion_matrix.csv",
        "confusion_matrix.png",
        "curves.png",
        "best.keras",
        "run.json",
    ):
        assert (out / name).stat().st_size > 0, name
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) >= {"accuracy", "macro_f1", "loss", "per_class"}
    assert set(metrics["per_class"]["Trouser"]) == {"precision", "recall", "recall_ci95", "f1", "support"}
    low, high = metrics["accuracy_ci95"]
    assert (
        low < metrics["accuracy"] < high
        and metrics["macro_f1_ci95"][0] < metrics["macro_f1"] < metrics["macro_f1_ci95"][1]
    )
    assert "evaluation_choices" in metrics
    assert len(pd.read_csv(out / "history.csv")) == 2
    (out / "per_class.csv").unlink()
    (out / "confusion_matrix.png").unlink()
    again = kerasexp("report", str(out))
    assert again.returncode == 0, again.stderr[-2000:]
    assert (out / "per_class.csv").exists() and (out / "confusion_matrix.png").exists()
    assert json.loads((out / "metrics.json").read_text())["accuracy"] == metrics["accuracy"]
    table = kerasexp("compare", str(out), "--out", str(tmp_path / "cmp"))
    assert table.returncode == 0, table.stderr[-2000:]
    row = pd.read_csv(tmp_path / "cmp.csv").iloc[0]
    assert row["reference_test_acc"] == 0.5 and row["diff"] == pytest.approx(metrics["accuracy"] - 0.5)
    assert row["tta"] == "flip"
    record = json.loads((out / "run.json").read_text())
    assert f"trained {out} (2 epochs)" in proc.stderr.splitlines()
    rerun = kerasexp("train", str(write_exp(tmp_path, fashion_path)), "--out", str(out))
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert f"loaded {out} (finished " in rerun.stderr and "| accuracy |" in rerun.stdout
    kept = json.loads((out / "run.json").read_text())  # loaded, not retrained: its record stands
    assert (kept["started"], kept["wall_seconds"]) == (record["started"], record["wall_seconds"])


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_full_epochs_and_ends_where_an_uninterrupted_run_ends(
    tmp_path, fashion_path
):
    exp = write_exp(tmp_path, fashion_path, epochs=4, limit=2000)
    out = tmp_path / "run"
    proc = start_training(exp, out)
    history = out / "history.csv"
    wait_for(lambda: (out / "backup" / "epoch_1.json").exists())  # 1 epoch backed up
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(pd.read_csv(history))
    assert 1 <= done_before < 4, "the run should be killed mid-training"
    assert not (out / "metrics.json").exists()

    resumed = kerasexp("train", str(exp), "--out", str(out))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    hist = pd.read_csv(history)
    assert hist["epoch"].tolist() == [0, 1, 2, 3]
    run = json.loads((out / "run.json").read_text())
    assert run["resumed_from"] >= 1 and run["epochs_run"] == 4
    assert f"resumed {out} at epoch {run['resumed_from'] + 1} of 4" in resumed.stderr
    assert run["command"].startswith("python -m kerasexp train ")  # as typed, not kerasexp.__main__
    # The optimizer's step counter survived: step decay (every 2 epochs) is where it should be.
    assert hist["learning_rate"].tolist() == pytest.approx([1e-3, 1e-3, 5e-4, 5e-4])
    whole = tmp_path / "whole"
    assert kerasexp("train", str(exp), "--out", str(whole)).returncode == 0
    pd.testing.assert_frame_equal(hist, pd.read_csv(whole / "history.csv"))  # bit for bit
    assert _metrics(out) == _metrics(whole)


def _metrics(run_dir):
    """metrics.json without the record of how the run went (start, wall time, resumed from)."""
    metrics = json.loads((run_dir / "metrics.json").read_text())
    metrics.pop("run")
    return metrics


@pytest.mark.slow
def test_a_run_folder_of_another_config_is_not_resumed(tmp_path, fashion_path):
    out = tmp_path / "run"
    assert (
        kerasexp("train", str(write_exp(tmp_path, fashion_path, epochs=1)), "--out", str(out)).returncode == 0
    )
    proc = kerasexp("train", str(write_exp(tmp_path, fashion_path, epochs=2)), "--out", str(out))
    assert proc.returncode == 2
    line = proc.stderr.strip().splitlines()[-1]
    assert "different config" in line and "training.epochs: 1 -> 2" in line


@pytest.mark.slow
def test_kfold_run_writes_fold_table(tmp_path, fashion_path):
    out = tmp_path / "kf"
    proc = kerasexp(
        "train",
        str(write_exp(tmp_path, fashion_path, epochs=1, limit=1000, kfold=3)),
        "--set",
        "evaluation.drop_folds=[2]",
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    folds = pd.read_csv(out / "folds.csv")
    assert folds["fold"].astype(str).tolist() == ["1", "2", "3", "mean", "std", "mean ± std"]
    assert all((out / f"fold_{i}" / "history.csv").exists() for i in (1, 2, 3))
    run = json.loads((out / "run.json").read_text())
    assert run["ensemble"] == {"method": "mean", "dropped": [2]}


@pytest.mark.parametrize(
    "text,match",
    [
        ("[training]\nepoch = 3\n", "unknown key training.epoch"),
        ('[training]\noptimizer = "adamax"\n', "unknown optimizer 'adamax'"),
        ('[model]\nname = "nope"\n', "unknown model 'nope'"),
        ('[training]\nloss = "hinge"\n', "unknown loss 'hinge'"),
        ("[training]\nepochs = 1.5\n", "training.epochs = 1.5 has the wrong type"),
        ('[model]\nname = "vgg"\nparams = { convs_per_block = [1, 2] }\n', "needs one count per width"),
        (
            '[augmentation]\npolicy = "flip_translate"\nparams = { rotate = 3 }\n',
            "unexpected keyword argument 'rotate'",
        ),
    ],
)
def test_typos_in_an_experiment_file(tmp_path, text, match, capsys):
    """In process (a TensorFlow start-up per case cost a minute); the command's own exit is below."""
    from kerasexp.cli import main

    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(SystemExit) as exit_info:
        main(["train", str(path), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert exit_info.value.code == 2 and len(lines) == 1 and match in lines[0], err
    assert not (tmp_path / "o").exists(), "a refused experiment must write nothing"


def test_a_typo_exits_the_command_with_2_and_one_line(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[training]\nepoch = 3\n")
    proc = kerasexp("train", str(path), "--out", str(tmp_path / "o"))
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1 and "unknown key training.epoch" in lines[0], proc.stderr[
        -2000:
    ]
    assert "Traceback" not in proc.stderr and not (tmp_path / "o").exists()


def test_bench_train_prints_one_json_object():
    proc = kerasexp("bench", "train", "--images", "512", "--repeats", "1", "--batch-size", "128")
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert {
        "kerasexp_img_s",
        "keras_fit_img_s",
        "torch_img_s",
        "ratio_vs_keras_fit",
        "ratio_vs_torch",
        "torch_eager_img_s",
        "torch_compiled_img_s",
        "torch_compile_seconds",
        "cpu_flags",
        "tf_threads",
    } <= set(result)
    for key in (
        "kerasexp_img_s",
        "fit_same_pipeline_img_s",
        "keras_fit_img_s",
        "keras_fit_spe_img_s",
        "ratio_loop_overhead",
        "ratio_defaults_vs_keras",
        "ratio_pipeline",
        "ratio_steps_per_execution",
        "matmul_gflop_s",
    ):
        assert result[key] > 0, key
    # the named ratios are the medians of per-round ratios of the figures beside them (one round here)
    rounds = result["rounds"]
    assert result["ratio_loop_overhead"] == pytest.approx(
        rounds["kerasexp"][0] / rounds["fit_pipeline"][0], abs=2e-3
    )
    assert result["ratio_defaults_vs_keras"] == pytest.approx(
        rounds["kerasexp"][0] / rounds["keras_fit"][0], abs=2e-3
    )
    if result["torch_eager_img_s"] is not None:  # torch installed ([bench] extra)
        assert result["torch_threads"] == os.cpu_count() and result["torch_compile_seconds"] > 0
    assert all(len(v) == 1 for v in result["rounds"].values())
    # process CPU seconds per wall second: positive, at most the cores the process may use
    assert 0 < result["rounds"]["cpu_share"][0] <= len(os.sched_getaffinity(0)) + 0.05


@pytest.mark.slow
def test_one_writer_per_run_folder_and_a_killed_writer_frees_it(tmp_path, fashion_path, capsys):
    from kerasexp.cli import main

    exp = write_exp(tmp_path, fashion_path, epochs=3, limit=2000)
    out = tmp_path / "run"
    first = start_training(exp, out)
    lock = out / ".lock"
    wait_for(lambda: lock.exists() and lock.read_text().strip() == str(first.pid))
    assert first.poll() is None, "the first writer ended before the test could meet it"
    with pytest.raises(SystemExit) as exit_info:
        main(["train", str(exp), "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and len(err.splitlines()) == 1
    assert f"pid {first.pid}" in err and str(out) in err
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    assert main(["train", str(exp), "--out", str(out)]) == 0  # the lock died with its holder
    assert len(pd.read_csv(out / "history.csv")) == 3


@pytest.mark.slow
def test_seeds_run_one_folder_each_and_report_mean_and_std(tmp_path, fashion_path, capsys):
    from kerasexp.cli import main

    out = tmp_path / "seeds"
    exp = write_exp(tmp_path, fashion_path, epochs=1, limit=600)
    # --workers 1: the seeds one after another in this process, sharing one progress estimate
    assert main(["train", str(exp), "--seeds", "0,1,2", "--workers", "1", "--out", str(out)]) == 0
    # one progress line a seed, named by its seed, whose estimate covers the seeds still to come
    lines = [line for line in capsys.readouterr().err.splitlines() if " epoch 1/1 " in line]
    assert [line.split("]")[0] for line in lines] == [f"[seed {s} {exp.stem}" for s in (0, 1, 2)]
    assert "~0s in all" not in lines[0] and lines[2].endswith("~0s in all")
    summary = json.loads((out / "seeds.json").read_text())
    accuracies = [json.loads((out / f"seed_{s}" / "metrics.json").read_text())["accuracy"] for s in (0, 1, 2)]
    assert summary["accuracy"]["values"] == accuracies and len(set(accuracies)) > 1  # the seeds differ
    assert summary["accuracy"]["mean"] == pytest.approx(sum(accuracies) / 3)
    assert "± " in (out / "seeds.md").read_text()
    assert main(["compare", str(out), str(out / "seed_0"), "--out", str(tmp_path / "cmp")]) == 0
    rows = pd.read_csv(tmp_path / "cmp.csv")
    assert (
        rows.loc[0, "test_acc"] == pytest.approx(summary["accuracy"]["mean"])
        and rows.loc[0, "seed"] == "0,1,2"
    )
    one = tmp_path / "one_seed"  # a group of one seed has no spread: its row keeps the run's own interval
    assert main(["train", str(exp), "--seeds", "0", "--out", str(one)]) == 0
    assert main(["compare", str(out), str(one), "--out", str(tmp_path / "cmp1")]) == 0
    rows = pd.read_csv(tmp_path / "cmp1.csv")
    assert rows.loc[0, "test_acc_ci95"].startswith("std ") and not rows.loc[1, "test_acc_ci95"].startswith(
        "std"
    )
    assert rows.loc[1, "test_acc"] == accuracies[0]  # the same config and seed: the same run
    assert main(["train", str(exp), "--seeds", "0,1,2", "--out", str(out)]) == 0  # loads all three
    assert json.loads((out / "seeds.json").read_text())["accuracy"] == summary["accuracy"]


@pytest.mark.slow
def test_reports_check_lists_runs_todays_code_would_not_reproduce(tmp_path, fashion_path, capsys):
    from kerasexp.cli import main

    exp = write_exp(tmp_path, fashion_path, epochs=1, limit=600)
    root = tmp_path / "reports"
    assert main(["train", str(exp), "--out", str(root / "a")]) == 0
    assert main(["train", str(exp), "--out", str(root / "b")]) == 0
    capsys.readouterr()
    assert main(["reports", "check", "--root", str(root)]) == 0
    assert "2 of 2 run folders" in capsys.readouterr().out
    record = json.loads((root / "b" / "run.json").read_text())
    record["machine"]["results_version"] = 1  # made before the last change to results
    (root / "b" / "run.json").write_text(json.dumps(record))
    config = root / "a" / "config.toml"
    config.write_text(config.read_text().replace("test_noise_std = 0.0\n", ""))  # a key added since: fine
    assert main(["reports", "check", "--root", str(root)]) == 1
    out = capsys.readouterr().out
    assert f"stale {root / 'b'}: made by results version 1" in out and "1 of 2 run folders" in out
    config.write_text(
        config.read_text().replace("[training]\n", "[training]\nwarmup = 2\n")
    )  # a key gone since
    assert main(["reports", "check", "--root", str(root)]) == 1
    out = capsys.readouterr().out
    assert f"stale {root / 'b'}: made by results version 1" in out
    assert f"stale {root / 'a'}: today's code cannot read its config.toml (unknown key training.warmup" in out
    assert "0 of 2 run folders" in out
    # loading such a run says so in one line (it is not silently passed off as today's)
    assert main(["train", str(exp), "--out", str(root / "b")]) == 0
    err = capsys.readouterr().err
    assert "warning:" in err and "results version 1" in err and "delete it" in err
