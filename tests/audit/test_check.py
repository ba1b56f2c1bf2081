"""`kerasexp reports check` proves the committed reports: metrics recomputed from the predictions,
summaries rebuilt from their runs, first epochs replayed. A tampered copy fails, the untouched
copy passes."""

import csv
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from kerasexp.cli import main

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ("pbc96_resnet18", "pbc96_ladder/ladder_resnet")  # two runs and their compare table; a seed group


@pytest.fixture
def reports(tmp_path):
    """A copy of two small committed report folders (without pbc96_resnet18's seeds/ group), laid
    out as under reports/."""
    root = tmp_path / "reports"
    for part in COMMITTED:
        shutil.copytree(ROOT / "reports" / part, root / part, ignore=shutil.ignore_patterns("seeds"))
    return root


def check(root, capsys, *extra) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["reports", "check", "--root", str(root), *extra])
    return code, capsys.readouterr().out


def test_an_untouched_copy_of_committed_reports_passes(reports, capsys):
    code, out = check(reports, capsys)
    assert code == 0, out
    assert out.splitlines()[-1] == (
        f"3 of 3 run folders under {reports} are what today's code makes; 5 tables rebuilt; 0 problems"
    )
    assert "made by commits: " in out and "not checked (no in-memory builder): " in out
    assert "confusion_matrix.png (x3)" in out  # figures are listed as not checked, not passed off


def edit_metrics(run: Path):
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["accuracy"] += 0.001
    (run / "metrics.json").write_text(json.dumps(metrics, indent=2))


def empty_predictions(run: Path):
    (run / "predictions.npz").write_bytes(b"")


def edit_summary_row(run: Path):
    table = run.parent / "summary.csv"
    header, first, *rest = table.read_text().splitlines()
    cells = first.split(",")
    cells[header.split(",").index("test_acc")] = "0.9"  # the first row's test accuracy, rounded
    table.write_text("\n".join([header, ",".join(cells), *rest]) + "\n")


def edit_seed_table(run: Path):
    table = run.parent / "seeds.csv"
    table.write_text(table.read_text().replace(",0.9", ",0.8", 1))


@pytest.mark.parametrize(
    "tamper, run, expected",
    [
        (
            edit_metrics,
            "pbc96_resnet18/avg",
            "tampered {run}/metrics.json: differs from the metrics of predictions.npz (accuracy: ",
        ),
        (empty_predictions, "pbc96_resnet18/gem", "damaged {run}: {run}/predictions.npz is damaged"),
        (edit_summary_row, "pbc96_resnet18/avg", "tampered {parent}/summary.csv: differs from its rebuild"),
        (
            edit_seed_table,
            "pbc96_ladder/ladder_resnet/seed_0",
            "tampered {parent}/seeds.csv: differs from its rebuild",
        ),
    ],
)
def test_a_tampered_copy_fails(reports, capsys, tamper, run, expected):
    run = reports / run
    before = {p: p.read_bytes() for p in reports.rglob("*") if p.is_file()}
    tamper(run)
    assert before != {p: p.read_bytes() for p in reports.rglob("*") if p.is_file()}  # the edit took
    code, out = check(reports, capsys)
    assert code == 1
    assert expected.format(run=run, parent=run.parent) in out, out
    assert out.splitlines()[-1].endswith("problems") and " 0 problems" not in out.splitlines()[-1]


TINY = """
[dataset]
name = "fashion_mnist"
limit = 200
data_dir = "{data}"
[model]
name = "baseline"
[training]
epochs = 2
batch_size = 64
schedule = "cosine"
"""


def test_replay_retrains_the_first_epoch_and_catches_an_altered_history(tmp_path, fashion_path, capsys):
    exp = tmp_path / "tiny.toml"
    exp.write_text(TINY.format(data=fashion_path))
    root = tmp_path / "reports"
    assert main(["train", str(exp), "--out", str(root / "tiny")]) == 0
    # the record names the code the process ran: a hash of kerasexp's sources, recomputed here
    code = json.loads((root / "tiny" / "run.json").read_text())["machine"]["code"]
    package = ROOT / "kerasexp"
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    assert code["source_sha256"] == digest.hexdigest()
    assert len(code["commit"]) == 40 and (code["diff_sha256"] is None or len(code["diff_sha256"]) == 64)
    code, out = check(root, capsys, "--replay", "1")
    assert code == 0, out
    assert f"replay ok {root / 'tiny'}: first epoch equals history.csv's first row" in out
    history = root / "tiny" / "history.csv"
    rows = list(csv.DictReader(history.open()))
    rows[0]["loss"] = repr(np.nextafter(float(rows[0]["loss"]), 10.0))  # one ulp: still a plausible figure
    with history.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    code, out = check(root, capsys, "--replay", "1")
    assert code == 1
    assert f"replay-failed {root / 'tiny'}: first epoch's loss is " in out, out


@pytest.mark.slow
def test_replay_reproduces_a_one_thread_run_at_its_recorded_threads(tmp_path, fashion_path, capsys):
    """A run of the many-runs fast path trained at one thread: the replay trains at one thread too
    (in a process of its own), so the first epoch is compared, and equal."""
    exp = tmp_path / "tiny.toml"
    exp.write_text(TINY.format(data=fashion_path))
    root = tmp_path / "reports"
    assert main(["train", str(exp), "--set", "training.threads=1", "--out", str(root / "tiny")]) == 0
    assert json.loads((root / "tiny" / "run.json").read_text())["machine"]["tf_threads"] == {
        "intra_op": 1,
        "inter_op": 1,
    }
    code, out = check(root, capsys, "--replay", "1")
    assert code == 0, out
    assert f"replay ok {root / 'tiny'}: first epoch equals history.csv's first row" in out
