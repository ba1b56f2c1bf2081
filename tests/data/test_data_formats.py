"""Loaders for the users' formats (npz, image folder + CSV, CIFAR-100 files), class subsets,
"Other" grouping and drop lists: small files written by the test, broken ones included."""

from __future__ import annotations

import pickle

import cv2
import numpy as np
import pytest

from kerasexp.config import DatasetConfig
from kerasexp.data import load_dataset
from kerasexp.data.labels import OTHER, class_mapping
from kerasexp.errors import UserError


def _images(n, size=8, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def _cfg(**kw):
    return DatasetConfig(**{"test_fraction": 0.25, "val_fraction": 0.25, **kw})


def test_npz_course_format_loads_and_is_split_stratified(tmp_path):
    path = tmp_path / "training_set.npz"
    y = np.repeat(np.arange(4), 12)
    np.savez(path, images=_images(48), labels=y[:, None])  # report 003's file: labels as (N, 1)
    data = load_dataset(_cfg(name="npz", data_dir=str(path)))
    assert data.class_names == ["0", "1", "2", "3"] and data.input_shape == (8, 8, 3)
    assert len(data.x_train) + len(data.x_val) + len(data.x_test) == 48
    assert np.bincount(data.y_test).tolist() == [3, 3, 3, 3]
    # floats in [0, 1] are read as 0-255 pixels, grayscale gets a channel
    np.savez(path, x=_images(48)[..., 0] / 255.0, y=y)
    assert load_dataset(_cfg(name="npz", data_dir=str(path))).input_shape == (8, 8, 1)


@pytest.mark.parametrize(
    "arrays,message",
    [
        (
            {
                "images": _images(10),
                "labels": np.r_[np.zeros(5), np.full(5, 7)].astype(int),
                "class_names": np.array(["a", "b"]),
            },
            "label 7 out of range 0..1",
        ),
        (
            {"images": _images(10), "labels": np.r_[np.zeros(5), np.full(5, 2)].astype(int)},
            "class '1' has no images",
        ),
        ({"images": _images(10), "labels": np.zeros(9, int)}, "10 images but 9 labels"),
        ({"images": _images(10), "labels": np.full(10, 0.5)}, "integer class indices"),
        ({"pictures": _images(10)}, "no image/label arrays"),
        ({"images": _images(10) * 2.0, "labels": np.zeros(10, int)}, "outside 0..255"),
    ],
)
def test_broken_npz_files_give_one_line_errors(tmp_path, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(UserError, match=message):
        load_dataset(_cfg(name="npz", data_dir=str(path)))


def test_not_an_npz_file(tmp_path):
    (tmp_path / "x.npz").write_bytes(b"garbage")
    with pytest.raises(UserError, match="not a readable .npz"):
        load_dataset(_cfg(name="npz", data_dir=str(tmp_path / "x.npz")))


def _kaggle(tmp_path, labels, sizes=None):
    folder = tmp_path / "train"
    folder.mkdir()
    rows = ["filename,artist"]
    for i, label in enumerate(labels):
        size = sizes[i] if sizes else 8
        cv2.imwrite(str(folder / f"{i}.png"), _images(1, size, seed=i)[0])
        rows.append(f"{i}.png,{label}")
    (tmp_path / "train.csv").write_text("\n".join(rows) + "\n")
    return folder, tmp_path / "train.csv"


def test_kaggle_csv_loads_and_groups_rare_classes_into_other(tmp_path):
    labels = ["Van Gogh"] * 12 + ["Degas"] * 8 + ["Klee"] * 2 + ["Munch"] * 1 + ["Bosch"] * 1
    folder, csv = _kaggle(tmp_path, labels)
    with pytest.raises(UserError, match="cannot make a stratified split"):  # one-image classes
        load_dataset(_cfg(name="image_csv", data_dir=str(folder), csv=str(csv)))
    data = load_dataset(_cfg(name="image_csv", data_dir=str(folder), csv=str(csv), other_min_count=5))
    assert data.class_names == ["Degas", "Van Gogh", OTHER]
    all_y = np.concatenate([data.y_train, data.y_val, data.y_test])
    assert np.bincount(all_y).tolist() == [8, 12, 4]
    # the pixels follow their rows: image 0 is a Van Gogh
    first = cv2.cvtColor(cv2.imread(str(folder / "0.png")), cv2.COLOR_BGR2RGB)
    x = np.concatenate([data.x_train, data.x_val, data.x_test])
    assert all_y[np.flatnonzero((x == first).all(axis=(1, 2, 3)))[0]] == 1


def test_broken_kaggle_csv(tmp_path):
    folder, csv = _kaggle(tmp_path, ["a"] * 6 + ["b"] * 6, sizes=[8] * 11 + [9])
    with pytest.raises(UserError, match="mixed sizes.*image_size"):
        load_dataset(_cfg(name="image_csv", data_dir=str(folder), csv=str(csv)))
    assert load_dataset(
        _cfg(name="image_csv", data_dir=str(folder), csv=str(csv), image_size=8)
    ).input_shape == (8, 8, 3)
    (folder / "3.png").write_bytes(b"not an image")
    with pytest.raises(UserError, match="3.png: broken image"):
        load_dataset(_cfg(name="image_csv", data_dir=str(folder), csv=str(csv), image_size=8))
    csv.write_text(csv.read_text() + "missing.png,a\n")
    with pytest.raises(UserError, match="1 listed file.*'missing.png'"):
        load_dataset(_cfg(name="image_csv", data_dir=str(folder), csv=str(csv)))
    csv.write_text("filename,artist\n0.png,\n")
    with pytest.raises(UserError, match="row 2 has an empty file name or label"):
        load_dataset(_cfg(name="image_csv", data_dir=str(folder), csv=str(csv)))
    with pytest.raises(UserError, match="needs dataset.data_dir .* and dataset.csv"):
        load_dataset(_cfg(name="image_csv", data_dir=str(folder)))


def _fake_cifar(folder, n, seed):
    rng = np.random.default_rng(seed)
    labels = (np.arange(n) % 100).tolist()
    batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"fine_labels": labels}
    with open(folder / ("train" if seed == 0 else "test"), "wb") as handle:
        pickle.dump(batch, handle)
    return batch


def test_cifar100_local_files_first_20_classes(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    train = _fake_cifar(folder, 1000, 0)
    _fake_cifar(folder, 200, 1)
    data = load_dataset(DatasetConfig(name="cifar100", data_dir=str(tmp_path), classes=20))
    assert data.class_names[:3] == ["apple", "aquarium_fish", "baby"] and data.class_names[-1] == "cattle"
    assert data.input_shape == (32, 32, 3) and len(data.x_test) == 40  # official test, 2 per class
    assert len(data.x_train) + len(data.x_val) == 200
    # channel-first rows become HWC images: pixel (0, 0) of image 0 is bytes 0, 1024, 2048
    row = train[b"data"][0]
    x = np.concatenate([data.x_train, data.x_val])
    assert (x[:, 0, 0] == row[[0, 1024, 2048]]).all(axis=1).any()
    named = load_dataset(DatasetConfig(name="cifar100", data_dir=str(tmp_path), classes=["bee", "cattle"]))
    assert named.class_names == ["bee", "cattle"] and set(named.y_test) == {0, 1}
    with pytest.raises(UserError, match="'unicorn' is not a class"):
        load_dataset(DatasetConfig(name="cifar100", data_dir=str(tmp_path), classes=["bee", "unicorn"]))
    with pytest.raises(UserError, match="no CIFAR-100 files"):
        load_dataset(DatasetConfig(name="cifar100", data_dir=str(tmp_path / "nowhere")))


def test_class_mapping_groups_then_selects():
    mapping, names = class_mapping(["a", "b", "c", "d"], np.array([10, 1, 10, 2]), other_min_count=3)
    assert names == ["a", "c", OTHER] and mapping.tolist() == [0, 2, 1, 2]
    mapping, names = class_mapping(["a", "b", "c"], np.array([5, 5, 5]), classes=2)
    assert names == ["a", "b"] and mapping.tolist() == [0, 1, -1]


def test_drop_list_and_classes_on_an_image_folder(tmp_path):
    rng = np.random.default_rng(0)
    for c in ("x", "y", "z"):
        (tmp_path / "data" / c).mkdir(parents=True)
        for i in range(8):
            cv2.imwrite(
                str(tmp_path / "data" / c / f"{i}.png"), rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
            )
    (tmp_path / "drop.csv").write_text("id,reason\nx/0.png,duplicate\nx/1.png,outlier\n")
    data = load_dataset(
        _cfg(name="image_folder", data_dir=str(tmp_path / "data"), drop_list=str(tmp_path / "drop.csv"))
    )
    assert len(data.x_train) + len(data.x_val) + len(data.x_test) == 22 and data.notes["excluded"] == 2
    two = load_dataset(_cfg(name="image_folder", data_dir=str(tmp_path / "data"), classes=["z", "y"]))
    assert two.class_names == ["z", "y"] and len(two.x_train) + len(two.x_val) + len(two.x_test) == 16
    with pytest.raises(UserError, match="drop list not found"):
        load_dataset(
            _cfg(name="image_folder", data_dir=str(tmp_path / "data"), drop_list=str(tmp_path / "no.csv"))
        )


def test_npz_with_an_official_test_split_and_class_names(tmp_path):
    path = tmp_path / "course.npz"
    np.savez(
        path,
        x_train=_images(40),
        y_train=np.repeat([0, 1], 20),
        x_test=_images(6, seed=1),
        y_test=np.array([0, 0, 0, 0, 0, 0]),
        class_names=np.array(["healthy", "sick"]),
    )
    data = load_dataset(_cfg(name="npz", data_dir=str(path)))
    assert data.class_names == ["healthy", "sick"] and len(data.x_test) == 6
    assert len(data.x_train) + len(data.x_val) == 40 and data.notes["test_fraction"] is None


class _Payload:
    """What a crafted pickle does: call a function of its choosing while being loaded."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_a_crafted_cifar_pickle_runs_no_code_and_is_a_one_line_error(tmp_path, protocol):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    marker = tmp_path / "payload_ran"
    _fake_cifar(folder, 200, 1)  # a proper test file
    with open(folder / "train", "wb") as handle:
        pickle.dump({b"data": _Payload(marker), b"fine_labels": [0]}, handle, protocol=protocol)
    with pytest.raises(UserError) as info:
        load_dataset(DatasetConfig(name="cifar100", data_dir=str(tmp_path)))
    assert not marker.exists()
    message = str(info.value)
    assert len(message.splitlines()) == 1 and "references posix.system" in message
    assert message.startswith(f"{folder / 'train'}: not a CIFAR-100 python batch file")
    # arrays pickled with either protocol still load (NumPy's _reconstruct / _frombuffer are allowed)
    batch = _fake_cifar(folder, 1000, 0)
    with open(folder / "train", "wb") as handle:
        pickle.dump(batch, handle, protocol=protocol)
    data = load_dataset(DatasetConfig(name="cifar100", data_dir=str(tmp_path), classes=20))
    assert len(data.x_train) + len(data.x_val) == 200
