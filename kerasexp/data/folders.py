"""Image folders: one sub-folder per class (Keras' and Kaggle's layout, e.g. pbc96), decoded
with OpenCV into uint8 RGB arrays, then a stratified seeded test split and validation split.

There is no official test split in such data, so the seed that makes it is written into
every report (ImageData.notes).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from kerasexp.data.dataset import ImageData, split_train_val
from kerasexp.data.splits import stratified_split
from kerasexp.errors import UserError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


def list_image_folder(directory: str | Path) -> tuple[list[Path], np.ndarray, list[str]]:
    """Files, integer labels and class names (sorted folder names) of an image-folder tree."""
    directory = Path(directory)
    if not directory.is_dir():
        raise UserError(f"{directory}: no such folder; dataset.data_dir must be a folder with one sub-folder per class")
    classes = sorted(p.name for p in directory.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise UserError(f"{directory}: no class sub-folders; put each class's images in a folder named after it")
    files, labels = [], []
    for index, name in enumerate(classes):
        found = sorted(p for p in (directory / name).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not found:
            raise UserError(f"{directory / name}: class folder has no images ({', '.join(sorted(IMAGE_SUFFIXES))}); "
                            "remove the folder or add its images")
        files += found
        labels += [index] * len(found)
    return files, np.asarray(labels, dtype=np.int64), classes


def read_image(path: str | Path, size: int = 0) -> np.ndarray:
    """One image as HxWx3 uint8 RGB (resized to size x size with area interpolation if size)."""
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise UserError(f"{path}: unreadable image (corrupt or not an image); delete or replace it")
    if size and image.shape[:2] != (size, size):
        image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_images(files: list[Path], size: int = 0) -> np.ndarray:
    """Decode in threads (OpenCV releases the GIL); all images must end up the same size."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        images = list(pool.map(lambda p: read_image(p, size), files))
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
        first = images[0].shape
        odd = next(f for f, im in zip(files, images) if im.shape != first)
        raise UserError(f"images of mixed sizes ({files[0]} is {first[1]}x{first[0]}, {odd} is "
                        f"{images[files.index(odd)].shape[1]}x{images[files.index(odd)].shape[0]}); "
                        "set dataset.image_size to resize them all")
    return np.stack(images)


def load_image_folder(
    directory: str | Path,
    image_size: int = 0,
    test_fraction: float = 0.2,
    val_fraction: float = 0.2,
    seed: int = 0,
    limit: int | None = None,
    exclude: set[str] | frozenset = frozenset(),
) -> ImageData:
    """A folder tree as ImageData: stratified seeded test split of `test_fraction`, then a
    stratified validation split of `val_fraction` of the rest. `limit` keeps a stratified
    seeded subset of that many images (before splitting): small real data for tests and studies.
    `exclude` leaves out files by path relative to `directory` (a `kerasexp dedup` drop list)."""
    files, labels, classes = list_image_folder(directory)
    excluded = 0
    if exclude:
        keep = [i for i, f in enumerate(files) if f.relative_to(directory).as_posix() not in exclude]
        files, labels, excluded = [files[i] for i in keep], labels[keep], len(files) - len(keep)
    if limit and limit < len(files):
        keep, _ = stratified_split(labels, 1.0 - limit / len(files), seed)
        files, labels = [files[i] for i in keep], labels[keep]
    rest, test = stratified_split(labels, test_fraction, seed)
    x = read_images(files, image_size)
    data = split_train_val(x[rest], labels[rest], x[test], labels[test], classes, val_fraction, seed,
                           source=str(directory))
    data.notes.update(test_fraction=test_fraction, limit=limit, image_size=image_size or None,
                      excluded=excluded)
    return data
