"""Duplicate finder and outliers on real pbc96 images copied into a folder by the test."""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import pandas as pd
import pytest

from kerasexp.data.dedup import clean, load_labelled, near_pairs, phash


@pytest.fixture
def cells(pbc96_path, tmp_path):
    """12 real images of each of 3 classes, copied into an image folder."""
    root = tmp_path / "cells"
    for name in ("basophil", "eosinophil", "platelet"):
        (root / name).mkdir(parents=True)
        for f in sorted((pbc96_path / name).iterdir())[:12]:
            shutil.copy(f, root / name / f.name)
    return root


def test_phash_is_stable_under_reencoding_and_separates_different_images(cells):
    files = sorted((cells / "basophil").iterdir())
    image = cv2.cvtColor(cv2.imread(str(files[0])), cv2.COLOR_BGR2RGB)
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 60])
    recoded = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)[..., ::-1]
    other = cv2.cvtColor(cv2.imread(str(files[1])), cv2.COLOR_BGR2RGB)
    h = phash(np.stack([image, recoded, other]))
    assert len(near_pairs(h, 4)) == 1 and tuple(near_pairs(h, 4)[0][:2]) == (0, 1)


def test_copy_with_another_label_is_found_and_dropped(cells, tmp_path):
    source = sorted((cells / "basophil").iterdir())[3]
    shutil.copy(source, cells / "platelet" / "copied.jpg")  # same pixels, another label
    shutil.copy(sorted((cells / "eosinophil").iterdir())[0], cells / "eosinophil" / "again.jpg")  # same label
    summary = clean(load_labelled(cells), tmp_path / "out")
    dups = pd.read_csv(tmp_path / "out" / "duplicates.csv")
    conflict = dups[dups["conflict"]]
    assert set(conflict["id"]) == {f"basophil/{source.name}", "platelet/copied.jpg"}
    assert set(conflict["kind"]) == {"exact"}
    drop = pd.read_csv(tmp_path / "out" / "drop.csv")
    reasons = dict(zip(drop["id"], drop["reason"]))
    assert reasons["platelet/copied.jpg"].startswith("conflicting labels: basophil, platelet")
    assert f"basophil/{source.name}" in reasons
    # of the same-label pair exactly one is dropped
    same = dups[~dups["conflict"]]["id"].tolist()
    assert len(same) == 2 and sum(i in reasons for i in same) == 1
    assert summary["conflicting_groups"] == 1 and (tmp_path / "out" / "report.md").exists()


def test_foreign_picture_is_the_top_outlier(cells, tmp_path):
    stripes = np.zeros((96, 96, 3), np.uint8)
    stripes[::8] = (0, 255, 0)  # not a blood cell
    cv2.imwrite(str(cells / "eosinophil" / "shrek.png"), stripes)
    clean(load_labelled(cells), tmp_path / "out")
    outliers = pd.read_csv(tmp_path / "out" / "outliers.csv")
    assert outliers["id"].iloc[0] == "eosinophil/shrek.png"
    assert "eosinophil/shrek.png" in set(pd.read_csv(tmp_path / "out" / "drop.csv")["id"])


def test_drop_list_applies_to_an_npz(tmp_path):
    from kerasexp.config import DatasetConfig
    from kerasexp.data import load_dataset

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (40, 16, 16, 3), dtype=np.uint8)
    y = np.repeat([0, 1], 20)
    x[5] = x[30]  # a copy with the other label
    np.savez(tmp_path / "train.npz", images=x, labels=y)
    clean(load_labelled(tmp_path / "train.npz", size=0), tmp_path / "out")
    drop = pd.read_csv(tmp_path / "out" / "drop.csv", dtype=str)
    assert {"5", "30"} <= set(drop["id"])
    data = load_dataset(
        DatasetConfig(
            name="npz",
            data_dir=str(tmp_path / "train.npz"),
            drop_list=str(tmp_path / "out" / "drop.csv"),
            test_fraction=0.25,
        )
    )
    assert len(data.x_train) + len(data.x_val) + len(data.x_test) == 40 - len(drop)
