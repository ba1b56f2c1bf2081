"""Data loaders by name, splits and long-tail subsets."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from kerasexp.data.dataset import ImageData
from kerasexp.data.fashion_mnist import load_fashion_mnist
from kerasexp.data.folders import load_image_folder
from kerasexp.data.longtail import long_tail_indices
from kerasexp.errors import UserError


def _fashion_mnist(cfg) -> ImageData:
    return load_fashion_mnist(cfg.data_dir or None, val_fraction=cfg.val_fraction, seed=cfg.seed,
                              limit=cfg.limit or None)


def _image_folder(cfg) -> ImageData:
    if not cfg.data_dir:
        raise UserError("dataset image_folder needs dataset.data_dir: a folder with one sub-folder per class")
    return load_image_folder(cfg.data_dir, image_size=cfg.image_size, test_fraction=cfg.test_fraction,
                             val_fraction=cfg.val_fraction, seed=cfg.seed, limit=cfg.limit or None)


DATASETS = {"fashion_mnist": _fashion_mnist, "image_folder": _image_folder}


def resize_data(data: ImageData, size: int) -> ImageData:
    """Every split resized to size x size (area interpolation), channels kept."""
    import cv2

    def resize(x):
        out = np.stack([cv2.resize(im, (size, size), interpolation=cv2.INTER_AREA) for im in x]) if len(x) else \
            np.zeros((0, size, size, x.shape[-1]), x.dtype)
        return out.reshape(len(x), size, size, x.shape[-1])

    return replace(data, x_train=resize(data.x_train), x_val=resize(data.x_val), x_test=resize(data.x_test),
                   notes={**data.notes, "image_size": size})


def load_dataset(cfg) -> ImageData:
    """Load `cfg.name` (a DatasetConfig); make its training split long-tailed if asked."""
    try:
        loader = DATASETS[cfg.name]
    except KeyError:
        raise UserError(f"unknown dataset {cfg.name!r}; choose one of: {', '.join(DATASETS)}") from None
    data = loader(cfg)
    if cfg.image_size and data.input_shape[:2] != (cfg.image_size, cfg.image_size):
        data = resize_data(data, cfg.image_size)
    if cfg.long_tail_ratio and cfg.long_tail_ratio > 1:
        keep = long_tail_indices(data.y_train, cfg.long_tail_ratio, cfg.seed)
        data = replace(data, x_train=data.x_train[keep], y_train=data.y_train[keep],
                       notes={**data.notes, "long_tail_ratio": cfg.long_tail_ratio,
                              "train_counts": np.bincount(data.y_train[keep]).tolist()})
    return data


__all__ = ["DATASETS", "ImageData", "load_dataset", "load_fashion_mnist"]
