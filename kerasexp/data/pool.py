"""Labelled images not yet split: the common path of the npz, CSV and CIFAR-100 loaders.

Drop list, "Other" grouping and class subset are applied to the whole pool before splitting, so
a class with a single image can be grouped before a stratified split would refuse it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kerasexp.data.dataset import ImageData, split_train_val
from kerasexp.data.labels import check_classes, class_mapping, read_drop_list, relabel
from kerasexp.data.splits import achieved, stratified_split
from kerasexp.errors import UserError


@dataclass
class Pool:
    """Attributes:
    x, y: uint8 NHWC images and int labels.
    class_names: one name a label.
    ids: one id an image (relative file path, or the array index), what drop lists name.
    source: where it came from, for reports.
    x_test, y_test: an official test split (None = make one with test_fraction).
    """

    x: np.ndarray
    y: np.ndarray
    class_names: list[str]
    ids: list[str]
    source: str
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None


def check_images(x: np.ndarray, where: str) -> np.ndarray:
    """NHWC (or NHW grayscale) uint8; floats in [0, 1] or [0, 255] are converted."""
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3, 4):
        raise UserError(
            f"{where}: images must be an array (N, H, W[, C]) with 1, 3 or 4 channels, got shape {x.shape}"
        )
    if x.dtype == np.uint8:
        return x
    if not np.issubdtype(x.dtype, np.number):
        raise UserError(f"{where}: images must be numbers, got dtype {x.dtype}")
    if np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
        bad = int((~np.isfinite(x)).reshape(len(x), -1).any(axis=1).sum())
        raise UserError(
            f"{where}: {bad} images hold NaN or infinite pixels; fix or drop them before training"
        )
    low, high = float(x.min()), float(x.max())
    if low < 0 or high > 255:
        raise UserError(f"{where}: pixel values {low:g}..{high:g} are outside 0..255 (or 0..1)")
    scale = 255.0 if high <= 1.0 and np.issubdtype(x.dtype, np.floating) else 1.0
    return np.round(x.astype(np.float64) * scale).astype(np.uint8)


def split_pool(pool: Pool, cfg) -> ImageData:
    """Pool -> ImageData: drop list, regrouping, stratified seeded test and validation splits."""
    x, y, ids = pool.x, pool.y, pool.ids
    dropped = 0
    if cfg.drop_list:
        drop = read_drop_list(cfg.drop_list)
        keep = np.array([i not in drop for i in ids], dtype=bool)
        dropped = int((~keep).sum())
        x, y, ids = x[keep], y[keep], [i for i, k in zip(ids, keep) if k]
    counts = np.bincount(y, minlength=len(pool.class_names))
    mapping, names = class_mapping(pool.class_names, counts, cfg.classes, cfg.other_min_count)
    check_classes(names, len(y), cfg.limit, cfg.data_dir or cfg.name)
    x, y = relabel(x, y, mapping)
    if cfg.limit and cfg.limit < len(y):
        keep, _ = stratified_split(y, 1.0 - cfg.limit / len(y), cfg.seed)
        x, y = x[keep], y[keep]
    if pool.x_test is None:
        rest, test = stratified_split(y, cfg.test_fraction, cfg.seed, what="dataset.test_fraction")
        x_test, y_test, x, y = x[test], y[test], x[rest], y[rest]
    else:
        x_test, y_test = relabel(pool.x_test, pool.y_test, mapping)
    if len(x) == 0:
        raise UserError(f"{pool.source}: no images left after the drop list and class selection")
    data = split_train_val(x, y, x_test, y_test, names, cfg.val_fraction, cfg.seed, source=pool.source)
    data.notes.update(
        test_fraction=None if pool.x_test is not None else cfg.test_fraction,
        limit=cfg.limit or None,
        classes=names if (cfg.classes or cfg.other_min_count) else None,
        other_min_count=cfg.other_min_count or None,
        drop_list=cfg.drop_list or None,
        dropped=dropped,
        test_achieved=None if pool.x_test is not None else achieved(len(x_test), len(x_test) + len(x)),
    )
    return data
