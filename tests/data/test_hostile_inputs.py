"""Data a user did not mean to hand over, or that is not what it says: images of other types,
files that are not drop lists, labels and images that are numbers only in name, dangling links."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from kerasexp.config import DatasetConfig
from kerasexp.data import load_dataset
from kerasexp.data.labels import read_drop_list
from kerasexp.errors import UserError


def _cfg(**kw):
    return DatasetConfig(**{"test_fraction": 0.25, "val_fraction": 0.25, **kw})


def _folder(root, classes=("a", "b"), n=8, size=16, seed=0):
    rng = np.random.default_rng(seed)
    for name in classes:
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            cv2.imwrite(str(root / name / f"{i}.png"), rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
    return root


def test_gif_and_jfif_images_are_read_and_other_files_named_in_one_warning(tmp_path, capsys):
    data = _folder(tmp_path / "data")
    rng = np.random.default_rng(1)
    pixels = {}
    for name in ("a", "b"):
        for i in range(3):
            image = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
            Image.fromarray(image).save(data / name / f"g{i}.gif")
            pixels[f"{name}/g{i}.gif"] = np.asarray(Image.open(data / name / f"g{i}.gif").convert("RGB"))
            Image.fromarray(image).save(data / name / f"j{i}.jfif", format="JPEG")
        (data / name / "notes.txt").write_text("not an image")
        (data / name / "scan.heic").write_bytes(b"\0" * 16)
    (data / "a" / ".DS_Store").write_bytes(b"\0")  # hidden: not worth a word
    loaded = load_dataset(_cfg(name="image_folder", data_dir=str(data), group_duplicates=False))
    assert len(loaded.x_train) + len(loaded.x_val) + len(loaded.x_test) == 2 * (8 + 3 + 3)
    x = np.concatenate([loaded.x_train, loaded.x_val, loaded.x_test])
    assert any((x == pixels["a/g0.gif"]).all(axis=(1, 2, 3)))  # GIF pixels as Pillow reads them
    err = capsys.readouterr().err.strip()
    assert err == (
        f"kerasexp: warning: {data}: 4 files left out, not an image type kerasexp reads (.bmp, "
        ".gif, .jfif, .jpe, .jpeg, .jpg, .png, .tif, .tiff, .webp): a/notes.txt, a/scan.heic, "
        "b/notes.txt, b/scan.heic"
    )


def test_a_drop_list_that_is_not_a_list_is_named_and_not_quoted(tmp_path):
    secret = tmp_path / "pgpass"
    secret.write_text("db.example:5432:*:kx:TOPSECRET\nsecond line\n")
    binary = tmp_path / "weights.bin"
    binary.write_bytes(bytes(range(256)))
    for path in (secret, binary, tmp_path):
        with pytest.raises(UserError) as info:
            read_drop_list(path)
        message = str(info.value)
        assert message.startswith(
            f"{path}: not a drop list; dataset.drop_list must name a UTF-8 CSV whose "
            "header has an 'id' column"
        )
        assert "TOPSECRET" not in message and len(message.splitlines()) == 1
    (tmp_path / "drop.csv").write_text("id,reason\n")
    assert read_drop_list(tmp_path / "drop.csv") == set()


@pytest.mark.parametrize("key", ["val_fraction", "test_fraction"])
def test_a_zero_fraction_is_refused_under_its_own_name_with_the_documented_range(key):
    from kerasexp.config import DatasetConfig as Config

    assert "in (0, 1)" in Config.__doc__.split(f"      {key}:")[1].splitlines()[0]  # the documented range
    with pytest.raises(UserError, match=rf"^dataset\.{key} = 0\.0 must be in \(0, 1\), e\.g\. 0\.2$"):
        Config(**{key: 0.0})


def test_a_zero_test_fraction_reaching_the_splitter_names_its_key():
    from kerasexp.data.splits import stratified_split

    with pytest.raises(UserError, match=r"^dataset\.test_fraction = 0\.0 must be in \(0, 1\)"):
        stratified_split(np.arange(10) % 2, 0.0, 0, what="dataset.test_fraction")


def test_a_label_that_is_a_digit_only_to_unicode_is_a_class_name(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    rows = ["file,label"]
    for i in range(16):
        cv2.imwrite(str(folder / f"{i}.png"), np.full((8, 8, 3), i * 10, np.uint8))
        rows.append(f"{i}.png,{'²' if i % 2 else '10'}")
    (tmp_path / "labels.csv").write_text("\n".join(rows), encoding="utf-8")
    data = load_dataset(_cfg(name="image_csv", data_dir=str(folder), csv=str(tmp_path / "labels.csv")))
    assert data.class_names == ["10", "²"]


@pytest.mark.parametrize("name", ["image_folder", "image_csv"])
def test_images_of_one_pixel_are_a_one_line_error(tmp_path, name):
    data = _folder(tmp_path / "data", size=1)
    rows = "".join(f"{c}/{i}.png,{c}\n" for c in "ab" for i in range(8))
    (tmp_path / "labels.csv").write_text("file,label\n" + rows)
    with pytest.raises(UserError) as info:
        load_dataset(_cfg(name=name, data_dir=str(data), csv=str(tmp_path / "labels.csv")))
    assert str(info.value) == (
        f"{data / 'a' / '0.png'}: image is 1x1 pixels; images need at least 8x8; "
        "remove such files or list them in a drop list"
    )


# ---------------------------------------------------------------- three more hostile cases


def test_a_class_whose_images_all_fail_to_decode_is_named_under_skip_broken(tmp_path):
    data = _folder(tmp_path / "data")
    (data / "c").mkdir()
    for i in range(5):
        (data / "c" / f"{i}.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(UserError, match=rf"^{data / 'c'}: 0 of its images decode; a class needs at least 2 "):
        load_dataset(_cfg(name="image_folder", data_dir=str(data), skip_broken=True))


@pytest.mark.parametrize("target", ["nowhere", "loop"])
def test_a_dangling_or_looping_class_link_is_named_not_dropped(tmp_path, target):
    data = _folder(tmp_path / "data")
    (data / "loop").symlink_to("loop") if target == "loop" else (data / "c").symlink_to(tmp_path / target)
    link = data / ("loop" if target == "loop" else "c")
    with pytest.raises(UserError, match=rf"^{link}: a broken or looping symbolic link"):
        load_dataset(_cfg(name="image_folder", data_dir=str(data)))
