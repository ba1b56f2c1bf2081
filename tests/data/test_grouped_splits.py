"""Duplicate-aware splits: exact and near duplicates stay on one side of train, validation, test
and the k-fold folds, so a copy never inflates a test score."""

import hashlib
import shutil

import numpy as np
import pytest

from kerasexp.config import DatasetConfig
from kerasexp.data import load_dataset
from kerasexp.data.splits import fold_data


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
        for b in folds[i + 1 :]:
            assert not digests(a.x_val) & digests(b.x_val)
    ungrouped = load_dataset(
        DatasetConfig(name="image_folder", data_dir=str(cells), seed=3, group_duplicates=False)
    )
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


def _planted(pbc96_path, tmp_path):
    """The 800-image sample plus 3 copies of 10 images of each of three classes (30 groups of 4)."""
    cells = tmp_path / "cells"
    shutil.copytree(pbc96_path, cells)
    for name in ("basophil", "neutrophil", "platelet"):
        for i, f in enumerate(sorted((cells / name).iterdir())[:10]):
            for copy in range(3):
                shutil.copyfile(f, cells / name / f"copy{copy}_{i}_{f.name}")
    return cells


def test_a_grouped_test_fraction_of_0_4_gives_40_percent_and_is_recorded(pbc96_path, tmp_path):
    """round(1 / 0.4) = 2 folds gave a 50% test split recorded as 0.4; now 2 of 5 folds."""
    from kerasexp.data.splits import SPLIT_TOLERANCE

    cells = _planted(pbc96_path, tmp_path)
    cfg = DatasetConfig(
        name="image_folder", data_dir=str(cells), image_size=16, seed=3, test_fraction=0.4, val_fraction=0.3
    )
    data = load_dataset(cfg)
    total = len(data.x_train) + len(data.x_val) + len(data.x_test)
    assert total == 890 and data.notes["duplicate_groups"] >= 30
    assert abs(len(data.x_test) / total - 0.4) <= SPLIT_TOLERANCE
    assert abs(len(data.x_val) / (total - len(data.x_test)) - 0.3) <= SPLIT_TOLERANCE
    assert data.notes["test_achieved"] == {
        "images": len(data.x_test),
        "of": 890,
        "fraction": round(len(data.x_test) / 890, 4),
    }
    assert data.notes["val_achieved"] == {
        "images": len(data.x_val),
        "of": 890 - len(data.x_test),
        "fraction": round(len(data.x_val) / (890 - len(data.x_test)), 4),
    }
    train, val, test = digests(data.x_train), digests(data.x_val), digests(data.x_test)
    assert not (train & val) and not (train & test) and not (val & test)
    assert np.bincount(data.y_test, minlength=8).min() > 0


@pytest.mark.parametrize("fraction,folds", [(0.2, 5), (0.25, 4), (0.5, 2)])
def test_fractions_that_one_fold_reached_keep_their_split_bit_for_bit(fraction, folds):
    """What every committed report was split with: StratifiedGroupKFold(round(1 / f)), its first fold."""
    from sklearn.model_selection import StratifiedGroupKFold

    from kerasexp.data.splits import stratified_split

    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 600)
    groups = np.arange(600)
    groups[1::7] = groups[0::7][: len(groups[1::7])]  # pairs of duplicates
    y[1::7] = y[0::7][: len(y[1::7])]
    old_train, old_test = next(StratifiedGroupKFold(folds, shuffle=True, random_state=5).split(y, y, groups))
    train, test = stratified_split(y, fraction, 5, groups, what="dataset.test_fraction")
    np.testing.assert_array_equal(test, np.sort(old_test))
    np.testing.assert_array_equal(train, np.sort(old_train))


@pytest.mark.parametrize("fraction", [0.4, 0.7, 0.15, 0.33])
def test_grouped_fractions_are_reached_within_the_tolerance(fraction):
    from kerasexp.data.splits import SPLIT_TOLERANCE, stratified_split

    rng = np.random.default_rng(1)
    y = rng.integers(0, 5, 2000)
    groups = np.arange(2000)
    groups[1::9] = groups[0::9][: len(groups[1::9])]
    y[1::9] = y[0::9][: len(y[1::9])]
    train, held = stratified_split(y, fraction, 0, groups)
    assert abs(len(held) / 2000 - fraction) <= SPLIT_TOLERANCE
    assert not set(groups[train]) & set(groups[held]) and len(train) + len(held) == 2000


def test_a_grouped_split_that_cannot_reach_its_fraction_is_refused_with_the_figures():
    from kerasexp.data.splits import stratified_split
    from kerasexp.errors import UserError

    y = np.repeat([0, 1], 50)
    groups = np.repeat([0, 1, 2, 3], 25)  # four groups of 25: steps of 25%
    with pytest.raises(
        UserError,
        match=r"dataset.test_fraction = 0.4: .*reached 50 of 100 images \(50.0%\) "
        r"with 1 of 2 folds; no 5 folds from 4 duplicate groups, "
        r"more than 4.0% off",
    ):
        stratified_split(y, 0.4, 0, groups, what="dataset.test_fraction")
