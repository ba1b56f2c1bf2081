"""Image folders: one sub-folder per class (Keras' and Kaggle's layout, e.g. pbc96), decoded
with OpenCV into uint8 RGB arrays, then a stratified seeded test split and validation split.

There is no official test split in such data, so the seed that makes it is written into
every report (ImageData.notes).
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from kerasexp.data.dataset import ImageData, split_train_val
from kerasexp.data.hashing import duplicate_group_ids
from kerasexp.data.labels import check_classes
from kerasexp.data.splits import achieved, stratified_split
from kerasexp.errors import UserError

# .jfif/.jpe are JPEG; GIF (first frame) decodes with OpenCV >= 4.11, else with Pillow (matplotlib's).
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".jfif", ".jpe", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif"}
MIN_SIDE = 8  # pixels: smaller images hash alike (pHash) and leave nothing for a network's first layers


def list_image_folder(directory: str | Path) -> tuple[list[Path], np.ndarray, list[str]]:
    """Files, integer labels and class names (sorted folder names) of an image-folder tree."""
    directory = Path(directory)
    if not directory.is_dir():
        raise UserError(
            f"{directory}: no such folder; dataset.data_dir must be a folder with one sub-folder per class"
        )
    dangling = [p for p in sorted(directory.iterdir()) if p.is_symlink() and not p.exists()]
    if dangling:  # a class folder linked from a disk that is not mounted would vanish without a word
        raise UserError(
            f"{dangling[0]}: a broken or looping symbolic link where a class folder may belong; "
            "fix or remove it"
        )
    classes = sorted(p.name for p in directory.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise UserError(
            f"{directory}: no class sub-folders; put each class's images in a folder named after it"
        )
    files, labels, unsupported = [], [], []
    for index, name in enumerate(classes):
        entries = sorted((directory / name).iterdir())
        found = [p for p in entries if p.suffix.lower() in IMAGE_SUFFIXES]
        unsupported += [
            p
            for p in entries
            if p.suffix.lower() not in IMAGE_SUFFIXES and p.is_file() and not p.name.startswith(".")
        ]
        if not found:
            raise UserError(
                f"{directory / name}: class folder has no images ({', '.join(sorted(IMAGE_SUFFIXES))}); "
                "remove the folder or add its images"
            )
        files += found
        labels += [index] * len(found)
    if unsupported:
        warn_unsupported(directory, unsupported)
    return files, np.asarray(labels, dtype=np.int64), classes


def warn_unsupported(directory: Path, files: list[Path], shown: int = 5) -> None:
    """One line on stderr naming the files left out, so a missing fifth of a class is seen."""
    names = ", ".join(f.relative_to(directory).as_posix() for f in files[:shown])
    more = f" and {len(files) - shown} more" if len(files) > shown else ""
    print(
        f"kerasexp: warning: {directory}: {len(files)} files left out, not an image type kerasexp reads "
        f"({', '.join(sorted(IMAGE_SUFFIXES))}): {names}{more}",
        file=sys.stderr,
    )


class BrokenImage(UserError):
    """An image file that does not decode whole."""


def _truncated(raw: bytes) -> bool:
    """A JPEG without its end-of-image marker or a PNG without its IEND chunk: cut off. (OpenCV
    decodes what is there and only prints libjpeg's "Premature end of JPEG file".)"""
    tail = raw.rstrip(b"\x00\r\n ")
    if raw[:2] == b"\xff\xd8":
        return not tail.endswith(b"\xff\xd9")
    if raw[:8] == b"\x89PNG\r\n\x1a\n":
        return b"IEND" not in raw[-16:]
    return False


def read_image(path: str | Path, size: int = 0) -> np.ndarray:
    """One image as HxWx3 uint8 RGB (resized to size x size with area interpolation if size)."""
    import cv2

    try:
        raw = Path(path).read_bytes()
    except OSError as err:
        raise BrokenImage(f"{path}: cannot read ({err.strerror}); check the file") from None
    image = None if _truncated(raw) else _decode(raw)
    if image is None:
        raise BrokenImage(
            f"{path}: broken image (cut off, corrupt or not an image); delete or replace it, "
            "or set [dataset] skip_broken = true to leave such files out"
        )
    if min(image.shape[:2]) < MIN_SIDE:
        raise UserError(
            f"{path}: image is {image.shape[1]}x{image.shape[0]} pixels; images need at least "
            f"{MIN_SIDE}x{MIN_SIDE}; remove such files or list them in a drop list"
        )
    if size and image.shape[:2] != (size, size):
        image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _decode(raw: bytes) -> np.ndarray | None:
    """BGR uint8 (OpenCV's order), or None. GIF falls back to Pillow where OpenCV lacks its decoder."""
    import cv2

    image = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR)
    if image is not None or raw[:4] != b"GIF8":
        return image
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(raw)) as gif:
            return np.asarray(gif.convert("RGB"))[..., ::-1].copy()
    except (UnidentifiedImageError, OSError, ValueError):
        return None


def read_images(files: list[Path], size: int = 0) -> np.ndarray:
    """Decode in threads (OpenCV releases the GIL); all images must end up the same size."""
    images, _ = read_images_skipping(files, size, skip_broken=False)
    return images


def read_images_skipping(
    files: list[Path], size: int = 0, skip_broken: bool = True
) -> tuple[np.ndarray, list[int]]:
    """The images that decode whole and the indices of `files` they came from; with skip_broken
    False the first broken file is an error."""

    def read(path):
        try:
            return read_image(path, size)
        except BrokenImage:
            if not skip_broken:
                raise
            return None

    with ThreadPoolExecutor(max_workers=4) as pool:
        decoded = list(pool.map(read, files))
    kept = [i for i, image in enumerate(decoded) if image is not None]
    if not kept:
        raise UserError(f"none of the {len(files)} images decodes; check the folder")
    files, images = [files[i] for i in kept], [decoded[i] for i in kept]
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
        first = images[0].shape
        odd = next(f for f, im in zip(files, images) if im.shape != first)
        raise UserError(
            f"images of mixed sizes ({files[0]} is {first[1]}x{first[0]}, {odd} is "
            f"{images[files.index(odd)].shape[1]}x{images[files.index(odd)].shape[0]}); "
            "set dataset.image_size to resize them all"
        )
    return np.stack(images), kept


def load_image_folder(
    directory: str | Path,
    image_size: int = 0,
    test_fraction: float = 0.2,
    val_fraction: float = 0.2,
    seed: int = 0,
    limit: int | None = None,
    exclude: set[str] | frozenset = frozenset(),
    skip_broken: bool = False,
    group_duplicates: bool = True,
) -> ImageData:
    """A folder tree as ImageData: stratified seeded test split of `test_fraction`, then a
    stratified validation split of `val_fraction` of the rest. `limit` keeps a stratified
    seeded subset of that many images (before splitting): small real data for tests and studies.
    `exclude` leaves out files by path relative to `directory` (a `kerasexp dedup` drop list)."""
    files, labels, classes = list_image_folder(directory)
    check_classes(classes, len(files), limit, directory)
    excluded = 0
    if exclude:
        keep = [i for i, f in enumerate(files) if f.relative_to(directory).as_posix() not in exclude]
        files, labels, excluded = [files[i] for i in keep], labels[keep], len(files) - len(keep)
    if limit and limit < len(files):
        keep, _ = stratified_split(labels, 1.0 - limit / len(files), seed)
        files, labels = [files[i] for i in keep], labels[keep]
    x, kept = read_images_skipping(files, image_size, skip_broken)
    skipped = [str(f) for i, f in enumerate(files) if i not in set(kept)]
    files, labels = [files[i] for i in kept], labels[kept]
    left = np.bincount(labels, minlength=len(classes))
    if left.min() < 2:  # skip_broken left a class (nearly) empty: it cannot be split, let alone learned
        name = classes[int(left.argmin())]
        raise UserError(
            f"{Path(directory) / name}: {left.min()} of its images decode; a class needs at "
            "least 2 readable images (fix its files or remove the folder)"
        )
    groups = duplicate_group_ids(x) if group_duplicates else None
    rest, test = stratified_split(labels, test_fraction, seed, groups, what="dataset.test_fraction")
    data = split_train_val(
        x[rest],
        labels[rest],
        x[test],
        labels[test],
        classes,
        val_fraction,
        seed,
        source=str(directory),
        groups=None if groups is None else groups[rest],
    )
    data.notes.update(
        test_fraction=test_fraction,
        limit=limit,
        image_size=image_size or None,
        excluded=excluded,
        test_achieved=achieved(len(test), len(labels)),
    )
    if skip_broken:
        data.notes["skipped_broken"] = skipped  # recorded in the run's run.json
    if groups is not None:
        data.notes["duplicate_groups"] = int(np.sum(np.bincount(groups) > 1))
    return data
