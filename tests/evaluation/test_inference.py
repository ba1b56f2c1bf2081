"""`kerasexp train` of report 004's baseline on real pbc96 (32x32, 1 epoch), then the
`predict`, `filters` and `dedup` verbs on its folder, through the command line."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pandas as pd
import pytest

RUN = """
[dataset]
name = "image_folder"
data_dir = "{data_dir}"
image_size = 32
limit = 400
seed = 0

[model]
name = "{model}"
params = {params}

[training]
epochs = 1
batch_size = 32
seed = 0
"""


def kerasexp(*args):
    return subprocess.run([sys.executable, "-m", "kerasexp", *args], capture_output=True, text=True)


def in_process(capsys, *args) -> tuple[int, str, str]:
    """The same CLI entry point without a new interpreter (TensorFlow is imported once)."""
    from kerasexp.cli import main

    try:
        code = main(list(args))
    except SystemExit as exit_:
        code = exit_.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def run_dir(pbc96_path, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ladder")
    exp = tmp / "ladder.toml"
    exp.write_text(RUN.format(data_dir=pbc96_path, model="ladder_baseline", params="{}"))
    proc = kerasexp("train", str(exp), "--out", str(tmp / "run"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return tmp / "run"


def test_run_records_trainable_parameters(run_dir):
    run = json.loads((run_dir / "run.json").read_text())
    assert run["trainable_params"] == 546_388 - 20 * 128 - 20 + 8 * 128 + 8  # 8 classes, not 20


def test_predict_writes_one_row_an_image_matching_the_runs_own_predictions(
    run_dir, pbc96_path, tmp_path, capsys
):
    from kerasexp.config import load_experiment
    from kerasexp.data import load_dataset

    data = load_dataset(load_experiment(run_dir / "config.toml").dataset)
    saved = np.load(run_dir / "predictions.npz")
    images = tmp_path / "test"
    images.mkdir()
    for i in range(6):  # lossless PNGs of test images: the verb must reproduce the run's argmax
        cv2.imwrite(str(images / f"img_{i}.png"), cv2.cvtColor(data.x_test[i], cv2.COLOR_RGB2BGR))
    (images / "notes.txt").write_text("not an image")
    proc = kerasexp(
        "predict",
        str(run_dir),
        str(images),
        "--out",
        str(tmp_path / "submission.csv"),
        "--id-column",
        "filename",
        "--probabilities",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = pd.read_csv(tmp_path / "submission.csv")
    assert table["filename"].tolist() == [f"img_{i}.png" for i in range(6)]
    names = [str(n) for n in saved["class_names"]]
    assert table["label"].tolist() == [names[k] for k in saved["probs"][:6].argmax(axis=1)]
    np.testing.assert_allclose(table[[f"p_{n}" for n in names]].to_numpy(), saved["probs"][:6], atol=1e-4)
    code, _, err = in_process(
        capsys, "predict", str(run_dir), str(tmp_path / "nowhere"), "--out", str(tmp_path / "x.csv")
    )
    assert code == 2 and "no such folder of images" in err and not (tmp_path / "x.csv").exists()


def test_filters_picture(run_dir, tmp_path, capsys):
    code, _, err = in_process(capsys, "filters", str(run_dir), "--out", str(tmp_path / "filters.png"))
    assert code == 0, err[-3000:]
    image = cv2.imread(str(tmp_path / "filters.png"))
    assert image is not None and image.shape[0] > 100
    code, _, err = in_process(
        capsys, "filters", str(run_dir), "--out", str(tmp_path / "f.png"), "--layer", "nope"
    )
    assert code == 2 and "no Conv2D layer 'nope'" in err and not (tmp_path / "f.png").exists()


def test_dedup_verb_writes_report_and_drop_list(pbc96_path, tmp_path, capsys):
    import shutil

    for name in ("basophil", "platelet"):
        (tmp_path / "data" / name).mkdir(parents=True)
        for f in sorted((pbc96_path / name).iterdir())[:6]:
            shutil.copy(f, tmp_path / "data" / name / f.name)
    first = sorted((tmp_path / "data" / "basophil").iterdir())[0]
    shutil.copy(first, tmp_path / "data" / "platelet" / "copy.jpg")
    code, out, err = in_process(capsys, "dedup", str(tmp_path / "data"), "--out", str(tmp_path / "clean"))
    assert code == 0, err[-3000:]
    assert "conflicting groups 1" in out
    drop = pd.read_csv(tmp_path / "clean" / "drop.csv")
    assert "platelet/copy.jpg" in set(drop["id"])
    code, _, err = in_process(capsys, "dedup", str(tmp_path / "missing"), "--out", str(tmp_path / "x"))
    assert code == 2 and "no such folder" in err and not (tmp_path / "x").exists()
