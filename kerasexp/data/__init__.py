"""Data loaders by name, splits and long-tail subsets."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from kerasexp.data.dataset import ImageData
from kerasexp.data.fashion_mnist import load_fashion_mnist
from kerasexp.data.folders import load_image_folder
from kerasexp.data.longtail import long_tail_indices
from kerasexp.data.pool import split_pool
from kerasexp.errors import UserError
from kerasexp.registry import DATASETS  # the name table; the loaders below register into it


@DATASETS.register("fashion_mnist")
def _fashion_mnist(cfg) -> ImageData:
    return load_fashion_mnist(
        cfg.data_dir or None, val_fraction=cfg.val_fraction, seed=cfg.seed, limit=cfg.limit or None
    )


@DATASETS.register("image_folder")
def _image_folder(cfg) -> ImageData:
    if not cfg.data_dir:
        raise UserError("dataset image_folder needs dataset.data_dir: a folder with one sub-folder per class")
    from kerasexp.data.labels import read_drop_list

    return load_image_folder(
        cfg.data_dir,
        image_size=cfg.image_size,
        test_fraction=cfg.test_fraction,
        val_fraction=cfg.val_fraction,
        seed=cfg.seed,
        limit=cfg.limit or None,
        exclude=read_drop_list(cfg.drop_list) if cfg.drop_list else frozenset(),
        skip_broken=cfg.skip_broken,
        group_duplicates=cfg.group_duplicates,
    )


@DATASETS.register("npz")
def _npz(cfg) -> ImageData:
    from kerasexp.data.arrays import load_npz_pool

    if not cfg.data_dir:
        raise UserError("dataset npz needs dataset.data_dir: the .npz file with images and labels")
    return split_pool(load_npz_pool(cfg.data_dir), cfg)


@DATASETS.register("image_csv")
def _image_csv(cfg) -> ImageData:
    from kerasexp.data.csv_labels import load_csv_pool

    if not (cfg.data_dir and cfg.csv):
        raise UserError(
            "dataset image_csv needs dataset.data_dir (the images) and dataset.csv (file name, label)"
        )
    return split_pool(load_csv_pool(cfg.data_dir, cfg.csv, cfg.image_size), cfg)


@DATASETS.register("cifar100")
def _cifar100(cfg) -> ImageData:
    from kerasexp.data.arrays import load_cifar100_pool

    return split_pool(load_cifar100_pool(cfg.data_dir), cfg)


# Loaders that apply dataset.classes / other_min_count / drop_list themselves, before splitting.
POOLED = {"npz", "image_csv", "cifar100"}


def resize_data(data: ImageData, size: int) -> ImageData:
    """Every split resized to size x size (area interpolation), channels kept."""
    import cv2

    def resize(x):
        out = (
            np.stack([cv2.resize(im, (size, size), interpolation=cv2.INTER_AREA) for im in x])
            if len(x)
            else np.zeros((0, size, size, x.shape[-1]), x.dtype)
        )
        return out.reshape(len(x), size, size, x.shape[-1])

    return replace(
        data,
        x_train=resize(data.x_train),
        x_val=resize(data.x_val),
        x_test=resize(data.x_test),
        notes={**data.notes, "image_size": size},
    )


def load_dataset(cfg) -> ImageData:
    """Load `cfg.name` (a DatasetConfig); make its training split long-tailed if asked."""
    loader = DATASETS[cfg.name]
    if cfg.drop_list and cfg.name not in POOLED | {"image_folder"}:
        raise UserError(
            f"dataset.drop_list is not supported for {cfg.name}; use it with {', '.join(sorted(POOLED))}"
            ", image_folder"
        )
    data = loader(cfg)
    if cfg.name not in POOLED and (cfg.classes or cfg.other_min_count):
        from kerasexp.data.labels import relabel_data

        data = relabel_data(data, cfg.classes, cfg.other_min_count)
    if cfg.image_size and data.input_shape[:2] != (cfg.image_size, cfg.image_size):
        data = resize_data(data, cfg.image_size)
    if cfg.long_tail_ratio and cfg.long_tail_ratio > 1:
        keep = long_tail_indices(data.y_train, cfg.long_tail_ratio, cfg.seed)
        data = replace(
            data,
            x_train=data.x_train[keep],
            y_train=data.y_train[keep],
            notes={
                **data.notes,
                "long_tail_ratio": cfg.long_tail_ratio,
                "train_counts": np.bincount(data.y_train[keep]).tolist(),
            },
        )
    return data


__all__ = ["DATASETS", "ImageData", "load_dataset", "load_fashion_mnist"]
