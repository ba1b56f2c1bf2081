"""`python -m kerasexp.variants` end to end, and its answers to bad input."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from kerasexp.data.idx import write_idx

PER_RUN = ["curves.png", "history.csv", "metrics.json", "run.json", "per_class.csv", "confusion_matrix.png"]


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "kerasexp.variants", *args], capture_output=True, text=True, cwd=cwd)


@pytest.mark.slow
def test_end_to_end_two_seeds_then_loads_without_training(fashion_path, tmp_path):
    out = tmp_path / "variants"
    args = ("--epochs", "1", "--limit", "600", "--seeds", "0,1", "--variants", "baseline,bn,sigmoid", "--out", str(out),
            "--data-dir", str(fashion_path))
    proc = run(*args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "[seed 0 variant_sigmoid] epoch 1/1" in proc.stderr and "[seed 1 variant_sigmoid] epoch 1/1" in proc.stderr
    table = pd.read_csv(out / "variants.csv")
    assert table["variant"].tolist() == ["baseline", "bn", "sigmoid"]
    assert {"val_acc_mean", "val_acc_std", "test_acc_mean", "report_val_acc", "report_val_within_2sd"} <= set(table)
    assert table.set_index("variant").loc["baseline", "params"] == 225_034
    seeds = pd.read_csv(out / "seeds.csv")
    assert len(seeds) == 6 and set(seeds["seed"]) == {0, 1} and (seeds["epochs"] == 1).all()
    for row in seeds.itertuples():
        run_dir = out / row.variant / f"seed_{row.seed}"
        for f in PER_RUN:
            assert (run_dir / f).stat().st_size > 0
        metrics = json.loads((run_dir / "metrics.json").read_text())
        assert metrics["accuracy"] == pytest.approx(row.test_acc)
        assert metrics["evaluation_choices"]["epoch"]["epoch"] == row.best_epoch
        config = (run_dir / "config.toml").read_text()
        assert f"seed = {row.seed}" in config and 'monitor = "val_accuracy"' in config
    # The table's mean and std are the per-seed figures'.
    base = seeds[seeds["variant"] == "baseline"]
    row = table.set_index("variant").loc["baseline"]
    assert row["val_acc_mean"] == pytest.approx(base["val_acc"].mean())
    assert row["val_acc_std"] == pytest.approx(base["val_acc"].std(ddof=1))
    # Table 2: the two best by mean validation accuracy, paired seed with seed.
    best = table.sort_values("val_acc_mean", ascending=False)["variant"].head(2).tolist()
    test = pd.read_csv(out / "test.csv")
    assert test["variant"].tolist() == best
    assert test["significant"].iloc[0] == "reference" and 0 <= test["p_value"].iloc[1] <= 1
    for name in best:
        per_class = pd.read_csv(out / f"per_class_{name}.csv")
        assert per_class["support"].iloc[:10].sum() == 10_000 and "recall_std" in per_class
    md = (out / "variants.md").read_text()
    assert "training seeds 0, 1" in md and "±" in md and "cores" in md
    meta = json.loads((out / "variants.json").read_text())
    assert meta["seeds"] == [0, 1] and meta["limit"] == 600 and meta["training_seconds"] > 0
    # A rerun loads every finished run: nothing trains, the table is the same.
    again = run(*args)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "epoch 1/1" not in again.stderr
    assert pd.read_csv(out / "seeds.csv").equals(seeds)


def test_the_default_variants_are_report_002s_table_1():
    from kerasexp.variants import DEFAULT_VARIANTS, VARIANTS

    assert DEFAULT_VARIANTS == ["baseline", "kernel", "bn", "sgd", "sigmoid"] and set(DEFAULT_VARIANTS) <= set(VARIANTS)


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


def test_refuses_a_folder_of_other_files(tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    proc = run("--out", str(out))
    assert proc.returncode == 2 and "not a variants table" in proc.stderr and "Traceback" not in proc.stderr
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_existing_report_survives_a_failed_run(tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / "variants.csv").write_text("kept\n")
    proc = run("--variants", "nope", "--out", str(out))
    assert proc.returncode == 2
    assert (out / "variants.csv").read_text() == "kept\n"
