"""Fashion-MNIST from its four IDX files, found locally before anything is downloaded.

Search order: an explicit directory (`--data-dir` or $KERASEXP_DATA), Debian's
`dataset-fashion-mnist` location, the Keras cache; else `keras.datasets.fashion_mnist`
downloads it. An explicit directory that lacks the files is an error, never a silent download.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from kerasexp.data.dataset import ImageData, split_train_val
from kerasexp.data.idx import read_idx
from kerasexp.errors import UserError

CLASS_NAMES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
KERAS_CACHE_DIR = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets" / "fashion-mnist"


def candidate_dirs(data_dir: str | Path | None = None) -> list[Path]:
    explicit = data_dir or os.environ.get("KERASEXP_DATA")
    if explicit:
        return [Path(explicit)]
    return [DEBIAN_DIR, KERAS_CACHE_DIR]


def find_file(directory: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem):
        if (directory / name).is_file():
            return directory / name
    return None


def read_arrays(directory: str | Path) -> dict[str, np.ndarray]:
    """Read and cross-check the four files of one directory."""
    directory = Path(directory)
    arrays = {}
    for key, stem in FILES.items():
        path = find_file(directory, stem)
        if path is None:
            raise UserError(
                f"{directory}: missing {stem}.gz; put the four Fashion-MNIST IDX files there "
                "(or install Debian's dataset-fashion-mnist, or omit --data-dir to download)"
            )
        arrays[key] = read_idx(path, expect_ndim=3 if key.startswith("x") else 1)
    for part in ("train", "test"):
        x, y = arrays[f"x_{part}"], arrays[f"y_{part}"]
        if len(x) != len(y):
            raise UserError(
                f"{directory}: {part} has {len(x)} images but {len(y)} labels; files do not belong together"
            )
        if x.shape[1:] != (28, 28):
            raise UserError(
                f"{directory}: {part} images are {x.shape[1:]}, expected 28x28; not Fashion-MNIST"
            )
        if y.size and y.max() >= len(CLASS_NAMES):
            raise UserError(
                f"{directory}: {part} label {int(y.max())} out of range 0-9; labels file is corrupt"
            )
    return arrays


def load_arrays(data_dir: str | Path | None = None) -> tuple[dict[str, np.ndarray], str]:
    """The raw arrays (images HxW uint8) and a description of where they came from."""
    dirs = candidate_dirs(data_dir)
    explicit = bool(data_dir or os.environ.get("KERASEXP_DATA"))
    for directory in dirs:
        if explicit or all(find_file(directory, stem) for stem in FILES.values()):
            return read_arrays(directory), str(directory)
    import keras

    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
    except Exception as err:  # network or cache problems: say what to do instead
        raise UserError(
            f"Fashion-MNIST not found locally and the download failed ({type(err).__name__}); "
            "install Debian's dataset-fashion-mnist or pass --data-dir DIR with the four IDX files"
        ) from None
    arrays = dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return arrays, "keras.datasets.fashion_mnist (download)"


def load_fashion_mnist(
    data_dir: str | Path | None = None,
    val_fraction: float = 0.2,
    seed: int = 0,
    limit: int | None = None,
) -> ImageData:
    """Fashion-MNIST as NHWC uint8 (28x28x1): stratified train/val from the 60k, official test."""
    arrays, source = load_arrays(data_dir)
    return split_train_val(
        arrays["x_train"][..., None],
        arrays["y_train"].astype(np.int64),
        arrays["x_test"][..., None],
        arrays["y_test"].astype(np.int64),
        CLASS_NAMES,
        val_fraction,
        seed,
        limit=limit,
        source=source,
    )
