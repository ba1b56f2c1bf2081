"""The IDX reader and the Fashion-MNIST loader on good, truncated, wrong-magic and corrupt files."""

import gzip
import shutil

import numpy as np
import pytest

from kerasexp.data import fashion_mnist
from kerasexp.data.idx import read_idx, write_idx
from kerasexp.errors import UserError


@pytest.fixture
def images():
    return np.random.default_rng(0).integers(0, 256, size=(7, 28, 28), dtype=np.uint8)


@pytest.mark.parametrize("name", ["x-idx3-ubyte.gz", "x-idx3-ubyte"])
def test_round_trip_gz_and_plain(tmp_path, images, name):
    path = write_idx(tmp_path / name, images)
    got = read_idx(path, expect_ndim=3)
    assert got.dtype == np.uint8 and got.shape == (7, 28, 28)
    np.testing.assert_array_equal(got, images)


def test_header_is_the_documented_one(tmp_path, images):
    raw = gzip.decompress(write_idx(tmp_path / "a.gz", images).read_bytes())
    assert raw[:4] == bytes([0, 0, 0x08, 3])
    assert int.from_bytes(raw[4:8], "big") == 7


def test_truncated_data(tmp_path, images):
    path = write_idx(tmp_path / "t-idx3-ubyte", images)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(UserError, match="truncated"):
        read_idx(path)


def test_truncated_header(tmp_path):
    path = tmp_path / "h"
    path.write_bytes(b"\x00\x00")
    with pytest.raises(UserError, match="truncated"):
        read_idx(path)


def test_wrong_magic(tmp_path, images):
    path = write_idx(tmp_path / "m-idx3-ubyte", images)
    raw = bytearray(path.read_bytes())
    raw[0:4] = b"\x12\x34\x08\x03"
    path.write_bytes(bytes(raw))
    with pytest.raises(UserError, match="magic"):
        read_idx(path)


def test_wrong_dimensions(tmp_path):
    path = write_idx(tmp_path / "labels", np.arange(5, dtype=np.uint8))
    with pytest.raises(UserError, match="1 dimensions, expected 3"):
        read_idx(path, expect_ndim=3)


def test_corrupt_gzip(tmp_path, images):
    path = write_idx(tmp_path / "c.gz", images)
    raw = bytearray(path.read_bytes())
    raw[20:60] = bytes(40)  # damage the deflate stream
    path.write_bytes(bytes(raw))
    with pytest.raises(UserError, match="corrupt|truncated"):
        read_idx(path)


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="not found"):
        read_idx(tmp_path / "nope.gz")


def _fake_fashion(directory, n_train=20, n_test=10, seed=0):
    rng = np.random.default_rng(seed)
    directory.mkdir(exist_ok=True)
    write_idx(
        directory / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8)
    )
    write_idx(directory / "train-labels-idx1-ubyte.gz", np.arange(n_train, dtype=np.uint8) % 10)
    write_idx(directory / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8))
    write_idx(directory / "t10k-labels-idx1-ubyte.gz", np.arange(n_test, dtype=np.uint8) % 10)
    return directory


def test_loader_reads_an_explicit_directory(tmp_path):
    data = fashion_mnist.load_fashion_mnist(_fake_fashion(tmp_path / "fm"), val_fraction=0.5, seed=1)
    assert data.x_train.shape == (10, 28, 28, 1) and data.x_val.shape == (10, 28, 28, 1)
    assert data.x_test.shape == (10, 28, 28, 1) and data.num_classes == 10
    assert str(tmp_path / "fm") == data.source


def test_loader_never_downloads_for_an_explicit_directory(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="missing train-images-idx3-ubyte.gz"):
        fashion_mnist.load_fashion_mnist(tmp_path / "empty")


def test_loader_rejects_images_and_labels_that_disagree(tmp_path):
    directory = _fake_fashion(tmp_path / "fm")
    write_idx(directory / "train-labels-idx1-ubyte.gz", np.zeros(19, dtype=np.uint8))
    with pytest.raises(UserError, match="20 images but 19 labels"):
        fashion_mnist.load_fashion_mnist(directory)


def test_loader_rejects_labels_out_of_range(tmp_path):
    directory = _fake_fashion(tmp_path / "fm")
    write_idx(directory / "t10k-labels-idx1-ubyte.gz", np.full(10, 12, dtype=np.uint8))
    with pytest.raises(UserError, match="label 12 out of range"):
        fashion_mnist.load_fashion_mnist(directory)


def test_loader_uses_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("KERASEXP_DATA", str(_fake_fashion(tmp_path / "env")))
    assert fashion_mnist.load_fashion_mnist(val_fraction=0.5).source == str(tmp_path / "env")


def test_real_files(fashion_path):
    arrays = fashion_mnist.read_arrays(fashion_path)
    assert arrays["x_train"].shape == (60000, 28, 28) and arrays["y_train"].shape == (60000,)
    assert arrays["x_test"].shape == (10000, 28, 28) and arrays["y_test"].shape == (10000,)
    assert np.bincount(arrays["y_test"]).tolist() == [1000] * 10


def test_real_truncated_copy_is_rejected(fashion_path, tmp_path):
    for stem in fashion_mnist.FILES.values():
        shutil.copy(fashion_mnist.find_file(fashion_path, stem), tmp_path)
    damaged = tmp_path / "t10k-labels-idx1-ubyte.gz"
    damaged.write_bytes(damaged.read_bytes()[:-100])
    with pytest.raises(UserError, match="t10k-labels"):
        fashion_mnist.load_fashion_mnist(tmp_path)
