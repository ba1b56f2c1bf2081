"""The ledger of test-set looks (kerasexp/evaluation/ledger.py): a row each time a test split is
predicted, safe with processes side by side, none for a run that is only loaded; the back-fill
from committed records; and the speedrun's refusal of another recipe's folder."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kerasexp.errors import UserError
from kerasexp.evaluation import ledger

ROOT = Path(__file__).resolve().parents[2]

APPEND_50 = """
import sys
from kerasexp.evaluation.ledger import append
for i in range(50):
    append(sys.argv[1], {"time": f"t{i}", "run": f"{sys.argv[2]}/{i}", "command": "a, \\"quoted\\" one",
                         "split": '{"name": "x"}', "recorded_by": "look"})
"""


def test_two_processes_appending_50_rows_each_leave_100_whole_rows(tmp_path):
    path = tmp_path / "deep" / ledger.LEDGER
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", APPEND_50, str(path), name], env=env) for name in "ab"]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    rows = ledger.read_ledger(path)
    assert len(rows) == 100 and path.read_text().count("\n") == 101  # one header, no torn line
    for name in "ab":
        assert [r["run"] for r in rows if r["run"].startswith(name)] == [f"{name}/{i}" for i in range(50)]
    assert {r["command"] for r in rows} == {'a, "quoted" one'}


TINY = """
[dataset]
name = "fashion_mnist"
data_dir = "{data}"
limit = 200
[model]
name = "vgg"
params = {{ widths = [8], convs_per_block = 1 }}
[training]
epochs = 1
batch_size = 64
[logging]
tensorboard = false
"""


def test_a_tiny_run_appends_one_row_and_loading_it_appends_none(fashion_path, tmp_path, monkeypatch):
    from kerasexp.config import load_experiment
    from kerasexp.data import load_dataset
    from kerasexp.runs import run_experiment
    from kerasexp.provenance import code_fingerprint

    monkeypatch.delenv(ledger.ENV, raising=False)
    toml = tmp_path / "tiny.toml"
    toml.write_text(TINY.format(data=fashion_path))
    exp = load_experiment(toml)
    run_experiment(exp, tmp_path / "runs" / "tiny")
    path = tmp_path / "runs" / ledger.LEDGER  # beside the run's folder: no ledger above it
    rows = ledger.read_ledger(path)
    assert len(rows) == 1
    row, record = rows[0], json.loads((tmp_path / "runs" / "tiny" / "run.json").read_text())
    data = load_dataset(exp.dataset)
    assert row["data_fingerprint"] == ledger.data_fingerprint(data.x_test, data.y_test)
    assert (row["dataset"], row["test_images"], row["run"], row["recorded_by"]) == (
        "fashion_mnist",
        "10000",
        "tiny",
        "look",
    )
    assert json.loads(row["split"])["limit"] == 200 and row["config_sha256"] == ledger.config_hash(exp)
    assert row["monitor"] == "val_accuracy"
    assert float(row["val_value"]) == record["evaluation_choices"]["epoch"]["val_accuracy"]
    assert row["source_sha256"] == code_fingerprint()["source_sha256"]
    assert row["time"] >= record["started"]

    run_experiment(exp, tmp_path / "runs" / "tiny")  # finished: loaded, not a new look
    assert ledger.read_ledger(path) == rows


def test_the_backfill_of_a_committed_run_gives_one_row_with_its_recorded_time(
    fashion_path, tmp_path, monkeypatch, capsys
):
    monkeypatch.delenv(ledger.ENV, raising=False)
    shutil.copytree(ROOT / "reports" / "fmnist_best", tmp_path / "reports" / "fmnist_best")
    record = json.loads((tmp_path / "reports" / "fmnist_best" / "run.json").read_text())
    path = ledger.backfill(tmp_path / "reports")
    assert path == tmp_path / "reports" / ledger.LEDGER
    (row,) = ledger.read_ledger(path)
    assert (row["time"], row["run"], row["recorded_by"]) == (record["started"], "fmnist_best", "backfill")
    assert (row["command"], row["commit"]) == (record["command"], record["machine"]["commit"])
    committed = [r for r in ledger.read_ledger(ROOT / "reports" / ledger.LEDGER) if r["run"] == "fmnist_best"]
    assert committed == [row]  # the committed ledger is this command's output
    first = path.read_bytes()
    ledger.backfill(tmp_path / "reports")  # again: rows rebuilt, not doubled
    assert path.read_bytes() == first
    assert "1 rows back-filled" in capsys.readouterr().out


def test_looks_before_a_run_count_only_earlier_looks_at_its_split():
    rows = [
        {"time": t, "run": run, "data_fingerprint": fp}
        for t, run, fp in [
            ("1", "a/seed_0", "x"),
            ("2", "b", "y"),
            ("3", "c", "x"),
            ("4", "d/seed_1", "x"),
            ("5", "d/seed_0", "x"),
        ]
    ]
    table = ledger.looks_before(rows, ["c", "d/", "b"]).splitlines()
    assert table[2:] == ["| c/ | x | 1 |", "| d/ | x | 2 |", "| b/ | y | 0 |"]
    with pytest.raises(UserError, match="no look in the ledger"):
        ledger.looks_before(rows, ["e"])


def test_a_folder_trained_again_counts_its_earlier_runs_looks_before_it():
    rows = [
        {"time": t, "run": run, "data_fingerprint": "x"}
        for t, run in [("1", "g/seed_0"), ("2", "g/seed_1"), ("3", "h"), ("4", "g/seed_1"), ("5", "g/seed_0")]
    ]  # g's seeds deleted and trained again at 4 and 5: its first training's two looks count before it
    assert ledger.looks_before(rows, ["g"]).splitlines()[2] == "| g/ | x | 3 |"


SPEEDRUN = """
[dataset]
name = "fashion_mnist"
data_dir = "{data}"
limit = 600
[model]
name = "vgg"
params = {{ widths = [8, 16], convs_per_block = {convs} }}
[training]
epochs = 1
"""


def test_speedrun_refuses_an_out_holding_another_recipes_runs(fashion_path, tmp_path):
    from kerasexp import rundir
    from kerasexp.bench.speedrun import check_reuse, speedrun
    from kerasexp.config import load_experiment

    mine, other = tmp_path / "mine.toml", tmp_path / "other.toml"
    mine.write_text(SPEEDRUN.format(data=fashion_path, convs=1))
    other.write_text(SPEEDRUN.format(data=fashion_path, convs=2))
    out = tmp_path / "out"
    rundir.write_config(out / "seed_0", load_experiment(other))
    before = sorted(out.rglob("*"))
    with pytest.raises(
        UserError, match=r"holds another recipe's runs \(seed_0/ of another config\).*--reuse"
    ):
        speedrun(mine, [0], out)
    assert sorted(out.rglob("*")) == before  # nothing trained, nothing written
    check_reuse(out, load_experiment(mine), mine, reuse=True)  # told to: no refusal
    check_reuse(out, load_experiment(other), other, reuse=False)  # its own recipe's folder: resumed
    (out / "summary.json").write_text(json.dumps({"experiment": str(other)}))
    with pytest.raises(UserError, match=r"summary.json of .*other.toml"):
        check_reuse(out, load_experiment(mine), mine, reuse=False)
