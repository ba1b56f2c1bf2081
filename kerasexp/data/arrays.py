"""Arrays from files: course `.npz` files (report 003: images and labels in one file) and
CIFAR-100 (report 004; local python-version files offline, `keras.datasets` online)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from kerasexp.data.labels import check_labels
from kerasexp.data.pool import Pool, check_images
from kerasexp.errors import UserError

# Key pairs looked for in an .npz file, in order: (images, labels).
NPZ_KEYS = (("images", "labels"), ("x", "y"), ("x_train", "y_train"), ("X", "Y"), ("data", "labels"))


def load_npz_pool(path: str | Path) -> Pool:
    """An .npz with images + labels (keys images/labels, x/y or x_train/y_train; x_test/y_test
    as an official test split; class_names optional), every array checked."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such .npz file; dataset.data_dir must name the file")
    try:
        arrays = dict(np.load(path, allow_pickle=False))
    except (ValueError, OSError) as err:
        raise UserError(f"{path}: not a readable .npz file ({err})") from None
    keys = next((pair for pair in NPZ_KEYS if all(k in arrays for k in pair)), None)
    if keys is None:
        raise UserError(
            f"{path}: no image/label arrays; expected one of the key pairs "
            f"{', '.join('/'.join(p) for p in NPZ_KEYS)}, found {', '.join(arrays) or 'none'}"
        )
    x = check_images(arrays[keys[0]], f"{path}[{keys[0]}]")
    names = [str(n) for n in arrays["class_names"]] if "class_names" in arrays else None
    y, names = check_labels(arrays[keys[1]], names, f"{path}[{keys[1]}]")
    if len(x) != len(y):
        raise UserError(f"{path}: {len(x)} images but {len(y)} labels; they must match one to one")
    x_test = y_test = None
    if "x_test" in arrays and "y_test" in arrays:
        x_test = check_images(arrays["x_test"], f"{path}[x_test]")
        y_test, _ = check_labels(arrays["y_test"], names, f"{path}[y_test]", require_all=False)
        if x_test.shape[1:] != x.shape[1:] or len(x_test) != len(y_test):
            raise UserError(
                f"{path}: x_test {x_test.shape} and y_test {len(y_test)} must match the training "
                f"images {x.shape[1:]} one label an image"
            )
    return Pool(x, y, names, [str(i) for i in range(len(y))], str(path), x_test, y_test)


# CIFAR-100's fine labels in index order (the files' `meta`, which keras.datasets does not return).
CIFAR100_CLASSES = (
    "apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly camel can "
    "castle caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile cup dinosaur dolphin "
    "elephant flatfish forest fox girl hamster house kangaroo keyboard lamp lawn_mower leopard lion lizard lobster "
    "man maple_tree motorcycle mountain mouse mushroom oak_tree orange orchid otter palm_tree pear pickup_truck "
    "pine_tree plain plate poppy porcupine possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk "
    "skyscraper snail snake spider squirrel streetcar sunflower sweet_pepper table tank telephone television tiger "
    "tractor train trout tulip turtle wardrobe whale willow_tree wolf woman worm"
).split()


def _cifar_dir(data_dir: str) -> Path | None:
    """The folder holding train/test/meta: data_dir, data_dir/cifar-100-python, or Keras' cache."""
    candidates = [Path(data_dir), Path(data_dir) / "cifar-100-python"] if data_dir else []
    candidates.append(Path.home() / ".keras" / "datasets" / "cifar-100-python")
    found = next((c for c in candidates if (c / "train").is_file() and (c / "test").is_file()), None)
    if data_dir and found is None:
        raise UserError(
            f"{data_dir}: no CIFAR-100 files (train, test from cifar-100-python.tar.gz) in it "
            "or in its cifar-100-python/ folder"
        )
    return found


# What the official python-version files (and the same dict pickled by NumPy 1 or 2) reference: an
# ndarray rebuilt from its bytes. Nothing else may be looked up, so a crafted file calls no function.
CIFAR_PICKLE_GLOBALS = {
    (module, name)
    for core in ("numpy.core", "numpy._core")
    for module, name in (
        (f"{core}.multiarray", "_reconstruct"),
        (f"{core}.multiarray", "scalar"),
        (f"{core}.numeric", "_frombuffer"),
    )
} | {("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}


class DataOnlyUnpickler(pickle.Unpickler):
    """Unpickles plain containers and NumPy arrays only: `data_dir` is user input, and a pickle may
    otherwise name any callable (os.system) for load() to run."""

    def find_class(self, module: str, name: str):
        if (module, name) not in CIFAR_PICKLE_GLOBALS:
            raise pickle.UnpicklingError(
                f"it references {module}.{name}, which a CIFAR-100 file does not; not loaded"
            )
        return super().find_class(module, name)


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with open(path, "rb") as handle:
        try:
            batch = DataOnlyUnpickler(handle, encoding="bytes").load()
        except Exception as err:  # a truncated, foreign or crafted file
            first = str(err).splitlines()[0] if str(err).strip() else type(err).__name__
            raise UserError(
                f"{path}: not a CIFAR-100 python batch file ({first}); use the files of "
                "cifar-100-python.tar.gz"
            ) from None
    if not isinstance(batch, dict):
        raise UserError(
            f"{path}: holds a {type(batch).__name__}, not a CIFAR-100 batch (a dict of data and labels)"
        )
    data, labels = batch.get(b"data"), batch.get(b"fine_labels")
    if data is None or labels is None:
        raise UserError(f"{path}: missing 'data' or 'fine_labels'; is this the python version of CIFAR-100?")
    x = np.asarray(data, dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return x, np.asarray(labels, dtype=np.int64)


def load_cifar100_pool(data_dir: str = "") -> Pool:
    """CIFAR-100 fine labels with the official test split: local files first, else a download."""
    folder = _cifar_dir(data_dir)
    if folder is not None:
        (x, y), (x_test, y_test) = _read_cifar_batch(folder / "train"), _read_cifar_batch(folder / "test")
        source = str(folder)
    else:
        import keras

        (x, y), (x_test, y_test) = keras.datasets.cifar100.load_data(label_mode="fine")
        y, y_test, source = y.reshape(-1), y_test.reshape(-1), "keras.datasets.cifar100"
    y, names = check_labels(y, list(CIFAR100_CLASSES), f"{source} (train)")
    y_test, _ = check_labels(y_test, names, f"{source} (test)", require_all=False)
    return Pool(x, y, names, [str(i) for i in range(len(y))], source, x_test, y_test)
