"""Image-folder loader: real pbc96 images, and broken folders written by the test."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from kerasexp.config import DatasetConfig
from kerasexp.data import load_dataset
from kerasexp.data.folders import load_image_folder, read_image
from kerasexp.errors import UserError


def test_pbc96_subset_is_stratified_rgb_and_seeded(pbc96_path):
    a = load_image_folder(pbc96_path, limit=800, seed=0)
    b = load_image_folder(pbc96_path, limit=800, seed=0)
    assert a.class_names[:2] == ["basophil", "eosinophil"] and a.num_classes == 8
    assert a.x_train.shape[1:] == (96, 96, 3) and a.x_train.dtype == np.uint8
    assert len(a.x_train) + len(a.x_val) + len(a.x_test) == 800
    assert np.array_equal(a.y_test, b.y_test) and np.array_equal(a.x_train, b.x_train)
    assert set(np.unique(a.y_test)) == set(range(8))
    # OpenCV decodes BGR; the arrays must be RGB like every Keras backbone expects
    path = sorted((pbc96_path / "basophil").iterdir())[0]
    assert np.array_equal(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB), read_image(path))


def test_image_size_resizes_every_split(pbc96_path):
    data = load_dataset(
        DatasetConfig(name="image_folder", data_dir=str(pbc96_path), limit=400, image_size=32)
    )
    assert data.x_train.shape[1:] == data.x_test.shape[1:] == (32, 32, 3)


def _write(folder, name, image):
    folder.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(folder / name), image)


def test_broken_folders_give_clear_errors(tmp_path):
    with pytest.raises(UserError, match="no such folder"):
        load_image_folder(tmp_path / "missing")
    with pytest.raises(UserError, match="no class sub-folders"):
        load_image_folder(tmp_path)
    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        for i in range(6):
            _write(tmp_path / c, f"{i}.png", rng.integers(0, 255, (8, 8, 3), dtype=np.uint8))
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="empty: class folder has no images"):
        load_image_folder(tmp_path)
    (tmp_path / "empty").rmdir()
    _write(tmp_path / "a", "big.png", rng.integers(0, 255, (9, 8, 3), dtype=np.uint8))
    with pytest.raises(UserError, match="mixed sizes.*image_size"):
        load_image_folder(tmp_path, test_fraction=0.25, val_fraction=0.25)
    assert load_image_folder(tmp_path, image_size=8, test_fraction=0.25, val_fraction=0.25).input_shape == (
        8,
        8,
        3,
    )
    (tmp_path / "b" / "0.png").write_bytes(b"not a png")
    with pytest.raises(UserError, match=r"0.png: broken image"):
        load_image_folder(tmp_path, image_size=8, test_fraction=0.25, val_fraction=0.25)
