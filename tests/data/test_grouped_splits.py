"""Duplicate-aware splits: exact and near duplicates stay on one side of train, validation, test
and the k-fold folds, so a copy never inflates a test score."""

import hashlib
import shutil

import numpy as np
import pytest

from kerasexp.config import DatasetConfig
from kerasexp.data import load_dataset
from kerasexp.experiment import fold_data


def digests(x):
    return {hashlib.sha1(image.tobytes()).hexdigest() for image in x}


def test_planted_duplicates_stay_on_one_side_of_every_split(pbc96_path, tmp_path):
    cells = tmp_path / "cells"
    shutil.copytree(pbc96_path, cells)
    for name in ("basophil", "neutrophil", "platelet"):  # 3 copies of 10 images of each of three classes
        for i, f in enumerate(sorted((cells / name).iterdir())[:10]):
            for copy in range(3):
                shutil.copyfile(f, cells / name / f"copy{copy}_{i}_{f.name}")
    data = load_dataset(DatasetConfig(name="image_folder", data_dir=str(cells), seed=3))
    assert data.notes["duplicate_groups"] >= 30
    train, val, test = digests(data.x_train), digests(data.x_val), digests(data.x_test)
    assert not (train & val) and not (train & test) and not (val & test)
    folds = fold_data(data, 4, seed=0)
    for i, a in enumerate(folds):
        for b in folds[i + 1:]:
            assert not digests(a.x_val) & digests(b.x_val)
    ungrouped = load_dataset(DatasetConfig(name="image_folder", data_dir=str(cells), seed=3, group_duplicates=False))
    assert digests(ungrouped.x_train) & digests(ungrouped.x_test)  # what the grouping prevents


@pytest.mark.slow
def test_no_exact_duplicate_of_pbc96_straddles_two_splits(pbc96_full_path):
    """The 34 exact duplicates of the full data set (reports/pbc96_dedup) each on one side."""
    data = load_dataset(DatasetConfig(name="image_folder", data_dir=str(pbc96_full_path), image_size=32))
    splits = [data.x_train, data.x_val, data.x_test]
    seen = [digests(x) for x in splits]
    assert sum(len(s) for s in seen) < sum(len(x) for x in splits)  # exact duplicates exist in the data
    assert not (seen[0] & seen[1]) and not (seen[0] & seen[2]) and not (seen[1] & seen[2])
    assert np.bincount(data.y_test).min() > 0
