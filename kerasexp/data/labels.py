"""Label checks and class regrouping shared by every loader: a subset of classes (report 004's
first 20 CIFAR-100 classes), rare classes grouped into "Other" (report 001), drop lists."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import numpy as np

from kerasexp.data.dataset import ImageData
from kerasexp.errors import UserError

OTHER = "Other"


def check_labels(
    y: np.ndarray, class_names: list[str] | None, where: str, require_all: bool = True
) -> tuple[np.ndarray, list[str]]:
    """Integer labels 0..K-1 with at least one image each (unless not `require_all`, e.g. a test
    split); K from class_names or max + 1."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    elif y.ndim == 2 and set(np.unique(y)) <= {0, 1} and (y.sum(axis=1) == 1).all():
        y = y.argmax(axis=1)  # one-hot
    if y.ndim != 1:
        raise UserError(
            f"{where}: labels must be one integer a image (shape (N,) or (N, 1)), got shape {y.shape}"
        )
    if len(y) == 0:
        raise UserError(f"{where}: no labelled images")
    if not np.issubdtype(y.dtype, np.integer):
        if not (np.issubdtype(y.dtype, np.floating) and np.all(y == np.round(y))):
            raise UserError(
                f"{where}: labels must be integer class indices, got {y.dtype} values such as {y[0]!r}"
            )
        y = y.astype(np.int64)
    num = len(class_names) if class_names is not None else int(y.max()) + 1
    bad = y[(y < 0) | (y >= num)]
    if len(bad):
        raise UserError(
            f"{where}: label {int(bad[0])} out of range 0..{num - 1}"
            + (f" ({num} class names)" if class_names is not None else "")
            + "; fix the labels"
        )
    counts = np.bincount(y, minlength=num)
    names = list(class_names) if class_names is not None else [str(i) for i in range(num)]
    if require_all and (counts == 0).any():
        empty = names[int(np.flatnonzero(counts == 0)[0])]
        raise UserError(
            f"{where}: class {empty!r} has no images; remove it from the class list or add images"
        )
    return y.astype(np.int64), names


def class_mapping(class_names: list[str], counts: np.ndarray, classes=0, other_min_count: int = 0):
    """(mapping old index -> new index or -1 = dropped, new class names).

    `other_min_count` first merges every class with fewer images into "Other" (last index);
    `classes` then keeps the first N classes (an int) or the named / indexed ones (a list)."""
    names = list(class_names)
    mapping = np.arange(len(names))
    if other_min_count:
        rare = counts < other_min_count
        if rare.any():
            kept = [n for n, r in zip(names, rare) if not r]
            if OTHER in kept:
                raise UserError(f"a class is already named {OTHER!r}; rename it before grouping rare classes")
            new_index = np.cumsum(~rare) - 1
            mapping = np.where(rare, len(kept), new_index)
            names = kept + [OTHER]
    if classes:
        wanted = (
            list(range(classes)) if isinstance(classes, int) else [_class_index(c, names) for c in classes]
        )
        if isinstance(classes, int) and classes > len(names):
            raise UserError(f"dataset.classes = {classes}, but the data has only {len(names)} classes")
        lookup = np.full(len(names), -1)
        lookup[wanted] = np.arange(len(wanted))
        mapping = lookup[mapping]
        names = [names[i] for i in wanted]
    return mapping, names


def _class_index(item, names: list[str]) -> int:
    if isinstance(item, int) and 0 <= item < len(names):
        return item
    if isinstance(item, str) and item in names:
        return names.index(item)
    raise UserError(
        f"dataset.classes: {item!r} is not a class; classes are {', '.join(names[:10])}"
        + (" ..." if len(names) > 10 else "")
    )


def relabel(x: np.ndarray, y: np.ndarray, mapping: np.ndarray):
    keep = mapping[y] >= 0
    return x[keep], mapping[y][keep]


def relabel_data(data: ImageData, classes=0, other_min_count: int = 0) -> ImageData:
    """Apply class_mapping to every split of already split data (counts over all splits)."""
    counts = np.bincount(np.concatenate([data.y_train, data.y_val, data.y_test]), minlength=data.num_classes)
    mapping, names = class_mapping(data.class_names, counts, classes, other_min_count)
    parts = {}
    for split in ("train", "val", "test"):
        parts[f"x_{split}"], parts[f"y_{split}"] = relabel(
            getattr(data, f"x_{split}"), getattr(data, f"y_{split}"), mapping
        )
    return replace(
        data,
        **parts,
        class_names=names,
        notes={**data.notes, "classes": names, "other_min_count": other_min_count},
    )


def read_drop_list(path: str | Path) -> set[str]:
    """The `id` column of a drop list (what `kerasexp dedup` writes: drop.csv). A file of another
    kind is named, never quoted: drop_list may point at anything, a password file included."""
    path = Path(path)
    expected = (
        f"{path}: not a drop list; dataset.drop_list must name a UTF-8 CSV whose header has an "
        "'id' column (file path or array index), as `kerasexp dedup DATA --out DIR` writes to "
        "DIR/drop.csv"
    )
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
            header = reader.fieldnames or []
    except FileNotFoundError:
        raise UserError(
            f"{path}: drop list not found; make one with `kerasexp dedup DATA --out DIR`"
        ) from None
    except (OSError, UnicodeDecodeError, csv.Error):
        raise UserError(expected) from None
    if "id" not in header:
        raise UserError(expected)
    return {row["id"] for row in rows}


def check_classes(classes: list[str], images: int, limit: int | None, where) -> None:
    """A classifier needs two classes, and a subset at least one image of each."""
    if len(classes) < 2:
        raise UserError(
            f"{where}: {len(classes)} class ({', '.join(classes) or 'none'}); a classifier needs at "
            "least two: one sub-folder of images per class"
        )
    if (limit or images) < len(classes):
        what = f"dataset.limit = {limit}" if limit else f"{images} images"
        raise UserError(
            f"{where}: {what} is fewer than the {len(classes)} classes; use at least one image a "
            "class (limit = 0 keeps all)"
        )
