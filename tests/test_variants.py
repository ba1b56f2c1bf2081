"""`python -m kerasexp.variants` end to end, and its answers to bad input."""

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from kerasexp.data.idx import write_idx

PER_RUN = ["curves.png", "history.csv", "metrics.json", "run.json", "per_class.csv", "confusion_matrix.png"]


def run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "kerasexp.variants", *args], capture_output=True, text=True, cwd=cwd
    )


@pytest.mark.slow
def test_end_to_end_two_seeds_then_loads_without_training(fashion_path, tmp_path):
    out = tmp_path / "variants"
    args = (
        "--epochs",
        "1",
        "--limit",
        "600",
        "--seeds",
        "0,1",
        "--variants",
        "baseline,bn,sigmoid",
        "--out",
        str(out),
        "--data-dir",
        str(fashion_path),
    )
    proc = run(*args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (
        "[seed 0 variant_sigmoid] epoch 1/1" in proc.stderr
        and "[seed 1 variant_sigmoid] epoch 1/1" in proc.stderr
    )
    table = pd.read_csv(out / "variants.csv")
    assert table["variant"].tolist() == ["baseline", "bn", "sigmoid"]
    assert {"val_acc_mean", "val_acc_std", "test_acc_mean", "report_val_acc", "report_val_within_2sd"} <= set(
        table
    )
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
    # two seeds are too few for a test over seeds: no p-value, and the table says why
    assert test["significant"].iloc[0] == "reference" and pd.isna(test["p_value"].iloc[1])
    assert test["significant"].iloc[1].startswith("too few seeds to test")
    for name in best:
        per_class = pd.read_csv(out / f"per_class_{name}.csv")
        assert per_class["support"].iloc[:10].sum() == 10_000 and "recall_std" in per_class
    md = (out / "variants.md").read_text()
    assert "training seeds 0, 1" in md and "±" in md and "cores" in md
    meta = json.loads((out / "variants.json").read_text())
    assert meta["seeds"] == [0, 1] and meta["limit"] == 600 and meta["training_seconds"] > 0
    assert f"trained {out / 'sigmoid' / 'seed_1'} (1 epoch)" in proc.stderr
    assert "loaded 0 finished runs, trained 6" in proc.stderr
    # A rerun loads every finished run: nothing trains, each run says so, and every file under OUT
    # (the tables, their record, the run folders, the ignored weights) stays byte for byte.
    before = hashes(out)
    again = run(*args)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "epoch 1/1" not in again.stderr
    assert f"loaded {out / 'bn' / 'seed_0'} (finished " in again.stderr
    assert "loaded 6 finished runs, trained 0" in again.stderr.splitlines()
    assert hashes(out) == before
    assert {"variants.json", "variants.md", "seeds.csv", "bn/seeds.json", "bn/seed_0/model.keras"} <= set(
        before
    )


def hashes(folder):
    """Every file under `folder` (lock files aside: held while a command runs) by its SHA-256."""
    import hashlib

    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


def test_the_default_variants_are_report_002s_table_1():
    from kerasexp.variants import DEFAULT_VARIANTS, variant_names

    assert DEFAULT_VARIANTS == ["baseline", "kernel", "bn", "sgd", "sigmoid"]
    assert variant_names() == sorted([*DEFAULT_VARIANTS, "kernel_first"])


COMMITTED = Path(__file__).resolve().parents[1] / "reports" / "variants"


def test_the_files_are_the_committed_runs_configs():
    """Each file with the default flags resolves to the config its committed runs were made with
    (so they load, not retrain); the flags are overrides of every file."""
    from kerasexp import rundir
    from kerasexp.variants import build_parser, variant_experiment

    args = build_parser().parse_args([])
    runs = sorted(COMMITTED.glob("*/seed_*"))
    assert len(runs) == 15
    for run_dir in runs:
        exp = variant_experiment(run_dir.parent.name, args)
        assert exp.name == f"variant_{run_dir.parent.name}"
        seed = int(run_dir.name.split("_")[1])
        # trained by the many-runs fast path: one process a core, at one thread each
        rundir.check_same_config(run_dir, replace(exp, training=replace(exp.training, seed=seed, threads=1)))
    sgd = variant_experiment("sgd", build_parser().parse_args(["--epochs", "2", "--limit", "300"]))
    assert (sgd.training.epochs, sgd.dataset.limit, sgd.training.optimizer, sgd.training.momentum) == (
        2,
        300,
        "sgd",
        0.9,
    )
    assert sgd.reference.train_accuracy == 0.9027 and sgd.reference.val_accuracy == 0.9067


def test_the_committed_tables_are_rebuilt_byte_for_byte_from_their_runs(tmp_path):
    """Tables 1-3 from the committed runs and the files' [reference] figures, without training:
    the same bytes as committed."""
    from kerasexp.evaluation.seed_table import seed_tables
    from kerasexp.variants import build_parser, variant_experiment, write_tables

    meta = json.loads((COMMITTED / "variants.json").read_text())
    names = pd.read_csv(COMMITTED / "variants.csv")["variant"].tolist()
    args = build_parser().parse_args([])
    tables = seed_tables(
        {n: COMMITTED / n for n in names},
        {n: variant_experiment(n, args).reference for n in names},
        meta["seeds"],
    )
    write_tables(tmp_path, tables, {k: v for k, v in meta.items() if k != "best_two"})
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(p.name for p in COMMITTED.iterdir() if p.is_file())
    for name in written:
        assert (tmp_path / name).read_bytes() == (COMMITTED / name).read_bytes(), name


def test_kerasexp_variants_is_a_verb_with_the_same_flags(tmp_path, capsys):
    from kerasexp.cli import main

    out = tmp_path / "o"
    with pytest.raises(SystemExit) as exit_:
        main(["variants", "--variants", "baseline,resnet", "--out", str(out)])
    assert exit_.value.code == 2
    assert "unknown variant 'resnet'" in capsys.readouterr().err and not out.exists()


def _assert_clean_failure(proc, out, match):
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert match in lines[0]
    assert "Traceback" not in proc.stderr
    assert not out.exists()


def test_unknown_variant(tmp_path):
    out = tmp_path / "o"
    _assert_clean_failure(
        run("--variants", "baseline,resnet", "--out", str(out)), out, "unknown variant 'resnet'"
    )


@pytest.mark.parametrize(
    "flag,value", [("--epochs", "0"), ("--epochs", "ten"), ("--limit", "-5"), ("--val-fraction", "1.5")]
)
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
