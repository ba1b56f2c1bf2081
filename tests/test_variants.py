"""`python -m kerasexp.variants` end to end, and its answers to bad input."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from kerasexp.data.idx import write_idx

PER_VARIANT = ["curves.png", "history.csv"]
PER_BEST = ["per_class.csv", "per_class.md", "confusion_matrix.csv", "confusion_matrix.png"]


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "kerasexp.variants", *args], capture_output=True, text=True, cwd=cwd)


@pytest.mark.slow
def test_end_to_end_writes_every_file(fashion_path, tmp_path):
    out = tmp_path / "variants"
    proc = run("--epochs", "1", "--limit", "2000", "--out", str(out), "--data-dir", str(fashion_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "[5/5 sigmoid] epoch 1/1" in proc.stderr and "left" in proc.stderr
    table = pd.read_csv(out / "variants.csv")
    assert table["variant"].tolist() == ["baseline", "kernel", "bn", "sgd", "sigmoid"]
    required = ["variant", "params", "train_acc", "val_acc", "test_acc", "epochs", "seconds"]
    assert [c for c in table.columns if c in required] == required
    assert {"report_val_acc", "val_acc_diff"} <= set(table.columns)
    assert table.set_index("variant").loc["baseline", "params"] == 225_034
    assert (table["epochs"] == 1).all()
    for name in table["variant"]:
        for f in PER_VARIANT:
            assert (out / name / f).stat().st_size > 0
    best = table.sort_values("val_acc", ascending=False)["variant"].head(2).tolist()
    test = pd.read_csv(out / "test.csv")
    assert test["variant"].tolist() == best
    for name in best:
        for f in PER_BEST:
            assert (out / name / f).stat().st_size > 0
        per_class = pd.read_csv(out / name / "per_class.csv")
        assert per_class["class"].tolist()[-2:] == ["macro avg", "weighted avg"]
        assert per_class["support"].iloc[:10].sum() == 10_000
        cm = pd.read_csv(out / name / "confusion_matrix.csv", index_col=0)
        assert cm.to_numpy().sum() == 10_000 and "Ankle boot" in cm.columns
        # The test accuracy in the table is the confusion matrix's diagonal.
        assert cm.to_numpy().trace() / 10_000 == pytest.approx(table.set_index("variant").loc[name, "test_acc"])
    md = (out / "variants.md").read_text()
    assert "seed 0, 1 epochs" in md and "wall time" in md and "cores" in md
    meta = json.loads((out / "run.json").read_text())
    assert meta["seed"] == 0 and meta["limit"] == 2000 and meta["wall_seconds"] > 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "staging folder left behind"


def _assert_clean_failure(proc, out, match):
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert match in lines[0]
    assert "Traceback" not in proc.stderr
    assert not out.exists()


def test_unknown_variant(tmp_path):
    out = tmp_path / "o"
    _assert_clean_failure(run("--variants", "baseline,resnet", "--out", str(out)), out, "unknown variant 'resnet'")


@pytest.mark.parametrize("flag,value", [("--epochs", "0"), ("--epochs", "ten"), ("--limit", "-5"), ("--val-fraction", "1.5")])
def test_bad_flag_values(tmp_path, flag, value):
    out = tmp_path / "o"
    _assert_clean_failure(run(flag, value, "--out", str(out)), out, flag)


def test_missing_data_files(tmp_path):
    out = tmp_path / "o"
    (tmp_path / "empty").mkdir()
    _assert_clean_failure(run("--data-dir", str(tmp_path / "empty"), "--out", str(out)), out, "missing")


def test_corrupt_data_file(tmp_path, fashion_path):
    import shutil

    from kerasexp.data import fashion_mnist

    data_dir = tmp_path / "fm"
    data_dir.mkdir()
    for stem in fashion_mnist.FILES.values():
        shutil.copy(fashion_mnist.find_file(fashion_path, stem), data_dir)
    write_idx(data_dir / "train-images-idx3-ubyte.gz", __import__("numpy").zeros((3, 28, 28), "uint8"))
    (data_dir / "t10k-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8bnot really gzip")
    out = tmp_path / "o"
    _assert_clean_failure(run("--data-dir", str(data_dir), "--out", str(out)), out, "t10k-images")


def test_existing_report_survives_a_failed_run(tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / "variants.csv").write_text("kept\n")
    proc = run("--variants", "nope", "--out", str(out))
    assert proc.returncode == 2
    assert (out / "variants.csv").read_text() == "kept\n"
