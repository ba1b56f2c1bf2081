"""Data loaders by name, splits and long-tail subsets."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from kerasexp.data.dataset import ImageData
from kerasexp.data.fashion_mnist import load_fashion_mnist
from kerasexp.data.longtail import long_tail_indices
from kerasexp.errors import UserError


def _fashion_mnist(cfg) -> ImageData:
    return load_fashion_mnist(cfg.data_dir or None, val_fraction=cfg.val_fraction, seed=cfg.seed,
                              limit=cfg.limit or None)


DATASETS = {"fashion_mnist": _fashion_mnist}


def load_dataset(cfg) -> ImageData:
    """Load `cfg.name` (a DatasetConfig); make its training split long-tailed if asked."""
    try:
        loader = DATASETS[cfg.name]
    except KeyError:
        raise UserError(f"unknown dataset {cfg.name!r}; choose one of: {', '.join(DATASETS)}") from None
    data = loader(cfg)
    if cfg.long_tail_ratio and cfg.long_tail_ratio > 1:
        keep = long_tail_indices(data.y_train, cfg.long_tail_ratio, cfg.seed)
        data = replace(data, x_train=data.x_train[keep], y_train=data.y_train[keep],
                       notes={**data.notes, "long_tail_ratio": cfg.long_tail_ratio,
                              "train_counts": np.bincount(data.y_train[keep]).tolist()})
    return data


__all__ = ["DATASETS", "ImageData", "load_dataset", "load_fashion_mnist"]
